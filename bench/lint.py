"""``make bench``: the exact lint of a big blueprint, and how it grows with the offers per stage.

Generates, as a pure ``BlueprintSpec`` (no database; conditions validated by ``spec_from_json``
as the editor would), a blueprint of 20 stages of 25 offers with 4 conditions each over a catalog
of 12 attributes of every type: thresholds drawn from a few realistic values per attribute, most
offers one group of four conditions on different attributes, some two groups of two; about half
the stages have entry conditions and about a third end with a fallback. Then measures:

- ``lint_blueprint`` of that blueprint on a fixed decision day (goal: median and p95 under 200 ms);
- the same lint with 10, 25, 50 and 100 offers per stage (20 stages each, generated alike), each
  against the 10-offer blueprint measured in the same run: the growth of the time beside the
  growth of the offers (pairs of offers, and so overlap findings, grow with the square).

Then the heaviest lint and "why not" the limits of the input allow (issue 14 §2), each against the
code before the budgets (commit ``BEFORE``, run in a subprocess on the sizes it can finish):

- ``worst_case_blueprint()``: one stage at the limits — 100 offers of 10 groups of 20 conditions,
  10 entry groups of 20, over 200 attributes (see its docstring for why that shape is the
  heaviest) — linted (goal: under ``WORST_GOAL_S``) and explained for ``worst_case_profile()``
  (goal: under ``WORST_GOAL_S``; the version compiled first, as a cache would hold it, its time
  reported beside), with the steps each took of its budget and what it left unchecked;
- the reported cases: the lint of one 400-offer stage of three groups of three ``between``
  conditions over six numbers, and the explanation of 50 such offers, now and before.
- ``--whole-blueprint``: the same at the whole-blueprint limit (10 such stages, 1,000 offers):
  reported, no goal (the time of reading and checking its conditions, and the size of its
  explanation, are said beside).

Prints a table and writes it as JSON through bench/report.py to ``bench/results/lint.json``.
Exit status: 0 when the goals are met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import report_write  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisioning.budget import Budget  # noqa: E402  (after the path is set)
from decisioning.engine import EXPLAIN_STEPS, compile_snapshot  # noqa: E402
from decisioning.lint import LINT_STEPS, LintReport, lint_blueprint  # noqa: E402
from decisioning.model import BlueprintSpec, spec_from_json  # noqa: E402

STAGES = 20
OFFERS_PER_STAGE = 25
CONDITIONS_PER_OFFER = 4
SCALING = (10, 25, 50, 100)
GOAL_MS = 200.0
AT = dt.date(2025, 6, 30)  # a fixed decision day, so runs on different days lint the same thing

# The limits of the input (issue 14 §2: one table, decisioning/limits.py, kept by another part of the
# work; the same numbers here until it lands).
LIMIT_STAGES = 50
LIMIT_OFFERS_PER_STAGE = 100
LIMIT_OFFERS = 1000
LIMIT_ATTRIBUTES = 200
LIMIT_CHOICES = 200
LIMIT_GROUPS = 10
LIMIT_CONDITIONS = 20
LIMIT_VALUES = 200
WORST_GOAL_S = 2.0
BEFORE = "50a0bb9"  # the code before the budgets, measured beside them
BEFORE_TIMEOUT_S = 120

PRODUCTS = [
    "current_account",
    "savings",
    "credit_card",
    "mortgage",
    "personal_loan",
    "investments",
    "pension",
]
CITIES = ["Dublin", "Cork", "Galway", "Limerick", "Waterford", "Sligo", "Kilkenny"]

# The catalog, each attribute with the few values people actually write conditions with.
CATALOG: list[dict[str, Any]] = [
    {
        "key": "segment",
        "label": "Segment",
        "type": "choice",
        "choices": ["Student", "Standard", "Premier", "Private"],
    },
    {"key": "age", "label": "Age", "type": "number", "unit": "years", "values": [18, 25, 30, 40, 50, 65]},
    {
        "key": "tenure_months",
        "label": "Customer for",
        "type": "number",
        "unit": "months",
        "values": [3, 6, 12, 24, 60],
    },
    {
        "key": "balance",
        "label": "Total balance",
        "type": "number",
        "unit": "EUR",
        "values": [500, 1000, 5000, 10000, 50000, 100000],
    },
    {"key": "products", "label": "Products held", "type": "set", "choices": PRODUCTS},
    {"key": "opened_on", "label": "Account opened", "type": "date"},
    {"key": "last_login", "label": "Last login", "kind": "behaviour", "type": "date"},
    {
        "key": "visits_30d",
        "label": "Visits in the last 30 days",
        "kind": "behaviour",
        "type": "number",
        "values": [1, 3, 5, 10],
    },
    {"key": "has_app", "label": "Uses the app", "kind": "behaviour", "type": "boolean"},
    {"key": "newsletter", "label": "Reads the newsletter", "kind": "behaviour", "type": "boolean"},
    {
        "key": "channel",
        "label": "Channel",
        "kind": "context",
        "type": "choice",
        "choices": ["web", "app", "email", "branch"],
    },
    {"key": "city", "label": "City", "kind": "context", "type": "text"},
]
OPENED_ON = ["2015-01-01", "2020-01-01", "2023-01-01", "2024-06-01", "2025-01-01"]
DAYS = [7, 14, 30, 90]


def condition(rng: random.Random, attribute: dict[str, Any]) -> dict[str, Any]:
    """A valid condition on ``attribute``, of an operator its type allows, with a realistic value."""
    key, kind = attribute["key"], attribute["type"]
    if kind == "choice":
        choices = attribute["choices"]
        if rng.random() < 0.4:
            return {"attribute": key, "operator": "is", "value": rng.choice(choices)}
        return {"attribute": key, "operator": "is_one_of", "value": rng.sample(choices, rng.randint(2, 3))}
    if kind == "number":
        values = attribute["values"]
        operator = rng.choice(["at_least", "at_least", "at_most", "between"])
        if operator == "between":
            low, high = sorted(rng.sample(values, 2))
            return {"attribute": key, "operator": operator, "value": [low, high]}
        return {"attribute": key, "operator": operator, "value": rng.choice(values)}
    if kind == "date":
        if key == "last_login" or rng.random() < 0.3:
            return {"attribute": key, "operator": "within_last_days", "value": rng.choice(DAYS)}
        if rng.random() < 0.3:
            low, high = sorted(rng.sample(OPENED_ON, 2))
            return {"attribute": key, "operator": "between", "value": [low, high]}
        return {
            "attribute": key,
            "operator": rng.choice(["at_least", "at_most"]),
            "value": rng.choice(OPENED_ON),
        }
    if kind == "boolean":
        return {"attribute": key, "operator": "is", "value": rng.random() < 0.7}
    if kind == "set":
        if rng.random() < 0.5:
            return {"attribute": key, "operator": "includes", "value": rng.choice(PRODUCTS)}
        return {"attribute": key, "operator": "includes_any_of", "value": rng.sample(PRODUCTS, 2)}
    if rng.random() < 0.5:
        return {"attribute": key, "operator": "is", "value": rng.choice(CITIES)}
    return {"attribute": key, "operator": "is_one_of", "value": rng.sample(CITIES, 2)}


def offer_groups(rng: random.Random) -> list[list[dict[str, Any]]]:
    """Four conditions: one group on four attributes, or (one offer in five) two groups of two."""
    if rng.random() < 0.2:
        return [[condition(rng, a) for a in rng.sample(CATALOG, 2)] for _ in range(2)]
    return [[condition(rng, a) for a in rng.sample(CATALOG, CONDITIONS_PER_OFFER)]]


def blueprint_json(rng: random.Random, *, stages: int, offers_per_stage: int) -> dict[str, Any]:
    """The blueprint in the board's JSON form: ``spec_from_json`` validates it into a spec."""
    attributes = [{k: v for k, v in a.items() if k != "values"} for a in CATALOG]
    out = []
    for s in range(stages):
        entry = []
        if rng.random() < 0.5:
            entry = [[condition(rng, a) for a in rng.sample(CATALOG, rng.randint(1, 2))]]
        fallback = rng.random() < 0.35
        offers: list[dict[str, Any]] = [
            {
                "key": f"offer_{s:02d}_{o:03d}",
                "name": f"Offer {o + 1} of stage {s + 1}",
                "groups": offer_groups(rng),
            }
            for o in range(offers_per_stage - (1 if fallback else 0))
        ]
        if fallback:
            offers.append(
                {"key": f"fallback_{s:02d}", "name": f"Fallback of stage {s + 1}", "fallback": True}
            )
        out.append({"key": f"stage_{s:02d}", "name": f"Stage {s + 1}", "entry": entry, "offers": offers})
    return {"attributes": attributes, "stages": out}


