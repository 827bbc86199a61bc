"""The condition language: positive statements over customer attributes, pure Python.

A condition is ``{attribute, operator, value}``. An offer (or a stage's entry) holds groups of
conditions: a group matches when all its conditions hold, the offer when any group does. Only
positive operators exist; negative ones are refused with a suggestion of the positive form.

The operators (their value shapes, the attribute types they apply to, their wording) are the table of
``decisioning.operators``; this module reads it to validate values and write sentences.

Nothing here touches the database: the catalog arrives as ``AttributeSpec`` values, so the
board, the API, lint, the decision engine and the spec all share one validator and one renderer.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from decisioning import operators as operator_table
from decisioning.limits import LIMITS, over_limit
from decisioning.operators import (
    ATTRIBUTE_TYPES,
    OPERATOR_NAMES,
    OPERATORS,
    operator_label,
    operators_for,
    value_shape,
)
from decisioning.words import with_unit

KINDS = ("attribute", "behaviour", "context")
# the operators themselves, their value shapes and wording: decisioning.operators
TYPES = ATTRIBUTE_TYPES
ALL_OPERATORS = OPERATOR_NAMES
LIST_OPERATORS = operator_table.LIST_OPERATORS
OPERATORS_BY_TYPE = operator_table.OPERATORS_BY_TYPE

MAX_DAYS = 36_500
MAX_NUMBER = 10**15

# Keys name attributes, stages and offers. A key is the WHOLE string: always ``fullmatch`` (or
# ``\Z`` where a validator searches), never ``$``, which also matches before a final line break.
KEY_CHARACTERS = "a-z, 0-9, '-' and '_'"
KEY_RE = re.compile(rf"[a-z0-9_-]{{1,{LIMITS.key_length}}}")
KEY_PATTERN = rf"^[a-z0-9_-]{{1,{LIMITS.key_length}}}\Z"  # for validators that search


def is_key(value: Any) -> bool:
    """Whether ``value`` is a key: 1 to ``key_length`` characters of a-z, 0-9, '-' and '_', no more."""
    return isinstance(value, str) and KEY_RE.fullmatch(value) is not None


def key_cleaned(raw: str, taken: Collection[str]) -> str:
    """A key that passes the rule, made from ``raw`` (a stored key that does not), and not in
    ``taken``: what is left of it after dropping what a key cannot hold (a final line break, say),
    with ``_2``, ``_3``, … when that is taken already."""
    base = re.sub(r"[^a-z0-9_-]+", "_", raw.strip().lower())[: LIMITS.key_length] or "key"
    key, number = base, 2
    while key in taken:
        suffix = f"_{number}"
        key, number = base[: LIMITS.key_length - len(suffix)] + suffix, number + 1
    return key


# The negative operators people reach for, and how to say each positively: decisioning.rephrase.
NEGATION_FLAGS = ("not", "negate", "negated", "inverse", "exclude")


@dataclass(frozen=True)
class AttributeSpec:
    """What the condition language needs to know of one catalog attribute."""

    key: str
    label: str
    type: str
    kind: str = "attribute"
    choices: tuple[str, ...] = ()
    unit: str = ""


@dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "operator": self.operator, "value": self.value}


Group = tuple[Condition, ...]
Groups = tuple[Group, ...]


@dataclass
class ConditionProblems(Exception):
    """Every problem found in a set of condition groups, each keyed by the field path."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    # a refused negative condition's exact positive forms, by the condition's path
    # (``decisioning.rephrase.Rephrasing.as_json``)
    alternatives: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.problems.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __str__(self) -> str:
        return "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in self.problems.items())


# --- Parsing and validation ------------------------------------------------------------------


