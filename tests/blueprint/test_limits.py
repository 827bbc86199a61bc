"""The limits (decisioning/limits.py): one table, read by every path.

For each limit and each path — the JSON API, the forms of the board and of the pages, and the
import (the socket: test_limits_socket.py) — one past the limit is refused, naming the limit (in
words on a page), and nothing changes; the limit itself is accepted. The counts of a board are held
at their real numbers through the API; the other paths run with the counts made small, which only
holds because every path reads the table when it runs (``small_counts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client
from fractional_indexing import generate_n_keys_between

from blueprint import models as board_models
from blueprint.api import serializers as s
from blueprint.models import Attribute, Blueprint, Membership, Offer, Stage
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import operation_apply
from decisioning.limits import LIMITS, Limits, for_people, json_too_deep, over_limit
from tests.blueprint.test_api import client_for, url
from tests.blueprint.test_board_views import HX, conditions

pytestmark = pytest.mark.django_db

Op = tuple[str, dict[str, Any]]


# --- The table ------------------------------------------------------------------------------------


def test_the_limits_endpoint_answers_the_whole_table(users: dict[str, Any]) -> None:
    response = client_for(users["viewer"]).get("/api/v1/limits/")
    assert response.status_code == 200
    assert response.json() == LIMITS.as_json()
    assert {"stages_per_blueprint", "offers_per_stage", "groups_per_offer", "conditions_per_group"} <= set(
        response.json()
    )
    assert {"values_per_list", "text_length"} <= set(response.json())  # docs/architecture.md, "Limits"


def test_the_limits_endpoint_is_documented_with_every_limit(users: dict[str, Any]) -> None:
    schema = client_for(users["viewer"]).get("/api/v1/schema/?format=json").json()
    documented = schema["components"]["schemas"]["LimitsOutput"]["properties"]
    assert set(documented) == {f.name for f in fields(Limits)}
    assert "/api/v1/limits/" in schema["paths"]


def test_the_models_hold_exactly_what_the_table_allows() -> None:
    lengths = {
        (board_models.Blueprint, "name"): "name_length",
        (board_models.Blueprint, "context"): "context_length",
        (board_models.Attribute, "key"): "key_length",
        (board_models.Attribute, "label"): "label_length",
        (board_models.Attribute, "unit"): "unit_length",
        (board_models.Attribute, "source"): "source_length",
        (board_models.Stage, "key"): "key_length",
        (board_models.Stage, "name"): "name_length",
        (board_models.Offer, "key"): "key_length",
        (board_models.Offer, "name"): "name_length",
        (board_models.Offer, "channel"): "channel_length",
        (board_models.Operation, "client_id"): "client_id_length",
        (board_models.UndoStep, "client_id"): "client_id_length",
    }
    for (model, name), limit in lengths.items():
        field = model._meta.get_field(name)
        assert isinstance(field, models.CharField)
        assert field.max_length == getattr(LIMITS, limit), (model, name)


def test_the_api_schema_states_the_limits_of_conditions_and_fields() -> None:
    groups = s.OfferCreateInput().fields["groups"]
    assert groups.max_length == LIMITS.groups_per_offer
    assert groups.child.max_length == LIMITS.conditions_per_group
    assert s.AttributeCreateInput().fields["choices"].max_length == LIMITS.choices_per_attribute
    assert s.BlueprintCreateInput().fields["channels"].max_length == LIMITS.channels_per_blueprint
    assert s.StageCreateInput().fields["name"].max_length == LIMITS.name_length
    assert s.StageCreateInput().fields["description"].max_length == LIMITS.description_length


def test_a_board_form_at_the_limits_fits_in_the_fields_django_parses() -> None:
    rows = LIMITS.groups_per_offer * LIMITS.conditions_per_group
    assert LIMITS.form_fields >= rows * (4 + LIMITS.values_per_list) + 100


def test_a_refusal_names_its_limit_for_programs_and_says_it_plainly_for_people() -> None:
    message = over_limit("stages_per_blueprint", "A blueprint holds at most 50 stages")
    assert message == "A blueprint holds at most 50 stages (limit stages_per_blueprint)."
    assert for_people(message) == "A blueprint holds at most 50 stages."
    assert for_people("Nothing (limited) here.") == "Nothing (limited) here."


def test_json_too_deep_names_where_and_never_recurses() -> None:
    deep: Any = 1
    for _ in range(100_000):  # far deeper than Python's recursion limit
        deep = [deep]
    assert json_too_deep(deep) == "[0]" * LIMITS.json_depth
    assert json_too_deep({"a": [[{"b": 1}]]}) is None


# --- Filling a board up to a count ------------------------------------------------------------


def fill_stages(board: Blueprint, total: int) -> None:
    """Stages at the end of the board until it holds ``total``."""
    stages = list(Stage.objects.filter(blueprint=board))
    last = max(stage.rank for stage in stages)
    ranks = generate_n_keys_between(last, None, total - len(stages))
    Stage.objects.bulk_create(
        Stage(blueprint=board, key=f"filler_{i}", name=f"Filler {i}", rank=rank)
        for i, rank in enumerate(ranks)
    )


def fill_offers(board: Blueprint, stage_key: str, total: int) -> None:
    """Offers at the end of the stage until it holds ``total``."""
    stage = Stage.objects.get(blueprint=board, key=stage_key)
    offers = list(Offer.objects.filter(stage=stage))
    last = max((offer.rank for offer in offers), default=None)
    ranks = generate_n_keys_between(last, None, total - len(offers))
    Offer.objects.bulk_create(
        Offer(blueprint=board, stage=stage, key=f"{stage_key}_o{i}", name=f"Offer {i}", rank=rank)
        for i, rank in enumerate(ranks, start=len(offers))
    )


def fill_board_offers(board: Blueprint, total: int) -> None:
    """Offers in new stages of up to ``offers_per_stage`` each, until the board holds ``total``."""
    have = Offer.objects.filter(blueprint=board).count()
    stage_number = 0
    while have < total:
        key = f"more_{stage_number}"
        operation_apply(
            blueprint_id=board.pk, actor=None, op_type="stage.create", payload={"key": key, "name": key}
        )
        take = min(LIMITS.offers_per_stage, total - have)
        fill_offers(board, key, take)
        have, stage_number = have + take, stage_number + 1


def fill_attributes(board: Blueprint, total: int) -> None:
    have = Attribute.objects.filter(blueprint=board).count()
    Attribute.objects.bulk_create(
        Attribute(blueprint=board, key=f"extra_{i}", label=f"Extra {i}", type="number")
        for i in range(total - have)
    )


def fill_members(board: Blueprint, total: int) -> None:
    have = Membership.objects.filter(blueprint=board).count()
    made = get_user_model().objects.bulk_create(
        get_user_model()(username=f"member_{i}") for i in range(total - have)
    )
    Membership.objects.bulk_create(Membership(blueprint=board, user=user, role="viewer") for user in made)


def fill_blueprints(person: Any, total: int) -> None:
    have = Blueprint.objects.filter(created_by=person).count()
    Blueprint.objects.bulk_create(Blueprint(name=f"Mine {i}", created_by=person) for i in range(total - have))


@pytest.fixture
def small_counts() -> Iterator[None]:
    """The counts of a board made small for the tests of the paths (read when each path runs)."""
    small = {
        "stages_per_blueprint": 4,
        "offers_per_stage": 4,
        "offers_per_blueprint": 6,
        "attributes_per_blueprint": 10,
        "members_per_blueprint": 7,
        "blueprints_per_person": 3,
    }
    before = {name: getattr(LIMITS, name) for name in small}
    LIMITS.__dict__.update(small)
    try:
        yield
    finally:
        LIMITS.__dict__.update(before)


# --- The cases: for each limit, the operation that holds n of what it counts ------------------------


@dataclass(frozen=True)
class Case:
    limit: str
    words: str  # what the refusal says in any language: "at most 10 groups"
    field: str  # where the API and the socket name the problem
    import_path: str | None  # where the import names it; None: an import cannot go past it
    make: Callable[[int], Op]  # the operation with n of what the limit counts
    fill: Callable[[Blueprint, int], None] | None = None  # counts: the board holds n before

    def __str__(self) -> str:
        return self.limit


def _number_conditions(n: int) -> list[dict[str, Any]]:
    return [{"attribute": "age", "operator": "at_least", "value": i} for i in range(n)]


def _offer_update(**changes: Any) -> Op:
    return "offer.update", {"key": "welcome", **changes}


def _text_list(n: int) -> list[list[dict[str, Any]]]:
    return [[{"attribute": "city", "operator": "is_one_of", "value": [f"City {i}" for i in range(n)]}]]


SHAPES = [
    Case(
        "groups_per_offer",
        "At most {n} groups",
        "groups",
        "stages[0].offers[0].groups",
        lambda n: _offer_update(groups=[_number_conditions(1) for _ in range(n)]),
    ),
    Case(
        "conditions_per_group",
        "At most {n} conditions",
        "groups[0]",
        "stages[0].offers[0].groups[0]",
        lambda n: _offer_update(groups=[_number_conditions(n)]),
    ),
    Case(
        "values_per_list",
        "At most {n} values",
        "groups[0][0].value",
        "stages[0].offers[0].groups[0][0].value",
        lambda n: _offer_update(groups=_text_list(n)),
    ),
    Case(
        "text_length",
        "at most {n} characters",
        "groups[0][0].value",
        "stages[0].offers[0].groups[0][0].value",
        lambda n: _offer_update(groups=[[{"attribute": "city", "operator": "is", "value": "x" * n}]]),
    ),
    Case(
        "name_length",
        "At most {n} characters",
        "name",
        "stages[0].offers[0].name",
        lambda n: _offer_update(name="N" * n),
    ),
    Case(
        "description_length",
        "At most {n} characters",
        "description",
        "stages[0].offers[0].description",
        lambda n: _offer_update(description="d" * n),
    ),
    Case(
        "channel_length",
        "At most {n} characters",
        "channel",
        "stages[0].offers[0].channel",
        lambda n: _offer_update(channel="c" * n),
    ),
    Case(
        "key_length",
        "at most {n} characters",
        "key",
        "stages[1].offers[1].key",
        lambda n: ("offer.create", {"stage": "onboarding", "key": "k" * n, "name": "Long key"}),
    ),
    Case(
        "choices_per_attribute",
        "At most {n} values",
        "choices",
        "attributes[8].choices",
        lambda n: (
            "attribute.create",
            {"key": "tier", "label": "Tier", "type": "choice", "choices": [f"T{i}" for i in range(n)]},
        ),
    ),
    Case(
        "choice_length",
        "at most {n} characters",
        "choices",
        "attributes[8].choices",
        lambda n: (
            "attribute.create",
            {"key": "tier", "label": "Tier", "type": "choice", "choices": ["c" * n]},
        ),
    ),
    Case(
        "label_length",
        "At most {n} characters",
        "label",
        "attributes[8].label",
        lambda n: ("attribute.create", {"key": "tier", "label": "L" * n, "type": "number"}),
    ),
    Case(
        "unit_length",
        "At most {n} characters",
        "unit",
        "attributes[8].unit",
        lambda n: ("attribute.create", {"key": "tier", "label": "Tier", "type": "number", "unit": "u" * n}),
    ),
    Case(
        "source_length",
        "At most {n} characters",
        "source",
        "attributes[8].source",
        lambda n: ("attribute.create", {"key": "tier", "label": "Tier", "type": "number", "source": "s" * n}),
    ),
    Case(
        "channels_per_blueprint",
        "At most {n} values",
        "channels",
        "blueprint.channels",
        lambda n: ("blueprint.update", {"channels": [f"channel {i}" for i in range(n)]}),
    ),
    Case(
        "context_length",
        "At most {n} characters",
        "context",
        "blueprint.context",
        lambda n: ("blueprint.update", {"context": "c" * n}),
    ),
]

COUNTS = [
    Case(
        "stages_per_blueprint",
        "at most {n} stages",
        "stages",
        "stages",
        lambda n: ("stage.create", {"key": f"new_{n}", "name": f"New {n}"}),
        lambda board, n: fill_stages(board, n),
    ),
    Case(
        "offers_per_stage",
        "at most {n} offers",
        "offers",
        "stages[0].offers",
        lambda n: ("offer.create", {"stage": "awareness", "key": f"new_{n}", "name": f"New {n}"}),
        lambda board, n: fill_offers(board, "awareness", n),
    ),
    Case(
        "offers_per_blueprint",
        "at most {n} offers",
        "offers",
        "stages",
        lambda n: ("offer.create", {"stage": "onboarding", "key": f"new_{n}", "name": f"New {n}"}),
        lambda board, n: fill_board_offers(board, n),
    ),
    Case(
        "attributes_per_blueprint",
        "at most {n} attributes",
        "attributes",
        "attributes",
        lambda n: ("attribute.create", {"key": f"new_{n}", "label": f"New {n}", "type": "number"}),
        lambda board, n: fill_attributes(board, n),
    ),
]

MOVE = Case(
    "offers_per_stage",
    "at most {n} offers",
    "stage",
    None,
    lambda n: ("offer.move", {"key": "app_tour", "stage": "awareness"}),
    lambda board, n: fill_offers(board, "awareness", n),
)


def words(case: Case) -> str:
    return case.words.format(n=getattr(LIMITS, case.limit))


def named(case: Case) -> str:
    return f"(limit {case.limit})"


def state(board: Blueprint) -> tuple[int, Any, list[str]]:
    """What a refusal must leave as it was: the rev, the content, and the blueprint's fields."""
    fresh = Blueprint.objects.get(pk=board.pk)
    return fresh.rev, board_snapshot(board_load(fresh)), [fresh.name, fresh.context, *fresh.channels]


