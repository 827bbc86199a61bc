"""Import (blueprint/services/imports.py, POST blueprints/import/): export → import → export gives
the same snapshot, and a malformed export is refused with every problem by its JSON path,
creating nothing.

The round trip is a Hypothesis property over random blueprints built through the services (the
same operations the board applies), with names in any script, descriptions, channels, fallbacks
and every condition type.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Membership, Operation
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import blueprint_create, blueprint_import, operations_apply
from blueprint.snapshots import snapshot_operations
from decisioning.errors import Forbidden, InvalidInput
from tests.blueprint.export_blueprints import snapshots
from tests.blueprint.test_api import assert_error, client_for

pytestmark = pytest.mark.django_db


def snapshot_of(blueprint: Blueprint) -> dict[str, Any]:
    return board_snapshot(board_load(Blueprint.objects.get(pk=blueprint.pk)))


def built(actor: Any, snapshot: dict[str, Any]) -> Blueprint:
    """A blueprint made through the services: the blueprint row, then every operation."""
    fields = snapshot["blueprint"]
    blueprint = blueprint_create(actor=actor, **fields)
    operations_apply(blueprint_id=blueprint.pk, actor=actor, operations=snapshot_operations(snapshot))
    return blueprint


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(snapshots(max_stages=3, max_offers=4))
def test_export_then_import_then_export_gives_the_same_snapshot(
    users: dict[str, Any], snapshot: dict[str, Any]
) -> None:
    original = built(users["editor"], snapshot)
    exported = snapshot_of(original)
    client = client_for(users["viewer"])
    response = client.post(
        "/api/v1/blueprints/import/", {**exported, "version": {"number": 3}}, format="json"
    )
    assert response.status_code == 201, response.content
    imported = Blueprint.objects.get(pk=response.json()["id"])
    assert snapshot_of(imported) == exported
    assert Membership.objects.get(blueprint=imported).user == users["viewer"]
    assert Membership.objects.get(blueprint=imported).role == "owner"


@pytest.fixture
def exported(board: Blueprint) -> dict[str, Any]:
    return {
        **snapshot_of(board),
        "version": {"number": None, "status": "draft", "rev": 9, "hash": "sha256:x"},
    }


def refused(actor: Any, data: Any) -> dict[str, list[str]]:
    before = (Blueprint.objects.count(), Operation.objects.count())
    with pytest.raises(InvalidInput) as caught:
        blueprint_import(actor=actor, data=data)
    assert (Blueprint.objects.count(), Operation.objects.count()) == before
    return caught.value.problems


def test_a_bad_condition_is_named_by_its_json_path(users: dict[str, Any], exported: dict[str, Any]) -> None:
    bad = copy.deepcopy(exported)
    bad["stages"][0]["offers"][1]["groups"][0][0]["operator"] = "is_not"
    problems = refused(users["editor"], bad)
    assert list(problems) == ["stages[0].offers[1].groups[0][0].operator"]
    assert "positive" in problems["stages[0].offers[1].groups[0][0].operator"][0]


def test_every_problem_is_reported_at_once(users: dict[str, Any], exported: dict[str, Any]) -> None:
    bad = copy.deepcopy(exported)
    bad["blueprint"]["name"] = ""
    problems = refused(users["editor"], bad)
    assert list(problems) == ["blueprint.name"]
    bad = copy.deepcopy(exported)
    bad["attributes"][1]["type"] = "colour"
    bad["stages"][1]["name"] = "   "
    bad["stages"][0]["offers"][0]["groups"][0][0]["value"] = "many"
    bad["stages"][0]["offers"][0]["key"] = "Not A Key"
    problems = refused(users["editor"], bad)
    assert "attributes[1].type" in problems
    assert "stages[1].name" in problems
    assert "stages[0].offers[0].groups[0][0].value" in problems or "stages[0].offers[0].key" in problems


def test_the_shape_is_checked_before_anything_is_made(
    users: dict[str, Any], exported: dict[str, Any]
) -> None:
    assert "body" in refused(users["editor"], [1, 2])
    bad = copy.deepcopy(exported)
    bad["format"] = "something-else/2"
    bad["stages"][0]["colour"] = "blue"
    bad["stages"][1]["offers"][0]["rank"] = "a0"  # ranks are not content: the order is
    bad["stages"][1]["offers"].append("an offer")
    del bad["attributes"][0]["type"]
    problems = refused(users["editor"], bad)
    assert set(problems) >= {
        "format",
        "stages[0].colour",
        "stages[1].offers[0].rank",
        "stages[1].offers[1]",
        "attributes[0].type",
    }
    missing = {k: v for k, v in exported.items() if k != "stages"}
    assert "stages" in refused(users["editor"], missing)


def test_the_version_block_is_ignored_and_the_import_is_a_draft(
    users: dict[str, Any], exported: dict[str, Any]
) -> None:
    imported = blueprint_import(actor=users["viewer"], data={**exported, "version": "anything at all"})
    assert snapshot_of(imported) == {k: v for k, v in exported.items() if k != "version"}
    assert not imported.versions.exists()


def test_an_anonymous_import_is_refused(exported: dict[str, Any]) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        blueprint_import(actor=AnonymousUser(), data=exported)
    assert APIClient().post("/api/v1/blueprints/import/", exported, format="json").status_code == 401


def test_the_api_refuses_a_malformed_import_with_the_path(
    users: dict[str, Any], exported: dict[str, Any]
) -> None:
    bad = copy.deepcopy(exported)
    bad["stages"][0]["offers"][1]["groups"][0][0]["attribute"] = "shoe_size"
    response = client_for(users["editor"]).post("/api/v1/blueprints/import/", bad, format="json")
    assert_error(response, 400, "stages[0].offers[1].groups[0][0].attribute", "not in the catalog")
    response = client_for(users["editor"]).post(
        "/api/v1/blueprints/import/", json.dumps({**exported, "extra": 1}), content_type="application/json"
    )
    assert_error(response, 400, "extra", "Unknown field")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, as the keys and indexes that lead to it."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*path, index))
    return found


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(place=st.integers(min_value=0), replacement=JSON_VALUES)
def test_an_export_with_any_part_replaced_is_imported_or_refused_by_path(
    users: dict[str, Any], exported: dict[str, Any], place: int, replacement: Any
) -> None:
    places = _places(exported)[1:]
    path = places[place % len(places)]
    data = copy.deepcopy(exported)
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    before = Blueprint.objects.count()
    try:
        with transaction.atomic():
            imported = blueprint_import(actor=users["editor"], data=data)
            transaction.set_rollback(True)
    except InvalidInput as exc:
        assert exc.problems and all(isinstance(m, str) for ms in exc.problems.values() for m in ms)
        assert Blueprint.objects.count() == before
    else:
        assert imported.pk is not None