# --- The heaviest the limits allow -------------------------------------------------------------------

WORST_CHOICES = [f"choice {i:03d}" for i in range(LIMIT_CHOICES)]


def worst_case_blueprint(
    *, stages: int = 1, offers_per_stage: int = LIMIT_OFFERS_PER_STAGE, list_size: int = 150, seed: int = 14
) -> dict[str, Any]:
    """The heaviest blueprint for the lint and "why not" that the limits allow, as a JSON export:
    importable through ``POST blueprints/import/`` as it is, and what ``spec_from_json`` and
    ``compile_snapshot`` read.

    Every stage is at the limits: ``offers_per_stage`` offers of ``LIMIT_GROUPS`` groups of
    ``LIMIT_CONDITIONS`` conditions, and an entry of as many, over ``LIMIT_ATTRIBUTES`` attributes:
    100 numbers, 50 choices and 25 sets of ``LIMIT_CHOICES`` choices, 25 dates. What makes it heavy:

    - the entry's groups multiply every offer's groups (each offer meets the population group by
      group: 10 by 10 conjunctions an offer), the most the overlaps and the coverage checks meet;
    - ``between`` ranges on a grid of ten bounds, wide: nearly every pair of offers overlaps (4,950
      a stage, all counted) and the offers above nearly cover the ones below, so the hidden-offer,
      gap and smallest-change searches go deep before they settle;
    - ``is_one_of`` lists of ``list_size`` choices (the limit is ``LIMIT_VALUES``): wide masks for
      every bitset, and the longest sentences;
    - ``includes_any_of`` of two elements: each multiplies the boxes of its group by two.
    """
    rng = random.Random(seed)
    numbers = [f"number_{i:03d}" for i in range(100)]
    choices = [f"choice_{i:02d}" for i in range(50)]
    sets = [f"set_{i:02d}" for i in range(25)]
    dates = [f"date_{i:02d}" for i in range(25)]
    attributes: list[dict[str, Any]] = [
        {"key": k, "label": f"Number {k[-3:]}", "type": "number"} for k in numbers
    ]
    attributes += [
        {"key": k, "label": f"Choice {k[-2:]}", "type": "choice", "choices": WORST_CHOICES} for k in choices
    ]
    attributes += [
        {"key": k, "label": f"Set {k[-2:]}", "type": "set", "choices": WORST_CHOICES} for k in sets
    ]
    attributes += [{"key": k, "label": f"Date {k[-2:]}", "type": "date"} for k in dates]
    keys = numbers + choices + sets + dates
    first_day = dt.date(2024, 1, 1)

    def condition(key: str) -> dict[str, Any]:
        if key in choices:
            return {"attribute": key, "operator": "is_one_of", "value": rng.sample(WORST_CHOICES, list_size)}
        if key in sets:
            return {"attribute": key, "operator": "includes_any_of", "value": rng.sample(WORST_CHOICES, 2)}
        if key in dates:
            start = first_day + dt.timedelta(days=rng.randint(0, 300))
            end = start + dt.timedelta(days=rng.randint(30, 300))
            return {"attribute": key, "operator": "between", "value": [start.isoformat(), end.isoformat()]}
        low = rng.randint(0, 9)
        return {
            "attribute": key,
            "operator": "between",
            "value": [low * 10, min(100, (low + rng.randint(2, 8)) * 10)],
        }

    def group() -> list[dict[str, Any]]:
        return [condition(key) for key in rng.sample(keys, LIMIT_CONDITIONS)]

    out = []
    for s in range(stages):
        offers = [
            {
                "key": f"s{s:02d}_o{o:03d}",
                "name": f"Offer {o + 1} of stage {s + 1}",
                "groups": [group() for _ in range(LIMIT_GROUPS)],
            }
            for o in range(offers_per_stage)
        ]
        entry = [group() for _ in range(LIMIT_GROUPS)]
        out.append({"key": f"stage_{s:02d}", "name": f"Stage {s + 1}", "entry": entry, "offers": offers})
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "The heaviest the limits allow"},
        "attributes": attributes,
        "stages": out,
    }


