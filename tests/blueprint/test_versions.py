"""Publishing the draft as a version: the snapshot, the numbering, the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.errors import Forbidden, InvalidInput, NotFound
from blueprint.models import Blueprint, Version
from blueprint.selectors import board_load, board_snapshot, version_get, version_live, versions_of
from blueprint.services import operation_apply, version_publish
from blueprint.snapshots import snapshot_hash

pytestmark = pytest.mark.django_db


def test_publishing_snapshots_the_draft_as_the_next_version(board: Blueprint, users: dict[str, Any]) -> None:
    first = version_publish(blueprint_id=board.pk, actor=users["editor"], note="  First cut ")
    assert (first.number, first.status, first.note, first.rev) == (1, "in_review", "First cut", board.rev)
    assert first.author == users["editor"]
    assert first.snapshot == board_snapshot(board_load(board))
    assert first.content_hash == snapshot_hash(first.snapshot)
    second = version_publish(blueprint_id=board.pk, actor=users["owner"])
    assert second.number == 2
    assert [v.number for v in versions_of(board.pk)] == [2, 1]
    assert version_get(board.pk, 1) == first and version_get(board.pk, 3) is None
    assert version_live(board.pk) is None  # nothing approved yet


@pytest.mark.parametrize("role", ["approver", "viewer", "stranger"])
def test_only_editors_and_owners_publish(board: Blueprint, users: dict[str, Any], role: str) -> None:
    with pytest.raises(NotFound if role == "stranger" else Forbidden):
        version_publish(blueprint_id=board.pk, actor=users[role])
    assert not Version.objects.exists()


def test_publishing_is_refused_while_lint_has_errors(board: Blueprint, users: dict[str, Any]) -> None:
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={
            "stage": "awareness",
            "key": "never",
            "name": "Never",
            "groups": [
                [
                    {"attribute": "age", "operator": "at_least", "value": 50},
                    {"attribute": "age", "operator": "at_most", "value": 30},
                ]
            ],
        },
    )
    with pytest.raises(InvalidInput) as refused:
        version_publish(blueprint_id=board.pk, actor=users["editor"])
    assert any("Never" in message for message in refused.value.problems["lint"])
    assert not Version.objects.exists()


def test_a_bad_note_is_refused(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as refused:
        version_publish(blueprint_id=board.pk, actor=users["editor"], note="x" * 5001)
    assert "note" in refused.value.problems
