"""Who may do what on a blueprint: a person's role on it, and the refusal that names what their role
allows (a non-member is told there is no such blueprint)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from blueprint.errors import Forbidden, NotFound
from blueprint.models import (
    Blueprint,
    Membership,
)

User = AbstractBaseUser | AnonymousUser


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
