"""The DMN 1.3 export (blueprint/exports/dmn.py): valid DMN 1.3 for bpmn-io's dmn-moddle, and its
decision tables, evaluated as FEEL by feelin, pick the offers the reference evaluator picks.

tests/blueprint/dmn_check.mjs reads the XML with dmn-moddle (no warnings allowed: an unknown
element, attribute or duplicate id is one) and evaluates every rule's input entries as FEEL unary
tests with feelin; the first matching rule of each stage's FIRST table is its answer. Profiles: the
acceptance cases of the blueprint and random ones from the oracle's candidate grid.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from blueprint.exports.dmn import DMN, dmn_xml, unary_test
from tests.blueprint.export_blueprints import (
    dmn_evaluate,
    node_available,
    profiles_for,
    snapshots,
    subject_of,
)
from tests.decisioning import oracle

pytestmark = pytest.mark.skipif(not node_available(), reason="needs node and npm ci (dmn-moddle, feelin)")

RANDOM_PROFILES = 25


def check_dmn(snapshot: dict[str, Any], seed: int) -> None:
    subject = subject_of(snapshot)
    xml = dmn_xml(subject)
    profiles = profiles_for(subject, random.Random(seed), RANDOM_PROFILES)
    answer = dmn_evaluate(xml, subject, profiles)
    assert answer["warnings"] == []
    assert answer["feelErrors"] == []
    for profile, result in zip(profiles, answer["results"], strict=True):
        for stage in subject.snapshot["stages"]:
            expected = oracle.decide_stage(subject.snapshot, stage["key"], profile, subject.at)
            got = result[f"decision.{stage['key']}"]
            if not expected["eligible"] or expected["offer"] is None:
                assert got is None, (stage["key"], profile)
            else:
                assert got == {"offer": expected["offer"], "fallback": expected["fallback"]}, (
                    stage["key"],
                    profile,
                )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots(max_stages=3, max_offers=4))
def test_the_dmn_tables_pick_the_offers_the_reference_evaluator_picks(snapshot: dict[str, Any]) -> None:
    check_dmn(snapshot, seed=len(str(snapshot)))


def test_each_stage_is_a_first_table_with_its_entry_as_a_required_decision() -> None:
    r = oracle.raw
    snapshot = {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "DMN"},
        "attributes": [
            {"key": "segment", "label": "Segment", "type": "choice", "choices": ["Bronze", "Gold"]},
            {"key": "last-visit", "label": "Last visit", "type": "date"},
            {"key": "products", "label": "Products", "type": "set"},
        ],
        "stages": [
            {
                "key": "welcome",
                "name": "Welcome",
                "entry": [[r("segment", "is_one_of", ["Bronze", "Gold"])]],
                "offers": [
                    {
                        "key": "gold",
                        "name": "Gold",
                        "groups": [[r("segment", "is", "Gold")], [r("last-visit", "within_last_days", 7)]],
                    },
                    {
                        "key": "saver",
                        "name": "Saver",
                        "groups": [[r("products", "includes_any_of", ["savings", "isa"])]],
                    },
                    {"key": "hello", "name": "Hello", "fallback": True, "groups": []},
                ],
            }
        ],
    }
    subject = subject_of(snapshot)
    root = ET.fromstring(dmn_xml(subject))
    assert root.tag == f"{{{DMN}}}definitions"
    decisions = {d.get("id"): d for d in root.iter(f"{{{DMN}}}decision")}
    assert set(decisions) == {"entry.welcome", "decision.welcome"}
    table = decisions["decision.welcome"].find(f"{{{DMN}}}decisionTable")
    assert table is not None and table.get("hitPolicy") == "FIRST"
    required = [e.get("href") for e in decisions["decision.welcome"].iter(f"{{{DMN}}}requiredDecision")]
    assert required == ["#entry.welcome"]
    inputs = [i.findtext(f"{{{DMN}}}inputExpression/{{{DMN}}}text") for i in table.iter(f"{{{DMN}}}input")]
    assert inputs == ["stage_welcome_entry", "a_segment", "a_last_D_visit", "a_products"]
    rules = [
        [e.findtext(f"{{{DMN}}}text") for e in rule.iter(f"{{{DMN}}}outputEntry")]
        for rule in table.iter(f"{{{DMN}}}rule")
    ]
    # one rule per group, in priority order, the fallback last
    assert rules == [['"gold"', "false"], ['"gold"', "false"], ['"saver"', "false"], ['"hello"', "true"]]
    check_dmn(snapshot, seed=1)


def test_unary_tests_read_as_feel() -> None:
    assert unary_test(oracle.cond("age", "between", [18, 30]), "number") == "[18..30]"
    assert unary_test(oracle.cond("segment", "is_one_of", ["Gold", "Silver"]), "choice") == '"Gold","Silver"'
    assert unary_test(oracle.cond("last_visit", "at_least", "2025-01-01"), "date") == '>= date("2025-01-01")'
    assert unary_test(oracle.cond("city", "is", 'Say "hi"'), "text") == '"Say \\"hi\\""'


def test_an_offers_days_are_a_feel_range_on_the_decision_day_and_decide_as_the_reference() -> None:
    """Issue 16: outside its days an offer is not eligible, in DMN too."""
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
                        "key": "summer",
                        "name": "Summer",
                        "groups": [[r("age", "at_least", 18)]],
                        "starts_on": "2025-06-16",
                        "ends_on": "2025-08-31",
                    },
                    {"key": "spring", "name": "Spring", "groups": [], "ends_on": "2025-06-15"},
                    {
                        "key": "hello",
                        "name": "Hello",
                        "fallback": True,
                        "groups": [],
                        "starts_on": "2025-06-16",
                    },
                ],
            }
        ],
    }
    xml = dmn_xml(subject_of(snapshot)).decode()
    assert '<text>[date("2025-06-16")..date("2025-08-31")]</text>' in xml
    assert '<text>&lt;= date("2025-06-15")</text>' in xml and '<text>&gt;= date("2025-06-16")</text>' in xml
    for day in (oracle.AT, oracle.AT.replace(day=16), oracle.AT.replace(month=9)):
        subject = subject_of(snapshot, at=day)
        profiles = [{"age": 30}, {"age": 10}, {}]
        answer = dmn_evaluate(dmn_xml(subject), subject, profiles)
        assert answer["warnings"] == [] and answer["feelErrors"] == []
        for profile, result in zip(profiles, answer["results"], strict=True):
            expected = oracle.decide_stage(subject.snapshot, "s", profile, day)
            got = result["decision.s"]
            assert got == (
                {"offer": expected["offer"], "fallback": expected["fallback"]} if expected["offer"] else None
            ), (day, profile)


def test_the_dmn_keeps_its_prefixes_after_a_pdf_was_printed_in_the_process() -> None:
    # WeasyPrint registers "" and "dc" in ElementTree's global registry when it first prints
    import weasyprint.pdf.metadata  # noqa: F401

    ET.register_namespace("", "")
    ET.register_namespace("dc", "http://purl.org/dc/elements/1.1/")
    snapshot = {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "Prefixes"},
        "attributes": oracle.ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "entry": [],
                "offers": [{"key": "a", "name": "A", "groups": [[oracle.raw("age", "at_least", 18)]]}],
            }
        ],
    }
    xml = dmn_xml(subject_of(snapshot)).decode()
    assert "<definitions " in xml and "ns0:" not in xml and "<dc:Bounds" in xml
