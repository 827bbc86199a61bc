"""Per-user undo and redo: inverse operations applied as new operations (docs/architecture.md,
"The edit path").

The ``board`` fixture was built by the system (actor None), so nobody's stack holds it: every
undo here undoes only what the test did as a person.
"""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.models import Blueprint, Offer, Operation, Stage, UndoStep
from blueprint.services import operation_apply, operations_apply, undo_step
from blueprint.services.undo import UndoResult
from decisioning.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.blueprint.test_services import OPERATIONS, order, snapshot


def edit(bp: Blueprint, user: Any, op_type: str, payload: dict[str, Any], **kw: Any) -> Operation:
    return operation_apply(blueprint_id=bp.pk, actor=user, op_type=op_type, payload=payload, **kw)


def undo(bp: Blueprint, user: Any, **kw: Any) -> UndoResult:
    return undo_step(blueprint_id=bp.pk, actor=user, **kw)


def redo(bp: Blueprint, user: Any, **kw: Any) -> UndoResult:
    return undo_step(blueprint_id=bp.pk, actor=user, redo=True, **kw)


def rev_of(bp: Blueprint) -> int:
    return Blueprint.objects.get(pk=bp.pk).rev


def states(bp: Blueprint, user: Any) -> list[str]:
    return list(
        UndoStep.objects.filter(blueprint=bp, user=user).order_by("pk").values_list("state", flat=True)
    )


# --- Undo restores, redo reapplies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("op_type", "payload"), OPERATIONS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(OPERATIONS)]
)
def test_undoing_any_operation_restores_the_board_and_redoing_it_reapplies_it(
    board: Blueprint, users: dict[str, Any], op_type: str, payload: dict[str, Any]
) -> None:
    editor = users["editor"]
    before = snapshot(board)
    edit(board, editor, op_type, payload)
    after = snapshot(board)

    undone = undo(board, editor)
    assert undone.done, undone.message
    assert snapshot(board) == before
    assert undone.rev == rev_of(board) == undone.records[-1].rev

    redone = redo(board, editor)
    assert redone.done, redone.message
    assert snapshot(board) == after

    assert undo(board, editor).done  # and the redone step can be undone again
    assert snapshot(board) == before


