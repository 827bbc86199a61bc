"""One description of each operation's payload (blueprint/payloads.py): the service accepts exactly
the fields it describes, and the API's input serializers, so its OpenAPI schema, show them."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from blueprint.api import serializers as s
from blueprint.models import Blueprint
from blueprint.payloads import PAYLOADS, Kind, Payload
from blueprint.services import HANDLERS, operation_apply
from decisioning.errors import InvalidInput
from decisioning.limits import LIMITS

# Each operation whose body the API takes, and the serializer the API describes it with.
API_INPUTS: dict[str, type[serializers.Serializer]] = {
    "blueprint.update": s.BlueprintUpdateInput,
    "attribute.create": s.AttributeCreateInput,
    "attribute.update": s.AttributeUpdateInput,
    "stage.create": s.StageCreateInput,
    "stage.update": s.StageUpdateInput,
    "stage.move": s.StageMoveInput,
    "offer.create": s.OfferCreateInput,
    "offer.update": s.OfferUpdateInput,
    "offer.move": s.OfferMoveInput,
}
# What an API body holds besides the payload: the client id, and the owner's approval setting.
OUTSIDE_THE_PAYLOAD = {"client_id", "approval_policy"}

# A payload naming an object of the board fixture, for the operations that change one.
TARGETS: dict[str, dict[str, Any]] = {
    "attribute": {"key": "age"},
    "stage": {"key": "awareness"},
    "offer": {"key": "welcome"},
}


def api_names(described: Payload) -> set[str]:
    return {field.api_name or name for name, field in described.fields.items() if field.api}


def test_every_operation_has_a_description_of_its_payload() -> None:
    assert set(PAYLOADS) == set(HANDLERS)


@pytest.mark.parametrize("op_type", sorted(API_INPUTS))
def test_the_api_body_holds_the_fields_the_description_shows(op_type: str) -> None:
    fields = API_INPUTS[op_type]().fields
    assert set(fields) - OUTSIDE_THE_PAYLOAD == api_names(PAYLOADS[op_type])


@pytest.mark.parametrize("op_type", sorted(API_INPUTS))
def test_the_api_states_each_fields_limit_and_requiredness(op_type: str) -> None:
    fields = API_INPUTS[op_type]().fields
    for name, field in PAYLOADS[op_type].fields.items():
        if not field.api:
            continue
        shown = fields[field.api_name or name]
        assert shown.required == (field.required and not field.path), name
        if field.kind in (Kind.TEXT, Kind.TEXTS):
            assert shown.max_length == getattr(LIMITS, field.limit), name
        if field.kind is Kind.TEXT:
            assert shown.allow_blank == field.blank, name


@pytest.mark.parametrize("op_type", sorted(op for op in PAYLOADS if not op.endswith(".delete")))
def test_the_service_refuses_a_field_its_description_lacks_and_names_those_it_has(
    board: Blueprint, op_type: str
) -> None:
    entity, action = op_type.split(".")
    payload: dict[str, Any] = {"bogus": 1}
    if action != "create":
        payload.update(TARGETS.get(entity, {}))
    if op_type == "offer.create":
        payload["stage"] = "awareness"
    with pytest.raises(InvalidInput) as refused:
        operation_apply(blueprint_id=board.pk, actor=None, op_type=op_type, payload=payload)
    expected = ", ".join(sorted(PAYLOADS[op_type].names))
    assert refused.value.problems["bogus"] == [f"Unknown field; expected some of: {expected}."]


def test_a_field_the_description_requires_is_required_by_the_service(board: Blueprint) -> None:
    with pytest.raises(InvalidInput) as refused:
        operation_apply(blueprint_id=board.pk, actor=None, op_type="attribute.create", payload={})
    assert refused.value.problems == {
        "label": ["This field is required."],
        "type": ["This field is required; one of: text, choice, number, boolean, date, set."],
    }
