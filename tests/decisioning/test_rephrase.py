"""Every rephrasing a refusal suggests describes exactly the customers of the negative form, proved with
the lint's exact condition algebra (``decisioning.regions``), over every operator and attribute type;
where no positive condition does, the refusal says so and offers no alternative.

The negative form "not (attribute op value)" means the customers who have the attribute and for whom
the condition does not hold: a condition on a missing attribute is not met (docs/architecture.md, "The
condition language"), so a customer without it is in neither the negative form nor its rephrasing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decisioning.conditions import AttributeSpec, Condition, ConditionProblems, parse_condition, parse_groups
from decisioning.operators import OPERATORS, operators_for
from decisioning.regions import ELEMENT_SEPARATOR, Region, Space, intersect
from decisioning.rephrase import NEGATES, negated_operator, rephrase

AT = dt.date(2025, 6, 15)
CATALOG = {
    "age": AttributeSpec("age", "Age", "number", unit="years"),
    "visit": AttributeSpec("visit", "Last visit", "date"),
    "segment": AttributeSpec("segment", "Segment", "choice", choices=("Bronze", "Silver", "Gold")),
    "tier": AttributeSpec("tier", "Tier", "text", choices=("one", "two")),
    "city": AttributeSpec("city", "City", "text"),
    "member": AttributeSpec("member", "Member", "boolean"),
    "products": AttributeSpec("products", "Products held", "set", choices=("savings", "loan", "insurance")),
    "tags": AttributeSpec("tags", "Tags", "set"),
}
NUMBERS = [-1e15, -3, 0, 2.5, 18, 18.5, 30, 1e15]
DATES = ["0001-01-01", "2024-12-31", "2025-01-01", "2025-01-02", "2025-06-15", "9999-12-31"]
VALUES: dict[str, list[Any]] = {
    "age": NUMBERS,
    "visit": DATES,
    "segment": ["Bronze", "Silver", "Gold"],
    "tier": ["one", "two"],
    "city": ["Paris", "Lyon"],
    "member": [True, False],
    "products": ["savings", "loan", "insurance"],
    "tags": ["vip", "new"],
}
# for number and date attributes, "is not" and "none of" name points: the points themselves
POINT = "between"


@st.composite
def negatives(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(attribute, the positive operator negated, a valid value for it)."""
    key = draw(st.sampled_from(sorted(CATALOG)))
    attr = CATALOG[key]
    pool = VALUES[key]
    ordered = attr.type in ("number", "date")
    negated = [*operators_for(attr.type), *(("is", "is_one_of") if ordered else ())]
    operator = draw(st.sampled_from(negated))
    shape = OPERATORS[operator].value
    if shape == "pair":
        value: Any = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)))
    elif shape == "days":
        value = draw(st.sampled_from([0, 1, 30]))
    elif shape == "list":
        value = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    else:
        value = draw(st.sampled_from(pool))
    return key, operator, value


def positive_region(space: Space, key: str, operator: str, value: Any) -> Region:
    """Where "attribute operator value" holds; points of a number or date as one-point stretches."""
    attr = CATALOG[key]
    if attr.type in ("number", "date") and operator in ("is", "is_one_of"):
        points = value if isinstance(value, list) else [value]
        return [box for p in points for box in space.condition(_condition(key, POINT, [p, p]))]
    return space.condition(_condition(key, operator, value))


def _condition(key: str, operator: str, value: Any) -> Condition:
    return parse_condition({"attribute": key, "operator": operator, "value": value}, CATALOG)


def _space_for(key: str, operator: str, value: Any, alternatives: list[Any]) -> Space:
    attr = CATALOG[key]
    if attr.type in ("number", "date") and operator in ("is", "is_one_of"):
        points = value if isinstance(value, list) else [value]
        used = [_condition(key, POINT, [p, p]) for p in points]
    else:
        used = [_condition(key, operator, value)]
    used += [c for groups in alternatives for group in groups for c in group]
    return Space(CATALOG, used, AT)


def having(space: Space, key: str) -> Region:
    """The customers who have the attribute (any value, "missing" left out)."""
    variable = space.variables[key]
    return [{key: variable.full & ~variable.missing}]


