"""The exports in the app: the "Blueprint" diagram page, the spec as a page, and the import form.

Thin views over ``blueprint.exports``: any member may look at the diagram and the spec of any
version (``?version=n|draft``; absent: the live version, the draft while none is approved); the
downloads are the API's ``export/`` links (``templates/exports/_export_menu.html``). Importing
makes a new blueprint owned by the person, so it needs only a login.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from blueprint.exports.diagram import (
    INSTALL_HINT,
    DiagramFailed,
    diagram_dot,
    diagram_render,
    graphviz_available,
    svg_inline,
)
from blueprint.exports.formats import spec_of
from blueprint.exports.selectors import export_choices, export_subject, parse_version
from blueprint.exports.subject import ExportSubject
from blueprint.json_input import JsonProblem, check_storable
from blueprint.models import Blueprint
from blueprint.services import blueprint_import
from blueprint.views import HtmxHttpRequest, page_blueprint
from decisioning.errors import BlueprintError
from decisioning.limits import LIMITS, MIB, for_people
from decisioning.words import path_words

MAX_UPLOAD = LIMITS.import_body_bytes  # bytes of an uploaded export


def _subject(request: HtmxHttpRequest, blueprint: Blueprint) -> tuple[ExportSubject | None, Any, str, int]:
    """The subject the ``version`` parameter names, or None with the problem to show and its status
    (400 for a malformed version, 404 for one that does not exist)."""
    raw = request.GET.get("version", "")
    try:
        version = parse_version(raw)
        return export_subject(blueprint, version=version), version, "", 200
    except BlueprintError as exc:
        return None, raw, " ".join(m for found in exc.problems.values() for m in found), exc.status


def _page_context(
    blueprint: Blueprint, version: Any, subject: ExportSubject | None, problem: str
) -> dict[str, Any]:
    return {
        "blueprint": blueprint,
        "subject": subject,
        "problem": problem,
        # the menu's links name what is shown: a version number or "draft" (never "live", which moves)
        "version_param": ""
        if subject is None
        else ("draft" if subject.is_draft else subject.version["number"]),
        "picked": "" if version is None else str(version),
        "choices": export_choices(blueprint),
    }


@login_required
@require_GET
def diagram_page(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    subject, version, problem, status = _subject(request, blueprint)
    context = _page_context(blueprint, version, subject, problem)
    context["diagram_url"] = reverse("diagram", args=[blueprint.pk])
    context["spec_url"] = reverse("spec", args=[blueprint.pk])
    if subject is not None:
        dot = diagram_dot(subject)
        context["graphviz_missing"] = not graphviz_available()
        context["install_hint"] = INSTALL_HINT
        if not context["graphviz_missing"]:
            try:
                context["svg"] = svg_inline(diagram_render(dot, "svg"))
            except DiagramFailed as exc:
                context["diagram_error"] = exc.message
        findings = subject.lint
        context["counts"] = {
            "error": len(findings.errors),
            "warning": len(findings.warnings),
            "info": len(findings.infos),
        }
    return render(request, "exports/diagram.html", context, status=status)


@login_required
@require_GET
def spec_page(request: HtmxHttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = page_blueprint(request, blueprint_id)
    subject, version, problem, status = _subject(request, blueprint)
    context = _page_context(blueprint, version, subject, problem)
    context["spec_url"] = reverse("spec", args=[blueprint.pk])
    context["diagram_url"] = reverse("diagram", args=[blueprint.pk])
    if subject is not None:
        context["spec"] = spec_of(subject)
    return render(request, "exports/spec_page.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HtmxHttpRequest) -> HttpResponse:
    """Upload (or paste) a JSON export; a new blueprint opens, or the form comes back with every
    problem, said where it is in words (422), and nothing is created."""
    if request.method == "GET":
        return render(request, "exports/import.html", {"errors": {}, "pasted": ""})
    # pasted text is a form field, held to json_body_bytes by Django; a file to import_body_bytes
    upload = request.FILES.get("file")
    pasted = request.POST.get("json", "")
    errors: dict[str, list[str]] = {}
    data: Any = None
    text = ""
    if upload is not None:
        if upload.size is not None and upload.size > MAX_UPLOAD:
            errors["file"] = [
                f"The file is larger than {MAX_UPLOAD // MIB} MB, the most an import may be; "
                "a JSON export of a blueprint is smaller."
            ]
        else:
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                errors["file"] = ["The file is not UTF-8 text; choose the .json file Blueprint exported."]
    elif pasted.strip():
        text = pasted
    else:
        errors["file"] = ["Choose a JSON export of a blueprint, or paste one below."]
    if not errors:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            errors["file" if upload is not None else "json"] = [f"This is not valid JSON: {str(exc)[:200]}"]
    if not errors:
        try:
            check_storable(data)  # what the API's parser refuses too: deep nesting, NUL, lone surrogates
        except JsonProblem as exc:
            errors[exc.path or "body"] = [exc.message]
    if not errors:
        try:
            created = blueprint_import(actor=request.user, data=data)
        except BlueprintError as exc:
            errors = {path: [for_people(m) for m in messages] for path, messages in exc.problems.items()}
        else:
            return HttpResponseRedirect(reverse("board", args=[created.pk]))
    # where each problem is, in words and by the names the file gives ("stage 'Retention', offer
    # 'Gold card', first condition of group 1"): the API names it by its path
    problems = [
        (path_words(path, data) if path not in ("file", "json", "body") else "", messages)
        for path, messages in errors.items()
    ]
    return render(
        request,
        "exports/import.html",
        {"errors": errors, "problems": problems, "pasted": pasted if upload is None else ""},
        status=422,
    )
