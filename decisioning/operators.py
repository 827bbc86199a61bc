"""The operators of the condition language: one table that every reader of conditions reads.

A condition is ``{attribute, operator, value}``; ``OPERATORS`` says, per operator, what its value
looks like, which attribute types it applies to, how the editor words it and, for the operators
that hold on a stretch of an ordered domain, which stretch. Every backend keeps one mapping from
operator to its own translation and checks with ``require_every_operator`` that it covers exactly
this table, so adding an operator fails at import time in each backend until it has its entry:

- the literal reading the engine's generated code must agree with: ``decisioning.explain.HOLDS``;
- the portable SQL export: ``decisioning.sql.SQL_TESTS``;
- the DMN export's FEEL: ``blueprint.exports.dmn.FEEL_FORMS``;
- by value shape, the validation, the sentences and the editor's widgets
  (``decisioning.conditions``, ``blueprint.forms``);
- by ``bounds``, the compiled engine, the DuckDB batch and the lint's regions
  (``decisioning.codegen``, ``decisioning.duckdb_sql``, ``decisioning.regions``).

Only positive operators exist: each says who qualifies, never who does not. Pure: no Django, no
``blueprint``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

ATTRIBUTE_TYPES = ("text", "choice", "number", "boolean", "date", "set")

# What a condition's value is, per operator:
# one: one value of the attribute's type; list: one or more of them (kept without repeats);
# pair: [low, high], low not above high; days: a whole number of days.
VALUE_SHAPES = ("one", "list", "pair", "days")

# Where a number or date condition holds: (low, high), None for no end. Numbers as they are, dates
# as day ordinals (``day_ordinal``); ``today`` is the decision day's ordinal. The ends are included
# unless the operator's ``open_ends`` say otherwise (``below``/``above`` on numbers); on dates every
# end is included (days are whole: ``below`` a day is ``at_most`` the day before).
Bounds = tuple[float | None, float | None]


def day_ordinal(iso: str) -> int:
    """A date written YYYY-MM-DD as its day ordinal: how every backend compares dates."""
    return dt.date.fromisoformat(iso).toordinal()


def _point(value: Any) -> Any:
    return day_ordinal(value) if isinstance(value, str) else value


def _before(value: Any) -> Any:
    """The last point ``below`` a value holds on: the day before a date; the number itself (an
    open end)."""
    return day_ordinal(value) - 1 if isinstance(value, str) else value


def _after(value: Any) -> Any:
    """The first point ``above`` a value holds on: the day after a date; the number itself (an
    open end)."""
    return day_ordinal(value) + 1 if isinstance(value, str) else value


@dataclass(frozen=True)
class Operator:
    name: str
    label: str  # the editor's wording, and the sentence's verb: "Age is at least 18"
    value: str  # its VALUE_SHAPES entry
    types: tuple[str, ...]  # the attribute types it applies to
    date_label: str = ""  # the wording on a date attribute, when it differs
    singular: str = ""  # a list operator: the operator whose wording a one-value list takes
    # number and date operators: the stretch of values it holds on
    bounds: Callable[[Any, int], Bounds] | None = None
    # whether that stretch moves with the decision day (an export then asks for the day)
    on_the_day: bool = False
    # whether the stretch leaves out its low and its high end (numbers only: see ``Bounds``)
    open_ends: tuple[bool, bool] = (False, False)


OPERATORS: Mapping[str, Operator] = {
    op.name: op
    for op in (
        Operator("is", "is", "one", ("text", "choice", "boolean")),
        Operator("is_one_of", "is one of", "list", ("text", "choice"), singular="is"),
        Operator(
            "at_least",
            "is at least",
            "one",
            ("number", "date"),
            date_label="is on or after",
            bounds=lambda value, today: (_point(value), None),
        ),
        Operator(
            "at_most",
            "is at most",
            "one",
            ("number", "date"),
            date_label="is on or before",
            bounds=lambda value, today: (None, _point(value)),
        ),
        Operator(
            "below",
            "is below",
            "one",
            ("number", "date"),
            date_label="is before",
            bounds=lambda value, today: (None, _before(value)),
            open_ends=(False, True),
        ),
        Operator(
            "above",
            "is above",
            "one",
            ("number", "date"),
            date_label="is after",
            bounds=lambda value, today: (_after(value), None),
            open_ends=(True, False),
        ),
        Operator(
            "between",
            "is between",
            "pair",
            ("number", "date"),
            bounds=lambda value, today: (_point(value[0]), _point(value[1])),
        ),
        Operator(
            "within_last_days",
            "is within the last … days",
            "days",
            ("date",),
            bounds=lambda value, today: (today - int(value), today),
            on_the_day=True,
        ),
        Operator("includes", "includes", "one", ("set",)),
        Operator("includes_any_of", "includes any of", "list", ("set",), singular="includes"),
    )
}

OPERATOR_NAMES = tuple(OPERATORS)
OPERATORS_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    attr_type: tuple(op.name for op in OPERATORS.values() if attr_type in op.types)
    for attr_type in ATTRIBUTE_TYPES
}
LIST_OPERATORS = frozenset(op.name for op in OPERATORS.values() if op.value == "list")


def operators_for(attr_type: str) -> tuple[str, ...]:
    return OPERATORS_BY_TYPE.get(attr_type, ())


def operator_label(operator: str, attr_type: str) -> str:
    """How the editor words an operator on an attribute of this type; an unknown one as it is."""
    op = OPERATORS.get(operator)
    if op is None:
        return operator
    return op.date_label if attr_type == "date" and op.date_label else op.label


def value_shape(operator: str) -> str:
    """The operator's value shape (``VALUE_SHAPES``); "one" for an unknown one."""
    op = OPERATORS.get(operator)
    return op.value if op is not None else "one"


def bounds(operator: str, value: Any, today: int) -> Bounds:
    """Where a number or date condition holds (see ``Bounds``)."""
    found = OPERATORS[operator].bounds
    if found is None:
        raise ValueError(f"{operator} does not hold on a stretch of numbers or dates")
    return found(value, today)


def open_ends(operator: str, value: Any) -> tuple[bool, bool]:
    """Whether the stretch ``bounds`` gives leaves out its low and its high end: only a strict
    operator on a number does (on a date its bounds are the days it holds on)."""
    return (False, False) if isinstance(value, str) else OPERATORS[operator].open_ends


def require_every_operator(
    mapping: Collection[str], backend: str, names: Collection[str] = OPERATOR_NAMES
) -> None:
    """Raise unless ``mapping`` (a backend's translations, by operator) names exactly ``names`` (by
    default every operator of the table): a backend that misses an operator fails when imported."""
    missing = [name for name in names if name not in mapping]
    extra = [name for name in mapping if name not in names]
    if missing or extra:
        raise RuntimeError(
            f"{backend} must translate exactly the operators of decisioning.operators: "
            f"missing {missing or 'none'}, unknown {extra or 'none'}"
        )
