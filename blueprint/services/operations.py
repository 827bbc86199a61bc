"""The one edit path (DESIGN.md §5).

Every change of a board — HTMX form, drag, REST call, WebSocket message, import, undo — is an
operation ``{type, payload}`` applied by ``operation_apply``: it checks the actor's role, locks the
blueprint row, validates, applies, increments ``blueprint.rev``, appends the operation with its
inverse to the log and, after commit, broadcasts it to the board's group. Nothing else saves
stages, offers, attributes or the blueprint's own fields. A person's edit also goes on their undo
stack (``UndoStep``); ``blueprint.services.undo`` applies the inverses through the same path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, transaction

from blueprint.conditions import (
    KINDS,
    TYPES,
    AttributeSpec,
    ConditionProblems,
    attributes_used,
    parse_groups,
)
from blueprint.errors import Conflict, InvalidInput, NotFound
from blueprint.limits import LIMITS, over_limit
from blueprint.models import (
    EDIT_ROLES,
    Attribute,
    Blueprint,
    Offer,
    Operation,
    Stage,
    UndoStep,
)
from blueprint.selectors import attribute_fields, offer_fields, operation_by_client_id, stage_fields
from blueprint.services.access import User, require_role
from blueprint.services.board_counts import board_counts, count_check, counting_of, counts_check
from blueprint.services.broadcast import operation_broadcast
from blueprint.services.fields import (
    Problems,
    attribute_by_key,
    bool_field,
    groups_field,
    neighbour,
    new_key,
    offer_by_key,
    only_fields,
    place,
    position_field,
    refuse_key_change,
    stage_by_key,
    string_list_field,
    text_field,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

logger = logging.getLogger(__name__)


@dataclass
class Applied:
    """What a handler did: the payload as stored, how to undo it, and a sentence for people."""

    payload: dict[str, Any]
    inverse: list[dict[str, Any]]
    summary: str


@dataclass
class OpContext:
    blueprint: Blueprint
    # An undo, a redo or a restore: content the board or a version held already, which may be older
    # than the limits. Not held to the limits on conditions; its counts are checked as a whole, at
    # the end (``operations_apply_inverse``).
    replay: bool = False
    _catalog: dict[str, AttributeSpec] | None = field(default=None, repr=False)

    @property
    def catalog(self) -> dict[str, AttributeSpec]:
        if self._catalog is None:
            self._catalog = {a.key: a.spec() for a in Attribute.objects.filter(blueprint=self.blueprint)}
        return self._catalog

    def forget_catalog(self) -> None:
        self._catalog = None


# Set while an operation is being applied; board models refuse to save outside it (see apps.py).
applying_operation: ContextVar[bool] = ContextVar("applying_operation", default=False)

Handler = Callable[[OpContext, dict[str, Any]], Applied]
HANDLERS: dict[str, Handler] = {}


def handles(op_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[op_type] = fn
        return fn

    return register


# --- The service ------------------------------------------------------------------------------


def operation_apply(
    *,
    blueprint_id: int,
    actor: User | None,
    op_type: str,
    payload: Mapping[str, Any],
    client_id: str = "",
) -> Operation:
    """Apply one operation and return its log record.

    Guarantees: the actor is an owner or editor of the blueprint (``actor=None`` is the system,
    used by the demo loader and imports); the change, the new ``rev`` and the log record commit
    together or not at all; a ``client_id`` seen before returns the earlier record and changes
    nothing; the broadcast happens only after commit. A user's new edit becomes the top of their
    undo stack on this blueprint and clears their redo stack, in the same transaction (a retried
    client id does neither). Raises ``BlueprintError`` subclasses.
    """
    if not isinstance(client_id, str) or len(client_id) > LIMITS.client_id_length:
        raise InvalidInput(
            over_limit(
                "client_id_length", f"A client id is a string of at most {LIMITS.client_id_length} characters"
            ),
            field="client_id",
        )
    handler = HANDLERS.get(op_type) if isinstance(op_type, str) else None
    if handler is None:
        raise InvalidInput(f"Unknown operation; use one of: {', '.join(sorted(HANDLERS))}.", field="type")
    if not isinstance(payload, Mapping):
        raise InvalidInput("The payload must be an object.", field="payload")
    with transaction.atomic():
        record, fresh = _apply_locked(blueprint_id, actor, op_type, handler, dict(payload), client_id)
        if fresh and record.actor_id is not None:  # a person, not the system
            _undo_stack_push(record, record.actor_id)
    return record


def operations_apply(
    *, blueprint_id: int, actor: User | None, operations: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[Operation]:
    """Apply several operations in one transaction: all of them or none (imports, duplicates).

    They build a board rather than edit one, so they go on nobody's undo stack."""
    records: list[Operation] = []
    with transaction.atomic():
        for op_type, payload in operations:
            handler = HANDLERS.get(op_type)
            if handler is None:
                raise InvalidInput(f"Unknown operation '{op_type}'.", field="type")
            records.append(
                _apply_locked(blueprint_id, actor, op_type, handler, dict(payload), "", extras=False)[0]
            )
    return records


