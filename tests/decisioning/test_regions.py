"""The algebra under lint: condition regions per type and operator, intersect, subset, witnesses.

Every claim is checked against the hand-written evaluator in ``oracle``: a witness must satisfy
the conditions of the region it came from, and a region the algebra calls empty or covered must
have no counterexample among the exhaustive candidate customers.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisioning.conditions import AttributeSpec, Condition, parse_groups
from decisioning.regions import ELEMENT_SEPARATOR, Region, Space, intersect
from tests.decisioning.oracle import (
    AT,
    CATALOG,
    any_group_holds,
    attribute_pools,
    candidate_profiles,
    cond,
    group_holds,
    holds,
    is_valid_profile,
    raw_groups,
)

FIRST_DAY = dt.date.min.isoformat()
LAST_DAY = dt.date.max.isoformat()


def space_of(*conditions: Condition, at: dt.date = AT, catalog: dict[str, AttributeSpec] = CATALOG) -> Space:
    return Space(catalog, conditions, at)


def admits(condition: Condition, probe: Condition, at: dt.date = AT) -> bool:
    """Whether some customer meets both conditions, by the algebra."""
    space = space_of(condition, probe, at=at)
    return bool(intersect(space.condition(condition), space.condition(probe)))


def satisfies_all(profile: dict[str, Any], conditions: list[Condition], at: dt.date = AT) -> bool:
    return all(holds(c, profile, at) for c in conditions)


# --- condition regions, value by value ----------------------------------------------------------

NUMBER_CASES = [
    (cond("age", "at_least", 18), 17.99, False),
    (cond("age", "at_least", 18), 18, True),
    (cond("age", "at_least", 18), 10**15, True),
    (cond("age", "at_most", 30), 30, True),
    (cond("age", "at_most", 30), 30.01, False),
    (cond("age", "at_most", 30), -(10**15), True),
    (cond("age", "between", [18, 30]), 18, True),
    (cond("age", "between", [18, 30]), 30, True),
    (cond("age", "between", [18, 30]), 24.5, True),
    (cond("age", "between", [18, 30]), 17, False),
    (cond("age", "between", [18, 30]), 31, False),
    (cond("age", "between", [2.5, 2.5]), 2.5, True),
    (cond("age", "between", [2.5, 2.5]), 2.25, False),
]


@pytest.mark.parametrize(("condition", "age", "expected"), NUMBER_CASES)
def test_a_number_condition_holds_exactly_for_the_ages_the_evaluator_accepts(
    condition: Condition, age: float, expected: bool
) -> None:
    assert holds(condition, {"age": age}, AT) is expected
    assert admits(condition, cond("age", "between", [age, age])) is expected


DATE_CASES = [
    (cond("last_visit", "at_least", "2025-01-01"), "2024-12-31", False),
    (cond("last_visit", "at_least", "2025-01-01"), "2025-01-01", True),
    (cond("last_visit", "at_most", "2024-12-31"), "2024-12-31", True),
    (cond("last_visit", "at_most", "2024-12-31"), "2025-01-01", False),
    (cond("last_visit", "between", ["2025-01-01", "2025-01-31"]), "2025-01-01", True),
    (cond("last_visit", "between", ["2025-01-01", "2025-01-31"]), "2025-01-31", True),
    (cond("last_visit", "between", ["2025-01-01", "2025-01-31"]), "2025-02-01", False),
    # AT is 2025-06-15: the last 7 days run from the 8th to the 15th, both included
    (cond("last_visit", "within_last_days", 7), "2025-06-07", False),
    (cond("last_visit", "within_last_days", 7), "2025-06-08", True),
    (cond("last_visit", "within_last_days", 7), "2025-06-15", True),
    (cond("last_visit", "within_last_days", 7), "2025-06-16", False),
    (cond("last_visit", "within_last_days", 0), "2025-06-15", True),
    (cond("last_visit", "within_last_days", 0), "2025-06-14", False),
    (cond("last_visit", "at_least", FIRST_DAY), FIRST_DAY, True),
    (cond("last_visit", "at_least", FIRST_DAY), LAST_DAY, True),
    (cond("last_visit", "at_most", LAST_DAY), FIRST_DAY, True),
    (cond("last_visit", "at_most", LAST_DAY), LAST_DAY, True),
    (cond("last_visit", "at_most", FIRST_DAY), FIRST_DAY, True),
    (cond("last_visit", "at_most", FIRST_DAY), "0001-01-02", False),
    (cond("last_visit", "at_least", LAST_DAY), LAST_DAY, True),
    (cond("last_visit", "at_least", LAST_DAY), "9999-12-30", False),
]


@pytest.mark.parametrize(("condition", "day", "expected"), DATE_CASES)
def test_a_date_condition_holds_exactly_for_the_days_the_evaluator_accepts(
    condition: Condition, day: str, expected: bool
) -> None:
    assert holds(condition, {"last_visit": day}, AT) is expected
    assert admits(condition, cond("last_visit", "between", [day, day])) is expected


@pytest.mark.parametrize(
    ("condition", "probe", "expected"),
    [
        (cond("segment", "is", "Gold"), "Gold", True),
        (cond("segment", "is", "Gold"), "Silver", False),
        (cond("segment", "is_one_of", ["Gold", "Silver"]), "Silver", True),
        (cond("segment", "is_one_of", ["Gold", "Silver"]), "Bronze", False),
        (cond("city", "is", "Paris"), "Paris", True),
        (cond("city", "is", "Paris"), "Lyon", False),
        (cond("city", "is_one_of", ["Paris", "Lyon"]), "Lyon", True),
        (cond("city", "is_one_of", ["Paris", "Lyon"]), "Nice", False),
        (cond("vip", "is", True), True, True),
        (cond("vip", "is", True), False, False),
        (cond("vip", "is", False), False, True),
    ],
)
def test_an_equality_condition_holds_exactly_for_the_values_it_names(
    condition: Condition, probe: Any, expected: bool
) -> None:
    assert holds(condition, {condition.attribute: probe}, AT) is expected
    assert admits(condition, cond(condition.attribute, "is", probe)) is expected


def test_a_set_holding_one_element_meets_includes_any_of_that_names_it() -> None:
    space = space_of(
        includes_savings := cond("products", "includes", "savings"),
        any_of := cond("products", "includes_any_of", ["savings", "loan"]),
        includes_card := cond("products", "includes", "card"),
    )
    savings, either, card = (space.condition(c) for c in (includes_savings, any_of, includes_card))
    assert space.subset(savings, either)
    assert not space.subset(either, savings)
    assert intersect(card, either)  # a set may hold card and loan at once
    escaped = space.outside(either, savings)
    assert escaped is not None
    example = space.witness(escaped)
    assert example == {"products": ["loan"]}
    assert holds(any_of, example, AT) and not holds(includes_savings, example, AT)


def test_includes_any_of_is_the_union_of_includes_each_element() -> None:
    space = space_of(
        any_of := cond("products", "includes_any_of", ["savings", "loan"]),
        savings := cond("products", "includes", "savings"),
        loan := cond("products", "includes", "loan"),
    )
    assert space.same(space.condition(any_of), space.condition(savings) + space.condition(loan))


def test_two_includes_together_ask_for_a_set_holding_both() -> None:
    space = space_of(
        savings := cond("products", "includes", "savings"), loan := cond("products", "includes", "loan")
    )
    both = space.group((savings, loan))
    assert both
    example = space.witness(both[0])
    assert sorted(example["products"]) == ["loan", "savings"]


def test_a_present_set_that_needs_no_element_is_witnessed_as_an_empty_set() -> None:
    space = space_of(cond("products", "includes", "savings"))
    present = space.variables["products"].full & ~space.variables["products"].missing
    assert space.witness({"products": present}) == {"products": []}


def test_a_missing_set_is_left_out_of_the_witness_even_when_the_box_names_an_element() -> None:
    space = space_of(cond("products", "includes", "savings"))
    missing = space.variables["products"].missing
    assert space.witness({"products": missing, f"products{ELEMENT_SEPARATOR}savings": 1}) == {}


# --- missing ------------------------------------------------------------------------------------

ONE_OF_EACH = [
    cond("age", "at_least", 0),
    cond("age", "at_most", 0),
    cond("age", "between", [0, 1]),
    cond("segment", "is", "Gold"),
    cond("segment", "is_one_of", ["Bronze", "Silver", "Gold"]),
    cond("city", "is", "Paris"),
    cond("city", "is_one_of", ["Paris", "Lyon"]),
    cond("vip", "is", True),
    cond("vip", "is", False),
    cond("last_visit", "at_least", FIRST_DAY),
    cond("last_visit", "at_most", LAST_DAY),
    cond("last_visit", "between", [FIRST_DAY, LAST_DAY]),
    cond("last_visit", "within_last_days", 36_500),
    cond("products", "includes", "savings"),
    cond("products", "includes_any_of", ["savings", "loan"]),
]


@pytest.mark.parametrize("condition", ONE_OF_EACH, ids=lambda c: f"{c.attribute}-{c.operator}")
def test_no_condition_holds_for_a_customer_missing_its_attribute(condition: Condition) -> None:
    space = space_of(condition)
    missing = space.variables[condition.attribute].missing
    assert missing
    assert intersect([{condition.attribute: missing}], space.condition(condition)) == []
    assert not holds(condition, {}, AT)


def test_a_condition_that_takes_every_value_still_leaves_out_the_missing_customers() -> None:
    space = space_of(widest := cond("last_visit", "between", [FIRST_DAY, LAST_DAY]))
    left = space.outside([{}], space.condition(widest))
    assert left == {"last_visit": space.variables["last_visit"].missing}
    assert space.witness(left) == {}


def test_the_only_customers_outside_at_most_30_and_at_least_30_are_missing_their_age() -> None:
    space = space_of(low := cond("age", "at_most", 30), high := cond("age", "at_least", 30))
    left = space.outside([{}], space.condition(low) + space.condition(high))
    assert left is not None
    assert left["age"] == space.variables["age"].missing
    assert space.witness(left) == {}


def test_every_choice_together_covers_everyone_but_the_customers_missing_a_segment() -> None:
    space = space_of(everyone := cond("segment", "is_one_of", ["Bronze", "Silver", "Gold"]))
    left = space.outside([{}], space.condition(everyone))
    assert left is not None and space.witness(left) == {}
    assert space.outside(space.condition(cond("segment", "is", "Silver")), space.condition(everyone)) is None


def test_true_and_false_together_cover_everyone_but_the_customers_missing_the_flag() -> None:
    space = space_of(yes := cond("vip", "is", True), no := cond("vip", "is", False))
    assert intersect(space.condition(yes), space.condition(no)) == []
    left = space.outside([{}], space.condition(yes) + space.condition(no))
    assert left is not None and space.witness(left) == {}


# --- numbers: the values between bounds -----------------------------------------------------------


def test_a_value_strictly_between_two_bounds_escapes_at_most_the_lower_and_at_least_the_higher() -> None:
    space = space_of(
        adult := cond("age", "at_least", 18),
        young := cond("age", "at_most", 30),
        old := cond("age", "at_least", 31),
    )
    left = space.outside(space.condition(adult), space.condition(young) + space.condition(old))
    assert left is not None
    example = space.witness(left)
    assert 30 < example["age"] < 31
    assert holds(adult, example, AT) and not holds(young, example, AT) and not holds(old, example, AT)


def test_the_witness_between_two_bounds_is_a_whole_number_where_there_is_one() -> None:
    space = space_of(low := cond("age", "at_most", 18), high := cond("age", "at_least", 21))
    left = space.outside(
        [{"age": space.variables["age"].full & ~space.variables["age"].missing}],
        space.condition(low) + space.condition(high),
    )
    assert left is not None
    assert space.witness(left) == {"age": 19}


def test_adjacent_floats_leave_no_value_between_them() -> None:
    one, after_one = 1.0, math.nextafter(1.0, 2.0)
    space = space_of(
        adult := cond("age", "at_least", 0),
        low := cond("age", "at_most", one),
        high := cond("age", "at_least", after_one),
    )
    assert space.subset(space.condition(adult), space.condition(low) + space.condition(high))
    assert intersect(space.condition(low), space.condition(high)) == []


def test_a_fraction_below_a_bound_is_its_own_value() -> None:
    space = space_of(low := cond("age", "at_most", 0.1), high := cond("age", "at_least", 0.2))
    left = space.outside(
        [{"age": space.variables["age"].full & ~space.variables["age"].missing}],
        space.condition(low) + space.condition(high),
    )
    assert left is not None
    example = space.witness(left)
    assert 0.1 < example["age"] < 0.2


# --- dates ----------------------------------------------------------------------------------------


def test_within_last_days_moves_with_the_decision_day() -> None:
    recent, since = cond("last_visit", "within_last_days", 7), cond("last_visit", "at_least", "2025-01-01")
    in_june, a_year_before = space_of(recent, since, at=AT), space_of(recent, since, at=dt.date(2024, 6, 15))
    assert in_june.subset(in_june.condition(recent), in_june.condition(since))
    assert intersect(a_year_before.condition(recent), a_year_before.condition(since)) == []


@pytest.mark.parametrize(
    "at", [dt.date.min, dt.date(1, 1, 10), dt.date.max, dt.date(9999, 12, 25)], ids=lambda d: d.isoformat()
)
def test_dates_at_the_ends_of_the_calendar_do_not_break_regions_or_witnesses(at: dt.date) -> None:
    conditions = [
        cond("last_visit", "within_last_days", 36_500),
        cond("last_visit", "within_last_days", 0),
        cond("last_visit", "within_last_days", 7),
        cond("last_visit", "at_least", FIRST_DAY),
        cond("last_visit", "at_most", FIRST_DAY),
        cond("last_visit", "at_least", LAST_DAY),
        cond("last_visit", "at_most", LAST_DAY),
        cond("last_visit", "between", [LAST_DAY, LAST_DAY]),
        cond("last_visit", "between", ["0001-01-02", "9999-12-30"]),
    ]
    space = space_of(*conditions, at=at)
    for condition in conditions:
        region = space.condition(condition)
        assert region, condition
        example = space.witness(region[0])
        assert is_valid_profile(example, CATALOG)
        assert holds(condition, example, at), (condition, example)
    # every day before the last is outside "on or after the last day"; the first is the example
    left = space.outside(space.condition(conditions[6]), space.condition(conditions[5]))
    assert left is not None
    assert space.witness(left) == {"last_visit": FIRST_DAY}
    # and "on or after" the first day together with "on or before" it leaves the days between
    middle = space.outside(
        space.condition(conditions[3]), space.condition(conditions[4]) + space.condition(conditions[5])
    )
    assert middle is not None
    example = space.witness(middle)
    assert FIRST_DAY < example["last_visit"] < LAST_DAY


# --- texts ----------------------------------------------------------------------------------------


def test_a_text_no_condition_names_is_witnessed_by_a_value_distinct_from_every_named_one() -> None:
    space = space_of(named := cond("city", "is_one_of", ["Paris", "Lyon"]))
    left = space.outside([{}], space.condition(named))
    assert left is not None
    example = space.witness(left)
    assert example["city"] not in ("Paris", "Lyon")
    assert not holds(named, example, AT)


@pytest.mark.parametrize(
    "named",
    [["other"], ["other", "other 2"], ["other 2", "other"], ["Other", "other", "other 2", "other 3"]],
)
def test_the_other_text_never_collides_with_a_named_value(named: list[str]) -> None:
    space = space_of(condition := cond("city", "is_one_of", named))
    left = space.outside([{}], space.condition(condition))
    assert left is not None
    example = space.witness(left)
    assert "city" in example
    assert example["city"] not in named


def test_a_choice_attribute_without_choices_behaves_like_text() -> None:
    catalog = {"tier": AttributeSpec(key="tier", label="Tier", type="choice")}
    condition = parse_groups([[{"attribute": "tier", "operator": "is", "value": "Gold"}]], catalog)[0][0]
    space = space_of(condition, catalog=catalog)
    left = space.outside([{}], space.condition(condition))
    assert left is not None
    example = space.witness(left)
    assert example.get("tier") not in (None, "Gold")


def test_a_choice_attribute_witness_is_one_of_its_choices() -> None:
    space = space_of(gold := cond("segment", "is", "Gold"))
    left = space.outside([{}], space.condition(gold))
    assert left is not None
    assert space.witness(left) == {"segment": "Bronze"}


# --- intersect, subset, same, outside, uncovered ---------------------------------------------------


def test_intersect_with_everyone_changes_nothing() -> None:
    space = space_of(adult := cond("age", "at_least", 18))
    assert intersect([{}], space.condition(adult)) == space.condition(adult)
    assert intersect(space.condition(adult), [{}]) == space.condition(adult)


def test_intersect_of_disjoint_conditions_on_one_attribute_is_empty() -> None:
    space = space_of(minor := cond("age", "at_most", 17), adult := cond("age", "at_least", 18))
    assert intersect(space.condition(minor), space.condition(adult)) == []


def test_intersect_of_conditions_on_different_attributes_keeps_both() -> None:
    space = space_of(adult := cond("age", "at_least", 18), gold := cond("segment", "is", "Gold"))
    both = intersect(space.condition(adult), space.condition(gold))
    assert len(both) == 1
    example = space.witness(both[0])
    assert satisfies_all(example, [adult, gold])


def test_intersect_distributes_over_the_boxes_of_a_union() -> None:
    space = space_of(
        gold := cond("segment", "is", "Gold"),
        silver := cond("segment", "is", "Silver"),
        paris := cond("city", "is", "Paris"),
        young := cond("age", "at_most", 30),
    )
    left = space.condition(gold) + space.condition(silver)
    right = space.condition(paris) + space.condition(young)
    both = intersect(left, right)
    assert len(both) == 4
    assert space.same(both, intersect(right, left))
    for box in both:
        example = space.witness(box)
        assert (holds(gold, example, AT) or holds(silver, example, AT)) and (
            holds(paris, example, AT) or holds(young, example, AT)
        )


def test_an_empty_region_is_inside_every_region_and_nothing_is_outside_it() -> None:
    space = space_of(adult := cond("age", "at_least", 18))
    assert space.subset([], space.condition(adult))
    assert space.subset([], [])
    assert space.outside([], space.condition(adult)) is None


def test_every_region_is_inside_everyone() -> None:
    space = space_of(adult := cond("age", "at_least", 18), gold := cond("segment", "is", "Gold"))
    assert space.subset(space.group((adult, gold)), [{}])
    assert not space.subset([{}], space.group((adult, gold)))


def test_outside_of_nothing_is_the_region_itself() -> None:
    space = space_of(adult := cond("age", "at_least", 18))
    assert space.outside(space.condition(adult), []) == space.condition(adult)[0]


def test_subset_follows_the_bounds() -> None:
    space = space_of(over_18 := cond("age", "at_least", 18), over_21 := cond("age", "at_least", 21))
    assert space.subset(space.condition(over_21), space.condition(over_18))
    assert not space.subset(space.condition(over_18), space.condition(over_21))
    assert not space.same(space.condition(over_18), space.condition(over_21))


def test_the_same_customers_said_two_ways_are_the_same_region() -> None:
    space = space_of(
        is_gold := cond("segment", "is", "Gold"),
        one_of_gold := cond("segment", "is_one_of", ["Gold"]),
        between := cond("age", "between", [18, 30]),
        over := cond("age", "at_least", 18),
        under := cond("age", "at_most", 30),
    )
    assert space.same(space.condition(is_gold), space.condition(one_of_gold))
    assert space.same(space.condition(between), space.group((over, under)))
    assert space.same(space.group((under, over)), space.group((over, under)))


def test_same_is_false_when_either_side_has_a_customer_the_other_lacks() -> None:
    space = space_of(
        gold := cond("segment", "is", "Gold"), either := cond("segment", "is_one_of", ["Gold", "Silver"])
    )
    assert not space.same(space.condition(gold), space.condition(either))
    assert not space.same(space.condition(either), space.condition(gold))


def test_groups_are_an_or_of_ands_and_no_groups_is_everyone() -> None:
    groups = parse_groups(
        [
            [{"attribute": "age", "operator": "at_least", "value": 65}],
            [
                {"attribute": "segment", "operator": "is", "value": "Gold"},
                {"attribute": "vip", "operator": "is", "value": True},
            ],
        ],
        CATALOG,
    )
    space = space_of(*(c for g in groups for c in g))
    region = space.groups(groups)
    assert space.same(region, space.group(groups[0]) + space.group(groups[1]))
    assert space.groups(()) == [{}]
    for box in region:
        assert any_group_holds(groups, space.witness(box), AT)


def test_uncovered_returns_a_piece_of_the_box_outside_every_cover_box() -> None:
    space = space_of(
        adult := cond("age", "at_least", 18),
        young := cond("age", "at_most", 30),
        gold := cond("segment", "is", "Gold"),
        silver := cond("segment", "is", "Silver"),
    )
    box = space.condition(adult)[0]
    cover = space.group((young,)) + space.group((gold,)) + space.group((silver,))
    piece = space.uncovered(box, cover)
    assert piece is not None
    assert space.subset([piece], [box])
    assert all(intersect([piece], [other]) == [] for other in cover)
    example = space.witness(piece)
    assert holds(adult, example, AT)
    assert not any(holds(c, example, AT) for c in (young, gold, silver))


def test_uncovered_is_none_when_several_boxes_cover_the_box_though_none_does_alone() -> None:
    space = space_of(
        adult := cond("age", "at_least", 18),
        young := cond("age", "at_most", 30),
        old := cond("age", "at_least", 30),
    )
    box = space.condition(adult)[0]
    cover = space.condition(young) + space.condition(old)
    assert all(space.uncovered(box, [other]) is not None for other in cover)
    assert space.uncovered(box, cover) is None


def test_uncovered_splits_on_several_variables_to_find_the_one_corner_left() -> None:
    # three boxes cover the square of (age, segment) but for its old-and-Silver corner
    space = space_of(
        young := cond("age", "at_most", 30),
        old := cond("age", "at_least", 31),
        gold := cond("segment", "is", "Gold"),
        bronze := cond("segment", "is", "Bronze"),
    )
    cover = [
        *space.group((young,)),
        *space.group((old, gold)),
        *space.group((old, bronze)),
        *space.condition(cond("segment", "is", "Silver")),
    ]
    assert space.uncovered({}, cover[:3]) is not None
    piece = space.uncovered({}, cover[:3] + space.group((old, cond("segment", "is", "Silver"))))
    assert piece is not None  # only the customers without an age, or without a segment, are left
    example = space.witness(piece)
    assert "age" not in example or "segment" not in example
    any_segment = cond("segment", "is_one_of", ["Bronze", "Silver", "Gold"])
    assert space.uncovered(space.group((old, any_segment))[0], cover) is None
    assert space.uncovered(space.group((old,))[0], cover) is not None  # old, without a segment


# --- witnesses -------------------------------------------------------------------------------------


def test_a_witness_prefers_a_real_value_over_missing() -> None:
    space = space_of(cond("age", "at_least", 18), cond("segment", "is", "Gold"), cond("vip", "is", True))
    box = {name: space.variables[name].full for name in ("age", "segment", "vip")}
    example = space.witness(box)
    assert set(example) == {"age", "segment", "vip"}
    assert is_valid_profile(example, CATALOG)


def test_a_witness_leaves_out_an_attribute_that_can_only_be_missing() -> None:
    space = space_of(cond("age", "at_least", 18), cond("vip", "is", True))
    assert space.witness({"age": space.variables["age"].missing, "vip": 2}) == {"vip": False}


def test_a_witness_of_everyone_is_the_empty_profile() -> None:
    assert space_of(cond("age", "at_least", 18)).witness({}) == {}


def test_a_witness_gives_dates_as_iso_days() -> None:
    space = space_of(recent := cond("last_visit", "within_last_days", 7))
    example = space.witness(space.condition(recent)[0])
    assert example == {"last_visit": "2025-06-08"}


# --- the law: exact answers, checked against enumeration --------------------------------------------


@st.composite
def a_region_and_a_cover(draw: st.DrawFn, *, attributes: int, cover_conditions: int) -> tuple[Any, Any]:
    pool = draw(attribute_pools(max_size=attributes))
    region = draw(raw_groups(pool, min_groups=1, max_groups=2))
    cover = draw(raw_groups(pool, max_groups=4, max_conditions=cover_conditions))
    return parse_groups(region, CATALOG), parse_groups(cover, CATALOG)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_region_and_a_cover(attributes=1, cover_conditions=1))
def test_outside_on_one_attribute_finds_a_customer_exactly_when_enumeration_does(
    case: tuple[Any, Any],
) -> None:
    # one attribute and covers of single conditions: the edges of bounds meet often
    _check_outside_against_enumeration(*case)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_region_and_a_cover(attributes=3, cover_conditions=2))
def test_outside_finds_a_customer_exactly_when_enumeration_does(case: tuple[Any, Any]) -> None:
    _check_outside_against_enumeration(*case)


def _check_outside_against_enumeration(groups: Any, cover_groups: Any) -> None:
    conditions = [c for g in (*groups, *cover_groups) for c in g]
    space = space_of(*conditions)
    region: Region = [box for g in groups for box in space.group(g)]
    cover: Region = [box for g in cover_groups for box in space.group(g)]

    def escapes(profile: dict[str, Any]) -> bool:
        return any(group_holds(g, profile, AT) for g in groups) and not any(
            group_holds(g, profile, AT) for g in cover_groups
        )

    left = space.outside(region, cover)
    if left is None:
        assert not any(escapes(p) for p in candidate_profiles(CATALOG, conditions, AT))
    else:
        example = space.witness(left)
        assert is_valid_profile(example, CATALOG)
        assert escapes(example), example
    for group in groups:
        boxes = space.group(group)
        found = [p for p in candidate_profiles(CATALOG, group, AT) if group_holds(group, p, AT)]
        assert bool(boxes) == bool(found)
        for box in boxes:
            assert group_holds(group, space.witness(box), AT)


def test_numbers_beyond_the_range_a_profile_may_hold_are_no_customers() -> None:
    from decisioning.conditions import MAX_NUMBER

    space = space_of(top := cond("age", "at_least", MAX_NUMBER), low := cond("age", "at_most", -MAX_NUMBER))
    # nobody is older than the largest age a profile may hold, or younger than the smallest
    assert (
        space.outside(
            space.condition(top), [{"age": space.variables["age"].full & ~space.variables["age"].missing}]
        )
        is None
    )
    rest = space.outside([{}], space.condition(top) + space.condition(low))
    assert rest is not None
    example = space.witness(rest)
    assert "age" not in example or -MAX_NUMBER < example["age"] < MAX_NUMBER
    near = space_of(cond("age", "at_least", MAX_NUMBER - 0.5))
    above = near.witness({"age": 1 << (len(near.variables["age"].atoms) - 2)})
    assert MAX_NUMBER - 0.5 < above["age"] <= MAX_NUMBER
