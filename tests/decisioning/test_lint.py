"""Lint (docs/architecture.md, "The lint"), code by code, against the rules in
``decisioning.lint``'s docstring.

Every example profile a finding carries is checked by hand with the evaluator in ``oracle``: it
really is in the stage and really does what the finding says.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from decisioning.conditions import AttributeSpec, ConditionProblems, parse_groups
from decisioning.lint import LEVELS, Finding, LintReport, lint_blueprint
from decisioning.model import BlueprintSpec, OfferSpec, StageSpec, spec_from_json
from decisioning.regions import Space
from tests.decisioning.oracle import (
    AT,
    ATTRIBUTES,
    CATALOG,
    any_group_holds,
    group_holds,
    is_valid_profile,
    raw,
)

# --- building blueprints ---------------------------------------------------------------------------


def offer(
    key: str, *groups: list[dict[str, Any]], fallback: bool = False, name: str | None = None
) -> dict[str, Any]:
    return {"key": key, "name": name or key.capitalize(), "groups": list(groups), "fallback": fallback}


def stage(
    *offers: dict[str, Any], key: str = "st", name: str = "Retention", entry: Any = None
) -> dict[str, Any]:
    return {"key": key, "name": name, "entry": entry or [], "offers": list(offers)}


def blueprint(*stages: dict[str, Any]) -> BlueprintSpec:
    return spec_from_json({"attributes": ATTRIBUTES, "stages": list(stages)})


def lint(*stages: dict[str, Any], at: dt.date = AT) -> tuple[BlueprintSpec, LintReport]:
    spec = blueprint(*stages)
    report = lint_blueprint(spec, at=at)
    for finding in report.findings:
        check_example(spec, finding, at)
    return spec, report


def of_code(report: LintReport, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def summary(report: LintReport) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.code, f.offers) for f in report.findings]


AGE_18_PLUS = [raw("age", "at_least", 18)]

# --- the hand check of every example --------------------------------------------------------------


def matches(offer_spec: OfferSpec, profile: dict[str, Any], at: dt.date, day: dt.date | None = None) -> bool:
    """On its days (``day``, the decision day; ``at`` by default), an offer that is not a fallback whose
    conditions hold (relative ones placed by ``at``)."""
    return (
        not offer_spec.fallback
        and offer_spec.open_on(day or at)
        and any_group_holds(offer_spec.groups, profile, at)
    )


def check_example(spec: BlueprintSpec, finding: Finding, at: dt.date) -> None:
    """The example is a customer of the stage who does what the finding says, evaluated on ``at``."""
    example = finding.example
    if finding.code in ("contradiction", "redundant-condition", "fallback-invalid", "empty-stage"):
        assert example is None, finding
        return
    assert example is not None, finding
    example = dict(example)
    assert is_valid_profile(example, spec.catalog), finding
    if finding.code == "stage-overlap":  # a customer of both stages
        for key in finding.stages:
            entry = next(s for s in spec.stages if s.key == key).entry
            assert any_group_holds(entry, example, at), finding
        return
    stage_spec = next(s for s in spec.stages if s.key == finding.stage)
    assert any_group_holds(stage_spec.entry, example, at), f"example not in the stage: {finding}"
    offers = {o.key: o for o in stage_spec.offers}
    order = [o.key for o in stage_spec.offers if not o.fallback]
    day = dt.date.fromisoformat(finding.day) if finding.day else at
    if finding.code == "gap":
        assert not any(matches(o, example, at, day) for o in stage_spec.offers), finding
        fallback = next((o for o in stage_spec.offers if o.fallback), None)
        assert fallback is None or not fallback.open_on(day), finding
    elif finding.code in ("overlap", "duplicate-offer"):
        first, second = finding.offers
        assert matches(offers[first], example, at, day) and matches(offers[second], example, at, day), finding
    elif finding.code == "shadowed-offer":
        shadowed = finding.offers[0]
        assert matches(offers[shadowed], example, at, day), finding
        above = order[: order.index(shadowed)]
        assert any(matches(offers[k], example, at, day) for k in above), finding
    else:
        raise AssertionError(f"unknown code {finding.code}")


def escape(spec: BlueprintSpec, lower: str, higher: list[str], at: dt.date = AT) -> dict[str, Any] | None:
    """A customer ``lower`` matches and none of ``higher`` does (stage without entry), or None."""
    offers = {o.key: o for s in spec.stages for o in s.offers}
    conditions = [c for o in offers.values() for g in o.groups for c in g]
    space = Space(spec.catalog, conditions, at)
    left = space.outside(
        space.groups(offers[lower].groups), [b for k in higher for b in space.groups(offers[k].groups)]
    )
    return None if left is None else space.witness(left)


# --- contradiction ---------------------------------------------------------------------------------


def test_at_least_50_and_at_most_30_on_one_age_is_a_contradiction() -> None:
    _, report = lint(stage(offer("senior", [raw("age", "at_least", 50), raw("age", "at_most", 30)])))
    [finding] = of_code(report, "contradiction")
    assert finding.level == "error"
    assert (finding.stage, finding.offers, finding.part, finding.group, finding.condition) == (
        "st",
        ("senior",),
        "offer",
        0,
        None,
    )
    assert finding.example is None
    assert (
        finding.message
        == "“Senior” can never match anyone: Age is at least 50 years and Age is at most 30 years "
        "cannot all hold at once."
    )


def test_between_18_and_30_meets_at_least_30_because_both_edges_are_included() -> None:
    _, report = lint(stage(offer("thirty", [raw("age", "between", [18, 30]), raw("age", "at_least", 30)])))
    assert of_code(report, "contradiction") == []
    assert of_code(report, "redundant-condition") == []


def test_between_18_and_30_beside_at_least_31_is_a_contradiction() -> None:
    _, report = lint(stage(offer("none", [raw("age", "between", [18, 30]), raw("age", "at_least", 31)])))
    [finding] = of_code(report, "contradiction")
    assert (
        "Age is between 18 and 30 years and Age is at least 31 years cannot all hold at once"
        in finding.message
    )


def test_between_18_and_30_beside_at_least_30_and_a_half_is_a_contradiction() -> None:
    _, report = lint(stage(offer("none", [raw("age", "between", [18, 30]), raw("age", "at_least", 30.5)])))
    assert [f.offers for f in of_code(report, "contradiction")] == [("none",)]


# strict bounds: numbers are real (the catalog says nothing of whole numbers), days are whole


def test_above_5_and_below_6_meet_between_them_and_the_example_lies_strictly_inside() -> None:
    _, report = lint(
        stage(
            offer("inside", [raw("age", "above", 5), raw("age", "below", 6)]),
            offer("low", [raw("age", "at_most", 5)]),
        )
    )
    assert of_code(report, "contradiction") == []
    [gap] = of_code(report, "gap")
    assert gap.example is not None and gap.example["age"] >= 6  # checked by hand in lint()
    assert [f.offers for f in of_code(report, "overlap")] == []  # "above 5" leaves 5 itself out


@pytest.mark.parametrize(
    "group",
    [
        [raw("age", "above", 5), raw("age", "below", 5)],
        [raw("age", "at_least", 5), raw("age", "below", 5)],
        [raw("age", "above", 5), raw("age", "at_most", 5)],
        [raw("age", "between", [1, 5]), raw("age", "above", 5)],
        # the day after 1 Jan and before 2 Jan: no day
        [raw("last_visit", "above", "2025-01-01"), raw("last_visit", "below", "2025-01-02")],
        [raw("last_visit", "below", "0001-01-01")],
    ],
)
def test_strict_bounds_that_leave_nothing_between_them_are_a_contradiction(
    group: list[dict[str, Any]],
) -> None:
    _, report = lint(stage(offer("never", group)))
    assert [f.offers for f in of_code(report, "contradiction")] == [("never",)]


def test_below_is_redundant_beside_a_lower_below_and_at_most_5_beside_below_5_is_not() -> None:
    _, report = lint(stage(offer("young", [raw("age", "below", 30), raw("age", "below", 18)])))
    [finding] = of_code(report, "redundant-condition")
    assert finding.condition == 0
    assert (
        "“Age is below 30 years” adds nothing: Age is below 18 years already implies it." in finding.message
    )
    _, report = lint(stage(offer("young", [raw("age", "at_most", 5), raw("age", "below", 5)])))
    assert [f.condition for f in of_code(report, "redundant-condition")] == [0]  # below 5 implies at most 5
    _, report = lint(stage(offer("young", [raw("age", "below", 5), raw("age", "at_most", 5)])))
    assert [f.condition for f in of_code(report, "redundant-condition")] == [1]


def test_not_between_said_as_below_and_above_leaves_exactly_the_range_as_the_gap() -> None:
    _, report = lint(
        stage(offer("young", [raw("age", "below", 20)]), offer("older", [raw("age", "above", 30)]))
    )
    [gap] = of_code(report, "gap")
    assert gap.example is not None and 20 <= gap.example["age"] <= 30
    _, report = lint(
        stage(
            offer("young", [raw("age", "below", 20)]),
            offer("older", [raw("age", "above", 30)]),
            offer("rest", [raw("age", "between", [20, 30])]),
        )
    )
    # only a customer without an age is left, as by any condition on the age
    assert [f.example for f in of_code(report, "gap")] == [{}]
    assert of_code(report, "overlap") == []


def test_dates_on_or_after_new_year_and_on_or_before_the_day_before_are_a_contradiction() -> None:
    _, report = lint(
        stage(
            offer(
                "never",
                [raw("last_visit", "at_least", "2025-01-01"), raw("last_visit", "at_most", "2024-12-31")],
            )
        )
    )
    [finding] = of_code(report, "contradiction")
    assert (
        "Last visit is on or after 1 Jan 2025 and Last visit is on or before 31 Dec 2024 cannot all hold at once"
        in finding.message
    )


def test_within_the_last_7_days_and_on_or_before_8_days_ago_is_a_contradiction() -> None:
    eight_days_ago = (AT - dt.timedelta(days=8)).isoformat()
    _, report = lint(
        stage(
            offer(
                "never",
                [raw("last_visit", "within_last_days", 7), raw("last_visit", "at_most", eight_days_ago)],
            )
        )
    )
    [finding] = of_code(report, "contradiction")
    assert "Last visit is within the last 7 days and Last visit is on or before 7 Jun 2025" in finding.message


def test_within_the_last_7_days_and_on_or_before_7_days_ago_meet_on_that_day() -> None:
    seven_days_ago = (AT - dt.timedelta(days=7)).isoformat()
    _, report = lint(
        stage(
            offer(
                "edge",
                [raw("last_visit", "within_last_days", 7), raw("last_visit", "at_most", seven_days_ago)],
            )
        )
    )
    assert of_code(report, "contradiction") == []


def test_segment_is_gold_and_is_one_of_silver_is_a_contradiction() -> None:
    _, report = lint(
        stage(offer("never", [raw("segment", "is", "Gold"), raw("segment", "is_one_of", ["Silver"])]))
    )
    [finding] = of_code(report, "contradiction")
    assert "Segment is Gold and Segment is Silver cannot all hold at once" in finding.message


def test_segment_one_of_gold_or_silver_and_one_of_silver_or_bronze_meet_on_silver() -> None:
    _, report = lint(
        stage(
            offer(
                "silver",
                [
                    raw("segment", "is_one_of", ["Gold", "Silver"]),
                    raw("segment", "is_one_of", ["Silver", "Bronze"]),
                ],
            )
        )
    )
    assert of_code(report, "contradiction") == []


def test_a_flag_that_is_true_and_false_is_a_contradiction() -> None:
    _, report = lint(stage(offer("never", [raw("vip", "is", True), raw("vip", "is", False)])))
    [finding] = of_code(report, "contradiction")
    assert "VIP is yes and VIP is no cannot all hold at once" in finding.message


def test_two_different_texts_for_one_attribute_are_a_contradiction() -> None:
    _, report = lint(
        stage(offer("never", [raw("city", "is", "Paris"), raw("city", "is_one_of", ["Lyon", "Nice"])]))
    )
    [finding] = of_code(report, "contradiction")
    assert "City is Paris and City is one of Lyon or Nice" in finding.message


def test_a_set_can_hold_two_elements_so_two_includes_never_contradict() -> None:
    _, report = lint(
        stage(offer("both", [raw("products", "includes", "savings"), raw("products", "includes", "loan")]))
    )
    assert of_code(report, "contradiction") == []


def test_the_message_names_only_the_conditions_that_clash() -> None:
    _, report = lint(
        stage(
            offer(
                "never",
                [
                    raw("segment", "is", "Gold"),
                    raw("age", "at_least", 50),
                    raw("vip", "is", True),
                    raw("age", "at_most", 30),
                ],
            )
        )
    )
    [finding] = of_code(report, "contradiction")
    assert "Age is at least 50 years and Age is at most 30 years cannot" in finding.message
    assert "Segment" not in finding.message
    assert "VIP" not in finding.message


def test_an_offer_group_that_no_customer_of_the_stage_can_meet_is_a_contradiction() -> None:
    _, report = lint(stage(offer("kids", [raw("age", "at_most", 17)]), entry=[AGE_18_PLUS]))
    [finding] = of_code(report, "contradiction")
    assert (finding.offers, finding.part, finding.group) == (("kids",), "offer", 0)
    assert finding.message == (
        "“Kids” can never match in stage “Retention”: no customer the stage lets in "
        "(Age is at least 18 years) has Age is at most 17 years."
    )
    # an offer that reaches no one is neither shadowed nor overlapping, and leaves the stage a gap
    assert [f.code for f in report.findings] == ["contradiction", "gap"]


def test_an_offer_group_clashing_with_an_entry_of_several_groups_names_them_all() -> None:
    entry = [[raw("segment", "is", "Gold"), raw("age", "at_least", 18)], [raw("segment", "is", "Silver")]]
    _, report = lint(stage(offer("bronze", [raw("segment", "is", "Bronze")]), entry=entry))
    [finding] = of_code(report, "contradiction")
    assert "(Segment is Gold and Age is at least 18 years; or Segment is Silver) has Segment is Bronze" in (
        finding.message
    )


def test_an_entry_group_that_can_never_hold_is_a_contradiction_of_the_entry() -> None:
    _, report = lint(
        stage(
            offer("any", AGE_18_PLUS),
            name="Loyal",
            entry=[[raw("vip", "is", True), raw("vip", "is", False)]],
        )
    )
    entry_findings = [f for f in report.findings if f.part == "entry"]
    [finding] = entry_findings
    assert (finding.code, finding.offers, finding.group, finding.condition) == ("contradiction", (), 0, None)
    assert finding.message == (
        "No customer can ever enter stage “Loyal” by the entry: VIP is yes and VIP is no cannot all hold at once."
    )
    # nobody is in the stage, so the offer cannot match there either, and there is no gap
    assert summary(report) == [("contradiction", ()), ("contradiction", ("any",))]


def test_a_contradiction_in_group_2_of_the_entry_names_the_group_and_keeps_group_1() -> None:
    entry = [[raw("segment", "is", "Gold")], [raw("age", "at_least", 50), raw("age", "at_most", 30)]]
    _, report = lint(stage(offer("gold", [raw("segment", "is", "Gold")]), name="Loyal", entry=entry))
    [finding] = of_code(report, "contradiction")
    assert (finding.part, finding.group) == ("entry", 1)
    assert finding.message.startswith("No customer can ever enter stage “Loyal” by group 2 of the entry:")
    # group 1 alone is the population, and the offer covers it all
    assert summary(report) == [("contradiction", ())]


def test_a_contradiction_in_only_group_2_of_2_names_that_group() -> None:
    _, report = lint(
        stage(
            offer(
                "mixed",
                [raw("segment", "is", "Gold")],
                [raw("age", "at_least", 50), raw("age", "at_most", 30)],
            )
        )
    )
    [finding] = of_code(report, "contradiction")
    assert (finding.offers, finding.part, finding.group) == (("mixed",), "offer", 1)
    assert finding.message.startswith("Group 2 of “Mixed” can never match anyone: Age is at least 50 years")


def test_an_offer_whose_every_group_is_contradictory_gets_one_finding_per_group() -> None:
    _, report = lint(
        stage(
            offer("first", AGE_18_PLUS),
            offer(
                "never",
                [raw("vip", "is", True), raw("vip", "is", False)],
                [raw("segment", "is", "Gold"), raw("segment", "is", "Silver")],
            ),
        )
    )
    assert [(f.offers, f.group) for f in of_code(report, "contradiction")] == [
        (("never",), 0),
        (("never",), 1),
    ]
    # it reaches no one, so it is not shadowed by the offer above
    assert of_code(report, "shadowed-offer") == []


# --- duplicate-offer -------------------------------------------------------------------------------


def test_the_same_conditions_in_another_order_and_form_are_a_duplicate_offer() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is_one_of", ["Gold"]), raw("age", "at_least", 18)]),
            offer("gold_again", [raw("age", "at_least", 18), raw("segment", "is", "Gold")]),
        )
    )
    [finding] = of_code(report, "duplicate-offer")
    assert finding.level == "error"
    assert (finding.offers, finding.part) == (("gold_again", "gold"), "offer")
    assert finding.message == (
        "“Gold_again” matches exactly the same customers as “Gold” in stage “Retention”, so it can never be "
        "shown. Merge them, or say what sets them apart."
    )
    # a duplicate is neither shadowed nor an overlap
    assert of_code(report, "shadowed-offer") == [] and of_code(report, "overlap") == []


def test_groups_and_a_list_that_say_the_same_are_a_duplicate_offer() -> None:
    _, report = lint(
        stage(
            offer("either", [raw("segment", "is", "Gold")], [raw("segment", "is", "Silver")]),
            offer("one_of", [raw("segment", "is_one_of", ["Silver", "Gold"])]),
        )
    )
    assert [f.offers for f in of_code(report, "duplicate-offer")] == [("one_of", "either")]


def test_between_is_the_same_as_at_least_and_at_most_together() -> None:
    _, report = lint(
        stage(
            offer("range", [raw("age", "between", [18, 30])]),
            offer("bounds", [raw("age", "at_most", 30), raw("age", "at_least", 18)]),
        )
    )
    assert [f.offers for f in of_code(report, "duplicate-offer")] == [("bounds", "range")]


def test_offers_equal_only_within_the_stage_population_are_duplicates() -> None:
    offers = (offer("adults", [raw("age", "at_least", 18)]), offer("over_21", [raw("age", "at_least", 21)]))
    _, inside = lint(stage(*offers, entry=[[raw("age", "at_least", 21)]]))
    assert [f.offers for f in of_code(inside, "duplicate-offer")] == [("over_21", "adults")]
    # without the entry, over_21 is a strict part of adults: shadowed, not a duplicate
    _, everyone = lint(stage(*offers))
    assert summary(everyone)[:1] == [("shadowed-offer", ("over_21", "adults"))]
    assert of_code(everyone, "duplicate-offer") == []


def test_every_copy_of_an_offer_names_the_highest_one() -> None:
    _, report = lint(stage(offer("a", AGE_18_PLUS), offer("b", AGE_18_PLUS), offer("c", AGE_18_PLUS)))
    assert [f.offers for f in of_code(report, "duplicate-offer")] == [("b", "a"), ("c", "a")]
    assert of_code(report, "shadowed-offer") == [] and of_code(report, "overlap") == []


def test_two_offers_without_conditions_are_duplicates() -> None:
    _, report = lint(stage(offer("everyone"), offer("everyone_too")))
    assert summary(report) == [("duplicate-offer", ("everyone_too", "everyone"))]


def test_a_copy_of_a_shadowed_offer_is_its_duplicate() -> None:
    _, report = lint(
        stage(
            offer("adults", AGE_18_PLUS),
            offer("over_21", [raw("age", "at_least", 21)]),
            offer("again", [raw("age", "at_least", 21)]),
        )
    )
    assert [(f.code, f.offers[:2]) for f in report.findings if f.code != "gap"] == [
        ("shadowed-offer", ("over_21", "adults")),
        ("duplicate-offer", ("again", "over_21")),
    ]


# --- shadowed-offer --------------------------------------------------------------------------------


def test_an_offer_inside_one_higher_offer_is_shadowed() -> None:
    _, report = lint(stage(offer("adults", AGE_18_PLUS), offer("over_30", [raw("age", "at_least", 30)])))
    [finding] = of_code(report, "shadowed-offer")
    assert finding.level == "error"
    assert (finding.offers, finding.part) == (("over_30", "adults"), "offer")
    assert finding.message == (
        "“Over_30” can never be shown in stage “Retention”: every customer it matches is taken first by "
        "“Adults”, above it."
    )
    assert finding.example is not None and finding.example["age"] >= 30
    # a shadowed offer is not reported as overlapping
    assert of_code(report, "overlap") == []


def test_an_offer_covered_by_several_higher_offers_together_is_shadowed() -> None:
    young, old, adult = (
        offer("young", [raw("age", "at_most", 30)]),
        offer("old", [raw("age", "at_least", 30)]),
        offer("adult", AGE_18_PLUS),
    )
    _, report = lint(stage(young, old, adult))
    [finding] = of_code(report, "shadowed-offer")
    assert finding.offers == ("adult", "young", "old")
    assert "is taken first by “Young” and “Old”, above it." in finding.message
    # neither one alone covers it: customers missing an age reach neither, but adult needs an age too
    for alone in (young, old):
        _, pair = lint(stage(alone, adult))
        assert of_code(pair, "shadowed-offer") == []


def test_choices_split_over_higher_offers_shadow_an_offer_of_those_choices() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("others", [raw("segment", "is_one_of", ["Silver", "Bronze"])]),
            offer("gold_or_silver", [raw("segment", "is_one_of", ["Gold", "Silver"])]),
        )
    )
    assert [f.offers for f in of_code(report, "shadowed-offer")] == [("gold_or_silver", "gold", "others")]


def test_one_value_strictly_between_the_bounds_above_keeps_an_offer_from_being_shadowed() -> None:
    # ages are numbers, not whole numbers: 30.5 is neither at most 30 nor at least 31
    spec, report = lint(
        stage(
            offer("young", [raw("age", "at_most", 30)]),
            offer("old", [raw("age", "at_least", 31)]),
            offer("adult", AGE_18_PLUS),
        )
    )
    assert of_code(report, "shadowed-offer") == []
    assert [f.offers for f in of_code(report, "overlap")] == [("young", "adult"), ("old", "adult")]
    example = escape(spec, "adult", ["young", "old"])
    assert example is not None and 30 < example["age"] < 31
    offers = {o.key: o for o in spec.stages[0].offers}
    assert matches(offers["adult"], example, AT)
    assert not matches(offers["young"], example, AT) and not matches(offers["old"], example, AT)


def test_customers_missing_the_attribute_above_keep_a_lower_offer_on_another_attribute_shown() -> None:
    spec, report = lint(
        stage(
            offer("young", [raw("age", "at_most", 30)]),
            offer("old", [raw("age", "at_least", 30)]),
            offer("gold", [raw("segment", "is", "Gold")]),
        )
    )
    assert of_code(report, "shadowed-offer") == []
    assert escape(spec, "gold", ["young", "old"]) == {"segment": "Gold"}


def test_an_offer_of_several_groups_each_taken_by_a_different_higher_offer_is_shadowed() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("vip", [raw("vip", "is", True)]),
            offer(
                "either", [raw("segment", "is", "Gold"), raw("age", "at_least", 18)], [raw("vip", "is", True)]
            ),
        )
    )
    assert [f.offers for f in of_code(report, "shadowed-offer")] == [("either", "gold", "vip")]


def test_a_higher_offer_of_several_groups_shadows_an_offer_inside_one_of_them() -> None:
    _, report = lint(
        stage(
            offer("gold_or_young", [raw("segment", "is", "Gold")], [raw("age", "at_most", 25)]),
            offer("young_silver", [raw("segment", "is", "Silver"), raw("age", "between", [18, 25])]),
        )
    )
    assert [f.offers for f in of_code(report, "shadowed-offer")] == [("young_silver", "gold_or_young")]


def test_an_offer_is_shadowed_when_only_customers_outside_the_stage_escape() -> None:
    offers = (offer("adults", AGE_18_PLUS), offer("band", [raw("age", "between", [15, 40])]))
    _, inside = lint(stage(*offers, entry=[AGE_18_PLUS]))
    assert [f.offers for f in of_code(inside, "shadowed-offer")] == [("band", "adults")]
    example = of_code(inside, "shadowed-offer")[0].example
    assert example is not None and 18 <= example["age"] <= 40
    _, everyone = lint(stage(*offers))
    assert of_code(everyone, "shadowed-offer") == []
    assert [f.offers for f in of_code(everyone, "overlap")] == [("adults", "band")]


def test_an_offer_without_conditions_shadows_every_offer_below_it() -> None:
    _, report = lint(
        stage(offer("everyone"), offer("gold", [raw("segment", "is", "Gold")]), offer("adults", AGE_18_PLUS))
    )
    # (that the second should not also name "gold", never shown itself, is the business of
    # test_a_shadowed_offer_does_not_name_a_higher_offer_that_is_never_shown)
    assert [f.offers[:2] for f in of_code(report, "shadowed-offer")] == [
        ("gold", "everyone"),
        ("adults", "everyone"),
    ]
    assert of_code(report, "gap") == []


def test_a_shadowed_offer_names_only_the_higher_offers_that_take_its_customers() -> None:
    # every Gold adult over 30 is taken by "adults" first; "gold" never gets one of them
    _, report = lint(
        stage(
            offer("adults", AGE_18_PLUS),
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("gold_over_30", [raw("age", "at_least", 30), raw("segment", "is", "Gold")]),
        )
    )
    assert [f.offers for f in of_code(report, "shadowed-offer")] == [("gold_over_30", "adults")]


@pytest.mark.parametrize(
    "hidden",
    [offer("adults_again", AGE_18_PLUS), offer("over_21", [raw("age", "at_least", 21)])],
    ids=["duplicate-above", "shadowed-above"],
)
def test_a_shadowed_offer_does_not_name_a_higher_offer_that_is_never_shown(hidden: dict[str, Any]) -> None:
    _, report = lint(
        stage(offer("adults", AGE_18_PLUS), hidden, offer("over_30", [raw("age", "at_least", 30)]))
    )
    assert [f.offers for f in of_code(report, "shadowed-offer")][-1] == ("over_30", "adults")


# --- fallback-invalid ------------------------------------------------------------------------------


def test_two_fallbacks_in_a_stage_are_one_finding_naming_both() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("f1", fallback=True),
            offer("f2", fallback=True),
        )
    )
    [finding] = of_code(report, "fallback-invalid")
    assert finding.level == "error"
    assert (finding.offers, finding.part, finding.example) == (("f1", "f2"), None, None)
    assert finding.message == (
        "Stage “Retention” has 2 fallbacks (“F1” and “F2”); a stage may have one, for everyone who gets no "
        "other offer."
    )


def test_three_fallbacks_are_named_in_order_in_one_finding() -> None:
    _, report = lint(
        stage(offer("f3", fallback=True), offer("f1", fallback=True), offer("f2", fallback=True))
    )
    assert summary(report) == [("fallback-invalid", ("f3", "f1", "f2"))]
    assert "3 fallbacks (“F3”, “F1” and “F2”)" in report.findings[0].message


def test_a_fallback_with_conditions_is_invalid() -> None:
    _, report = lint(
        stage(offer("gold", [raw("segment", "is", "Gold")]), offer("rest", AGE_18_PLUS, fallback=True))
    )
    [finding] = of_code(report, "fallback-invalid")
    assert (finding.offers, finding.part) == (("rest",), "offer")
    assert finding.message.startswith("“Rest” is the fallback of stage “Retention” but has conditions;")
    # it is still a fallback, so the stage has no gap
    assert of_code(report, "gap") == []


def test_two_fallbacks_with_conditions_get_one_finding_for_the_pair_and_one_each() -> None:
    _, report = lint(stage(offer("f1", AGE_18_PLUS, fallback=True), offer("f2", AGE_18_PLUS, fallback=True)))
    assert summary(report) == [
        ("fallback-invalid", ("f1", "f2")),
        ("fallback-invalid", ("f1",)),
        ("fallback-invalid", ("f2",)),
    ]


def test_one_fallback_without_conditions_is_fine_and_closes_every_gap() -> None:
    _, report = lint(stage(offer("gold", [raw("segment", "is", "Gold")]), offer("rest", fallback=True)))
    assert report.findings == ()


def test_a_fallback_alone_makes_a_stage_neither_empty_nor_gapped() -> None:
    _, report = lint(stage(offer("rest", fallback=True)))
    assert report.findings == ()


def test_a_fallback_is_no_offer_of_its_own_so_it_neither_overlaps_nor_is_shadowed() -> None:
    _, report = lint(stage(offer("everyone"), offer("rest", fallback=True)))
    assert report.findings == ()


# --- redundant-condition ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "flagged"),
    [
        ([raw("age", "at_least", 18), raw("age", "at_least", 21)], 0),
        ([raw("age", "at_least", 21), raw("age", "at_least", 18)], 1),
    ],
)
def test_at_least_18_beside_at_least_21_is_the_redundant_one(
    group: list[dict[str, Any]], flagged: int
) -> None:
    _, report = lint(stage(offer("adults", group)))
    [finding] = of_code(report, "redundant-condition")
    assert finding.level == "warning"
    assert (finding.offers, finding.part, finding.group, finding.condition, finding.example) == (
        ("adults",),
        "offer",
        0,
        flagged,
        None,
    )
    assert finding.message == (
        "In “Adults”, “Age is at least 18 years” adds nothing: Age is at least 21 years already implies it."
    )


def test_of_two_equal_conditions_the_later_is_redundant() -> None:
    _, report = lint(
        stage(
            offer(
                "gold",
                [raw("segment", "is", "Gold"), raw("age", "at_least", 18), raw("segment", "is", "Gold")],
            )
        )
    )
    assert [(f.group, f.condition) for f in of_code(report, "redundant-condition")] == [(0, 2)]


def test_of_two_conditions_that_say_the_same_in_another_form_the_later_is_redundant() -> None:
    _, report = lint(
        stage(offer("gold", [raw("segment", "is_one_of", ["Gold"]), raw("segment", "is", "Gold")]))
    )
    [finding] = of_code(report, "redundant-condition")
    assert finding.condition == 1
    assert "“Segment is Gold” adds nothing: Segment is Gold already implies it." in finding.message


def test_of_three_equal_conditions_only_the_first_stays() -> None:
    _, report = lint(
        stage(
            offer(
                "gold",
                [
                    raw("segment", "is", "Gold"),
                    raw("segment", "is_one_of", ["Gold"]),
                    raw("segment", "is", "Gold"),
                ],
            )
        )
    )
    assert [f.condition for f in of_code(report, "redundant-condition")] == [2, 1]


@pytest.mark.parametrize(
    ("group", "flagged"),
    [
        ([raw("segment", "is_one_of", ["Gold", "Silver"]), raw("segment", "is", "Gold")], 0),
        ([raw("segment", "is", "Gold"), raw("segment", "is_one_of", ["Gold", "Silver"])], 1),
        ([raw("last_visit", "within_last_days", 30), raw("last_visit", "within_last_days", 7)], 0),
        ([raw("last_visit", "within_last_days", 7), raw("last_visit", "within_last_days", 30)], 1),
        (
            [raw("products", "includes_any_of", ["savings", "loan"]), raw("products", "includes", "savings")],
            0,
        ),
        (
            [raw("products", "includes", "savings"), raw("products", "includes_any_of", ["savings", "loan"])],
            1,
        ),
        ([raw("city", "is_one_of", ["Paris", "Lyon"]), raw("city", "is", "Lyon")], 0),
        ([raw("last_visit", "at_least", "2025-01-01"), raw("last_visit", "within_last_days", 7)], 0),
        ([raw("age", "between", [10, 40]), raw("age", "between", [18, 30])], 0),
    ],
    ids=[
        "one-of-beside-is",
        "is-beside-one-of",
        "30-days-beside-7",
        "7-days-beside-30",
        "any-of-beside-includes",
        "includes-beside-any-of",
        "text-one-of-beside-is",
        "absolute-date-beside-last-7-days",
        "wide-between-beside-narrow",
    ],
)
def test_the_wider_of_two_conditions_on_one_attribute_is_redundant(
    group: list[dict[str, Any]], flagged: int
) -> None:
    _, report = lint(stage(offer("o", group)))
    assert [f.condition for f in of_code(report, "redundant-condition")] == [flagged]


def test_a_condition_implied_by_two_others_together_is_redundant() -> None:
    _, report = lint(
        stage(
            offer(
                "band",
                [raw("age", "at_least", 18), raw("age", "between", [10, 40]), raw("age", "at_most", 30)],
            )
        )
    )
    [finding] = of_code(report, "redundant-condition")
    assert finding.condition == 1
    assert "Age is at least 18 years and Age is at most 30 years already implies it" in finding.message


def test_conditions_on_different_attributes_never_make_each_other_redundant() -> None:
    _, report = lint(
        stage(
            offer(
                "o",
                [
                    raw("age", "at_least", 18),
                    raw("segment", "is", "Gold"),
                    raw("vip", "is", True),
                    raw("city", "is", "Paris"),
                ],
            )
        )
    )
    assert of_code(report, "redundant-condition") == []


def test_overlapping_conditions_on_one_attribute_neither_of_which_implies_the_other_are_not_redundant() -> (
    None
):
    _, report = lint(stage(offer("o", [raw("age", "at_least", 18), raw("age", "at_most", 30)])))
    assert of_code(report, "redundant-condition") == []


def test_redundancy_is_not_asked_of_a_contradictory_group() -> None:
    _, report = lint(
        stage(offer("o", [raw("age", "at_least", 50), raw("age", "at_most", 30), raw("age", "at_least", 40)]))
    )
    assert [f.code for f in report.findings] == ["contradiction", "gap"]


def test_redundancy_is_not_asked_of_a_group_that_contradicts_the_stage_entry() -> None:
    _, report = lint(
        stage(offer("kids", [raw("age", "at_most", 17), raw("age", "at_most", 15)]), entry=[AGE_18_PLUS])
    )
    assert [f.code for f in report.findings] == ["contradiction", "gap"]


def test_a_redundant_condition_of_the_entry_names_no_offer() -> None:
    _, report = lint(
        stage(
            offer("any", AGE_18_PLUS),
            name="Loyal",
            entry=[[raw("segment", "is", "Gold")], [raw("vip", "is", True), raw("vip", "is", True)]],
        )
    )
    [finding] = of_code(report, "redundant-condition")
    assert (finding.offers, finding.part, finding.group, finding.condition) == ((), "entry", 1, 1)
    assert (
        finding.message
        == "In the entry of stage “Loyal”, “VIP is yes” adds nothing: VIP is yes already implies it."
    )


def test_a_redundant_condition_in_group_2_of_an_offer_names_the_group() -> None:
    _, report = lint(
        stage(
            offer(
                "o", [raw("segment", "is", "Gold")], [raw("age", "at_least", 21), raw("age", "at_least", 18)]
            )
        )
    )
    assert [(f.offers, f.group, f.condition) for f in of_code(report, "redundant-condition")] == [
        (("o",), 1, 1)
    ]


def test_a_condition_the_stage_entry_implies_is_not_a_redundant_condition_of_the_offer() -> None:
    # redundancy is about the group's own conditions; the entry is a different part of the board
    _, report = lint(stage(offer("adults", AGE_18_PLUS), entry=[[raw("age", "at_least", 21)]]))
    assert of_code(report, "redundant-condition") == []


# --- gap -------------------------------------------------------------------------------------------


def test_a_gap_example_is_a_customer_of_the_stage_that_no_offer_matches() -> None:
    _, report = lint(
        stage(
            offer("adults", AGE_18_PLUS),
            offer("vip", [raw("vip", "is", True)]),
            entry=[[raw("segment", "is_one_of", ["Gold", "Silver"])]],
        )
    )
    [finding] = of_code(report, "gap")
    assert finding.level == "warning"
    assert (finding.stage, finding.offers, finding.part) == ("st", (), None)
    assert finding.message == (
        "Some customers in stage “Retention” get no offer, and the stage has no fallback; the example is one "
        "of them. Add a fallback, or an offer for them."
    )
    # by hand: in the stage, and matched by neither offer
    example = finding.example
    assert example is not None
    assert example.get("segment") in ("Gold", "Silver")
    assert not (isinstance(example.get("age"), int | float) and example["age"] >= 18)
    assert example.get("vip") is not True


def test_a_customer_missing_the_attribute_is_the_gap_when_every_value_is_covered() -> None:
    _, report = lint(
        stage(offer("young", [raw("age", "at_most", 30)]), offer("old", [raw("age", "at_least", 30)]))
    )
    [finding] = of_code(report, "gap")
    assert finding.example == {}


def test_a_value_between_two_bounds_is_the_gap() -> None:
    _, report = lint(
        stage(offer("young", [raw("age", "at_most", 30)]), offer("old", [raw("age", "at_least", 31)])),
        at=AT,
    )
    [finding] = of_code(report, "gap")
    # the example prefers a real age over a missing one
    assert finding.example is not None and 30 < finding.example["age"] < 31


def test_there_is_no_gap_when_the_offers_cover_everyone_in_the_stage() -> None:
    _, report = lint(stage(offer("over_10", [raw("age", "at_least", 10)]), entry=[AGE_18_PLUS]))
    assert report.findings == ()


def test_there_is_no_gap_when_the_stage_has_a_fallback() -> None:
    _, report = lint(stage(offer("adults", AGE_18_PLUS), offer("rest", fallback=True)))
    assert of_code(report, "gap") == []


def test_a_stage_whose_every_offer_is_contradictory_is_all_gap() -> None:
    _, report = lint(
        stage(
            offer("never", [raw("vip", "is", True), raw("vip", "is", False)]),
            entry=[[raw("segment", "is", "Gold")]],
        )
    )
    assert [f.code for f in report.findings] == ["contradiction", "gap"]
    assert of_code(report, "gap")[0].example == {"segment": "Gold"}


def test_the_gap_is_reported_once_per_stage() -> None:
    _, report = lint(
        stage(offer("gold", [raw("segment", "is", "Gold")]), offer("vip", [raw("vip", "is", True)]))
    )
    assert len(of_code(report, "gap")) == 1


# --- overlap ---------------------------------------------------------------------------------------


def test_two_offers_that_can_match_one_customer_overlap_with_an_example_both_match() -> None:
    _, report = lint(stage(offer("gold", [raw("segment", "is", "Gold")]), offer("adults", AGE_18_PLUS)))
    [finding] = of_code(report, "overlap")
    assert finding.level == "info"
    assert (finding.offers, finding.part) == (("gold", "adults"), "offer")
    assert finding.example is not None
    assert finding.example["segment"] == "Gold" and finding.example["age"] >= 18
    assert finding.message == (
        "“Gold” and “Adults” can both match the same customer in stage “Retention”; “Gold” comes first, so it wins."
    )


def test_at_most_17_and_at_least_18_do_not_overlap() -> None:
    _, report = lint(stage(offer("minors", [raw("age", "at_most", 17)]), offer("adults", AGE_18_PLUS)))
    assert of_code(report, "overlap") == []


def test_at_most_18_and_at_least_18_overlap_at_18() -> None:
    _, report = lint(stage(offer("minors", [raw("age", "at_most", 18)]), offer("adults", AGE_18_PLUS)))
    [finding] = of_code(report, "overlap")
    assert finding.example == {"age": 18}


def test_dates_on_or_before_and_on_or_after_one_day_overlap_on_that_day() -> None:
    _, report = lint(
        stage(
            offer("old", [raw("last_visit", "at_most", "2025-01-01")]),
            offer("new", [raw("last_visit", "at_least", "2025-01-01")]),
        )
    )
    [finding] = of_code(report, "overlap")
    assert finding.example == {"last_visit": "2025-01-01"}


def test_overlap_is_not_reported_for_a_shadowed_or_duplicate_offer() -> None:
    _, report = lint(
        stage(
            offer("adults", AGE_18_PLUS),
            offer("over_30", [raw("age", "at_least", 30)]),
            offer("adults_again", AGE_18_PLUS),
            offer("gold", [raw("segment", "is", "Gold")]),
        )
    )
    assert [f.offers for f in of_code(report, "overlap")] == [("adults", "gold")]


def test_offers_that_meet_only_outside_the_stage_do_not_overlap() -> None:
    offers = (
        offer(
            "young", [raw("age", "at_most", 20), raw("segment", "is", "Silver")], [raw("age", "at_most", 10)]
        ),
        offer("adults", AGE_18_PLUS),
    )
    _, everyone = lint(stage(*offers))
    assert [f.offers for f in of_code(everyone, "overlap")] == [("young", "adults")]
    _, gold_only = lint(stage(*offers, entry=[[raw("segment", "is", "Gold")]]))
    assert of_code(gold_only, "overlap") == []


def test_an_overlap_through_a_second_group_is_found_and_its_example_matches_that_group() -> None:
    spec, report = lint(
        stage(
            offer(
                "gold_or_vip",
                [raw("segment", "is", "Gold")],
                [raw("vip", "is", True), raw("age", "at_most", 17)],
            ),
            offer("minors", [raw("age", "at_most", 17), raw("segment", "is", "Silver")]),
        )
    )
    [finding] = of_code(report, "overlap")
    example = finding.example
    assert example is not None
    first = spec.stages[0].offers[0]
    assert group_holds(first.groups[1], example, AT) and not group_holds(first.groups[0], example, AT)


def test_three_offers_that_all_meet_overlap_pair_by_pair_higher_first() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("vip", [raw("vip", "is", True)]),
            offer("adults", AGE_18_PLUS),
        )
    )
    assert [f.offers for f in of_code(report, "overlap")] == [
        ("gold", "vip"),
        ("gold", "adults"),
        ("vip", "adults"),
    ]


# --- empty-stage -----------------------------------------------------------------------------------


def test_a_stage_without_offers_is_an_empty_stage_and_not_a_gap() -> None:
    _, report = lint(stage(name="Advocacy"))
    [finding] = report.findings
    assert (finding.code, finding.level, finding.stage, finding.offers, finding.example, finding.part) == (
        "empty-stage",
        "warning",
        "st",
        (),
        None,
        None,
    )
    assert finding.message == "Stage “Advocacy” has no offers yet."


def test_an_empty_stage_still_gets_its_entry_linted() -> None:
    _, report = lint(stage(entry=[[raw("age", "at_least", 50), raw("age", "at_most", 30)]]))
    assert [(f.code, f.part) for f in report.findings] == [("contradiction", "entry"), ("empty-stage", None)]


# --- several stages, and the decision day ------------------------------------------------------------


def test_findings_come_stage_by_stage_in_journey_order_each_naming_its_stage() -> None:
    _, report = lint(
        stage(key="second", name="Second"),
        stage(offer("a", AGE_18_PLUS), offer("b", AGE_18_PLUS), key="first", name="First"),
        stage(key="third", name="Third"),
    )
    assert [(f.stage, f.code) for f in report.findings] == [
        ("second", "empty-stage"),
        ("first", "stage-overlap"),  # no stage has entry conditions: everyone is in all three
        ("first", "duplicate-offer"),
        ("first", "gap"),
        ("third", "stage-overlap"),
        ("third", "stage-overlap"),
        ("third", "empty-stage"),
    ]


def test_offers_in_different_stages_are_never_compared() -> None:
    _, report = lint(
        stage(offer("a", AGE_18_PLUS), offer("rest", fallback=True), key="one"),
        stage(offer("b", AGE_18_PLUS), offer("rest2", fallback=True), key="two"),
    )
    # only the stages themselves, which both let everyone in
    assert [(f.code, f.stages) for f in report.findings] == [("stage-overlap", ("one", "two"))]


def test_the_same_blueprint_linted_on_two_days_gets_different_findings_when_relative_and_absolute_dates_mix() -> (
    None
):
    group = [raw("last_visit", "within_last_days", 7), raw("last_visit", "at_least", "2025-01-01")]
    spec = blueprint(stage(offer("recent", group), offer("rest", fallback=True)))
    in_june = lint_blueprint(spec, at=dt.date(2025, 6, 15))
    a_year_before = lint_blueprint(spec, at=dt.date(2024, 6, 15))
    # in June 2025 the last 7 days all lie after new year; in June 2024 none of them does
    assert [(f.code, f.condition) for f in in_june.findings] == [("redundant-condition", 1)]
    assert [(f.code, f.group) for f in a_year_before.findings] == [("contradiction", 0)]
    assert (in_june.at, a_year_before.at) == (dt.date(2025, 6, 15), dt.date(2024, 6, 15))


def test_within_the_last_days_overlaps_an_absolute_range_only_on_the_days_they_share() -> None:
    offers = (
        offer("january", [raw("last_visit", "between", ["2025-01-01", "2025-01-31"])]),
        offer("recent", [raw("last_visit", "within_last_days", 7)]),
    )
    _, early_feb = lint(stage(*offers), at=dt.date(2025, 2, 3))
    [finding] = of_code(early_feb, "overlap")
    assert finding.example is not None and "2025-01-27" <= finding.example["last_visit"] <= "2025-01-31"
    _, june = lint(stage(*offers), at=dt.date(2025, 6, 15))
    assert of_code(june, "overlap") == []


def test_a_decision_time_is_linted_as_its_day() -> None:
    spec = blueprint(stage(offer("recent", [raw("last_visit", "within_last_days", 0)])))
    report = lint_blueprint(spec, at=dt.datetime(2025, 6, 15, 23, 59))
    assert report.at == dt.date(2025, 6, 15)
    assert of_code(report, "gap")[0].example == {"last_visit": "2025-06-14"}


def test_lint_without_a_day_answers_for_today() -> None:
    assert lint_blueprint(blueprint(stage()), at=None).at == dt.date.today()


# --- the report as JSON ----------------------------------------------------------------------------


def test_the_report_as_json_sorts_findings_by_level_with_every_field() -> None:
    _, report = lint(
        stage(
            offer("gold", [raw("segment", "is", "Gold")]),
            offer("adults", [raw("age", "at_least", 18), raw("age", "at_least", 21)]),
            offer("never", [raw("vip", "is", True), raw("vip", "is", False)]),
        )
    )
    data = report.as_json()
    assert set(data) == {"at", "errors", "warnings", "infos", "complete", "not_listed", "steps"}
    assert data["at"] == "2025-06-15"
    assert data["complete"] is True and data["not_listed"] == []
    assert [f["code"] for f in data["errors"]] == ["contradiction"]
    assert [f["code"] for f in data["warnings"]] == ["redundant-condition", "gap"]
    assert [f["code"] for f in data["infos"]] == ["overlap"]
    fields = {
        "code",
        "level",
        "message",
        "stage",
        "offers",
        "example",
        "part",
        "group",
        "condition",
        "check",
        "stages",
        "day",
    }
    for level, key in (("error", "errors"), ("warning", "warnings"), ("info", "infos")):
        for finding in data[key]:
            assert set(finding) == fields
            assert finding["level"] == level
            assert isinstance(finding["offers"], list)
    assert data["warnings"][0] | {"message": None} == {
        "code": "redundant-condition",
        "level": "warning",
        "message": None,
        "stage": "st",
        "offers": ["adults"],
        "example": None,
        "part": "offer",
        "group": 0,
        "condition": 0,
        "check": None,
        "stages": [],
        "day": None,
    }
    overlap = data["infos"][0]
    assert overlap["offers"] == ["gold", "adults"] and isinstance(overlap["example"], dict)
    assert json.loads(json.dumps(data)) == data


def test_the_report_keeps_errors_warnings_and_infos_apart_by_code() -> None:
    assert LEVELS == {
        "contradiction": "error",
        "duplicate-offer": "error",
        "shadowed-offer": "error",
        "fallback-invalid": "error",
        "redundant-condition": "warning",
        "gap": "warning",
        "empty-stage": "warning",
        "overlap": "info",
        "stage-overlap": "warning",
        "stage-unreachable": "error",
        "unchecked": "error",
    }
    report = LintReport(
        at=AT,
        findings=(
            *(Finding(code=code, message=code, stage="st") for code in LEVELS),
            Finding(code="unchecked", message="gap", stage="st", check="gap"),
        ),
    )
    assert [f.code for f in report.errors] == [
        "contradiction",
        "duplicate-offer",
        "shadowed-offer",
        "fallback-invalid",
        "stage-unreachable",
        "unchecked",
    ]
    # a check that did not finish has the level of the check
    assert [(f.code, f.check) for f in report.warnings] == [
        ("redundant-condition", None),
        ("gap", None),
        ("empty-stage", None),
        ("stage-overlap", None),
        ("unchecked", "gap"),
    ]
    assert [f.code for f in report.infos] == ["overlap"]


def test_an_example_with_a_set_is_a_json_list() -> None:
    _, report = lint(
        stage(
            offer("savers", [raw("products", "includes", "savings")]),
            offer("borrowers", [raw("products", "includes", "loan")]),
        )
    )
    [overlap] = report.as_json()["infos"]
    assert sorted(overlap["example"]["products"]) == ["loan", "savings"]


# --- the spec from JSON ------------------------------------------------------------------------------


def test_spec_from_json_builds_the_catalog_stages_and_offers_in_order() -> None:
    spec = spec_from_json(
        {
            "attributes": [
                {"key": "segment", "label": "Segment", "type": "choice", "choices": ["Gold", "Silver"]},
                {"key": "age", "type": "number", "unit": "years", "kind": "attribute"},
            ],
            "stages": [
                {
                    "key": "b",
                    "name": "B",
                    "offers": [{"key": "x"}, {"key": "rest", "name": "Rest", "fallback": True}],
                },
                {
                    "key": "a",
                    "entry": [[{"attribute": "age", "operator": "at_least", "value": "18"}]],
                    "offers": [
                        {
                            "key": "y",
                            "groups": [
                                [{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Gold"]}]
                            ],
                        }
                    ],
                },
            ],
        }
    )
    assert spec.catalog["segment"] == AttributeSpec(
        key="segment", label="Segment", type="choice", choices=("Gold", "Silver")
    )
    assert spec.catalog["age"].label == "age" and spec.catalog["age"].unit == "years"
    assert [s.key for s in spec.stages] == ["b", "a"]
    assert spec.stages[0] == StageSpec(
        key="b",
        name="B",
        offers=(OfferSpec(key="x", name="x"), OfferSpec(key="rest", name="Rest", fallback=True)),
    )
    assert spec.stages[1].name == "a"
    [[entry]] = spec.stages[1].entry
    assert (entry.attribute, entry.operator, entry.value) == ("age", "at_least", 18)
    [[condition]] = spec.stages[1].offers[0].groups
    assert condition.value == ["Gold"]


@pytest.mark.parametrize(
    ("stage_json", "path"),
    [
        (
            {
                "key": "s",
                "offers": [{"key": "ok"}, {"key": "bad", "groups": [[raw("segment", "is_not", "Gold")]]}],
            },
            "stages[0].offers[1].groups[0][0].operator",
        ),
        (
            {"key": "s", "offers": [{"key": "bad", "groups": [[raw("segment", "is", "Diamond")]]}]},
            "stages[0].offers[0].groups[0][0].value",
        ),
        ({"key": "s", "entry": [[raw("height", "at_least", 2)]]}, "stages[0].entry[0][0].attribute"),
        ({"key": "s", "entry": [[raw("age", "between", [30, 18])]]}, "stages[0].entry[0][0].value"),
        ({"key": "s", "offers": [{"key": "bad", "groups": [[]]}]}, "stages[0].offers[0].groups[0]"),
    ],
    ids=["negative-operator", "not-a-choice", "unknown-attribute", "between-backwards", "empty-group"],
)
def test_spec_from_json_refuses_a_bad_condition_naming_its_field(
    stage_json: dict[str, Any], path: str
) -> None:
    with pytest.raises(ConditionProblems) as refused:
        spec_from_json({"attributes": ATTRIBUTES, "stages": [stage_json]})
    assert path in refused.value.problems


def test_spec_from_json_builds_the_catalog_the_hand_checks_use() -> None:
    assert blueprint().catalog == CATALOG


# A text attribute with a closed list of allowed values: the catalog form asks for "Allowed values"
# ("Required for a choice; none for number, boolean or date"), the condition editor then offers a
# select, and the validator refuses any other value (conditions._normalize_scalar).
CLOSED_CHANNEL = AttributeSpec(key="channel", label="Channel", type="text", choices=("web", "app", "email"))
CLOSED_CATALOG = {"channel": CLOSED_CHANNEL}


def closed_groups(groups: list[list[dict[str, Any]]]) -> Any:
    return parse_groups(groups, CLOSED_CATALOG)


def test_a_gap_example_on_a_text_attribute_with_allowed_values_is_one_of_them() -> None:
    # closed like a choice: the example is a customer the decide API takes ("app" or "email"),
    # not "any other text"
    web = closed_groups([[{"attribute": "channel", "operator": "is", "value": "web"}]])
    spec = BlueprintSpec(
        catalog=CLOSED_CATALOG,
        stages=(
            StageSpec(
                key="s",
                name="Stage",
                offers=(OfferSpec(key="web_offer", name="Web offer", groups=web),),
            ),
        ),
    )
    (gap,) = [f for f in lint_blueprint(spec, at=dt.date(2025, 6, 15)).findings if f.code == "gap"]
    assert gap.example is not None
    assert is_valid_profile(gap.example, CLOSED_CATALOG), gap.example
    assert gap.example.get("channel") in (None, "app", "email")


# --- Offers with dates (issue 16): the decision day is a dimension of its own -------------------


def _dated(
    key: str, conditions: list[dict[str, Any]], starts: str | None = None, ends: str | None = None, **kw: Any
) -> dict[str, Any]:
    return {**offer(key, *([conditions] if conditions else []), **kw), "starts_on": starts, "ends_on": ends}


def test_a_dated_offer_does_not_shadow_the_offer_it_leaves_free_outside_its_days() -> None:
    _, report = lint(
        stage(
            _dated("summer", [raw("age", "at_least", 18)], "2025-07-01", "2025-07-31"),
            offer("adults", [raw("age", "at_least", 18)]),
        )
    )
    assert not [f for f in report.findings if f.code in ("shadowed-offer", "duplicate-offer")]
    (overlap,) = [f for f in report.findings if f.code == "overlap"]
    assert overlap.offers == ("summer", "adults") and overlap.day == "2025-07-01"
    assert "Example day: 1 July 2025." in overlap.message


def test_an_undated_offer_above_still_shadows_a_dated_one_on_every_day() -> None:
    _, report = lint(
        stage(
            offer("adults", [raw("age", "at_least", 18)]),
            _dated("summer", [raw("age", "at_least", 21)], "2025-07-01"),
        )
    )
    (shadowed,) = [f for f in report.findings if f.code == "shadowed-offer"]
    assert shadowed.offers == ("summer", "adults") and shadowed.day == "2025-07-01"


def test_a_dated_fallback_leaves_a_gap_on_the_days_it_is_not_shown() -> None:
    _, report = lint(
        stage(
            offer("adults", [raw("age", "at_least", 18)]),
            _dated("hello", [], None, "2025-12-31", fallback=True),
        )
    )
    (gap,) = [f for f in report.findings if f.code == "gap"]
    assert gap.day == "2026-01-01" and gap.example == {"age": 17}
    assert "its fallback “Hello” is not shown (until 31 December 2025)" in gap.message
    assert [f.code for f in report.findings] == ["gap"]  # and nothing about the fallback as an offer
    _, covered = lint(stage(offer("adults", [raw("age", "at_least", 18)]), offer("hello", fallback=True)))
    assert not covered.findings


def test_offers_that_take_turns_by_date_leave_no_gap() -> None:
    _, report = lint(
        stage(
            _dated("first_half", [], None, "2025-06-30"),
            _dated("second_half", [], "2025-07-01"),
        )
    )
    assert not report.findings