# --- The paths ------------------------------------------------------------------------------------


def api_send(client: Any, board: Blueprint, op: Op) -> Any:
    op_type, payload = op
    body = dict(payload)
    if op_type == "stage.create":
        return client.post(url(board, "stages/"), body, format="json")
    if op_type == "offer.create":
        stage = body.pop("stage")
        return client.post(url(board, f"stages/{stage}/offers/"), body, format="json")
    if op_type == "offer.update":
        return client.patch(url(board, f"offers/{body.pop('key')}/"), body, format="json")
    if op_type == "offer.move":
        return client.post(url(board, f"offers/{body.pop('key')}/move/"), body, format="json")
    if op_type == "attribute.create":
        return client.post(url(board, "attributes/"), body, format="json")
    if op_type == "blueprint.update":
        return client.patch(url(board), body, format="json")
    raise AssertionError(op_type)


def _rows(groups: list[list[dict[str, Any]]]) -> dict[str, list[str]]:
    return conditions(*[[(c["attribute"], c["operator"], c["value"]) for c in group] for group in groups])


def form_send(client: Client, board: Blueprint, op: Op) -> Any:
    """The operation as a person makes it: the board's forms, the catalog, the list page."""
    op_type, payload = op
    base = f"/blueprints/{board.pk}/"
    if op_type == "stage.create":
        data = {"name": payload["name"], **_rows(payload.get("entry", []))}
        return client.post(base + "board/stages/", data, **HX)
    if op_type == "offer.create":
        data = {"name": payload["name"], **_rows(payload.get("groups", []))}
        return client.post(base + f"board/stages/{payload['stage']}/offers/", data, **HX)
    if op_type == "offer.update":
        offer = Offer.objects.get(blueprint=board, key=payload["key"])
        data = {
            "name": payload.get("name", offer.name),
            "description": payload.get("description", offer.description),
            "channel": payload.get("channel", offer.channel),
            **_rows(payload.get("groups", offer.groups)),
        }
        return client.post(base + f"board/offers/{payload['key']}/update/", data, **HX)
    if op_type == "attribute.create":
        data = {"kind": "attribute", **payload, "choices": "\n".join(payload.get("choices", []))}
        return client.post(base + "catalog/attributes/", data, **HX)
    if op_type == "blueprint.update":
        data = {"name": board.name, "context": payload.get("context", board.context)}
        data["channels"] = "\n".join(payload.get("channels", board.channels))
        return client.post(base + "update/", data, **HX)
    raise AssertionError(op_type)


