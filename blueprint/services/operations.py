"""The one edit path (DESIGN.md §5).

Every change of a board — HTMX form, drag, REST call, WebSocket message, import, undo — is an
operation ``{type, payload}`` applied by ``operation_apply``: it checks the actor's role, locks the
blueprint row, validates, applies, increments ``blueprint.rev``, appends the operation with its
inverse to the log and, after commit, broadcasts it to the board's group. Nothing else saves
stages, offers, attributes or the blueprint's own fields. A person's edit also goes on their undo
stack (``UndoStep``); ``blueprint.services.undo`` applies the inverses through the same path.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.text import slugify

from blueprint.conditions import (
    KEY_CHARACTERS,
    KINDS,
    TYPES,
    AttributeSpec,
    ConditionProblems,
    attributes_used,
    groups_as_json,
    is_key,
    parse_groups,
)
from blueprint.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from blueprint.limits import LIMITS, over_limit
from blueprint.models import (
    EDIT_ROLES,
    Attribute,
    Blueprint,
    Membership,
    Offer,
    Operation,
    Stage,
    UndoStep,
)
from blueprint.ranks import RESPACE_AFTER, evenly_spaced, is_valid_rank, rank_at, strictly_increasing
from blueprint.selectors import attribute_fields, offer_fields, operation_by_client_id, stage_fields

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser


def board_group_name(blueprint_id: int) -> str:
    return f"board-{blueprint_id}"


def board_operations_group_name(blueprint_id: int) -> str:
    """The group of a board's operations: one member per worker process with tabs on the board
    (blueprint.consumers.OperationHub), which hands each operation to its tabs."""
    return f"board-{blueprint_id}.operations"


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
    counting = _counting(steps)
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


# --- Counts: the limits that depend on the board ---------------------------------------------------


@dataclass(frozen=True)
class Counting:
    """Which counts some steps can add to: only those are counted (an undo of an edit, none)."""

    stages: bool = False
    offers: bool = False
    attributes: bool = False
    offers_into: frozenset[str] = frozenset()  # stage keys offers are created in or moved to


def _counting(steps: Sequence[Mapping[str, Any]]) -> Counting:
    types = {step.get("type") for step in steps if isinstance(step, Mapping)}
    into = {
        step["payload"]["stage"]
        for step in steps
        if isinstance(step, Mapping)
        and step.get("type") in ("offer.create", "offer.move")
        and isinstance(step.get("payload"), Mapping)
        and isinstance(step["payload"].get("stage"), str)
    }
    return Counting(
        stages="stage.create" in types,
        offers="offer.create" in types,
        attributes="attribute.create" in types,
        offers_into=frozenset(into),
    )


@dataclass(frozen=True)
class BoardCounts:
    stages: int
    offers: int
    attributes: int
    offers_by_stage: dict[str, int]  # of the stages counted, by key


def board_counts(blueprint_id: int, counting: Counting) -> BoardCounts:
    """The counts ``counting`` asks for (the others are 0): stages, offers in all and in the given
    stages, attributes."""
    by_stage: dict[str, int] = {}
    if counting.offers_into:
        by_stage = dict(
            Offer.objects.filter(blueprint_id=blueprint_id, stage__key__in=counting.offers_into)
            .order_by()
            .values_list("stage__key")
            .annotate(n=Count("id"))
            .values_list("stage__key", "n")
        )
    return BoardCounts(
        stages=Stage.objects.filter(blueprint_id=blueprint_id).count() if counting.stages else 0,
        offers=Offer.objects.filter(blueprint_id=blueprint_id).count() if counting.offers else 0,
        attributes=Attribute.objects.filter(blueprint_id=blueprint_id).count() if counting.attributes else 0,
        offers_by_stage=by_stage,
    )


def counts_check(before: BoardCounts, after: BoardCounts) -> None:
    """Refuse (``LimitExceeded``) a replay that leaves a count above its limit and above where it
    started, when it had started above the limit already (see ``operations_apply_inverse``)."""
    problems: dict[str, list[str]] = {}

    def grew(name: str, was: int, now: int, field: str, sentence: str) -> None:
        if now > getattr(LIMITS, name) and was > getattr(LIMITS, name) and now > was:
            problems.setdefault(field, []).append(over_limit(name, sentence))

    grew(
        "stages_per_blueprint",
        before.stages,
        after.stages,
        "stages",
        f"A blueprint holds at most {LIMITS.stages_per_blueprint} stages, and this one has {before.stages} "
        "already; delete some first",
    )
    grew(
        "offers_per_blueprint",
        before.offers,
        after.offers,
        "offers",
        f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers, and this one has {before.offers} "
        "already; delete some first",
    )
    grew(
        "attributes_per_blueprint",
        before.attributes,
        after.attributes,
        "attributes",
        f"A blueprint's catalog holds at most {LIMITS.attributes_per_blueprint} attributes, and this one "
        f"has {before.attributes} already; remove some first",
    )
    for key, now in sorted(after.offers_by_stage.items()):
        was = before.offers_by_stage.get(key, 0)
        grew(
            "offers_per_stage",
            was,
            now,
            "offers",
            f"A stage holds at most {LIMITS.offers_per_stage} offers, and stage '{key}' has {was} already; "
            "move or delete some first",
        )
    if problems:
        raise LimitExceeded(problems)


def _count_check(count: int, name: str, field: str, sentence: str) -> None:
    """Refuse an edit that would add one more to ``count`` past its limit ``name``."""
    if count >= getattr(LIMITS, name):
        raise LimitExceeded(over_limit(name, sentence), field=field)


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


# What else an operation's broadcast carries, from the code that serves the board in this process
# (the live board adds the frame it sends: blueprint.consumers). Each is called with the record,
# right after its commit, and the message so far, and returns fields to add; one that fails is
# logged and left out (receivers do without).
broadcast_extras: list[Callable[[Operation, dict[str, Any]], dict[str, Any]]] = []


def operation_broadcast(record: Operation, *, extras: bool = True) -> None:
    """Tell everyone on the board. The channel layer is only a hint: a lost message is recovered
    by clients from ``rev``, so a failure here is logged, never raised."""
    if get_channel_layer() is None:
        return
    message: dict[str, Any] = {
        "type": "board.operation",
        "blueprint_id": record.blueprint_id,
        "rev": record.rev,
        "operation_id": record.pk,
        # when the edit became true, so a receiver can measure commit-to-screen latency
        "committed_at": time.time(),
    }
    for extra in broadcast_extras if extras else ():
        try:
            message.update(extra(record, message))
        except Exception:
            logger.warning("adding to the broadcast of %s failed", record, exc_info=True)
    board_group_send(board_operations_group_name(record.blueprint_id), message, f"broadcast of {record}")


def board_group_send(group: str, message: dict[str, Any], what: str) -> None:
    """Send to a group from sync code. Where this thread runs an event loop (a script or a test
    that applies operations beside its own loop), the send is scheduled on it rather than refused
    by async_to_sync. A failure is logged, never raised: a broadcast must never undo or fail a
    committed edit."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:
            task = loop.create_task(layer.group_send(group, message))
            _pending_sends.add(task)
            task.add_done_callback(_pending_sends.discard)
    except Exception:
        logger.warning("%s failed", what, exc_info=True)


