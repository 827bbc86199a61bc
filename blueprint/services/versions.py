"""Published versions (docs/architecture.md, "Versions and approval"): the draft as an immutable
snapshot, reviewed by stakeholders, one live at a time; and the way back, a version restored into
the draft.

Statuses: a version is published ``in_review``. Each approver or owner other than its author
approves or rejects it once, with a comment (a rejection needs one). When as many approvals are in
as the blueprint's policy asked for when it was published, the version is ``approved``: it is the
live one, and every older version that was approved, or still in review, becomes ``superseded``.
One rejection ends the review (``rejected``). Decisions lock the blueprint row, so two approvals at
the same moment cannot make two live versions.

Publishing is not an operation: it does not change the draft, so it is neither in the operation
log nor on anyone's undo stack. Restoring is: it changes the draft through ``operation_apply``'s
handlers, and is one step on the restorer's undo stack.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from blueprint.models import (
    EDIT_ROLES,
    Approval,
    Blueprint,
    Membership,
    Notification,
    Operation,
    Role,
    Version,
    deciding_version,
)
from blueprint.restore import catalog_order_differs, restore_plan, without_catalog_order
from blueprint.selectors import board_lint, board_load, board_snapshot
from blueprint.services.access import require_role
from blueprint.services.broadcast import board_group_name, board_group_send
from blueprint.services.notifications import notify
from blueprint.services.operations import (
    User,
    operations_apply_inverse,
)
from blueprint.services.undo import undo_stack_push_step
from blueprint.snapshots import snapshot_hash, snapshot_keys_cleaned
from decisioning.errors import Conflict, Forbidden, InvalidInput, NotFound
from decisioning.limits import LIMITS, over_limit

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

logger = logging.getLogger(__name__)

MAX_NOTE = LIMITS.note_length
MAX_COMMENT = LIMITS.note_length
MAX_APPROVALS = 10
REVIEW_ROLES = frozenset({Role.OWNER, Role.APPROVER})
STATUS_WORDS: dict[str, str] = {
    Version.Status.IN_REVIEW: "in review",
    Version.Status.APPROVED: "approved",
    Version.Status.REJECTED: "rejected",
    Version.Status.SUPERSEDED: "superseded",
}


def version_url(version: Version) -> str:
    return reverse("version", args=[version.blueprint_id, version.number])


def _text(value: Any, name: str, limit: int, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidInput(f"{what} is text without NUL characters.", field=name)
    if len(value) > limit:
        raise InvalidInput(
            over_limit("note_length", f"{what} is text of at most {limit} characters"), field=name
        )
    return value.replace("\r\n", "\n").strip()


def _locked(blueprint_id: Any) -> Blueprint:
    try:
        return Blueprint.objects.select_for_update().get(pk=blueprint_id)
    except (Blueprint.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such blueprint.", field="blueprint") from None


def _version(blueprint: Blueprint, number: Any, *, lock: bool = False) -> Version:
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 2**31:
        raise InvalidInput("Name the version by its number (1, 2, …).", field="number")
    versions = Version.objects.filter(blueprint=blueprint, number=number)
    found = (versions.select_for_update() if lock else versions).first()
    if found is None:
        raise NotFound(f"This blueprint has no version {number}.", field="number")
    return found


def _name(user: Any) -> str:
    return user.get_username() if user is not None else "Someone"


def _members(blueprint: Blueprint, roles: frozenset[str] | None = None) -> list[Any]:
    memberships = Membership.objects.filter(blueprint=blueprint).select_related("user")
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return [m.user for m in memberships]


# --- Publishing --------------------------------------------------------------------------------------


def version_publish(*, blueprint_id: int, actor: User, note: str = "") -> Version:
    """Publish the draft as the blueprint's next version, ``in_review``.

    Guarantees: the actor is an owner or editor; the snapshot is the draft as of one ``rev`` (the
    blueprint row is locked while it is read, so no operation lands half-way); publishing is
    refused, changing nothing, while the draft's lint has errors (they are the problems, under
    ``lint``). The same content may be published again (a new review, say, after a rejection by
    mistake). The version needs the approvals the blueprint's policy asks for now. Reviewers (approvers and owners other than the author) are notified; open boards hear of
    it after commit. Raises ``BlueprintError`` subclasses.
    """
    note = _text(note, "note", MAX_NOTE, "A note")
    with transaction.atomic():
        blueprint = _locked(blueprint_id)
        require_role(actor, blueprint, EDIT_ROLES, "publish a version")
        board = board_load(blueprint)
        errors = board_lint(board).errors
        if errors:
            raise InvalidInput(
                {"lint": [f.message for f in errors]}
                | {"non_field_errors": [f"Fix the {len(errors)} lint error(s) first; then publish."]}
            )
        snapshot = board_snapshot(board)
        content_hash = snapshot_hash(snapshot)
        last = Version.objects.filter(blueprint=blueprint).aggregate(n=Max("number"))["n"] or 0
        version = Version.objects.create(
            blueprint=blueprint,
            number=last + 1,
            snapshot=snapshot,
            content_hash=content_hash,
            note=note,
            author=cast("AuthUser", actor) if actor.is_authenticated else None,
            rev=blueprint.rev,
            approvals_needed=blueprint.approval_policy,
        )
        reviewers = [u for u in _members(blueprint, REVIEW_ROLES) if u.pk != actor.pk]
        who = _name(actor)
        notify(
            users=reviewers,
            blueprint=blueprint,
            version=version,
            kind=Notification.Kind.REVIEW,
            message=f"{who} published version {version.number} of '{blueprint.name}': it awaits your review.",
            url=version_url(version),
            subject=f"Version {version.number} of '{blueprint.name}' awaits your review",
            details=[f"Note: {note}"] if note else [],
        )
        number = version.number
        transaction.on_commit(lambda: version_broadcast(blueprint.pk, number))
    return version


# --- Review ----------------------------------------------------------------------------------------


def version_approve(*, blueprint_id: int, number: int, actor: User, comment: str = "") -> Version:
    """Record the actor's approval of version ``number`` (an optional comment); when it is the last
    one the policy asked for, the version goes live and the live one before it is superseded.

    Guarantees: the actor is an approver or owner, not the version's author (four eyes), and has
    not decided on it before; the version is in review (``Conflict`` otherwise). Under the blueprint
    lock, so of two approvals at the same moment one sees the other. Notifies the author of an
    approval, and every member when the version goes live. Raises ``BlueprintError`` subclasses.
    """
    return _decide(blueprint_id, number, actor, Approval.Decision.APPROVE, comment)


def version_reject(*, blueprint_id: int, number: int, actor: User, comment: str) -> Version:
    """Reject version ``number`` with a comment saying why (required): its review ends, ``rejected``.
    The same guarantees as ``version_approve``; the author and the other members are notified."""
    return _decide(blueprint_id, number, actor, Approval.Decision.REJECT, comment)


def _decide(blueprint_id: int, number: int, actor: User, decision: str, comment: Any) -> Version:
    comment = _text(comment, "comment", MAX_COMMENT, "A comment")
    rejecting = decision == Approval.Decision.REJECT
    with transaction.atomic():
        blueprint = _locked(blueprint_id)
        require_role(actor, blueprint, REVIEW_ROLES, "approve or reject versions")
        version = _version(blueprint, number, lock=True)
        doing = "reject" if rejecting else "approve"
        if version.author_id is not None and version.author_id == actor.pk:
            raise Forbidden(
                f"You published version {version.number}; someone else must {doing} it (four eyes).",
                field="number",
            )
        if version.status != Version.Status.IN_REVIEW:
            raise Conflict(
                f"Version {version.number} is already {STATUS_WORDS[version.status]}; only a version in "
                "review can be approved or rejected.",
                field="status",
            )
        earlier = Approval.objects.filter(version=version, user_id=cast(int, actor.pk)).first()
        if earlier is not None:
            did = "approved" if earlier.decision == Approval.Decision.APPROVE else "rejected"
            raise Conflict(f"You have already {did} version {version.number}.", field="number")
        if rejecting and not comment:
            raise InvalidInput(
                "Say why you reject it: the author reads the comment to fix the version.", field="comment"
            )
        Approval.objects.create(
            version=version, user=cast("AuthUser", actor), decision=decision, comment=comment
        )
        now = timezone.now()
        who = _name(actor)
        url = version_url(version)
        title = f"version {version.number} of '{blueprint.name}'"
        others = [u for u in _members(blueprint) if u.pk != actor.pk]
        details = [f"Comment: {comment}"] if comment else []
        token = deciding_version.set(True)
        try:
            if rejecting:
                version.status, version.decided_at = Version.Status.REJECTED, now
                version.save(update_fields=["status", "decided_at"])
                notify(
                    users=others,
                    blueprint=blueprint,
                    version=version,
                    kind=Notification.Kind.REJECTED,
                    message=f"{who} rejected {title}: {comment}",
                    url=url,
                    subject=f"{who} rejected {title}",
                    details=details,
                )
            else:
                approvals = Approval.objects.filter(
                    version=version, decision=Approval.Decision.APPROVE
                ).count()
                if approvals >= version.approvals_needed:
                    older = Version.objects.filter(blueprint=blueprint).exclude(pk=version.pk)
                    older.filter(status=Version.Status.APPROVED).update(
                        status=Version.Status.SUPERSEDED, superseded_at=now
                    )
                    older.filter(status=Version.Status.IN_REVIEW, number__lt=version.number).update(
                        status=Version.Status.SUPERSEDED, superseded_at=now
                    )
                    version.status, version.decided_at = Version.Status.APPROVED, now
                    version.save(update_fields=["status", "decided_at"])
                    notify(
                        users=others,
                        blueprint=blueprint,
                        version=version,
                        kind=Notification.Kind.APPROVED,
                        message=f"{who} approved {title}: it is live now.",
                        url=url,
                        subject=f"{title[:1].upper()}{title[1:]} is approved and live",
                        details=details,
                    )
                else:
                    notify(
                        users=[version.author],
                        blueprint=blueprint,
                        version=version,
                        kind=Notification.Kind.APPROVAL,
                        message=(
                            f"{who} approved {title} ({approvals} of {version.approvals_needed} approvals)."
                        ),
                        url=url,
                        subject=f"{who} approved {title}",
                        details=details,
                    )
        finally:
            deciding_version.reset(token)
        number = version.number
        transaction.on_commit(lambda: version_broadcast(blueprint.pk, number))
    return version


# --- The approval policy -----------------------------------------------------------------------------


def blueprint_policy_set(*, actor: User, blueprint_id: int, approvals_needed: Any) -> Blueprint:
    """Set how many approvals a version of the blueprint needs to go live (1 to 10; owners only).

    Versions published from now on need that many; a version in review keeps the number it was
    published with, so changing the policy never decides a review under way."""
    if (
        not isinstance(approvals_needed, int)
        or isinstance(approvals_needed, bool)
        or not 1 <= approvals_needed <= MAX_APPROVALS
    ):
        raise InvalidInput(
            f"Expected a whole number from 1 to {MAX_APPROVALS}: how many approvals a version needs to go live.",
            field="approval_policy",
        )
    with transaction.atomic():
        blueprint = _locked(blueprint_id)
        require_role(actor, blueprint, frozenset({Role.OWNER}), "set the approval policy")
        if blueprint.approval_policy != approvals_needed:
            blueprint.approval_policy = approvals_needed
            blueprint.save(update_fields=["approval_policy"])
    return blueprint


# --- Restore -----------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    """What a restore did: ``done`` is False when the draft already had the version's content."""

    done: bool
    message: str
    records: list[Operation] = field(default_factory=list)
    rev: int = 0


