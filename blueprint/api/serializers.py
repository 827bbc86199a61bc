"""Shapes of the JSON API: what each operation takes and what it answers.

Input serializers describe the bodies for the OpenAPI schema and name the fields an operation
knows; the views refuse any other field. An operation's input is built from the description of its
payload (``blueprint.payloads``), the one the service reads by, so the schema states the fields,
kinds and limits the service holds to. They do not convert or validate values: the raw values go
to the services, which are the single validator (so the board's forms, the WebSocket and the API
give the same answer to the same mistake). Output serializers render what the selectors return.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers

from blueprint import payloads
from blueprint.models import Role
from blueprint.payloads import KEY_HELP, Kind
from decisioning.conditions import ALL_OPERATORS, KEY_PATTERN, KINDS, TYPES
from decisioning.limits import LIMITS
from decisioning.model import STAGE_MODES

CLIENT_ID_HELP = (
    "Optional client id (at most 64 characters): an operation retried with the same id applies once. "
    "The Idempotency-Key header does the same."
)


def _key(**kwargs: Any) -> serializers.RegexField:
    kwargs.setdefault("help_text", KEY_HELP)
    return serializers.RegexField(KEY_PATTERN, max_length=LIMITS.key_length, **kwargs)


def _client_id() -> serializers.CharField:
    return serializers.CharField(required=False, max_length=LIMITS.client_id_length, help_text=CLIENT_ID_HELP)


# Fields named like Serializer attributes (errors, context, label, source) are fine at run time,
# because the metaclass moves declared fields out of the class; mypy sees only the clash.

# --- Errors ------------------------------------------------------------------------------------


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="The problems in one sentence.")
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages by field path, e.g. {"groups[0][1].operator": ["…"]}.',
    )
    alternatives = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.DictField()),
        required=False,
        help_text=(
            "Only for a refused negative condition that a positive one says exactly: by the condition's "
            'path (e.g. "groups[0][1]"), each way to say it: {"groups": [[condition, …], …], "says": '
            "its words}. Its groups replace the condition's group (a customer qualifies when any of "
            "them holds, with the group's other conditions). Absent when no positive condition says "
            "it: the message says what to do instead."
        ),
    )


# --- Conditions --------------------------------------------------------------------------------


class ConditionInput(serializers.Serializer):
    attribute = serializers.CharField(help_text="The key of an attribute in the blueprint's catalog.")
    operator = serializers.ChoiceField(
        choices=ALL_OPERATORS,
        help_text=(
            "Positive operators only, suited to the attribute's type. Negative ones (is_not, none_of, "
            "not_between, excludes, a not flag) are refused with the exact positive way to say it "
            "(`alternatives`), or why none says it."
        ),
    )
    value = serializers.JSONField(help_text="One value, a list (is_one_of, includes_any_of) or [low, high].")


class ConditionOutput(serializers.Serializer):
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField()


def _groups_input(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ListField(
            child=ConditionInput(), min_length=1, max_length=LIMITS.conditions_per_group
        ),
        required=False,
        max_length=LIMITS.groups_per_offer,
        help_text=help_text,
    )


def _groups_output() -> serializers.ListField:
    return serializers.ListField(child=serializers.ListField(child=ConditionOutput()))


def _sentences_output() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each condition as a sentence, one list per group.",
    )


def _payload_field(field: payloads.Field) -> serializers.Field:
    """The API's field for a field of an operation's payload; one the path gives is optional."""
    required = field.required and not field.path
    help_text = field.help or None
    if field.kind is Kind.TEXT:
        return serializers.CharField(
            required=required,
            allow_blank=field.blank,
            max_length=getattr(LIMITS, field.limit),
            help_text=help_text,
        )
    if field.kind is Kind.FLAG:
        return serializers.BooleanField(required=required, help_text=help_text)
    if field.kind is Kind.TEXTS:
        return serializers.ListField(
            child=serializers.CharField(max_length=getattr(LIMITS, field.each)),
            required=required,
            max_length=getattr(LIMITS, field.limit),
            help_text=help_text,
        )
    if field.kind is Kind.CHOICE:
        return serializers.ChoiceField(choices=field.choices, required=required, help_text=help_text)
    if field.kind is Kind.DATE:
        return serializers.DateField(required=required, allow_null=True, help_text=help_text)
    if field.kind is Kind.GROUPS:
        return _groups_input(field.help)
    if field.kind is Kind.KEY:
        return _key(required=required, help_text=field.help or KEY_HELP)
    raise AssertionError(f"The API takes no {field.kind} field")


def operation_input(
    name: str, described: payloads.Payload, **extra: serializers.Field
) -> type[serializers.Serializer]:
    """The input serializer of an operation's body: the fields of its payload that the body takes,
    under their names there, then ``extra`` (a client id, a setting outside the payload)."""
    fields = {
        field.api_name or field_name: _payload_field(field)
        for field_name, field in described.in_shown_order()
        if field.api
    }
    # copied, so they come after the payload's fields (a serializer lists fields as created)
    fields.update((extra_name, copy.deepcopy(field)) for extra_name, field in extra.items())
    return type(name, (serializers.Serializer,), {"__module__": __name__, **fields})


# --- Limits ------------------------------------------------------------------------------------


# Every limit of ``decisioning.limits`` by name: one field each, from the table itself.
LimitsOutput: type[serializers.Serializer] = type(
    "LimitsOutput",
    (serializers.Serializer,),
    {
        entry["name"]: serializers.IntegerField(help_text=f"At most this many {entry['what']}.")
        for entry in LIMITS.describe()
    },
)


# --- Blueprints and members --------------------------------------------------------------------


BlueprintCreateInput = operation_input("BlueprintCreateInput", payloads.BLUEPRINT_CREATE)
BlueprintUpdateInput = operation_input(
    "BlueprintUpdateInput",
    payloads.BLUEPRINT_UPDATE,
    approval_policy=serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=10,
        help_text="Owner only: how many approvals a version needs to go live (1 to 10); applies to "
        "versions published from now on.",
    ),
    client_id=_client_id(),
)


class BlueprintSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    context = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    channels = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    stage_mode = serializers.ChoiceField(
        choices=list(STAGE_MODES),
        help_text="How stages relate: 'several', a customer is in every stage whose entry holds; "
        "'one', in the first of them in journey order only.",
    )
    rev = serializers.IntegerField(help_text="Incremented by every change of the board.")
    role = serializers.ChoiceField(choices=Role.values, help_text="The caller's role on this blueprint.")
    approval_policy = serializers.IntegerField(
        help_text="How many approvals a version needs to go live (versions keep the number they were "
        "published with)."
    )


class MemberInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.values)


class MemberUpdateInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)


class MemberOutput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)


# --- Attributes --------------------------------------------------------------------------------


AttributeCreateInput = operation_input(
    "AttributeCreateInput", payloads.ATTRIBUTE_CREATE, client_id=_client_id()
)
AttributeUpdateInput = operation_input(
    "AttributeUpdateInput", payloads.ATTRIBUTE_UPDATE, client_id=_client_id()
)


class AttributeOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=KINDS)
    type = serializers.ChoiceField(choices=TYPES)
    choices = serializers.ListField(child=serializers.CharField())
    unit = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]


class AttributeAnswer(AttributeOutput):
    rev = serializers.IntegerField(help_text="The blueprint's rev after this answer was read.")


# --- Offers ------------------------------------------------------------------------------------


OfferCreateInput = operation_input("OfferCreateInput", payloads.OFFER_CREATE, client_id=_client_id())
OfferUpdateInput = operation_input("OfferUpdateInput", payloads.OFFER_UPDATE, client_id=_client_id())
OfferMoveInput = operation_input("OfferMoveInput", payloads.OFFER_MOVE, client_id=_client_id())


class OfferOutput(serializers.Serializer):
    key = serializers.CharField()
    stage = serializers.CharField(help_text="The key of its stage.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_blank=True)
    fallback = serializers.BooleanField()
    groups = _groups_output()
    content_ref = serializers.CharField(allow_blank=True, help_text=payloads.CONTENT_REF_HELP)
    starts_on = serializers.DateField(allow_null=True, help_text=payloads.STARTS_ON_HELP)
    ends_on = serializers.DateField(allow_null=True, help_text=payloads.ENDS_ON_HELP)
    tags = serializers.ListField(child=serializers.CharField(), help_text=payloads.TAGS_HELP)
    rank = serializers.CharField(
        help_text="Fractional rank: the order within the stage, which is the priority."
    )
    sentences = _sentences_output()


class OfferAnswer(OfferOutput):
    rev = serializers.IntegerField(help_text="The blueprint's rev after this answer was read.")


class OfferMoveAnswer(OfferAnswer):
    order = serializers.ListField(
        child=serializers.CharField(), help_text="The offer keys of its stage, in order."
    )


# --- Stages ------------------------------------------------------------------------------------


StageCreateInput = operation_input("StageCreateInput", payloads.STAGE_CREATE, client_id=_client_id())
StageUpdateInput = operation_input("StageUpdateInput", payloads.STAGE_UPDATE, client_id=_client_id())
StageMoveInput = operation_input("StageMoveInput", payloads.STAGE_MOVE, client_id=_client_id())


class StageOutput(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    entry = _groups_output()
    rank = serializers.CharField(help_text="Fractional rank: the order of the columns.")
    entry_sentences = _sentences_output()
    offers = OfferOutput(many=True, help_text="In priority order.")


class StageAnswer(StageOutput):
    rev = serializers.IntegerField(help_text="The blueprint's rev after this answer was read.")


class StageMoveAnswer(StageAnswer):
    order = serializers.ListField(child=serializers.CharField(), help_text="The stage keys, in order.")


class BlueprintDetailOutput(BlueprintSummaryOutput):
    attributes = AttributeOutput(many=True)
    stages = StageOutput(many=True, help_text="In order, each with its offers in priority order.")


# --- The operation log, undo and redo ----------------------------------------------------------


class LogEntryOutput(serializers.Serializer):
    rev = serializers.IntegerField(help_text="The blueprint's rev this operation made.")
    type = serializers.CharField(help_text="The operation, e.g. offer.move.")
    payload = serializers.DictField(child=serializers.JSONField(), help_text="The operation as applied.")
    actor = serializers.CharField(
        allow_null=True, help_text="The username of who made it; null for the system (imports, the demo)."
    )
    summary = serializers.CharField(
        allow_blank=True,
        help_text="What it did, in words; an undo or redo ends with (undo) or (redo).",
    )
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField(allow_blank=True, help_text="The client id it was sent with, if any.")


class OperationLogOutput(serializers.Serializer):
    rev = serializers.IntegerField(help_text="The blueprint's current rev.")
    more = serializers.BooleanField(help_text="True when operations after the last one listed exist.")
    operations = LogEntryOutput(many=True, help_text="Oldest first: the newest is last.")


class UndoInput(serializers.Serializer):
    client_id = _client_id()


class UndoOutput(serializers.Serializer):
    done = serializers.BooleanField(
        help_text="False when there was nothing to undo or redo, or the step was skipped."
    )
    message = serializers.CharField(
        help_text="For people: 'Undid: …', 'Nothing to undo.', or why the step was skipped."
    )
    rev = serializers.IntegerField(help_text="The blueprint's rev after it.")
    operations = LogEntryOutput(many=True, help_text="The operations it applied, in order.")
