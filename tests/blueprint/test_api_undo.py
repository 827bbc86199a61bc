"""Undo, redo and the operation log in the JSON API: ``blueprints/{id}/undo/``, ``…/redo/`` and
``…/operations/``, each role, and bad input.

The ``board`` fixture was built by the system (actor null): stages awareness [welcome, gold_card]
and onboarding [app_tour].
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Offer
from blueprint.selectors import board_json, board_load
from blueprint.services import operation_apply
from tests.blueprint.test_api import assert_error, client_for, rev_of, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def board_now(board: Blueprint) -> dict[str, Any]:
    data = board_json(board_load(Blueprint.objects.get(pk=board.pk)))
    data.pop("rev")
    return data


def log_of(client: APIClient, board: Blueprint, query: str = "") -> dict[str, Any]:
    response = client.get(url(board, f"operations/{query}"))
    assert response.status_code == 200, response.content
    return response.json()


# --- Undo and redo -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_undo_reverts_your_last_change_and_redo_makes_it_again(
    board: Blueprint, as_role: Any, role: str
) -> None:
    client = as_role(role)
    before = board_now(board)
    moved = client.post(url(board, "offers/welcome/move/"), {"stage": "onboarding"}, format="json")
    assert moved.status_code == 200
    after = board_now(board)

    response = client.post(url(board, "undo/"))

    assert response.status_code == 200
    body = response.json()
    assert (body["done"], body["message"]) == (True, "Undid: moved offer 'Welcome bonus' to Onboarding")
    assert body["rev"] == rev_of(board)
    [entry] = body["operations"]
    assert entry["rev"] == body["rev"]
    assert (entry["type"], entry["actor"], entry["client_id"]) == ("offer.move", role, "")
    assert entry["payload"]["key"] == "welcome" and entry["payload"]["stage"] == "awareness"
    assert entry["summary"] == "moved offer 'Welcome bonus' to Awareness (undo)"
    assert entry["created_at"]
    assert board_now(board) == before

    redone = client.post(url(board, "redo/"), {}, format="json").json()
    assert (redone["done"], redone["message"]) == (True, "Redid: moved offer 'Welcome bonus' to Onboarding")
    assert board_now(board) == after


def test_with_nothing_to_undo_or_redo_the_answer_says_so(board: Blueprint, as_role: Any) -> None:
    client = as_role("editor")
    for path, message in (("undo/", "Nothing to undo."), ("redo/", "Nothing to redo.")):
        response = client.post(url(board, path))
        assert response.status_code == 200
        assert response.json() == {"done": False, "message": message, "rev": board.rev, "operations": []}


def test_a_skipped_undo_answers_200_with_the_notice_and_changes_nothing(
    board: Blueprint, as_role: Any
) -> None:
    as_role("editor").patch(url(board, "offers/welcome/"), {"name": "Editor's"}, format="json")
    as_role("owner").patch(url(board, "offers/welcome/"), {"name": "Owner's"}, format="json")
    rev = rev_of(board)
    body = as_role("editor").post(url(board, "undo/")).json()
    assert body == {
        "done": False,
        "message": "Skipped undoing “edited offer 'Editor's'”: owner changed it since.",
        "rev": rev,
        "operations": [],
    }
    assert Offer.objects.get(key="welcome").name == "Owner's"


@pytest.mark.parametrize("role", ["approver", "viewer"])
@pytest.mark.parametrize("path", ["undo/", "redo/"])
def test_readers_cannot_undo_or_redo(board: Blueprint, as_role: Any, role: str, path: str) -> None:
    assert_error(as_role(role).post(url(board, path)), 403, "non_field_errors", f"Your role is {role}")
    assert rev_of(board) == board.rev


@pytest.mark.parametrize("path", ["undo/", "redo/", "operations/"])
def test_a_stranger_finds_no_such_blueprint_and_anonymous_must_log_in(
    board: Blueprint, as_role: Any, path: str
) -> None:
    call = as_role("stranger").get if path == "operations/" else as_role("stranger").post
    assert_error(call(url(board, path)), 404, "blueprint")
    anonymous = APIClient().get if path == "operations/" else APIClient().post
    assert_error(anonymous(url(board, path)), 401, "Authorization")
    assert_error(as_role("owner").post(f"/api/v1/blueprints/{board.pk + 1000}/undo/"), 404, "blueprint")


def test_a_retried_undo_with_an_idempotency_key_undoes_once(board: Blueprint, as_role: Any) -> None:
    client = as_role("editor")
    client.patch(url(board, "offers/welcome/"), {"name": "One"}, format="json")
    client.patch(url(board, "offers/welcome/"), {"name": "Two"}, format="json")
    first = client.post(url(board, "undo/"), HTTP_IDEMPOTENCY_KEY="undo-1").json()
    again = client.post(url(board, "undo/"), {"client_id": "undo-1"}, format="json").json()
    assert again == first
    assert first["operations"][0]["client_id"] == "undo-1"
    assert Offer.objects.get(key="welcome").name == "One"


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": "[1]", "content_type": "application/json"}, 400, "body"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "body"),
        ({"data": {"steps": 2}, "format": "json"}, 400, "steps"),
        ({"data": {"client_id": "x" * 65}, "format": "json"}, 400, "client_id"),
        ({"data": {"client_id": 7}, "format": "json"}, 400, "client_id"),
        ({"data": "client_id=x", "content_type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
        ({"HTTP_IDEMPOTENCY_KEY": "a", "data": {"client_id": "b"}, "format": "json"}, 400, "client_id"),
    ],
)
def test_bad_undo_input_is_refused_naming_the_field_and_undoes_nothing(
    board: Blueprint, as_role: Any, kwargs: dict[str, Any], status: int, field: str
) -> None:
    client = as_role("editor")
    client.patch(url(board, "offers/welcome/"), {"name": "Mine"}, format="json")
    rev = rev_of(board)
    assert_error(client.post(url(board, "undo/"), **kwargs), status, field)
    assert rev_of(board) == rev
    assert Offer.objects.get(key="welcome").name == "Mine"


def test_undo_is_post_only(board: Blueprint, as_role: Any) -> None:
    assert_error(as_role("editor").get(url(board, "undo/")), 405, "method")


# --- The operation log ------------------------------------------------------------------------------


def test_members_read_the_log_newest_last_with_who_did_what(board: Blueprint, as_role: Any) -> None:
    as_role("editor").patch(url(board, "offers/welcome/"), {"name": "Hello"}, format="json")
    as_role("editor").post(url(board, "undo/"))

    log = log_of(as_role("viewer"), board)

    assert log["rev"] == rev_of(board) == board.rev + 2
    assert log["more"] is False
    entries = log["operations"]
    assert [e["rev"] for e in entries] == list(range(1, board.rev + 3))
    assert entries[0]["actor"] is None  # the fixture was built by the system
    assert [(e["actor"], e["summary"]) for e in entries[-2:]] == [
        ("editor", "edited offer 'Hello'"),
        ("editor", "edited offer 'Welcome bonus' (undo)"),
    ]
    assert entries[-1]["payload"] == {"key": "welcome", "name": "Welcome bonus"}
    assert set(entries[-1]) == {"rev", "type", "payload", "actor", "summary", "created_at", "client_id"}


def test_the_log_pages_forward_from_since_and_defaults_to_the_newest(
    board: Blueprint, as_role: Any, users: dict[str, Any]
) -> None:
    client = as_role("owner")
    for n in range(100):
        operation_apply(
            blueprint_id=board.pk,
            actor=users["owner"],
            op_type="offer.update",
            payload={"key": "welcome", "name": f"Name {n}"},
        )
    rev = rev_of(board)

    newest = log_of(client, board)
    assert [e["rev"] for e in newest["operations"]] == list(range(rev - 49, rev + 1))

    assert [e["rev"] for e in log_of(client, board, "?limit=3")["operations"]] == [rev - 2, rev - 1, rev]

    page = log_of(client, board, "?since=2&limit=5")
    assert [e["rev"] for e in page["operations"]] == [3, 4, 5, 6, 7]
    assert page["more"] is True

    rest = log_of(client, board, f"?since={rev - 4}&limit=500")
    assert ([e["rev"] for e in rest["operations"]], rest["more"]) == ([rev - 3, rev - 2, rev - 1, rev], False)

    assert log_of(client, board, f"?since={rev + 10}")["operations"] == []
    oldest = log_of(client, board, "?since=0")
    assert (len(oldest["operations"]), oldest["more"]) == (100, True)  # the default limit


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?since=-1", "since"),
        ("?since=abc", "since"),
        ("?since=1.5", "since"),
        ("?since=1e3", "since"),
        ("?since=%EF%BC%91", "since"),  # a full-width digit
        ("?since=99999999999999999999999", "since"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?since=3&limit=-5", "limit"),
    ],
)
def test_a_bad_since_or_limit_is_a_400_naming_it(
    board: Blueprint, as_role: Any, query: str, field: str
) -> None:
    assert_error(as_role("viewer").get(url(board, f"operations/{query}")), 400, field, "whole number")


def test_the_schema_describes_undo_redo_and_the_log(board: Blueprint) -> None:
    paths = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("undo", "redo"):
        post = paths[f"/api/v1/blueprints/{{blueprint_id}}/{path}/"]["post"]
        assert {"200", "400", "401", "403", "404"} <= set(post["responses"])
    log = paths["/api/v1/blueprints/{blueprint_id}/operations/"]["get"]
    assert {p["name"] for p in log["parameters"]} == {"blueprint_id", "since", "limit"}
    assert {"200", "400", "401", "404"} <= set(log["responses"])