def version_restore(*, blueprint_id: int, number: int, actor: User) -> RestoreResult:
    """Give the draft the content of version ``number``, as ordinary operations by the actor.

    Guarantees: the actor is an owner or editor; the operations (``blueprint.restore.restore_plan``:
    the difference between the draft and the version) are applied in one transaction under the
    blueprint lock, each logged and broadcast after commit like any edit, and together they are ONE
    step on the actor's undo stack. If the result differed from the version (beyond the catalog's
    order, which no operation sets) nothing is kept (``Conflict``). A draft that already has the
    version's content is left alone, and the answer says so. Raises ``BlueprintError`` subclasses.
    """
    with transaction.atomic():
        blueprint = _locked(blueprint_id)
        require_role(actor, blueprint, EDIT_ROLES, "restore a version into the draft")
        version = _version(blueprint, number)
        draft = board_snapshot(board_load(blueprint))
        # keys stored before keys were matched whole are cleaned as the board's were (migration 0005)
        target = snapshot_keys_cleaned(version.snapshot)
        plan = restore_plan(draft, target)
        if not plan:
            return RestoreResult(
                False,
                f"The draft already has the content of version {version.number}; nothing to restore.",
                rev=blueprint.rev,
            )
        records = operations_apply_inverse(
            blueprint_id=blueprint.pk,
            actor=actor,
            steps=[{"type": op_type, "payload": payload} for op_type, payload in plan],
            mark=f"restoring version {version.number}",
        )
        restored = board_snapshot(board_load(Blueprint.objects.get(pk=blueprint.pk)))
        if without_catalog_order(restored) != without_catalog_order(target):
            raise Conflict(
                f"Restoring version {version.number} could not reproduce it exactly, so nothing was changed.",
                field="number",
            )
        undo_stack_push_step(
            records=records, user_id=cast(int, actor.pk), summary=f"restored version {version.number}"
        )
        changes = f"{len(records)} change{'s' if len(records) != 1 else ''}"
        message = f"Restored version {version.number} into the draft ({changes}); one undo takes it back."
        if catalog_order_differs(draft, target):
            message += (
                f" The catalog lists its attributes in another order than version {version.number} did: "
                "it keeps them in the order they were added."
            )
        return RestoreResult(True, message, records, records[-1].rev)


# --- Live boards -------------------------------------------------------------------------------------


def version_broadcast(blueprint_id: int, number: int) -> None:
    """Tell the board's open sockets that a version was published or decided (they redraw the
    version badge). After commit; like every broadcast, only a hint: a failure is logged."""
    board_group_send(
        board_group_name(blueprint_id),
        # ``sent`` tells this broadcast from the next (publish, then approve, of one number)
        {"type": "board.version", "number": number, "sent": uuid.uuid4().hex},
        f"version broadcast for blueprint {blueprint_id}",
    )
