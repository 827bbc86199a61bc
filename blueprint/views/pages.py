"""The pages around the board: the list of blueprints, the attribute catalog and the members.

Views are thin: check the caller's role, parse the form, call a service, render. Every POST
answers an htmx request with the named partial it replaces and a plain request with a redirect
(success) or the whole page (errors), so nothing depends on JavaScript and no input causes a 500.
A refused htmx request gets its partial with status 422, which static/js/app.js tells htmx to swap
like a success (the board does the same); a plain request gets the service's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from blueprint.forms import changed_fields, form_as_shown, shown_json
from blueprint.models import EDIT_ROLES, Attribute, Blueprint, Membership, Role
from blueprint.selectors import (
    Board,
    StageUsage,
    attribute_usages,
    blueprint_for_user,
    blueprints_listed,
    board_load,
    memberships_of,
)
from blueprint.services import (
    blueprint_create,
    blueprint_delete,
    blueprint_duplicate,
    blueprint_policy_set,
    membership_remove,
    membership_set,
    operation_apply,
)
from blueprint.views import HtmxHttpRequest, page_blueprint, raise_if_access
from decisioning.conditions import KINDS, TYPES
from decisioning.errors import BlueprintError
from decisioning.limits import for_people

# --- Shared pieces ----------------------------------------------------------------------------


@dataclass
class FormState:
    """What a form shows: the values as typed and the service's problems keyed by field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    orig: str = ""  # an edit form's payload as first shown (forms.shown_json)

    def __post_init__(self) -> None:
        # a limit in words for people, without its name; one about no field of the form (how many
        # blueprints, members) above the form, without a field name either
        plain: dict[str, list[str]] = {}
        for name, found in self.errors.items():
            for message in found:
                said = for_people(message)
                about_no_field = said != message and name not in self.fields
                plain.setdefault("non_field_errors" if about_no_field else name, []).append(said)
        self.errors = plain

    @property
    def other_errors(self) -> list[str]:
        """Problems that no field of this form shows (a conflict, an unknown key)."""
        return [
            message if name == "non_field_errors" else f"{name}: {message}"
            for name, found in self.errors.items()
            if name not in self.fields
            for message in found
        ]


def _plainly(exc: BlueprintError) -> str:
    """The problems as sentences, without the field paths the API shows."""
    return " ".join(for_people(message) for found in exc.problems.values() for message in found)


