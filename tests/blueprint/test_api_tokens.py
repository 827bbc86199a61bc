"""API tokens through the API (docs/architecture.md, "The API contract"): ``auth/tokens/`` lists,
makes and revokes the caller's own named, expiring tokens; ``auth/token/`` still exchanges a
username and password for ``{token}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.test import APIClient

from blueprint.accounts.models import ApiToken
from blueprint.services.accounts import API_TOKENS_PER_PERSON
from tests.accounts import api_token
from tests.blueprint.test_api import assert_error

pytestmark = pytest.mark.django_db


def with_token(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def signed_in(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_old_log_in_still_answers_a_token_that_works_and_expires_by_default(
    users: dict[str, Any],
) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "viewer", "password": "demo"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"token"} and set(body) <= {"token", "id", "name", "expires"}
    assert with_token(body["token"]).get("/api/v1/blueprints/").status_code == 200
    token = ApiToken.objects.get(pk=body["id"])
    assert dt.timedelta(days=29, hours=23) < token.expiry - timezone.now() <= dt.timedelta(days=30)
    assert token.name.startswith("Log-in through the API")


def test_the_old_log_in_takes_a_name_and_a_lifetime_too(users: dict[str, Any]) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "viewer", "password": "demo", "name": "Nightly export", "expires_in_days": 7},
        format="json",
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.name == "Nightly export"
    assert dt.timedelta(days=6, hours=23) < token.expiry - timezone.now() <= dt.timedelta(days=7)


def test_a_person_makes_lists_and_revokes_their_tokens(users: dict[str, Any]) -> None:
    client = signed_in(users["editor"])
    made = client.post(
        "/api/v1/auth/tokens/", {"name": "Warehouse sync", "expires_in_days": 90}, format="json"
    )
    assert made.status_code == 201
    body = made.json()
    assert set(body) >= {"id", "name", "token", "expires"} and body["name"] == "Warehouse sync"
    expires = dt.datetime.fromisoformat(body["expires"])
    assert dt.timedelta(days=89, hours=23) < expires - timezone.now() <= dt.timedelta(days=90)
    other = client.post("/api/v1/auth/tokens/", {"name": "Notebook"}, format="json").json()

    listed = client.get("/api/v1/auth/tokens/")
    assert listed.status_code == 200
    assert [(t["id"], t["name"]) for t in listed.json()] == [
        (other["id"], "Notebook"),
        (body["id"], "Warehouse sync"),
    ]
    assert all("token" not in t for t in listed.json())  # a secret is shown once, when made

    secret = body["token"]
    assert with_token(secret).get("/api/v1/blueprints/").status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{body['id']}/").status_code == 204
    assert_error(with_token(secret).get("/api/v1/blueprints/"), 401, "Authorization", "Invalid token")
    assert [t["name"] for t in client.get("/api/v1/auth/tokens/").json()] == ["Notebook"]
    assert with_token(other["token"]).get("/api/v1/blueprints/").status_code == 200


def test_a_token_can_list_and_revoke_itself(users: dict[str, Any]) -> None:
    secret = api_token(users["viewer"], "Script")
    client = with_token(secret)
    [mine] = client.get("/api/v1/auth/tokens/").json()
    assert mine["name"] == "Script" and mine["last_used"] is not None
    assert client.delete(f"/api/v1/auth/tokens/{mine['id']}/").status_code == 204
    assert client.get("/api/v1/auth/tokens/").status_code == 401


def test_an_expired_token_is_refused_with_401_and_not_listed(users: dict[str, Any]) -> None:
    secret = api_token(users["viewer"])
    ApiToken.objects.update(expiry=timezone.now() - dt.timedelta(minutes=1))
    assert_error(with_token(secret).get("/api/v1/blueprints/"), 401, "Authorization", "expired")
    assert signed_in(users["viewer"]).get("/api/v1/auth/tokens/").json() == []


def test_nobody_sees_or_revokes_another_persons_token(users: dict[str, Any]) -> None:
    secret = api_token(users["owner"], "Owner's")
    theirs = ApiToken.objects.get()
    stranger = signed_in(users["stranger"])
    assert stranger.get("/api/v1/auth/tokens/").json() == []
    assert_error(stranger.delete(f"/api/v1/auth/tokens/{theirs.pk}/"), 404, "id")
    assert_error(stranger.delete(f"/api/v1/auth/tokens/{theirs.pk + 1000}/"), 404, "id")
    assert_error(stranger.delete(f"/api/v1/auth/tokens/{'9' * 18}/"), 404, "id")
    assert with_token(secret).get("/api/v1/auth/tokens/").status_code == 200


@pytest.mark.parametrize("days", [0, -1, 366, 10**12, 7.5, "30", True, None])
def test_a_lifetime_out_of_range_is_refused_with_400_naming_it(users: dict[str, Any], days: Any) -> None:
    client = signed_in(users["viewer"])
    messages = assert_error(
        client.post("/api/v1/auth/tokens/", {"name": "x", "expires_in_days": days}, format="json"),
        400,
        "expires_in_days",
        # null is refused for every field the schema does not let be null, as everywhere in the API
        "leave it out" if days is None else "from 1 to 365",
    )
    if days is not None:
        assert "whole number of days" in messages
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", None, 7, "x" * 101, "two\nlines", ["a"]])
def test_a_bad_name_is_refused_with_400_naming_it(users: dict[str, Any], name: Any) -> None:
    client = signed_in(users["viewer"])
    assert_error(client.post("/api/v1/auth/tokens/", {"name": name}, format="json"), 400, "name")
    assert not ApiToken.objects.exists()


def test_an_unknown_field_is_refused(users: dict[str, Any]) -> None:
    client = signed_in(users["viewer"])
    assert_error(
        client.post("/api/v1/auth/tokens/", {"name": "x", "scope": "all"}, format="json"), 400, "scope"
    )


def test_a_token_cannot_make_one_that_outlives_it(users: dict[str, Any]) -> None:
    secret = api_token(users["viewer"])  # 30 days
    client = with_token(secret)
    messages = assert_error(
        client.post("/api/v1/auth/tokens/", {"name": "Longer", "expires_in_days": 31}, format="json"),
        400,
        "expires_in_days",
        "outlives",
    )
    assert "at most 29" in messages or "at most 30" in messages
    ok = client.post("/api/v1/auth/tokens/", {"name": "Shorter", "expires_in_days": 7}, format="json")
    assert ok.status_code == 201
    # signed in with a session, the person may ask for a longer one
    longer = signed_in(users["viewer"]).post(
        "/api/v1/auth/tokens/", {"name": "Long", "expires_in_days": 365}, format="json"
    )
    assert longer.status_code == 201


def test_anonymous_callers_get_401(users: dict[str, Any]) -> None:
    assert_error(APIClient().get("/api/v1/auth/tokens/"), 401, "Authorization")
    assert_error(APIClient().post("/api/v1/auth/tokens/", {"name": "x"}, format="json"), 401, "Authorization")


def test_a_person_holds_a_bounded_number_of_tokens(users: dict[str, Any]) -> None:
    now = timezone.now()
    ApiToken.objects.bulk_create(
        ApiToken(
            user=users["viewer"],
            name=f"t{i}",
            digest=f"{i:0128d}",
            token_key=f"{i:015d}",
            expiry=now + dt.timedelta(days=1),
        )
        for i in range(API_TOKENS_PER_PERSON)
    )
    client = signed_in(users["viewer"])
    assert_error(
        client.post("/api/v1/auth/tokens/", {"name": "one more"}, format="json"), 409, "tokens", "revoke"
    )
    # expired ones do not count, and go when the next one is made
    ApiToken.objects.filter(name="t0").update(expiry=now - dt.timedelta(seconds=1))
    assert client.post("/api/v1/auth/tokens/", {"name": "one more"}, format="json").status_code == 201
    assert not ApiToken.objects.filter(name="t0").exists()


@pytest.mark.parametrize(("field", "value"), [("name", ""), ("name", None), ("expires_in_days", 0)])
def test_a_log_in_with_a_bad_name_or_lifetime_is_refused_before_the_password_is_checked(
    users: dict[str, Any], field: str, value: Any
) -> None:
    before = users["viewer"].last_login
    body = {"username": "viewer", "password": "wrong", field: value}
    assert_error(APIClient().post("/api/v1/auth/token/", body, format="json"), 400, field)
    assert not AccessAttempt.objects.exists()  # not counted as a failed log-in
    body["password"] = "demo"
    assert_error(APIClient().post("/api/v1/auth/token/", body, format="json"), 400, field)
    users["viewer"].refresh_from_db()
    assert users["viewer"].last_login == before and not ApiToken.objects.exists()