def operations_apply_inverse(
    *,
    blueprint_id: int,
    actor: User,
    steps: Sequence[Mapping[str, Any]],
    mark: str,
    client_id: str = "",
) -> list[Operation]:
    """Apply ``steps`` (``{type, payload}`` from log records' ``inverse`` lists) in order, as
    ordinary operations by ``actor``, for an undo or a redo; each record's summary ends with
    ``(mark)``. The first record carries ``client_id``.

    The caller holds a transaction (and should hold the blueprint lock); a ``BlueprintError``
    leaves the transaction for the caller to roll back. Nothing goes on the undo stack: the
    caller keeps the stack. Every record is broadcast after commit, like any operation.

    The steps put back content the board or a version held, which may be older than the limits:
    they are not held to the limits on conditions, and the counts are checked once, after the
    last step (``LimitExceeded``): a count may end past its limit only when it was within it
    before (an undo of a deletion on a board others filled meanwhile), never further past a limit
    it was past already.
    """
    counting = counting_of(steps)
    before = board_counts(blueprint_id, counting)
    records: list[Operation] = []
    for index, step in enumerate(steps):
        op_type, payload = step.get("type"), step.get("payload")
        if not isinstance(op_type, str) or op_type not in HANDLERS or not isinstance(payload, Mapping):
            raise InvalidInput(
                f"The log holds an inverse this version cannot apply ({op_type!r}).", field="type"
            )
        record, fresh = _apply_locked(
            blueprint_id,
            actor,
            op_type,
            HANDLERS[op_type],
            dict(payload),
            client_id if index == 0 else "",
            mark=mark,
            replay=True,
        )
        if not fresh:
            raise Conflict(
                "This client id was already used for another operation; use a new one.", field="client_id"
            )
        records.append(record)
    counts_check(before, board_counts(blueprint_id, counting))
    return records


def _undo_stack_push(record: Operation, user_id: int) -> None:
    """Put a user's new edit on top of their undo stack and drop their redo stack (as every editor
    does: redoing after a new edit would replay a change on top of something it never saw)."""
    UndoStep.objects.filter(
        blueprint_id=record.blueprint_id, user_id=user_id, state=UndoStep.State.UNDONE
    ).update(state=UndoStep.State.DROPPED, seq=record.rev)
    UndoStep.objects.create(
        blueprint_id=record.blueprint_id,
        user_id=user_id,
        summary=record.summary,
        operations=[record.pk],
        state=UndoStep.State.DONE,
        seq=record.rev,
    )


