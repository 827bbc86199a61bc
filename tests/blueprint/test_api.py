"""The JSON API (docs/architecture.md, "The API contract"): every endpoint, each role, and bad input
of every kind.

The ``board`` fixture: stages awareness [welcome, gold_card] and onboarding [app_tour], a catalog of
eight attributes, and the users owner, editor, approver, viewer (members) and stranger (not).
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Membership, Offer, Operation, Stage

pytestmark = pytest.mark.django_db

READERS = ("owner", "editor", "approver", "viewer")
EDITORS = ("owner", "editor")
READ_ONLY = ("approver", "viewer")


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def url(board: Blueprint, rest: str = "") -> str:
    return f"/api/v1/blueprints/{board.pk}/{rest}"


def rev_of(board: Blueprint) -> int:
    return Blueprint.objects.get(pk=board.pk).rev


def stage_order(board: Blueprint) -> list[str]:
    return [s.key for s in sorted(Stage.objects.filter(blueprint=board), key=lambda s: (s.rank, s.pk))]


def offer_order(board: Blueprint, stage: str) -> list[str]:
    offers = Offer.objects.filter(blueprint=board, stage__key=stage)
    return [o.key for o in sorted(offers, key=lambda o: (o.rank, o.pk))]


def assert_error(response: Any, status: int, field: str, text: str = "") -> str:
    """A JSON error with ``errors`` naming ``field``; returns the field's messages joined."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) - {"alternatives"} == {"detail", "errors"}
    assert field in body["errors"], body
    messages = " ".join(body["errors"][field])
    assert text in messages, messages
    return messages


# --- Auth ------------------------------------------------------------------------------------------


def test_a_token_for_a_username_and_password_authenticates_later_calls(board: Blueprint) -> None:
    anonymous = APIClient()
    response = anonymous.post(
        "/api/v1/auth/token/", {"username": "viewer", "password": "demo"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    # each log-in makes a new token (only a digest is stored, so an old one cannot be shown again)
    again = anonymous.post("/api/v1/auth/token/", {"username": "viewer", "password": "demo"}, format="json")
    assert again.json()["token"] != token

    for each in (token, again.json()["token"]):
        anonymous.credentials(HTTP_AUTHORIZATION=f"Token {each}")
        listed = anonymous.get("/api/v1/blueprints/")
        assert listed.status_code == 200
        assert [(b["id"], b["role"]) for b in listed.json()] == [(board.pk, "viewer")]


def test_a_wrong_password_is_refused_with_400_naming_the_password(board: Blueprint) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "viewer", "password": "nope"}, format="json"
    )
    assert_error(response, 400, "password", "do not match")


def test_a_token_request_without_username_names_the_field(board: Blueprint) -> None:
    response = APIClient().post("/api/v1/auth/token/", {"password": "demo"}, format="json")
    assert_error(response, 400, "username", "required")


def test_anonymous_calls_are_refused_with_401_json(board: Blueprint) -> None:
    response = APIClient().get(url(board))
    assert_error(response, 401, "Authorization")
    assert response["WWW-Authenticate"] == "Token"
    write = APIClient().post(url(board, "stages/"), {"name": "Hacked"}, format="json")
    assert write.status_code == 401
    assert rev_of(board) == board.rev


def test_a_bad_token_is_refused_with_401(board: Blueprint) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_error(client.get("/api/v1/blueprints/"), 401, "Authorization", "Invalid token")


# --- Blueprints ------------------------------------------------------------------------------------


def test_the_list_holds_the_callers_blueprints_with_their_role(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        listed = as_role(role).get("/api/v1/blueprints/").json()
        assert [(b["id"], b["role"], b["rev"]) for b in listed] == [(board.pk, role, board.rev)]
    assert as_role("stranger").get("/api/v1/blueprints/").json() == []


def test_creating_a_blueprint_makes_the_creator_its_owner(board: Blueprint, as_role: Any, users: Any) -> None:
    body = {
        "name": "Mobile app onboarding",
        "context": "App",
        "channels": ["app", "push"],
        "description": "New",
    }
    response = as_role("stranger").post("/api/v1/blueprints/", body, format="json")
    assert response.status_code == 201
    created = response.json()
    assert {k: created[k] for k in body} == body
    assert created["role"] == "owner" and created["stages"] == [] and created["rev"] == 0
    assert Membership.objects.get(blueprint_id=created["id"], user=users["stranger"]).role == "owner"


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({}, "name", "required"),
        ({"name": "  "}, "name", "blank"),
        ({"name": 5}, "name", "text"),
        ({"name": "x" * 121}, "name", "120"),
        ({"name": "Ok", "channels": "web"}, "channels", "list"),
        ({"name": "Ok", "channels": [1, 2]}, "channels", "list"),
        ({"name": "Ok", "owner": "me"}, "owner", "Unknown field"),
    ],
)
def test_creating_a_blueprint_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], field: str, text: str
) -> None:
    response = as_role("editor").post("/api/v1/blueprints/", body, format="json")
    assert_error(response, 400, field, text)
    assert Blueprint.objects.count() == 1


