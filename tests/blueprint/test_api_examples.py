"""Every example in the OpenAPI schema is a request the blueprint accepts: Swagger's "Try it out"
sends them as they are (blueprint/api/examples.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.test import APIClient

from blueprint.demo import demo_load
from blueprint.models import Blueprint

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def schema(client: APIClient, blueprint_id: int | None = None) -> dict[str, Any]:
    query = f"&blueprint={blueprint_id}" if blueprint_id is not None else ""
    answer = client.get(f"/api/v1/schema/?format=json{query}")
    assert answer.status_code == 200
    return answer.json()


def requests_of(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    """(operation id, method, path, path parameters' examples, body) for every request example."""
    out = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            params = {
                p["name"]: p["example"]
                for p in operation.get("parameters", [])
                if p.get("in") == "path" and "example" in p
            }
            for example in content.get("examples", {}).values():
                out.append((operation["operationId"], method, path, params, example["value"]))
    return out


def send_each(client: APIClient, blueprint_id: int, requests: list[Any]) -> dict[str, int]:
    """Each request against the board as it is (every one rolled back): its status by operation."""
    statuses: dict[str, int] = {}
    for operation_id, method, path, params, body in requests:
        url = path.replace("{blueprint_id}", str(params.get("blueprint_id", blueprint_id)))
        for name, value in params.items():
            url = url.replace("{" + name + "}", str(value))
        assert "{" not in url, f"{operation_id}: no example for a path parameter of {path}"
        try:
            with transaction.atomic():
                answer = getattr(client, method)(url, body, format="json")
                statuses[f"{operation_id} {body}"] = answer.status_code
                assert answer.status_code < 300, (operation_id, body, answer.json())
                raise RolledBack
        except RolledBack:
            pass
    return statuses


def signed_in(username: str) -> APIClient:
    client = APIClient()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def demo(db: Any) -> Blueprint:
    made = demo_load().blueprint
    assert made is not None
    return made


def test_every_example_of_the_schema_is_accepted_by_the_demo(demo: Blueprint) -> None:
    client = signed_in("owner")
    requests = requests_of(schema(client))
    # the operations a developer tries first, each sent: a first call succeeds
    assert {r[0] for r in requests} == {
        "blueprints_decide",
        "blueprints_decide_batch",
        "blueprints_create",
        "blueprints_update",
        "attributes_create",
        "attributes_update",
        "stages_create",
        "stages_update",
        "stages_move",
        "stage_offers_create",
        "offers_update",
        "offers_move",
    }
    statuses = send_each(client, demo.pk, requests)
    assert len(statuses) == len(requests) >= 15


def test_the_decide_example_is_a_customer_of_the_demo_who_gets_an_offer(demo: Blueprint) -> None:
    client = signed_in("owner")
    [body] = [r[4] for r in requests_of(schema(client)) if r[0] == "blueprints_decide"]
    # values from the demo's catalog (the old example's "Gold" is no segment of the demo)
    assert body["profile"]["segment"] in {"Student", "Standard", "Premier", "Private"}
    answer = client.post(f"/api/v1/blueprints/{demo.pk}/decide/", body, format="json")
    assert answer.status_code == 200
    assert any(d.get("offer") for d in answer.json()["decisions"])


def test_a_members_blueprint_gives_the_examples_of_its_own_catalog(board: Blueprint) -> None:
    client = signed_in("editor")
    document = schema(client, board.pk)
    requests = requests_of(document)
    [decide] = [r for r in requests if r[0] == "blueprints_decide"]
    assert decide[3]["blueprint_id"] == board.pk
    assert decide[4]["version"] == "draft"  # nothing is live on this board yet
    assert set(decide[4]["profile"]) <= {
        "segment",
        "age",
        "visits_30d",
        "last_login",
        "has_app",
        "products",
        "channel",
        "city",
    }
    [move] = {r[3]["key"] for r in requests if r[0] == "offers_move"}
    assert move in {"welcome", "gold_card", "app_tour"}
    send_each(client, board.pk, requests)


def test_a_blueprint_the_requester_is_not_a_member_of_gives_the_demos(board: Blueprint) -> None:
    client = signed_in("stranger")
    document = schema(client, board.pk)
    [decide] = [r for r in requests_of(document) if r[0] == "blueprints_decide"]
    assert "blueprint_id" not in decide[3]  # nothing told about the blueprint
    assert "customer_status" in decide[4]["profile"]  # the demo's catalog


def test_the_docs_page_asks_for_the_schema_of_its_blueprint(board: Blueprint) -> None:
    client = signed_in("editor")
    page = client.get(f"/api/v1/docs/?blueprint={board.pk}")
    assert page.status_code == 200
    assert f"blueprint={board.pk}" in page.content.decode()
    script = client.get(f"/api/v1/docs/?blueprint={board.pk}&script=")
    # the script's schema URL, written with escapejs
    assert f"blueprint={board.pk}" in script.content.decode("unicode_escape")
    odd = client.get("/api/v1/docs/?blueprint=x%27&script=").content.decode("unicode_escape")
    assert 'url: "/api/v1/schema/"' in odd  # a blueprint that is no id is not passed on


def test_the_boards_export_menu_links_to_the_api_reference_with_its_examples(board: Blueprint) -> None:
    client = signed_in("viewer")
    page = client.get(f"/blueprints/{board.pk}/")
    assert page.status_code == 200
    assert f'href="/api/v1/docs/?blueprint={board.pk}"' in page.content.decode()
