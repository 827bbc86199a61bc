"""The version pages: the history of a blueprint's published versions, the review page of one
(read-only board, its changes against the live version or any other, its lint, approve / reject
for those allowed, restore for editors), the draft's unpublished changes, the board's version
badge and Publish form, and the member's notifications.

Thin like the other pages: resolve the blueprint for a member (404 for anyone else), call a service
or a selector, render. A refused htmx form comes back re-rendered with its problems as 422 (which
static/js/app.js swaps in place); a refused plain POST redirects with the problem as a message.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from blueprint.board_context import BoardContext
from blueprint.lint_panel import lint_panel
from blueprint.models import EDIT_ROLES, Blueprint, Role, Version
from blueprint.selectors import (
    memberships_of,
    version_get,
    version_live,
    versions_of,
)
from blueprint.services import (
    notifications_mark_read,
    role_check,
    version_approve,
    version_publish,
    version_reject,
    version_restore,
)
from blueprint.version_selectors import (
    draft_changes,
    notifications_for,
    review_state,
    snapshot_board,
    snapshot_lint,
    version_badge_of,
    version_comparison,
    versions_with_approvals,
)
from blueprint.views import HtmxHttpRequest, page_blueprint, page_refusal, raise_if_access
from decisioning.errors import BlueprintError, Forbidden

PARTS = "blueprint/version_parts.html"
REVIEW_ROLES = frozenset({Role.OWNER, Role.APPROVER})


def _role(blueprint: Blueprint) -> str:
    return str(getattr(blueprint, "role", ""))


def _version_or_404(blueprint: Blueprint, number: int) -> Version:
    version = version_get(blueprint.pk, number)
    if version is None:
        raise Http404(f"This blueprint has no version {number}.")
    return version


def _role_check(blueprint: Blueprint, roles: Collection[str], doing: str) -> None:
    """The role's 403 page, after the version's 404 (so a viewer learns which versions exist)."""
    try:
        role_check(blueprint, roles, doing)
    except Forbidden as exc:
        raise page_refusal(exc) from None


def _plainly(exc: BlueprintError) -> str:
    return " ".join(message for found in exc.problems.values() for message in found)


# --- The history -------------------------------------------------------------------------------------


@login_required
@require_GET
def version_list(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    versions = versions_with_approvals(blueprint.pk)
    live = next((v for v in versions if v.status == Version.Status.APPROVED), None)
    context: dict[str, Any] = {
        "blueprint": blueprint,
        "versions": versions,
        "live": live,
        "badge": version_badge_of(blueprint),
        "can_edit": _role(blueprint) in EDIT_ROLES,
        "publish": {},
    }
    return render(request, "blueprint/versions.html", context)


# --- Publishing (from the board or the history) --------------------------------------------------------


@login_required
@require_POST
def version_publish_view(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    note = request.POST.get("note", "")
    try:
        version = version_publish(blueprint_id=blueprint.pk, actor=request.user, note=note)
    except BlueprintError as exc:
        raise_if_access(exc)
        if not request.htmx:
            messages.error(request, f"Not published: {_plainly(exc)}")
            return HttpResponseRedirect(reverse("board", args=[blueprint.pk]))
        state = {
            "note": note,
            "lint": exc.problems.get("lint", []),
            "errors": [m for name, found in exc.problems.items() if name != "lint" for m in found],
        }
        context = {"blueprint": blueprint, "publish": state, "can_edit": True}
        return render(request, f"{PARTS}#publish_form", context, status=422)
    url = reverse("version", args=[blueprint.pk, version.number])
    if not request.htmx:
        messages.success(request, f"Published version {version.number}; it awaits review.")
        return HttpResponseRedirect(url)
    context = {
        "blueprint": blueprint,
        "publish": {"done": version, "reviewers": _reviewer_names(blueprint, request.user)},
        "can_edit": True,
    }
    html = render_to_string(f"{PARTS}#publish_form", context, request=request)
    badge = render_to_string(
        f"{PARTS}#version_badge",
        {"badge": version_badge_of(blueprint), "oob": True},  # publishing leaves rev as it was
        request=request,
    )
    return HttpResponse(html + badge)


def _reviewer_names(blueprint: Blueprint, author: Any) -> list[str]:
    return [
        m.user.get_username()
        for m in memberships_of(blueprint)
        if m.role in REVIEW_ROLES and m.user_id != author.pk
    ]


@login_required
@require_GET
def version_badge_view(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    """The board's version badge as it is now (static/js/versions.js fetches it after edits)."""
    blueprint = page_blueprint(request, blueprint_id)
    return render(request, f"{PARTS}#version_badge", {"badge": version_badge_of(blueprint)})


# --- The review page ---------------------------------------------------------------------------------


def _against(request: HtmxHttpRequest) -> str | int:
    """The page's ?against= (live, draft or a number); anything else compares with the live one."""
    raw = request.GET.get("against", "live")
    if raw in ("live", "draft"):
        return raw
    if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 9 and int(raw) > 0:
        return int(raw)
    return "live"


