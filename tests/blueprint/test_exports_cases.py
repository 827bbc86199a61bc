"""Acceptance test cases (blueprint/exports/cases.py) against the reference evaluator.

Every generated case, run through ``oracle.decide_stage`` (the decision rule read literally), gets the
answer it expects; every offer that can be shown has a case and every one without a case is one
the lint says is never shown; a gap's case gets nothing. Random blueprints come from
``export_blueprints.snapshots``. (The lead adds the same check against the real decide API.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings

from blueprint.exports.cases import ON_ANOTHER_DAY, acceptance_cases, cases_json
from tests.blueprint.export_blueprints import snapshots, subject_of
from tests.decisioning import oracle

_NOT_SHOWN = "” not shown, on "  # a case of the day after (or before) an offer's days


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_cases(snapshot: dict[str, Any]) -> None:
    subject = subject_of(snapshot)
    found = acceptance_cases(subject)
    normalized = subject.snapshot
    for case in found.cases:
        day = dt.date.fromisoformat(case.day) if case.day else subject.at  # an offer's dates: its day
        got = oracle.decide_stage(normalized, case.stage, case.profile, day)
        if case.earlier is not None:  # one stage each: its entry holds, and an earlier stage's first
            (answer,) = oracle.reference_decide(normalized, case.profile, day, stage=case.stage)
            assert answer.get("earlier") == case.earlier, case
        assert got["eligible"] is (case.earlier is None), case
        assert {"stage": got["stage"], "offer": got["offer"], "fallback": got["fallback"]} == {
            "stage": case.stage,
            "offer": case.offer,
            "fallback": case.fallback,
        }, case
        assert oracle.is_valid_profile(case.profile, subject.spec.catalog)
    never_shown = {
        f.offers[0] for f in subject.lint.findings if f.code in ("shadowed-offer", "duplicate-offer")
    }
    contradicted = {f.offers[0] for f in subject.lint.findings if f.code == "contradiction" and f.offers}
    closed = {f.stage for f in subject.lint.findings if f.code == "contradiction" and f.part == "entry"}
    closed |= {f.stage for f in subject.lint.findings if f.code == "stage-unreachable"}
    with_case = {c.offer for c in found.cases if c.offer and _NOT_SHOWN not in c.name}
    for stage in normalized["stages"]:
        for offer in stage["offers"]:
            if offer.get("fallback"):
                continue
            key = offer["key"]
            skipped = key in {s.offer for s in found.skipped}
            assert (key in with_case) != skipped, key
            if skipped:
                # no case only when the lint says no one ever gets it
                reason = next(s.reason for s in found.skipped if s.offer == key)
                assert (
                    key in never_shown
                    or key in contradicted
                    or stage["key"] in closed
                    or (reason == ON_ANOTHER_DAY)
                ), key
    gaps = {f.stage for f in subject.lint.findings if f.code == "gap"}
    on_other_days = {
        f.stage for f in subject.lint.findings if f.code == "gap" and f.day not in (None, str(subject.at))
    }
    assert (
        gaps - on_other_days
        <= {c.stage for c in found.cases if c.offer is None and c.earlier is None and "(gap)" in c.name}
        <= gaps
    )


@PROPERTY
@given(snapshots())
def test_every_generated_case_gets_what_it_expects_from_the_reference_evaluator(
    snapshot: dict[str, Any],
) -> None:
    check_cases(snapshot)


def test_a_case_per_offer_shown_one_for_the_fallback_and_one_for_a_gap() -> None:
    r = oracle.raw
    snapshot = {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "Cases"},
        "attributes": [
            {"key": "age", "label": "Age", "type": "number"},
            {"key": "vip", "label": "VIP", "type": "boolean"},
        ],
        "stages": [
            {
                "key": "one",
                "name": "One",
                "entry": [[r("age", "at_least", 18)]],
                "offers": [
                    {"key": "older", "name": "Older", "groups": [[r("age", "at_least", 60)]]},
                    {"key": "hidden", "name": "Hidden", "groups": [[r("age", "at_least", 70)]]},
                    {"key": "vips", "name": "VIPs", "groups": [[r("vip", "is", True)]]},
                    {"key": "everyone", "name": "Say hello", "fallback": True, "groups": []},
                ],
            },
            {
                "key": "two",
                "name": "Two",
                "entry": [],
                "offers": [{"key": "young", "name": "Young", "groups": [[r("age", "at_most", 25)]]}],
            },
        ],
    }
    subject = subject_of(snapshot, at=dt.date(2025, 6, 30))
    found = acceptance_cases(subject)
    assert [(c.stage, c.offer, c.fallback) for c in found.cases] == [
        ("one", "older", False),
        ("one", "vips", False),
        ("one", "everyone", True),
        ("two", "young", False),
        ("two", None, False),
    ]
    assert [(s.offer, "shadowed-offer" in s.reason) for s in found.skipped] == [("hidden", True)]
    check_cases(snapshot)
    data = cases_json(subject, found)
    first = data["cases"][0]
    assert first["request"] == {
        "profile": found.cases[0].profile,
        "stage": "one",
        "at": "2025-06-30",
        "version": "draft",
    }
    assert first["expect"] == {"stage": "one", "offer": "older", "fallback": False}
    assert data["skipped"][0]["offer"] == "hidden"


def test_a_dated_offer_gets_cases_on_both_sides_of_its_days() -> None:
    """Issue 16: a case on a day it is shown, and the same customer the day after it ends."""
    r = oracle.raw
    snapshot = {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "Dated", "context": "", "channels": [], "description": ""},
        "attributes": oracle.ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "entry": [],
                "offers": [
                    {
                        "key": "gold",
                        "name": "Gold",
                        "groups": [[r("segment", "is", "Gold")]],
                        "starts_on": "2025-07-01",
                        "ends_on": "2025-07-31",
                    },
                    {"key": "hello", "name": "Hello", "fallback": True, "groups": []},
                ],
            }
        ],
    }
    subject = subject_of(snapshot, at=dt.date(2025, 6, 15))
    cases = {c.name: c for c in acceptance_cases(subject).cases}
    shown = cases["S: “Gold” (priority 1), on 1 July 2025"]
    assert (shown.offer, shown.day, shown.profile) == ("gold", "2025-07-01", {"segment": "Gold"})
    after = cases["S: “Gold” not shown, on 1 August 2025"]
    assert (after.offer, after.fallback, after.day, after.profile) == (
        "hello",
        True,
        "2025-08-01",
        {"segment": "Gold"},
    )
    assert "ended on 31 July 2025" in after.why
    requests = {c["name"]: c["request"]["at"] for c in cases_json(subject)["cases"]}
    assert requests["S: “Gold” not shown, on 1 August 2025"] == "2025-08-01"
    assert requests["S: the fallback “Hello”"] == "2025-06-15"
