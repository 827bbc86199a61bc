"""The heavy-request throttle (blueprint/api/throttles.py): a person's lint, explanations, batches,
coverage, SQL, exports and imports are counted together, by account, and past ``API_HEAVY_RATE`` are
answered 429 with ``Retry-After`` in the API's JSON shape; plain decides and other reads are not
counted, and another person is not affected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from blueprint.models import Blueprint
from tests.blueprint.test_settings import refusal, run
from tests.decisioning.test_decide_api import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def rationed(settings: Any) -> None:
    cache.clear()
    settings.API_HEAVY_RATE = "3/min"


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_heavy_requests_past_the_rate_are_429_with_retry_after_for_that_person_only(
    board: Blueprint, users: dict[str, Any], rationed: None
) -> None:
    publish(board, users)
    owner, viewer = client_for(users["owner"]), client_for(users["viewer"])
    base = f"/api/v1/blueprints/{board.pk}/"
    heavy = [
        lambda c: c.get(base + "lint/"),
        lambda c: c.post(base + "decide/", {"profile": {}, "explain": True}, format="json"),
        lambda c: c.get(base + "export/?format=md"),
    ]
    for ask in heavy:
        assert ask(owner).status_code == 200
    # not heavy: a plain decide, the board, the versions
    for _ in range(5):
        assert owner.post(base + "decide/", {"profile": {}}, format="json").status_code == 200
        assert owner.get(base).status_code == 200
    refused = owner.get(base + "decide/sql/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    body = refused.json()
    assert set(body) == {"detail", "errors"} and "throttled" in body["detail"].lower()
    # an explanation asked in the query counts too, and is refused now
    assert owner.post(base + "decide/?explain=true", {"profile": {}}, format="json").status_code == 429
    # another person is counted apart
    assert viewer.get(base + "lint/").status_code == 200


def test_off_means_not_throttled(board: Blueprint, users: dict[str, Any], settings: Any) -> None:
    cache.clear()
    settings.API_HEAVY_RATE = None
    owner = client_for(users["owner"])
    for _ in range(10):
        assert owner.get(f"/api/v1/blueprints/{board.pk}/lint/").status_code == 200


def test_the_rate_setting_reads_what_the_readme_says(tmp_path: Path) -> None:
    show = "import django; django.setup(); from django.conf import settings as s; print(s.API_HEAVY_RATE)"
    assert run(show, tmp_path).stdout.split() == ["120/min"]
    for rate in ("2/second", "5000/day", "1/h"):
        assert run(show, tmp_path, API_HEAVY_RATE=rate).stdout.split() == [rate]
    assert run(show, tmp_path, API_HEAVY_RATE="off").stdout.split() == ["None"]
    assert "API_HEAVY_RATE='lots' is not understood" in refusal(run(show, tmp_path, API_HEAVY_RATE="lots"))
