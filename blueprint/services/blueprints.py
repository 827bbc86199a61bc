"""Blueprints and their members: creating, duplicating, deleting, and who may do what.

The board's content changes only through ``operation_apply``; these services handle the
blueprint row's life and its access list, which are not part of the board's operation log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.db import transaction

from blueprint.errors import Conflict, Forbidden, InvalidInput, NotFound
from blueprint.models import Blueprint, Membership, Role
from blueprint.selectors import board_load

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser
from blueprint.services.operations import (
    User,
    attribute_fields,
    offer_fields,
    operations_apply,
    require_role,
    stage_fields,
    validate_blueprint_fields,
)


def blueprint_create(
    *, actor: User, name: Any, context: Any = "", channels: Any = None, description: Any = ""
) -> Blueprint:
    """Create an empty blueprint; the creator becomes its owner."""
    if actor is None or not actor.is_authenticated:
        raise Forbidden("Log in to create a blueprint.")
    values = validate_blueprint_fields(
        {"name": name, "context": context, "channels": channels or [], "description": description},
        creating=True,
    )
    with transaction.atomic():
        owner = cast("AuthUser", actor)
        blueprint = Blueprint.objects.create(created_by=owner, **values)
        Membership.objects.create(blueprint=blueprint, user=owner, role=Role.OWNER)
    return blueprint


def blueprint_content_operations(blueprint: Blueprint) -> list[tuple[str, dict[str, Any]]]:
    """The operations that rebuild this blueprint's catalog, stages and offers, in order."""
    board = board_load(blueprint)
    ops: list[tuple[str, dict[str, Any]]] = [
        ("attribute.create", attribute_fields(a)) for a in board.attributes
    ]
    for column in board.stages:
        ops.append(("stage.create", stage_fields(column.stage)))
        ops += [("offer.create", offer_fields(card.offer)) for card in column.offers]
    return ops


def blueprint_duplicate(*, actor: User, blueprint_id: int, name: Any = None) -> Blueprint:
    """Copy a blueprint the actor can see into a new one they own, through the operation path."""
    source = _visible(actor, blueprint_id)
    with transaction.atomic():
        copy = blueprint_create(
            actor=actor,
            name=name or f"Copy of {source.name}"[:120],
            context=source.context,
            channels=source.channels,
            description=source.description,
        )
        operations_apply(blueprint_id=copy.pk, actor=actor, operations=blueprint_content_operations(source))
    return copy


def blueprint_delete(*, actor: User, blueprint_id: int) -> None:
    blueprint = _visible(actor, blueprint_id)
    require_role(actor, blueprint, frozenset({Role.OWNER}), "delete this blueprint")
    blueprint.delete()


def _visible(actor: User, blueprint_id: int) -> Blueprint:
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first() if isinstance(blueprint_id, int) else None
    if blueprint is None:
        raise NotFound("No such blueprint.", field="blueprint")
    require_role(actor, blueprint, frozenset(Role.values), "see this blueprint")
    return blueprint


def membership_set(*, actor: User, blueprint_id: int, username: Any, role: Any) -> Membership:
    """Add a member or change a member's role. Owners only; a blueprint always keeps an owner."""
    blueprint = _visible(actor, blueprint_id)
    require_role(actor, blueprint, frozenset({Role.OWNER}), "manage members")
    problems: dict[str, list[str]] = {}
    if role not in Role.values:
        problems["role"] = [f"Expected one of: {', '.join(Role.values)}."]
    user = None
    if not isinstance(username, str) or not username.strip():
        problems["username"] = ["Name a user by their username."]
    else:
        user = get_user_model().objects.filter(username=username.strip()).first()
        if user is None:
            problems["username"] = [f"There is no user '{username[:80]}'."]
    if problems:
        raise InvalidInput(problems)
    with transaction.atomic():
        Blueprint.objects.select_for_update().get(pk=blueprint.pk)
        membership, _ = Membership.objects.get_or_create(
            blueprint=blueprint, user=user, defaults={"role": role}
        )
        if membership.role != role:
            _keep_an_owner(blueprint, membership, role)
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def membership_remove(*, actor: User, blueprint_id: int, username: Any) -> None:
    blueprint = _visible(actor, blueprint_id)
    require_role(actor, blueprint, frozenset({Role.OWNER}), "manage members")
    with transaction.atomic():
        Blueprint.objects.select_for_update().get(pk=blueprint.pk)
        membership = Membership.objects.filter(blueprint=blueprint, user__username=username).first()
        if membership is None:
            raise NotFound(f"'{str(username)[:80]}' is not a member of this blueprint.", field="username")
        _keep_an_owner(blueprint, membership, None)
        membership.delete()


def _keep_an_owner(blueprint: Blueprint, membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.OWNER and new_role != Role.OWNER:
        owners = Membership.objects.filter(blueprint=blueprint, role=Role.OWNER).count()
        if owners <= 1:
            raise Conflict(
                "A blueprint needs at least one owner; make someone else owner first.", field="role"
            )
