"""Per-user undo and redo (docs/architecture.md, "The edit path"): inverse operations applied as
new operations.

Every edit a person makes through ``operation_apply`` goes on their own undo stack for that
blueprint (``UndoStep``). Undo applies the inverses of the top step's log records, newest first,
as ordinary operations by that person — logged, counted in ``rev`` and broadcast like any other —
and moves the step to their redo stack; redo applies the inverses of those records. A step is
never applied over somebody else's later change: if another actor (or the system) has touched
one of its targets since, it is skipped with a notice saying who, and the next undo goes further
back. A step whose inverse no longer validates is skipped too, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import transaction
from django.db.models import Q

from blueprint.models import EDIT_ROLES, Blueprint, Operation, UndoStep
from blueprint.selectors import operation_by_client_id
from blueprint.services.access import require_role
from blueprint.services.operations import User, operations_apply_inverse
from decisioning.errors import BlueprintError, Conflict, InvalidInput, LimitExceeded, NotFound
from decisioning.limits import LIMITS, over_limit

Target = tuple[str, str]


@dataclass
class UndoResult:
    """What an undo or redo did: ``done`` is False when there was nothing to do or the step was
    skipped; ``message`` says which, for people; ``records`` are the new log records, in order."""

    done: bool
    message: str
    records: list[Operation] = field(default_factory=list)
    rev: int = 0  # the blueprint's rev after it


def undo_step(
    *, blueprint_id: int, actor: User | None, redo: bool = False, client_id: str = ""
) -> UndoResult:
    """Undo the actor's newest edit on the blueprint that is still in effect, or redo the newest
    one they undid (``redo=True``).

    Guarantees: the actor is an owner or editor (``Forbidden``; a non-member gets ``NotFound``);
    it runs in one transaction under the blueprint lock, so no operation interleaves; the inverse
    operations commit all together or not at all, each with its own ``rev`` and log record by the
    actor, and each is broadcast after commit. Only the actor's own steps are considered. A step
    whose targets someone else has changed since, or whose inverse fails validation, is marked
    skipped (taken off both stacks) and nothing on the board changes; one that would take a count
    further past a limit it is past already raises ``LimitExceeded`` and stays on the stack. A
    ``client_id`` seen before (a retried request) answers what the first request did and changes
    nothing.
    """
    if not isinstance(client_id, str) or len(client_id) > LIMITS.client_id_length:
        raise InvalidInput(
            over_limit(
                "client_id_length", f"A client id is a string of at most {LIMITS.client_id_length} characters"
            ),
            field="client_id",
        )
    with transaction.atomic():
        try:
            blueprint = Blueprint.objects.select_for_update().get(pk=blueprint_id)
        except (Blueprint.DoesNotExist, ValueError, TypeError):
            raise NotFound("No such blueprint.", field="blueprint") from None
        require_role(actor, blueprint, EDIT_ROLES, "undo or redo changes")
        assert actor is not None  # require_role refuses anyone who is not a member
        user_id = cast(int, actor.pk)
        if client_id:
            earlier = _retried(blueprint, user_id, client_id, redo)
            if earlier is not None:
                return earlier

        stack = UndoStep.State.UNDONE if redo else UndoStep.State.DONE
        step = (
            UndoStep.objects.filter(blueprint=blueprint, user_id=user_id, state=stack)
            .order_by("-seq", "-pk")
            .first()
        )
        if step is None:
            return UndoResult(False, "Nothing to redo." if redo else "Nothing to undo.", [], blueprint.rev)

        doing = "redoing" if redo else "undoing"
        basis = _records(step.undo_operations if redo else step.operations)
        blockers = _changed_since(blueprint, user_id, basis)
        if blockers:
            names = _names(blockers)
            notice = f"Skipped {doing} “{step.summary}”: {names} changed it since."
            return _skip(step, blueprint.rev, notice, client_id)

        inverses = [inverse for record in reversed(basis) for inverse in record.inverse]
        try:
            with transaction.atomic():  # a savepoint: a failed inverse leaves no trace
                records = operations_apply_inverse(
                    blueprint_id=blueprint.pk,
                    actor=actor,
                    steps=inverses,
                    mark=_mark(redo),
                    client_id=client_id,
                )
        except LimitExceeded:
            # not skipped: the step waits on the stack until there is room (README "Limits")
            raise
        except BlueprintError as exc:
            return _skip(step, blueprint.rev, f"Skipped {doing} “{step.summary}”: {exc.message}", client_id)

        ids = [record.pk for record in records]
        if redo:
            step.operations, step.state = ids, UndoStep.State.DONE
        else:
            step.undo_operations, step.state = ids, UndoStep.State.UNDONE
        step.seq = records[-1].rev if records else blueprint.rev
        step.client_id, step.notice = client_id, ""
        step.save(update_fields=["operations", "undo_operations", "state", "seq", "client_id", "notice"])
        return UndoResult(True, _done_message(step, redo), records, step.seq)


def _mark(redo: bool) -> str:
    """How an undo's or redo's records end their summary: "moved offer 'X' to Awareness (undo)"."""
    return "redo" if redo else "undo"


def _done_message(step: UndoStep, redo: bool) -> str:
    return f"{'Redid' if redo else 'Undid'}: {step.summary}"


def _records(ids: Iterable[int]) -> list[Operation]:
    return list(Operation.objects.filter(pk__in=list(ids)).order_by("rev"))


def _skip(step: UndoStep, rev: int, notice: str, client_id: str) -> UndoResult:
    step.state, step.seq, step.notice, step.client_id = UndoStep.State.SKIPPED, rev, notice[:600], client_id
    step.save(update_fields=["state", "seq", "notice", "client_id"])
    return UndoResult(False, notice, [], rev)


def _retried(blueprint: Blueprint, user_id: int, client_id: str, redo: bool) -> UndoResult | None:
    """The answer to an undo or redo request seen before, or None when this client id is new.

    An applied one left its client id on its first new record; a skipped one on its step."""
    earlier = operation_by_client_id(blueprint.pk, client_id)
    if earlier is not None:
        if earlier.actor_id != user_id or not earlier.summary.endswith(f"({_mark(redo)})"):
            raise Conflict(
                "This client id was already used for a different operation; use a new one.",
                field="client_id",
            )
        # a retry comes soon after: the step is among the user's latest
        steps = UndoStep.objects.filter(blueprint=blueprint, user_id=user_id).order_by("-seq")[:200]
        for step in steps:
            ids = step.operations if redo else step.undo_operations
            if earlier.pk in ids:
                return UndoResult(True, _done_message(step, redo), _records(ids), blueprint.rev)
        # The step has moved on since (undone and redone again): the request was applied once.
        return UndoResult(True, f"Already {'redone' if redo else 'undone'}.", [earlier], blueprint.rev)
    skipped = UndoStep.objects.filter(
        blueprint=blueprint, user_id=user_id, client_id=client_id, state=UndoStep.State.SKIPPED
    ).first()
    if skipped is not None:
        return UndoResult(False, skipped.notice, [], blueprint.rev)
    return None


# --- Has anyone else changed it since? ----------------------------------------------------------


def _key_of(op_type: Any, payload: Any) -> Target | None:
    entity = op_type.split(".", 1)[0] if isinstance(op_type, str) else ""
    if entity == "blueprint":
        return ("blueprint", "")
    key = payload.get("key") if isinstance(payload, dict) else None
    return (entity, key) if entity and isinstance(key, str) else None


def _targets(record: Operation) -> set[Target]:
    """What a record changed: its own object, and every object its inverse would write (a deleted
    stage's inverse recreates its offers, so those offers are targets too)."""
    found = {_key_of(record.type, record.payload)}
    for inverse in record.inverse if isinstance(record.inverse, list) else []:
        if isinstance(inverse, dict):
            found.add(_key_of(inverse.get("type"), inverse.get("payload")))
    return {target for target in found if target is not None}


def _touches(record: Operation) -> set[Target]:
    """What a later record affected: its targets, and the stages an offer entered or left (so
    undoing "added stage X" never deletes a card someone else has put into X since)."""
    touched = _targets(record)
    if record.type.startswith("offer."):
        payloads = [record.payload] + [i.get("payload") for i in record.inverse if isinstance(i, dict)]
        for payload in payloads:
            stage = payload.get("stage") if isinstance(payload, dict) else None
            if isinstance(stage, str):
                touched.add(("stage", stage))
    return touched


def _changed_since(blueprint: Blueprint, user_id: int, basis: list[Operation]) -> list[Operation]:
    """Records by anyone but the user after ``basis`` that touch one of its targets, in order."""
    if not basis:
        return []
    targets = set().union(*(_targets(record) for record in basis))
    later = (
        Operation.objects.filter(blueprint=blueprint, rev__gt=basis[-1].rev)
        .filter(Q(actor__isnull=True) | ~Q(actor_id=user_id))
        .select_related("actor")
        .only("rev", "type", "payload", "inverse", "actor__username")
        .order_by("rev")
    )
    return [record for record in later if _touches(record) & targets]


def _names(records: list[Operation]) -> str:
    names: list[str] = []
    for record in records:
        name = record.actor.get_username() if record.actor is not None else "someone"
        if name not in names:
            names.append(name)
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return " and ".join(names) if len(names) < 3 else f"{names[0]}, {names[1]} and {names[2]}"


def undo_stack_push_step(*, records: list[Operation], user_id: int, summary: str) -> UndoStep | None:
    """Put several log records on the user's undo stack as ONE step (a restore, say): one undo takes
    them all back, newest first. Drops the user's redo stack, as a new edit of theirs does.

    The caller holds the transaction (and the blueprint lock) in which the records were applied,
    through ``operations_apply_inverse`` or another path that pushed no step of its own."""
    if not records:
        return None
    blueprint_id = records[0].blueprint_id
    UndoStep.objects.filter(blueprint_id=blueprint_id, user_id=user_id, state=UndoStep.State.UNDONE).update(
        state=UndoStep.State.DROPPED, seq=records[-1].rev
    )
    return UndoStep.objects.create(
        blueprint_id=blueprint_id,
        user_id=user_id,
        summary=summary[:300],
        operations=[record.pk for record in records],
        state=UndoStep.State.DONE,
        seq=records[-1].rev,
    )
