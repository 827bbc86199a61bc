"""Review findings on per-user undo (blueprint/services/undo.py, the inverse of offer.move).

Each test fails on the current code; see the review report for the suggested fixes.
"""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.models import Blueprint, Offer, Operation
from blueprint.services import operation_apply, undo_step

pytestmark = pytest.mark.django_db


def awareness(bp: Blueprint) -> list[str]:
    return list(
        Offer.objects.filter(blueprint=bp, stage__key="awareness")
        .order_by("rank")
        .values_list("key", flat=True)
    )


def test_undoing_a_move_puts_the_card_back_after_someone_moved_its_old_neighbour(
    board: Blueprint, users: dict[str, Any]
) -> None:
    """The inverse of offer.move names the neighbour the card stood by ("after: gold_card") and the
    old rank, and ``_place`` follows the neighbour whenever it is still in the stage. When someone
    else has moved that neighbour meanwhile, "after the neighbour" is somewhere the card never was:
    here the undo leaves the card exactly where the move put it — nothing visible happens, yet the
    step is spent and the log says "(undo)". The old rank (``a2``), which still sorts after
    every card that was above it and is free, would have put it back."""
    editor, owner = users["editor"], users["owner"]
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={"stage": "awareness", "key": "third", "name": "Third"},
    )
    assert awareness(board) == ["welcome", "gold_card", "third"]
    # the editor moves the last card to the top ...
    operation_apply(
        blueprint_id=board.pk,
        actor=editor,
        op_type="offer.move",
        payload={"key": "third", "stage": "awareness", "before": "welcome"},
    )
    assert awareness(board) == ["third", "welcome", "gold_card"]
    # ... the owner moves another card (the one "third" stood after) to the top ...
    operation_apply(
        blueprint_id=board.pk,
        actor=owner,
        op_type="offer.move",
        payload={"key": "gold_card", "stage": "awareness", "before": "third"},
    )
    assert awareness(board) == ["gold_card", "third", "welcome"]
    # ... and the editor undoes their move: "third" should go back below "welcome", as it was
    result = undo_step(blueprint_id=board.pk, actor=editor)
    assert result.done, result.message
    assert Operation.objects.filter(blueprint=board, summary__endswith="(undo)").count() == 1
    assert awareness(board) == ["gold_card", "welcome", "third"]