def parse_groups(
    raw: Any, catalog: Mapping[str, AttributeSpec], *, path: str = "groups", bounded: bool = True
) -> Groups:
    """Validate raw JSON groups against the catalog and return them normalized.

    Raises ``ConditionProblems`` naming every bad field (``groups[0][1].value``) and what would be
    accepted, a limit by its name (``decisioning.limits``). ``None`` and ``[]`` mean "no conditions":
    everyone matches. ``bounded=False`` leaves out the limits on how many groups, conditions and
    values, and how long a text: for content the board or a version held already (an undo, a
    restore), which may be older than the limits; every other rule holds.
    """
    problems = ConditionProblems()
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(
            path, "Expected a list of groups, each a list of conditions: [[{attribute, operator, value}]]."
        )
        raise problems
    if bounded and len(raw) > LIMITS.groups_per_offer:
        problems.add(
            path,
            over_limit(
                "groups_per_offer",
                f"At most {LIMITS.groups_per_offer} groups of conditions are allowed; here are {len(raw)}",
            ),
        )
        raise problems
    groups: list[Group] = []
    for gi, raw_group in enumerate(raw):
        gpath = f"{path}[{gi}]"
        if not isinstance(raw_group, list):
            problems.add(gpath, "A group is a list of conditions that must all hold.")
            continue
        if not raw_group:
            problems.add(gpath, "A group needs at least one condition; remove the empty group.")
            continue
        if bounded and len(raw_group) > LIMITS.conditions_per_group:
            problems.add(
                gpath,
                over_limit(
                    "conditions_per_group",
                    f"At most {LIMITS.conditions_per_group} conditions are allowed in one group; "
                    f"here are {len(raw_group)}",
                ),
            )
            continue
        conditions: list[Condition] = []
        for ci, raw_condition in enumerate(raw_group):
            condition = _parse_condition(raw_condition, catalog, f"{gpath}[{ci}]", problems, bounded)
            if condition is not None:
                conditions.append(condition)
        groups.append(tuple(conditions))
    if problems:
        raise problems
    return tuple(groups)


def parse_condition(raw: Any, catalog: Mapping[str, AttributeSpec], *, path: str = "condition") -> Condition:
    problems = ConditionProblems()
    condition = _parse_condition(raw, catalog, path, problems, True)
    if problems or condition is None:
        raise problems
    return condition


def _parse_condition(
    raw: Any, catalog: Mapping[str, AttributeSpec], path: str, problems: ConditionProblems, bounded: bool
) -> Condition | None:
    if not isinstance(raw, dict):
        problems.add(path, "A condition is an object {attribute, operator, value}.")
        return None
    for flag in NEGATION_FLAGS:
        if raw.get(flag) not in (None, False):
            named = raw.get("attribute")
            attr = catalog.get(named) if isinstance(named, str) else None
            operator = raw.get("operator")
            if attr is not None and isinstance(operator, str) and operator in operators_for(attr.type):
                _refuse_negative(path, f"{path}.{flag}", attr, operator, raw.get("value"), problems)
            else:
                problems.add(
                    f"{path}.{flag}",
                    "Conditions are positive statements: there is no negation flag. Say which customers "
                    "qualify instead, e.g. 'Segment is one of Gold or Platinum' rather than 'not Silver'.",
                )
            return None
    unknown = sorted(set(raw) - {"attribute", "operator", "value"})
    if unknown:
        problems.add(
            f"{path}.{unknown[0]}", "Unknown field; a condition has only attribute, operator and value."
        )
        return None
    attr_key = raw.get("attribute")
    operator = raw.get("operator")
    if not isinstance(attr_key, str) or not attr_key:
        problems.add(f"{path}.attribute", "Name an attribute from the catalog by its key.")
        return None
    attr = catalog.get(attr_key)
    if attr is None:
        known = ", ".join(sorted(catalog)) or "none yet: add attributes to the catalog first"
        problems.add(f"{path}.attribute", f"'{attr_key}' is not in the catalog. Known attributes: {known}.")
        return None
    allowed = operators_for(attr.type)
    if not isinstance(operator, str) or not operator:
        problems.add(f"{path}.operator", f"Choose an operator for {attr.label}: {', '.join(allowed)}.")
        return None
    if operator not in allowed:
        from decisioning.rephrase import negated_operator  # it says things with this module's sentences

        negates = negated_operator(operator)
        if negates is not None:
            _refuse_negative(path, f"{path}.operator", attr, negates, raw.get("value"), problems)
        else:
            problems.add(f"{path}.operator", _operator_refusal(operator, attr))
        return None
    if "value" not in raw:
        problems.add(f"{path}.value", f"Give a value: {_value_hint(operator, attr)}.")
        return None
    try:
        value = _normalize_value(operator, attr, raw["value"], bounded)
    except ValueError as exc:
        problems.add(f"{path}.value", str(exc))
        return None
    return Condition(attribute=attr.key, operator=operator, value=value)


