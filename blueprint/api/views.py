"""The JSON API under /api/v1/: a thin transport over the services and selectors.

The paths are the contract (docs/architecture.md, "The API contract") and several verbs share one
path, so there is one APIView per path and one method per operation; each method parses the body,
calls one service (board content only through ``operation_apply``) and renders what a selector reads
back. Roles are enforced by the services and selectors: a blueprint the caller is not a member of
does not exist (404), a viewer's or approver's write is refused (403). Every error has the shape of
``api/errors.py``.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blueprint.api import serializers as s
from blueprint.api.auth import TokenAuthentication
from blueprint.api.openapi import (
    BLUEPRINT_ID,
    DELETE_ERRORS,
    IDEMPOTENCY_KEY,
    KEY,
    LIMIT,
    MAX_ID,
    READ_ERRORS,
    SINCE,
    USERNAME,
    WRITE_ERRORS,
    answers,
)
from blueprint.api.options import query_options
from blueprint.api.parsers import StrictJSONParser
from blueprint.models import Blueprint, Operation
from blueprint.selectors import (
    Board,
    attribute_fields,
    blueprints_for_user,
    board_json,
    board_load,
    memberships_of,
    operations_after,
)
from blueprint.selectors import offer_json as selector_offer_json
from blueprint.selectors import stage_json as selector_stage_json
from blueprint.services import (
    blueprint_create,
    blueprint_delete,
    blueprint_policy_set,
    member_blueprint,
    membership_remove,
    membership_set,
    operation_apply,
    undo_step,
)
from decisioning.errors import InvalidInput, NotFound
from decisioning.limits import LIMITS

# --- Plumbing shared by the views ---------------------------------------------------------------


class ApiView(APIView):
    # Token first, so an anonymous caller gets 401 with a WWW-Authenticate header rather than 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]


@functools.cache
def field_names(shape: type[serializers.Serializer]) -> frozenset[str]:
    """The fields a body shape declares (building a serializer's fields deep-copies them all)."""
    return frozenset(shape().fields)


@functools.cache
def not_nullable(shape: type[serializers.Serializer]) -> frozenset[str]:
    """The fields of a body shape that may not be null (the schema says so: no ``nullable``)."""
    return frozenset(name for name, field in shape().fields.items() if not field.allow_null)


def parse_body(request: Request, shape: type[serializers.Serializer]) -> dict[str, Any]:
    """The body as the raw JSON object, refusing fields ``shape`` does not declare and null for a
    field it does not let be null (as the schema says; the services read null as "left out").

    Values are not converted: the services validate them and name the field.
    """
    data = request.data
    if not isinstance(data, dict):
        raise ValidationError({"body": ["Expected a JSON object."]})
    allowed = field_names(shape)
    unknown = sorted(set(data) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed))
        raise ValidationError(
            {str(name)[:80]: [f"Unknown field; expected some of: {expected}."] for name in unknown}
        )
    nulls = sorted(name for name, value in data.items() if value is None and name in not_nullable(shape))
    if nulls:
        raise ValidationError({name: ["This field may not be null; leave it out instead."] for name in nulls})
    return dict(data)


def take_client_id(request: Request, body: dict[str, Any]) -> str:
    """The client id from the Idempotency-Key header or the body's ``client_id`` (removed from it)."""
    header = request.headers.get("Idempotency-Key", "")
    field = body.pop("client_id", "")
    if header and field not in ("", header):
        raise InvalidInput(
            "Give the Idempotency-Key header or client_id, not two different ones.", field="client_id"
        )
    if header:
        return header
    if not isinstance(field, str):
        raise InvalidInput("A client id is a string of at most 64 characters.", field="client_id")
    return field


def key_as_given(body: dict[str, Any], key: str) -> dict[str, Any]:
    """An update payload: the path names the object; a ``key`` in the body is an attempted rename."""
    if "key" in body:
        body["new_key"] = body.pop("key")
    body["key"] = key
    return body


def apply(
    request: Request, blueprint_id: int, op_type: str, payload: dict[str, Any], client_id: str
) -> Operation:
    """Apply one operation as the caller (the service refuses a client id reused for another one)."""
    return operation_apply(
        blueprint_id=blueprint_id, actor=request.user, op_type=op_type, payload=payload, client_id=client_id
    )


