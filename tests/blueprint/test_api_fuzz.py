"""The JSON API fuzzed with schemathesis against its own OpenAPI schema, as each role.

Every operation of the schema gets generated requests, valid and invalid ones, sent in-process
through Django's WSGI handler as the owner, an editor and a viewer (and anonymously). Each
response must not be a server error, must have a status the schema documents for the operation,
and must match the documented content type and body schema.

The fixture board is built once per test; each example runs in a savepoint that is rolled back,
so every request meets the same board (a DELETE of the blueprint does not starve later examples).
Generated ids and keys are steered to the fixture's real ones most of the time, so requests reach
the services instead of stopping at "no such blueprint".
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from blueprint.models import Blueprint, Version
from blueprint.selectors import board_load
from blueprint.services import version_publish
from tests.accounts import api_token

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

APP = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", APP)
schema.config.generation.update(max_examples=MAX_EXAMPLES, modes=["positive", "negative"])
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    # Django's own test client does this: the handler would otherwise close the connection
    # that holds the test transaction at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def steer(value: Any, choices: Sequence[Any]) -> Any:
    """Three times in four, a real value instead of the generated one, chosen from it deterministically
    (so Hypothesis can replay and shrink)."""
    digest = zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))
    if not choices or digest % 4 == 0:
        return value
    return choices[digest // 4 % len(choices)]


def steer_case(case: Any, board: Blueprint) -> None:
    loaded = board_load(board)
    stages = [c.stage.key for c in loaded.stages]
    offers = [card.offer.key for c in loaded.stages for card in c.offers]
    attributes = [a.key for a in loaded.attributes]
    params = case.path_parameters or {}
    if "blueprint_id" in params:
        params["blueprint_id"] = steer(params["blueprint_id"], [board.pk])
    if "key" in params:
        path = case.operation.path
        existing = attributes if "/attributes/" in path else offers if "/offers/{key}" in path else stages
        params["key"] = steer(params["key"], existing)
    if "username" in params:
        params["username"] = steer(params["username"], ["owner", "editor", "viewer", "approver"])
    if "number" in params:  # the versions: one published by the editor, so the owner may decide on it
        params["number"] = steer(params["number"], [1])
        if not Version.objects.filter(blueprint=board).exists():
            version_publish(blueprint_id=board.pk, actor=board.memberships.get(role="editor").user)
    body = case.body
    if isinstance(body, dict):
        for name in ("before", "after"):
            if name in body:
                body[name] = steer(body[name], offers if "/offers/" in case.operation.path else stages)
        if "stage" in body:
            body["stage"] = steer(body["stage"], stages)
        if "username" in body:
            body["username"] = steer(body["username"], ["editor", "viewer", "stranger"])
        for groups_field in ("groups", "entry"):
            groups = body.get(groups_field)
            if isinstance(groups, list):
                for group in groups:
                    for condition in group if isinstance(group, list) else []:
                        if isinstance(condition, dict) and "attribute" in condition:
                            condition["attribute"] = steer(condition["attribute"], attributes)


@pytest.fixture
def tokens(users: dict[str, Any]) -> dict[str, str]:
    return {role: api_token(user) for role, user in users.items()}


@pytest.mark.parametrize("role", ["owner", "editor", "viewer", "anonymous"])
@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        # the import's body is a whole blueprint snapshot: its examples are big by nature
        HealthCheck.data_too_large,
    ],
)
def test_the_api_answers_every_request_as_documented(
    case: Any, role: str, board: Blueprint, tokens: dict[str, str]
) -> None:
    steer_case(case, board)
    headers = {} if role == "anonymous" else {"Authorization": f"Token {tokens[role]}"}
    with transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)
    case.validate_response(response, checks=CHECKS, headers=headers)
