"""Saying a negative condition positively, exactly: what the refusal of ``is_not``, ``none_of``,
``not_between``, ``excludes`` or a ``not`` flag offers instead.

A negative form says who does not qualify: "Age is not between 20 and 30". The customers it means
are those who *have* the attribute and for whom the positive condition it negates does not hold: a
condition on an attribute the profile lacks is not met (docs/architecture.md, "The condition
language"), and the negative form is read the same way, so a customer without an age is in neither
the negative form nor any rephrasing of it.

A rephrasing is offered only when it holds for exactly those customers (``tests/decisioning/
test_rephrase.py`` proves each with the lint's regions):

- number and date: the complement of a stretch is the stretches beside it, as groups (either lets a
  customer in): not between 20 and 30 is "below 20" or "above 30"; not at least 18 is "below 18";
  not 5 is "below 5" or "above 5";
- choice (and text with allowed values): the other choices, since a profile's value is always one of
  them (profiles are checked against the catalog);
- boolean: the other value.

Where no positive condition says it — a set that lacks an element (a customer may hold no element
at all, or that one and others), an open text, a window of days that moves with the decision day —
the rephrasing says so and what to do instead: an attribute in the catalog that says it ("Has
insurance: no"), or two offers, the one for the customers to leave out first. Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decisioning.conditions import (
    AttributeSpec,
    Condition,
    ConditionProblems,
    Groups,
    condition_sentence,
    groups_as_json,
    parse_condition,
)
from decisioning.operators import OPERATORS, bounds, operator_label, require_every_operator

# The negative operators people reach for, by the positive operator each negates. ``not_<op>`` and
# ``is_not_<op>`` negate any operator of the table too.
NEGATES: Mapping[str, str] = {
    "is_not": "is",
    "not": "is",
    "not_equals": "is",
    "neq": "is",
    "!=": "is",
    "except": "is_one_of",
    "none_of": "is_one_of",
    "is_none_of": "is_one_of",
    "not_one_of": "is_one_of",
    "is_not_one_of": "is_one_of",
    "not_in": "is_one_of",
    "excludes": "includes",
    "without": "includes",
    "not_includes": "includes",
    "excludes_any_of": "includes_any_of",
    "excludes_all_of": "includes_any_of",
    "not_between": "between",
    "outside": "between",
    "not_within_last_days": "within_last_days",
    "before_last_days": "within_last_days",
}

# How the editor words the negative forms it offers, per attribute type: (negative, its wording).
NEGATIVE_CHOICES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "text": (("is_not", "is not …"), ("none_of", "is none of …")),
    "choice": (("is_not", "is not …"), ("none_of", "is none of …")),
    "boolean": (("is_not", "is not …"),),
    "number": (("not_between", "is not between …"), ("is_not", "is not …")),
    "date": (("not_between", "is not between …"), ("not_within_last_days", "is not within the last … days")),
    "set": (("excludes", "excludes …"), ("none_of", "includes none of …")),
}

# How each operator is negated: "values" (every value but these), "window" (a stretch that moves
# with the decision day: no positive form), or the operators whose stretches lie beside its own,
# below and above it ("" for no stretch on that side).
NEGATION: Mapping[str, str | tuple[str, str]] = {
    "is": "values",
    "is_one_of": "values",
    "at_least": ("below", ""),
    "at_most": ("", "above"),
    "below": ("", "at_least"),
    "above": ("at_most", ""),
    "between": ("below", "above"),
    "within_last_days": "window",
    "includes": "values",
    "includes_any_of": "values",
}
require_every_operator(NEGATION, "decisioning.rephrase.NEGATION")
# An operator of one value, per attribute type: how each value of a "values" negation is checked.
_ONE_VALUE = {"text": "is", "choice": "is", "boolean": "is", "set": "includes", "number": "at_least"}
_ONE_VALUE["date"] = "at_least"
_LAST_DAY = dt.date.max.toordinal()


def negated_operator(operator: str) -> str | None:
    """The positive operator a negative one negates (``not_between`` → ``between``); None when the
    operator is not a negative form people write."""
    lowered = operator.strip().lower().replace(" ", "_")
    if lowered in NEGATES:
        return NEGATES[lowered]
    for prefix in ("is_not_", "not_"):
        if lowered.startswith(prefix) and lowered[len(prefix) :] in OPERATORS:
            return lowered[len(prefix) :]
    return None


def is_negative(operator: str) -> bool:
    lowered = operator.strip().lower()
    return negated_operator(operator) is not None or lowered.startswith(("not", "is_not", "excl", "none"))


@dataclass(frozen=True)
class Rephrasing:
    """What to say instead of a negative condition on ``attr``.

    ``alternatives``: each a set of groups (either lets a customer in) that holds for exactly the
    customers the negative form means; none when no positive statement does, and ``instead`` says
    what to do then. ``problem``: the negative form's value does not fit the attribute."""

    attr: AttributeSpec
    negative: str  # the negative form as people read it: "Age is not between 20 and 30"
    alternatives: tuple[Groups, ...] = ()
    instead: str = ""
    problem: str = ""

    def message(self) -> str:
        """The refusal's words, for the API and the editor alike."""
        head = (
            f"Conditions are positive statements: they say who qualifies, not who doesn't, so "
            f"'{self.negative}' can't be a condition."
        )
        if self.problem:
            return f"{head} {self.problem}"
        if not self.alternatives:
            return f"{head} {self.instead}"
        said = [self.sentence(groups) for groups in self.alternatives]
        if len(self.alternatives[0]) > 1:
            return (
                f"{head} Say exactly the same customers with {len(self.alternatives[0])} groups of "
                f"conditions (a customer qualifies when any one of them holds): {said[0]}."
            )
        return f"{head} Say exactly the same customers with: {' Or: '.join(said)}."

    def sentence(self, groups: Groups) -> str:
        return " or ".join(f"'{' and '.join(condition_sentence(c, self.attr) for c in g)}'" for g in groups)

    def as_json(self) -> list[dict[str, Any]]:
        """The alternatives for a program (and the editor): each its groups and its words."""
        return [
            {"groups": groups_as_json(groups), "says": self.sentence(groups)} for groups in self.alternatives
        ]


