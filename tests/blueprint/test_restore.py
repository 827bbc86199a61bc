"""Restoring a version into the draft: ordinary operations, one transaction, logged, broadcast, and
one undo step for the person who restored. Hypothesis checks the law behind it on random boards:
restoring any version gives the draft that version's content, and one undo gives back the draft."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.models import Blueprint, Operation, UndoStep, Version
from blueprint.restore import restore_plan, without_catalog_order
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import operation_apply, undo_step, version_restore
from blueprint.snapshots import snapshot_hash
from decisioning.errors import BlueprintError, Forbidden, NotFound

pytestmark = pytest.mark.django_db


def draft(board: Blueprint) -> dict[str, Any]:
    return board_snapshot(board_load(Blueprint.objects.get(pk=board.pk)))


def keep(board: Blueprint, users: dict[str, Any]) -> Version:
    """The draft as a version, without the lint gate (restore does not care how a version came to be)."""
    snapshot = draft(board)
    number = Version.objects.filter(blueprint=board).count() + 1
    return Version.objects.create(
        blueprint=board,
        number=number,
        snapshot=snapshot,
        content_hash=snapshot_hash(snapshot),
        author=users["editor"],
        rev=Blueprint.objects.get(pk=board.pk).rev,
    )


def edit(board: Blueprint, op_type: str, payload: dict[str, Any], actor: Any = None) -> None:
    operation_apply(blueprint_id=board.pk, actor=actor, op_type=op_type, payload=payload)


def test_restoring_gives_the_draft_the_versions_content_in_one_undo_step(
    board: Blueprint, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    version = keep(board, users)
    editor = users["editor"]
    edit(board, "offer.update", {"key": "welcome", "name": "Welcome gift"}, editor)
    edit(board, "offer.move", {"key": "app_tour", "stage": "awareness", "before": "welcome"}, editor)
    edit(board, "stage.create", {"key": "retention", "name": "Retention"}, editor)
    edit(board, "attribute.update", {"key": "segment", "choices": ["Gold", "Platinum"]}, editor)
    edit(board, "blueprint.update", {"name": "Renamed"}, editor)
    changed = draft(board)
    rev = Blueprint.objects.get(pk=board.pk).rev

    with django_capture_on_commit_callbacks() as broadcasts:
        result = version_restore(blueprint_id=board.pk, number=version.number, actor=users["owner"])
    assert result.done and "Restored version 1" in result.message
    assert draft(board) == version.snapshot
    records = list(Operation.objects.filter(blueprint=board, rev__gt=rev).order_by("rev"))
    assert records == result.records and len(records) >= 5
    assert all(r.actor == users["owner"] and r.summary.endswith("(restoring version 1)") for r in records)
    assert len(broadcasts) == len(records)  # each operation is broadcast after commit, like any edit
    steps = UndoStep.objects.filter(blueprint=board, user=users["owner"])
    assert [(s.summary, s.operations) for s in steps] == [("restored version 1", [r.pk for r in records])]

    undone = undo_step(blueprint_id=board.pk, actor=users["owner"])
    assert undone.done and undone.message == "Undid: restored version 1"
    assert without_catalog_order(draft(board)) == without_catalog_order(changed)


def test_restoring_a_version_equal_to_the_draft_does_nothing_and_says_so(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version = keep(board, users)
    rev = Blueprint.objects.get(pk=board.pk).rev
    result = version_restore(blueprint_id=board.pk, number=version.number, actor=users["editor"])
    assert not result.done and result.records == []
    assert result.message == "The draft already has the content of version 1; nothing to restore."
    assert Blueprint.objects.get(pk=board.pk).rev == rev
    assert not UndoStep.objects.filter(user=users["editor"]).exists()


@pytest.mark.parametrize(
    ("role", "error"), [("approver", Forbidden), ("viewer", Forbidden), ("stranger", NotFound)]
)
def test_only_editors_and_owners_restore(
    board: Blueprint, users: dict[str, Any], role: str, error: type
) -> None:
    version = keep(board, users)
    edit(board, "offer.delete", {"key": "welcome"})
    with pytest.raises(error):
        version_restore(blueprint_id=board.pk, number=version.number, actor=users[role])
    assert "welcome" not in str(draft(board))


def test_an_unknown_version_is_not_found(board: Blueprint, users: dict[str, Any]) -> None:
    with pytest.raises(NotFound) as refused:
        version_restore(blueprint_id=board.pk, number=3, actor=users["editor"])
    assert "number" in refused.value.problems


def test_fallbacks_can_trade_stages_and_types_can_change(board: Blueprint, users: dict[str, Any]) -> None:
    edit(board, "offer.create", {"stage": "awareness", "key": "hello", "name": "Hello", "fallback": True})
    edit(board, "offer.create", {"stage": "onboarding", "key": "bye", "name": "Bye", "fallback": True})
    edit(
        board,
        "offer.update",
        {"key": "welcome", "groups": [[{"attribute": "city", "operator": "is", "value": "Cork"}]]},
    )
    version = keep(board, users)
    # the draft swaps the fallbacks' stages, retypes city, and drops an attribute the version has
    edit(board, "offer.delete", {"key": "hello"})
    edit(board, "offer.move", {"key": "bye", "stage": "awareness"})
    edit(board, "offer.create", {"stage": "onboarding", "key": "hello", "name": "Hello", "fallback": True})
    edit(board, "offer.update", {"key": "welcome", "groups": []})
    edit(board, "attribute.update", {"key": "city", "type": "choice", "choices": ["Dublin"]})
    edit(
        board,
        "offer.update",
        {"key": "gold_card", "groups": [[{"attribute": "city", "operator": "is", "value": "Dublin"}]]},
    )
    edit(board, "attribute.delete", {"key": "channel"})
    result = version_restore(blueprint_id=board.pk, number=version.number, actor=users["editor"])
    assert result.done
    assert without_catalog_order(draft(board)) == without_catalog_order(version.snapshot)
    assert "another order" in result.message  # channel came back at the end of the catalog


def test_a_plan_that_would_not_reproduce_the_version_changes_nothing(
    board: Blueprint, users: dict[str, Any], monkeypatch: Any
) -> None:
    version = keep(board, users)
    edit(board, "offer.update", {"key": "welcome", "name": "Welcome gift"})
    rev = Blueprint.objects.get(pk=board.pk).rev
    import blueprint.services.versions as versions

    monkeypatch.setattr(
        versions,
        "restore_plan",
        lambda draft, target: [("stage.update", {"key": "awareness", "name": "Oops"})],
    )
    with pytest.raises(BlueprintError, match="could not reproduce"):
        version_restore(blueprint_id=board.pk, number=version.number, actor=users["editor"])
    assert Blueprint.objects.get(pk=board.pk).rev == rev
    assert "Welcome gift" in str(draft(board)) and "Oops" not in str(draft(board))


# --- The law, on random boards -------------------------------------------------------------------------

CONDITIONS = [
    {"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]},
    {"attribute": "segment", "operator": "is", "value": "Silver"},
    {"attribute": "age", "operator": "at_least", "value": 30},
    {"attribute": "age", "operator": "between", "value": [18, 25]},
    {"attribute": "visits_30d", "operator": "at_most", "value": 2},
    {"attribute": "has_app", "operator": "is", "value": True},
    {"attribute": "city", "operator": "is", "value": "Cork"},
    {"attribute": "products", "operator": "includes", "value": "savings"},
]
OFFER_KEYS = ["o1", "o2", "o3", "o4"]
STAGE_KEYS = ["s1", "s2"]


def random_edit(data: Any, board: Blueprint) -> None:
    loaded = board_load(Blueprint.objects.get(pk=board.pk))
    stages = [c.stage.key for c in loaded.stages]
    offers = [card.offer.key for c in loaded.stages for card in c.offers]
    attributes = [a.key for a in loaded.attributes]
    groups = data.draw(st.lists(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=2), max_size=2))
    kind = data.draw(
        st.sampled_from(
            ["offer.update", "offer.create", "offer.delete", "offer.move", "offer.fallback", "stage.create",
             "stage.delete", "stage.move", "stage.entry", "attribute.choices", "attribute.type", "attribute.create",
             "attribute.delete", "blueprint.update"]
        )
    )  # fmt: skip
    pick = lambda items: data.draw(st.sampled_from(items)) if items else None  # noqa: E731
    ops: dict[str, tuple[str, dict[str, Any]] | None] = {
        "offer.update": ("offer.update", {"key": pick(offers), "groups": groups, "name": pick(["A", "B"])}),
        "offer.create": (
            "offer.create",
            {"stage": pick(stages), "key": pick(OFFER_KEYS), "name": "New", "groups": groups, "before": pick(offers)},
        ),
        "offer.delete": ("offer.delete", {"key": pick(offers)}),
        "offer.move": ("offer.move", {"key": pick(offers), "stage": pick(stages), "after": pick(offers)}),
        "offer.fallback": ("offer.update", {"key": pick(offers), "fallback": pick([True, False]), "groups": []}),
        "stage.create": ("stage.create", {"key": pick(STAGE_KEYS), "name": "Stage", "entry": groups[:1]}),
        "stage.delete": ("stage.delete", {"key": pick(stages)}),
        "stage.move": ("stage.move", {"key": pick(stages), "before": pick(stages)}),
        "stage.entry": ("stage.update", {"key": pick(stages), "entry": groups}),
        "attribute.choices": (
            "attribute.update",
            {"key": "segment", "choices": pick([["Bronze", "Silver", "Gold", "Platinum"], ["Gold", "Platinum", "Silver"]])},
        ),
        "attribute.type": (
            "attribute.update",
            pick([{"key": "city", "type": "choice", "choices": ["Cork", "Dublin"]}, {"key": "city", "type": "text", "choices": []}]),
        ),
        "attribute.create": ("attribute.create", {"key": "region", "label": "Region", "type": "text"}),
        "attribute.delete": ("attribute.delete", {"key": pick(attributes)}),
        "blueprint.update": ("blueprint.update", {"name": pick(["One", "Two"]), "channels": pick([["web"], ["app", "web"]]), "stage_mode": pick(["several", "one"])}),
    }  # fmt: skip
    chosen = ops[kind]
    assert chosen is not None
    try:
        with transaction.atomic():
            operation_apply(blueprint_id=board.pk, actor=None, op_type=chosen[0], payload=chosen[1])
    except BlueprintError:
        pass  # an edit the board refuses is no edit: the random walk goes on


@settings(
    max_examples=int(os.environ.get("RESTORE_EXAMPLES", "15")),  # more: RESTORE_EXAMPLES=300
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_restoring_any_version_reproduces_it_and_one_undo_brings_the_draft_back(
    board: Blueprint, users: dict[str, Any], data: Any
) -> None:
    with transaction.atomic():
        for _ in range(data.draw(st.integers(0, 8), label="edits before the version")):
            random_edit(data, board)
        version = keep(board, users)
        for _ in range(data.draw(st.integers(1, 10), label="edits after it")):
            random_edit(data, board)
        before = draft(board)
        plan = restore_plan(before, version.snapshot)
        result = version_restore(blueprint_id=board.pk, number=version.number, actor=users["editor"])
        assert result.done == bool(plan)
        assert without_catalog_order(draft(board)) == without_catalog_order(version.snapshot)
        assert restore_plan(draft(board), version.snapshot) == []  # a second restore has nothing to do
        if result.done:
            undone = undo_step(blueprint_id=board.pk, actor=users["editor"])
            assert undone.done, undone.message
            assert without_catalog_order(draft(board)) == without_catalog_order(before)
        transaction.set_rollback(True)
