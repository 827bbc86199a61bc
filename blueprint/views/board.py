"""The board page and its form endpoints.

Every view is thin: check the member's role, shape the posted form into an operation payload
(``blueprint.forms``), call ``operation_apply``. The change itself reaches every tab, this one
included, as the operation's live frame (``blueprint.live``): a form's answer says only what the
form needs. Saved: 204, with the operation's rev in ``Blueprint-Saved-Rev`` (absent when nothing
changed), and the page closes the form once it shows that rev. Refused for its content: the form
again with its errors, as 422, which ``static/js/app.js`` lets htmx swap in place. Any other
refusal: a short text/plain message with its 4xx status, shown as a toast.

The GET views draw the forms (and the condition editor's rows) from named partials of
``templates/blueprint/board.html``; the board page draws the whole board.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from blueprint.board_context import TEMPLATE, BoardContext
from blueprint.forms import (
    ROW_ID_RE,
    ConditionEditor,
    ConditionRow,
    OfferForm,
    StageForm,
    clean_id,
    new_id,
    replaced_groups,
)
from blueprint.models import EDIT_ROLES, Blueprint, Operation
from blueprint.selectors import operations_recent
from blueprint.services import member_blueprint, operation_apply
from blueprint.version_selectors import version_badge
from blueprint.views import HtmxHttpRequest, page_blueprint
from decisioning.errors import BlueprintError, Forbidden, InvalidInput, NotFound
from decisioning.limits import LIMITS, for_people

P = ParamSpec("P")
INVALID_FORM = 422  # htmx swaps this one in place (app.js); every other 4xx becomes a toast


# --- Access -----------------------------------------------------------------------------------

SAVED_REV_HEADER = "Blueprint-Saved-Rev"

BoardView = Callable[Concatenate[HtmxHttpRequest, Blueprint, P], HttpResponseBase]


def board_member(*, edit: bool) -> Callable[[BoardView[P]], Callable[..., HttpResponseBase]]:
    """Resolve the blueprint for a member (404 for anyone else); ``edit`` asks for owner/editor (403).

    A logged-out htmx request is sent to the log-in page instead of having it swapped into the board.
    """

    def decorate(view: BoardView[P]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(
            request: HtmxHttpRequest, blueprint_id: int, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                login = f"{reverse('login')}?next={reverse('board', args=[blueprint_id])}"
                return HttpResponseClientRedirect(login)
            try:
                blueprint = member_blueprint(
                    request.user, blueprint_id, EDIT_ROLES if edit else None, doing="change this board"
                )
            except (NotFound, Forbidden) as exc:
                return _error(exc)
            return view(request, blueprint, *args, **kwargs)

        return wrapper

    return decorate


def _refusal(message: str, status: int) -> HttpResponse:
    """What a failed htmx request shows: app.js puts a text/plain body in a toast."""
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _apply(
    request: HtmxHttpRequest, blueprint: Blueprint, op_type: str, payload: dict[str, Any]
) -> HttpResponse:
    """``operation_apply`` as the member; the answer to a saved form (see the module's docstring)."""
    record = operation_apply(
        blueprint_id=blueprint.pk,
        actor=request.user,
        op_type=op_type,
        payload=payload,
        # a form re-posted after a lost connection carries the same id, so it applies once
        client_id=request.POST.get("client_id", "")[: LIMITS.client_id_length],
    )
    return _saved(request, blueprint, record)


def _saved(request: HtmxHttpRequest, blueprint: Blueprint, record: Operation | None) -> HttpResponse:
    """Saved (``record`` None: nothing to change). A form posted without htmx (no script) is sent
    back to the board, which the page then draws as it is."""
    if not request.htmx:
        return HttpResponseRedirect(reverse("board", args=[blueprint.pk]), status=303)
    response = HttpResponse(status=204)
    if record is not None:
        response.headers[SAVED_REV_HEADER] = str(record.rev)
    return response


def _error(exc: BlueprintError) -> HttpResponse:
    # a toast reads better without the field paths and limit names that the API shows
    return _refusal(
        " ".join(for_people(m) for messages in exc.problems.values() for m in messages), exc.status
    )


# --- The page ---------------------------------------------------------------------------------


@login_required
@require_GET
def board_page(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    ctx = BoardContext(request, blueprint)
    activity = operations_recent(blueprint.pk)
    return render(
        request,
        TEMPLATE,
        ctx.data(
            columns=ctx.columns,
            board=ctx.board,
            activity=activity,
            lint=ctx.lint,
            live_timings=json.dumps(settings.LIVE_TIMINGS),
            badge=version_badge(ctx.board),  # published versions (views/versions.py)
        ),
    )


# --- Stages -----------------------------------------------------------------------------------


@require_GET
@board_member(edit=True)
def stage_new_form(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    return BoardContext(request, blueprint).render("stage_form", form=StageForm(), stage=None)


@require_POST
@board_member(edit=True)
def stage_create(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    form = StageForm.from_post(request.POST)
    try:
        return _apply(request, blueprint, "stage.create", form.payload())
    except InvalidInput as exc:
        form.show_problems(exc.problems)
        return BoardContext(request, blueprint).render("stage_form", INVALID_FORM, form=form, stage=None)
    except BlueprintError as exc:
        return _error(exc)


@require_GET
@board_member(edit=True)
def stage_edit_form(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    ctx = BoardContext(request, blueprint)
    column = ctx.column(key)
    return ctx.render(
        "stage_form",
        form=StageForm.from_stage(column.stage, ctx.board.catalog),
        stage=column.stage,
        column=column,
    )


@require_POST
@board_member(edit=True)
def stage_update(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    form = StageForm.from_post(request.POST)
    changes = form.changes()
    if not changes:
        return _saved(request, blueprint, None)
    try:
        return _apply(request, blueprint, "stage.update", {"key": key, **changes})
    except InvalidInput as exc:
        ctx = BoardContext(request, blueprint)
        column = ctx.column(key)
        form.show_problems(exc.problems)
        return ctx.render("stage_form", INVALID_FORM, form=form, stage=column.stage, column=column)
    except BlueprintError as exc:
        return _error(exc)


@require_POST
@board_member(edit=True)
def stage_delete(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    try:
        return _apply(request, blueprint, "stage.delete", {"key": key})
    except BlueprintError as exc:
        return _error(exc)


# --- The blueprint's own settings --------------------------------------------------------------


@require_POST
@board_member(edit=True)
def stage_mode_update(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    """How stages relate: "one" (each customer in the first stage whose entry holds) or "several"."""
    try:
        return _apply(
            request, blueprint, "blueprint.update", {"stage_mode": request.POST.get("stage_mode", "")}
        )
    except BlueprintError as exc:
        return _error(exc)


# --- Offers -----------------------------------------------------------------------------------


@require_GET
@board_member(edit=True)
def offer_new_form(request: HtmxHttpRequest, blueprint: Blueprint, stage_key: str) -> HttpResponse:
    ctx = BoardContext(request, blueprint)
    return ctx.render("offer_form", form=OfferForm(), offer=None, column=ctx.column(stage_key))


@require_POST
@board_member(edit=True)
def offer_create(request: HtmxHttpRequest, blueprint: Blueprint, stage_key: str) -> HttpResponse:
    form = OfferForm.from_post(request.POST)
    try:
        return _apply(request, blueprint, "offer.create", {"stage": stage_key, **form.payload()})
    except InvalidInput as exc:
        ctx = BoardContext(request, blueprint)
        form.show_problems(exc.problems)
        return ctx.render("offer_form", INVALID_FORM, form=form, offer=None, column=ctx.column(stage_key))
    except BlueprintError as exc:
        return _error(exc)


@require_GET
@board_member(edit=True)
def offer_edit_form(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    ctx = BoardContext(request, blueprint)
    column, card = ctx.card(key)
    return ctx.render(
        "offer_form",
        form=OfferForm.from_offer(card.offer, ctx.board.catalog),
        offer=card.offer,
        column=column,
    )


@require_POST
@board_member(edit=True)
def offer_update(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    form = OfferForm.from_post(request.POST)
    changes = form.changes()
    if not changes:
        return _saved(request, blueprint, None)
    try:
        return _apply(request, blueprint, "offer.update", {"key": key, **changes})
    except InvalidInput as exc:
        ctx = BoardContext(request, blueprint)
        column, card = ctx.card(key)
        form.show_problems(exc.problems)
        return ctx.render("offer_form", INVALID_FORM, form=form, offer=card.offer, column=column)
    except BlueprintError as exc:
        return _error(exc)


@require_POST
@board_member(edit=True)
def offer_delete(request: HtmxHttpRequest, blueprint: Blueprint, key: str) -> HttpResponse:
    try:
        return _apply(request, blueprint, "offer.delete", {"key": key})
    except BlueprintError as exc:
        return _error(exc)


# --- The condition editor ---------------------------------------------------------------------


@require_GET
@board_member(edit=True)
def condition_row(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    """One row again, after its attribute or operator changed (or a new, empty one)."""
    rid = request.GET.get("cond", "")
    field = "entry" if request.GET.get("field") == "entry" else "groups"
    ctx = BoardContext(request, blueprint)
    if ROW_ID_RE.fullmatch(rid):
        row = ConditionRow.from_query(request.GET, rid)
        changed = request.GET.get("changed") == "attribute"
        row.adapt_to(ctx.board.catalog.get(row.attribute), attribute_changed=changed)
    else:
        row = ConditionRow(rid=new_id(), group=clean_id(request.GET.get("group")))
    return ctx.render("condition_row", form=_RowForm(field, [row]), row=row)


@require_GET
@board_member(edit=True)
def condition_group(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    """A new "or" group holding one empty row."""
    field = "entry" if request.GET.get("field") == "entry" else "groups"
    gid = new_id()
    row = ConditionRow(rid=new_id(), group=gid)
    form = _RowForm(field, [row])
    ctx = BoardContext(request, blueprint)
    return ctx.render("condition_group", form=form, group=form.editor.groups[0])


@require_GET
@board_member(edit=True)
def condition_hint(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    """The row's hint while its value is typed: the positive ways to say a negative ("not Paris")."""
    rid = request.GET.get("cond", "")
    field = "entry" if request.GET.get("field") == "entry" else "groups"
    ctx = BoardContext(request, blueprint)
    if not ROW_ID_RE.fullmatch(rid):
        return HttpResponse("")
    row = ConditionRow.from_query(request.GET, rid)
    return ctx.render("condition_hint", form=_RowForm(field, [row]), row=row)


@require_GET
@board_member(edit=True)
def condition_pick(request: HtmxHttpRequest, blueprint: Blueprint) -> HttpResponse:
    """A row's negative replaced by the positive way to say it the person picked: the row's group
    again, the row replaced by the alternative's first group of conditions, and for each further
    group of it a copy of the group beside it (groups are "or": either lets a customer in)."""
    field = "entry" if request.GET.get("field") == "entry" else "groups"
    ctx = BoardContext(request, blueprint)
    editor = ConditionEditor.from_query(field, request.GET)
    editor.bind(ctx.board.catalog)
    rid, pick = request.GET.get("pick_row", ""), request.GET.get("pick", "")
    row = next((r for r in editor.rows if r.rid == rid), None)
    alternatives = row.rephrasing.as_json() if row is not None and row.rephrasing is not None else []
    if row is None or not pick.isdigit() or int(pick) >= len(alternatives):
        return _error(InvalidInput("This condition has no positive form to pick any more; choose again."))
    groups = replaced_groups(editor.rows, row, alternatives[int(pick)]["groups"])
    form = _RowForm(field, [r for g in groups for r in g.rows])
    return HttpResponse("".join(ctx.render_string("condition_group", form=form, group=g) for g in groups))


@dataclass
class _RowForm:
    """Just enough of a form for the editor partials to draw rows outside a whole form."""

    field: str
    rows: list[ConditionRow]

    @functools.cached_property
    def editor(self) -> ConditionEditor:
        return ConditionEditor(name=self.field, rows=self.rows)