def _refuse_negative(
    path: str, where: str, attr: AttributeSpec, negates: str, value: Any, problems: ConditionProblems
) -> None:
    """Refuse "not (attr negates value)" at ``where``, with its exact positive forms (by the
    condition's ``path``) or why there is none (decisioning.rephrase)."""
    from decisioning.rephrase import rephrase  # it says things with this module's sentences

    found = rephrase(attr, negates, value)
    problems.add(where, found.message())
    if found.alternatives:
        problems.alternatives[path] = found.as_json()


def _operator_refusal(operator: str, attr: AttributeSpec) -> str:
    from decisioning.rephrase import is_negative  # it says things with this module's sentences

    allowed = ", ".join(operators_for(attr.type))
    if is_negative(operator):
        return (
            f"'{operator}' is a negative statement, and conditions say who qualifies. Say it with one "
            f"of: {allowed}."
        )
    return f"'{operator}' is not an operator for {attr.label} ({attr.type}); use one of: {allowed}."


def _value_hint(operator: str, attr: AttributeSpec) -> str:
    choices = f" from {', '.join(attr.choices)}" if attr.choices else ""
    if attr.type == "boolean":
        return "true or false"
    shape = value_shape(operator)
    if shape == "list":
        return f"a list of one or more values{choices}"
    if shape == "pair":
        sample = '["2024-01-01", "2024-12-31"]' if attr.type == "date" else "[18, 30]"
        return f"a pair [low, high] with low not above high, e.g. {sample}"
    if shape == "days":
        return f"a whole number of days from 0 to {MAX_DAYS}"
    if attr.type == "number":
        return "a number, e.g. 3 or 2.5"
    if attr.type == "date":
        return "a date as YYYY-MM-DD"
    return f"one value{choices}"


def _normalize_value(operator: str, attr: AttributeSpec, value: Any, bounded: bool = True) -> Any:
    shape = value_shape(operator)
    if shape == "list":
        if not isinstance(value, list) or not value:
            raise ValueError(f"Expected {_value_hint(operator, attr)}.")
        if bounded and len(value) > LIMITS.values_per_list:
            raise ValueError(
                over_limit(
                    "values_per_list",
                    f"At most {LIMITS.values_per_list} values are allowed in one list; here are {len(value)}",
                )
            )
        items: list[str] = []
        seen: set[str] = set()
        for item in value:
            text = _normalize_scalar(attr, item, operator, bounded)
            if text not in seen:
                seen.add(text)
                items.append(text)
        return items
    if shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"Expected {_value_hint(operator, attr)}.")
        low = _normalize_scalar(attr, value[0], operator, bounded)
        high = _normalize_scalar(attr, value[1], operator, bounded)
        if low > high:
            raise ValueError(f"The low end ({low}) is above the high end ({high}); write [low, high].")
        return [low, high]
    if shape == "days":
        days = _to_number(value, operator, attr)
        if not isinstance(days, int) or days < 0 or days > MAX_DAYS:
            raise ValueError(f"Expected {_value_hint(operator, attr)}.")
        return days
    return _normalize_scalar(attr, value, operator, bounded)


def _normalize_scalar(attr: AttributeSpec, value: Any, operator: str, bounded: bool = True) -> Any:
    if attr.type == "number":
        return _to_number(value, operator, attr)
    if attr.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "0"):
            return False
        raise ValueError(f"Expected true or false for {attr.label}.")
    if attr.type == "date":
        return _to_date(value, attr)
    # text, choice, set: strings
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"Expected {_value_hint(operator, attr)}.")
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("A value may not contain a NUL character.")
    if not text:
        raise ValueError(f"Expected {_value_hint(operator, attr)}; an empty value matches no one.")
    if bounded and len(text) > LIMITS.text_length:
        raise ValueError(
            over_limit("text_length", f"A value may have at most {LIMITS.text_length} characters")
        )
    if attr.choices and text not in attr.choices:
        raise ValueError(f"'{text}' is not a choice of {attr.label}; choose from {', '.join(attr.choices)}.")
    return text


