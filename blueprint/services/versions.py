"""Published versions (DESIGN.md §1, §6): the draft as an immutable snapshot for approval."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.db.models import Max

from blueprint.errors import InvalidInput, NotFound
from blueprint.models import EDIT_ROLES, Blueprint, Version
from blueprint.selectors import board_lint, board_load, board_snapshot
from blueprint.services.operations import User, require_role
from blueprint.snapshots import snapshot_hash

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

MAX_NOTE = 5000


def version_publish(*, blueprint_id: int, actor: User, note: str = "") -> Version:
    """Publish the draft as the blueprint's next version, ``in_review``.

    Guarantees: the actor is an owner or editor; the snapshot is the draft as of one ``rev`` (the
    blueprint row is locked while it is read, so no operation lands half-way); publishing is
    refused, changing nothing, while the draft's lint has errors (they are the problems, under
    ``lint``). Raises ``BlueprintError`` subclasses.
    """
    if not isinstance(note, str) or len(note) > MAX_NOTE or "\x00" in note:
        raise InvalidInput(f"A note is text of at most {MAX_NOTE} characters.", field="note")
    with transaction.atomic():
        try:
            blueprint = Blueprint.objects.select_for_update().get(pk=blueprint_id)
        except (Blueprint.DoesNotExist, ValueError, TypeError):
            raise NotFound("No such blueprint.", field="blueprint") from None
        require_role(actor, blueprint, EDIT_ROLES, "publish a version")
        board = board_load(blueprint)
        errors = board_lint(board).errors
        if errors:
            raise InvalidInput(
                {"lint": [f.message for f in errors]}
                | {"non_field_errors": [f"Fix the {len(errors)} lint error(s) first; then publish."]}
            )
        snapshot = board_snapshot(board)
        last = Version.objects.filter(blueprint=blueprint).aggregate(n=Max("number"))["n"] or 0
        return Version.objects.create(
            blueprint=blueprint,
            number=last + 1,
            snapshot=snapshot,
            content_hash=snapshot_hash(snapshot),
            note=note.strip(),
            author=cast("AuthUser", actor) if actor.is_authenticated else None,
            rev=blueprint.rev,
        )
