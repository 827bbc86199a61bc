"""Laws of the engine on random blueprints and profiles (Hypothesis), against the plain reference
evaluator of tests/decisioning/oracle.py:

- the compiled Python (from JSON values and from CSV cells) and the explained path decide exactly as
  the reference does, for every stage and for each stage asked alone, dates and missing values
  included;
- "why not": every suggested change really gets its offer chosen, no change of fewer attributes
  would, and an offer called impossible is given to no customer at all.

The SQL/DuckDB path is held to the same reference in test_sql.py.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisioning.conditions import parse_condition
from decisioning.engine import compile_snapshot
from tests.decisioning.oracle import AT, CATALOG, candidate_values, profiles, reference_decide, snapshots

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def as_csv_cells(profile: dict[str, Any], flavour: int) -> dict[str, str]:
    """The profile as CSV cells, booleans and numbers written in the several accepted ways."""
    cells: dict[str, str] = {}
    for key, value in profile.items():
        if isinstance(value, bool):
            cells[key] = [("true", "false"), ("yes", "no"), ("1", "0"), ("TRUE", "No")][flavour % 4][
                0 if value else 1
            ]
        elif isinstance(value, list):
            cells[key] = "|".join(value) if flavour % 2 else " | ".join(value)
        elif isinstance(value, int | float):
            cells[key] = repr(value) if flavour % 2 else f" {value} "
        elif key == "last_visit" and flavour % 3 == 0:
            cells[key] = value + "T08:30:00Z"
        else:
            cells[key] = str(value)
    return cells


def decisions(body: Any) -> list[dict[str, Any]]:
    """The answers without their explanations."""
    return [{k: v for k, v in d.as_json().items() if k != "explain"} for d in body.decisions]


@FAST
@given(snapshot=snapshots(), profile=profiles(), flavour=st.integers(0, 11))
def test_the_compiled_engine_decides_as_the_reference_does(snapshot, profile, flavour):
    engine = compile_snapshot(snapshot, {"number": 1})
    expected = reference_decide(snapshot, profile, AT)
    assert decisions(engine.decide(profile, at=AT)) == expected
    assert decisions(engine.decide(profile, at=AT, explain=True)) == expected
    assert decisions(engine.decide(as_csv_cells(profile, flavour), at=AT, csv=True)) == expected
    for stage in snapshot["stages"]:
        alone = reference_decide(snapshot, profile, AT, stage=stage["key"])
        assert decisions(engine.decide(profile, stage=stage["key"], at=AT)) == alone
        assert decisions(engine.decide(profile, stage=stage["key"], at=AT, explain=True)) == alone


def _gets(snapshot: dict[str, Any], profile: dict[str, Any], stage: str, offer: str) -> bool:
    answer = reference_decide(snapshot, profile, AT, stage=stage)
    return bool(answer) and answer[0]["entered"] and answer[0]["offer"] == offer


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot=snapshots(max_stages=2, max_offers=3), profile=profiles())
def test_why_not_suggests_a_smallest_change_that_really_gets_the_offer(snapshot, profile):
    engine = compile_snapshot(snapshot, {"number": 1})
    body = engine.decide(profile, at=AT, explain=True).as_json()
    for decision in body["decisions"] + body["skipped"]:
        stage_key = decision["stage"]
        position = next(i for i, s in enumerate(snapshot["stages"]) if s["key"] == stage_key)
        raw_stage = snapshot["stages"][position]
        # one stage each: the earlier stages' entries decide too whether the customer gets here
        earlier = snapshot["stages"][:position] if snapshot["blueprint"]["stage_mode"] == "one" else []
        conditions = [
            parse_condition(c, CATALOG)
            for groups in [raw_stage.get("entry") or [], *(s.get("entry") or [] for s in earlier)]
            + [o.get("groups") or [] for o in raw_stage["offers"] if not o.get("fallback")]
            for g in groups
            for c in g
        ]
        keys = sorted({c.attribute for c in conditions})
        columns = {
            key: candidate_values(CATALOG[key], [c for c in conditions if c.attribute == key], AT)
            for key in keys
        }
        for outcome in decision["explain"]["offers"]:
            why = outcome["why_not"]
            if outcome["chosen"]:
                assert why is None
                continue
            offer_key = outcome["offer"]
            if not why["possible"]:
                # no customer at all gets it: every kind of customer, exhaustively
                for row in itertools.product(*columns.values()):
                    candidate = {k: v for k, v in zip(keys, row, strict=True) if v is not None}
                    assert not _gets(snapshot, candidate, stage_key, offer_key), candidate
                continue
            changed = {**profile}
            for key, value in why["change"].items():
                if value is None:
                    changed.pop(key, None)
                else:
                    changed[key] = value
            assert _gets(snapshot, changed, stage_key, offer_key), (why, changed)
            assert why["change"], "a change was needed: the offer was not chosen"
            # nothing smaller works: try every change of fewer attributes (up to one fewer than two)
            for size in range(min(len(why["change"]), 2)):
                for subset in itertools.combinations(keys, size):
                    for row in itertools.product(*(columns[k] for k in subset)):
                        candidate = {**profile}
                        for key, value in zip(subset, row, strict=True):
                            if value is None:
                                candidate.pop(key, None)
                            else:
                                candidate[key] = value
                        assert not _gets(snapshot, candidate, stage_key, offer_key), (subset, row, why)
