"""The simulator and coverage pages (``/blueprints/<id>/simulator/``, ``/blueprints/<id>/coverage/``).

Thin function views: resolve the member's blueprint, read the form, ask the engine
(``decisioning.engine`` through ``decisioning.selectors``) and render a named partial of
``templates/decisioning/``. A form the engine refuses comes back as 422 with its fields' errors,
like the board's forms; nothing is stored.

The simulator's form is built from the catalog of the version chosen: one widget per type, every
value a text as a CSV cell would be (so the engine's CSV reading is the one parser), and the
profile also arrives as JSON in the query (``?profile=``), which is how the lint's example
customers open here.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import replace_url

from blueprint.json_input import TOO_DEEP, JsonProblem, loads
from blueprint.models import EDIT_ROLES, Blueprint
from blueprint.views import page_blueprint
from decisioning.batch import file_coverage, file_format
from decisioning.conditions import AttributeSpec
from decisioning.duckdb_run import BatchError, temporary_path
from decisioning.engine import CompiledVersion
from decisioning.errors import BlueprintError, Conflict
from decisioning.model import StageSpec
from decisioning.outcomes import ConditionOutcome, Decision, GroupOutcome, StageDecision, value_json
from decisioning.profiles import SET_SEPARATOR, ProfileProblems
from decisioning.selectors import (
    LIVE,
    batch_max_bytes,
    decision_day,
    decision_version,
    version_choice,
    version_label,
    version_options,
)
from decisioning.words import value_words

INVALID_FORM = 422
TEMPLATE = "decisioning/simulator.html"
COVERAGE_TEMPLATE = "decisioning/coverage.html"
FIELD_PREFIX = "p-"


def _default_version(options: list[dict[str, Any]]) -> str:
    return options[0]["value"] if options else LIVE


# --- The simulator's form -----------------------------------------------------------------------


@dataclass
class ProfileField:
    attr: AttributeSpec
    value: str  # the cell: "42", "yes", "2025-06-01", "a|b", ""
    error: str = ""

    @property
    def name(self) -> str:
        return FIELD_PREFIX + self.attr.key

    @property
    def id(self) -> str:
        return "sim-" + self.attr.key

    @property
    def widget(self) -> str:
        if self.attr.type == "set":
            return "checkboxes" if self.attr.choices else "text"
        if self.attr.type == "choice" and self.attr.choices:
            return "select"
        return {"number": "number", "date": "date", "boolean": "yesno"}.get(self.attr.type, "text")

    @property
    def elements(self) -> list[str]:
        return [e.strip() for e in self.value.split(SET_SEPARATOR) if e.strip()]

    @property
    def strangers(self) -> list[str]:
        """Values given that are not choices of the attribute: shown, marked, so they can be fixed."""
        if self.widget == "select":
            return (
                [self.value.strip()]
                if self.value.strip() and self.value.strip() not in self.attr.choices
                else []
            )
        if self.widget == "checkboxes":
            return [e for e in self.elements if e not in self.attr.choices]
        return []


@dataclass
class SimulatorForm:
    fields: list[ProfileField]
    version: str
    at: str
    errors: list[str] = field(default_factory=list)

    @property
    def cells(self) -> dict[str, str]:
        return {f.attr.key: f.value for f in self.fields}

    def show(self, problems: ProfileProblems | BlueprintError) -> None:
        by_key = {f.attr.key: f for f in self.fields}
        for path, messages in problems.problems.items():
            key = path.removeprefix("profile.")
            if key in by_key:
                by_key[key].error = " ".join(messages)
            else:
                self.errors += messages


def _cell(attr: AttributeSpec, value: Any) -> str:
    """A JSON value as the form shows it (the CSV cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return SET_SEPARATOR.join(str(v) for v in value)
    return str(value)


def _form_from_post(request: HttpRequest, compiled: CompiledVersion, version: str) -> SimulatorForm:
    fields = []
    for key, attr in compiled.spec.catalog.items():
        name = FIELD_PREFIX + key
        if attr.type == "set" and attr.choices:
            value = SET_SEPARATOR.join(request.POST.getlist(name))
        else:
            value = request.POST.get(name, "")
        fields.append(ProfileField(attr, value[:1000]))
    return SimulatorForm(fields, version, request.POST.get("at", "")[:40])


def _form_from_profile(
    compiled: CompiledVersion, profile: dict[str, Any], version: str, at: str
) -> SimulatorForm:
    return SimulatorForm(
        [ProfileField(attr, _cell(attr, profile.get(key))) for key, attr in compiled.spec.catalog.items()],
        version,
        at,
    )


# --- What the result draws ----------------------------------------------------------------------------


@dataclass
class ChipView:
    text: str
    kind: str
    state: str  # held, failed, missing
    actual: str  # the profile's value as shown; "" when missing


@dataclass
class ChangeView:
    label: str
    value: str


@dataclass
class CardView:
    key: str
    name: str
    fallback: bool
    state: str  # chosen, eligible (matched, a higher one chosen), not
    groups: list[list[ChipView]]
    failed: list[ChipView]
    taken_by: list[str]
    possible: bool | None  # None: not settled within the explanation's budget
    changes: list[ChangeView]
    try_url: str
    not_checked: str | None = None  # what the why-not search did not settle, in words
    closed: str = ""  # outside its days on the decision day: "ended on 30 June 2027"


@dataclass
class StageView:
    key: str
    name: str
    entered: bool
    offer_name: str | None
    fallback: bool
    entry: list[list[ChipView]]
    cards: list[CardView]
    earlier_name: str | None = None  # one stage each: the earlier stage the customer is in


def _shown(value: Any, attr: AttributeSpec | None, at: dt.date, named: Collection[Any] = ()) -> str:
    """As a person writes it: the one way pages say a value (``decisioning.words.value_words``)."""
    return value_words(value, attr, at=at, named=named)


def _chip(outcome: ConditionOutcome, catalog: dict[str, AttributeSpec], at: dt.date) -> ChipView:
    attr = catalog.get(outcome.condition.attribute)
    state = "held" if outcome.result else ("missing" if outcome.actual is None else "failed")
    return ChipView(
        outcome.sentence, attr.kind if attr else "missing", state, _shown(outcome.actual, attr, at)
    )


def _groups(
    groups: list[GroupOutcome], catalog: dict[str, AttributeSpec], at: dt.date
) -> list[list[ChipView]]:
    return [[_chip(c, catalog, at) for c in g.conditions] for g in groups]


def _values_named(stage: StageSpec) -> dict[str, list[Any]]:
    """Per attribute, the texts the stage's conditions name: a suggested text none of them names
    stands for every other one ("other than Dublin or Cork")."""
    named: dict[str, list[Any]] = {}
    for groups in [stage.entry, *(offer.groups for offer in stage.offers)]:
        for group in groups:
            for c in group:
                values = c.value if isinstance(c.value, list | tuple) else [c.value]
                seen = named.setdefault(c.attribute, [])
                seen += [v for v in values if isinstance(v, str) and v not in seen]
    return named


def _stage_views(
    blueprint: Blueprint,
    compiled: CompiledVersion,
    decision: Decision,
    form: SimulatorForm,
    checked: dict[str, Any],
) -> list[StageView]:
    catalog = dict(compiled.spec.catalog)
    at = decision.at
    names = {o.key: o.name for s in compiled.spec.stages for o in s.offers}
    stage_names = {s.key: s.name for s in compiled.spec.stages}
    by_key: dict[str, StageDecision] = {d.stage: d for d in [*decision.decisions, *decision.skipped]}
    base = reverse("simulator", args=[blueprint.pk])
    views = []
    for stage in compiled.spec.stages:
        d = by_key.get(stage.key)
        if d is None or d.explain is None:
            continue
        # the entry's failing conditions are marked once, in the column's head
        named = _values_named(stage)
        entry_outcomes = {id(c) for g in d.explain.entry for c in g.conditions}
        cards = []
        for o in d.explain.offers:
            why = o.why_not
            changes: list[ChangeView] = []
            try_url = ""
            if why is not None and why.change is not None:
                changes = [
                    ChangeView(
                        catalog[k].label if k in catalog else k,
                        _shown(v, catalog.get(k), at, named.get(k, ())),
                    )
                    for k, v in why.change.items()
                ]
                changed = {k: value_json(v) for k, v in checked.items()}
                for k, v in why.change.items():
                    if v is None:
                        changed.pop(k, None)
                    else:
                        changed[k] = value_json(v)
                try_url = (
                    base
                    + "?"
                    + urlencode(
                        {
                            "profile": json.dumps(changed, ensure_ascii=False),
                            "version": form.version,
                            "at": at.isoformat(),
                        }
                    )
                )
            state = "chosen" if o.chosen else ("eligible" if o.matched and d.entered else "not")
            cards.append(
                CardView(
                    key=o.key,
                    name=o.name,
                    fallback=o.fallback,
                    state=state,
                    groups=_groups(o.groups, catalog, at),
                    failed=[_chip(c, catalog, at) for c in why.failed if id(c) not in entry_outcomes]
                    if why
                    else [],
                    taken_by=[names.get(k, k) for k in why.taken_by] if why else [],
                    possible=why.possible if why else True,
                    changes=changes,
                    try_url=try_url,
                    not_checked=why.not_checked if why else None,
                    closed=why.closed if why else "",
                )
            )
        views.append(
            StageView(
                key=stage.key,
                name=stage.name,
                entered=d.entered,
                offer_name=names.get(d.offer) if d.offer else None,
                fallback=d.fallback,
                entry=_groups(d.explain.entry, catalog, at),
                cards=cards,
                earlier_name=stage_names.get(d.earlier) if d.earlier else None,
            )
        )
    return views


# --- The simulator -----------------------------------------------------------------------------------


def _simulator_context(request: HttpRequest, blueprint: Blueprint, **extra: Any) -> dict[str, Any]:
    options = version_options(blueprint)
    return {
        "blueprint": blueprint,
        "can_edit": blueprint.role in EDIT_ROLES,  # type: ignore[attr-defined]
        "options": options,
        "today": dt.date.today().isoformat(),
        **extra,
    }


def _simulate(
    request: HttpRequest, blueprint: Blueprint, form: SimulatorForm, compiled: CompiledVersion
) -> tuple[dict[str, Any], int]:
    """Decide for the form's profile; the context of the ``simulator`` partial and its status."""
    try:
        at = decision_day(form.at or None)
        checked = compiled.check(form.cells, csv=True)
        decision = compiled.explain(checked, at)
    except BlueprintError as exc:
        form.show(exc)
        return _simulator_context(request, blueprint, form=form, compiled=compiled), INVALID_FORM
    stages = _stage_views(blueprint, compiled, decision, form, checked)
    profile_json = json.dumps({k: value_json(v) for k, v in checked.items()}, ensure_ascii=False)
    return (
        _simulator_context(
            request,
            blueprint,
            form=form,
            compiled=compiled,
            result={
                "at": decision.at,
                "version": version_label(decision.version),
                "stages": stages,
                "entered": [s for s in stages if s.entered],
                "skipped": [s for s in stages if not s.entered],
                "one_stage": compiled.spec.one_stage,
                "profile_json": profile_json,
                "query": urlencode(
                    {"profile": profile_json, "version": form.version, "at": decision.at.isoformat()}
                ),
            },
        ),
        200,
    )


@login_required
@require_GET
def simulator(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The page; with ``?profile=<JSON>`` (and ``version``, ``at``) the form is filled and decided."""
    blueprint = page_blueprint(request, blueprint_id)
    options = version_options(blueprint)
    version = request.GET.get("version") or _default_version(options)
    context = _simulator_context(request, blueprint)
    if version == "draft" and blueprint.role not in EDIT_ROLES and options:  # type: ignore[attr-defined]
        # the board's checks link here with the draft, the same link for every role
        version = _default_version(options)
        context["version_note"] = (
            f"The draft is for owners and editors; showing {options[0]['label'].lower()}."
        )
    try:
        compiled = decision_version(blueprint, version_choice(version))
    except BlueprintError as exc:
        context["version_error"] = (
            # the API's message shows the JSON to send; the page has its choices below
            "Nothing is live yet: a version goes live once it is approved."
            if isinstance(exc, Conflict) and version == LIVE
            else " ".join(m for ms in exc.problems.values() for m in ms)
        )
        context["version"] = version
        status = 200 if not options else 400
        return render(request, TEMPLATE, context, status=status)
    raw = request.GET.get("profile")
    at = request.GET.get("at", "")[:40]
    if raw is None:
        form = _form_from_profile(compiled, {}, version, at)
        return render(request, TEMPLATE, {**context, "form": form, "compiled": compiled})
    try:
        profile = loads(raw)
        if not isinstance(profile, dict):
            raise JsonProblem("", "not an object")
    except JsonProblem as exc:
        form = _form_from_profile(compiled, {}, version, at)
        why = "it is nested too deeply" if exc.message == TOO_DEEP else "it is not a JSON object"
        form.errors.append(
            f"The customer in the address cannot be read ({why}: attribute key → value); the form starts empty."
        )
        return render(request, TEMPLATE, {**context, "form": form, "compiled": compiled}, status=400)
    form = _form_from_profile(compiled, profile, version, at)
    simulated, status = _simulate(request, blueprint, form, compiled)
    simulated["version_note"] = context.get("version_note")
    return render(request, TEMPLATE, simulated, status=400 if status == INVALID_FORM else 200)


@login_required
@require_POST
def simulator_decide(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The form posted: through htmx, the ``simulator`` partial with the answer (the address then
    names the customer), or 422 with the errors; posted plainly (before the page's scripts ran, or
    without them), a redirect to the page with the customer in its address, or the whole page with
    the errors."""
    blueprint = page_blueprint(request, blueprint_id)
    version = request.POST.get("version", "")[:20] or LIVE
    htmx = bool(getattr(request, "htmx", False))
    try:
        compiled = decision_version(blueprint, version_choice(version))
    except BlueprintError as exc:
        message = " ".join(m for ms in exc.problems.values() for m in ms)
        return HttpResponse(message, status=exc.status, content_type="text/plain; charset=utf-8")
    form = _form_from_post(request, compiled, version)
    context, status = _simulate(request, blueprint, form, compiled)
    url = (
        reverse("simulator", args=[blueprint.pk]) + "?" + context["result"]["query"] if status == 200 else ""
    )
    if not htmx:
        if url:
            redirect = HttpResponseRedirect(url)
            redirect.status_code = 303  # see other: the page, got
            return redirect
        return render(request, TEMPLATE, context, status=status)
    response = render(request, f"{TEMPLATE}#simulator", context, status=status)
    return replace_url(response, url) if url else response


# --- Coverage ------------------------------------------------------------------------------------------

CHART_WIDTH = 640  # the chart's viewBox: about the width it is drawn at, so its text reads at 1:1
BAR_X = 232  # where bars start, after the labels
BAR_WIDTH = 290
ROW_HEIGHT = 30


LABEL_CHARS = 28  # about what fits left of the bars at the chart's font size
LINE_HEIGHT = 18


@dataclass
class BarView:
    label: str
    count: int
    share: str  # "37.5 %"
    kind: str  # offer, fallback, none
    y: int
    width: float
    lines: list[str]  # the label wrapped to fit left of the bars: a name is never cut short

    @property
    def text_y(self) -> int:
        return self.y + 19

    @property
    def count_x(self) -> int:
        return BAR_X + BAR_WIDTH + 12

    @property
    def height(self) -> int:
        return ROW_HEIGHT + (len(self.lines) - 1) * LINE_HEIGHT


def label_lines(label: str) -> list[str]:
    """The label in lines of at most ``LABEL_CHARS`` characters, split at spaces (a longer word on
    lines of its own)."""
    return textwrap.wrap(label, LABEL_CHARS, break_on_hyphens=False) or [""]


@dataclass
class StageChart:
    key: str
    name: str
    entered: int
    not_entered: int
    bars: list[BarView]

    @property
    def height(self) -> int:
        return sum(bar.height for bar in self.bars) + 6


def coverage_charts(counts: dict[str, Any]) -> list[StageChart]:
    """Per stage, one bar per offer (priority order), the fallback and "no offer", each as a share of
    the customers in the stage; a long name wraps over more lines."""
    charts = []
    for stage in counts["stages"]:
        entered = stage["entered"]
        rows: list[tuple[str, int, str]] = [
            (
                o["name"] + (" (fallback)" if o["fallback"] else ""),
                o["count"],
                "fallback" if o["fallback"] else "offer",
            )
            for o in stage["offers"]
        ]
        if stage["none"] or not any(o["fallback"] for o in stage["offers"]):
            rows.append(("No offer (gap)", stage["none"], "none"))
        bars = []
        y = 0
        for label, count, kind in rows:
            share = count / entered if entered else 0.0
            bar = BarView(
                label=label,
                count=count,
                share=f"{share * 100:.1f} %",
                kind=kind,
                y=y,
                width=round(max(share * BAR_WIDTH, 2 if count else 0), 1),
                lines=label_lines(label),
            )
            bars.append(bar)
            y += bar.height
        charts.append(StageChart(stage["stage"], stage["name"], entered, stage["not_entered"], bars))
    return charts


def _coverage_context(request: HttpRequest, blueprint: Blueprint, **extra: Any) -> dict[str, Any]:
    options = version_options(blueprint)
    return {
        "blueprint": blueprint,
        "options": options,
        "version": extra.pop("version", None) or _default_version(options),
        "max_mib": batch_max_bytes() // (1024 * 1024),
        "bar_x": BAR_X,
        "bar_width": BAR_WIDTH,
        "chart_width": CHART_WIDTH,
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def coverage(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The page (GET), or a sample uploaded (POST, htmx: the ``coverage_result`` partial; 422 with
    the form's errors)."""
    blueprint = page_blueprint(request, blueprint_id)
    if request.method == "GET":
        return render(request, COVERAGE_TEMPLATE, _coverage_context(request, blueprint))
    version = request.POST.get("version", "")[:20] or LIVE
    at_raw = request.POST.get("at", "")[:40]
    context = _coverage_context(request, blueprint, version=version, at=at_raw)
    partial = f"{COVERAGE_TEMPLATE}#coverage" if getattr(request, "htmx", False) else COVERAGE_TEMPLATE
    upload = request.FILES.get("sample")
    errors: dict[str, str] = {}
    if upload is None:
        errors["sample"] = "Choose a CSV (or Parquet) file of customers: one column per attribute key."
    elif upload.size is not None and upload.size > batch_max_bytes():
        errors["sample"] = f"The file is too large: at most {context['max_mib']} MiB are accepted."
    compiled = None
    at = None
    try:
        at = decision_day(at_raw or None)
        compiled = decision_version(blueprint, version_choice(version))
    except BlueprintError as exc:
        for path, messages in exc.problems.items():
            errors[path] = " ".join(messages)
    if errors or compiled is None or at is None or upload is None:
        return render(request, partial, {**context, "errors": errors}, status=INVALID_FORM)
    source = _saved(upload)
    try:
        counts = file_coverage(compiled, source, at=at, source_format=file_format(source))
    except BatchError as exc:
        return render(request, partial, {**context, "errors": {"sample": str(exc)}}, status=INVALID_FORM)
    finally:
        source.unlink(missing_ok=True)
    charts = coverage_charts(counts)
    memberships = sum(chart.entered for chart in charts)
    good_rows = counts["rows"] - counts["bad_rows"]
    result = {
        **counts,
        "at": at,
        "version_label": version_label(compiled.version),
        "charts": charts,
        "filename": upload.name,
        "good_rows": good_rows,
        # how stages relate: one stage each, so the stages' customers add up to at most everyone
        "one_stage": compiled.spec.one_stage,
        "memberships": memberships,
        "in_no_stage": max(0, good_rows - memberships),
    }
    return render(request, partial, {**context, "result": result})


def _saved(upload: UploadedFile) -> Path:
    path = temporary_path(".sample")
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path