def test_the_blueprint_holds_rev_and_its_stages_and_offers_in_order(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        data = as_role(role).get(url(board)).json()
        assert data["rev"] == board.rev and data["role"] == role
        assert [(s["key"], [o["key"] for o in s["offers"]]) for s in data["stages"]] == [
            ("awareness", ["welcome", "gold_card"]),
            ("onboarding", ["app_tour"]),
        ]
        welcome = data["stages"][0]["offers"][0]
        assert welcome["fallback"] is False
        assert welcome["groups"] == [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]]
        assert welcome["sentences"] == [["Visits in the last 30 days is at least 3"]]
        assert {a["key"] for a in data["attributes"]} >= {"segment", "age", "has_app"}


@pytest.mark.parametrize(
    "path",
    [
        "",
        "members/",
        "attributes/",
        "attributes/segment/",
        "stages/",
        "stages/awareness/",
        "stages/awareness/offers/",
        "offers/welcome/",
    ],
)
def test_a_stranger_finds_no_such_blueprint(board: Blueprint, as_role: Any, path: str) -> None:
    assert_error(as_role("stranger").get(url(board, path)), 404, "blueprint")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/blueprints/abc/",
        "/api/v1/blueprints/-1/",
        "/api/v1/blueprints/1.5/stages/",
        "/api/v1/blueprints/99999999999999999999999/",
        "/api/v1/blueprints/1/stages/Not A Key/",
        "/api/v1/blueprints/1/offers/UPPER/",
        "/api/v1/nothing/here/",
        "/api/v1/blueprints/1/stages/a%0Ab/",
    ],
)
def test_paths_outside_the_contract_are_json_404s(board: Blueprint, as_role: Any, path: str) -> None:
    for method in ("get", "post", "patch", "delete"):
        assert_error(getattr(as_role("owner"), method)(path), 404, "path")


def test_a_method_outside_the_contract_is_a_json_405(board: Blueprint, as_role: Any) -> None:
    assert_error(
        as_role("owner").put(url(board, "stages/awareness/"), {"name": "X"}, format="json"), 405, "method"
    )
    assert rev_of(board) == board.rev


def test_a_missing_slash_is_a_404_that_suggests_it(board: Blueprint, as_role: Any) -> None:
    assert_error(
        as_role("owner").get("/api/v1/blueprints"), 404, "path", "Did you mean /api/v1/blueprints/ ?"
    )


def test_an_unknown_blueprint_id_is_404(board: Blueprint, as_role: Any) -> None:
    assert_error(as_role("owner").get(f"/api/v1/blueprints/{board.pk + 1000}/"), 404, "blueprint")
    assert_error(
        as_role("owner").patch(f"/api/v1/blueprints/{board.pk + 1000}/", {}, format="json"), 404, "blueprint"
    )


@pytest.mark.parametrize("role", EDITORS)
def test_owners_and_editors_change_the_blueprint(board: Blueprint, as_role: Any, role: str) -> None:
    response = as_role(role).patch(
        url(board), {"name": "Retail – all channels", "channels": ["web", "app"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Retail – all channels" and response.json()["channels"] == [
        "web",
        "app",
    ]
    assert response.json()["rev"] == board.rev + 1 == rev_of(board)


@pytest.mark.parametrize("role", READ_ONLY)
def test_viewers_and_approvers_cannot_change_the_blueprint(board: Blueprint, as_role: Any, role: str) -> None:
    response = as_role(role).patch(url(board), {"name": "Mine now"}, format="json")
    assert_error(response, 403, "non_field_errors", f"Your role is {role}")
    assert rev_of(board) == board.rev


def test_only_the_owner_deletes_a_blueprint(board: Blueprint, as_role: Any) -> None:
    for role in ("editor", "approver", "viewer"):
        assert_error(as_role(role).delete(url(board)), 403, "non_field_errors", "only owner")
    assert_error(as_role("stranger").delete(url(board)), 404, "blueprint")
    assert as_role("owner").delete(url(board)).status_code == 204
    assert not Blueprint.objects.filter(pk=board.pk).exists()
    assert_error(as_role("owner").get(url(board)), 404, "blueprint")


# --- Members ---------------------------------------------------------------------------------------


def test_members_see_who_is_on_the_blueprint(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        members = as_role(role).get(url(board, "members/")).json()
        assert members == [{"username": r, "role": r} for r in READERS]


def test_the_owner_adds_a_member_who_then_sees_the_blueprint(board: Blueprint, as_role: Any) -> None:
    response = as_role("owner").post(
        url(board, "members/"), {"username": "stranger", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {"username": "stranger", "role": "viewer"}
    assert as_role("stranger").get(url(board)).json()["role"] == "viewer"


@pytest.mark.parametrize("role", ("editor", "approver", "viewer"))
def test_only_owners_manage_members(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    body = {"username": "stranger", "role": "editor"}
    assert_error(
        client.post(url(board, "members/"), body, format="json"), 403, "non_field_errors", "manage members"
    )
    assert_error(
        client.patch(url(board, "members/viewer/"), {"role": "owner"}, format="json"), 403, "non_field_errors"
    )
    assert_error(client.delete(url(board, "members/viewer/")), 403, "non_field_errors")
    assert Membership.objects.filter(blueprint=board).count() == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "stranger", "role": "admin"}, "role"),
        ({"username": "stranger"}, "role"),
        ({"username": "nobody", "role": "viewer"}, "username"),
        ({"username": 7, "role": "viewer"}, "username"),
        ({"username": "stranger", "role": "viewer", "until": "2030"}, "until"),
    ],
)
def test_adding_a_member_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], field: str
) -> None:
    assert_error(as_role("owner").post(url(board, "members/"), body, format="json"), 400, field)


