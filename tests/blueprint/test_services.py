"""The one edit path: every operation, its validation, its log record and its inverse."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from blueprint.live.hub import operation_hub
from blueprint.live.render import operation_frame
from blueprint.models import Blueprint, Membership, Offer, Operation, Role, Stage
from blueprint.selectors import board_json, board_load
from blueprint.services import (
    blueprint_create,
    blueprint_delete,
    blueprint_duplicate,
    membership_remove,
    membership_set,
    operation_apply,
)
from decisioning.errors import BlueprintError, Conflict, Forbidden, InvalidInput, NotFound


def apply(bp: Blueprint, op_type: str, payload: dict[str, Any], actor: Any = None, **kw: Any) -> Operation:
    return operation_apply(blueprint_id=bp.pk, actor=actor, op_type=op_type, payload=payload, **kw)


def order(bp: Blueprint) -> list[tuple[str, list[str]]]:
    return [(c.stage.key, [card.offer.key for card in c.offers]) for c in board_load(bp).stages]


def snapshot(bp: Blueprint) -> dict[str, Any]:
    bp.refresh_from_db()
    data = board_json(board_load(bp))
    data.pop("rev")
    return data


def undo(bp: Blueprint, record: Operation) -> None:
    for step in record.inverse:
        apply(bp, step["type"], step["payload"])


# --- The log ----------------------------------------------------------------------------------


def test_an_operation_increments_rev_and_is_logged_with_actor_and_inverse(
    board: Blueprint, users: dict[str, Any]
) -> None:
    rev = board.rev
    record = apply(board, "offer.update", {"key": "welcome", "name": "Welcome gift"}, actor=users["editor"])
    board.refresh_from_db()
    assert board.rev == rev + 1 == record.rev
    assert record.actor == users["editor"]
    assert record.type == "offer.update"
    assert record.payload == {"key": "welcome", "name": "Welcome gift"}
    assert record.inverse == [
        {"type": "offer.update", "payload": {"key": "welcome", "name": "Welcome bonus"}}
    ]
    assert record.summary == "edited offer 'Welcome gift'"
    assert list(Operation.objects.filter(blueprint=board).values_list("rev", flat=True)) == list(
        range(1, rev + 2)
    )


def test_a_refused_operation_changes_nothing_and_logs_nothing(board: Blueprint) -> None:
    before = snapshot(board)
    rev, count = board.rev, Operation.objects.count()
    with pytest.raises(InvalidInput):
        apply(board, "offer.update", {"key": "welcome", "name": "", "groups": [[{"attribute": "age"}]]})
    board.refresh_from_db()
    assert (board.rev, Operation.objects.count()) == (rev, count)
    assert snapshot(board) == before


def test_a_retried_operation_with_the_same_client_id_applies_once(
    board: Blueprint, users: dict[str, Any]
) -> None:
    first = apply(board, "stage.create", {"name": "Retention"}, actor=users["editor"], client_id="c-1")
    again = apply(board, "stage.create", {"name": "Retention"}, actor=users["editor"], client_id="c-1")
    assert again.pk == first.pk
    assert Stage.objects.filter(blueprint=board, name="Retention").count() == 1


def test_an_unknown_operation_type_is_refused_listing_the_known_ones(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.explode", {})
    assert "offer.move" in caught.value.problems["type"][0]


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_readers_cannot_apply_operations(board: Blueprint, users: dict[str, Any], role: str) -> None:
    with pytest.raises(Forbidden) as caught:
        apply(board, "stage.create", {"name": "X"}, actor=users[role])
    assert f"Your role is {role}" in caught.value.message


def test_a_non_member_is_told_the_blueprint_does_not_exist(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        apply(board, "stage.create", {"name": "X"}, actor=users["stranger"])


@pytest.mark.parametrize("tabs_here", [True, False], ids=["a tab here", "no tab here"])
def test_an_operation_is_broadcast_to_the_board_group_after_commit(
    board: Blueprint,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    tabs_here: bool,
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    class Layer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            sent.append((group, message))

    monkeypatch.setattr("blueprint.services.broadcast.get_channel_layer", lambda: Layer())
    # whether a tab of this process shows the board (blueprint.live.hub)
    monkeypatch.setattr(operation_hub, "serves", lambda blueprint_id: tabs_here and blueprint_id == board.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = apply(board, "stage.create", {"name": "Retention"})
    assert sent == []  # nothing is said before the commit
    for callback in callbacks:
        callback()
    assert len(sent) == 1
    group, message = sent[0]
    committed_at = message.pop("committed_at")
    # the editors' frame, rendered once where the operation was applied, when this process has a
    # tab on the board; otherwise nothing is rendered in the write path
    frame = json.loads(message.pop("frame")) if tabs_here else None
    assert group == f"board-{board.pk}.operations"
    assert message == {
        "type": "board.operation",
        "blueprint_id": board.pk,
        "rev": record.rev,
        "operation_id": record.pk,
    }
    assert abs(committed_at - time.time()) < 5
    if tabs_here:
        expected = operation_frame(board.pk, record.pk, can_edit=True)
        assert expected is not None
        assert frame == {**expected, "committed_at": committed_at}


# --- Every operation and its inverse ---------------------------------------------------------

OPERATIONS: list[tuple[str, dict[str, Any]]] = [
    ("blueprint.update", {"name": "Retail – app", "channels": ["app", "push"], "description": "New"}),
    ("blueprint.update", {"stage_mode": "one"}),
    (
        "attribute.create",
        {"key": "income", "label": "Income", "type": "number", "unit": "EUR", "kind": "attribute"},
    ),
    (
        "attribute.update",
        {
            "key": "segment",
            "label": "Customer segment",
            "choices": ["Bronze", "Silver", "Gold", "Platinum", "Black"],
        },
    ),
    ("attribute.delete", {"key": "city"}),
    (
        "stage.create",
        {"name": "Retention", "entry": [[{"attribute": "age", "operator": "at_least", "value": 18}]]},
    ),
    ("stage.create", {"key": "first", "name": "First", "before": "awareness"}),
    ("stage.update", {"key": "awareness", "name": "Discover", "description": "Top of funnel", "entry": []}),
    ("stage.move", {"key": "onboarding", "before": "awareness"}),
    ("stage.delete", {"key": "awareness"}),
    (
        "offer.create",
        {
            "stage": "onboarding",
            "name": "Savings nudge",
            "after": "app_tour",
            "groups": [[{"attribute": "products", "operator": "includes", "value": "savings"}]],
        },
    ),
    ("offer.create", {"stage": "onboarding", "name": "Everyone else", "fallback": True}),
    (
        "offer.update",
        {
            "key": "gold_card",
            "name": "Gold card plus",
            "channel": "email",
            "groups": [
                [{"attribute": "segment", "operator": "is", "value": "Gold"}],
                [{"attribute": "age", "operator": "between", "value": [30, 40]}],
            ],
        },
    ),
    ("offer.move", {"key": "gold_card", "stage": "awareness", "before": "welcome"}),
    ("offer.move", {"key": "welcome", "stage": "onboarding"}),
    ("offer.delete", {"key": "welcome"}),
]


@pytest.mark.parametrize(
    ("op_type", "payload"), OPERATIONS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(OPERATIONS)]
)
def test_every_operation_changes_the_board_and_its_inverse_restores_it(
    board: Blueprint, op_type: str, payload: dict[str, Any]
) -> None:
    before = snapshot(board)
    record = apply(board, op_type, payload)
    after = snapshot(board)
    assert after != before
    assert record.summary
    undo(board, record)
    assert snapshot(board) == before


def test_deleting_a_stage_deletes_its_offers_and_undo_brings_them_back_in_order(board: Blueprint) -> None:
    record = apply(board, "stage.delete", {"key": "awareness"})
    assert record.summary == "deleted stage 'Awareness' and its 2 offers"
    assert not Offer.objects.filter(key__in=["welcome", "gold_card"]).exists()
    undo(board, record)
    assert order(board) == [("awareness", ["welcome", "gold_card"]), ("onboarding", ["app_tour"])]


# --- Stages and offers -----------------------------------------------------------------------


def test_a_key_is_derived_from_the_name_and_kept_unique(board: Blueprint) -> None:
    apply(board, "stage.create", {"name": "Win-back & Retention!"})
    apply(board, "stage.create", {"name": "Win-back & Retention!"})
    keys = [c.stage.key for c in board_load(board).stages]
    assert keys[-2:] == ["win_back_retention", "win_back_retention_2"]


@pytest.mark.parametrize("key", ["Has Space", "UPPER", "ü", "a" * 65, 3])
def test_a_key_outside_the_allowed_alphabet_is_refused(board: Blueprint, key: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "stage.create", {"key": key, "name": "X"})
    assert "key" in caught.value.problems


def test_a_duplicate_key_is_refused(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.create", {"stage": "onboarding", "key": "welcome", "name": "Again"})
    assert "already used" in caught.value.problems["key"][0]


def test_keys_are_permanent(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.update", {"key": "welcome", "new_key": "hello"})
    assert "permanent" in caught.value.problems["key"][0]


def test_stages_are_created_at_the_end_or_where_asked(board: Blueprint) -> None:
    apply(board, "stage.create", {"key": "retention", "name": "Retention"})
    apply(board, "stage.create", {"key": "consideration", "name": "Consideration", "after": "awareness"})
    apply(board, "stage.create", {"key": "intro", "name": "Intro", "before": "awareness"})
    assert [key for key, _ in order(board)] == [
        "intro",
        "awareness",
        "consideration",
        "onboarding",
        "retention",
    ]


def test_moving_an_offer_keeps_its_conditions_and_key(board: Blueprint) -> None:
    groups = Offer.objects.get(key="gold_card").groups
    apply(board, "offer.move", {"key": "gold_card", "stage": "onboarding", "after": "app_tour"})
    moved = Offer.objects.get(key="gold_card")
    assert (moved.stage.key, moved.groups) == ("onboarding", groups)
    assert order(board) == [("awareness", ["welcome"]), ("onboarding", ["app_tour", "gold_card"])]


def test_offers_reorder_within_a_stage(board: Blueprint) -> None:
    apply(board, "offer.move", {"key": "gold_card", "stage": "awareness", "before": "welcome"})
    assert order(board)[0] == ("awareness", ["gold_card", "welcome"])
    apply(board, "offer.move", {"key": "gold_card", "stage": "awareness", "after": "welcome"})
    assert order(board)[0] == ("awareness", ["welcome", "gold_card"])


def test_many_moves_to_the_same_place_keep_a_strict_order(board: Blueprint) -> None:
    for i in range(30):
        apply(
            board,
            "offer.create",
            {"stage": "onboarding", "key": f"o{i}", "name": f"O{i}", "before": "app_tour"},
        )
    assert order(board)[1][1] == [*[f"o{i}" for i in range(30)], "app_tour"]
    ranks = [card.offer.rank for card in board_load(board).stages[1].offers]
    assert ranks == sorted(set(ranks))


def test_tied_ranks_are_repaired_before_placing(board: Blueprint) -> None:
    Offer.objects.filter(key__in=["welcome", "gold_card"]).update(rank="a0")
    apply(board, "offer.move", {"key": "app_tour", "stage": "awareness", "after": "welcome"})
    stage = board_load(board).stages[0]
    assert [c.offer.key for c in stage.offers][1] == "app_tour"
    ranks = [c.offer.rank for c in stage.offers]
    assert ranks == sorted(set(ranks))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "welcome", "stage": "nowhere"}, "stage"),
        ({"key": "welcome", "stage": "onboarding", "before": "gold_card"}, "before"),
        ({"key": "welcome", "stage": "onboarding", "before": "app_tour", "after": "app_tour"}, "before"),
        ({"key": "welcome", "stage": "onboarding", "rank": "!!"}, "rank"),
        ({"key": "welcome", "stage": "onboarding", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_move_names_the_field(board: Blueprint, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(BlueprintError) as caught:
        apply(board, "offer.move", payload)
    assert field in caught.value.problems
    assert order(board)[0] == ("awareness", ["welcome", "gold_card"])


def test_an_operation_on_a_deleted_offer_says_so(board: Blueprint) -> None:
    apply(board, "offer.delete", {"key": "welcome"})
    with pytest.raises(NotFound) as caught:
        apply(board, "offer.update", {"key": "welcome", "name": "Hi"})
    assert "may have been deleted" in caught.value.message


def test_a_fallback_has_no_conditions(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(
            board,
            "offer.create",
            {
                "stage": "awareness",
                "name": "Rest",
                "fallback": True,
                "groups": [[{"attribute": "age", "operator": "at_least", "value": 1}]],
            },
        )
    assert "has no conditions" in caught.value.problems["fallback"][0]


def test_a_stage_has_one_fallback_even_when_an_offer_moves_in(board: Blueprint) -> None:
    apply(board, "offer.create", {"stage": "awareness", "key": "rest_a", "name": "Rest A", "fallback": True})
    apply(board, "offer.create", {"stage": "onboarding", "key": "rest_b", "name": "Rest B", "fallback": True})
    with pytest.raises(InvalidInput):
        apply(board, "offer.create", {"stage": "awareness", "name": "Rest again", "fallback": True})
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.move", {"key": "rest_b", "stage": "awareness"})
    assert "already has a fallback offer, 'Rest A'" in caught.value.problems["fallback"][0]


def test_negative_conditions_are_refused_through_the_operation(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(
            board,
            "offer.update",
            {"key": "welcome", "groups": [[{"attribute": "segment", "operator": "is_not", "value": "Gold"}]]},
        )
    assert "Segment is one of Bronze, Silver or Platinum" in caught.value.problems["groups[0][0].operator"][0]


# --- Catalog ---------------------------------------------------------------------------------


def test_an_attribute_in_use_cannot_be_deleted(board: Blueprint) -> None:
    with pytest.raises(Conflict) as caught:
        apply(board, "attribute.delete", {"key": "segment"})
    # the API's readers get the key beside the name; pages leave it out (limits.for_people)
    assert "offer 'Gold card' (key: gold_card)" in caught.value.message


def test_changing_an_attribute_type_that_would_break_a_condition_is_refused(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "attribute.update", {"key": "visits_30d", "type": "text"})
    message = caught.value.problems["type"][0]
    assert message.startswith(
        "Offer 'Welcome bonus' (key: welcome) has a condition this change would break, the first "
        "condition of group 1 (at groups[0][0].operator): "
    )


def test_removing_a_choice_in_use_is_refused(board: Blueprint) -> None:
    with pytest.raises(InvalidInput):
        apply(board, "attribute.update", {"key": "segment", "choices": ["Bronze", "Silver"]})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"label": "Tier", "type": "colour"}, "type"),
        ({"label": "Tier", "type": "choice"}, "choices"),
        ({"label": "Tier", "type": "number", "choices": ["a"]}, "choices"),
        ({"label": "Tier", "type": "text", "kind": "mood"}, "kind"),
        ({"type": "text"}, "label"),
        ({"label": "Segment", "key": "segment", "type": "text"}, "key"),
    ],
)
def test_a_bad_attribute_names_the_field(catalog: Blueprint, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(catalog, "attribute.create", payload)
    assert field in caught.value.problems


# --- Blueprints and members ------------------------------------------------------------------


def test_the_creator_of_a_blueprint_is_its_owner(users: dict[str, Any]) -> None:
    bp = blueprint_create(actor=users["stranger"], name="Mobile onboarding", channels=["app", " ", "app"])
    assert bp.channels == ["app"]
    assert Membership.objects.get(blueprint=bp).role == Role.OWNER


def test_a_blueprint_needs_a_name(users: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        blueprint_create(actor=users["owner"], name="  ")
    assert "name" in caught.value.problems


def test_duplicating_copies_catalog_stages_and_offers_in_order(
    board: Blueprint, users: dict[str, Any]
) -> None:
    copy = blueprint_duplicate(actor=users["viewer"], blueprint_id=board.pk)
    assert copy.name == f"Copy of {board.name}"
    assert Membership.objects.get(blueprint=copy).user == users["viewer"]
    original, copied = snapshot(board), snapshot(copy)
    for data in (original, copied):
        data.pop("id")
        data.pop("name")
        for stage in data["stages"]:
            stage.pop("rank")
            for offer in stage["offers"]:
                offer.pop("rank")
    assert copied == original


def test_only_owners_delete_a_blueprint(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        blueprint_delete(actor=users["editor"], blueprint_id=board.pk)
    blueprint_delete(actor=users["owner"], blueprint_id=board.pk)
    assert not Blueprint.objects.filter(pk=board.pk).exists()


def test_owners_manage_members_and_a_blueprint_keeps_an_owner(
    board: Blueprint, users: dict[str, Any]
) -> None:
    with pytest.raises(Forbidden):
        membership_set(actor=users["editor"], blueprint_id=board.pk, username="stranger", role="viewer")
    membership = membership_set(
        actor=users["owner"], blueprint_id=board.pk, username="stranger", role="viewer"
    )
    assert membership.role == "viewer"
    membership_set(actor=users["owner"], blueprint_id=board.pk, username="stranger", role="editor")
    assert Membership.objects.get(blueprint=board, user=users["stranger"]).role == "editor"
    with pytest.raises(Conflict):
        membership_set(actor=users["owner"], blueprint_id=board.pk, username="owner", role="editor")
    with pytest.raises(Conflict):
        membership_remove(actor=users["owner"], blueprint_id=board.pk, username="owner")
    membership_remove(actor=users["owner"], blueprint_id=board.pk, username="stranger")
    assert not Membership.objects.filter(blueprint=board, user=users["stranger"]).exists()


@pytest.mark.parametrize(
    ("username", "role", "field"),
    [("nobody", "viewer", "username"), ("stranger", "boss", "role"), (None, "viewer", "username")],
)
def test_bad_member_input_names_the_field(
    board: Blueprint, users: dict[str, Any], username: Any, role: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        membership_set(actor=users["owner"], blueprint_id=board.pk, username=username, role=role)
    assert field in caught.value.problems


# --- Review findings: each once a bug ---------------------------------------------------------


def test_ranks_stay_short_however_often_a_card_is_dropped_between_the_same_two(board: Blueprint) -> None:
    apply(board, "offer.create", {"stage": "awareness", "key": "third", "name": "Third"})
    for i in range(399):
        moving = ("welcome", "gold_card")[i % 2]
        apply(board, "offer.move", {"key": moving, "stage": "awareness", "after": "third"})
    before_last = order(board)
    last = apply(board, "offer.move", {"key": "gold_card", "stage": "awareness", "after": "third"})
    ranks = [card.offer.rank for card in board_load(board).stages[0].offers]
    assert ranks == sorted(set(ranks))
    assert max(len(r) for r in ranks) <= 24
    undo(board, last)  # the inverse rank is still accepted, and still means the old place
    assert order(board) == before_last


@pytest.mark.parametrize(
    ("op_type", "payload", "field"),
    [
        ("stage.create", {"name": "a\x00b"}, "name"),
        ("offer.update", {"key": "welcome", "description": "x\x00"}, "description"),
        ("blueprint.update", {"channels": ["web\x00"]}, "channels"),
        ("blueprint.update", {"stage_mode": "first"}, "stage_mode"),
        (
            "offer.update",
            {"key": "welcome", "groups": [[{"attribute": "city", "operator": "is", "value": "a\x00"}]]},
            "groups[0][0].value",
        ),
    ],
)
def test_a_nul_character_is_refused_naming_the_field(
    board: Blueprint, op_type: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, op_type, payload)
    assert field in caught.value.problems


@pytest.mark.parametrize("name", ["groups", "entry"])
def test_null_conditions_are_refused_rather_than_clearing_them(board: Blueprint, name: str) -> None:
    op_type, key = ("offer.update", "welcome") if name == "groups" else ("stage.update", "awareness")
    with pytest.raises(InvalidInput) as caught:
        apply(board, op_type, {"key": key, name: None})
    assert "send []" in caught.value.problems[name][0]


def test_a_client_id_used_by_someone_else_is_a_conflict(board: Blueprint, users: dict[str, Any]) -> None:
    apply(board, "stage.create", {"name": "Mine"}, actor=users["editor"], client_id="shared")
    with pytest.raises(Conflict):
        apply(board, "stage.create", {"name": "Mine"}, actor=users["owner"], client_id="shared")
    with pytest.raises(Conflict):
        apply(board, "offer.delete", {"key": "welcome"}, actor=users["editor"], client_id="shared")
    assert Offer.objects.filter(key="welcome").exists()


@pytest.mark.parametrize("field", ["before", "after"])
def test_a_card_cannot_be_placed_next_to_itself(board: Blueprint, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.move", {"key": "welcome", "stage": "awareness", field: "welcome"})
    assert caught.value.problems[field] == [f"It cannot be placed {field} itself (key: welcome)."]


def test_a_missing_anchor_is_named_in_plain_words(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply(board, "offer.move", {"key": "welcome", "stage": "onboarding", "before": "gold_card"})
    assert caught.value.problems["before"] == [
        "The offer to place it before (key: gold_card) is not in stage 'Onboarding'; "
        "it may have been moved or deleted."
    ]


def test_changing_a_role_only_applies_to_members(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        membership_set(
            actor=users["owner"],
            blueprint_id=board.pk,
            username="stranger",
            role="viewer",
            existing_only=True,
        )
    assert not Membership.objects.filter(blueprint=board, user=users["stranger"]).exists()


def test_channels_must_be_a_list(users: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        blueprint_create(actor=users["owner"], name="X", channels={})
    assert "channels" in caught.value.problems


def test_a_refusal_after_ties_were_found_writes_nothing(board: Blueprint) -> None:
    Offer.objects.filter(key__in=["welcome", "gold_card"]).update(rank="a0")
    with pytest.raises(InvalidInput):
        apply(board, "offer.move", {"key": "app_tour", "stage": "awareness", "after": "nothing"})
    assert set(Offer.objects.filter(key__in=["welcome", "gold_card"]).values_list("rank", flat=True)) == {
        "a0"
    }


def test_undoing_a_move_whose_neighbour_is_gone_falls_back_to_the_old_rank(board: Blueprint) -> None:
    apply(board, "offer.create", {"stage": "awareness", "key": "third", "name": "Third"})
    record = apply(board, "offer.move", {"key": "gold_card", "stage": "onboarding"})
    assert record.inverse[0]["payload"]["after"] == "welcome"
    apply(board, "offer.delete", {"key": "welcome"})
    undo(board, record)
    assert order(board)[0] == ("awareness", ["gold_card", "third"])
