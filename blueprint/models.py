"""Board objects. Models keep only rules about one row; every write goes through
``blueprint.services.operations.operation_apply`` (see DESIGN.md §5)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from blueprint.conditions import KINDS, TYPES, AttributeSpec

KEY_PATTERN = r"^[a-z0-9_-]+$"
key_validator = RegexValidator(KEY_PATTERN, "Use lower-case letters, digits, '-' and '_' only.")


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


EDIT_ROLES = frozenset({Role.OWNER, Role.EDITOR})


class Blueprint(models.Model):
    name = models.CharField(max_length=120)
    context = models.CharField(max_length=200, blank=True)
    channels = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    # Incremented by every operation; clients use it to notice what they missed.
    rev = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

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
    key = models.CharField(max_length=64, validators=[key_validator])
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=[(k, k.title()) for k in KINDS], default="attribute")
    type = models.CharField(max_length=16, choices=[(t, t.title()) for t in TYPES])
    choices = models.JSONField(default=list, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "key"], name="attribute_key_unique")]
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
    key = models.CharField(max_length=64, validators=[key_validator])
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # Fractional index (base-62 string); compare with Python's str ordering, not the DB collation.
    rank = models.CharField(max_length=64)
    entry = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "key"], name="stage_key_unique")]

    def __str__(self) -> str:
        return self.key


class Offer(models.Model):
    """A card: a personalized touchpoint inside a stage. Its rank within the stage is its priority."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="offers")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="offers")
    key = models.CharField(max_length=64, validators=[key_validator])
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=64, blank=True)
    fallback = models.BooleanField(default=False)
    rank = models.CharField(max_length=64)
    groups = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "key"], name="offer_key_unique")]

    def __str__(self) -> str:
        return self.key


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
    client_id = models.CharField(max_length=64, blank=True)
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
    client_id = models.CharField(max_length=64, blank=True)
    notice = models.CharField(max_length=600, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["blueprint", "user", "state", "seq"], name="undo_stack")]
        ordering = ["blueprint_id", "user_id", "seq"]

    def __str__(self) -> str:
        return f"{self.blueprint_id}/{self.user_id}@{self.seq} {self.state} {self.summary}"


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
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # the draft's rev when it was published
    rev = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_REVIEW)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blueprint", "number"], name="version_number_unique")]
        ordering = ["blueprint_id", "-number"]

    def __str__(self) -> str:
        return f"{self.blueprint_id} v{self.number} {self.status}"