def test_the_owner_changes_a_role_and_removes_a_member(board: Blueprint, as_role: Any) -> None:
    owner = as_role("owner")
    response = owner.patch(url(board, "members/viewer/"), {"role": "editor"}, format="json")
    assert response.status_code == 200 and response.json() == {"username": "viewer", "role": "editor"}
    assert owner.delete(url(board, "members/approver/")).status_code == 204
    assert [m["username"] for m in owner.get(url(board, "members/")).json()] == ["owner", "editor", "viewer"]
    assert_error(as_role("approver").get(url(board)), 404, "blueprint")


def test_changing_the_role_of_a_non_member_is_404(board: Blueprint, as_role: Any) -> None:
    response = as_role("owner").patch(url(board, "members/stranger/"), {"role": "viewer"}, format="json")
    assert_error(response, 404, "username")
    assert_error(as_role("owner").delete(url(board, "members/stranger/")), 404, "username")
    assert not Membership.objects.filter(blueprint=board, user__username="stranger").exists()


def test_a_blueprint_keeps_its_last_owner(board: Blueprint, as_role: Any) -> None:
    owner = as_role("owner")
    assert_error(
        owner.patch(url(board, "members/owner/"), {"role": "viewer"}, format="json"), 409, "role", "owner"
    )
    assert_error(owner.delete(url(board, "members/owner/")), 409, "role")
    assert Membership.objects.get(blueprint=board, user__username="owner").role == "owner"


# --- Attributes ------------------------------------------------------------------------------------