def worst_case_profile(blueprint: dict[str, Any]) -> dict[str, Any]:
    """A customer in the middle of every attribute of ``worst_case_blueprint``: many offers match,
    so the ones not chosen are taken by higher ones and their smallest change is deep to find."""
    profile: dict[str, Any] = {}
    for attribute in blueprint["attributes"]:
        kind, key = attribute["type"], attribute["key"]
        profile[key] = {
            "number": 50,
            "choice": WORST_CHOICES[0],
            "set": WORST_CHOICES[:2],
            "date": "2024-06-01",
        }[kind]
    return profile


def reported_stage(offers: int, seed: int = 1) -> dict[str, Any]:
    """The reported case: one stage of ``offers`` offers, each three groups of three ``between``
    conditions over six number attributes."""
    rng = random.Random(seed)
    numbers = [f"n{i}" for i in range(6)]

    def between() -> dict[str, Any]:
        low = rng.randint(0, 90)
        return {
            "attribute": rng.choice(numbers),
            "operator": "between",
            "value": [low, low + rng.randint(1, 40)],
        }

    offers_ = [
        {"key": f"o{i}", "name": f"Offer {i}", "groups": [[between() for _ in range(3)] for _ in range(3)]}
        for i in range(offers)
    ]
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "The reported case"},
        "attributes": [{"key": k, "label": k.upper(), "type": "number"} for k in numbers],
        "stages": [{"key": "retention", "name": "Retention", "offers": offers_}],
    }


