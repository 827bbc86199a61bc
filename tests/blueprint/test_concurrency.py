"""Concurrent edits through the one edit path: the blueprint row lock serialises them.

Needs a database with real row locks and concurrent connections; tests/test_postgres.py runs this
file against a PostgreSQL server it starts itself.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from django.db import connection

from blueprint.models import Blueprint, Offer, Operation
from blueprint.selectors import board_load
from blueprint.services import operation_apply
from decisioning.errors import BlueprintError

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_moves_and_creates_keep_every_card_once_in_a_strict_order(
    board: Blueprint, users: dict[str, Any]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency are proven on PostgreSQL (tests/test_postgres.py)")
    errors: list[BaseException] = []
    applied = [0]
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for step in range(12):
                if step % 4 == 0:
                    payload: dict[str, Any] = {
                        "stage": rng.choice(["awareness", "onboarding"]),
                        "key": f"w{seed}_{step}",
                        "name": f"Worker {seed} #{step}",
                    }
                    op_type = "offer.create"
                else:
                    keys = list(Offer.objects.values_list("key", flat=True))
                    op_type = "offer.move"
                    payload = {"key": rng.choice(keys), "stage": rng.choice(["awareness", "onboarding"])}
                    anchor = rng.choice([*keys, None])
                    if anchor and anchor != payload["key"]:
                        payload[rng.choice(["before", "after"])] = anchor
                try:
                    operation_apply(
                        blueprint_id=board.pk, actor=users["editor"], op_type=op_type, payload=payload
                    )
                except BlueprintError:
                    continue  # e.g. the anchor moved to the other stage meanwhile: refused, nothing changed
                with lock:
                    applied[0] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    board.refresh_from_db()
    revs = list(Operation.objects.filter(blueprint=board).order_by("rev").values_list("rev", flat=True))
    assert revs == list(range(1, board.rev + 1))
    assert board.rev == 5 + applied[0] + 8  # the fixture's catalog and board, then every accepted edit
    loaded = board_load(board)
    keys = [card.offer.key for column in loaded.stages for card in column.offers]
    assert sorted(keys) == sorted(Offer.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == 3 + 6 * 3
    for column in loaded.stages:
        ranks = [card.offer.rank for card in column.offers]
        assert ranks == sorted(set(ranks))
