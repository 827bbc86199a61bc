"""Blueprints and their members: creating, duplicating, deleting, and who may do what.

The board's content changes only through ``operation_apply``; these services handle the
blueprint row's life and its access list, which are not part of the board's operation log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.db import transaction

from blueprint.models import Blueprint, Membership, Role
from blueprint.selectors import board_load, board_snapshot
from blueprint.snapshots import snapshot_operations
from decisioning.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from decisioning.limits import LIMITS, over_limit
from decisioning.model import STAGE_MODE_DEFAULT

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser
from blueprint.services.access import require_role
from blueprint.services.blueprint_ops import validate_blueprint_fields
from blueprint.services.broadcast import membership_broadcast
from blueprint.services.operations import User, operations_apply


def blueprint_create(
    *,
    actor: User,
    name: Any,
    context: Any = "",
    channels: Any = None,
    description: Any = "",
    stage_mode: Any = STAGE_MODE_DEFAULT,
) -> Blueprint:
    """Create an empty blueprint; the creator becomes its owner.

    A person may have created at most ``blueprints_per_person`` blueprints that still exist (an
    import and a duplicate create one too); checked while their user row is locked, so two
    requests at once cannot both take the last one (``LimitExceeded``)."""
    if actor is None or not actor.is_authenticated:
        raise Forbidden("Log in to create a blueprint.")
    values = validate_blueprint_fields(
        {
            "name": name,
            "context": context,
            "channels": [] if channels is None else channels,
            "description": description,
            "stage_mode": STAGE_MODE_DEFAULT if stage_mode is None else stage_mode,
        },
        creating=True,
    )
    with transaction.atomic():
        owner = cast("AuthUser", actor)
        list(get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk"))
        if Blueprint.objects.filter(created_by=owner).count() >= LIMITS.blueprints_per_person:
            raise LimitExceeded(
                over_limit(
                    "blueprints_per_person",
                    f"A person may create at most {LIMITS.blueprints_per_person} blueprints; delete one "
                    "you no longer need first",
                ),
                field="blueprints",
            )
        blueprint = Blueprint.objects.create(created_by=owner, **values)
        Membership.objects.create(blueprint=blueprint, user=owner, role=Role.OWNER)
    return blueprint


def blueprint_content_operations(blueprint: Blueprint) -> list[tuple[str, dict[str, Any]]]:
    """The operations that rebuild this blueprint's catalog, stages and offers, in order: those of
    its snapshot, as an import of its JSON export would apply them."""
    return snapshot_operations(board_snapshot(board_load(blueprint)))


def blueprint_duplicate(*, actor: User, blueprint_id: int, name: Any = None) -> Blueprint:
    """Copy a blueprint the actor can see into a new one they own, through the operation path."""
    source = _visible(actor, blueprint_id)
    with transaction.atomic():
        copy = blueprint_create(
            actor=actor,
            name=name or f"Copy of {source.name}"[: LIMITS.name_length],
            context=source.context,
            channels=source.channels,
            description=source.description,
            stage_mode=source.stage_mode,
        )
        operations_apply(blueprint_id=copy.pk, actor=actor, operations=blueprint_content_operations(source))
    return copy


def blueprint_delete(*, actor: User, blueprint_id: int) -> None:
    blueprint = _visible(actor, blueprint_id)
    require_role(actor, blueprint, frozenset({Role.OWNER}), "delete this blueprint")
    blueprint_id = blueprint.pk
    with transaction.atomic():
        blueprint.delete()
        transaction.on_commit(lambda: membership_broadcast(blueprint_id, None))


def _visible(actor: User, blueprint_id: int) -> Blueprint:
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first() if isinstance(blueprint_id, int) else None
    if blueprint is None:
        raise NotFound("No such blueprint.", field="blueprint")
    require_role(actor, blueprint, frozenset(Role.values), "see this blueprint")
    return blueprint


def membership_set(
    *, actor: User, blueprint_id: int, username: Any, role: Any, existing_only: bool = False
) -> Membership:
    """Add a member or change a member's role; with ``existing_only``, only change a role.

    Owners only, checked while the blueprint row is locked, so an owner demoted at the same moment
    cannot act; a blueprint always keeps an owner.
    """
    problems: dict[str, list[str]] = {}
    if role not in Role.values:
        problems["role"] = [f"Expected one of: {', '.join(Role.values)}."]
    if not isinstance(username, str) or not username.strip() or "\x00" in username:
        problems["username"] = ["Name a user by their username."]
    with transaction.atomic():
        blueprint = _locked(actor, blueprint_id)
        require_role(actor, blueprint, frozenset({Role.OWNER}), "manage members")
        if problems:
            raise InvalidInput(problems)
        user = get_user_model().objects.filter(username=username.strip()).first()
        if user is None:
            raise InvalidInput(f"There is no user '{username[:80]}'.", field="username")
        membership = Membership.objects.filter(blueprint=blueprint, user=user).first()
        if membership is None:
            if existing_only:
                raise NotFound(f"'{username[:80]}' is not a member of this blueprint.", field="username")
            if Membership.objects.filter(blueprint=blueprint).count() >= LIMITS.members_per_blueprint:
                raise LimitExceeded(
                    over_limit(
                        "members_per_blueprint",
                        f"A blueprint has at most {LIMITS.members_per_blueprint} members; remove one first",
                    ),
                    field="username",
                )
            return Membership.objects.create(blueprint=blueprint, user=user, role=role)
        if membership.role != role:
            _keep_an_owner(blueprint, membership, role)
            membership.role = role
            membership.save(update_fields=["role"])
            user_id = user.pk
            transaction.on_commit(lambda: membership_broadcast(blueprint.pk, user_id))
    return membership


def membership_remove(*, actor: User, blueprint_id: int, username: Any) -> None:
    with transaction.atomic():
        blueprint = _locked(actor, blueprint_id)
        require_role(actor, blueprint, frozenset({Role.OWNER}), "manage members")
        membership = Membership.objects.filter(blueprint=blueprint, user__username=username).first()
        if membership is None:
            raise NotFound(f"'{str(username)[:80]}' is not a member of this blueprint.", field="username")
        _keep_an_owner(blueprint, membership, None)
        membership.delete()  # its post_delete signal tells the member's open sockets (apps.py)


def _locked(actor: User, blueprint_id: int) -> Blueprint:
    """The blueprint row, locked for the rest of the caller's transaction; 404 for non-members."""
    blueprint = _visible(actor, blueprint_id)
    return Blueprint.objects.select_for_update().get(pk=blueprint.pk)


def _keep_an_owner(blueprint: Blueprint, membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.OWNER and new_role != Role.OWNER:
        owners = Membership.objects.filter(blueprint=blueprint, role=Role.OWNER).count()
        if owners <= 1:
            raise Conflict(
                "A blueprint needs at least one owner; make someone else owner first.", field="role"
            )
