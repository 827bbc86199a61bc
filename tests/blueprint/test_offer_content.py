"""An offer's content and dates (DESIGN §7, issue 16): ``content_ref``, ``starts_on``, ``ends_on``
and ``tags`` through the API, the edit path, undo, the snapshot, restore and import.

The ``board`` fixture (tests/conftest.py): awareness [welcome, gold_card], onboarding [app_tour].
"""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.models import Blueprint, Offer
from blueprint.restore import restore_plan
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import operation_apply, undo_step
from blueprint.snapshots import snapshot_hash
from decisioning.errors import InvalidInput
from decisioning.limits import LIMITS
from tests.blueprint.test_api import assert_error, client_for, url

pytestmark = pytest.mark.django_db

CONTENT = {
    "content_ref": "https://cdn.example.com/gold.png",
    "starts_on": "2027-03-01",
    "ends_on": "2027-06-30",
    "tags": ["summer", " cards ", "summer", ""],
}


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def draft(board: Blueprint) -> dict[str, Any]:
    return board_snapshot(board_load(Blueprint.objects.get(pk=board.pk)))


def edit(board: Blueprint, op_type: str, payload: dict[str, Any], actor: Any = None) -> None:
    operation_apply(blueprint_id=board.pk, actor=actor, op_type=op_type, payload=payload)


def test_the_api_takes_and_answers_an_offers_content_dates_and_tags(board: Blueprint, as_role: Any) -> None:
    api = as_role("editor")
    made = api.post(
        url(board, "stages/awareness/offers/"), {"name": "Spring promo", **CONTENT}, format="json"
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["content_ref"] == CONTENT["content_ref"]
    assert (body["starts_on"], body["ends_on"]) == ("2027-03-01", "2027-06-30")
    assert body["tags"] == ["summer", "cards"]  # stripped, blanks and repeats folded

    got = api.get(url(board, f"offers/{body['key']}/")).json()
    assert {k: got[k] for k in CONTENT} == {k: body[k] for k in CONTENT}
    listed = api.get(url(board)).json()["stages"][0]["offers"]
    assert listed[0]["starts_on"] is None and listed[0]["tags"] == [] and listed[0]["content_ref"] == ""

    patched = api.patch(url(board, f"offers/{body['key']}/"), {"ends_on": None, "tags": []}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["ends_on"] is None and patched.json()["tags"] == []
    assert patched.json()["starts_on"] == "2027-03-01"


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"starts_on": "2027-07-01", "ends_on": "2027-06-30"}, "ends_on", "before the start date"),
        ({"starts_on": "1 March 2027"}, "starts_on", "YYYY-MM-DD"),
        ({"starts_on": "2027-02-30"}, "starts_on", "is not a date"),
        ({"ends_on": "2027-W01-1"}, "ends_on", "is not a date"),
        ({"ends_on": 20270301}, "ends_on", "YYYY-MM-DD"),
        ({"tags": "summer"}, "tags", "list"),
        ({"tags": ["x" * (LIMITS.tag_length + 1)]}, "tags", "tag_length"),
        ({"tags": [f"t{i}" for i in range(LIMITS.tags_per_offer + 1)]}, "tags", "tags_per_offer"),
        ({"content_ref": "x" * (LIMITS.content_ref_length + 1)}, "content_ref", ""),
    ],
)
def test_bad_dates_tags_and_references_are_refused_naming_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], field: str, text: str
) -> None:
    api = as_role("editor")
    made = api.post(url(board, "stages/awareness/offers/"), {"name": "Promo", **body}, format="json")
    assert_error(made, 400, field, text)
    changed = api.patch(url(board, "offers/welcome/"), body, format="json")
    assert_error(changed, 400, field, text)


def test_an_end_date_before_the_kept_start_date_is_refused(board: Blueprint, as_role: Any) -> None:
    api = as_role("editor")
    assert (
        api.patch(url(board, "offers/welcome/"), {"starts_on": "2027-03-01"}, format="json").status_code
        == 200
    )
    assert_error(
        api.patch(url(board, "offers/welcome/"), {"ends_on": "2027-02-28"}, format="json"), 400, "ends_on"
    )
    with pytest.raises(InvalidInput) as refused:
        edit(board, "offer.update", {"key": "welcome", "ends_on": "2027-02-01"})
    assert "ends_on" in refused.value.problems


def test_the_limits_name_the_tags_and_the_content_reference(board: Blueprint, as_role: Any) -> None:
    limits = as_role("viewer").get("/api/v1/limits/").json()
    assert limits["tags_per_offer"] == LIMITS.tags_per_offer
    assert limits["tag_length"] == LIMITS.tag_length
    assert limits["content_ref_length"] == LIMITS.content_ref_length


def test_undo_and_redo_bring_the_content_back(board: Blueprint, users: dict[str, Any]) -> None:
    editor = users["editor"]
    before = draft(board)
    edit(board, "offer.update", {"key": "welcome", **CONTENT}, editor)
    after = draft(board)
    assert after["stages"][0]["offers"][0]["tags"] == ["summer", "cards"]
    assert undo_step(blueprint_id=board.pk, actor=editor).done
    assert draft(board) == before
    assert undo_step(blueprint_id=board.pk, actor=editor, redo=True).done
    assert draft(board) == after

    edit(board, "offer.delete", {"key": "welcome"}, editor)
    assert undo_step(blueprint_id=board.pk, actor=editor).done
    assert draft(board) == after  # the deleted offer comes back with its content


def test_the_snapshot_holds_the_fields_only_when_set_so_old_hashes_stay(board: Blueprint) -> None:
    plain = draft(board)
    assert all(
        not ({"content_ref", "starts_on", "ends_on", "tags"} & set(o))
        for s in plain["stages"]
        for o in s["offers"]
    )
    edit(board, "offer.update", {"key": "welcome", "starts_on": "2027-03-01", "tags": ["summer"]})
    dated = draft(board)["stages"][0]["offers"][0]
    assert dated["starts_on"] == "2027-03-01" and dated["tags"] == ["summer"] and "ends_on" not in dated
    edit(board, "offer.update", {"key": "welcome", "starts_on": None, "tags": []})
    assert snapshot_hash(draft(board)) == snapshot_hash(plain)


def test_restoring_a_version_gives_back_its_content_and_clears_what_it_lacked(board: Blueprint) -> None:
    plain = draft(board)
    edit(board, "offer.update", {"key": "welcome", **CONTENT})
    dated = draft(board)
    plan = restore_plan(dated, plain)
    assert plan == [
        (
            "offer.update",
            {"key": "welcome", "content_ref": "", "starts_on": None, "ends_on": None, "tags": []},
        )
    ]
    for op_type, payload in plan:
        edit(board, op_type, payload)
    assert draft(board) == plain
    for op_type, payload in restore_plan(plain, dated):
        edit(board, op_type, payload)
    assert draft(board) == dated


def test_an_import_keeps_the_content(board: Blueprint, as_role: Any) -> None:
    edit(board, "offer.update", {"key": "gold_card", **CONTENT})
    api = as_role("editor")
    exported = api.get(url(board, "export/?format=json&version=draft")).json()
    made = api.post("/api/v1/blueprints/import/", exported, format="json")
    assert made.status_code == 201, made.content
    copy = Offer.objects.get(blueprint_id=made.json()["id"], key="gold_card")
    assert (copy.content_ref, copy.starts_on, copy.ends_on, copy.tags) == (
        CONTENT["content_ref"],
        "2027-03-01",
        "2027-06-30",
        ["summer", "cards"],
    )