def rephrase(attr: AttributeSpec, negates: str, value: Any) -> Rephrasing:
    """The exact positive form of "not (``attr`` ``negates`` ``value``)", or why there is none.

    ``negates`` is the positive operator negated (``negated_operator``, or the operator beside a
    ``not`` flag)."""
    catalog = {attr.key: attr}
    negation = NEGATION[negates]
    negative = _negative_words(attr, negates, value)
    if negation != "values" and attr.type not in ("number", "date"):
        return Rephrasing(attr, negative, instead=_plain_advice(attr))
    try:
        if negation == "values":
            values = _values(attr, value, catalog)
            said: Any = values if isinstance(value, list) else values[0]
        else:
            positive = parse_condition(
                {"attribute": attr.key, "operator": negates, "value": value}, catalog, path="value"
            )
            said = positive.value
    except ConditionProblems as exc:
        found = [m for messages in exc.problems.values() for m in messages]
        return Rephrasing(attr, negative, problem=" ".join(found))
    negative = _negative_words(attr, negates, said)  # the value as the attribute takes it
    if negation == "window":
        return Rephrasing(
            attr,
            negative,
            instead=(
                f"No positive condition says it on every day: the window moves with the decision day. "
                f"Add an attribute such as 'Days since {attr.label.lower()}' (a number) to the catalog "
                f"and say it is above the number of days, or make two offers: one for customers whose "
                f"{attr.label} is within those days, placed first, and this one after it."
            ),
        )
    if isinstance(negation, tuple):
        groups = _outside(attr, negation, positive.value, catalog)
    elif attr.type in ("number", "date"):
        groups = _between_points(attr, sorted(values), catalog)
    elif attr.type == "boolean":
        flipped = [v for v in (True, False) if v not in values]
        groups = tuple((_cond(attr, "is", v, catalog),) for v in flipped[:1])
    elif attr.type == "choice" or (attr.type == "text" and attr.choices):
        others = [c for c in attr.choices if c not in values]
        groups = ()
        if len(others) == 1:
            groups = ((_cond(attr, "is", others[0], catalog),),)
        elif others:
            groups = ((_cond(attr, "is_one_of", others, catalog),),)
    elif attr.type == "set":
        named = ", ".join(str(v) for v in values)
        return Rephrasing(
            attr,
            negative,
            instead=(
                f"No positive condition says it exactly: naming the other elements would let in "
                f"customers who hold {named} and something else, and leave out those who hold nothing. "
                f"Add an attribute to the catalog that says it, such as 'Has {named}' (yes/no), and say "
                f"'Has {named} is no'; or make two offers: one for customers whose {attr.label} "
                f"includes {named}, placed first, and this one after it."
            ),
        )
    else:  # open text
        return Rephrasing(
            attr,
            negative,
            instead=(
                f"No positive condition says it exactly: {attr.label} can hold any text. Give "
                f"{attr.label} its allowed values in the catalog and say 'is one of' the others, or make "
                f"two offers: one for customers whose {attr.label} is {', '.join(map(str, values))}, placed "
                f"first, and this one after it."
            ),
        )
    if not groups:
        return Rephrasing(
            attr,
            negative,
            instead="It leaves out every customer with a value, so no one would qualify: remove the condition's offer instead.",
        )
    return Rephrasing(attr, negative, alternatives=(groups,))


