"""Decisions made at the same moment: the blueprint row lock serialises them, so there is never more
than one live version and no approval is lost. tests/test_postgres.py runs this file against a real
PostgreSQL (row locks, concurrent connections); on SQLite the transactions queue for the write lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from blueprint.models import Approval, Blueprint, Version
from blueprint.services import blueprint_policy_set, operation_apply, version_approve, version_publish
from decisioning.errors import BlueprintError

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result, or the BlueprintError it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BlueprintError as exc:
            results[index] = exc
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_two_versions_approved_at_once_leave_one_live(board: Blueprint, users: dict[str, Any]) -> None:
    for round_ in range(4):
        version_publish(blueprint_id=board.pk, actor=users["editor"])
        operation_apply(
            blueprint_id=board.pk,
            actor=None,
            op_type="offer.update",
            payload={"key": "welcome", "name": f"Welcome {round_}"},
        )
        newer = version_publish(blueprint_id=board.pk, actor=users["editor"])
        at_once(
            lambda n=newer.number: version_approve(
                blueprint_id=board.pk, number=n - 1, actor=users["approver"]
            ),
            lambda n=newer.number: version_approve(blueprint_id=board.pk, number=n, actor=users["owner"]),
        )
        statuses = dict(Version.objects.filter(blueprint=board).values_list("number", "status"))
        assert list(statuses.values()).count("approved") == 1, statuses
        assert statuses[newer.number] == "approved", statuses  # the newer one wins whichever came first


def test_the_last_approvals_needed_arriving_together_are_both_counted(
    board: Blueprint, users: dict[str, Any]
) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    version = version_publish(blueprint_id=board.pk, actor=users["editor"])
    at_once(
        lambda: version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"]),
        lambda: version_approve(blueprint_id=board.pk, number=version.number, actor=users["owner"]),
    )
    version.refresh_from_db()
    assert version.status == "approved"
    assert Approval.objects.filter(version=version).count() == 2


def test_one_reviewer_clicking_twice_is_recorded_once(board: Blueprint, users: dict[str, Any]) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    version = version_publish(blueprint_id=board.pk, actor=users["editor"])
    results = at_once(
        lambda: version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"]),
        lambda: version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"]),
    )
    assert sum(isinstance(r, BlueprintError) for r in results) == 1
    assert Approval.objects.filter(version=version).count() == 1
    version.refresh_from_db()
    assert version.status == "in_review"
