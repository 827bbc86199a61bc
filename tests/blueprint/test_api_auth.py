"""The API's token authentication (``blueprint.api.auth``): knox's hashed tokens, found in one indexed
query, refused when expired, unknown, malformed or their person is inactive; and DRF's plain-text
tokens of before, carried over by a migration."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.test import APIClient

from blueprint.accounts.models import ApiToken
from blueprint.api.auth import TokenAuthentication
from tests.accounts import api_token

pytestmark = pytest.mark.django_db


def test_a_token_gives_its_person_and_itself_in_one_query(users: dict[str, Any]) -> None:
    secret = api_token(users["editor"], "CI")
    ApiToken.objects.update(last_used=timezone.now())  # used a moment ago: no write now
    with CaptureQueriesContext(connection) as queries:
        user, token = TokenAuthentication().authenticate_credentials(secret.encode())
    assert (user.pk, token.name, token.user is user) == (users["editor"].pk, "CI", True)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "token_key" in queries[0]["sql"]


def test_only_a_digest_of_the_secret_is_stored(users: dict[str, Any]) -> None:
    secret = api_token(users["viewer"])
    stored = ApiToken.objects.values().get()
    assert secret not in {str(value) for value in stored.values()}
    assert stored["digest"] != secret and len(stored["digest"]) == 128


def test_when_a_token_was_last_used_is_written_at_most_once_a_minute(users: dict[str, Any]) -> None:
    secret = api_token(users["viewer"])
    auth = TokenAuthentication()
    assert ApiToken.objects.get().last_used is None
    auth.authenticate_credentials(secret)
    first = ApiToken.objects.get().last_used
    assert first is not None
    auth.authenticate_credentials(secret)
    assert ApiToken.objects.get().last_used == first
    ApiToken.objects.update(last_used=first - dt.timedelta(minutes=2))
    auth.authenticate_credentials(secret)
    assert ApiToken.objects.get().last_used > first - dt.timedelta(minutes=2)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown", "Invalid token."),
        ("same beginning", "Invalid token."),
        ("expired", "This token expired"),
        ("inactive", "User inactive or deleted."),
        ("not ascii", "Invalid token."),
    ],
)
def test_a_token_is_refused_with_401_when(users: dict[str, Any], case: str, message: str) -> None:
    secret = api_token(users["viewer"])
    header = f"Token {secret}".encode()
    if case == "unknown":
        header = b"Token 0123456789abcdef"
    elif case == "same beginning":  # found by its first characters, refused by its digest
        header = f"Token {secret[:20]}{'0' * 44}".encode()
    elif case == "expired":
        ApiToken.objects.update(expiry=timezone.now() - dt.timedelta(seconds=1))
    elif case == "inactive":
        # deactivated without the save() that would delete the tokens: still refused
        type(users["viewer"]).objects.filter(pk=users["viewer"].pk).update(is_active=False)
    else:
        header = "Token ünïcödé".encode("latin-1")
    with pytest.raises(exceptions.AuthenticationFailed) as refused:
        TokenAuthentication().authenticate_credentials(header.split()[1])
    assert str(refused.value.detail).startswith(message)
    response = APIClient().get("/api/v1/blueprints/", HTTP_AUTHORIZATION=header.decode("latin-1"))
    assert response.status_code == 401
    assert response.json()["errors"]["Authorization"][0].startswith(message)
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses to run inside a transaction
def test_a_token_of_drfs_from_before_keeps_working_until_its_new_expiry(users: dict[str, Any]) -> None:
    """The data migration, against DRF's table as it was (``rest_framework.authtoken`` is no longer
    installed): the plain-text key becomes a hashed, named token for 90 days, and the table goes."""
    migration = importlib.import_module("blueprint.accounts.migrations.0002_from_drf_tokens")
    key = "a56e9793823e7eb59802fac6e72988670fb93632"
    made = timezone.now() - dt.timedelta(days=400)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created datetime NOT NULL, "
            "user_id integer NOT NULL UNIQUE)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [key, made, users["owner"].pk],
        )
    state = MigrationExecutor(connection).loader.project_state(("accounts", "0001_initial"))
    with connection.schema_editor() as editor:
        migration.from_drf_tokens(state.apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert token.name.startswith("Token from before ") and token.user_id == users["owner"].pk
    assert abs(token.created - made) < dt.timedelta(seconds=1)
    assert dt.timedelta(days=89) < token.expiry - timezone.now() <= dt.timedelta(days=90)
    response = APIClient().get("/api/v1/auth/tokens/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == [token.name]
