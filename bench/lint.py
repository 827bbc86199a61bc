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

Prints a table and writes it as JSON through bench/report.py to ``bench/results/lint.json``.
Exit status: 0 when the goal is met, 1 when it is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import report_write  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisioning.lint import LintReport, lint_blueprint  # noqa: E402  (after the path is set)
from decisioning.model import BlueprintSpec, spec_from_json  # noqa: E402

STAGES = 20
OFFERS_PER_STAGE = 25
CONDITIONS_PER_OFFER = 4
SCALING = (10, 25, 50, 100)
GOAL_MS = 200.0
AT = dt.date(2025, 6, 30)  # a fixed decision day, so runs on different days lint the same thing

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
    args = parser.parse_args()

    main_spec = spec_of(args.seed, OFFERS_PER_STAGE)
    headline = measure(main_spec, args.runs)
    headline["goal_ms"] = GOAL_MS
    headline["goal_met"] = headline["median_ms"] < GOAL_MS and headline["p95_ms"] < GOAL_MS

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

    report_write(
        "lint",
        {
            "decision_day": AT.isoformat(),
            "seed": args.seed,
            "catalog": {"attributes": len(CATALOG), "types": sorted({a["type"] for a in CATALOG})},
            "results": [{"measure": "lint_blueprint, 20 stages × 25 offers", **headline}],
            "scaling": {"baseline_offers_per_stage": baseline["offers_per_stage"], "rows": scaling},
        },
    )
    return 0 if headline["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
