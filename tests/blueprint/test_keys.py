"""Keys are whole strings: ``$`` also matches before a final line break, so ``"age\\n"`` passed the
API, the socket and the import, and then the catalog answered 500 for every member. Now every
path refuses it, the database refuses it underneath, and migration 0005 cleans what was stored."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from blueprint.forms import ConditionEditor
from blueprint.models import Attribute, Blueprint, Offer, Operation, Stage, Version, key_validator
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import version_restore
from blueprint.snapshots import snapshot_keys_cleaned
from decisioning.conditions import KEY_PATTERN, is_key, key_cleaned
from decisioning.limits import LIMITS
from tests.blueprint.test_api import client_for, url
from tests.blueprint.test_board_views import HX
from tests.blueprint.test_consumers import board_socket, next_frame, run, session_cookie

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-"
keys = st.text(alphabet=KEY_ALPHABET, min_size=1, max_size=LIMITS.key_length)
endings = st.sampled_from(["\n", "\r\n", " ", "\t", "\x00", "\u2028", "É"])


# --- The rule ---------------------------------------------------------------------------------------


@given(keys)
def test_every_key_of_the_alphabet_is_a_key(key: str) -> None:
    assert is_key(key)
    assert re.search(KEY_PATTERN, key)
    key_validator(key)


@given(keys, endings)
def test_a_key_with_anything_after_it_is_not_a_key(key: str, ending: str) -> None:
    assert not is_key(key + ending)
    assert not re.search(KEY_PATTERN, key + ending)  # what the validators and the database use


@given(st.text(max_size=100), st.sets(keys, max_size=5))
def test_a_cleaned_key_is_a_key_and_not_taken(raw: str, taken: set[str]) -> None:
    cleaned = key_cleaned(raw, taken)
    assert is_key(cleaned)
    assert cleaned not in taken


def test_a_cleaned_key_keeps_what_it_can() -> None:
    assert key_cleaned("age\n", set()) == "age"
    assert key_cleaned("age\n", {"age"}) == "age_2"
    assert key_cleaned("age\n", {"age", "age_2"}) == "age_3"
    assert key_cleaned("x" * 63 + "\n", {"x" * 63}) == "x" * 62 + "_2"


# --- Every path refuses it ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("attributes/", {"key": "age2\n", "label": "Age", "type": "number"}),
        ("stages/", {"key": "intro\n", "name": "Intro"}),
        ("stages/awareness/offers/", {"key": "promo\n", "name": "Promo"}),
    ],
)
def test_the_api_refuses_a_key_ending_in_a_line_break(
    board: Blueprint, users: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    rev = Blueprint.objects.get(pk=board.pk).rev
    response = client_for(users["editor"]).post(url(board, path), body, format="json")
    assert response.status_code in (400, 404), response.content
    assert Blueprint.objects.get(pk=board.pk).rev == rev
    assert all(is_key(key) for key in Stage.objects.values_list("key", flat=True))
    assert all(is_key(key) for key in Offer.objects.values_list("key", flat=True))
    assert all(is_key(key) for key in Attribute.objects.values_list("key", flat=True))


@pytest.mark.django_db
def test_the_api_says_which_key_and_why(board: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["editor"]).post(
        url(board, "stages/"), {"key": "intro\n", "name": "I"}, format="json"
    )
    assert response.status_code == 400
    said = " ".join(response.json()["errors"]["key"])
    assert "'intro\\n' is not a key" in said


@pytest.mark.django_db
def test_the_import_refuses_a_key_ending_in_a_line_break(board: Blueprint, users: dict[str, Any]) -> None:
    document = board_snapshot(board_load(board))
    document["attributes"][0]["key"] = "segment\n"
    document["stages"][0]["offers"][1]["groups"] = []  # it named segment
    blueprints = Blueprint.objects.count()
    response = client_for(users["editor"]).post("/api/v1/blueprints/import/", document, format="json")
    assert response.status_code == 400, response.content
    assert "attributes[0].key" in response.json()["errors"]
    assert Blueprint.objects.count() == blueprints


@pytest.mark.django_db
def test_the_catalog_form_stores_a_whole_key(client: Client, board: Blueprint, users: dict[str, Any]) -> None:
    client.force_login(users["editor"])
    response = client.post(
        f"/blueprints/{board.pk}/catalog/attributes/",
        {"key": "income\n", "label": "Income", "kind": "attribute", "type": "number"},
        **HX,
    )
    assert response.status_code == 200
    assert Attribute.objects.filter(blueprint=board, key="income").exists()
    assert client.get(f"/blueprints/{board.pk}/catalog/").status_code == 200


def test_the_condition_editor_takes_only_whole_row_ids() -> None:
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    data.setlist("cond", ["r1", "r2\n"])
    assert [row.rid for row in ConditionEditor.from_query("groups", data).rows] == ["r1"]


@pytest.mark.django_db
def test_the_database_refuses_a_key_that_is_not_whole(board: Blueprint) -> None:
    stage = Stage.objects.get(blueprint=board, key="awareness")
    for made in (
        Attribute(blueprint=board, key="age2\n", label="Age", type="number"),
        Stage(blueprint=board, key="intro\n", name="Intro", rank="a5"),
        Offer(blueprint=board, stage=stage, key="promo\n", name="Promo", rank="a5"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            type(made).objects.bulk_create([made])  # past the edit path and its signals


@pytest.mark.django_db(transaction=True)
def test_the_socket_refuses_a_key_ending_in_a_line_break(board: Blueprint, users: dict[str, Any]) -> None:
    cookie = session_cookie(users["editor"])

    async def body() -> list[dict[str, Any]]:
        async with board_socket(board.pk, cookie) as socket:
            payload = {"stage": "awareness", "key": "promo\n", "name": "Promo"}
            await socket.send_json_to(
                {"type": "op", "client_id": "c1", "op": "offer.create", "payload": payload}
            )
            refused = await next_frame(socket, "presence", "beat", "lint", "op")
            await socket.send_json_to({"type": "presence", "editing": "offer-welcome\n"})
            error = await next_frame(socket)
            return [refused, error]

    refused, error = run(body)
    assert refused["type"] == "refused" and refused["status"] == 400
    assert "is not a key" in " ".join(refused["errors"]["key"])
    assert error["type"] == "error" and "editing" in error["errors"]
    assert not Offer.objects.filter(key__startswith="promo").exists()


# --- What was stored before: migration 0005 -----------------------------------------------------------


def _snapshot(offer_name: str) -> dict[str, Any]:
    number = {
        "kind": "attribute",
        "type": "number",
        "choices": [],
        "unit": "",
        "description": "",
        "source": "",
    }
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "Old", "context": "", "channels": [], "description": ""},
        "attributes": [
            {"key": "age\n", "label": "Age", **number},
            {"key": "age", "label": "Age too", **number},
        ],
        "stages": [
            {
                "key": "start\n",
                "name": "Start",
                "description": "",
                "entry": [[{"attribute": "age\n", "operator": "at_least", "value": 18}]],
                "offers": [
                    {
                        "key": "promo\n",
                        "name": offer_name,
                        "description": "",
                        "channel": "",
                        "fallback": False,
                        "groups": [[{"attribute": "age\n", "operator": "at_most", "value": 30}]],
                    },
                    {
                        "key": "plain",
                        "name": "Plain",
                        "description": "",
                        "channel": "",
                        "fallback": False,
                        "groups": [[{"attribute": "age", "operator": "at_least", "value": 40}]],
                    },
                ],
            }
        ],
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_cleans_stored_keys_and_their_references_and_the_catalog_answers() -> None:
    executor = MigrationExecutor(connection)
    before, after = [("blueprint", "0004_versions_approval")], executor.loader.graph.leaf_nodes("blueprint")
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    person = get_user_model().objects.create_user(username="owner", password="x")
    blueprint = old.get_model("blueprint", "Blueprint").objects.create(
        name="Old", created_by_id=person.pk, rev=2
    )
    old.get_model("blueprint", "Membership").objects.create(
        blueprint=blueprint, user_id=person.pk, role="owner"
    )
    stored = _snapshot("Promo")
    for attribute in stored["attributes"]:
        old.get_model("blueprint", "Attribute").objects.create(blueprint=blueprint, **attribute)
    shown = stored["stages"][0]
    stage = old.get_model("blueprint", "Stage").objects.create(
        blueprint=blueprint, key=shown["key"], name="Start", entry=shown["entry"], rank="a0"
    )
    for rank, offer in zip(("a0", "a1"), shown["offers"], strict=True):
        old.get_model("blueprint", "Offer").objects.create(
            blueprint=blueprint, stage=stage, rank=rank, **offer
        )
    log = old.get_model("blueprint", "Operation")
    log.objects.create(
        blueprint=blueprint,
        rev=1,
        type="offer.create",
        payload={**shown["offers"][0], "stage": "start\n", "rank": "a0"},
        inverse=[{"type": "offer.delete", "payload": {"key": "promo\n"}}],
    )
    log.objects.create(
        blueprint=blueprint,
        rev=2,
        type="stage.delete",
        payload={"key": "gone\n"},
        inverse=[{"type": "stage.create", "payload": {"key": "gone\n", "name": "Gone", "after": "start\n"}}],
    )
    old.get_model("blueprint", "Version").objects.create(
        blueprint=blueprint, number=1, snapshot=_snapshot("Old promo"), content_hash="sha256:0", rev=2
    )

    executor.loader.build_graph()
    executor.migrate(after)

    assert sorted(Attribute.objects.values_list("key", flat=True)) == ["age", "age_2"]
    stage = Stage.objects.get()
    assert stage.key == "start"
    assert stage.entry == [[{"attribute": "age_2", "operator": "at_least", "value": 18}]]
    promo, plain = Offer.objects.order_by("rank")
    assert (promo.key, promo.groups[0][0]["attribute"]) == ("promo", "age_2")
    assert (plain.key, plain.groups[0][0]["attribute"]) == ("plain", "age")  # whole keys stay
    first, second = Operation.objects.order_by("rev")
    assert (first.payload["key"], first.payload["stage"], first.inverse[0]["payload"]["key"]) == (
        "promo",
        "start",
        "promo",
    )
    assert first.payload["groups"][0][0]["attribute"] == "age_2"
    assert second.inverse[0]["payload"] == {"key": "gone", "name": "Gone", "after": "start"}
    version = Version.objects.get()
    assert version.snapshot == _snapshot("Old promo")  # published versions are never rewritten

    client = Client()
    client.force_login(person)
    assert client.get(f"/blueprints/{blueprint.pk}/catalog/").status_code == 200
    assert client.get(f"/blueprints/{blueprint.pk}/").status_code == 200
    api = client_for(person)
    response = api.patch(
        f"/api/v1/blueprints/{blueprint.pk}/attributes/age_2/", {"label": "Age (years)"}, format="json"
    )
    assert response.status_code == 200, response.content

    # a version published before keeps its keys, and a restore cleans them as the board's were
    result = version_restore(blueprint_id=blueprint.pk, number=1, actor=person)
    assert result.done, result.message
    assert Offer.objects.get(key="promo").name == "Old promo"
    restored = board_snapshot(board_load(Blueprint.objects.get(pk=blueprint.pk)))
    assert restored["stages"] == snapshot_keys_cleaned(version.snapshot)["stages"]