def _review_context(
    request: HtmxHttpRequest, blueprint: Blueprint, version: Version, **extra: Any
) -> dict[str, Any]:
    against = _against(request)
    comparison = version_comparison(blueprint, version, against)
    if comparison is None:  # a version that does not exist: compare with the live one instead
        against = "live"
        comparison = version_comparison(blueprint, version, against)
    assert comparison is not None
    board = snapshot_board(version.snapshot, blueprint_id=blueprint.pk)
    board.blueprint.role = Role.VIEWER  # type: ignore[attr-defined]  # the partials draw it read-only
    columns = BoardContext(None, board.blueprint, board).columns
    live = version_live(blueprint.pk)
    role = _role(blueprint)
    others = [v for v in versions_of(blueprint.pk) if v.number != version.number]
    return {
        "blueprint": blueprint,
        "version": version,
        "live": live,
        "is_live": live is not None and live.number == version.number,
        "review": review_state(version, request.user, role),
        "comparison": comparison,
        "against": str(against),
        "others": others,
        "lint": lint_panel(snapshot_lint(version.snapshot), board),
        "columns": columns,
        "can_edit": False,  # the version's board is read-only for everyone
        "can_restore": role in EDIT_ROLES,
        "base": "",
        "comment": "",
        "errors": {},
        **extra,
    }


@login_required
@require_GET
def version_page(request: HtmxHttpRequest, blueprint_id: int, number: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    version = _version_or_404(blueprint, number)
    notifications_mark_read(user=request.user, version=version)  # the notice has been seen
    return render(request, "blueprint/version.html", _review_context(request, blueprint, version))


@login_required
@require_POST
def version_decide(request: HtmxHttpRequest, blueprint_id: int, number: int, decision: str) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    version = _version_or_404(blueprint, number)
    _role_check(blueprint, REVIEW_ROLES, "decide on versions")
    comment = request.POST.get("comment", "")
    decide = version_approve if decision == "approve" else version_reject
    try:
        decided = decide(
            blueprint_id=blueprint.pk, number=version.number, actor=request.user, comment=comment
        )
    except BlueprintError as exc:
        raise_if_access(exc)
        url = reverse("version", args=[blueprint.pk, version.number])
        if not request.htmx:
            messages.error(request, _plainly(exc))
            return HttpResponseRedirect(url)
        errors = (
            {"comment": exc.problems["comment"]} if "comment" in exc.problems else {"form": [_plainly(exc)]}
        )
        fresh = _version_or_404(blueprint, number)
        context = _review_context(request, blueprint, fresh, comment=comment, errors=errors)
        return render(request, "blueprint/version.html#review_panel", context, status=422)
    if decided.status == Version.Status.APPROVED:
        note = f"You approved version {decided.number}: it is live now."
    elif decided.status == Version.Status.REJECTED:
        note = f"You rejected version {decided.number}; its author has been told."
    else:
        note = f"You approved version {decided.number}; it needs more approvals to go live."
    messages.success(request, note)
    url = reverse("version", args=[blueprint.pk, decided.number])
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)


@login_required
@require_POST
def version_restore_view(request: HtmxHttpRequest, blueprint_id: int, number: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    version = _version_or_404(blueprint, number)
    _role_check(blueprint, EDIT_ROLES, "change the draft")
    board_url = reverse("board", args=[blueprint.pk])
    try:
        result = version_restore(blueprint_id=blueprint.pk, number=version.number, actor=request.user)
    except BlueprintError as exc:
        raise_if_access(exc)
        messages.error(request, f"Not restored: {_plainly(exc)}")
        url = reverse("version", args=[blueprint.pk, version.number])
        return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)
    (messages.success if result.done else messages.info)(request, result.message)
    return HttpResponseClientRedirect(board_url) if request.htmx else HttpResponseRedirect(board_url)


# --- The draft's unpublished changes -------------------------------------------------------------------


@login_required
@require_GET
def draft_changes_view(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    live, diff = draft_changes(blueprint)
    context: dict[str, Any] = {
        "blueprint": blueprint,
        "live": live,
        "badge": version_badge_of(blueprint),
        "diff": diff,
        "can_edit": _role(blueprint) in EDIT_ROLES,
        "publish": {},
    }
    return render(request, "blueprint/draft_changes.html", context)


# --- Notifications -----------------------------------------------------------------------------------


@login_required
@require_GET
def notifications_page(request: HtmxHttpRequest) -> HttpResponse:
    """The member's notices, newest first; those unread are marked as new once, then read (a notice
    whose version was decided since is done, never new)."""
    notices = notifications_for(request.user)
    unread = [n.pk for n in notices if n.read_at is None]
    new = {n.pk for n in notices if n.read_at is None and not n.done}  # type: ignore[attr-defined]
    response = render(request, "blueprint/notifications.html", {"notices": notices, "unread": new})
    if unread:
        notifications_mark_read(user=request.user, ids=unread)
    return response
