"""Board objects. Models keep only rules about one row; every write goes through
``blueprint.services.operations.operation_apply`` (docs/architecture.md, "The edit path")."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from decisioning.conditions import KEY_PATTERN, KINDS, TYPES, AttributeSpec
from decisioning.limits import LIMITS
from decisioning.model import STAGE_MODES, short_window, stored_day

# A key is the whole string (KEY_PATTERN ends in \Z, not $): a validator, and a check constraint
# underneath, so no path can store one that pages cannot put in a URL.
key_validator = RegexValidator(KEY_PATTERN, "Use lower-case letters, digits, '-' and '_' only.")


def key_is_whole(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(key__regex=KEY_PATTERN), name=name)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


EDIT_ROLES = frozenset({Role.OWNER, Role.EDITOR})


class Blueprint(models.Model):
    name = models.CharField(max_length=LIMITS.name_length)
    context = models.CharField(max_length=LIMITS.context_length, blank=True)
    channels = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    # How stages relate (docs/architecture.md, "Decisions"): "several", every stage whose entry
    # holds; "one", only the first of them in journey order.
    stage_mode = models.CharField(max_length=8, choices=list(STAGE_MODES.items()), default="several")
    # Incremented by every operation; clients use it to notice what they missed.
    rev = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # How many approvals a published version needs to go live (the owner sets it; versions keep
    # the number in force when they were published: Version.approvals_needed).
    approval_policy = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approval_policy__gte=1, approval_policy__lte=10),
                name="approval_policy_1_to_10",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "user"], name="one_membership_per_user")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.blueprint_id}"


class Attribute(models.Model):
    """One entry of a blueprint's attribute catalog: the data requirements of the spec."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="attributes")
    key = models.CharField(max_length=LIMITS.key_length, validators=[key_validator])
    label = models.CharField(max_length=LIMITS.label_length)
    kind = models.CharField(max_length=16, choices=[(k, k.title()) for k in KINDS], default="attribute")
    type = models.CharField(max_length=16, choices=[(t, t.title()) for t in TYPES])
    choices = models.JSONField(default=list, blank=True)
    unit = models.CharField(max_length=LIMITS.unit_length, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=LIMITS.source_length, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "key"], name="attribute_key_unique"),
            key_is_whole("attribute_key_whole"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key

    def spec(self) -> AttributeSpec:
        return AttributeSpec(
            key=self.key,
            label=self.label,
            type=self.type,
            kind=self.kind,
            choices=tuple(self.choices),
            unit=self.unit,
        )


class Stage(models.Model):
    """A column of the board: a phase of the customer journey."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="stages")
    key = models.CharField(max_length=LIMITS.key_length, validators=[key_validator])
    name = models.CharField(max_length=LIMITS.name_length)
    description = models.TextField(blank=True)
    # Fractional index (base-62 string); compare with Python's str ordering, not the DB collation.
    rank = models.CharField(max_length=64)
    entry = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "key"], name="stage_key_unique"),
            key_is_whole("stage_key_whole"),
        ]

    def __str__(self) -> str:
        return self.key


class Offer(models.Model):
    """A card: a personalized touchpoint inside a stage. Its rank within the stage is its priority."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="offers")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="offers")
    key = models.CharField(max_length=LIMITS.key_length, validators=[key_validator])
    name = models.CharField(max_length=LIMITS.name_length)
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=LIMITS.channel_length, blank=True)
    fallback = models.BooleanField(default=False)
    rank = models.CharField(max_length=64)
    groups = models.JSONField(default=list, blank=True)
    # What it shows and when: the creative's id or URL (plain text), the first and last day it may
    # be shown ("YYYY-MM-DD" as the payload, the snapshot and the API write it; "" when open) and
    # free tags. Outside its days an offer is not eligible (docs/architecture.md, "Decisions").
    content_ref = models.CharField(max_length=LIMITS.content_ref_length, blank=True)
    starts_on = models.CharField(max_length=10, blank=True)
    ends_on = models.CharField(max_length=10, blank=True)
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "key"], name="offer_key_unique"),
            key_is_whole("offer_key_whole"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def dates_label(self) -> str:
        """Its days for the card (``decisioning.model.short_window``): "1 Mar - 30 Jun 2027", …"""
        return short_window(stored_day(self.starts_on), stored_day(self.ends_on))


class Operation(models.Model):
    """The blueprint's log: one row per accepted edit, with what undoes it."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="operations")
    rev = models.PositiveBigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    # A list of {type, payload} that, applied in order, undoes this operation.
    inverse = models.JSONField(default=list)
    client_id = models.CharField(max_length=LIMITS.client_id_length, blank=True)
    # What a person reads in the activity panel ("editor moved 'Welcome bonus' to Onboarding").
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "rev"], name="operation_rev_unique"),
            models.UniqueConstraint(
                fields=["blueprint", "client_id"],
                condition=~models.Q(client_id=""),
                name="operation_client_id_unique",
            ),
        ]
        ordering = ["blueprint_id", "rev"]

    def __str__(self) -> str:
        return f"{self.blueprint_id}@{self.rev} {self.type}"


class UndoStep(models.Model):
    """One entry of a user's undo/redo stack on a blueprint: the log records of one edit.

    Undo applies the records' inverses as new operations, redo the inverses of those; the stack
    is per user, ordered by ``seq``. Not a board object: the undo service writes it directly.
    """

    class State(models.TextChoices):
        DONE = "done", "Done"  # on the undo stack
        UNDONE = "undone", "Undone"  # on the redo stack
        SKIPPED = "skipped", "Skipped"  # someone else changed its target, or its inverse failed
        DROPPED = "dropped", "Dropped"  # was on the redo stack when the user made a new edit

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="undo_steps")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The edit in words, as first made ("moved offer 'Welcome bonus' to Onboarding").
    summary = models.CharField(max_length=300, blank=True)
    # Operation ids, in order: the forward records this step consists of (replaced by a redo).
    operations = models.JSONField(default=list)
    # Operation ids of the records of its latest undo (kept after a redo, so a retried undo is known).
    undo_operations = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DONE)
    # The blueprint's rev at the step's last change of state: the top of a stack is the highest.
    seq = models.PositiveBigIntegerField()
    # The client id of the undo or redo that last changed it, and what that one was told when it
    # was skipped, so a retried request gets the same answer instead of undoing one more step.
    client_id = models.CharField(max_length=LIMITS.client_id_length, blank=True)
    notice = models.CharField(max_length=600, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["blueprint", "user", "state", "seq"], name="undo_stack")]
        ordering = ["blueprint_id", "user_id", "seq"]

    def __str__(self) -> str:
        return f"{self.blueprint_id}/{self.user_id}@{self.seq} {self.state} {self.summary}"


# Set while blueprint.services.versions changes a version's status; Version refuses such writes
# outside it. What a version *is* (its snapshot, hash, number, author, note, time) never changes:
# the model refuses it here and a database trigger (migration 0004) refuses it underneath.
deciding_version: ContextVar[bool] = ContextVar("deciding_version", default=False)

# The only columns of a version that ever change after it is made, and only through the services.
VERSION_DECISION_FIELDS = frozenset({"status", "decided_at", "superseded_at"})


class VersionImmutable(RuntimeError):
    """Something tried to change what a published version is, or its status outside the services."""


class VersionQuerySet(models.QuerySet["Version"]):
    def update(self, **kwargs: Any) -> int:
        _check_version_write(set(kwargs))
        return super().update(**kwargs)  # bulk_update() comes through here too


def _check_version_write(fields: set[str]) -> None:
    frozen = sorted(fields - VERSION_DECISION_FIELDS)
    if frozen:
        raise VersionImmutable(
            f"A published version is immutable: {', '.join(frozen)} cannot change. Publish a new version."
        )
    if not deciding_version.get():
        raise VersionImmutable(
            "A version's status changes only through version_approve / version_reject (blueprint.services)."
        )


class Version(models.Model):
    """A published version: an immutable snapshot of the draft (``blueprint.snapshots``) that
    stakeholders approve or reject. Only its status and decision fields ever change; the newest
    approved version is the live one (at most one is ``approved`` at a time, the older ones are
    ``superseded``)."""

    class Status(models.TextChoices):
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    content_hash = models.CharField(max_length=80)
    note = models.TextField(blank=True)
    # PROTECT: who published a version is part of the record; a user who authored one is
    # deactivated rather than deleted (SET_NULL would rewrite the version, which the trigger refuses).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # the draft's rev when it was published
    rev = models.PositiveBigIntegerField(default=0)
    # the blueprint's approval policy when it was published: changing the policy later does not
    # change what a review under way needs
    approvals_needed = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_REVIEW)
    # when it was approved or rejected
    decided_at = models.DateTimeField(null=True, blank=True)
    # when a newer version went live (from approved, or while still in review)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "number"], name="version_number_unique")]
        ordering = ["blueprint_id", "-number"]

    def __str__(self) -> str:
        return f"{self.blueprint_id} v{self.number} {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                raise VersionImmutable(
                    "A published version is immutable; a status change names its fields (update_fields)."
                )
            _check_version_write(set(update_fields))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise VersionImmutable("A published version is never deleted; it goes only with its blueprint.")


class Approval(models.Model):
    """One reviewer's decision on a version: approve or reject, with a comment (a rejection needs one).
    Never changed after it is made; one per reviewer and version."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="one_decision_per_reviewer")]
        ordering = ["version_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.decision} {self.version_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise VersionImmutable("A review decision is a record; it is never changed.")
        super().save(*args, **kwargs)


class Notification(models.Model):
    """An in-app notice for one member: a version awaits their review, or one was decided."""

    class Kind(models.TextChoices):
        REVIEW = "review", "Awaits your review"
        APPROVAL = "approval", "Approved by one reviewer"
        APPROVED = "approved", "Approved, live"
        REJECTED = "rejected", "Rejected"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.message}"