def _respond(
    request: HtmxHttpRequest, template: str, partial: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """The partial for htmx, the whole page otherwise; a refusal (``status`` 4xx) is 422 for htmx."""
    if request.htmx:
        return render(request, f"{template}#{partial}", context, status=422 if status >= 400 else 200)
    return render(request, template, context, status=status)


def _text(data: Mapping[str, str], name: str) -> str:
    # browsers send a textarea's line breaks as CRLF; what the form showed has LF
    return data.get(name, "").replace("\r\n", "\n").strip()


def _split_list(raw: str, *, lines_first: bool) -> list[str]:
    """One value per line when there are several lines, otherwise comma-separated."""
    several_lines = lines_first and "\n" in raw.strip()
    parts = raw.splitlines() if several_lines else raw.replace("\n", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


def _edits(data: QueryDict, wanted: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The fields to send: those that differ from the form as it was shown (its ``orig`` field), so
    a field someone else changed meanwhile is kept. A form without a readable ``orig`` is compared
    with what it would show now, which writes the same as sending everything, without no-op writes."""
    return changed_fields(wanted, form_as_shown(data.get("orig")) or current)


# --- Blueprints list --------------------------------------------------------------------------

BLUEPRINT_FORM_FIELDS = ("name", "context", "channels", "description")
EDIT_FORM_FIELDS = (*BLUEPRINT_FORM_FIELDS, "approval_policy")


def _blueprint_form_values(blueprint: Blueprint | None = None) -> dict[str, str]:
    if blueprint is None:
        return {"name": "", "context": "", "channels": "", "description": ""}
    return {
        "name": blueprint.name,
        "context": blueprint.context,
        "channels": ", ".join(blueprint.channels),
        "description": blueprint.description,
    }


def _blueprint_payload(data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": _text(data, "name"),
        "context": _text(data, "context"),
        "channels": _split_list(data.get("channels", ""), lines_first=False),
        "description": _text(data, "description"),
    }


def _list_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "blueprints": blueprints_listed(request.user),  # lazy: a row's partial never reads it
        "new_form": FormState(_blueprint_form_values(), fields=BLUEPRINT_FORM_FIELDS),
        "edit_roles": EDIT_ROLES,
    }
    context.update(extra)
    return context


def _row(request: HtmxHttpRequest, blueprint: Blueprint, *, status: int = 200, **state: Any) -> HttpResponse:
    """One blueprint's row, in its plain, editing or confirming state."""
    context = _list_context(request, bp=blueprint, **state)
    return _respond(request, "blueprint/list.html", "blueprint-row", context, status=status)


def _list_outcome(request: HtmxHttpRequest, note: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    """What a whole-list action (duplicate, delete) answers: the refreshed list with the note for
    htmx, or back to the list with the note as a message for a plain POST."""
    if not request.htmx:
        (messages.success if status < 400 else messages.error)(request, note)
        return HttpResponseRedirect(reverse("blueprint_list"))
    said = {"list_note": note} if status < 400 else {"list_error": note}
    context = _list_context(request, **said, **extra)
    return _respond(request, "blueprint/list.html", "blueprint-list", context, status=status)


@login_required
@require_GET
def blueprint_list(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "blueprint/list.html", _list_context(request))


@login_required
@require_POST
def blueprint_create_view(request: HtmxHttpRequest) -> HttpResponse:
    payload = _blueprint_payload(request.POST)
    try:
        blueprint = blueprint_create(actor=request.user, **payload)
    except BlueprintError as exc:
        raise_if_access(exc)
        form = FormState(
            {f: request.POST.get(f, "") for f in BLUEPRINT_FORM_FIELDS}, exc.problems, BLUEPRINT_FORM_FIELDS
        )
        context = _list_context(request, new_form=form, creating=True)
        return _respond(request, "blueprint/list.html", "blueprint-new", context, status=exc.status)
    url = reverse("board", args=[blueprint.pk])
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)


@login_required
@require_GET
def blueprint_row(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    """The plain row again (what "Cancel" fetches)."""
    return _row(request, page_blueprint(request, blueprint_id, counts=True))


@login_required
@require_GET
def blueprint_edit(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit this blueprint", counts=True)
    values = _blueprint_form_values(blueprint)
    orig = shown_json(_blueprint_payload(values))
    values["approval_policy"] = str(blueprint.approval_policy)  # shown to owners (list.html)
    form = FormState(values, fields=EDIT_FORM_FIELDS, orig=orig)
    return _row(request, blueprint, editing_id=blueprint.pk, edit_form=form)


@login_required
@require_POST
def blueprint_update(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit this blueprint", counts=True)
    current = _blueprint_payload(_blueprint_form_values(blueprint))
    changes = _edits(request.POST, _blueprint_payload(request.POST), current)
    policy = _text(request.POST, "approval_policy")
    try:
        with transaction.atomic():
            # the approval policy is the owner's setting, not board content: its own service
            if policy and policy != str(blueprint.approval_policy):
                blueprint_policy_set(
                    actor=request.user,
                    blueprint_id=blueprint.pk,
                    approvals_needed=int(policy) if policy.isascii() and policy.isdigit() else policy,
                )
            if changes:
                operation_apply(
                    blueprint_id=blueprint.pk, actor=request.user, op_type="blueprint.update", payload=changes
                )
    except BlueprintError as exc:
        raise_if_access(exc)
        form = FormState(
            {f: request.POST.get(f, "") for f in EDIT_FORM_FIELDS},
            exc.problems,
            EDIT_FORM_FIELDS,
            orig=request.POST.get("orig", ""),
        )
        return _row(request, blueprint, status=exc.status, editing_id=blueprint.pk, edit_form=form)
    if not request.htmx:
        messages.success(request, "Saved the blueprint's details.")
        return HttpResponseRedirect(reverse("blueprint_list"))
    return _row(request, page_blueprint(request, blueprint_id, counts=True))


@login_required
@require_POST
def blueprint_duplicate_view(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    source = page_blueprint(request, blueprint_id)
    try:
        copy = blueprint_duplicate(actor=request.user, blueprint_id=source.pk)
    except BlueprintError as exc:
        raise_if_access(exc)
        return _list_outcome(request, f"Could not copy '{source.name}': {_plainly(exc)}", status=exc.status)
    return _list_outcome(request, f"Copied '{source.name}' as '{copy.name}'.", highlight_id=copy.pk)


@login_required
@require_GET
def blueprint_delete_confirm(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(
        request, blueprint_id, {Role.OWNER}, doing="delete this blueprint", counts=True
    )
    return _row(request, blueprint, confirming_id=blueprint.pk)


@login_required
@require_POST
def blueprint_delete_view(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, {Role.OWNER}, doing="delete this blueprint")
    try:
        blueprint_delete(actor=request.user, blueprint_id=blueprint.pk)
    except BlueprintError as exc:
        raise_if_access(exc)
        return _list_outcome(
            request, f"Could not delete '{blueprint.name}': {_plainly(exc)}", status=exc.status
        )
    return _list_outcome(request, f"Deleted '{blueprint.name}'.")


# --- Attribute catalog ------------------------------------------------------------------------

ATTRIBUTE_FORM_FIELDS = ("key", "label", "kind", "type", "choices", "unit", "description", "source")
KIND_HEADINGS = {
    "attribute": ("Attributes", "Who the customer is."),
    "behaviour": ("Behaviour", "What the customer did."),
    "context": ("Context", "Where and when the customer is now."),
}


@dataclass
class CatalogRow:
    attribute: Attribute
    used_by: list[StageUsage]


def _attribute_form_values(attribute: Attribute | None = None) -> dict[str, str]:
    if attribute is None:
        return {f: "" for f in ATTRIBUTE_FORM_FIELDS} | {"kind": "attribute", "type": "choice"}
    return {
        "key": attribute.key,
        "label": attribute.label,
        "kind": attribute.kind,
        "type": attribute.type,
        "choices": "\n".join(attribute.choices),
        "unit": attribute.unit,
        "description": attribute.description,
        "source": attribute.source,
    }


def _attribute_payload(data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "label": _text(data, "label"),
        "kind": _text(data, "kind"),
        "type": _text(data, "type"),
        "choices": _split_list(data.get("choices", ""), lines_first=True),
        "unit": _text(data, "unit"),
        "description": _text(data, "description"),
        "source": _text(data, "source"),
    }


def _typed(data: QueryDict) -> dict[str, str]:
    return {f: data.get(f, "") for f in ATTRIBUTE_FORM_FIELDS}


def _catalog_context(
    request: HtmxHttpRequest, blueprint: Blueprint, board: Board | None = None, **extra: Any
) -> dict[str, Any]:
    board = board or board_load(blueprint)
    usages = attribute_usages(board)
    rows = [
        CatalogRow(a, usages.get(a.key, []))
        for a in sorted(board.attributes, key=lambda a: (a.label.casefold(), a.key))
    ]
    groups = []
    for kind in KINDS:
        title, help_text = KIND_HEADINGS.get(kind, (kind.title(), ""))
        groups.append(
            {
                "kind": kind,
                "title": title,
                "help": help_text,
                "rows": [r for r in rows if r.attribute.kind == kind],
            }
        )
    context: dict[str, Any] = {
        "blueprint": blueprint,
        "groups": groups,
        "total": len(rows),
        "can_edit": getattr(blueprint, "role", None) in EDIT_ROLES,
        "kinds": KINDS,
        "types": TYPES,
        "new_form": FormState(_attribute_form_values(), fields=ATTRIBUTE_FORM_FIELDS),
    }
    context.update(extra)
    return context


def _catalog_row(board: Board, key: str) -> CatalogRow:
    attribute = next((a for a in board.attributes if a.key == key), None)
    if attribute is None:
        raise Http404("No such attribute.")
    return CatalogRow(attribute, attribute_usages(board).get(key, []))


def _catalog_answer(
    request: HtmxHttpRequest, blueprint: Blueprint, note: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """After a catalog change: the refreshed catalog (htmx) or back to the page (plain POST)."""
    if not request.htmx and status == 200:
        messages.success(request, note)
        return HttpResponseRedirect(reverse("catalog", args=[blueprint.pk]))
    context = _catalog_context(request, blueprint, catalog_note=note, **extra)
    return _respond(request, "blueprint/catalog.html", "catalog", context, status=status)


def _catalog_refused(
    request: HtmxHttpRequest, blueprint: Blueprint, message: str, status: int
) -> HttpResponse:
    """A refusal that belongs to no form field: above the catalog, or as a message after a redirect."""
    if not request.htmx:
        messages.error(request, message)
        return HttpResponseRedirect(reverse("catalog", args=[blueprint.pk]))
    context = _catalog_context(request, blueprint, catalog_error=message)
    return _respond(request, "blueprint/catalog.html", "catalog", context, status=status)


@login_required
@require_GET
def catalog(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    return render(request, "blueprint/catalog.html", _catalog_context(request, blueprint))


@login_required
@require_GET
def attribute_row(request: HtmxHttpRequest, blueprint_id: int, key: str) -> HttpResponse:
    """The plain row of one attribute (what "Cancel" fetches)."""
    blueprint = page_blueprint(request, blueprint_id)
    board = board_load(blueprint)
    context = _catalog_context(request, blueprint, board, row=_catalog_row(board, key))
    return _respond(request, "blueprint/catalog.html", "attribute", context)


@login_required
@require_GET
def attribute_edit(request: HtmxHttpRequest, blueprint_id: int, key: str) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit the catalog")
    board = board_load(blueprint)
    row = _catalog_row(board, key)
    values = _attribute_form_values(row.attribute)
    orig = shown_json(_attribute_payload(values))
    form = FormState(values, fields=ATTRIBUTE_FORM_FIELDS, orig=orig)
    context = _catalog_context(request, blueprint, board, row=row, editing_key=key, edit_form=form)
    return _respond(request, "blueprint/catalog.html", "attribute", context)


@login_required
@require_POST
def attribute_add(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit the catalog")
    payload = _attribute_payload(request.POST)
    key = _text(request.POST, "key")
    if key:  # blank: the service derives the key from the label
        payload["key"] = key
    try:
        record = operation_apply(
            blueprint_id=blueprint.pk, actor=request.user, op_type="attribute.create", payload=payload
        )
    except BlueprintError as exc:
        raise_if_access(exc)
        form = FormState(_typed(request.POST), exc.problems, ATTRIBUTE_FORM_FIELDS)
        return _catalog_answer(request, blueprint, "", status=exc.status, new_form=form, adding=True)
    label, new_key = record.payload.get("label", ""), record.payload.get("key", "")
    return _catalog_answer(request, blueprint, f"Added '{label}' ({new_key}).", adding=True)


@login_required
@require_POST
def attribute_update(request: HtmxHttpRequest, blueprint_id: int, key: str) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit the catalog")
    attribute = Attribute.objects.filter(blueprint=blueprint, key=key).first()
    if attribute is None:
        return _catalog_refused(
            request, blueprint, f"There is no attribute '{key}' any more; someone may have deleted it.", 404
        )
    wanted = _attribute_payload(request.POST)
    changes = _edits(request.POST, wanted, _attribute_payload(_attribute_form_values(attribute)))
    try:
        if changes:
            operation_apply(
                blueprint_id=blueprint.pk,
                actor=request.user,
                op_type="attribute.update",
                payload={"key": key, **changes},
            )
    except BlueprintError as exc:
        raise_if_access(exc)
        form = FormState(
            _typed(request.POST) | {"key": key},
            exc.problems,
            ATTRIBUTE_FORM_FIELDS,
            orig=request.POST.get("orig", ""),
        )
        return _catalog_answer(request, blueprint, "", status=exc.status, editing_key=key, edit_form=form)
    label = wanted["label"] or attribute.label
    note = f"Saved '{label}'." if changes else f"No changes to '{label}'."
    return _catalog_answer(request, blueprint, note)


@login_required
@require_POST
def attribute_delete(request: HtmxHttpRequest, blueprint_id: int, key: str) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, EDIT_ROLES, doing="edit the catalog")
    label = Attribute.objects.filter(blueprint=blueprint, key=key).values_list("label", flat=True).first()
    try:
        operation_apply(
            blueprint_id=blueprint.pk, actor=request.user, op_type="attribute.delete", payload={"key": key}
        )
    except BlueprintError as exc:
        raise_if_access(exc)
        if label is None or not request.htmx:  # no row to show the message under
            return _catalog_refused(request, blueprint, _plainly(exc), exc.status)
        context = _catalog_context(request, blueprint, error_key=key, row_error=_plainly(exc))
        return _respond(request, "blueprint/catalog.html", "catalog", context, status=exc.status)
    return _catalog_answer(request, blueprint, f"Deleted '{label or key}'.")


# --- Members ----------------------------------------------------------------------------------


def _members_context(request: HtmxHttpRequest, blueprint: Blueprint, **extra: Any) -> dict[str, Any]:
    memberships = memberships_of(blueprint)
    context: dict[str, Any] = {
        "blueprint": blueprint,
        "memberships": memberships,
        "roles": Role.choices,
        "is_owner": getattr(blueprint, "role", None) == Role.OWNER,
        "new_form": FormState({"username": "", "role": Role.EDITOR}, fields=("username", "role")),
    }
    context.update(extra)
    return context


def _members_answer(
    request: HtmxHttpRequest, blueprint_id: int, note: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """After a members change: the refreshed list, or the blueprints list if the caller left."""
    blueprint = blueprint_for_user(request.user, blueprint_id)
    if blueprint is None:  # the caller removed themselves
        if request.htmx:
            return HttpResponseClientRedirect(reverse("blueprint_list"))
        messages.success(request, note)
        return HttpResponseRedirect(reverse("blueprint_list"))
    if not request.htmx and status == 200:
        messages.success(request, note)
        return HttpResponseRedirect(reverse("members", args=[blueprint.pk]))
    context = _members_context(request, blueprint, members_note=note, **extra)
    return _respond(request, "blueprint/members.html", "members", context, status=status)


def _membership(blueprint: Blueprint, membership_id: int) -> Membership | None:
    return Membership.objects.filter(blueprint=blueprint, pk=membership_id).select_related("user").first()


@login_required
@require_GET
def members(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    return render(request, "blueprint/members.html", _members_context(request, blueprint))


@login_required
@require_POST
def member_add(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, {Role.OWNER}, doing="manage members")
    username, role = _text(request.POST, "username"), _text(request.POST, "role")
    try:
        membership = membership_set(
            actor=request.user, blueprint_id=blueprint.pk, username=username, role=role
        )
    except BlueprintError as exc:
        raise_if_access(exc)
        form = FormState({"username": username, "role": role}, exc.problems, ("username", "role"))
        return _members_answer(request, blueprint.pk, "", status=exc.status, new_form=form)
    name = membership.user.get_username()
    return _members_answer(request, blueprint.pk, f"{name} is now {membership.role} of this blueprint.")


@login_required
@require_POST
def member_role(request: HtmxHttpRequest, blueprint_id: int, membership_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, {Role.OWNER}, doing="manage members")
    membership = _membership(blueprint, membership_id)
    if membership is None:
        return _members_answer(request, blueprint.pk, "That person is no longer a member.")
    name, role = membership.user.get_username(), _text(request.POST, "role")
    try:
        membership_set(actor=request.user, blueprint_id=blueprint.pk, username=name, role=role)
    except BlueprintError as exc:
        raise_if_access(exc)
        return _members_row_error(request, blueprint, membership, exc)
    return _members_answer(request, blueprint.pk, f"{name} is now {role}.")


@login_required
@require_POST
def member_remove(request: HtmxHttpRequest, blueprint_id: int, membership_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id, {Role.OWNER}, doing="manage members")
    membership = _membership(blueprint, membership_id)
    if membership is None:
        return _members_answer(request, blueprint.pk, "That person is no longer a member.")
    name = membership.user.get_username()
    try:
        membership_remove(actor=request.user, blueprint_id=blueprint.pk, username=name)
    except BlueprintError as exc:
        raise_if_access(exc)
        return _members_row_error(request, blueprint, membership, exc)
    return _members_answer(request, blueprint.pk, f"Removed {name} from this blueprint.")


def _members_row_error(
    request: HtmxHttpRequest, blueprint: Blueprint, membership: Membership, exc: BlueprintError
) -> HttpResponse:
    if not request.htmx:
        messages.error(request, _plainly(exc))
        return HttpResponseRedirect(reverse("members", args=[blueprint.pk]))
    context = _members_context(request, blueprint, error_id=membership.pk, row_error=_plainly(exc))
    return _respond(request, "blueprint/members.html", "members", context, status=exc.status)