def _to_number(value: Any, operator: str, attr: AttributeSpec) -> int | float:
    number: float
    if isinstance(value, bool):
        raise ValueError(f"Expected {_value_hint(operator, attr)}, not {str(value).lower()}.")
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            raise ValueError(f"Expected {_value_hint(operator, attr)}; {value} is out of range.")
        return value
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"Expected {_value_hint(operator, attr)}; '{value}' is not a number.") from None
    else:
        raise ValueError(f"Expected {_value_hint(operator, attr)}.")
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise ValueError(f"Expected {_value_hint(operator, attr)}; '{value}' is out of range.")
    return int(number) if number.is_integer() else number


def _to_date(value: Any, attr: AttributeSpec) -> str:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"Expected a date as YYYY-MM-DD for {attr.label}; got '{value}'.")


def groups_as_json(groups: Groups) -> list[list[dict[str, Any]]]:
    return [[c.as_dict() for c in group] for group in groups]


def attributes_used(groups: Iterable[Iterable[Mapping[str, Any]]] | Groups) -> set[str]:
    """The attribute keys a groups value (parsed or raw JSON) refers to."""
    keys: set[str] = set()
    for group in groups:
        for condition in group:
            key = condition.attribute if isinstance(condition, Condition) else condition.get("attribute")
            if isinstance(key, str):
                keys.add(key)
    return keys


# --- Rendering as sentences -------------------------------------------------------------------


def _join_or(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _format_number(value: int | float, unit: str) -> str:
    return with_unit(value, unit)  # "1 month", not "1 months": the one way pages say a number


def _format_scalar(attr: AttributeSpec | None, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _format_number(value, attr.unit if attr else "")
    if attr is not None and attr.type == "date":
        try:
            return dt.date.fromisoformat(str(value)).strftime("%-d %b %Y")
        except ValueError:
            return str(value)
    return str(value)


def condition_sentence(condition: Condition | Mapping[str, Any], attr: AttributeSpec | None) -> str:
    """Render a condition as a sentence: 'Segment is one of Gold or Platinum'.

    ``attr`` may be ``None`` for an attribute no longer in the catalog; the key is used then.
    """
    if isinstance(condition, Condition):
        key, operator, value = condition.attribute, condition.operator, condition.value
    else:
        key, operator, value = (
            condition.get("attribute", "?"),
            condition.get("operator", "?"),
            condition.get("value"),
        )
    subject = attr.label if attr else str(key)
    attr_type = attr.type if attr else ""
    shape = value_shape(operator)
    if shape == "list" and isinstance(value, list):
        listed = _join_or([_format_scalar(attr, v) for v in value])
        # one value reads as the operator of one value: "Segment is Gold"
        verb = operator_label(OPERATORS[operator].singular if len(value) == 1 else operator, attr_type)
        return f"{subject} {verb} {listed}"
    if shape == "pair" and isinstance(value, list) and len(value) == 2:
        low, high = value
        verb = operator_label(operator, attr_type)
        if attr is not None and attr.unit and isinstance(low, int | float) and not isinstance(low, bool):
            # the unit once, at the end: "between 18 and 26 years"
            return f"{subject} {verb} {_format_number(low, '')} and {_format_number(high, attr.unit)}"
        return f"{subject} {verb} {_format_scalar(attr, low)} and {_format_scalar(attr, high)}"
    if shape == "days":
        days = "day" if value == 1 else f"{value} days"
        return f"{subject} is within the last {days}"
    return f"{subject} {operator_label(operator, attr_type)} {_format_scalar(attr, value)}"


def groups_sentence(
    groups: Groups | Sequence[Sequence[Mapping[str, Any]]], catalog: Mapping[str, AttributeSpec]
) -> str:
    """'Everyone', or the groups joined: 'A and B; or C'."""
    parts: list[str] = []
    for group in groups:
        sentences = [
            condition_sentence(
                c, catalog.get(c.attribute if isinstance(c, Condition) else c.get("attribute", ""))
            )
            for c in group
        ]
        parts.append(" and ".join(sentences))
    if not parts:
        return "Everyone"
    return "; or ".join(parts)
