"""A person's access ends when their password changes or their account is deactivated, however that
happens: every API token goes at once and their open board sockets close (4401) without waiting for
a heartbeat; their other sessions are signed out. A log-out closes that session's sockets only.
(blueprint/accounts/signals.py, blueprint/services/accounts.py, BoardConsumer.account_ended)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from blueprint.accounts.models import ApiToken
from blueprint.models import Blueprint
from tests.accounts import api_token
from tests.blueprint.test_consumers import (
    TIMEOUT,
    _fresh_channel_layer,  # noqa: F401  # autouse: a fresh layer and frame cache per test
    board_socket,
    next_frame,
    run,
)

NEW_PASSWORD = "a much longer new password 42"


def token_works(secret: str) -> bool:
    return APIClient().get("/api/v1/blueprints/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200


def signed_in_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client: Client) -> bytes:
    return f"sessionid={client.cookies['sessionid'].value}".encode()


# --- Tokens ------------------------------------------------------------------------------------


def change_on_the_page(user: Any) -> None:
    response = signed_in_client(user).post(
        "/accounts/password_change/",
        {"old_password": "demo", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def change_in_the_admin(user: Any) -> None:
    admin = get_user_model().objects.create_superuser("admin", password="admin-password-1")
    response = signed_in_client(admin).post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content


def change_in_code(user: Any) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def change_with_the_command(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=None)


def turn_password_log_in_off(user: Any) -> None:
    user.set_unusable_password()
    user.save()


def deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    [
        change_on_the_page,
        change_in_the_admin,
        change_in_code,
        change_with_the_command,
        turn_password_log_in_off,
        deactivate,
    ],
)
def test_a_password_change_or_a_deactivation_ends_every_token_of_the_person(
    users: dict[str, Any], how: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = users["editor"]
    mine = [api_token(editor, "CI"), api_token(editor, "Notebook")]
    theirs = api_token(users["viewer"])
    if how is change_with_the_command:
        how(editor, monkeypatch)
    else:
        how(editor)
    assert not any(token_works(secret) for secret in mine)
    assert not ApiToken.objects.filter(user=editor).exists()
    assert token_works(theirs)


@pytest.mark.django_db
def test_the_password_change_page_keeps_this_session_and_signs_out_the_others(users: dict[str, Any]) -> None:
    here, elsewhere = signed_in_client(users["editor"]), signed_in_client(users["editor"])
    response = here.post(
        "/accounts/password_change/",
        {"old_password": "demo", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your API tokens were revoked" in response.content.decode()
    assert here.get("/blueprints/").status_code == 200
    assert elsewhere.get("/blueprints/").status_code == 302  # to the log-in page


@pytest.mark.django_db
def test_a_deactivated_persons_sessions_are_signed_out(users: dict[str, Any]) -> None:
    client = signed_in_client(users["editor"])
    deactivate(users["editor"])
    assert client.get("/blueprints/").status_code == 302


@pytest.mark.django_db
def test_what_is_not_a_new_password_leaves_the_tokens(users: dict[str, Any], settings: Any) -> None:
    """A log-in (which saves last_login) and the upgrade of the password's hash at log-in (which saves
    the password field, but with the same password) are no change of password."""
    editor = users["editor"]
    secret = api_token(editor)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    old_hash = get_user_model().objects.get(pk=editor.pk).password
    assert Client().post("/accounts/login/", {"username": "editor", "password": "demo"}).status_code == 302
    assert get_user_model().objects.get(pk=editor.pk).password != old_hash  # upgraded
    editor.refresh_from_db()
    editor.first_name = "Edith"
    editor.save()
    assert token_works(secret)


# --- Sockets -----------------------------------------------------------------------------------


def sockets_after(board: Blueprint, cookies: list[bytes], act: Callable[[], None]) -> tuple[Any, Any]:
    """Open a socket per cookie (the first person's, then another's), ``act``, then: what the first
    socket was sent next and how it closed, and what the second was sent meanwhile (presence,
    heartbeats and lint aside; it stays open)."""

    async def body() -> tuple[Any, Any]:
        async with board_socket(board.pk, cookies[0]) as first, board_socket(board.pk, cookies[1]) as second:
            await sync_to_async(act)()
            ended = [await next_frame(first), await first.receive_output(timeout=TIMEOUT)]
            said = []
            while not await second.receive_nothing(timeout=0.5):
                output = await second.receive_output(timeout=TIMEOUT)
                frame = json.loads(output["text"]) if output["type"] == "websocket.send" else output
                if frame["type"] not in ("presence", "beat", "lint"):
                    said.append(frame)
            return ended, said

    return run(body)


def closed_signed_out(frames: list[dict[str, Any]]) -> bool:
    return (
        frames[0]["type"] == "error"
        and "signed out" in frames[0]["detail"]
        and frames[1] == {"type": "websocket.close", "code": 4401}
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", [change_in_code, deactivate])
def test_a_password_change_or_a_deactivation_closes_the_persons_sockets_at_once(
    board: Blueprint, users: dict[str, Any], how: Callable[[Any], None]
) -> None:
    editor = users["editor"]
    mine, theirs = sockets_after(
        board,
        [cookie_of(signed_in_client(editor)), cookie_of(signed_in_client(users["viewer"]))],
        lambda: how(get_user_model().objects.get(pk=editor.pk)),
    )
    assert closed_signed_out(mine), mine
    assert theirs == []  # still open, told nothing


@pytest.mark.django_db(transaction=True)
def test_a_log_out_closes_the_sockets_of_that_session_only(board: Blueprint, users: dict[str, Any]) -> None:
    leaving, staying = signed_in_client(users["editor"]), signed_in_client(users["editor"])
    left, stayed = sockets_after(
        board, [cookie_of(leaving), cookie_of(staying)], lambda: leaving.post("/accounts/logout/")
    )
    assert closed_signed_out(left), left
    assert stayed == []