def test_members_read_the_catalog(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        keys = [a["key"] for a in as_role(role).get(url(board, "attributes/")).json()]
        assert keys[:3] == ["segment", "age", "visits_30d"]
        one = as_role(role).get(url(board, "attributes/segment/")).json()
        assert one["choices"] == ["Bronze", "Silver", "Gold", "Platinum"] and one["rev"] == board.rev
    assert_error(as_role("owner").get(url(board, "attributes/income/")), 404, "key")


@pytest.mark.parametrize("role", EDITORS)
def test_editors_add_change_and_remove_attributes(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    body = {
        "key": "income",
        "label": "Income",
        "kind": "attribute",
        "type": "number",
        "unit": "EUR",
        "source": "CRM",
        "description": "Yearly",
    }
    created = client.post(url(board, "attributes/"), body, format="json")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in body} == body and created.json()["rev"] == board.rev + 1
    changed = client.patch(url(board, "attributes/income/"), {"label": "Yearly income"}, format="json")
    assert changed.status_code == 200 and changed.json()["label"] == "Yearly income"
    assert client.delete(url(board, "attributes/income/")).status_code == 204
    assert rev_of(board) == board.rev + 3
    assert_error(client.get(url(board, "attributes/income/")), 404, "key")


def test_an_attribute_key_is_made_from_the_label_when_left_out(board: Blueprint, as_role: Any) -> None:
    created = as_role("editor").post(
        url(board, "attributes/"), {"label": "Credit score", "type": "number"}, format="json"
    )
    assert created.status_code == 201 and created.json()["key"] == "credit_score"


@pytest.mark.parametrize("role", READ_ONLY)
def test_viewers_and_approvers_cannot_touch_the_catalog(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    assert_error(
        client.post(url(board, "attributes/"), {"label": "X", "type": "text"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(
        client.patch(url(board, "attributes/city/"), {"label": "Town"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(client.delete(url(board, "attributes/city/")), 403, "non_field_errors")
    assert rev_of(board) == board.rev


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"label": "Age again", "type": "number", "key": "age"}, "key", "already used"),
        ({"label": "Bad", "type": "number", "key": "Bad Key"}, "key", "not a key"),
        ({"label": "Bad", "type": "number", "key": "x" * 65}, "key", "not a key"),
        ({"label": "Bad", "type": "colour"}, "type", "Expected one of"),
        ({"label": "Bad"}, "type", "required"),
        ({"label": "Bad", "type": "choice"}, "choices", "allowed values"),
        ({"label": "Bad", "type": "text", "kind": "feeling"}, "kind", "Expected one of"),
        ({"label": "Bad", "type": "text", "choices": "a,b"}, "choices", "list"),
        ({"label": ["Bad"], "type": "text"}, "label", "text"),
    ],
)
def test_adding_an_attribute_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], field: str, text: str
) -> None:
    assert_error(as_role("owner").post(url(board, "attributes/"), body, format="json"), 400, field, text)
    assert rev_of(board) == board.rev


def test_an_attribute_key_is_permanent(board: Blueprint, as_role: Any) -> None:
    response = as_role("owner").patch(url(board, "attributes/city/"), {"key": "town"}, format="json")
    assert_error(response, 400, "key", "Keys are permanent")
    same = as_role("owner").patch(
        url(board, "attributes/city/"), {"key": "city", "label": "Town"}, format="json"
    )
    assert same.status_code == 200 and same.json()["label"] == "Town"


def test_an_attribute_in_use_is_neither_removed_nor_broken(board: Blueprint, as_role: Any) -> None:
    assert_error(as_role("owner").delete(url(board, "attributes/segment/")), 409, "key", "used by conditions")
    response = as_role("owner").patch(
        url(board, "attributes/segment/"), {"choices": ["Bronze"]}, format="json"
    )
    assert_error(response, 400, "choices", "gold_card")
    assert rev_of(board) == board.rev


# --- Stages ----------------------------------------------------------------------------------------


def test_members_read_stages_in_order(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        stages = as_role(role).get(url(board, "stages/")).json()
        assert [s["key"] for s in stages] == ["awareness", "onboarding"]
        one = as_role(role).get(url(board, "stages/awareness/")).json()
        assert [o["key"] for o in one["offers"]] == ["welcome", "gold_card"] and one["rev"] == board.rev
    assert_error(as_role("owner").get(url(board, "stages/retention/")), 404, "key")


@pytest.mark.parametrize("role", EDITORS)
def test_editors_add_change_and_delete_stages(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    entry = [[{"attribute": "channel", "operator": "is", "value": "web"}]]
    created = client.post(
        url(board, "stages/"),
        {"key": "consideration", "name": "Consideration", "before": "onboarding", "entry": entry},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["entry"] == entry and created.json()["entry_sentences"] == [["Channel is web"]]
    assert created.json()["rev"] == board.rev + 1
    assert stage_order(board) == ["awareness", "consideration", "onboarding"]

    changed = client.patch(
        url(board, "stages/consideration/"), {"name": "Compare", "entry": []}, format="json"
    )
    assert (
        changed.status_code == 200 and changed.json()["name"] == "Compare" and changed.json()["entry"] == []
    )

    assert client.delete(url(board, "stages/awareness/")).status_code == 204
    assert stage_order(board) == ["consideration", "onboarding"]
    assert not Offer.objects.filter(blueprint=board, key__in=["welcome", "gold_card"]).exists()


def test_a_stage_without_a_key_gets_one_from_its_name(board: Blueprint, as_role: Any) -> None:
    created = as_role("owner").post(url(board, "stages/"), {"name": "Loyal customers"}, format="json")
    assert created.status_code == 201 and created.json()["key"] == "loyal_customers"
    assert stage_order(board)[-1] == "loyal_customers"


@pytest.mark.parametrize("role", READ_ONLY)
def test_viewers_and_approvers_cannot_change_stages(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    assert_error(client.post(url(board, "stages/"), {"name": "X"}, format="json"), 403, "non_field_errors")
    assert_error(
        client.patch(url(board, "stages/awareness/"), {"name": "X"}, format="json"), 403, "non_field_errors"
    )
    assert_error(
        client.post(url(board, "stages/awareness/move/"), {"after": "onboarding"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(client.delete(url(board, "stages/awareness/")), 403, "non_field_errors")
    assert rev_of(board) == board.rev and stage_order(board) == ["awareness", "onboarding"]


def test_moving_stages_before_after_and_to_the_end(board: Blueprint, as_role: Any) -> None:
    client = as_role("editor")
    client.post(url(board, "stages/"), {"key": "retention", "name": "Retention"}, format="json")
    moved = client.post(url(board, "stages/retention/move/"), {"before": "awareness"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["order"] == ["retention", "awareness", "onboarding"] == stage_order(board)
    moved = client.post(url(board, "stages/awareness/move/"), {"after": "onboarding"}, format="json")
    assert moved.json()["order"] == ["retention", "onboarding", "awareness"] == stage_order(board)
    moved = client.post(url(board, "stages/retention/move/"), {}, format="json")
    assert moved.json()["order"] == ["onboarding", "awareness", "retention"] == stage_order(board)
    assert moved.json()["key"] == "retention" and moved.json()["rev"] == rev_of(board)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"before": "nowhere"}, 400, "before"),
        ({"after": "Not a key"}, 400, "after"),
        ({"before": "onboarding", "after": "onboarding"}, 400, "before"),
        ({"rank": "a0"}, 400, "rank"),
        ({"before": 3}, 400, "before"),
    ],
)
def test_moving_a_stage_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], status: int, field: str
) -> None:
    assert_error(
        as_role("owner").post(url(board, "stages/awareness/move/"), body, format="json"), status, field
    )
    assert rev_of(board) == board.rev and stage_order(board) == ["awareness", "onboarding"]


def test_moving_a_missing_stage_is_404(board: Blueprint, as_role: Any) -> None:
    assert_error(as_role("owner").post(url(board, "stages/gone/move/"), {}, format="json"), 404, "key")


def test_a_stage_key_is_permanent(board: Blueprint, as_role: Any) -> None:
    response = as_role("owner").patch(url(board, "stages/awareness/"), {"key": "aware"}, format="json")
    assert_error(response, 400, "key", "Keys are permanent")
    assert rev_of(board) == board.rev


# --- Offers ----------------------------------------------------------------------------------------


def test_members_read_offers(board: Blueprint, as_role: Any) -> None:
    for role in READERS:
        offers = as_role(role).get(url(board, "stages/awareness/offers/")).json()
        assert [o["key"] for o in offers] == ["welcome", "gold_card"]
        one = as_role(role).get(url(board, "offers/gold_card/")).json()
        assert one["stage"] == "awareness" and one["sentences"] == [["Segment is one of Gold or Platinum"]]
    assert_error(as_role("owner").get(url(board, "offers/nothing/")), 404, "key")
    assert_error(as_role("owner").get(url(board, "stages/nothing/offers/")), 404, "key")


@pytest.mark.parametrize("role", EDITORS)
def test_editors_add_change_and_delete_offers(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    groups = [
        [
            {"attribute": "age", "operator": "between", "value": [18, 30]},
            {"attribute": "products", "operator": "includes_any_of", "value": ["savings"]},
        ],
        [{"attribute": "last_login", "operator": "within_last_days", "value": 7}],
    ]
    body = {
        "key": "starter",
        "name": "Starter account",
        "description": "For the young",
        "channel": "web",
        "groups": groups,
        "before": "gold_card",
    }
    created = client.post(url(board, "stages/awareness/offers/"), body, format="json")
    assert created.status_code == 201, created.content
    offer = created.json()
    assert offer["stage"] == "awareness" and offer["groups"] == groups and offer["rev"] == board.rev + 1
    assert offer["sentences"] == [
        ["Age is between 18 and 30 years", "Products held includes savings"],
        ["Last login is within the last 7 days"],
    ]
    assert offer_order(board, "awareness") == ["welcome", "starter", "gold_card"]

    changed = client.patch(
        url(board, "offers/starter/"), {"name": "Starter", "channel": "app"}, format="json"
    )
    assert (
        changed.status_code == 200
        and changed.json()["name"] == "Starter"
        and changed.json()["groups"] == groups
    )

    assert client.delete(url(board, "offers/starter/")).status_code == 204
    assert offer_order(board, "awareness") == ["welcome", "gold_card"]
    assert rev_of(board) == board.rev + 3


def test_a_fallback_offer_has_no_conditions_and_is_one_per_stage(board: Blueprint, as_role: Any) -> None:
    client = as_role("owner")
    created = client.post(
        url(board, "stages/onboarding/offers/"),
        {"key": "help", "name": "Help", "fallback": True},
        format="json",
    )
    assert created.status_code == 201 and created.json()["fallback"] is True
    again = client.post(
        url(board, "stages/onboarding/offers/"), {"name": "Other", "fallback": True}, format="json"
    )
    assert_error(again, 400, "fallback", "already has a fallback")
    with_groups = {
        "name": "Bad",
        "fallback": True,
        "groups": [[{"attribute": "has_app", "operator": "is", "value": True}]],
    }
    assert_error(
        client.post(url(board, "stages/awareness/offers/"), with_groups, format="json"), 400, "fallback"
    )


@pytest.mark.parametrize("role", READ_ONLY)
def test_viewers_and_approvers_cannot_change_offers(board: Blueprint, as_role: Any, role: str) -> None:
    client = as_role(role)
    assert_error(
        client.post(url(board, "stages/awareness/offers/"), {"name": "X"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(
        client.patch(url(board, "offers/welcome/"), {"name": "X"}, format="json"), 403, "non_field_errors"
    )
    assert_error(
        client.post(url(board, "offers/welcome/move/"), {"stage": "onboarding"}, format="json"),
        403,
        "non_field_errors",
    )
    assert_error(client.delete(url(board, "offers/welcome/")), 403, "non_field_errors")
    assert rev_of(board) == board.rev and offer_order(board, "awareness") == ["welcome", "gold_card"]


@pytest.mark.parametrize(
    ("condition", "field", "suggestion", "alternative"),
    [
        (
            {"attribute": "segment", "operator": "is_not", "value": "Bronze"},
            "groups[0][0].operator",
            "'Segment is one of Silver, Gold or Platinum'",
            [[{"attribute": "segment", "operator": "is_one_of", "value": ["Silver", "Gold", "Platinum"]}]],
        ),
        (
            {"attribute": "age", "operator": "not_between", "value": [20, 30]},
            "groups[0][0].operator",
            "'Age is below 20 years' or 'Age is above 30 years'",
            [
                [{"attribute": "age", "operator": "below", "value": 20}],
                [{"attribute": "age", "operator": "above", "value": 30}],
            ],
        ),
        (
            {"attribute": "products", "operator": "excludes", "value": "mortgage"},
            "groups[0][0].operator",
            "No positive condition says it exactly",
            None,
        ),
        (
            {"attribute": "has_app", "operator": "is_not", "value": True},
            "groups[0][0].operator",
            "is no'",
            [[{"attribute": "has_app", "operator": "is", "value": False}]],
        ),
        (
            {"attribute": "segment", "operator": "is", "value": "Gold", "not": True},
            "groups[0][0].not",
            "'Segment is one of Bronze, Silver or Platinum'",
            [[{"attribute": "segment", "operator": "is_one_of", "value": ["Bronze", "Silver", "Platinum"]}]],
        ),
    ],
)
def test_negative_conditions_are_refused_with_the_exact_positive_way_to_say_them(
    board: Blueprint,
    as_role: Any,
    condition: dict[str, Any],
    field: str,
    suggestion: str,
    alternative: list[Any] | None,
) -> None:
    body = {"name": "Negative", "groups": [[condition]]}
    answer = as_role("owner").post(url(board, "stages/awareness/offers/"), body, format="json")
    assert suggestion in assert_error(answer, 400, field)
    found = answer.json().get("alternatives", {}).get("groups[0][0]")
    assert (found and [a["groups"] for a in found]) == ([alternative] if alternative else None)
    patch = as_role("owner").patch(url(board, "offers/welcome/"), {"groups": [[condition]]}, format="json")
    assert suggestion in assert_error(patch, 400, field)
    entry = as_role("owner").patch(url(board, "stages/awareness/"), {"entry": [[condition]]}, format="json")
    assert suggestion in assert_error(entry, 400, field.replace("groups", "entry"))
    assert "entry[0][0]" in entry.json().get("alternatives", {"entry[0][0]": None}) or not alternative
    assert rev_of(board) == board.rev


@pytest.mark.parametrize(
    ("groups", "field", "text"),
    [
        (
            [[{"attribute": "age", "operator": "at_least", "value": "old"}]],
            "groups[0][0].value",
            "not a number",
        ),
        (
            [[{"attribute": "segment", "operator": "is", "value": "Diamond"}]],
            "groups[0][0].value",
            "not a choice",
        ),
        ([[{"attribute": "age", "operator": "between", "value": [30, 18]}]], "groups[0][0].value", "low end"),
        (
            [[{"attribute": "last_login", "operator": "at_least", "value": "yesterday"}]],
            "groups[0][0].value",
            "YYYY-MM-DD",
        ),
        (
            [[{"attribute": "income", "operator": "at_least", "value": 1}]],
            "groups[0][0].attribute",
            "not in the catalog",
        ),
        (
            [[{"attribute": "age", "operator": "is", "value": 3}]],
            "groups[0][0].operator",
            "not an operator for Age",
        ),
        ([[{"attribute": "age", "operator": "at_least"}]], "groups[0][0].value", "Give a value"),
        (
            [[{"attribute": "age", "operator": "at_least", "value": 1, "weight": 2}]],
            "groups[0][0].weight",
            "Unknown",
        ),
        ([[]], "groups[0]", "at least one condition"),
        ([{"attribute": "age"}], "groups[0]", "list of conditions"),
        ("age > 3", "groups", "Expected a list of groups"),
    ],
)
def test_mistyped_conditions_are_refused_naming_the_field(
    board: Blueprint, as_role: Any, groups: Any, field: str, text: str
) -> None:
    response = as_role("editor").post(
        url(board, "stages/awareness/offers/"), {"name": "X", "groups": groups}, format="json"
    )
    assert_error(response, 400, field, text)
    assert rev_of(board) == board.rev


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"key": "app_tour", "name": "Dup"}, 400, "key"),
        ({"key": "Tour!", "name": "Bad"}, 400, "key"),
        ({"name": ""}, 400, "name"),
        ({"name": "X", "fallback": "yes"}, 400, "fallback"),
        ({"name": "X", "channel": 3}, 400, "channel"),
        ({"name": "X", "stage": "onboarding"}, 400, "stage"),
        ({"name": "X", "before": "app_tour"}, 400, "before"),
        ({"name": "X", "rank": "a0"}, 400, "rank"),
        ({"name": "X", "priority": 1}, 400, "priority"),
    ],
)
def test_adding_an_offer_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], status: int, field: str
) -> None:
    assert_error(
        as_role("owner").post(url(board, "stages/awareness/offers/"), body, format="json"), status, field
    )
    assert rev_of(board) == board.rev


def test_adding_an_offer_to_a_missing_stage_is_404(board: Blueprint, as_role: Any) -> None:
    assert_error(
        as_role("owner").post(url(board, "stages/gone/offers/"), {"name": "X"}, format="json"), 404, "stage"
    )


def test_an_offer_key_is_permanent_and_its_stage_changes_only_by_moving(
    board: Blueprint, as_role: Any
) -> None:
    client = as_role("owner")
    assert_error(
        client.patch(url(board, "offers/welcome/"), {"key": "hello"}, format="json"), 400, "key", "permanent"
    )
    assert_error(
        client.patch(url(board, "offers/welcome/"), {"stage": "onboarding"}, format="json"), 400, "stage"
    )
    assert rev_of(board) == board.rev


def test_moving_an_offer_to_another_stage_keeps_its_key_and_conditions(
    board: Blueprint, as_role: Any
) -> None:
    client = as_role("editor")
    moved = client.post(
        url(board, "offers/gold_card/move/"), {"stage": "onboarding", "before": "app_tour"}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["stage"] == "onboarding" and moved.json()["order"] == ["gold_card", "app_tour"]
    assert moved.json()["groups"] == [
        [{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]}]
    ]
    assert offer_order(board, "awareness") == ["welcome"]
    moved = client.post(
        url(board, "offers/welcome/move/"), {"stage": "onboarding", "after": "gold_card"}, format="json"
    )
    assert moved.json()["order"] == ["gold_card", "welcome", "app_tour"] == offer_order(board, "onboarding")
    moved = client.post(url(board, "offers/gold_card/move/"), {"stage": "onboarding"}, format="json")
    assert moved.json()["order"] == ["welcome", "app_tour", "gold_card"] == offer_order(board, "onboarding")
    moved = client.post(url(board, "offers/gold_card/move/"), {"before": "welcome"}, format="json")
    assert moved.json()["order"] == ["gold_card", "welcome", "app_tour"]
    assert moved.json()["rev"] == board.rev + 4 == rev_of(board)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"stage": "nowhere"}, 404, "stage"),
        ({"stage": "onboarding", "before": "welcome"}, 400, "before"),
        ({"stage": "onboarding", "after": "missing"}, 400, "after"),
        ({"stage": "onboarding", "before": "app_tour", "after": "app_tour"}, 400, "before"),
        ({"stage": ["onboarding"]}, 400, "stage"),
        ({"stage": "onboarding", "position": 1}, 400, "position"),
    ],
)
def test_moving_an_offer_with_bad_input_names_the_field(
    board: Blueprint, as_role: Any, body: dict[str, Any], status: int, field: str
) -> None:
    assert_error(
        as_role("owner").post(url(board, "offers/welcome/move/"), body, format="json"), status, field
    )
    assert rev_of(board) == board.rev and offer_order(board, "awareness") == ["welcome", "gold_card"]