def document_with(document: dict[str, Any], op: Op) -> dict[str, Any]:
    """The export ``document`` with the operation made in it."""
    op_type, payload = op
    if op_type == "stage.create":
        document["stages"].append({"description": "", "entry": [], "offers": [], **payload})
    elif op_type == "offer.create":
        stage = next(stage for stage in document["stages"] if stage["key"] == payload["stage"])
        offer = {k: v for k, v in payload.items() if k != "stage"}
        stage["offers"].append({"description": "", "channel": "", "fallback": False, "groups": [], **offer})
    elif op_type == "offer.update":
        for stage in document["stages"]:
            for offer in stage["offers"]:
                if offer["key"] == payload["key"]:
                    offer.update(payload)
    elif op_type == "attribute.create":
        document["attributes"].append(
            {"kind": "attribute", "choices": [], "unit": "", "description": "", "source": "", **payload}
        )
    elif op_type == "blueprint.update":
        document["blueprint"].update(payload)
    else:
        raise AssertionError(op_type)
    return document


def import_document(board: Blueprint, *ops: Op) -> dict[str, Any]:
    """The board's export with the operations made in it."""
    document = board_snapshot(board_load(Blueprint.objects.get(pk=board.pk)))
    for op in ops:
        document = document_with(document, op)
    return document


