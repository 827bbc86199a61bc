"""Published versions on a big blueprint: what they cost the board page, and what publishing,
diffing and restoring take.

Builds the board of bench/board.py (20 stages of 25 offers, 3 conditions each) in a throw-away
SQLite database, publishes it as version 1, makes 60 random edits (conditions, names, moves), and
measures, each against ``board_load`` of the same board (the read every one of them starts with)
in the same run:

- ``version_badge``: what the board page adds, the first time a rev is drawn (a snapshot of the
  loaded board and its hash, two small queries), and once the rev's hash is known (what every
  other tab's badge refresh after an edit costs);
- ``version_publish``: the lint gate, the snapshot and the notices (on the board before the edits,
  whose random conditions break the lint; rolled back after each run);
- ``snapshot_diff`` of version 1 and the edited draft;
- ``version_restore`` of version 1 into the edited draft (planned, applied, checked; rolled back
  after each run).

No goals in the issue; the bench reports the figures and the ratios. Writes JSON through
bench/report.py to ``bench/results/versions.json``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from board import (  # bench/, the script's own folder
    board_operations,
    django_in_a_fresh_sqlite,
    summary,
    timed,
)
from report import report_write

ROOT = Path(__file__).resolve().parent.parent
EDITS = 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each measure (default 15)")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()

    tmp = django_in_a_fresh_sqlite()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from blueprint import version_selectors
    from blueprint.diff import snapshot_diff
    from blueprint.models import Blueprint, Membership, Offer, Role, Stage
    from blueprint.selectors import board_lint, board_load, board_snapshot
    from blueprint.services import blueprint_create, operation_apply, operations_apply, version_publish
    from blueprint.services.versions import version_restore
    from blueprint.version_selectors import version_badge, version_badge_of

    rng = random.Random(args.seed)
    users = get_user_model().objects
    owner = users.create_user(username="bench-owner", password="bench")
    approver = users.create_user(username="bench-approver", password="bench")
    big = blueprint_create(actor=owner, name="Bench: 20 stages × 500 offers", channels=["web"])
    Membership.objects.create(blueprint=big, user=approver, role=Role.APPROVER)
    operations_apply(blueprint_id=big.pk, actor=owner, operations=board_operations(rng))
    # random conditions make some offers that can never match: take those away, so it can be published
    for _ in range(5):
        errors = board_lint(board_load(Blueprint.objects.get(pk=big.pk))).errors
        if not errors:
            break
        doomed = sorted({finding.offers[0] for finding in errors if finding.offers})
        operations_apply(
            blueprint_id=big.pk, actor=owner, operations=[("offer.delete", {"key": k}) for k in doomed]
        )
    version = version_publish(blueprint_id=big.pk, actor=owner, note="bench")

    def publish() -> None:
        with transaction.atomic():
            version_publish(blueprint_id=big.pk, actor=owner)
            transaction.set_rollback(True)

    published = summary(timed(publish, args.runs))  # the clean board: the edits below break the lint

    offers = list(Offer.objects.filter(blueprint=big).values_list("key", flat=True))
    stages = list(Stage.objects.filter(blueprint=big).values_list("key", flat=True))
    for index in range(EDITS):
        key = rng.choice(offers)
        kind = index % 3
        if kind == 0:
            payload: dict[str, Any] = {"key": key, "name": f"Edited {index}"}
            op_type = "offer.update"
        elif kind == 1:
            payload, op_type = {"key": key, "stage": rng.choice(stages)}, "offer.move"
        else:
            payload = {
                "key": key,
                "groups": [[{"attribute": "age", "operator": "at_least", "value": 18 + index}]],
            }
            op_type = "offer.update"
        operation_apply(blueprint_id=big.pk, actor=owner, op_type=op_type, payload=payload)

    blueprint = Blueprint.objects.get(pk=big.pk)
    draft = board_snapshot(board_load(blueprint))
    diff = snapshot_diff(version.snapshot, draft)

    def load() -> None:
        board_load(Blueprint.objects.get(pk=big.pk))

    loaded = board_load(blueprint)

    def badge_first() -> None:
        version_selectors._DRAFT_HASHES.clear()  # as if this rev had never been drawn
        version_badge(loaded)

    def badge_known() -> None:
        version_badge_of(Blueprint.objects.get(pk=big.pk))

    def restore() -> None:
        with transaction.atomic():
            result = version_restore(blueprint_id=big.pk, number=version.number, actor=owner)
            assert result.done
            transaction.set_rollback(True)

    baseline = summary(timed(load, args.runs))
    measures = {
        "version_badge, first at this rev (snapshot, hash)": summary(timed(badge_first, args.runs)),
        "version_badge_of, rev already drawn (cached)": summary(timed(badge_known, args.runs)),
        "version_publish (lint, snapshot, notices)": published,
        f"snapshot_diff, {len(diff.changes)} changes": summary(
            timed(lambda: snapshot_diff(version.snapshot, draft), args.runs)
        ),
        "version_restore after 60 edits (rolled back)": summary(timed(restore, max(3, args.runs // 3))),
    }
    rows = []
    for measure, figures in measures.items():
        rows.append(
            {
                "measure": measure,
                **figures,
                "baseline": "board_load of the same board",
                "baseline_median_ms": baseline["median_ms"],
                "ratio": figures["median_ms"] / baseline["median_ms"],
            }
        )
    print(f"\n{'measure':<48}{'median':>10}{'p95':>10}   {'baseline (median)':<40}{'ratio':>8}")
    for row in rows:
        base = f"{row['baseline']} {row['baseline_median_ms']:.1f} ms"
        print(
            f"{row['measure']:<48}{row['median_ms']:>7.1f} ms{row['p95_ms']:>7.1f} ms   {base:<40}{row['ratio']:>7.2f}×"
        )
    report_write(
        "versions",
        {
            "database": "sqlite (temporary file)",
            "blueprint": {"stages": len(stages), "offers": len(offers), "edits_after_version": EDITS},
            "diff_changes": len(diff.changes),
            "results": rows,
        },
    )
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
