"""HTML views: the board (board.py), the pages around it (pages.py) and /healthz (health.py)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django_htmx.middleware import HtmxDetails

from blueprint.models import Blueprint
from blueprint.services.access import member_blueprint
from decisioning.errors import BlueprintError, Forbidden, NotFound


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def page_blueprint(
    request: HttpRequest,
    blueprint_id: Any,
    roles: Collection[str] | None = None,
    *,
    doing: str = "do this",
    counts: bool = False,
) -> Blueprint:
    """``member_blueprint`` for the caller of a page: a non-member gets the 404 page
    (``Http404``), a role that may not ``doing`` the 403 page (``PermissionDenied``)."""
    try:
        return member_blueprint(request.user, blueprint_id, roles, doing=doing, counts=counts)
    except (NotFound, Forbidden) as exc:
        raise page_refusal(exc) from None


def raise_if_access(exc: BlueprintError) -> None:
    """A refusal about access (``Forbidden``, or ``NotFound`` naming the blueprint) is the 403 or
    404 page, never an error beside a form's field; any other refusal is left to the caller."""
    if isinstance(exc, Forbidden) or (isinstance(exc, NotFound) and "blueprint" in exc.problems):
        raise page_refusal(exc)


def page_refusal(exc: BlueprintError) -> Exception:
    """The 403 or 404 page for a refusal about access (``Forbidden``, ``NotFound``)."""
    text = " ".join(message for found in exc.problems.values() for message in found)
    return PermissionDenied(text) if isinstance(exc, Forbidden) else Http404(text)