_pending_sends: set[asyncio.Task[None]] = set()  # keeps scheduled sends alive until done


def membership_broadcast(blueprint_id: int, user_id: int | None) -> None:
    """Tell the board's open sockets that a member's role changed or was removed (``user_id``),
    or that everyone's did (``None``: the blueprint was deleted). Call after commit."""
    # the sockets re-check roles on every message and heartbeat anyway
    board_group_send(
        board_group_name(blueprint_id),
        {"type": "board.membership", "user_id": user_id},
        f"membership broadcast for blueprint {blueprint_id}",
    )


def role_of(user: User | None, blueprint: Blueprint | int) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    blueprint_id = blueprint.pk if isinstance(blueprint, Blueprint) else blueprint
    return (
        Membership.objects.filter(blueprint_id=blueprint_id, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )


def require_role(user: User | None, blueprint: Blueprint | int, roles: frozenset[str], doing: str) -> str:
    role = role_of(user, blueprint)
    if role is None:
        raise NotFound("No such blueprint.", field="blueprint")
    if role not in roles:
        allowed = " or ".join(sorted(roles))
        raise Forbidden(f"Your role is {role}; only {allowed} may {doing}.")
    return role


# --- Field validation -------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


def _text(
    payload: dict[str, Any], name: str, problems: _Problems, *, required: bool, limit: str
) -> str | None:
    """The text field ``name``, stripped; ``limit`` names its length limit (``name_length``)."""
    if name not in payload or payload[name] is None:
        if required:
            problems.add(name, "This field is required.")
        return None
    value = payload[name]
    if not isinstance(value, str):
        problems.add(name, "Expected text.")
        return None
    value = value.strip()
    if required and not value:
        problems.add(name, "This field may not be blank.")
        return None
    if "\x00" in value:
        problems.add(name, "Text may not contain a NUL character.")
        return None
    most = getattr(LIMITS, limit)
    if len(value) > most:
        problems.add(name, over_limit(limit, f"At most {most} characters; here are {len(value)}"))
        return None
    return value


def _bool(payload: dict[str, Any], name: str, problems: _Problems) -> bool | None:
    if name not in payload or payload[name] is None:
        return None
    value = payload[name]
    if not isinstance(value, bool):
        problems.add(name, "Expected true or false.")
        return None
    return value


def _string_list(payload: dict[str, Any], name: str, problems: _Problems, *, limit: str) -> list[str] | None:
    """A list of texts (choices, channels), stripped, blanks and repeats left out; ``limit`` names
    how many it may hold. Each is at most ``choice_length`` characters."""
    if name not in payload or payload[name] is None:
        return None
    value = payload[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(name, "Expected a list of text values.")
        return None
    most = getattr(LIMITS, limit)
    cleaned: list[str] = []
    seen: set[str] = set()
    for item in value:
        item = item.strip()
        if not item:
            continue
        if "\x00" in item:
            problems.add(name, "A value may not contain a NUL character.")
            return None
        if len(item) > LIMITS.choice_length:
            problems.add(
                name,
                over_limit(
                    "choice_length",
                    f"Each value is at most {LIMITS.choice_length} characters; '{item[:40]}…' is longer",
                ),
            )
            return None
        if item not in seen:
            seen.add(item)
            cleaned.append(item)
    if len(cleaned) > most:
        problems.add(name, over_limit(limit, f"At most {most} values; here are {len(cleaned)}"))
        return None
    return cleaned


def _key_value(raw: Any, name: str, problems: _Problems) -> str | None:
    if not isinstance(raw, str) or not raw:
        problems.add(name, f"Expected a key: {KEY_CHARACTERS}.")
        return None
    if len(raw) > LIMITS.key_length:
        problems.add(
            name,
            over_limit(
                "key_length",
                f"'{raw[:20]}…' is not a key: a key has at most {LIMITS.key_length} characters, and this one "
                f"has {len(raw)}",
            ),
        )
        return None
    if not is_key(raw):
        # repr: a line break or a space at the end is exactly what must show
        problems.add(name, f"{raw[:80]!r} is not a key: use only {KEY_CHARACTERS}, nothing else.")
        return None
    return raw


def key_from_name(name: str, taken: set[str]) -> str:
    base = slugify(name).replace("-", "_")[: LIMITS.key_length - 4] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _new_key(
    payload: dict[str, Any], name: str | None, taken: set[str], problems: _Problems, what: str
) -> str | None:
    raw = payload.get("key")
    if raw in (None, ""):
        return key_from_name(name or what, taken) if name else None
    key = _key_value(raw, "key", problems)
    if key is not None and key in taken:
        problems.add(
            "key", f"The key '{key}' is already used by another {what} in this blueprint; choose another."
        )
        return None
    return key


def _refuse_key_change(payload: dict[str, Any], current: str, problems: _Problems) -> None:
    new = payload.get("new_key")
    if new not in (None, "", current):
        problems.add(
            "key", "Keys are permanent, so exports and integrations stay valid; change the name instead."
        )


def _groups(payload: dict[str, Any], name: str, ctx: OpContext, problems: _Problems) -> list[Any] | None:
    if name not in payload:
        return None
    if payload[name] is None:
        problems.add(name, "Expected a list of groups; send [] to remove every condition.")
        return None
    try:
        return groups_as_json(parse_groups(payload[name], ctx.catalog, path=name, bounded=not ctx.replay))
    except ConditionProblems as exc:
        for path, messages in exc.problems.items():
            for message in messages:
                problems.add(path, message)
        return None


def _position(payload: dict[str, Any], problems: _Problems) -> tuple[str | None, str | None, str | None]:
    """``before`` or ``after`` (a sibling's key), and/or ``rank``: the exact place an undo restores,
    also the fallback when the named sibling has gone meanwhile."""
    before, after, rank = payload.get("before"), payload.get("after"), payload.get("rank")
    if before not in (None, "") and after not in (None, "") and rank in (None, ""):
        # both, with a rank, is the form an undo takes: "back between these two, or at this rank"
        problems.add("before", "Give either before or after, not both.")
        return None, None, None
    if rank not in (None, "") and not is_valid_rank(rank):
        problems.add("rank", "Not a valid rank.")
        return None, None, None
    rank = None if rank in (None, "") else str(rank)
    return (
        None if before in (None, "") else _key_value(before, "before", problems),
        None if after in (None, "") else _key_value(after, "after", problems),
        rank,
    )


def _neighbour(siblings: list[Any], rank: str) -> dict[str, str]:
    """Where an item of ``rank`` stands among ``siblings`` (the others), by key: the one just above
    it (``after``) and the one just below (``before``), each when there is one. What an undo names,
    with the rank (see ``_place``)."""
    ordered = sorted(siblings, key=lambda s: (s.rank, s.pk))
    earlier = [s for s in ordered if s.rank < rank]
    later = ordered[len(earlier) :]
    place = {}
    if earlier:
        place["after"] = earlier[-1].key
    if later:
        place["before"] = later[0].key
    return place


def _place(
    siblings: list[Any],
    *,
    before: str | None,
    after: str | None,
    rank: str | None,
    what: str,
    where: str,
    moving: str | None = None,
) -> str:
    """A rank that puts an item before/after a sibling (by key), back where it was (undo), or at
    the end.

    ``siblings`` are the other items of the list (never the moving one, whose key is ``moving``).
    The anchor is checked before anything is written. An undo names the rank the item had and the
    neighbours it stood between (``after`` above it, ``before`` below it, either may be absent at an
    end): while those two still stand side by side it goes back between them, which holds even when
    the list was respaced since; when someone has moved one of them away, its old rank says where it
    was among the others; a lone neighbour is the last resort. When stored ranks tie, or the new
    rank would grow long (many drops between the same two neighbours), the list is respaced with
    the new slot kept free, so the result always sorts strictly where asked. The caller holds the
    blueprint lock.
    """
    siblings.sort(key=lambda s: (s.rank, s.pk))
    ranks = [s.rank for s in siblings]
    keys = [s.key for s in siblings]
    for anchor, name in ((before, "before"), (after, "after")):
        if anchor is None:
            continue
        if anchor == moving:
            raise InvalidInput(f"'{anchor}' cannot be placed {name} itself.", field=name)
        if anchor not in keys and rank is None:
            raise InvalidInput(f"'{anchor}' is not {what} in {where}.", field=name)
    index = _slot(keys, ranks, before=before, after=after, rank=rank)
    if strictly_increasing(ranks):
        low, high = (ranks[index - 1] if index else None), (ranks[index] if index < len(ranks) else None)
        if rank is not None and (low is None or low < rank) and (high is None or rank < high):
            return rank  # an undo puts the item back exactly where it was
        placed = rank_at(ranks, index)
        if len(placed) <= RESPACE_AFTER:
            return placed
    fresh = evenly_spaced(len(siblings) + 1)
    placed = fresh.pop(index)
    for sibling, new_rank in zip(siblings, fresh, strict=True):
        if sibling.rank != new_rank:
            sibling.rank = new_rank
            sibling.save(update_fields=["rank"])
    return placed


def _slot(
    keys: list[str], ranks: list[str], *, before: str | None, after: str | None, rank: str | None
) -> int:
    """The index among the siblings where the item goes (see ``_place``)."""
    if rank is not None and (before is not None or after is not None):  # an undo
        above = keys.index(after) if after in keys else None
        below = keys.index(before) if before in keys else None
        still_between = (
            (above is None or below is None or below == above + 1)
            and (after is None or above is not None)
            and (before is None or below is not None)
            and (above is not None or below == 0)
            and (below is not None or above == len(keys) - 1)
        )
        if still_between:
            return below if below is not None else len(keys)
        return bisect.bisect_right(ranks, rank)
    anchor = before if before is not None else after
    if anchor in keys:
        return keys.index(anchor) + (0 if before is not None else 1)
    if rank is not None:
        return bisect.bisect_right(ranks, rank)
    return len(ranks)


def _stage(ctx: OpContext, key: Any, field: str = "key") -> Stage:
    if not isinstance(key, str):
        raise InvalidInput("Name the stage by its key.", field=field)
    stage = Stage.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if stage is None:
        raise NotFound(
            f"There is no stage '{key[:80]}' in this blueprint; it may have been deleted.", field=field
        )
    return stage


def _offer(ctx: OpContext, key: Any) -> Offer:
    if not isinstance(key, str):
        raise InvalidInput("Name the offer by its key.", field="key")
    offer = Offer.objects.select_related("stage").filter(blueprint=ctx.blueprint, key=key).first()
    if offer is None:
        raise NotFound(
            f"There is no offer '{key[:80]}' in this blueprint; it may have been deleted.", field="key"
        )
    return offer


def _attribute(ctx: OpContext, key: Any) -> Attribute:
    if not isinstance(key, str):
        raise InvalidInput("Name the attribute by its key.", field="key")
    attribute = Attribute.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if attribute is None:
        raise NotFound(f"There is no attribute '{key[:80]}' in the catalog.", field="key")
    return attribute


def _only(payload: dict[str, Any], allowed: set[str], problems: _Problems) -> None:
    for name in sorted(set(payload) - allowed):
        problems.add(name, f"Unknown field; expected some of: {', '.join(sorted(allowed))}.")


# --- Blueprint fields -------------------------------------------------------------------------

BLUEPRINT_FIELDS = ("name", "context", "channels", "description")


def validate_blueprint_fields(payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    problems = _Problems()
    _only(payload, set(BLUEPRINT_FIELDS), problems)
    values = {
        "name": _text(payload, "name", problems, required=creating or "name" in payload, limit="name_length"),
        "context": _text(payload, "context", problems, required=False, limit="context_length"),
        "channels": _string_list(payload, "channels", problems, limit="channels_per_blueprint"),
        "description": _text(payload, "description", problems, required=False, limit="description_length"),
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


def _attribute_values(payload: dict[str, Any], problems: _Problems, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label": _text(
            payload, "label", problems, required=creating or "label" in payload, limit="label_length"
        ),
        "unit": _text(payload, "unit", problems, required=False, limit="unit_length"),
        "description": _text(payload, "description", problems, required=False, limit="description_length"),
        "source": _text(payload, "source", problems, required=False, limit="source_length"),
        "choices": _string_list(payload, "choices", problems, limit="choices_per_attribute"),
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


def _check_choices(attr_type: str, choices: list[str], problems: _Problems) -> None:
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
    problems = _Problems()
    _only(payload, set(ATTRIBUTE_FIELDS), problems)
    values = _attribute_values(payload, problems, creating=True)
    taken = set(ctx.catalog)
    if not ctx.replay:
        _count_check(
            len(taken),
            "attributes_per_blueprint",
            "attributes",
            f"A blueprint's catalog holds at most {LIMITS.attributes_per_blueprint} attributes",
        )
    key = _new_key(payload, values.get("label"), taken, problems, "attribute")
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
    attribute = _attribute(ctx, payload.get("key"))
    problems = _Problems()
    _only(payload, {*ATTRIBUTE_FIELDS, "new_key"}, problems)
    _refuse_key_change(payload, attribute.key, problems)
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
    attribute = _attribute(ctx, payload.get("key"))
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
    problems = _Problems()
    _only(payload, {*STAGE_FIELDS, "before", "after", "rank"}, problems)
    name = _text(payload, "name", problems, required=True, limit="name_length")
    description = _text(payload, "description", problems, required=False, limit="description_length") or ""
    entry = _groups(payload, "entry", ctx, problems) or []
    siblings = _stages_except(ctx, None)
    if not ctx.replay:
        _count_check(
            len(siblings),
            "stages_per_blueprint",
            "stages",
            f"A blueprint holds at most {LIMITS.stages_per_blueprint} stages",
        )
    key = _new_key(payload, name, {s.key for s in siblings}, problems, "stage")
    before, after, rank = _position(payload, problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = _place(siblings, before=before, after=after, rank=rank, what="a stage", where="this blueprint")
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
    stage = _stage(ctx, payload.get("key"))
    problems = _Problems()
    _only(payload, {*STAGE_FIELDS, "new_key"}, problems)
    _refuse_key_change(payload, stage.key, problems)
    changes: dict[str, Any] = {
        "name": _text(payload, "name", problems, required="name" in payload, limit="name_length"),
        "description": _text(payload, "description", problems, required=False, limit="description_length"),
        "entry": _groups(payload, "entry", ctx, problems),
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
    stage = _stage(ctx, payload.get("key"))
    problems = _Problems()
    _only(payload, {"key", "before", "after", "rank"}, problems)
    before, after, rank = _position(payload, problems)
    problems.raise_if_any()
    old_rank, others = stage.rank, _stages_except(ctx, stage.key)
    undo_place = {**_neighbour(others, old_rank), "rank": old_rank}
    stage.rank = _place(
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
    stage = _stage(ctx, payload.get("key"))
    offers = sorted(Offer.objects.filter(stage=stage), key=lambda o: (o.rank, o.pk))
    place = {**_neighbour(_stages_except(ctx, stage.key), stage.rank), "rank": stage.rank}
    inverse = [{"type": "stage.create", "payload": {**stage_fields(stage), **place}}]
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
    stage: Stage, fallback: bool, groups: list[Any], except_key: str | None, problems: _Problems
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
    problems = _Problems()
    _only(payload, {*OFFER_FIELDS, "before", "after", "rank"}, problems)
    stage = _stage(ctx, payload.get("stage"), field="stage")
    name = _text(payload, "name", problems, required=True, limit="name_length")
    description = _text(payload, "description", problems, required=False, limit="description_length") or ""
    channel = _text(payload, "channel", problems, required=False, limit="channel_length") or ""
    fallback = bool(_bool(payload, "fallback", problems))
    groups = _groups(payload, "groups", ctx, problems) or []
    taken = set(Offer.objects.filter(blueprint=ctx.blueprint).values_list("key", flat=True))
    if not ctx.replay:
        _count_check(
            len(taken),
            "offers_per_blueprint",
            "offers",
            f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers",
        )
        _count_check(
            Offer.objects.filter(stage=stage).count(),
            "offers_per_stage",
            "offers",
            f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{stage.name}' is full",
        )
    key = _new_key(payload, name, taken, problems, "offer")
    before, after, rank = _position(payload, problems)
    _check_fallback(stage, fallback, groups, None, problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = _place(
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
    offer = _offer(ctx, payload.get("key"))
    problems = _Problems()
    _only(payload, {"key", "new_key", "name", "description", "channel", "fallback", "groups"}, problems)
    _refuse_key_change(payload, offer.key, problems)
    changes: dict[str, Any] = {
        "name": _text(payload, "name", problems, required="name" in payload, limit="name_length"),
        "description": _text(payload, "description", problems, required=False, limit="description_length"),
        "channel": _text(payload, "channel", problems, required=False, limit="channel_length"),
        "fallback": _bool(payload, "fallback", problems),
        "groups": _groups(payload, "groups", ctx, problems),
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
    offer = _offer(ctx, payload.get("key"))
    problems = _Problems()
    _only(payload, {"key", "stage", "before", "after", "rank"}, problems)
    target = _stage(ctx, payload.get("stage") or offer.stage.key, field="stage")
    before, after, rank = _position(payload, problems)
    if target.pk != offer.stage_id:
        _check_fallback(target, offer.fallback, offer.groups, offer.key, problems)
        if not ctx.replay:
            _count_check(
                Offer.objects.filter(stage=target).count(),
                "offers_per_stage",
                "stage",
                f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{target.name}' is full; "
                "move or delete one of its offers first",
            )
    problems.raise_if_any()
    old_stage, old_rank = offer.stage, offer.rank
    undo_place = {**_neighbour(_offers_in(old_stage, offer.key), old_rank), "rank": old_rank}
    offer.rank = _place(
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
    offer = _offer(ctx, payload.get("key"))
    place = {**_neighbour(_offers_in(offer.stage, offer.key), offer.rank), "rank": offer.rank}
    snapshot = {**offer_fields(offer), **place}
    offer.delete()
    return Applied(
        {"key": snapshot["key"]},
        [{"type": "offer.create", "payload": snapshot}],
        f"deleted offer '{snapshot['name']}' from {offer.stage.name}",
    )
