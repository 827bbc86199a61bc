"""Who may do what on a blueprint: a person's role on it, and the refusal that names what their role
allows (a non-member is told there is no such blueprint).

``member_blueprint`` is the one "member or 404" every transport asks: it raises the domain errors
(``NotFound`` for a non-member, ``Forbidden`` for a role that may not do this) and each transport
answers them its own way — the pages with their 404 and 403, the API with its JSON error.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from blueprint.models import (
    Blueprint,
    Membership,
)
from blueprint.selectors import blueprint_for_user, blueprints_listed
from decisioning.errors import Forbidden, NotFound

User = AbstractBaseUser | AnonymousUser

NO_SUCH_BLUEPRINT = "No such blueprint."


def member_blueprint(
    user: User | None,
    blueprint_id: Any,
    roles: Collection[str] | None = None,
    *,
    doing: str = "do this",
    counts: bool = False,
) -> Blueprint:
    """The blueprint ``blueprint_id``, annotated with the user's ``role`` on it (and, with
    ``counts``, with the ``stage_count`` and ``offer_count`` the blueprints list shows).

    Raises ``NotFound`` (field ``blueprint``) when there is no such blueprint or the user is not a
    member of it — the two are never told apart — and, when ``roles`` is given, ``Forbidden``
    naming the roles that may ``doing`` when the user's role is not one of them.
    """
    if user is None:
        raise NotFound(NO_SUCH_BLUEPRINT, field="blueprint")
    if counts:
        try:
            pk = int(blueprint_id)
        except (TypeError, ValueError):
            raise NotFound(NO_SUCH_BLUEPRINT, field="blueprint") from None
        blueprint = blueprints_listed(user).filter(pk=pk).first()
    else:
        blueprint = blueprint_for_user(user, blueprint_id)
    if blueprint is None:
        raise NotFound(NO_SUCH_BLUEPRINT, field="blueprint")
    if roles is not None:
        role_check(blueprint, roles, doing)
    return blueprint


def role_check(blueprint: Blueprint, roles: Collection[str], doing: str) -> None:
    """Refuse (``Forbidden``) unless the role ``blueprint`` is annotated with (``member_blueprint``)
    is one of ``roles``; for a transport that finds something else first (a version: its 404
    comes before the role's 403)."""
    role = getattr(blueprint, "role", None)
    if role not in roles:
        raise _refused(role, roles, doing)


def _refused(role: str | None, roles: Collection[str], doing: str) -> Forbidden:
    allowed = " or ".join(sorted(roles))
    return Forbidden(f"Your role is {role}; only {allowed} may {doing}.")


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
        raise NotFound(NO_SUCH_BLUEPRINT, field="blueprint")
    if role not in roles:
        raise _refused(role, roles, doing)
    return role