def member_board(request: Request, blueprint_id: int) -> Board:
    return board_load(member_blueprint(request.user, blueprint_id))


def stage_answer(board: Board, key: str) -> dict[str, Any]:
    column = board.column(key)
    if column is None:
        raise NotFound(f"There is no stage '{key}' in this blueprint.", field="key")
    return {**selector_stage_json(column, board.catalog), "rev": board.blueprint.rev}


def offer_answer(board: Board, key: str) -> dict[str, Any]:
    card = board.card(key)
    if card is None:
        raise NotFound(f"There is no offer '{key}' in this blueprint.", field="key")
    return {**selector_offer_json(card.offer, board.catalog), "rev": board.blueprint.rev}


def attribute_answer(board: Board, key: str) -> dict[str, Any]:
    attribute = next((a for a in board.attributes if a.key == key), None)
    if attribute is None:
        raise NotFound(f"There is no attribute '{key}' in the catalog.", field="key")
    return {**attribute_fields(attribute), "rev": board.blueprint.rev}


def blueprint_answer(blueprint: Blueprint) -> dict[str, Any]:
    return {
        **board_json(board_load(blueprint)),
        "role": blueprint.role,  # type: ignore[attr-defined]
        "approval_policy": blueprint.approval_policy,
    }


NOT_GIVEN = object()


def render(
    shape: type[serializers.Serializer], data: Any, code: int = status.HTTP_200_OK, *, many: bool = False
) -> Response:
    return Response(shape(data, many=many).data, status=code)


def members_of(blueprint: Blueprint) -> list[dict[str, str]]:
    return [{"username": m.user.get_username(), "role": m.role} for m in memberships_of(blueprint)]


# --- Limits ----------------------------------------------------------------------------------------


class LimitsApi(ApiView):
    @extend_schema(
        operation_id="limits_retrieve",
        tags=["limits"],
        responses=answers({200: s.LimitsOutput}, (401,)),
        summary="How much a blueprint, a request and a socket message may hold; more is refused with a "
        "400 naming the limit (413 for a body)",
    )
    def get(self, request: Request) -> Response:
        return render(s.LimitsOutput, LIMITS.as_json())


# --- Blueprints ------------------------------------------------------------------------------------


class BlueprintListApi(ApiView):
    @extend_schema(
        operation_id="blueprints_list",
        tags=["blueprints"],
        responses=answers({200: s.BlueprintSummaryOutput(many=True)}, (401,)),
        summary="The blueprints you are a member of, with your role",
    )
    def get(self, request: Request) -> Response:
        return render(s.BlueprintSummaryOutput, blueprints_for_user(request.user), many=True)

    @extend_schema(
        operation_id="blueprints_create",
        tags=["blueprints"],
        request=s.BlueprintCreateInput,
        responses=answers({201: s.BlueprintDetailOutput}, (400, 401, 413, 415)),
        summary="Create a blueprint; you become its owner",
    )
    def post(self, request: Request) -> Response:
        body = parse_body(request, s.BlueprintCreateInput)
        created = blueprint_create(
            actor=request.user,
            name=body.get("name"),
            context=body.get("context", ""),
            channels=body.get("channels"),
            description=body.get("description", ""),
            stage_mode=body.get("stage_mode"),
        )
        return render(
            s.BlueprintDetailOutput, blueprint_answer(member_blueprint(request.user, created.pk)), 201
        )