def lint_case(snapshot: dict[str, Any], runs: int) -> dict[str, Any]:
    spec = spec_from_json(snapshot)
    budget = Budget(LINT_STEPS)
    report = lint_blueprint(spec, at=AT, budget=budget)
    times = timed(lambda: lint_blueprint(spec, at=AT), runs)
    return {
        **summary(times),
        "cpu_ms": cpu_ms(lambda: lint_blueprint(spec, at=AT)),
        "max_ms": max(times) * 1000,
        "steps": report.steps,
        "budget": LINT_STEPS,
        "unchecked": [f.check for f in report.unchecked],
        "overlaps_listed": sum(f.code == "overlap" for f in report.findings),
        "overlaps_found": report.count("info"),
        "findings": counts(report),
    }


def explain_case(snapshot: dict[str, Any], profile: dict[str, Any], runs: int) -> dict[str, Any]:
    start = time.perf_counter()
    engine = compile_snapshot(snapshot, {"number": 1})
    compile_s = time.perf_counter() - start
    budget = Budget(EXPLAIN_STEPS)
    body = engine.decide(profile, at=AT, explain=True, budget=budget).as_json()
    whys = [
        o["why_not"]
        for d in body["decisions"] + body["skipped"]
        for o in d["explain"]["offers"]
        if o["why_not"]
    ]
    times = timed(lambda: engine.decide(profile, at=AT, explain=True), runs)
    return {
        **summary(times),
        "cpu_ms": cpu_ms(lambda: engine.decide(profile, at=AT, explain=True)),
        "max_ms": max(times) * 1000,
        "compile_ms": compile_s * 1000,
        "steps": budget.used,
        "budget": EXPLAIN_STEPS,
        "why_nots": len(whys),
        "searched_in_full": sum(w["complete"] for w in whys),
        "answer_bytes": len(json.dumps(body)),
    }


