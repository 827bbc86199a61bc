"""GET /healthz: what monitoring reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_answers_json_ok_for_the_database_and_the_channel_layer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok", "vendor": "sqlite"}
    assert body["channel_layer"] == {"status": "ok", "backend": "InMemoryChannelLayer"}


def test_healthz_needs_no_login_and_is_never_cached(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_naming_the_part_that_is_down(client: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr("blueprint.views.health.get_channel_layer", lambda: None)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "ok"
    assert body["channel_layer"] == {"status": "error", "error": "RuntimeError"}


def test_healthz_never_shows_the_driver_message(client: Client, monkeypatch: Any) -> None:
    class Unreachable:
        async def new_channel(self) -> str:
            raise ConnectionError("redis://secret-host:6379 refused")

    monkeypatch.setattr("blueprint.views.health.get_channel_layer", lambda: Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "secret-host" not in response.content.decode()
    assert response.json()["channel_layer"] == {"status": "error", "error": "ConnectionError"}


def test_healthz_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