class BlueprintDetailApi(ApiView):
    @extend_schema(
        operation_id="blueprints_retrieve",
        tags=["blueprints"],
        parameters=[BLUEPRINT_ID],
        responses=answers({200: s.BlueprintDetailOutput}, READ_ERRORS),
        summary="The whole board: catalog, stages in order, each with its offers in priority order",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        return render(s.BlueprintDetailOutput, blueprint_answer(member_blueprint(request.user, blueprint_id)))

    @extend_schema(
        operation_id="blueprints_update",
        tags=["blueprints"],
        parameters=[BLUEPRINT_ID, IDEMPOTENCY_KEY],
        request=s.BlueprintUpdateInput,
        responses=answers({200: s.BlueprintDetailOutput}, WRITE_ERRORS),
        summary="Change the name, context, channels, description or how stages relate (owner, editor)",
    )
    def patch(self, request: Request, blueprint_id: int) -> Response:
        body = parse_body(request, s.BlueprintUpdateInput)
        client_id = take_client_id(request, body)
        policy = body.pop("approval_policy", None) if "approval_policy" in body else NOT_GIVEN
        with transaction.atomic():
            if policy is not NOT_GIVEN:  # not board content: the owner's setting, outside the log
                blueprint_policy_set(actor=request.user, blueprint_id=blueprint_id, approvals_needed=policy)
            if body or policy is NOT_GIVEN:
                apply(request, blueprint_id, "blueprint.update", body, client_id)
        return render(s.BlueprintDetailOutput, blueprint_answer(member_blueprint(request.user, blueprint_id)))

    @extend_schema(
        operation_id="blueprints_destroy",
        tags=["blueprints"],
        parameters=[BLUEPRINT_ID],
        responses=answers({204: None}, DELETE_ERRORS),
        summary="Delete the blueprint and everything on it (owner)",
    )
    def delete(self, request: Request, blueprint_id: int) -> Response:
        blueprint_delete(actor=request.user, blueprint_id=blueprint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Members -------------------------------------------------------------------------------------


class MemberListApi(ApiView):
    @extend_schema(
        operation_id="members_list",
        tags=["members"],
        parameters=[BLUEPRINT_ID],
        responses=answers({200: s.MemberOutput(many=True)}, READ_ERRORS),
        summary="Who is on the blueprint, in which role",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        return render(s.MemberOutput, members_of(member_blueprint(request.user, blueprint_id)), many=True)

    @extend_schema(
        operation_id="members_create",
        tags=["members"],
        parameters=[BLUEPRINT_ID],
        request=s.MemberInput,
        responses=answers({201: s.MemberOutput}, WRITE_ERRORS),
        summary="Add a member, or change the role of one (owner)",
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        body = parse_body(request, s.MemberInput)
        membership = membership_set(
            actor=request.user,
            blueprint_id=blueprint_id,
            username=body.get("username"),
            role=body.get("role"),
        )
        return render(
            s.MemberOutput, {"username": membership.user.get_username(), "role": membership.role}, 201
        )


class MemberDetailApi(ApiView):
    """An addition to the contract's table: change a member's role, or remove them (owner)."""

    @extend_schema(
        operation_id="members_update",
        tags=["members"],
        parameters=[BLUEPRINT_ID, USERNAME],
        request=s.MemberUpdateInput,
        responses=answers({200: s.MemberOutput}, WRITE_ERRORS),
        summary="Change a member's role (owner); a blueprint always keeps an owner",
    )
    def patch(self, request: Request, blueprint_id: int, username: str) -> Response:
        body = parse_body(request, s.MemberUpdateInput)
        membership = membership_set(
            actor=request.user,
            blueprint_id=blueprint_id,
            username=username,
            role=body.get("role"),
            existing_only=True,
        )
        return render(s.MemberOutput, {"username": membership.user.get_username(), "role": membership.role})

    @extend_schema(
        operation_id="members_destroy",
        tags=["members"],
        parameters=[BLUEPRINT_ID, USERNAME],
        responses=answers({204: None}, DELETE_ERRORS),
        summary="Remove a member (owner); a blueprint always keeps an owner",
    )
    def delete(self, request: Request, blueprint_id: int, username: str) -> Response:
        membership_remove(actor=request.user, blueprint_id=blueprint_id, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Attributes ----------------------------------------------------------------------------------


class AttributeListApi(ApiView):
    @extend_schema(
        operation_id="attributes_list",
        tags=["attributes"],
        parameters=[BLUEPRINT_ID],
        responses=answers({200: s.AttributeOutput(many=True)}, READ_ERRORS),
        summary="The attribute catalog: the data requirements of the spec",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        board = member_board(request, blueprint_id)
        return render(s.AttributeOutput, [attribute_fields(a) for a in board.attributes], many=True)

    @extend_schema(
        operation_id="attributes_create",
        tags=["attributes"],
        parameters=[BLUEPRINT_ID, IDEMPOTENCY_KEY],
        request=s.AttributeCreateInput,
        responses=answers({201: s.AttributeAnswer}, WRITE_ERRORS),
        summary="Add an attribute to the catalog (owner, editor)",
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        body = parse_body(request, s.AttributeCreateInput)
        client_id = take_client_id(request, body)
        record = apply(request, blueprint_id, "attribute.create", body, client_id)
        board = member_board(request, blueprint_id)
        return render(s.AttributeAnswer, attribute_answer(board, record.payload["key"]), 201)


class AttributeDetailApi(ApiView):
    @extend_schema(
        operation_id="attributes_retrieve",
        tags=["attributes"],
        parameters=[BLUEPRINT_ID, KEY],
        responses=answers({200: s.AttributeAnswer}, READ_ERRORS),
        summary="One attribute of the catalog",
    )
    def get(self, request: Request, blueprint_id: int, key: str) -> Response:
        return render(s.AttributeAnswer, attribute_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="attributes_update",
        tags=["attributes"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.AttributeUpdateInput,
        responses=answers({200: s.AttributeAnswer}, WRITE_ERRORS),
        summary="Change an attribute (owner, editor); refused if it would break a condition",
    )
    def patch(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.AttributeUpdateInput)
        client_id = take_client_id(request, body)
        apply(request, blueprint_id, "attribute.update", key_as_given(body, key), client_id)
        return render(s.AttributeAnswer, attribute_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="attributes_destroy",
        tags=["attributes"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        responses=answers({204: None}, DELETE_ERRORS),
        summary="Remove an attribute no condition uses (owner, editor)",
    )
    def delete(self, request: Request, blueprint_id: int, key: str) -> Response:
        apply(request, blueprint_id, "attribute.delete", {"key": key}, take_client_id(request, {}))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Stages --------------------------------------------------------------------------------------


class StageListApi(ApiView):
    @extend_schema(
        operation_id="stages_list",
        tags=["stages"],
        parameters=[BLUEPRINT_ID],
        responses=answers({200: s.StageOutput(many=True)}, READ_ERRORS),
        summary="The stages in order, each with its offers in priority order",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        board = member_board(request, blueprint_id)
        return render(s.StageOutput, [selector_stage_json(c, board.catalog) for c in board.stages], many=True)

    @extend_schema(
        operation_id="stages_create",
        tags=["stages"],
        parameters=[BLUEPRINT_ID, IDEMPOTENCY_KEY],
        request=s.StageCreateInput,
        responses=answers({201: s.StageAnswer}, WRITE_ERRORS),
        summary="Add a stage, at the end or before/after another (owner, editor)",
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        body = parse_body(request, s.StageCreateInput)
        client_id = take_client_id(request, body)
        record = apply(request, blueprint_id, "stage.create", body, client_id)
        return render(
            s.StageAnswer, stage_answer(member_board(request, blueprint_id), record.payload["key"]), 201
        )


class StageDetailApi(ApiView):
    @extend_schema(
        operation_id="stages_retrieve",
        tags=["stages"],
        parameters=[BLUEPRINT_ID, KEY],
        responses=answers({200: s.StageAnswer}, READ_ERRORS),
        summary="One stage with its offers in priority order",
    )
    def get(self, request: Request, blueprint_id: int, key: str) -> Response:
        return render(s.StageAnswer, stage_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="stages_update",
        tags=["stages"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.StageUpdateInput,
        responses=answers({200: s.StageAnswer}, WRITE_ERRORS),
        summary="Change a stage's name, description or entry conditions (owner, editor)",
    )
    def patch(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.StageUpdateInput)
        client_id = take_client_id(request, body)
        apply(request, blueprint_id, "stage.update", key_as_given(body, key), client_id)
        return render(s.StageAnswer, stage_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="stages_destroy",
        tags=["stages"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        responses=answers({204: None}, DELETE_ERRORS),
        summary="Delete a stage and its offers (owner, editor)",
    )
    def delete(self, request: Request, blueprint_id: int, key: str) -> Response:
        apply(request, blueprint_id, "stage.delete", {"key": key}, take_client_id(request, {}))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StageMoveApi(ApiView):
    @extend_schema(
        operation_id="stages_move",
        tags=["stages"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.StageMoveInput,
        responses=answers({200: s.StageMoveAnswer}, WRITE_ERRORS),
        summary="Move a stage before or after another; to the end when neither is given (owner, editor)",
    )
    def post(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.StageMoveInput)
        client_id = take_client_id(request, body)
        apply(request, blueprint_id, "stage.move", {**body, "key": key}, client_id)
        board = member_board(request, blueprint_id)
        order = [c.stage.key for c in board.stages]
        return render(s.StageMoveAnswer, {**stage_answer(board, key), "order": order})


# --- Offers --------------------------------------------------------------------------------------


class StageOfferListApi(ApiView):
    @extend_schema(
        operation_id="stage_offers_list",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY],
        responses=answers({200: s.OfferOutput(many=True)}, READ_ERRORS),
        summary="The offers of a stage in priority order",
    )
    def get(self, request: Request, blueprint_id: int, key: str) -> Response:
        board = member_board(request, blueprint_id)
        column = board.column(key)
        if column is None:
            raise NotFound(f"There is no stage '{key}' in this blueprint.", field="key")
        offers = [selector_offer_json(card.offer, board.catalog) for card in column.offers]
        return render(s.OfferOutput, offers, many=True)

    @extend_schema(
        operation_id="stage_offers_create",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.OfferCreateInput,
        responses=answers({201: s.OfferAnswer}, WRITE_ERRORS),
        summary="Add an offer to the stage, last or before/after another (owner, editor)",
    )
    def post(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.OfferCreateInput)
        client_id = take_client_id(request, body)
        if body.get("stage", key) != key:
            raise InvalidInput(
                f"The offer goes into the stage of the path, '{key}'; leave stage out, or move the offer after.",
                field="stage",
            )
        record = apply(request, blueprint_id, "offer.create", {**body, "stage": key}, client_id)
        return render(
            s.OfferAnswer, offer_answer(member_board(request, blueprint_id), record.payload["key"]), 201
        )


class OfferDetailApi(ApiView):
    @extend_schema(
        operation_id="offers_retrieve",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY],
        responses=answers({200: s.OfferAnswer}, READ_ERRORS),
        summary="One offer with its conditions and their sentences",
    )
    def get(self, request: Request, blueprint_id: int, key: str) -> Response:
        return render(s.OfferAnswer, offer_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="offers_update",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.OfferUpdateInput,
        responses=answers({200: s.OfferAnswer}, WRITE_ERRORS),
        summary="Change an offer's fields or conditions (owner, editor)",
    )
    def patch(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.OfferUpdateInput)
        client_id = take_client_id(request, body)
        apply(request, blueprint_id, "offer.update", key_as_given(body, key), client_id)
        return render(s.OfferAnswer, offer_answer(member_board(request, blueprint_id), key))

    @extend_schema(
        operation_id="offers_destroy",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        responses=answers({204: None}, DELETE_ERRORS),
        summary="Delete an offer (owner, editor)",
    )
    def delete(self, request: Request, blueprint_id: int, key: str) -> Response:
        apply(request, blueprint_id, "offer.delete", {"key": key}, take_client_id(request, {}))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OfferMoveApi(ApiView):
    @extend_schema(
        operation_id="offers_move",
        tags=["offers"],
        parameters=[BLUEPRINT_ID, KEY, IDEMPOTENCY_KEY],
        request=s.OfferMoveInput,
        responses=answers({200: s.OfferMoveAnswer}, WRITE_ERRORS),
        summary="Move an offer within its stage or to another, before/after an offer or to the end (owner, editor)",
    )
    def post(self, request: Request, blueprint_id: int, key: str) -> Response:
        body = parse_body(request, s.OfferMoveInput)
        client_id = take_client_id(request, body)
        apply(request, blueprint_id, "offer.move", {**body, "key": key}, client_id)
        board = member_board(request, blueprint_id)
        answer = offer_answer(board, key)
        column = board.column(answer["stage"])
        order = [card.offer.key for card in column.offers] if column else []
        return render(s.OfferMoveAnswer, {**answer, "order": order})


# --- The operation log, undo and redo -------------------------------------------------------------

LOG_DEFAULT_SPAN = 50
LOG_DEFAULT_LIMIT = 100
LOG_MAX_LIMIT = 500


def log_entry(record: Operation) -> dict[str, Any]:
    return {
        "rev": record.rev,
        "type": record.type,
        "payload": record.payload,
        "actor": record.actor.get_username() if record.actor is not None else None,
        "summary": record.summary,
        "created_at": record.created_at,
        "client_id": record.client_id,
    }


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high], or a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not low <= int(raw) <= high:
        raise InvalidInput(f"Expected a whole number from {low} to {high}.", field=name)
    return int(raw)


class OperationLogApi(ApiView):
    """An addition to the contract's table: the board's log, for clients that missed operations."""

    @extend_schema(
        operation_id="operations_list",
        tags=["operations"],
        parameters=[BLUEPRINT_ID, SINCE, LIMIT],
        responses=answers({200: s.OperationLogOutput}, (400, *READ_ERRORS)),
        summary="The operations after a rev, oldest first: what changed the board, by whom",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        blueprint = member_blueprint(request.user, blueprint_id)
        query_options(request, ("since", "limit"))  # an empty, unknown or repeated one: a 400 naming it
        limit = query_int(request, "limit", LOG_DEFAULT_LIMIT, 1, LOG_MAX_LIMIT)
        # without a since, the newest ones (so a small limit still ends at the current rev)
        newest = max(blueprint.rev - min(limit, LOG_DEFAULT_SPAN), 0)
        since = query_int(request, "since", newest, 0, MAX_ID)
        records = operations_after(blueprint.pk, since, limit=limit + 1)
        answer = {
            "rev": blueprint.rev,
            "more": len(records) > limit,
            "operations": [log_entry(record) for record in records[:limit]],
        }
        return render(s.OperationLogOutput, answer)


def undo_answer(request: Request, blueprint_id: int, *, redo: bool) -> Response:
    body = parse_body(request, s.UndoInput)
    result = undo_step(
        blueprint_id=blueprint_id, actor=request.user, redo=redo, client_id=take_client_id(request, body)
    )
    answer = {
        "done": result.done,
        "message": result.message,
        "rev": result.rev,
        "operations": [log_entry(record) for record in result.records],
    }
    return render(s.UndoOutput, answer)


class UndoApi(ApiView):
    """An addition to the contract's table: the caller's own undo (docs/architecture.md, "The edit path")."""

    @extend_schema(
        operation_id="blueprints_undo",
        tags=["operations"],
        parameters=[BLUEPRINT_ID, IDEMPOTENCY_KEY],
        request=s.UndoInput,
        responses=answers({200: s.UndoOutput}, WRITE_ERRORS),
        summary=(
            "Undo your newest change that is still in effect (owner, editor); "
            "skipped with a message when someone else has changed it since"
        ),
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        return undo_answer(request, blueprint_id, redo=False)


class RedoApi(ApiView):
    """An addition to the contract's table: redo the caller's newest undo."""

    @extend_schema(
        operation_id="blueprints_redo",
        tags=["operations"],
        parameters=[BLUEPRINT_ID, IDEMPOTENCY_KEY],
        request=s.UndoInput,
        responses=answers({200: s.UndoOutput}, WRITE_ERRORS),
        summary="Redo the change you undid last (owner, editor); a new change of yours clears what can be redone",
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        return undo_answer(request, blueprint_id, redo=True)


# --- Outside the operations ------------------------------------------------------------------------


@csrf_exempt  # it changes nothing; a POST to a wrong path deserves the JSON 404, not the CSRF page
def api_not_found(request: HttpRequest, unmatched: str = "") -> JsonResponse:
    """Any other path under /api/v1/ (a non-numeric id, a key outside [a-z0-9_-]): JSON, never HTML."""
    hint = ""
    if not request.path.endswith("/"):
        try:
            if resolve(request.path + "/").func is not api_not_found:
                hint = f" Did you mean {request.path}/ ?"
        except Resolver404:
            pass
    detail = f"Nothing at {request.path[:200]}.{hint}"
    return JsonResponse({"detail": detail, "errors": {"path": [detail]}}, status=404)