def cpu_ms(fn: Callable[[], Any]) -> float:
    """The processor time of one call: on a shared machine, what the call itself cost."""
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


_BEFORE_SCRIPT = """
import json, sys, time, datetime as dt
sys.path.insert(0, {root!r}); sys.path.insert(0, {package!r})
from decisioning_before.model import spec_from_json
from decisioning_before.lint import lint_blueprint
from decisioning_before.engine import compile_snapshot
case = json.load(open({case!r}))
at = dt.date.fromisoformat({at!r})
if {what!r} == "lint":
    spec = spec_from_json(case["snapshot"])
    took = []
    for _ in range({runs!r}):
        start = time.perf_counter(); report = lint_blueprint(spec, at=at); took.append(time.perf_counter() - start)
    print(json.dumps({{"ms": sorted(took)[len(took) // 2] * 1000, "findings": len(report.findings), "runs": len(took)}}))
else:
    engine = compile_snapshot(case["snapshot"], {{"number": 1}})
    start = time.perf_counter(); engine.decide(case["profile"], at=at, explain=True); took = time.perf_counter() - start
    print(json.dumps({{"ms": took * 1000}}))
"""


def before(
    what: str, snapshot: dict[str, Any], profile: dict[str, Any] | None = None, runs: int = 1
) -> dict[str, Any]:
    """The same lint or explanation by the code of commit ``BEFORE`` (its decisioning package put
    aside as ``decisioning_before``), in a subprocess stopped after ``BEFORE_TIMEOUT_S``; a lint
    ``runs`` times, the median."""
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "decisioning_before"
        package.mkdir()
        for name in ("__init__", "model", "regions", "lint", "engine"):
            shown = subprocess.run(
                ["git", "show", f"{BEFORE}:decisioning/{name}.py"], cwd=ROOT, capture_output=True, text=True
            )
            if shown.returncode != 0:
                return {"error": f"git show {BEFORE} failed: {shown.stderr.strip()[:200]}"}
            (package / f"{name}.py").write_text(
                shown.stdout.replace("from decisioning.", "from decisioning_before.")
            )
        case = Path(tmp) / "case.json"
        case.write_text(json.dumps({"snapshot": snapshot, "profile": profile}))
        script = _BEFORE_SCRIPT.format(
            root=str(ROOT), package=tmp, case=str(case), at=AT.isoformat(), what=what, runs=runs
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", script], capture_output=True, text=True, timeout=BEFORE_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return {"ms": None, "note": f"did not finish in {BEFORE_TIMEOUT_S} s"}
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def heaviest(runs: int, whole_blueprint: bool) -> dict[str, Any]:
    """The worst cases and the reported ones, now and before."""
    rows: dict[str, Any] = {}
    stage = worst_case_blueprint()
    profile = worst_case_profile(stage)
    rows["worst_lint"] = {**lint_case(stage, runs), "goal_ms": WORST_GOAL_S * 1000}
    rows["worst_explain"] = {**explain_case(stage, profile, runs), "goal_ms": WORST_GOAL_S * 1000}
    for row in (rows["worst_lint"], rows["worst_explain"]):
        row["goal_met"] = row["max_ms"] < row["goal_ms"]
    small = worst_case_blueprint(offers_per_stage=10)
    rows["worst_lint_10_offers"] = {**lint_case(small, runs), "before": before("lint", small)}
    rows["worst_explain_10_offers"] = {
        **explain_case(small, worst_case_profile(small), runs),
        "before": before("explain", small, worst_case_profile(small)),
    }
    for offers in (200, 400):
        case = reported_stage(offers)
        rows[f"reported_lint_{offers}"] = {**lint_case(case, runs), "before": before("lint", case)}
    numbers = {f"n{i}": 50 for i in range(6)}
    for offers in (30, 50, 200):
        case = reported_stage(offers)
        rows[f"reported_explain_{offers}"] = {
            **explain_case(case, numbers, runs),
            "before": before("explain", case, numbers),
        }
    if whole_blueprint:
        whole = worst_case_blueprint(stages=LIMIT_OFFERS // LIMIT_OFFERS_PER_STAGE)
        start = time.perf_counter()
        spec_from_json(whole)
        rows["whole_read_ms"] = (time.perf_counter() - start) * 1000
        rows["whole_lint"] = lint_case(whole, 1)
        rows["whole_explain"] = explain_case(whole, worst_case_profile(whole), 1)
    return rows


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def print_heaviest(rows: dict[str, Any]) -> None:
    print(
        "The heaviest the limits allow, and the reported cases (steps: of the budget; before: commit "
        f"{BEFORE}, stopped after {BEFORE_TIMEOUT_S} s):"
    )
    print(f"{'case':<26}{'median':>11}{'max':>11}{'cpu':>11}{'steps':>22}{'before':>24}  notes")
    for name, row in rows.items():
        if not isinstance(row, dict):
            continue
        earlier = row.get("before") or {}
        then = earlier.get("note") or earlier.get("error") or ms(earlier.get("ms"))
        if earlier.get("ms"):
            then += f" ({earlier['ms'] / row['median_ms']:,.0f}×)"
        notes = []
        if "goal_ms" in row:
            notes.append(f"goal < {row['goal_ms'] / 1000:.0f} s {'met' if row['goal_met'] else 'MISSED'}")
        if "unchecked" in row:
            notes.append(
                f"unchecked: {', '.join(row['unchecked']) or 'none'}; overlaps {row['overlaps_listed']} listed of {row['overlaps_found']:,}"
            )
        if "why_nots" in row:
            notes.append(
                f"{row['searched_in_full']}/{row['why_nots']} why-nots in full; compile {ms(row['compile_ms'])}; answer {row['answer_bytes'] / 1e6:.1f} MB"
            )
        print(
            f"{name:<26}{ms(row['median_ms']):>11}{ms(row['max_ms']):>11}{ms(row['cpu_ms']):>11}"
            f"{row['steps']:>12,}/{row['budget']:<9,}{then:>24}  {'; '.join(notes)}"
        )
    if "whole_read_ms" in rows:
        print(f"(whole blueprint: reading and checking its conditions took {ms(rows['whole_read_ms'])})")
    print()


def spec_of(seed: int, offers_per_stage: int) -> BlueprintSpec:
    return spec_from_json(
        blueprint_json(random.Random(seed), stages=STAGES, offers_per_stage=offers_per_stage)
    )


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall-clock seconds of each of ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "runs": len(ordered)}


def shape(spec: BlueprintSpec) -> dict[str, int]:
    offers = [o for s in spec.stages for o in s.offers]
    return {
        "stages": len(spec.stages),
        "offers": len(offers),
        "fallbacks": sum(o.fallback for o in offers),
        "stages_with_entry": sum(bool(s.entry) for s in spec.stages),
        "conditions": sum(len(g) for o in offers for g in o.groups)
        + sum(len(g) for s in spec.stages for g in s.entry),
    }


def counts(report: LintReport) -> dict[str, int]:
    return dict(sorted(Counter(f.code for f in report.findings).items()))


def measure(spec: BlueprintSpec, runs: int) -> dict[str, Any]:
    report = lint_blueprint(spec, at=AT)  # warm-up, and the findings to report
    return {
        **shape(spec),
        **summary(timed(lambda: lint_blueprint(spec, at=AT), runs)),
        "findings": counts(report),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=30, help="timed lints of the 20 × 25 blueprint (default 30)"
    )
    parser.add_argument(
        "--scaling-runs",
        type=int,
        default=10,
        help="timed lints of each blueprint of the scaling (default 10)",
    )
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--heavy-runs", type=int, default=3, help="timed runs of each heavy case (default 3)")
    parser.add_argument(
        "--whole-blueprint",
        action="store_true",
        help="also the worst case at the whole-blueprint limit (slow)",
    )
    args = parser.parse_args()

    main_spec = spec_of(args.seed, OFFERS_PER_STAGE)
    headline = measure(main_spec, args.runs)
    headline["goal_ms"] = GOAL_MS
    headline["goal_met"] = headline["median_ms"] < GOAL_MS and headline["p95_ms"] < GOAL_MS
    headline["cpu_ms"] = cpu_ms(lambda: lint_blueprint(main_spec, at=AT))
    raw = blueprint_json(random.Random(args.seed), stages=STAGES, offers_per_stage=OFFERS_PER_STAGE)
    headline["before"] = before("lint", raw, runs=args.runs)

    scaling = []
    for offers_per_stage in SCALING:
        # the 25-offer row is generated from the same seed as the headline, so it is the same blueprint
        row = {
            "offers_per_stage": offers_per_stage,
            **measure(spec_of(args.seed, offers_per_stage), args.scaling_runs),
        }
        scaling.append(row)
    baseline = scaling[0]
    for row in scaling:
        row["offers_ratio"] = row["offers"] / baseline["offers"]
        row["time_ratio"] = row["median_ms"] / baseline["median_ms"]

    h = headline
    print(
        f"Blueprint: {h['stages']} stages, {h['offers']} offers ({h['fallbacks']} fallbacks), "
        f"{h['conditions']} conditions, entry conditions on {h['stages_with_entry']} stages; decision day {AT}."
    )
    print(f"Findings: {', '.join(f'{n} {code}' for code, n in h['findings'].items())}.")
    print()
    print(f"{'measure':<36}{'goal':>10}{'median':>11}{'p95':>11}{'runs':>6}")
    print(
        f"{'lint_blueprint, 20 stages × 25 offers':<36}{'< ' + format(GOAL_MS, '.0f') + ' ms':>10}"
        f"{h['median_ms']:>8.1f} ms{h['p95_ms']:>8.1f} ms{h['runs']:>6}  {'met' if h['goal_met'] else 'MISSED'}"
    )
    then = h["before"].get("ms")
    print(
        f"{'':<36}processor time {h['cpu_ms']:.1f} ms; commit {BEFORE} in this run, median: "
        + (f"{then:.1f} ms (now {h['median_ms'] / then:.2f}×)" if then else str(h["before"]))
    )
    print()
    print(
        f"Scaling, 20 stages each, against {baseline['offers_per_stage']} offers per stage measured in this run:"
    )
    print(
        f"{'offers/stage':>12}{'offers':>8}{'median':>11}{'p95':>11}{'× offers':>10}{'× time':>9}{'overlaps':>10}"
    )
    for row in scaling:
        print(
            f"{row['offers_per_stage']:>12}{row['offers']:>8}{row['median_ms']:>8.1f} ms{row['p95_ms']:>8.1f} ms"
            f"{row['offers_ratio']:>9.1f}×{row['time_ratio']:>8.1f}×{row['findings'].get('overlap', 0):>10}"
        )
    print()

    heavy = heaviest(args.heavy_runs, args.whole_blueprint)
    print_heaviest(heavy)

    report_write(
        "lint",
        {
            "decision_day": AT.isoformat(),
            "seed": args.seed,
            "catalog": {"attributes": len(CATALOG), "types": sorted({a["type"] for a in CATALOG})},
            "results": [{"measure": "lint_blueprint, 20 stages × 25 offers", **headline}],
            "scaling": {"baseline_offers_per_stage": baseline["offers_per_stage"], "rows": scaling},
            "heaviest": heavy,
        },
    )
    met = headline["goal_met"] and heavy["worst_lint"]["goal_met"] and heavy["worst_explain"]["goal_met"]
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
