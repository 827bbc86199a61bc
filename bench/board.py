"""``make bench``: the board of a big blueprint, rendered and edited.

Builds, in a throw-away SQLite database, a blueprint of 20 stages of 25 offers (500 offers, 3
conditions each, a 10-attribute catalog) through the operation service, then measures:

- the server time to render its board page ``/blueprints/<id>/`` through Django's test client
  (goal: under 0.5 s), against the same page for an empty blueprint, measured in the same run;
- the time to apply one ``offer.move`` operation with ``operation_apply`` (goal: under 20 ms),
  against a plain ``Offer.objects.filter(pk=…).update(rank=…)`` in a transaction, in the same run.

Prints a table and writes it as JSON to ``bench/results/``. Exit status: 0 when both goals are
met, 1 when one is missed, 2 when the board page is not there to measure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import report_write  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parent.parent

STAGES = 20
OFFERS_PER_STAGE = 25
CONDITIONS_PER_OFFER = 3

CATALOG: list[dict[str, Any]] = [
    {
        "key": "segment",
        "label": "Segment",
        "type": "choice",
        "choices": ["Student", "Standard", "Premier", "Private"],
    },
    {"key": "age", "label": "Age", "type": "number", "unit": "years"},
    {"key": "tenure_months", "label": "Customer for", "type": "number", "unit": "months"},
    {"key": "balance", "label": "Total balance", "type": "number", "unit": "EUR"},
    {
        "key": "products",
        "label": "Products held",
        "type": "set",
        "choices": ["current_account", "savings", "credit_card", "mortgage", "personal_loan", "investments"],
    },
    {"key": "last_login", "label": "Last login", "kind": "behaviour", "type": "date"},
    {"key": "visits_30d", "label": "Visits in the last 30 days", "kind": "behaviour", "type": "number"},
    {"key": "has_app", "label": "Uses the app", "kind": "behaviour", "type": "boolean"},
    {
        "key": "channel",
        "label": "Channel",
        "kind": "context",
        "type": "choice",
        "choices": ["web", "app", "email"],
    },
    {"key": "city", "label": "City", "kind": "context", "type": "text"},
]
CITIES = ["Dublin", "Cork", "Galway", "Limerick", "Waterford", "Sligo"]


def condition(rng: random.Random, attribute: dict[str, Any]) -> dict[str, Any]:
    """A valid random condition on ``attribute``."""
    key, kind = attribute["key"], attribute["type"]
    if kind == "choice":
        choices = attribute["choices"]
        if rng.random() < 0.5:
            return {"attribute": key, "operator": "is", "value": rng.choice(choices)}
        return {"attribute": key, "operator": "is_one_of", "value": rng.sample(choices, 2)}
    if kind == "number":
        low = rng.randint(0, 50)
        operator = rng.choice(["at_least", "at_most", "between"])
        value: Any = [low, low + rng.randint(1, 50)] if operator == "between" else low
        return {"attribute": key, "operator": operator, "value": value}
    if kind == "date":
        if rng.random() < 0.5:
            return {"attribute": key, "operator": "within_last_days", "value": rng.randint(1, 90)}
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        return {"attribute": key, "operator": "at_least", "value": day.isoformat()}
    if kind == "boolean":
        return {"attribute": key, "operator": "is", "value": rng.random() < 0.5}
    if kind == "set":
        if rng.random() < 0.5:
            return {"attribute": key, "operator": "includes", "value": rng.choice(attribute["choices"])}
        return {"attribute": key, "operator": "includes_any_of", "value": rng.sample(attribute["choices"], 2)}
    return {"attribute": key, "operator": "is_one_of", "value": rng.sample(CITIES, 2)}


def board_operations(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    ops: list[tuple[str, dict[str, Any]]] = [("attribute.create", dict(a)) for a in CATALOG]
    for s in range(STAGES):
        stage_key = f"stage_{s:02d}"
        entry = [[condition(rng, rng.choice(CATALOG))]]
        ops.append(("stage.create", {"key": stage_key, "name": f"Stage {s + 1}", "entry": entry}))
        for o in range(OFFERS_PER_STAGE):
            attributes = rng.sample(CATALOG, CONDITIONS_PER_OFFER)
            ops.append(
                (
                    "offer.create",
                    {
                        "stage": stage_key,
                        "key": f"offer_{s:02d}_{o:02d}",
                        "name": f"Offer {o + 1} of stage {s + 1}",
                        "description": "A generated offer with a description of about the usual length for a card.",
                        "channel": rng.choice(["web", "email", "app"]),
                        "groups": [[condition(rng, a) for a in attributes]],
                    },
                )
            )
    return ops


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


def django_in_a_fresh_sqlite() -> tempfile.TemporaryDirectory[str]:
    """Set Django up as production runs it (DEBUG off) on the embedded defaults, whatever the shell
    has: a fresh SQLite file in a temporary folder (returned, for the caller to clean up), migrated,
    and the in-memory channel layer."""
    tmp = tempfile.TemporaryDirectory(prefix="blueprint-bench-")
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"):
        os.environ.pop(name, None)
    os.environ["SQLITE_PATH"] = str(Path(tmp.name) / "bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "blueprint.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    import django
    from django.conf import settings
    from django.core.management import call_command

    # WhiteNoise warns that STATIC_ROOT is missing until collectstatic has run; not a bench matter.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

    django.setup()
    # No query log, no template debug information. Template engines are built on first use, so
    # this takes effect before any page is rendered.
    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--renders", type=int, default=20, help="timed renders of each board page (default 20)"
    )
    parser.add_argument("--moves", type=int, default=200, help="timed offer.move operations (default 200)")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()

    tmp = django_in_a_fresh_sqlite()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a failing page is reported below

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve

    from blueprint.models import Offer, Stage
    from blueprint.services import blueprint_create, operation_apply, operations_apply

    rng = random.Random(args.seed)
    owner = get_user_model().objects.create_user(username="bench-owner", password="bench")

    start = time.perf_counter()
    big = blueprint_create(actor=owner, name="Bench: 20 stages × 500 offers", channels=["web"])
    operations_apply(blueprint_id=big.pk, actor=owner, operations=board_operations(rng))
    build_s = time.perf_counter() - start
    empty = blueprint_create(actor=owner, name="Bench: empty", channels=["web"])
    offers = list(Offer.objects.filter(blueprint=big).select_related("stage"))
    print(
        f"Built {Stage.objects.filter(blueprint=big).count()} stages and {len(offers)} offers "
        f"({sum(len(g) for o in offers for g in o.groups)} conditions) through operations_apply in {build_s:.1f} s."
    )

    # --- (a) the board page ------------------------------------------------------------------
    client = Client()
    client.force_login(owner)
    big_url, empty_url = f"/blueprints/{big.pk}/", f"/blueprints/{empty.pk}/"
    try:
        resolve(big_url)
    except Resolver404:
        print(f"The board page {big_url} is not there yet (blueprint/views/board.py): nothing to measure.")
        return 2
    for url in (big_url, empty_url):
        try:
            status = client.get(url).status_code
        except Exception as exc:  # the page is another part of the project: report, don't crash
            print(f"The board page {url} fails ({type(exc).__name__}: {exc}): nothing to measure.")
            return 2
        if status != 200:
            print(f"The board page {url} answered {status}, not 200: nothing to measure.")
            return 2
    page_bytes = len(client.get(big_url).content)
    with CaptureQueriesContext(connection) as queries:
        client.get(big_url)
    render_queries = len(queries)

    def render(url: str) -> Callable[[], Any]:
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return get

    render_big = summary(timed(render(big_url), args.renders))
    render_empty = summary(timed(render(empty_url), args.renders))

    # --- (b) one offer.move ------------------------------------------------------------------
    stage_keys = list(Stage.objects.filter(blueprint=big).values_list("key", flat=True))
    by_stage: dict[str, list[str]] = {}
    for offer in offers:
        by_stage.setdefault(offer.stage.key, []).append(offer.key)
    where: dict[str, str] = {o.key: o.stage.key for o in offers}
    keys = [o.key for o in offers]
    plan = []
    for _ in range(args.moves):
        key = rng.choice(keys)
        target = rng.choice(stage_keys) if rng.random() < 0.5 else where[key]
        anchors = [k for k in by_stage[target] if k != key]
        payload: dict[str, Any] = {"key": key, "stage": target}
        if anchors and rng.random() < 0.8:
            payload[rng.choice(["before", "after"])] = rng.choice(anchors)
        by_stage[where[key]].remove(key)
        by_stage[target].append(key)
        where[key] = target
        plan.append(payload)
    moves = iter(plan)

    def move() -> None:
        operation_apply(blueprint_id=big.pk, actor=owner, op_type="offer.move", payload=next(moves))

    move_op = summary(timed(move, len(plan)))

    pks = [o.pk for o in offers]
    ranks = {o.pk: o.rank for o in Offer.objects.filter(blueprint=big)}

    def plain_update() -> None:
        pk = rng.choice(pks)
        with transaction.atomic():
            Offer.objects.filter(pk=pk).update(rank=ranks[pk])

    move_baseline = summary(timed(plain_update, len(plan)))

    rows = [
        {
            "measure": "board page render, 20 stages × 500 offers",
            "goal_ms": 500.0,
            **render_big,
            "baseline": "empty-board render",
            "baseline_median_ms": render_empty["median_ms"],
            "page_kib": round(page_bytes / 1024, 1),
            "queries": render_queries,
        },
        {
            "measure": "one offer.move operation",
            "goal_ms": 20.0,
            **move_op,
            "baseline": "plain Offer UPDATE in a transaction",
            "baseline_median_ms": move_baseline["median_ms"],
        },
    ]
    for row in rows:
        row["ratio"] = row["median_ms"] / row["baseline_median_ms"]
        row["goal_met"] = row["median_ms"] < row["goal_ms"] and row["p95_ms"] < row["goal_ms"]

    print()
    print(f"{'measure':<44}{'goal':>9}{'median':>10}{'p95':>10}   {'baseline (median)':<46}{'ratio':>8}")
    for row in rows:
        baseline = f"{row['baseline']} {row['baseline_median_ms']:.2f} ms"
        print(
            f"{row['measure']:<44}{'< ' + format(row['goal_ms'], '.0f') + ' ms':>9}"
            f"{row['median_ms']:>7.1f} ms{row['p95_ms']:>7.1f} ms   {baseline:<46}{row['ratio']:>7.1f}×"
            f"  {'met' if row['goal_met'] else 'MISSED'}"
        )
    print(
        f"\nThe board page is {rows[0]['page_kib']} KiB and takes {render_queries} queries; "
        f"{args.renders} renders each, {len(plan)} moves (and as many baseline updates)."
    )

    report_write(
        "board",
        {
            "database": "sqlite (temporary file)",
            "blueprint": {
                "stages": STAGES,
                "offers": len(offers),
                "conditions_per_offer": CONDITIONS_PER_OFFER,
            },
            "build_s": build_s,
            "results": rows,
        },
    )
    tmp.cleanup()
    return 0 if all(row["goal_met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