def _values(attr: AttributeSpec, value: Any, catalog: Mapping[str, AttributeSpec]) -> list[Any]:
    """The values a negative form of the "one of these" family names, each checked as the attribute
    takes it (a choice it lacks is refused)."""
    operator = _ONE_VALUE.get(attr.type, "is")
    raw = value if isinstance(value, list) else [value]
    if not raw:
        raise ConditionProblems({"value": ["Name at least one value to leave out."]})
    found: list[Any] = []
    for item in raw:
        parsed = parse_condition({"attribute": attr.key, "operator": operator, "value": item}, catalog)
        if parsed.value not in found:
            found.append(parsed.value)
    return found


def _cond(attr: AttributeSpec, operator: str, value: Any, catalog: Mapping[str, AttributeSpec]) -> Condition:
    return parse_condition({"attribute": attr.key, "operator": operator, "value": value}, catalog)


def _outside(
    attr: AttributeSpec, beside: tuple[str, str], value: Any, catalog: Mapping[str, AttributeSpec]
) -> Groups:
    """The stretches beside the one a number or date condition holds on (``NEGATION``), as groups:
    below its low end and above its high end (a pair's ends, or the one value)."""
    low, high = (value[0], value[1]) if isinstance(value, list) else (value, value)
    sides = [(beside[0], low, "low"), (beside[1], high, "high")]
    return tuple((_cond(attr, op, v, catalog),) for op, v, _ in sides if op and not _empty(attr, op, v))


def _between_points(attr: AttributeSpec, points: list[Any], catalog: Mapping[str, AttributeSpec]) -> Groups:
    """Every number (or date) but the given points: below the first, between each two, above the last."""
    groups: list[tuple[Condition, ...]] = []
    if not _empty(attr, "below", points[0]):
        groups.append((_cond(attr, "below", points[0], catalog),))
    for low, high in itertools.pairwise(points):
        if (
            attr.type == "date"
            and dt.date.fromisoformat(high).toordinal() - dt.date.fromisoformat(low).toordinal() < 2
        ):
            continue  # two days in a row leave no day between them
        groups.append((_cond(attr, "above", low, catalog), _cond(attr, "below", high, catalog)))
    if not _empty(attr, "above", points[-1]):
        groups.append((_cond(attr, "above", points[-1], catalog),))
    return tuple(groups)


def _empty(attr: AttributeSpec, operator: str, value: Any) -> bool:
    """Whether a date condition holds on no day: before the calendar's first, after its last."""
    if attr.type != "date":
        return False
    low, high = bounds(operator, value, 0)
    return (high is not None and high < 1) or (low is not None and low > _LAST_DAY)


def _negative_words(attr: AttributeSpec, negates: str, value: Any) -> str:
    """The negative form as a sentence: the positive one with "not" in it."""
    if isinstance(value, list) and OPERATORS[negates].value == "one":
        # several values for an operator of one: read as its list operator ("is one of")
        negates = next((op.name for op in OPERATORS.values() if op.singular == negates), negates)
    try:
        sentence = condition_sentence(Condition(attr.key, negates, value), attr)
    except (TypeError, ValueError, KeyError):
        return f"{attr.label} {negates} {value}"
    verb = operator_label(negates, attr.type)
    if sentence.startswith(f"{attr.label} is "):
        return f"{attr.label} is not {sentence[len(attr.label) + 4 :]}"
    if sentence.startswith(f"{attr.label} includes "):
        return f"{attr.label} does not include {sentence[len(attr.label) + 10 :]}"
    return f"{attr.label} not {verb} {value}"


def _plain_advice(attr: AttributeSpec) -> str:
    labels = ", ".join(
        f"'{operator_label(op, attr.type)}'" for op in OPERATORS if attr.type in OPERATORS[op].types
    )
    return f"Say which customers qualify instead, with one of: {labels}."