def _apply_locked(
    blueprint_id: int,
    actor: User | None,
    op_type: str,
    handler: Handler,
    payload: dict[str, Any],
    client_id: str,
    *,
    mark: str = "",
    extras: bool = True,
    replay: bool = False,
) -> tuple[Operation, bool]:
    """Apply one operation under the blueprint lock; the record and whether it is new (False: the
    earlier record of a retried client id). The caller holds a transaction. ``extras=False``: the
    broadcast carries only the rev (see ``broadcast_extras``), for operations that build a board
    by the hundred rather than edit one someone is looking at."""
    try:
        blueprint = Blueprint.objects.select_for_update().get(pk=blueprint_id)
    except (Blueprint.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such blueprint.", field="blueprint") from None
    if actor is not None:
        require_role(actor, blueprint, EDIT_ROLES, "edit this blueprint")
    if client_id:
        earlier = operation_by_client_id(blueprint.pk, client_id)
        if earlier is not None:
            same_actor = earlier.actor_id == (
                actor.pk if actor is not None and actor.is_authenticated else None
            )
            same_target = payload.get("key") in (None, earlier.payload.get("key"))
            if earlier.type != op_type or not same_actor or not same_target:
                raise Conflict(
                    "This client id was already used for a different operation; use a new one.",
                    field="client_id",
                )
            return earlier, False
    token = applying_operation.set(True)
    try:
        applied = handler(OpContext(blueprint, replay=replay), payload)
        suffix = f" ({mark})" if mark else ""
        blueprint.rev += 1
        blueprint.save(update_fields=["rev", "updated_at"])
        record = Operation.objects.create(
            blueprint=blueprint,
            rev=blueprint.rev,
            actor=cast("AuthUser", actor) if actor is not None and actor.is_authenticated else None,
            type=op_type,
            payload=applied.payload,
            inverse=applied.inverse,
            client_id=client_id,
            summary=applied.summary[: 300 - len(suffix)] + suffix,
        )
    except IntegrityError:
        # no savepoint to go back to: the caller's transaction rolls back with the Conflict
        raise Conflict("The board changed at the same moment; try again.") from None
    finally:
        applying_operation.reset(token)
    transaction.on_commit(lambda: operation_broadcast(record, extras=extras))
    return record, True


# --- Blueprint fields -------------------------------------------------------------------------

BLUEPRINT_FIELDS = ("name", "context", "channels", "description")


def validate_blueprint_fields(payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    problems = Problems()
    only_fields(payload, set(BLUEPRINT_FIELDS), problems)
    values = {
        "name": text_field(
            payload, "name", problems, required=creating or "name" in payload, limit="name_length"
        ),
        "context": text_field(payload, "context", problems, required=False, limit="context_length"),
        "channels": string_list_field(payload, "channels", problems, limit="channels_per_blueprint"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
    }
    problems.raise_if_any()
    return {k: v for k, v in values.items() if v is not None}


@handles("blueprint.update")
def _blueprint_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    changes = validate_blueprint_fields(payload, creating=False)
    before = {k: getattr(ctx.blueprint, k) for k in changes}
    for name, value in changes.items():
        setattr(ctx.blueprint, name, value)
    ctx.blueprint.save(update_fields=[*changes, "updated_at"])
    what = ", ".join(changes) or "nothing"
    return Applied(
        changes, [{"type": "blueprint.update", "payload": before}], f"changed the blueprint's {what}"
    )


# --- Attributes -------------------------------------------------------------------------------

ATTRIBUTE_FIELDS = ("key", "label", "kind", "type", "choices", "unit", "description", "source")


def _attribute_values(payload: dict[str, Any], problems: Problems, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label": text_field(
            payload, "label", problems, required=creating or "label" in payload, limit="label_length"
        ),
        "unit": text_field(payload, "unit", problems, required=False, limit="unit_length"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
        "source": text_field(payload, "source", problems, required=False, limit="source_length"),
        "choices": string_list_field(payload, "choices", problems, limit="choices_per_attribute"),
    }
    for name, allowed in (("kind", KINDS), ("type", TYPES)):
        if name in payload and payload[name] is not None:
            if payload[name] not in allowed:
                problems.add(name, f"Expected one of: {', '.join(allowed)}.")
            else:
                values[name] = payload[name]
        elif creating and name == "type":
            problems.add("type", f"This field is required; one of: {', '.join(TYPES)}.")
    return {k: v for k, v in values.items() if v is not None}


def _check_choices(attr_type: str, choices: list[str], problems: Problems) -> None:
    if attr_type == "choice" and not choices:
        problems.add("choices", "A choice attribute needs its list of allowed values.")
    if attr_type in ("number", "boolean", "date") and choices:
        problems.add("choices", f"A {attr_type} attribute has no list of choices; leave it empty.")


def _usages(ctx: OpContext, attribute_key: str) -> list[tuple[str, str, list[Any]]]:
    """Where an attribute is used: (what, key, groups) for stage entries and offers."""
    found: list[tuple[str, str, list[Any]]] = []
    for stage in Stage.objects.filter(blueprint=ctx.blueprint).only("key", "entry"):
        if attribute_key in attributes_used(stage.entry):
            found.append(("stage", stage.key, stage.entry))
    for offer in Offer.objects.filter(blueprint=ctx.blueprint).only("key", "groups"):
        if attribute_key in attributes_used(offer.groups):
            found.append(("offer", offer.key, offer.groups))
    return found


@handles("attribute.create")
def _attribute_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, set(ATTRIBUTE_FIELDS), problems)
    values = _attribute_values(payload, problems, creating=True)
    taken = set(ctx.catalog)
    if not ctx.replay:
        count_check(
            len(taken),
            "attributes_per_blueprint",
            "attributes",
            f"A blueprint's catalog holds at most {LIMITS.attributes_per_blueprint} attributes",
        )
    key = new_key(payload, values.get("label"), taken, problems, "attribute")
    values.setdefault("kind", "attribute")
    values.setdefault("choices", [])
    if "type" in values:
        _check_choices(values["type"], values["choices"], problems)
    problems.raise_if_any()
    assert key is not None
    attribute = Attribute.objects.create(blueprint=ctx.blueprint, key=key, **values)
    ctx.forget_catalog()
    return Applied(
        attribute_fields(attribute),
        [{"type": "attribute.delete", "payload": {"key": attribute.key}}],
        f"added attribute '{attribute.label}' to the catalog",
    )


@handles("attribute.update")
def _attribute_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    attribute = attribute_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, {*ATTRIBUTE_FIELDS, "new_key"}, problems)
    refuse_key_change(payload, attribute.key, problems)
    changes = _attribute_values(payload, problems, creating=False)
    problems.raise_if_any()
    before = {k: getattr(attribute, k) for k in changes}
    for name, value in changes.items():
        setattr(attribute, name, value)
    _check_choices(attribute.type, attribute.choices, problems)
    problems.raise_if_any()
    if {"type", "choices"} & set(changes):
        catalog = {**ctx.catalog, attribute.key: attribute.spec()}
        for what, key, groups in _usages(ctx, attribute.key):
            try:
                parse_groups(groups, catalog, bounded=False)  # stored: only the new type counts
            except ConditionProblems as exc:
                problems.add(
                    "type" if "type" in changes else "choices",
                    f"The {what} '{key}' has a condition this change would break ({exc}); change that "
                    f"condition first.",
                )
        problems.raise_if_any()
    attribute.save(update_fields=list(changes))
    ctx.forget_catalog()
    return Applied(
        {"key": attribute.key, **changes},
        [{"type": "attribute.update", "payload": {"key": attribute.key, **before}}],
        f"changed attribute '{attribute.label}'",
    )


@handles("attribute.delete")
def _attribute_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    attribute = attribute_by_key(ctx, payload.get("key"))
    usages = _usages(ctx, attribute.key)
    if usages:
        listed = ", ".join(f"{what} '{key}'" for what, key, _ in usages[:10])
        raise Conflict(
            f"'{attribute.label}' is used by conditions of {listed}; remove those conditions first.",
            field="key",
        )
    snapshot = attribute_fields(attribute)
    attribute.delete()
    ctx.forget_catalog()
    return Applied(
        {"key": snapshot["key"]},
        [{"type": "attribute.create", "payload": snapshot}],
        f"removed attribute '{snapshot['label']}' from the catalog",
    )


# --- Stages -----------------------------------------------------------------------------------

STAGE_FIELDS = ("key", "name", "description", "entry")


def _stages_except(ctx: OpContext, key: str | None) -> list[Stage]:
    return [s for s in Stage.objects.filter(blueprint=ctx.blueprint).only("key", "rank") if s.key != key]


@handles("stage.create")
def _stage_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, {*STAGE_FIELDS, "before", "after", "rank"}, problems)
    name = text_field(payload, "name", problems, required=True, limit="name_length")
    description = (
        text_field(payload, "description", problems, required=False, limit="description_length") or ""
    )
    entry = groups_field(payload, "entry", ctx, problems) or []
    siblings = _stages_except(ctx, None)
    if not ctx.replay:
        count_check(
            len(siblings),
            "stages_per_blueprint",
            "stages",
            f"A blueprint holds at most {LIMITS.stages_per_blueprint} stages",
        )
    key = new_key(payload, name, {s.key for s in siblings}, problems, "stage")
    before, after, rank = position_field(payload, problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = place(siblings, before=before, after=after, rank=rank, what="a stage", where="this blueprint")
    stage = Stage.objects.create(
        blueprint=ctx.blueprint, key=key, name=name, description=description, entry=entry, rank=rank
    )
    return Applied(
        {**stage_fields(stage), "rank": stage.rank},
        [{"type": "stage.delete", "payload": {"key": stage.key}}],
        f"added stage '{stage.name}'",
    )


@handles("stage.update")
def _stage_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, {*STAGE_FIELDS, "new_key"}, problems)
    refuse_key_change(payload, stage.key, problems)
    changes: dict[str, Any] = {
        "name": text_field(payload, "name", problems, required="name" in payload, limit="name_length"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
        "entry": groups_field(payload, "entry", ctx, problems),
    }
    problems.raise_if_any()
    changes = {k: v for k, v in changes.items() if v is not None}
    before = {k: getattr(stage, k) for k in changes}
    for name, value in changes.items():
        setattr(stage, name, value)
    stage.save(update_fields=list(changes))
    return Applied(
        {"key": stage.key, **changes},
        [{"type": "stage.update", "payload": {"key": stage.key, **before}}],
        f"edited stage '{stage.name}'",
    )


@handles("stage.move")
def _stage_move(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, {"key", "before", "after", "rank"}, problems)
    before, after, rank = position_field(payload, problems)
    problems.raise_if_any()
    old_rank, others = stage.rank, _stages_except(ctx, stage.key)
    undo_place = {**neighbour(others, old_rank), "rank": old_rank}
    stage.rank = place(
        others,
        before=before,
        after=after,
        rank=rank,
        what="a stage",
        where="this blueprint",
        moving=stage.key,
    )
    stage.save(update_fields=["rank"])
    where = f"before '{before}'" if before else f"after '{after}'" if after else "to a new place"
    return Applied(
        {"key": stage.key, "before": before, "after": after, "rank": stage.rank},
        [{"type": "stage.move", "payload": {"key": stage.key, **undo_place}}],
        f"moved stage '{stage.name}' {where}" if rank is None else f"moved stage '{stage.name}' back",
    )


@handles("stage.delete")
def _stage_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    offers = sorted(Offer.objects.filter(stage=stage), key=lambda o: (o.rank, o.pk))
    where = {**neighbour(_stages_except(ctx, stage.key), stage.rank), "rank": stage.rank}
    inverse = [{"type": "stage.create", "payload": {**stage_fields(stage), **where}}]
    inverse += [{"type": "offer.create", "payload": {**offer_fields(o), "rank": o.rank}} for o in offers]
    name = stage.name
    stage.delete()
    extra = f" and its {len(offers)} offer{'s' if len(offers) != 1 else ''}" if offers else ""
    return Applied({"key": payload["key"]}, inverse, f"deleted stage '{name}'{extra}")


# --- Offers -----------------------------------------------------------------------------------

OFFER_FIELDS = ("key", "stage", "name", "description", "channel", "fallback", "groups")


def _offers_in(stage: Stage, except_key: str | None) -> list[Offer]:
    return [
        o
        for o in Offer.objects.filter(stage=stage).only("key", "rank", "fallback", "name")
        if o.key != except_key
    ]


def _check_fallback(
    stage: Stage, fallback: bool, groups: list[Any], except_key: str | None, problems: Problems
) -> None:
    if not fallback:
        return
    if groups:
        problems.add(
            "fallback",
            "A fallback offer has no conditions: it catches everyone in the stage who qualifies for nothing "
            "else. Remove its conditions, or make it an ordinary offer.",
        )
    other = Offer.objects.filter(stage=stage, fallback=True).exclude(key=except_key or "").first()
    if other is not None:
        problems.add(
            "fallback", f"Stage '{stage.name}' already has a fallback offer, '{other.name}'; a stage has one."
        )


@handles("offer.create")
def _offer_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, {*OFFER_FIELDS, "before", "after", "rank"}, problems)
    stage = stage_by_key(ctx, payload.get("stage"), field="stage")
    name = text_field(payload, "name", problems, required=True, limit="name_length")
    description = (
        text_field(payload, "description", problems, required=False, limit="description_length") or ""
    )
    channel = text_field(payload, "channel", problems, required=False, limit="channel_length") or ""
    fallback = bool(bool_field(payload, "fallback", problems))
    groups = groups_field(payload, "groups", ctx, problems) or []
    taken = set(Offer.objects.filter(blueprint=ctx.blueprint).values_list("key", flat=True))
    if not ctx.replay:
        count_check(
            len(taken),
            "offers_per_blueprint",
            "offers",
            f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers",
        )
        count_check(
            Offer.objects.filter(stage=stage).count(),
            "offers_per_stage",
            "offers",
            f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{stage.name}' is full",
        )
    key = new_key(payload, name, taken, problems, "offer")
    before, after, rank = position_field(payload, problems)
    _check_fallback(stage, fallback, groups, None, problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = place(
        _offers_in(stage, None),
        before=before,
        after=after,
        rank=rank,
        what="an offer",
        where=f"stage '{stage.name}'",
    )
    offer = Offer.objects.create(
        blueprint=ctx.blueprint,
        stage=stage,
        key=key,
        name=name,
        description=description,
        channel=channel,
        fallback=fallback,
        groups=groups,
        rank=rank,
    )
    return Applied(
        {**offer_fields(offer), "rank": offer.rank},
        [{"type": "offer.delete", "payload": {"key": offer.key}}],
        f"added offer '{offer.name}' to {stage.name}",
    )


@handles("offer.update")
def _offer_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, {"key", "new_key", "name", "description", "channel", "fallback", "groups"}, problems)
    refuse_key_change(payload, offer.key, problems)
    changes: dict[str, Any] = {
        "name": text_field(payload, "name", problems, required="name" in payload, limit="name_length"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
        "channel": text_field(payload, "channel", problems, required=False, limit="channel_length"),
        "fallback": bool_field(payload, "fallback", problems),
        "groups": groups_field(payload, "groups", ctx, problems),
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    fallback = changes.get("fallback", offer.fallback)
    _check_fallback(offer.stage, fallback, changes.get("groups", offer.groups), offer.key, problems)
    problems.raise_if_any()
    before = {k: getattr(offer, k) for k in changes}
    for name, value in changes.items():
        setattr(offer, name, value)
    offer.save(update_fields=list(changes))
    return Applied(
        {"key": offer.key, **changes},
        [{"type": "offer.update", "payload": {"key": offer.key, **before}}],
        f"edited offer '{offer.name}'",
    )


@handles("offer.move")
def _offer_move(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, {"key", "stage", "before", "after", "rank"}, problems)
    target = stage_by_key(ctx, payload.get("stage") or offer.stage.key, field="stage")
    before, after, rank = position_field(payload, problems)
    if target.pk != offer.stage_id:
        _check_fallback(target, offer.fallback, offer.groups, offer.key, problems)
        if not ctx.replay:
            count_check(
                Offer.objects.filter(stage=target).count(),
                "offers_per_stage",
                "stage",
                f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{target.name}' is full; "
                "move or delete one of its offers first",
            )
    problems.raise_if_any()
    old_stage, old_rank = offer.stage, offer.rank
    undo_place = {**neighbour(_offers_in(old_stage, offer.key), old_rank), "rank": old_rank}
    offer.rank = place(
        _offers_in(target, offer.key),
        before=before,
        after=after,
        rank=rank,
        what="an offer",
        where=f"stage '{target.name}'",
        moving=offer.key,
    )
    offer.stage = target
    offer.save(update_fields=["stage", "rank"])
    if target.pk != old_stage.pk:
        summary = f"moved offer '{offer.name}' to {target.name}"
    else:
        summary = f"reordered offer '{offer.name}' in {target.name}"
    return Applied(
        {"key": offer.key, "stage": target.key, "before": before, "after": after, "rank": offer.rank},
        [{"type": "offer.move", "payload": {"key": offer.key, "stage": old_stage.key, **undo_place}}],
        summary,
    )


@handles("offer.delete")
def _offer_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    where = {**neighbour(_offers_in(offer.stage, offer.key), offer.rank), "rank": offer.rank}
    snapshot = {**offer_fields(offer), **where}
    offer.delete()
    return Applied(
        {"key": snapshot["key"]},
        [{"type": "offer.create", "payload": snapshot}],
        f"deleted offer '{snapshot['name']}' from {offer.stage.name}",
    )