def assert_refused_by_api(response: Any, case: Case) -> None:
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert case.field in errors, errors
    said = " ".join(errors[case.field])
    assert words(case) in said and named(case) in said, said


def assert_refused_by_form(response: Any, case: Case) -> None:
    # a form comes back in place with the problem (422); a drag is refused with a toast (400)
    assert response.status_code in (400, 422), response.content
    page = response.content.decode()
    assert words(case) in page, page
    assert "(limit " not in page  # words for people, not the name of the limit


@pytest.mark.parametrize("case", SHAPES, ids=str)
def test_the_api_takes_a_shape_at_its_limit_and_refuses_one_past_it(
    board: Blueprint, users: dict[str, Any], case: Case
) -> None:
    client = client_for(users["editor"])
    limit = getattr(LIMITS, case.limit)
    before = state(board)
    assert_refused_by_api(api_send(client, board, case.make(limit + 1)), case)
    assert state(board) == before
    response = api_send(client, board, case.make(limit))
    assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize("case", [c for c in SHAPES if c.limit != "key_length"], ids=str)
def test_the_forms_take_a_shape_at_its_limit_and_refuse_one_past_it(
    client: Client, board: Blueprint, users: dict[str, Any], case: Case
) -> None:
    client.force_login(users["editor"])
    limit = getattr(LIMITS, case.limit)
    before = state(board)
    assert_refused_by_form(form_send(client, board, case.make(limit + 1)), case)
    assert state(board) == before
    response = form_send(client, board, case.make(limit))
    assert response.status_code in (200, 204), response.content
    assert state(board)[0] == before[0] + 1