def test_an_undo_is_logged_as_operations_by_the_user_that_say_what_they_did(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = users["editor"]
    edit(board, editor, "offer.move", {"key": "welcome", "stage": "onboarding"})
    rev = rev_of(board)

    result = undo(board, editor)

    assert result.message == "Undid: moved offer 'Welcome bonus' to Onboarding"
    [record] = result.records
    assert (record.rev, record.actor, record.type) == (rev + 1, editor, "offer.move")
    assert record.summary == "moved offer 'Welcome bonus' to Awareness (undo)"
    assert Operation.objects.get(blueprint=board, rev=rev + 1).pk == record.pk
    again = redo(board, editor)
    assert again.message == "Redid: moved offer 'Welcome bonus' to Onboarding"
    assert again.records[0].summary == "moved offer 'Welcome bonus' to Onboarding (redo)"


def test_undoing_a_stage_delete_brings_back_the_stage_and_its_offers_in_order(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = users["editor"]
    before = snapshot(board)
    edit(board, editor, "stage.delete", {"key": "awareness"})
    assert order(board) == [("onboarding", ["app_tour"])]

    result = undo(board, editor)

    assert result.message == "Undid: deleted stage 'Awareness' and its 2 offers"
    assert [(r.type, r.payload["key"]) for r in result.records] == [
        ("stage.create", "awareness"),
        ("offer.create", "welcome"),
        ("offer.create", "gold_card"),
    ]
    assert [r.rev for r in result.records] == sorted(r.rev for r in result.records)
    assert order(board) == [("awareness", ["welcome", "gold_card"]), ("onboarding", ["app_tour"])]
    assert snapshot(board) == before

    redone = redo(board, editor)
    assert [(r.type, r.payload["key"]) for r in redone.records] == [
        ("offer.delete", "gold_card"),
        ("offer.delete", "welcome"),
        ("stage.delete", "awareness"),
    ]
    assert order(board) == [("onboarding", ["app_tour"])]
    undo(board, editor)
    assert snapshot(board) == before


def test_undo_goes_back_through_the_users_edits_newest_first_and_redo_forward_again(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = users["editor"]
    edit(board, editor, "offer.update", {"key": "welcome", "name": "One"})
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Two"})
    edit(board, editor, "offer.move", {"key": "welcome", "stage": "onboarding"})

    def welcome() -> tuple[str, str]:
        offer = Offer.objects.select_related("stage").get(key="welcome")
        return offer.name, offer.stage.key

    assert welcome() == ("Two", "onboarding")
    assert undo(board, editor).done and welcome() == ("Two", "awareness")
    assert undo(board, editor).done and welcome() == ("One", "awareness")
    assert undo(board, editor).done and welcome() == ("Welcome bonus", "awareness")
    assert undo(board, editor) == UndoResult(False, "Nothing to undo.", [], rev_of(board))
    assert redo(board, editor).done and welcome() == ("One", "awareness")
    assert redo(board, editor).done and welcome() == ("Two", "awareness")
    assert redo(board, editor).done and welcome() == ("Two", "onboarding")
    assert redo(board, editor) == UndoResult(False, "Nothing to redo.", [], rev_of(board))


# --- Stacks are per user ------------------------------------------------------------------------------


def test_an_editors_undo_never_touches_the_owners_changes(board: Blueprint, users: dict[str, Any]) -> None:
    owner, editor = users["owner"], users["editor"]
    edit(board, owner, "stage.update", {"key": "onboarding", "name": "Owner's onboarding"})
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Editor's welcome"})
    edit(board, owner, "offer.update", {"key": "app_tour", "name": "Owner's tour"})

    assert undo(board, editor).message == "Undid: edited offer 'Editor's welcome'"
    assert Offer.objects.get(key="welcome").name == "Welcome bonus"
    assert undo(board, editor).message == "Nothing to undo."
    assert Stage.objects.get(key="onboarding").name == "Owner's onboarding"
    assert Offer.objects.get(key="app_tour").name == "Owner's tour"

    assert undo(board, owner).message == "Undid: edited offer 'Owner's tour'"
    assert undo(board, owner).message == "Undid: edited stage 'Owner's onboarding'"


def test_a_new_edit_clears_the_users_redo_stack_but_not_anyone_elses(
    board: Blueprint, users: dict[str, Any]
) -> None:
    owner, editor = users["owner"], users["editor"]
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Editor's welcome"})
    edit(board, owner, "offer.update", {"key": "app_tour", "name": "Owner's tour"})
    undo(board, editor)
    undo(board, owner)

    edit(board, editor, "offer.update", {"key": "gold_card", "name": "Gold"})

    assert redo(board, editor).message == "Nothing to redo."
    assert states(board, editor) == ["dropped", "done"]
    assert redo(board, owner).done
    assert Offer.objects.get(key="app_tour").name == "Owner's tour"


def test_edits_by_the_system_and_retried_client_ids_go_on_no_stack(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = users["editor"]
    edit(board, None, "offer.update", {"key": "welcome", "name": "System"})
    operations_apply(blueprint_id=board.pk, actor=editor, operations=[("stage.create", {"name": "Bulk"})])
    first = edit(board, editor, "stage.create", {"name": "Once"}, client_id="c-1")
    again = edit(board, editor, "stage.create", {"name": "Once"}, client_id="c-1")
    assert again.pk == first.pk
    assert list(UndoStep.objects.filter(blueprint=board).values_list("operations", flat=True)) == [[first.pk]]


# --- Someone else changed it since ------------------------------------------------------------------


def test_a_step_someone_else_changed_since_is_skipped_and_the_next_undo_goes_further_back(
    board: Blueprint, users: dict[str, Any]
) -> None:
    owner, editor = users["owner"], users["editor"]
    edit(board, editor, "offer.update", {"key": "gold_card", "name": "Gold card plus"})
    edit(board, editor, "offer.move", {"key": "welcome", "stage": "onboarding"})
    edit(board, owner, "offer.update", {"key": "welcome", "description": "The owner's words"})
    before, rev = snapshot(board), rev_of(board)

    skipped = undo(board, editor)

    assert not skipped.done
    assert skipped.message == (
        "Skipped undoing “moved offer 'Welcome bonus' to Onboarding”: owner changed it since."
    )
    assert (snapshot(board), rev_of(board)) == (before, rev)
    assert states(board, editor) == ["done", "skipped"]
    assert redo(board, editor).message == "Nothing to redo."  # skipped is off both stacks

    further = undo(board, editor)
    assert further.message == "Undid: edited offer 'Gold card plus'"
    assert Offer.objects.get(key="gold_card").name == "Gold card"
    assert Offer.objects.get(key="welcome").stage.key == "onboarding"


def test_a_change_by_the_system_blocks_an_undo_too_and_names_someone(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = users["editor"]
    edit(board, editor, "stage.update", {"key": "awareness", "name": "Discover"})
    edit(board, None, "stage.move", {"key": "awareness", "after": "onboarding"})
    assert (
        undo(board, editor).message == "Skipped undoing “edited stage 'Discover'”: someone changed it since."
    )
    assert Stage.objects.get(key="awareness").name == "Discover"


def test_the_users_own_later_edits_do_not_block_their_undo(board: Blueprint, users: dict[str, Any]) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "offer.move", {"key": "welcome", "stage": "onboarding"})
    edit(board, owner, "offer.update", {"key": "app_tour", "name": "Unrelated"})
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Moved and renamed"})
    assert undo(board, editor).done
    assert undo(board, editor).done
    assert order(board) == [("awareness", ["welcome", "gold_card"]), ("onboarding", ["app_tour"])]


def test_undoing_a_new_stage_never_deletes_a_card_someone_else_put_in_it(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "stage.create", {"key": "retention", "name": "Retention"})
    edit(board, owner, "offer.create", {"stage": "retention", "key": "loyalty", "name": "Loyalty"})
    result = undo(board, editor)
    assert result.message == "Skipped undoing “added stage 'Retention'”: owner changed it since."
    assert Offer.objects.filter(key="loyalty", stage__key="retention").exists()


def test_a_deleted_stages_offers_are_its_targets(board: Blueprint, users: dict[str, Any]) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "stage.delete", {"key": "awareness"})
    edit(board, owner, "offer.create", {"stage": "onboarding", "key": "welcome", "name": "A new welcome"})
    result = undo(board, editor)
    assert result.message == (
        "Skipped undoing “deleted stage 'Awareness' and its 2 offers”: owner changed it since."
    )
    assert order(board) == [("onboarding", ["app_tour", "welcome"])]


def test_an_unrelated_change_by_someone_else_does_not_block(board: Blueprint, users: dict[str, Any]) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "offer.create", {"stage": "awareness", "key": "mine", "name": "Mine"})
    edit(board, owner, "offer.create", {"stage": "awareness", "key": "theirs", "name": "Theirs"})
    edit(board, owner, "stage.update", {"key": "awareness", "name": "Renamed by the owner"})
    assert undo(board, editor).done
    assert order(board)[0] == ("awareness", ["welcome", "gold_card", "theirs"])


def test_a_redo_is_skipped_when_someone_else_changed_it_since_the_undo(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Editor's name"})
    undo(board, editor)
    edit(board, owner, "offer.update", {"key": "welcome", "name": "Owner's name"})
    result = redo(board, editor)
    assert result.message == "Skipped redoing “edited offer 'Editor's name'”: owner changed it since."
    assert Offer.objects.get(key="welcome").name == "Owner's name"


def test_an_inverse_that_no_longer_validates_is_skipped_and_changes_nothing(
    board: Blueprint, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "stage.delete", {"key": "awareness"})
    # gold_card's condition is on 'segment'; with its stage gone nothing uses it, so it may go.
    edit(board, owner, "attribute.delete", {"key": "segment"})
    before, rev, count = snapshot(board), rev_of(board), Operation.objects.count()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = undo(board, editor)

    assert not result.done
    assert result.message.startswith("Skipped undoing “deleted stage 'Awareness' and its 2 offers”: ")
    assert "segment" in result.message
    # the stage and the first offer were recreated before the failure, and rolled back with it
    assert (snapshot(board), rev_of(board), Operation.objects.count()) == (before, rev, count)
    assert callbacks == []  # nothing rolled back is broadcast
    assert states(board, editor) == ["skipped"]
    assert undo(board, editor).message == "Nothing to undo."


# --- Who may, retries, broadcasts -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_readers_cannot_undo(board: Blueprint, users: dict[str, Any], role: str) -> None:
    with pytest.raises(Forbidden) as caught:
        undo(board, users[role])
    assert f"Your role is {role}" in caught.value.message
    with pytest.raises(Forbidden):
        redo(board, users[role])


@pytest.mark.parametrize("who", ["stranger", "nobody"])
def test_a_non_member_is_told_the_blueprint_does_not_exist(
    board: Blueprint, users: dict[str, Any], who: str
) -> None:
    with pytest.raises(NotFound):
        undo(board, users.get(who))
    with pytest.raises(NotFound):
        undo_step(blueprint_id=board.pk + 1000, actor=users["owner"])


def test_an_editor_demoted_to_viewer_can_no_longer_undo(board: Blueprint, users: dict[str, Any]) -> None:
    editor = users["editor"]
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Mine"})
    board.memberships.filter(user=editor).update(role="viewer")
    with pytest.raises(Forbidden):
        undo(board, editor)
    assert Offer.objects.get(key="welcome").name == "Mine"


def test_a_retried_undo_with_the_same_client_id_undoes_once(board: Blueprint, users: dict[str, Any]) -> None:
    editor = users["editor"]
    edit(board, editor, "offer.update", {"key": "welcome", "name": "One"})
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Two"})
    first = undo(board, editor, client_id="u-1")
    again = undo(board, editor, client_id="u-1")
    assert (again.done, again.message) == (True, "Undid: edited offer 'Two'")
    assert [r.pk for r in again.records] == [r.pk for r in first.records]
    assert Offer.objects.get(key="welcome").name == "One"
    # redone and undone again since: the old request still answers what it did, and does nothing
    redo(board, editor, client_id="r-1")
    undo(board, editor, client_id="u-2")
    assert undo(board, editor, client_id="u-1").message == "Already undone."
    assert Offer.objects.get(key="welcome").name == "One"


def test_a_retried_skipped_undo_is_not_applied_to_the_next_step(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor, owner = users["editor"], users["owner"]
    edit(board, editor, "offer.update", {"key": "gold_card", "name": "Older"})
    edit(board, editor, "offer.update", {"key": "welcome", "name": "Newer"})
    edit(board, owner, "offer.update", {"key": "welcome", "channel": "email"})
    first = undo(board, editor, client_id="u-1")
    again = undo(board, editor, client_id="u-1")
    assert (again.done, again.message) == (False, first.message)
    assert Offer.objects.get(key="gold_card").name == "Older"


def test_a_client_id_of_another_operation_is_a_conflict(board: Blueprint, users: dict[str, Any]) -> None:
    editor = users["editor"]
    edit(board, users["owner"], "offer.update", {"key": "welcome", "name": "X"}, client_id="owners")
    edit(board, editor, "offer.update", {"key": "gold_card", "name": "Y"}, client_id="editors")
    for client_id in ("owners", "editors"):
        with pytest.raises(Conflict):
            undo(board, editor, client_id=client_id)
    undo(board, editor, client_id="undo-1")
    with pytest.raises(Conflict):
        redo(board, editor, client_id="undo-1")  # an undo's id is not a redo's
    assert Offer.objects.get(key="gold_card").name == "Gold card"


def test_undo_records_are_broadcast_one_by_one_after_commit(
    board: Blueprint,
    users: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []

    class Layer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            assert group == f"board-{board.pk}.operations"
            sent.append(message)

    monkeypatch.setattr("blueprint.services.broadcast.get_channel_layer", lambda: Layer())
    editor = users["editor"]
    edit(board, editor, "stage.delete", {"key": "awareness"})
    sent.clear()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = undo(board, editor)
    assert sent == []  # nothing is said before the commit
    for callback in callbacks:
        callback()
    assert [(m["type"], m["rev"], m["operation_id"]) for m in sent] == [
        ("board.operation", r.rev, r.pk) for r in result.records
    ]
    assert len(sent) == 3


# --- Undo of a move, after others moved the cards around it -----------------------------------


def awareness(bp: Blueprint) -> list[str]:
    return dict(order(bp))["awareness"]


def test_undoing_a_move_puts_the_card_back_after_someone_moved_its_old_neighbour(
    board: Blueprint, users: dict[str, Any]
) -> None:
    # the inverse names the neighbours the card stood between and its old rank: the neighbour it
    # stood after has moved away since, so its rank says where it was
    editor, owner = users["editor"], users["owner"]
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={"stage": "awareness", "key": "third", "name": "Third"},
    )
    assert awareness(board) == ["welcome", "gold_card", "third"]
    operation_apply(
        blueprint_id=board.pk,
        actor=editor,
        op_type="offer.move",
        payload={"key": "third", "stage": "awareness", "before": "welcome"},
    )
    operation_apply(
        blueprint_id=board.pk,
        actor=owner,
        op_type="offer.move",
        payload={"key": "gold_card", "stage": "awareness", "before": "third"},
    )
    assert awareness(board) == ["gold_card", "third", "welcome"]
    result = undo_step(blueprint_id=board.pk, actor=editor)
    assert result.done, result.message
    assert Operation.objects.filter(blueprint=board, summary__endswith="(undo)").count() == 1
    assert awareness(board) == ["gold_card", "welcome", "third"]


def test_undoing_a_move_goes_back_between_its_old_neighbours_while_they_stand_together(
    board: Blueprint, users: dict[str, Any]
) -> None:
    # others moved the card's old neighbours, together, to the end: the card goes back between them
    # (its old rank would now put it first)
    editor, owner = users["editor"], users["owner"]
    for key in ("third", "fourth"):
        operation_apply(
            blueprint_id=board.pk,
            actor=None,
            op_type="offer.create",
            payload={"stage": "awareness", "key": key, "name": key.title()},
        )
    assert awareness(board) == ["welcome", "gold_card", "third", "fourth"]
    operation_apply(
        blueprint_id=board.pk,
        actor=editor,
        op_type="offer.move",
        payload={"key": "gold_card", "stage": "awareness"},
    )
    for key in ("welcome", "third"):
        operation_apply(
            blueprint_id=board.pk,
            actor=owner,
            op_type="offer.move",
            payload={"key": key, "stage": "awareness"},
        )
    assert awareness(board) == ["fourth", "gold_card", "welcome", "third"]
    assert undo_step(blueprint_id=board.pk, actor=editor).done
    assert awareness(board) == ["fourth", "welcome", "gold_card", "third"]


def test_a_move_names_one_neighbour_unless_it_is_an_undo(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="either before or after"):
        operation_apply(
            blueprint_id=board.pk,
            actor=users["editor"],
            op_type="offer.move",
            payload={"key": "welcome", "stage": "awareness", "before": "gold_card", "after": "gold_card"},
        )
