"""The versions API (docs/architecture.md, "Versions and approval"): versions list/create/detail,
approve, reject, diff, restore, and the approval policy on the blueprint, for each role and with bad
input."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Version
from blueprint.services import operation_apply
from tests.blueprint.test_api import assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def url(board: Blueprint, rest: str = "") -> str:
    return f"/api/v1/blueprints/{board.pk}/versions/{rest}"


def publish(as_role: Any, board: Blueprint, who: str = "editor", note: str = "") -> dict[str, Any]:
    response = as_role(who).post(url(board), {"note": note}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def rename_welcome(board: Blueprint, name: str) -> None:
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": name}
    )


def test_publishing_answers_the_new_version_in_review(as_role: Any, board: Blueprint) -> None:
    body = publish(as_role, board, note="First cut")
    assert body["number"] == 1 and body["status"] == "in_review" and body["live"] is False
    assert body["note"] == "First cut" and body["author"] == "editor"
    assert body["approvals"] == [] and body["approvals_needed"] == 1 and body["approvals_count"] == 0
    assert body["content_hash"].startswith("sha256:")
    assert [s["key"] for s in body["snapshot"]["stages"]] == ["awareness", "onboarding"]


@pytest.mark.parametrize("role", ["approver", "viewer"])
def test_readers_do_not_publish(as_role: Any, board: Blueprint, role: str) -> None:
    assert_error(as_role(role).post(url(board), {}, format="json"), 403, "non_field_errors", "publish")
    assert not Version.objects.exists()


def test_strangers_and_the_anonymous_get_404_and_401(as_role: Any, board: Blueprint) -> None:
    assert_error(as_role("stranger").get(url(board)), 404, "blueprint")
    assert_error(as_role("stranger").post(url(board), {}, format="json"), 404, "blueprint")
    assert APIClient().get(url(board)).status_code == 401


def test_publishing_is_refused_with_the_lint_errors(as_role: Any, board: Blueprint) -> None:
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={"stage": "awareness", "key": "twin", "name": "Twin",
                 "groups": [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]]},
    )  # fmt: skip
    response = as_role("editor").post(url(board), {"note": "x"}, format="json")
    messages = assert_error(response, 400, "lint")
    assert "Twin" in messages and "Welcome bonus" in messages
    assert not Version.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"note": 5}, "note"), ({"note": "x" * 5001}, "note"), ({"number": 3}, "number"), (["note"], "body")],
)
def test_bad_publish_bodies_name_the_field(as_role: Any, board: Blueprint, body: Any, field: str) -> None:
    assert_error(as_role("editor").post(url(board), body, format="json"), 400, field)
    assert not Version.objects.exists()


def test_the_list_marks_the_live_version(as_role: Any, board: Blueprint) -> None:
    publish(as_role, board)
    as_role("approver").post(url(board, "1/approve/"), {"comment": "Fine"}, format="json")
    rename_welcome(board, "Welcome gift")
    publish(as_role, board, who="owner")
    listed = as_role("viewer").get(url(board))
    assert listed.status_code == 200
    rows = listed.json()
    assert [(r["number"], r["status"], r["live"], r["approvals_count"]) for r in rows] == [
        (2, "in_review", False, 0),
        (1, "approved", True, 1),
    ]
    assert "snapshot" not in rows[0]


def test_a_version_answers_its_snapshot_status_and_approvals(as_role: Any, board: Blueprint) -> None:
    publish(as_role, board)
    approved = as_role("approver").post(url(board, "1/approve/"), {"comment": "Ship it"}, format="json")
    assert approved.status_code == 200
    body = as_role("viewer").get(url(board, "1/")).json()
    assert body["status"] == "approved" and body["live"] is True and body["decided_at"]
    [approval] = body["approvals"]
    assert (
        approval["user"] == "approver"
        and approval["decision"] == "approve"
        and approval["comment"] == "Ship it"
    )
    assert approval["created_at"]
    assert body["snapshot"]["format"] == "blueprint-snapshot/1"


def test_unknown_versions_are_json_404s(as_role: Any, board: Blueprint) -> None:
    assert_error(as_role("viewer").get(url(board, "7/")), 404, "number")
    assert_error(as_role("approver").post(url(board, "7/approve/"), {}, format="json"), 404, "number")
    zero = as_role("viewer").get(url(board, "0/"))
    assert zero.status_code == 404 and zero.json()["errors"]


def test_approving_and_rejecting_follow_the_roles(as_role: Any, board: Blueprint) -> None:
    publish(as_role, board, who="owner")
    assert_error(
        as_role("owner").post(url(board, "1/approve/"), {}, format="json"), 403, "number", "four eyes"
    )
    assert_error(as_role("editor").post(url(board, "1/approve/"), {}, format="json"), 403, "non_field_errors")
    assert_error(
        as_role("viewer").post(url(board, "1/reject/"), {"comment": "No"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(as_role("approver").post(url(board, "1/reject/"), {}, format="json"), 400, "comment", "why")
    assert_error(
        as_role("approver").post(url(board, "1/reject/"), {"comment": ["x"]}, format="json"), 400, "comment"
    )
    rejected = as_role("approver").post(
        url(board, "1/reject/"), {"comment": "Gold misses Platinum"}, format="json"
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert_error(
        as_role("approver").post(url(board, "1/approve/"), {}, format="json"),
        409,
        "status",
        "already rejected",
    )


def test_the_diff_against_live_draft_and_another_version(as_role: Any, board: Blueprint) -> None:
    publish(as_role, board)
    first = as_role("viewer").get(url(board, "1/diff/"))
    assert first.status_code == 200
    body = first.json()
    assert body["version"] == 1 and body["against"] == {
        "against": "live", "label": "nothing live yet", "version": None, "content_hash": None
    }  # fmt: skip
    assert any(s.startswith("New offer 'Welcome bonus' in 'Awareness'") for s in body["sentences"])
    as_role("approver").post(url(board, "1/approve/"), {}, format="json")

    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "gold_card", "groups": [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum", "Silver"]}]]},
    )  # fmt: skip
    publish(as_role, board)
    body = as_role("viewer").get(url(board, "2/diff/?against=live")).json()
    assert body["against"]["version"] == 1 and body["against"]["label"] == "the live version 1"
    assert body["sentences"] == ["'Gold card' now also reaches customers whose segment is Silver"]
    [change] = body["changes"]
    assert {k: change[k] for k in ("kind", "stage", "offer", "field")} == {
        "kind": "offer.conditions", "stage": "awareness", "offer": "gold_card", "field": "groups"
    }  # fmt: skip
    assert change["before"]["value"] == ["Gold", "Platinum"] and "Silver" in change["after"]["value"]
    assert body["sections"] == [
        {
            "part": "stage",
            "stage": "awareness",
            "title": "Awareness",
            "removed": False,
            "sentences": body["sentences"],
        }
    ]
    assert as_role("viewer").get(url(board, "2/diff/?against=1")).json()["sentences"] == body["sentences"]
    assert as_role("viewer").get(url(board, "2/diff/?against=draft")).json()["sentences"] == []
    rename_welcome(board, "Welcome gift")
    assert as_role("viewer").get(url(board, "2/diff/?against=draft")).json()["sentences"] == [
        "'Welcome gift' renamed to 'Welcome bonus'"  # from the draft to the version: what restoring does
    ]


@pytest.mark.parametrize(
    ("against", "status", "field"), [("nope", 400, "against"), ("0", 400, "against"), ("9", 404, "against")]
)
def test_a_bad_against_names_it(
    as_role: Any, board: Blueprint, against: str, status: int, field: str
) -> None:
    publish(as_role, board)
    assert_error(as_role("viewer").get(url(board, f"1/diff/?against={against}")), status, field)


def test_restoring_through_the_api(as_role: Any, board: Blueprint) -> None:
    publish(as_role, board)
    rename_welcome(board, "Welcome gift")
    assert_error(
        as_role("approver").post(url(board, "1/restore/"), {}, format="json"), 403, "non_field_errors"
    )
    restored = as_role("editor").post(url(board, "1/restore/"), {}, format="json")
    assert restored.status_code == 200
    body = restored.json()
    assert body["done"] is True and [op["type"] for op in body["operations"]] == ["offer.update"]
    assert body["operations"][0]["summary"].endswith("(restoring version 1)")
    again = as_role("editor").post(url(board, "1/restore/"), {}, format="json").json()
    assert again["done"] is False and "nothing to restore" in again["message"]
    undo = as_role("editor").post(f"/api/v1/blueprints/{board.pk}/undo/", {}, format="json").json()
    assert undo["done"] and undo["message"] == "Undid: restored version 1"
    assert_error(as_role("editor").post(url(board, "1/restore/"), {"x": 1}, format="json"), 400, "x")


def test_the_owner_sets_the_approval_policy_through_the_blueprint(as_role: Any, board: Blueprint) -> None:
    detail = f"/api/v1/blueprints/{board.pk}/"
    assert as_role("viewer").get(detail).json()["approval_policy"] == 1
    rev = Blueprint.objects.get(pk=board.pk).rev
    changed = as_role("owner").patch(detail, {"approval_policy": 2}, format="json")
    assert changed.status_code == 200 and changed.json()["approval_policy"] == 2
    assert Blueprint.objects.get(pk=board.pk).rev == rev  # a setting, not an edit of the board
    assert as_role("viewer").get("/api/v1/blueprints/").json()[0]["approval_policy"] == 2
    assert publish(as_role, board)["approvals_needed"] == 2
    assert_error(
        as_role("editor").patch(detail, {"approval_policy": 3}, format="json"),
        403,
        "non_field_errors",
        "owner",
    )
    assert_error(
        as_role("owner").patch(detail, {"approval_policy": 0}, format="json"), 400, "approval_policy"
    )
    assert_error(
        as_role("owner").patch(detail, {"approval_policy": "2"}, format="json"), 400, "approval_policy"
    )
    # both at once, in one transaction: a bad name leaves the policy as it was
    assert_error(
        as_role("owner").patch(detail, {"approval_policy": 4, "name": ""}, format="json"), 400, "name"
    )
    assert Blueprint.objects.get(pk=board.pk).approval_policy == 2
    both = as_role("owner").patch(detail, {"approval_policy": 4, "name": "Renamed"}, format="json").json()
    assert (both["approval_policy"], both["name"]) == (4, "Renamed")
