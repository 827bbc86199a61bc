"""The one edit path: the transaction shell every operation goes through.

Every change of a board — HTMX form, drag, REST call, WebSocket message, import, undo — is an
operation ``{type, payload}`` applied by ``operation_apply``: it checks the actor's role, locks the
blueprint row, validates, applies, increments ``blueprint.rev``, appends the operation with its
inverse to the log and, after commit, broadcasts it to the board's group. Nothing else saves
stages, offers, attributes or the blueprint's own fields. A person's edit also goes on their undo
stack (``UndoStep``); ``blueprint.services.undo`` applies the inverses through the same path.

What each operation does lives with its entity, registered here with ``@handles``:
``blueprint_ops`` (the blueprint's own fields), ``catalog_ops`` (attributes), ``stage_ops`` and
``offer_ops``. The package imports them all, so ``HANDLERS`` is complete whenever
``blueprint.services`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, transaction

from blueprint.models import (
    EDIT_ROLES,
    Attribute,
    Blueprint,
    Offer,
    Operation,
    Stage,
    UndoStep,
)
from blueprint.selectors import operation_by_client_id
from blueprint.services.access import User, require_role
from blueprint.services.board_counts import board_counts, counting_of, counts_check
from blueprint.services.broadcast import operation_broadcast
from decisioning.conditions import AttributeSpec
from decisioning.errors import Conflict, InvalidInput, NotFound
from decisioning.limits import LIMITS, over_limit

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser


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


def keyed_update(row: Stage | Offer, noun: str, changes: dict[str, Any]) -> Applied:
    """Write ``changes`` (read and checked) to a stage or an offer, and answer the ``<noun>.update``
    with its inverse: the same fields as they were."""
    before = {name: getattr(row, name) for name in changes}
    for name, value in changes.items():
        setattr(row, name, value)
    row.save(update_fields=list(changes))
    return Applied(
        {"key": row.key, **changes},
        [{"type": f"{noun}.update", "payload": {"key": row.key, **before}}],
        f"edited {noun} '{row.name}'",
    )


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