# --- Bodies that are not what a JSON API takes ------------------------------------------------------

WRITES = [
    ("post", "stages/"),
    ("patch", "stages/awareness/"),
    ("post", "stages/awareness/move/"),
    ("post", "stages/awareness/offers/"),
    ("patch", "offers/welcome/"),
    ("post", "offers/welcome/move/"),
    ("post", "attributes/"),
    ("patch", "attributes/city/"),
    ("patch", ""),
    ("post", "members/"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_that_is_not_json_is_refused_naming_the_body(
    board: Blueprint, as_role: Any, method: str, path: str
) -> None:
    client = as_role("owner")
    send = getattr(client, method)
    assert_error(
        send(url(board, path), "{name: 'x'", content_type="application/json"), 400, "body", "not valid JSON"
    )
    assert_error(
        send(url(board, path), '["a list"]', content_type="application/json"), 400, "body", "JSON object"
    )
    assert_error(
        send(url(board, path), '"text"', content_type="application/json"), 400, "body", "JSON object"
    )
    assert_error(send(url(board, path), '{"name": NaN}', content_type="application/json"), 400, "body")
    assert_error(send(url(board, path), b"\xff\xfe{}", content_type="application/json"), 400, "body")
    assert_error(
        send(url(board, path), "name=x", content_type="application/x-www-form-urlencoded"),
        415,
        "Content-Type",
    )
    assert_error(send(url(board, path), "name: x", content_type="text/yaml"), 415, "Content-Type")
    assert rev_of(board) == board.rev


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_unknown_fields_are_refused_by_name(board: Blueprint, as_role: Any, method: str, path: str) -> None:
    response = getattr(as_role("owner"), method)(url(board, path), {"colour": "red"}, format="json")
    assert_error(response, 400, "colour", "Unknown field")
    assert rev_of(board) == board.rev


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deep_nesting_and_unstorable_text_are_refused(
    board: Blueprint, as_role: Any, method: str, path: str
) -> None:
    send = getattr(as_role("owner"), method)
    deep = '{"name": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert_error(
        send(url(board, path), deep, content_type="application/json"), 400, "body", "nested too deeply"
    )
    nested = '{"name": ' + "[" * 20 + "]" * 20 + "}"
    assert_error(send(url(board, path), nested, content_type="application/json"), 400, "name" + "[0]" * 15)
    assert_error(
        send(url(board, path), '{"name": "a\\u0000b"}', content_type="application/json"), 400, "name", "NUL"
    )
    assert_error(
        send(url(board, path), '{"name": "a\\ud800b"}', content_type="application/json"),
        400,
        "name",
        "surrogate",
    )
    assert_error(
        send(url(board, path), '{"na\\ud800me": 1}', content_type="application/json"), 400, "na\\ud800me"
    )
    assert rev_of(board) == board.rev


def test_a_huge_body_is_refused_with_413(board: Blueprint, as_role: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"name": "Big", "description": "x" * 20_000}
    response = as_role("owner").post(url(board, "stages/"), body, format="json")
    assert_error(response, 413, "body", "at most 10000")
    assert rev_of(board) == board.rev


def test_an_infinite_number_is_refused_naming_the_field(board: Blueprint, as_role: Any) -> None:
    body = '{"name": "X", "groups": [[{"attribute": "age", "operator": "at_least", "value": 1e400}]]}'
    response = as_role("owner").post(
        url(board, "stages/awareness/offers/"), body, content_type="application/json"
    )
    assert_error(response, 400, "groups[0][0].value", "finite")


def test_a_huge_number_is_refused_not_crashed_on(board: Blueprint, as_role: Any) -> None:
    body = (
        '{"name": "X", "groups": [[{"attribute": "age", "operator": "at_least", "value": '
        + "9" * 5000
        + "}]]}"
    )
    response = as_role("owner").post(
        url(board, "stages/awareness/offers/"), body, content_type="application/json"
    )
    assert_error(response, 400, "body")


# --- Retries ---------------------------------------------------------------------------------------


def test_a_retried_create_with_an_idempotency_key_applies_once(board: Blueprint, as_role: Any) -> None:
    client = as_role("editor")
    body = {"name": "Retention"}
    first = client.post(url(board, "stages/"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(url(board, "stages/"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert stage_order(board) == ["awareness", "onboarding", "retention"]
    assert rev_of(board) == board.rev + 1
    assert Operation.objects.filter(blueprint=board, client_id="k-1").count() == 1


def test_a_retried_move_with_a_client_id_in_the_body_applies_once(board: Blueprint, as_role: Any) -> None:
    client = as_role("editor")
    body = {"stage": "onboarding", "client_id": "move-1"}
    for _ in range(2):
        moved = client.post(url(board, "offers/welcome/move/"), body, format="json")
        assert moved.status_code == 200 and moved.json()["order"] == ["app_tour", "welcome"]
    assert rev_of(board) == board.rev + 1


def test_a_retried_delete_answers_204_again(board: Blueprint, as_role: Any) -> None:
    client = as_role("owner")
    for _ in range(2):
        assert client.delete(url(board, "offers/welcome/"), HTTP_IDEMPOTENCY_KEY="del-1").status_code == 204
    assert rev_of(board) == board.rev + 1


def test_a_client_id_used_for_another_operation_is_a_conflict(board: Blueprint, as_role: Any) -> None:
    client = as_role("owner")
    assert (
        client.post(
            url(board, "stages/"), {"name": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        ).status_code
        == 201
    )
    response = client.patch(
        url(board, "offers/welcome/"), {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert_error(response, 409, "client_id", "already used")
    response = client.patch(
        url(board, "stages/onboarding/"), {"name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert_error(response, 409, "client_id")
    assert rev_of(board) == board.rev + 1


@pytest.mark.parametrize(
    ("header", "body", "text"),
    [
        ("x" * 65, {"name": "A"}, "at most 64"),
        (None, {"name": "A", "client_id": 5}, "string"),
        ("one", {"name": "A", "client_id": "two"}, "not two different"),
    ],
)
def test_a_bad_client_id_is_refused(
    board: Blueprint, as_role: Any, header: str | None, body: dict[str, Any], text: str
) -> None:
    extra = {"HTTP_IDEMPOTENCY_KEY": header} if header else {}
    response = as_role("owner").post(url(board, "stages/"), body, format="json", **extra)
    assert_error(response, 400, "client_id", text)
    assert rev_of(board) == board.rev


# --- Schema and docs -------------------------------------------------------------------------------


def test_the_openapi_schema_describes_every_contract_path(board: Blueprint) -> None:
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/blueprints/",
        "/api/v1/blueprints/{blueprint_id}/",
        "/api/v1/blueprints/{blueprint_id}/members/",
        "/api/v1/blueprints/{blueprint_id}/members/{username}/",
        "/api/v1/blueprints/{blueprint_id}/attributes/",
        "/api/v1/blueprints/{blueprint_id}/attributes/{key}/",
        "/api/v1/blueprints/{blueprint_id}/stages/",
        "/api/v1/blueprints/{blueprint_id}/stages/{key}/",
        "/api/v1/blueprints/{blueprint_id}/stages/{key}/move/",
        "/api/v1/blueprints/{blueprint_id}/stages/{key}/offers/",
        "/api/v1/blueprints/{blueprint_id}/offers/{key}/",
        "/api/v1/blueprints/{blueprint_id}/offers/{key}/move/",
    ):
        assert path in paths
    create = paths["/api/v1/blueprints/{blueprint_id}/stages/{key}/offers/"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(create["responses"])


def test_the_docs_page_loads_swagger_ui_from_this_server(board: Blueprint) -> None:
    page = APIClient().get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "cdn." not in html and "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    )
    # the CSP allows only 'self' styles and scripts: nothing inline
    assert "<style" not in html and "<script>" not in html
    script = APIClient().get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "/api/v1/schema/" in script.content.decode()