@pytest.mark.parametrize("case", SHAPES, ids=str)
def test_the_import_takes_a_shape_at_its_limit_and_refuses_one_past_it_by_its_json_path(
    board: Blueprint, users: dict[str, Any], case: Case
) -> None:
    client = client_for(users["editor"])
    limit = getattr(LIMITS, case.limit)
    blueprints = Blueprint.objects.count()
    response = client.post(
        "/api/v1/blueprints/import/", import_document(board, case.make(limit + 1)), format="json"
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert case.import_path in errors, errors
    said = " ".join(errors[case.import_path])
    assert words(case) in said and named(case) in said, said
    assert Blueprint.objects.count() == blueprints
    response = client.post(
        "/api/v1/blueprints/import/", import_document(board, case.make(limit)), format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("case", [*COUNTS, MOVE], ids=str)
def test_the_api_holds_a_count_at_its_real_limit(board: Blueprint, users: dict[str, Any], case: Case) -> None:
    assert case.fill is not None
    client = client_for(users["editor"])
    limit = getattr(LIMITS, case.limit)
    if case.make(0)[0] == "offer.move":
        case.fill(board, limit - 1)
        response = api_send(client, board, case.make(0))  # the stage's last place
        assert response.status_code == 200, response.content
        api_send(client, board, ("offer.move", {"key": "app_tour", "stage": "onboarding"}))
        fill_offers(board, "awareness", limit)
        before = state(board)
        assert_refused_by_api(api_send(client, board, case.make(0)), case)
        assert state(board) == before
        return
    case.fill(board, limit - 1)
    response = api_send(client, board, case.make(limit))
    assert response.status_code == 201, response.content
    before = state(board)
    assert_refused_by_api(api_send(client, board, case.make(limit + 1)), case)
    assert state(board) == before


@pytest.mark.parametrize("case", COUNTS, ids=str)
def test_the_forms_hold_a_count(
    client: Client, board: Blueprint, users: dict[str, Any], small_counts: None, case: Case
) -> None:
    # the drag is an operation on the socket: test_limits_socket.py
    assert case.fill is not None
    client.force_login(users["editor"])
    limit = getattr(LIMITS, case.limit)
    case.fill(board, limit - 1)
    response = form_send(client, board, case.make(limit))
    assert response.status_code in (200, 204), response.content
    before = state(board)
    assert_refused_by_form(form_send(client, board, case.make(limit + 1)), case)
    assert state(board) == before


@pytest.mark.parametrize("case", COUNTS, ids=str)
def test_the_import_holds_a_count_naming_its_json_path(
    board: Blueprint, users: dict[str, Any], small_counts: None, case: Case
) -> None:
    assert case.fill is not None and case.import_path is not None
    client = client_for(users["editor"])
    limit = getattr(LIMITS, case.limit)
    case.fill(board, limit - 1)
    at_limit = import_document(board, case.make(limit))
    over = import_document(board, case.make(limit), case.make(limit + 1))
    blueprints = Blueprint.objects.count()
    response = client.post("/api/v1/blueprints/import/", over, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert case.import_path in errors, errors
    said = " ".join(errors[case.import_path])
    assert words(case) in said and named(case) in said, said
    assert Blueprint.objects.count() == blueprints
    response = client.post("/api/v1/blueprints/import/", at_limit, format="json")
    assert response.status_code == 201, response.content


# --- Members and blueprints ----------------------------------------------------------------------


def test_a_blueprint_takes_members_up_to_its_limit(board: Blueprint, users: dict[str, Any]) -> None:
    fill_members(board, LIMITS.members_per_blueprint - 1)
    owner = client_for(users["owner"])
    response = owner.post(url(board, "members/"), {"username": "stranger", "role": "viewer"}, format="json")
    assert response.status_code == 201, response.content
    get_user_model().objects.create_user(username="one_more", password="x")
    members = Membership.objects.filter(blueprint=board).count()
    response = owner.post(url(board, "members/"), {"username": "one_more", "role": "viewer"}, format="json")
    assert response.status_code == 400, response.content
    said = " ".join(response.json()["errors"]["username"])
    assert (
        f"at most {LIMITS.members_per_blueprint} members" in said and "(limit members_per_blueprint)" in said
    )
    assert Membership.objects.filter(blueprint=board).count() == members


def test_the_members_page_says_when_the_blueprint_is_full(
    client: Client, board: Blueprint, users: dict[str, Any], small_counts: None
) -> None:
    fill_members(board, LIMITS.members_per_blueprint)
    client.force_login(users["owner"])
    members = Membership.objects.filter(blueprint=board).count()
    response = client.post(
        f"/blueprints/{board.pk}/members/add/", {"username": "stranger", "role": "viewer"}, **HX
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert f"at most {LIMITS.members_per_blueprint} members" in page and "(limit " not in page
    assert Membership.objects.filter(blueprint=board).count() == members


def test_a_person_creates_blueprints_up_to_their_limit(users: dict[str, Any]) -> None:
    person = users["editor"]
    fill_blueprints(person, LIMITS.blueprints_per_person - 1)
    client = client_for(person)
    assert client.post("/api/v1/blueprints/", {"name": "The last"}, format="json").status_code == 201
    response = client.post("/api/v1/blueprints/", {"name": "One more"}, format="json")
    assert response.status_code == 400, response.content
    said = " ".join(response.json()["errors"]["blueprints"])
    assert f"at most {LIMITS.blueprints_per_person} blueprints" in said
    assert "(limit blueprints_per_person)" in said
    assert Blueprint.objects.filter(created_by=person).count() == LIMITS.blueprints_per_person


def test_the_list_page_and_the_import_hold_the_blueprints_of_a_person(
    client: Client, board: Blueprint, users: dict[str, Any], small_counts: None
) -> None:
    person = users["editor"]
    fill_blueprints(person, LIMITS.blueprints_per_person)
    client.force_login(person)
    response = client.post("/blueprints/new/", {"name": "One more"}, **HX)
    assert response.status_code == 422
    page = response.content.decode()
    assert f"at most {LIMITS.blueprints_per_person} blueprints" in page and "(limit " not in page
    document = board_snapshot(board_load(board))
    response = client_for(person).post("/api/v1/blueprints/import/", document, format="json")
    assert response.status_code == 400
    assert "(limit blueprints_per_person)" in " ".join(response.json()["errors"]["blueprints"])
    assert Blueprint.objects.filter(created_by=person).count() == LIMITS.blueprints_per_person


# --- Bodies and requests ---------------------------------------------------------------------------


def test_a_json_body_past_its_limit_is_refused_naming_it(board: Blueprint, users: dict[str, Any]) -> None:
    body = json.dumps({"name": "x", "description": "d" * LIMITS.json_body_bytes})
    response = client_for(users["editor"]).post(url(board, "stages/"), body, content_type="application/json")
    assert response.status_code == 413
    assert "(limit json_body_bytes)" in response.json()["detail"]
    assert Stage.objects.filter(blueprint=board).count() == 2


def test_an_import_may_be_larger_than_other_bodies_up_to_its_own_limit(users: dict[str, Any]) -> None:
    client = client_for(users["editor"])
    padding = "d" * LIMITS.json_body_bytes  # past an ordinary body, within an import
    document = {"format": "blueprint-snapshot/1", "blueprint": {"name": "Big", "description": padding}}
    response = client.post(
        "/api/v1/blueprints/import/", {**document, "attributes": [], "stages": []}, format="json"
    )
    assert response.status_code == 400, response.content  # read and checked: the description is too long
    assert "(limit description_length)" in " ".join(response.json()["errors"]["blueprint.description"])
    body = json.dumps({**document, "blueprint": {"name": "x" * LIMITS.import_body_bytes}})
    response = client.post("/api/v1/blueprints/import/", body, content_type="application/json")
    assert response.status_code == 413
    assert "(limit import_body_bytes)" in response.json()["detail"]


def test_a_json_body_nested_past_its_limit_is_refused_naming_it(
    board: Blueprint, users: dict[str, Any]
) -> None:
    deep: Any = "x"
    for _ in range(LIMITS.json_depth):
        deep = [deep]
    response = client_for(users["editor"]).post(url(board, "stages/"), {"name": deep}, format="json")
    assert response.status_code == 400
    assert "(limit json_depth)" in response.json()["detail"]


def test_a_json_batch_takes_profiles_up_to_its_limit(board: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["editor"])
    batch = url(board, "decide/batch/")
    response = client.post(
        batch, {"profiles": [{}] * (LIMITS.batch_profiles + 1), "version": "draft"}, format="json"
    )
    assert response.status_code == 400, response.content
    said = " ".join(response.json()["errors"]["profiles"])
    assert f"At most {LIMITS.batch_profiles} profiles" in said and "(limit batch_profiles)" in said
    response = client.post(
        batch, {"profiles": [{}] * LIMITS.batch_profiles, "version": "draft"}, format="json"
    )
    assert response.status_code == 200
    assert len(json.loads(b"".join(response.streaming_content))["results"]) == LIMITS.batch_profiles


def test_a_client_id_past_its_limit_is_refused_naming_it(board: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["editor"])
    response = client.post(
        url(board, "stages/"),
        {"name": "New"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * (LIMITS.client_id_length + 1),
    )
    assert response.status_code == 400
    assert "(limit client_id_length)" in " ".join(response.json()["errors"]["client_id"])
    assert Stage.objects.filter(blueprint=board).count() == 2


def test_a_version_note_past_its_limit_is_refused_naming_it(board: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["editor"])
    response = client.post(url(board, "versions/"), {"note": "n" * (LIMITS.note_length + 1)}, format="json")
    assert response.status_code == 400
    assert "(limit note_length)" in " ".join(response.json()["errors"]["note"])


def test_the_offer_form_carries_a_condition_editor_at_the_limits(
    client: Client, board: Blueprint, users: dict[str, Any]
) -> None:
    client.force_login(users["editor"])
    full = [
        [
            {
                "attribute": "products",
                "operator": "includes_any_of",
                "value": ["savings", "credit_card", "mortgage"],
            }
        ]
        * LIMITS.conditions_per_group
    ] * LIMITS.groups_per_offer
    data = {"name": "Full", **_rows(full)}
    assert sum(len(values) for values in data.values()) > 1000  # Django's own default
    response = client.post(f"/blueprints/{board.pk}/board/stages/awareness/offers/", data, **HX)
    assert response.status_code == 204, response.content[:500]
    offer = Offer.objects.get(blueprint=board, name="Full")
    assert len(offer.groups) == LIMITS.groups_per_offer
    assert all(len(group) == LIMITS.conditions_per_group for group in offer.groups)


# --- Undo, redo and restore put back what was there ------------------------------------------------


def stage_keys(board: Blueprint) -> set[str]:
    return set(Stage.objects.filter(blueprint=board).values_list("key", flat=True))


def test_an_undo_may_take_a_full_board_one_step_past_a_count_limit(
    board: Blueprint, users: dict[str, Any]
) -> None:
    limit = LIMITS.stages_per_blueprint
    fill_stages(board, limit)
    editor, owner = client_for(users["editor"]), client_for(users["owner"])
    assert editor.delete(url(board, "stages/filler_0/")).status_code == 204
    assert owner.post(url(board, "stages/"), {"name": "Filled meanwhile"}, format="json").status_code == 201
    response = editor.post(url(board, "undo/"), {}, format="json")
    assert response.status_code == 200 and response.json()["done"], response.content
    assert len(stage_keys(board)) == limit + 1  # the deleted stage is back: nothing was lost
    assert_refused_by_api(owner.post(url(board, "stages/"), {"name": "More"}, format="json"), COUNTS[0])


def test_an_undo_that_would_go_further_past_a_limit_waits_on_the_stack(
    board: Blueprint, users: dict[str, Any]
) -> None:
    limit = LIMITS.stages_per_blueprint
    fill_stages(board, limit + 2)  # more than the limit allows, as a board made before it may hold
    editor, owner = client_for(users["editor"]), client_for(users["owner"])
    assert editor.delete(url(board, "stages/filler_0/")).status_code == 204
    before = state(board)
    response = editor.post(url(board, "undo/"), {}, format="json")
    assert_refused_by_api(response, COUNTS[0])
    assert state(board) == before
    for key in ("filler_1", "filler_2", "filler_3"):  # someone makes room
        assert owner.delete(url(board, f"stages/{key}/")).status_code == 204
    response = editor.post(url(board, "undo/"), {}, format="json")
    assert response.status_code == 200 and response.json()["done"], response.content
    assert "filler_0" in stage_keys(board)


def pre_limits_offer(board: Blueprint, groups: int) -> Offer:
    """An offer with more groups than the limit allows, as one made before the limits may have."""
    stage = Stage.objects.get(blueprint=board, key="onboarding")
    rank = max(Offer.objects.filter(stage=stage).values_list("rank", flat=True))
    offer = Offer(
        blueprint=board,
        stage=stage,
        key="old_rules",
        name="Old rules",
        rank=generate_n_keys_between(rank, None, 1)[0],
        groups=[[{"attribute": "age", "operator": "at_least", "value": i}] for i in range(groups)],
    )
    Offer.objects.bulk_create([offer])
    return offer


def test_an_offer_made_before_the_limits_can_be_renamed_deleted_and_brought_back(
    board: Blueprint, users: dict[str, Any]
) -> None:
    offer = pre_limits_offer(board, LIMITS.groups_per_offer + 2)
    editor = client_for(users["editor"])
    assert editor.get(f"/blueprints/{board.pk}/").status_code == 200  # the board, its lint and chips
    assert editor.get(url(board, "lint/")).status_code == 200
    decided = editor.post(url(board, "decide/"), {"profile": {"age": 5}, "version": "draft"}, format="json")
    assert decided.status_code == 200, decided.content
    response = editor.patch(url(board, "offers/old_rules/"), {"name": "Older rules"}, format="json")
    assert response.status_code == 200, response.content
    assert editor.delete(url(board, "offers/old_rules/")).status_code == 204
    response = editor.post(url(board, "undo/"), {}, format="json")
    assert response.status_code == 200 and response.json()["done"], response.content
    assert Offer.objects.get(blueprint=board, key="old_rules").groups == offer.groups


def test_a_version_made_before_the_limits_is_restored_as_it_was(
    board: Blueprint, users: dict[str, Any]
) -> None:
    from blueprint.services import version_publish

    fill_stages(board, LIMITS.stages_per_blueprint + 2)
    offer = pre_limits_offer(board, LIMITS.groups_per_offer + 2)
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="Before the limits")
    editor = client_for(users["editor"])
    for i in range(5):
        assert editor.delete(url(board, f"stages/filler_{i}/")).status_code == 204
    single = [[{"attribute": "age", "operator": "at_least", "value": 1}]]
    assert editor.patch(url(board, "offers/old_rules/"), {"groups": single}, format="json").status_code == 200
    response = editor.post(url(board, f"versions/{version.number}/restore/"), {}, format="json")
    assert response.status_code == 200, response.content
    assert board_snapshot(board_load(Blueprint.objects.get(pk=board.pk))) == version.snapshot
    assert Offer.objects.get(blueprint=board, key="old_rules").groups == offer.groups


def test_a_copy_of_a_blueprint_past_the_limits_is_refused_naming_the_limit(
    board: Blueprint, users: dict[str, Any]
) -> None:
    from blueprint.services import blueprint_duplicate
    from decisioning.errors import InvalidInput

    pre_limits_offer(board, LIMITS.groups_per_offer + 2)
    blueprints = Blueprint.objects.count()
    with pytest.raises(InvalidInput) as refused:
        blueprint_duplicate(actor=users["editor"], blueprint_id=board.pk)
    assert "(limit groups_per_offer)" in refused.value.message
    assert Blueprint.objects.count() == blueprints


def test_the_readme_shows_the_table_as_it_is() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Limits") :]
    shown = dict(re.findall(r"^\| `([a-z_]+)` \| ([0-9.,]+ ?(?:MiB|KiB)?) \|", section, re.M))
    for entry in LIMITS.describe():
        value = entry["value"]
        if entry["name"].endswith("_bytes"):
            expected = f"{value / 2**20:g} MiB" if value >= 2**20 else f"{value // 1024} KiB"
        else:
            expected = f"{value:,}"
        assert shown.get(entry["name"]) == expected, entry["name"]


def test_the_import_page_takes_a_file_up_to_the_import_limit(client: Client, users: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(users["editor"])
    big = {"format": "blueprint-snapshot/1", "blueprint": {"name": "Big", "description": "d" * 6_000_000}}
    document = json.dumps({**big, "attributes": [], "stages": []}).encode()
    response = client.post("/blueprints/import/", {"file": SimpleUploadedFile("big.json", document)})
    assert response.status_code == 422
    page = response.content.decode()
    assert "At most 5000 characters" in page and "the most an import may be" not in page  # read, then checked
    too_big = SimpleUploadedFile("huge.json", b" " * (LIMITS.import_body_bytes + 1))
    response = client.post("/blueprints/import/", {"file": too_big})
    assert response.status_code == 422
    assert (
        f"larger than {LIMITS.import_body_bytes // 2**20} MB, the most an import may be"
        in response.content.decode()
    )