@settings(max_examples=600, deadline=None)
@given(negatives())
def test_every_suggested_rephrasing_holds_for_exactly_the_customers_of_the_negative_form(
    negative: tuple[str, str, Any],
) -> None:
    key, operator, value = negative
    found = rephrase(CATALOG[key], operator, value)
    alternatives = [parse_groups(a["groups"], CATALOG) for a in found.as_json()]
    space = _space_for(key, operator, value, alternatives)
    wanted = space.minus(having(space, key), positive_region(space, key, operator, value))
    for groups in alternatives:
        assert groups, "no groups would mean everyone"
        assert space.same(space.groups(groups), wanted), (found.message(), groups)
    message = found.message()
    assert "they say who qualifies" in message
    if alternatives:
        assert "exactly the same customers" in message
        return
    assert not found.problem
    if space.outside(wanted, []) is None:  # no customer at all: no condition could say it but "no one"
        assert "no one would qualify" in message
        return
    # a set that lacks an element, an open text, a moving window: no positive condition says it, and
    # the message says so and what to do
    assert "No positive condition says it" in message
    assert "two offers" in message
    kind = CATALOG[key].type
    assert kind in ("set", "text") or operator == "within_last_days"
    if kind == "set":
        # the negative form holds for a customer holding nothing, whom no positive condition on the
        # set lets in (every one asks for an element)
        nothing = {key: 1, **{n: 2 for n in space.variables if n.startswith(key + ELEMENT_SEPARATOR)}}
        assert intersect(wanted, [nothing])
        assert "'Has " in message


@pytest.mark.parametrize(
    ("key", "operator", "value"),
    [("products", "includes", "insurance"), ("products", "includes_any_of", ["insurance", "loan"])],
)
def test_the_old_rephrasing_of_excludes_was_not_the_same_customers(
    key: str, operator: str, value: Any
) -> None:
    """ "includes any of the other elements" lets in holders of insurance and something else, and leaves
    out customers holding nothing: the reason no rephrasing is offered."""
    others = [e for e in VALUES[key] if e not in (value if isinstance(value, list) else [value])]
    old = parse_groups([[{"attribute": key, "operator": "includes_any_of", "value": others}]], CATALOG)
    space = _space_for(key, operator, value, [old])
    wanted = space.minus(having(space, key), positive_region(space, key, operator, value))
    assert not space.same(space.groups(old), wanted)
    assert rephrase(CATALOG[key], operator, value).alternatives == ()


def test_the_old_rephrasing_of_not_between_took_in_both_ends() -> None:
    old = parse_groups(
        [
            [{"attribute": "age", "operator": "at_most", "value": 20}],
            [{"attribute": "age", "operator": "at_least", "value": 30}],
        ],
        CATALOG,
    )
    space = _space_for("age", "between", [20, 30], [old])
    wanted = space.minus(having(space, "age"), positive_region(space, "age", "between", [20, 30]))
    assert not space.same(space.groups(old), wanted)
    (found,) = rephrase(CATALOG["age"], "between", [20, 30]).alternatives
    assert space.same(space.groups(found), wanted)


@pytest.mark.parametrize("negative", sorted(NEGATES))
def test_every_negative_operator_people_write_is_refused_with_words_and_never_accepted(negative: str) -> None:
    key = {"is": "segment", "is_one_of": "segment", "between": "age", "within_last_days": "visit"}.get(
        NEGATES[negative], "products"
    )
    value = {"segment": "Gold", "age": [20, 30], "visit": 7, "products": "loan"}[key]
    with pytest.raises(ConditionProblems) as caught:
        parse_groups([[{"attribute": key, "operator": negative, "value": value}]], CATALOG)
    (message,) = caught.value.problems["groups[0][0].operator"]
    assert "they say who qualifies" in message


def test_not_with_any_operator_of_the_table_is_its_negation() -> None:
    for name in OPERATORS:
        assert negated_operator(f"not_{name}") == name
        assert negated_operator(f"is_not_{name}") == name
    assert negated_operator("is_at_least") is None


def test_a_negative_form_with_a_value_the_attribute_lacks_says_what_is_wrong() -> None:
    found = rephrase(CATALOG["segment"], "is", "Diamond")
    assert found.alternatives == ()
    assert "'Diamond' is not a choice of Segment" in found.message()
