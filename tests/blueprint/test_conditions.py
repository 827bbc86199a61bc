"""The condition language: typed validation against the catalog, positive operators only, sentences."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decisioning.conditions import (
    ALL_OPERATORS,
    OPERATORS_BY_TYPE,
    AttributeSpec,
    Condition,
    ConditionProblems,
    condition_sentence,
    groups_sentence,
    parse_condition,
    parse_groups,
)

CATALOG = {
    "segment": AttributeSpec(
        "segment", "Segment", "choice", choices=("Bronze", "Silver", "Gold", "Platinum")
    ),
    "age": AttributeSpec("age", "Age", "number", unit="years"),
    "visits": AttributeSpec("visits", "Visits in the last 30 days", "number", kind="behaviour"),
    "last_login": AttributeSpec("last_login", "Last login", "date", kind="behaviour"),
    "has_app": AttributeSpec("has_app", "Has the mobile app", "boolean"),
    "products": AttributeSpec(
        "products", "Products held", "set", choices=("savings", "credit_card", "mortgage")
    ),
    "tags": AttributeSpec("tags", "Tags", "set"),
    "city": AttributeSpec("city", "City", "text", kind="context"),
}


def problems_of(raw: Any) -> dict[str, list[str]]:
    with pytest.raises(ConditionProblems) as caught:
        parse_groups(raw, CATALOG)
    return caught.value.problems


def one(attribute: str, operator: str, value: Any) -> list[list[dict[str, Any]]]:
    return [[{"attribute": attribute, "operator": operator, "value": value}]]


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "normalized"),
    [
        ("segment", "is", "Gold", "Gold"),
        ("segment", "is_one_of", ["Gold", "Platinum", "Gold"], ["Gold", "Platinum"]),
        ("city", "is", " Utrecht ", "Utrecht"),
        ("city", "is_one_of", ["Utrecht", "Delft"], ["Utrecht", "Delft"]),
        ("has_app", "is", True, True),
        ("has_app", "is", "false", False),
        ("age", "at_least", 18, 18),
        ("age", "at_most", "65", 65),
        ("age", "between", [18, 30.5], [18, 30.5]),
        ("visits", "at_least", 2.0, 2),
        ("last_login", "at_least", "2024-01-31", "2024-01-31"),
        ("last_login", "between", ["2024-01-01", "2024-03-31"], ["2024-01-01", "2024-03-31"]),
        ("last_login", "within_last_days", 30, 30),
        ("products", "includes", "mortgage", "mortgage"),
        ("products", "includes_any_of", ["savings", "mortgage"], ["savings", "mortgage"]),
        ("tags", "includes", "vip", "vip"),
    ],
)
def test_a_well_typed_condition_is_accepted_and_normalized(
    attribute: str, operator: str, value: Any, normalized: Any
) -> None:
    groups = parse_groups(one(attribute, operator, value), CATALOG)
    assert groups == ((Condition(attribute, operator, normalized),),)


@pytest.mark.parametrize(
    ("operator", "attribute", "value", "advice", "alternative"),
    [
        (
            "is_not",
            "segment",
            "Bronze",
            "'Segment is one of Silver, Gold or Platinum'",
            [[{"attribute": "segment", "operator": "is_one_of", "value": ["Silver", "Gold", "Platinum"]}]],
        ),
        (
            "none_of",
            "segment",
            ["Bronze", "Silver"],
            "'Segment is one of Gold or Platinum'",
            [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]}]],
        ),
        (
            "not_between",
            "age",
            [18, 30],
            "'Age is below 18 years' or 'Age is above 30 years'",
            [
                [{"attribute": "age", "operator": "below", "value": 18}],
                [{"attribute": "age", "operator": "above", "value": 30}],
            ],
        ),
        (
            "is_not",
            "has_app",
            True,
            "'Has the mobile app is no'",
            [[{"attribute": "has_app", "operator": "is", "value": False}]],
        ),
        (
            "not_at_least",
            "last_login",
            "2024-01-31",
            "'Last login is before 31 Jan 2024'",
            [[{"attribute": "last_login", "operator": "below", "value": "2024-01-31"}]],
        ),
    ],
)
def test_negative_operators_are_refused_with_the_exact_positive_form(
    operator: str, attribute: str, value: Any, advice: str, alternative: list[Any]
) -> None:
    with pytest.raises(ConditionProblems) as caught:
        parse_groups(one(attribute, operator, value), CATALOG)
    message = caught.value.problems["groups[0][0].operator"][0]
    assert "they say who qualifies" in message and "exactly the same customers" in message
    assert advice in message
    assert [found["groups"] for found in caught.value.alternatives["groups[0][0]"]] == [alternative]


@pytest.mark.parametrize(
    ("operator", "attribute", "value", "instead"),
    [
        # the old advice named the other elements: it let in holders of a mortgage and more, and left
        # out customers holding nothing
        ("excludes", "products", "mortgage", "'Has mortgage is no'"),
        ("none_of", "products", ["mortgage", "savings"], "two offers"),
        ("is_not", "city", "Paris", "No positive condition says it exactly"),
        ("not_within_last_days", "last_login", 30, "No positive condition says it on every day"),
    ],
)
def test_a_negative_no_positive_condition_says_is_refused_saying_so_and_what_to_do(
    operator: str, attribute: str, value: Any, instead: str
) -> None:
    with pytest.raises(ConditionProblems) as caught:
        parse_groups(one(attribute, operator, value), CATALOG)
    message = caught.value.problems["groups[0][0].operator"][0]
    assert instead in message
    assert "includes any of" not in message
    assert caught.value.alternatives == {}


def test_a_not_flag_is_refused_with_the_exact_positive_form() -> None:
    raw = [[{"attribute": "age", "operator": "at_least", "value": 18, "not": True}]]
    with pytest.raises(ConditionProblems) as caught:
        parse_groups(raw, CATALOG)
    assert "'Age is below 18 years'" in caught.value.problems["groups[0][0].not"][0]
    assert caught.value.alternatives["groups[0][0]"][0]["groups"] == [
        [{"attribute": "age", "operator": "below", "value": 18}]
    ]
    problems = problems_of([[{"attribute": "nope", "operator": "is", "value": "Gold", "not": True}]])
    assert "positive statements" in problems["groups[0][0].not"][0]


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "fragment"),
    [
        ("segment", "is", "Diamond", "choose from Bronze, Silver, Gold, Platinum"),
        ("segment", "is_one_of", [], "list of one or more values"),
        ("segment", "is_one_of", "Gold", "list of one or more values"),
        ("age", "at_least", "eighteen", "is not a number"),
        ("age", "at_least", True, "not true"),
        ("age", "at_least", float("nan"), "out of range"),
        ("age", "at_least", 10**30, "out of range"),
        ("age", "between", [30, 18], "low end (30) is above the high end (18)"),
        ("age", "between", [18], "pair [low, high]"),
        ("last_login", "at_least", "31/01/2024", "YYYY-MM-DD"),
        ("last_login", "at_least", "2024-02-30", "YYYY-MM-DD"),
        ("last_login", "within_last_days", -1, "whole number of days"),
        ("last_login", "within_last_days", 2.5, "whole number of days"),
        ("has_app", "is", "maybe", "true or false"),
        ("city", "is", "", "empty value"),
        ("city", "is", {"x": 1}, "one value"),
        ("city", "is", "Ut\x00recht", "NUL"),
        ("products", "includes", "boat", "not a choice"),
    ],
)
def test_a_value_that_does_not_fit_the_type_is_refused(
    attribute: str, operator: str, value: Any, fragment: str
) -> None:
    problems = problems_of(one(attribute, operator, value))
    assert fragment in problems["groups[0][0].value"][0]


@pytest.mark.parametrize(
    ("attribute", "operator"),
    [
        ("age", "is"),
        ("segment", "at_least"),
        ("has_app", "is_one_of"),
        ("products", "is"),
        ("city", "between"),
    ],
)
def test_an_operator_that_does_not_suit_the_type_is_refused_naming_the_allowed_ones(
    attribute: str, operator: str
) -> None:
    message = problems_of(one(attribute, operator, "x"))["groups[0][0].operator"][0]
    allowed = OPERATORS_BY_TYPE[CATALOG[attribute].type]
    assert all(op in message for op in allowed)


def test_an_unknown_attribute_is_refused_listing_the_catalog() -> None:
    message = problems_of(one("income", "at_least", 3))["groups[0][0].attribute"][0]
    assert "'income' is not in the catalog" in message
    assert "segment" in message


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("segment is Gold", "groups"),
        ([{"attribute": "age"}], "groups[0]"),
        ([[]], "groups[0]"),
        ([["age"]], "groups[0][0]"),
        ([[{"attribute": "age", "operator": "at_least"}]], "groups[0][0].value"),
        ([[{"attribute": "age", "operator": "at_least", "value": 1, "weight": 2}]], "groups[0][0].weight"),
        ([[{"attribute": "age", "value": 1}]], "groups[0][0].operator"),
    ],
)
def test_malformed_groups_name_the_field(raw: Any, path: str) -> None:
    assert path in problems_of(raw)


def test_every_bad_condition_is_reported_not_just_the_first() -> None:
    raw = [
        [{"attribute": "age", "operator": "at_least", "value": "x"}],
        [{"attribute": "segment", "operator": "is_not", "value": "Gold"}],
    ]
    assert set(problems_of(raw)) == {"groups[0][0].value", "groups[1][0].operator"}


def test_no_groups_means_everyone() -> None:
    assert parse_groups(None, CATALOG) == ()
    assert parse_groups([], CATALOG) == ()
    assert groups_sentence((), CATALOG) == "Everyone"


def test_too_many_groups_are_refused() -> None:
    assert (
        "At most"
        in problems_of([[{"attribute": "age", "operator": "at_least", "value": 1}]] * 21)["groups"][0]
    )


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "sentence"),
    [
        ("segment", "is_one_of", ["Gold", "Platinum"], "Segment is one of Gold or Platinum"),
        (
            "segment",
            "is_one_of",
            ["Bronze", "Gold", "Platinum"],
            "Segment is one of Bronze, Gold or Platinum",
        ),
        ("segment", "is_one_of", ["Gold"], "Segment is Gold"),
        ("segment", "is", "Gold", "Segment is Gold"),
        ("visits", "at_least", 3, "Visits in the last 30 days is at least 3"),
        ("age", "between", [18, 30], "Age is between 18 and 30 years"),
        ("age", "at_least", 1, "Age is at least 1 year"),
        ("age", "at_most", 1500, "Age is at most 1,500 years"),
        ("last_login", "at_least", "2024-01-05", "Last login is on or after 5 Jan 2024"),
        ("last_login", "within_last_days", 7, "Last login is within the last 7 days"),
        ("last_login", "within_last_days", 1, "Last login is within the last day"),
        ("has_app", "is", True, "Has the mobile app is yes"),
        ("products", "includes", "mortgage", "Products held includes mortgage"),
        (
            "products",
            "includes_any_of",
            ["savings", "mortgage"],
            "Products held includes any of savings or mortgage",
        ),
    ],
)
def test_a_condition_reads_as_a_sentence(attribute: str, operator: str, value: Any, sentence: str) -> None:
    condition = parse_condition({"attribute": attribute, "operator": operator, "value": value}, CATALOG)
    assert condition_sentence(condition, CATALOG[attribute]) == sentence


def test_groups_read_as_either_or() -> None:
    groups = parse_groups(
        [
            [
                {"attribute": "segment", "operator": "is", "value": "Gold"},
                {"attribute": "age", "operator": "at_least", "value": 18},
            ],
            [{"attribute": "has_app", "operator": "is", "value": True}],
        ],
        CATALOG,
    )
    assert (
        groups_sentence(groups, CATALOG)
        == "Segment is Gold and Age is at least 18 years; or Has the mobile app is yes"
    )


def test_a_condition_on_an_attribute_gone_from_the_catalog_still_renders() -> None:
    assert (
        condition_sentence({"attribute": "income", "operator": "at_least", "value": 3}, None)
        == "income is at least 3"
    )


@given(
    operator=st.text(max_size=30) | st.sampled_from(ALL_OPERATORS),
    attribute=st.sampled_from(sorted(CATALOG)),
    value=st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.lists(st.text(max_size=5) | st.integers(), max_size=4),
)
def test_any_input_is_either_a_valid_condition_or_problems_naming_fields(
    operator: str, attribute: str, value: Any
) -> None:
    raw = one(attribute, operator, value)
    try:
        groups = parse_groups(raw, CATALOG)
    except ConditionProblems as exc:
        assert exc.problems
        assert all(path.startswith("groups[0][0]") for path in exc.problems)
    else:
        (condition,) = groups[0]
        assert condition.operator in OPERATORS_BY_TYPE[CATALOG[attribute].type]
        # a normalized condition is a fixed point and always renders
        assert parse_groups([[condition.as_dict()]], CATALOG) == groups
        assert condition_sentence(condition, CATALOG[attribute]).startswith(CATALOG[attribute].label)
