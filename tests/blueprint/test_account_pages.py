"""The person's own pages: API tokens (made, listed, revoked; a secret shown once), the password
change pages, and the links to them in the top bar."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from blueprint.accounts.models import ApiToken
from tests.accounts import api_token

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_works(secret: str) -> bool:
    return APIClient().get("/api/v1/blueprints/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200


def test_every_page_links_to_the_tokens_and_the_password_pages(users: dict[str, Any]) -> None:
    page = signed_in(users["viewer"]).get("/blueprints/").content.decode()
    assert 'href="/accounts/tokens/"' in page and 'href="/accounts/password_change/"' in page


def test_the_tokens_page_lists_the_persons_tokens_that_work(users: dict[str, Any]) -> None:
    api_token(users["viewer"], "Warehouse <sync>")
    api_token(users["viewer"], "Gone")
    ApiToken.objects.filter(name="Gone").update(expiry=timezone.now() - dt.timedelta(seconds=1))
    api_token(users["owner"], "Someone else's")
    ApiToken.objects.filter(name="Warehouse <sync>").update(last_used=timezone.now() - dt.timedelta(hours=2))
    page = signed_in(users["viewer"]).get("/accounts/tokens/").content.decode()
    assert "Warehouse &lt;sync&gt;" in page and "Warehouse <sync>" not in page
    assert "2\xa0hours ago" in page
    assert "Gone" not in page and "Someone else" not in page


@pytest.mark.parametrize("htmx", [False, True])
def test_a_new_tokens_secret_is_shown_once_and_works(users: dict[str, Any], htmx: bool) -> None:
    client = signed_in(users["viewer"])
    response = client.post(
        "/accounts/tokens/new/", {"name": "Notebook", "expires_in_days": "7"}, **(HTMX if htmx else {})
    )
    if not htmx:  # a plain post is redirected: reloading the page it lands on posts nothing again
        assert response.status_code == 303 and response["Location"] == "/accounts/tokens/"
        assert "token-secret" not in response.content.decode()
        response = client.get("/accounts/tokens/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r'id="token-secret"[^>]*value="([0-9a-f]{64})"', html)
    assert secret, html
    assert "shown only this once" in html and 'data-copy="#token-secret"' in html
    assert html.lstrip().startswith('<div id="tokens"') is htmx
    assert token_works(secret.group(1))
    token = ApiToken.objects.get()
    assert token.name == "Notebook"
    assert dt.timedelta(days=6, hours=23) < token.expiry - timezone.now() <= dt.timedelta(days=7)
    again = client.get("/accounts/tokens/")
    assert secret.group(1) not in again.content.decode() and "token-secret" not in again.content.decode()
    assert "no-store" not in again.get("Cache-Control", "")
    assert ApiToken.objects.count() == 1


def test_a_secret_is_not_shown_for_a_token_revoked_before_its_page_loaded(users: dict[str, Any]) -> None:
    client = signed_in(users["viewer"])
    client.post("/accounts/tokens/new/", {"name": "Notebook", "expires_in_days": "7"})
    client.post(f"/accounts/tokens/{ApiToken.objects.get().pk}/revoke/")
    page = client.get("/accounts/tokens/").content.decode()
    assert "token-secret" not in page


@pytest.mark.parametrize(
    ("name", "days", "field_error"),
    [("", "30", "Give the token a name"), ("ok", "400", "from 1 to 365"), ("ok", "soon", "whole number")],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_token_keeps_the_form_as_typed_beside_the_error(
    users: dict[str, Any], name: str, days: str, field_error: str, htmx: bool
) -> None:
    response = signed_in(users["viewer"]).post(
        "/accounts/tokens/new/", {"name": name, "expires_in_days": days}, **(HTMX if htmx else {})
    )
    assert response.status_code == (422 if htmx else 400)
    html = response.content.decode()
    assert field_error in html and f'value="{days}"' in html
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_person_revokes_their_token_and_it_stops_working(users: dict[str, Any], htmx: bool) -> None:
    secret = api_token(users["viewer"], "Old laptop")
    token = ApiToken.objects.get()
    client = signed_in(users["viewer"])
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", **(HTMX if htmx else {}))
    if htmx:
        assert response.status_code == 200 and "Revoked “Old laptop”" in response.content.decode()
    else:
        assert response.status_code == 302
        assert "Revoked “Old laptop”" in client.get(response["Location"]).content.decode()
    assert not token_works(secret)


def test_nobody_revokes_another_persons_token(users: dict[str, Any]) -> None:
    secret = api_token(users["owner"])
    token = ApiToken.objects.get()
    client = signed_in(users["stranger"])
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{'9' * 25}/revoke/").status_code == 404
    assert token_works(secret)


def test_the_pages_are_for_people_signed_in(users: dict[str, Any]) -> None:
    for path in ("/accounts/tokens/", "/accounts/password_change/"):
        assert Client().get(path)["Location"].startswith("/accounts/login/")
    assert Client().post("/accounts/tokens/new/", {"name": "x"}).status_code == 302
    assert not ApiToken.objects.exists()


def test_the_password_change_page_says_what_a_change_ends(users: dict[str, Any]) -> None:
    client = signed_in(users["viewer"])
    page = client.get("/accounts/password_change/").content.decode()
    assert "This ends your API tokens" in page and 'name="old_password"' in page
    refused = client.post(
        "/accounts/password_change/", {"old_password": "nope", "new_password1": "x", "new_password2": "y"}
    )
    assert refused.status_code == 200 and 'aria-invalid="true"' in refused.content.decode()


def test_an_administrator_sees_and_revokes_tokens_in_the_admin(users: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    secret = api_token(users["viewer"], "Leaked")
    token = ApiToken.objects.get()
    admin = get_user_model().objects.create_superuser("root", password="a long admin password 1")
    client = signed_in(admin)
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    assert "Leaked" in listing and secret not in listing and token.digest not in listing
    assert client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not token_works(secret)
