"""The OpenAPI schema says what the services accept: schemathesis sends only schema-valid requests
(its positive mode) to a representative set of operations, as the owner, and none may be refused
for its shape. A refusal may only name what depends on the board (a key already in use, a stage or
an attribute the board lacks, a value the catalog does not allow), listed per operation below;
everything else the schema must say itself (patterns, enums, lengths, nullability, one-of shapes).

Where tests/blueprint/test_api_fuzz.py checks every answer against the schema, this checks the
other direction: the schema against the services.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings

from blueprint.models import Blueprint
from blueprint.services import version_approve, version_publish
from tests.accounts import api_token
from tests.blueprint.test_api_fuzz import steer_case

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# Per operation, the error fields (regular expressions over the field path) that depend on the
# board rather than on the request's shape.
BOARD_DEPENDENT: dict[str, str] = {
    # profile: the catalog's values (and keys: OpenAPI 3.0 cannot constrain the keys of a free-form
    # object, so a key with NUL, which the parser refuses, is left to this list)
    "blueprints_decide": r"profile\..*|stage",
    # body: a CSV or Parquet file, which the schema calls a string; profiles are items of any shape
    # (a wrong one is that row's error), so a NUL key may be nested in lists ("profiles[0][0].\0")
    "blueprints_decide_batch": r"profiles(\[[0-9]+\])+\..*|stage|body",
    "blueprints_lint": r"(?!)",
    "blueprints_decide_sql": r"(?!)",
    "versions_diff": r"(?!)",
    "blueprints_create": r"(?!)",
    "blueprints_update": r"(?!)",
    "stages_create": r"key|before|after|entry.*",
    "stages_update": r"key|entry.*",  # key: an update may repeat the current one only
    "stage_offers_create": r"key|stage|before|after|groups.*|fallback",  # stage: the path's only
    "offers_update": r"key|groups.*|fallback|ends_on",  # ends_on: before the start date kept
    "attributes_create": r"key",
    "attributes_update": r"key|type|choices",  # type: a type change the board's conditions refuse
    "offers_move": r"stage|before|after",
    "stages_move": r"before|after",
    "members_create": r"username",  # an account that does not exist, or is a member already
    "members_update": r"role|username",  # the last owner; a path naming no account
    "blueprints_undo": r"(?!)",
    "versions_create": r"(?!)",
    "versions_reject": r"(?!)",
}

# Rules across fields that an OpenAPI 3.0 schema cannot state (each is said in the descriptions):
# the refusals that may name a field of any operation.
ACROSS_FIELDS = re.compile(
    r"Give the Idempotency-Key header or client_id, not two different ones\."
    r"|Give it in the body or in the query, not in both\."
    r"|Explanations come with JSON answers only.*"
    r"|Parquet answers are for CSV or Parquet bodies.*"
    r"|A choice attribute needs its list of allowed values\."
    r"|A \w+ attribute has no list of choices; leave it empty\."
    r"|The end date \(.*\) is before the start date \(.*\): .*"
)

APP = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", APP)
schema.config.generation.update(max_examples=10, modes=["positive"])
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
schema = schema.include(operation_id=list(BOARD_DEPENDENT))


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def live_board(board: Blueprint, users: dict[str, Any]) -> Blueprint:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="test")
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    return board


@pytest.fixture
def owner_token(users: Any) -> str:
    """One token for all of a test's examples (a person holds at most 100 live tokens)."""
    return api_token(users["owner"])


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_schema_valid_request_is_refused_for_its_shape(
    case: Any, live_board: Blueprint, owner_token: str
) -> None:
    steer_case(case, live_board)
    token = owner_token
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Token {token}"})
        transaction.set_rollback(True)
    assert response.status_code < 500, response.text
    if response.status_code not in (400, 413):
        return
    errors = response.json()["errors"]
    allowed = re.compile(BOARD_DEPENDENT[case.operation.definition.raw["operationId"]], re.DOTALL)
    shape = [
        field
        for field, messages in errors.items()
        if not allowed.fullmatch(field) and not all(ACROSS_FIELDS.fullmatch(m) for m in messages)
    ]
    assert not shape, (case.body, case.query, response.json())
