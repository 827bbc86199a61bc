"""The requirements spec developers build from: Markdown and HTML, and PDF from that HTML.

``spec_build`` reads a subject (snapshot, version block, decision day) into a ``Spec``: purpose
and context; the diagram; the data requirements (every attribute the logic uses, with kind,
type, allowed values, source system and the offers that need it); per stage the entry rules and
the decision table; the lint summary; the acceptance test cases; and the version, approvals and
hash. ``spec_markdown`` and ``spec_html`` render that one structure, so the two say the same (the
Markdown's diagram is a Mermaid flowchart of the journey, ``mermaid.py``, which Markdown viewers
draw); ``spec_pdf`` prints the HTML with WeasyPrint (A4, the diagram on an A3 landscape page after
the text).

The HTML is a whole document with its style sheet inside (``static/css/spec.css``), so a
downloaded file reads the same offline; the app's spec page shows the same body. Pure apart from
reading that style sheet and the templates: no database.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from blueprint.exports.cases import AcceptanceCase, CaseSet, SkippedOffer, acceptance_cases, cases_json
from blueprint.exports.diagram import findings_by_place
from blueprint.exports.mermaid import journey_flowchart
from blueprint.exports.subject import FINDING_LABELS, STATUS_LABELS, ExportSubject
from decisioning.conditions import AttributeSpec, condition_sentence
from decisioning.errors import BlueprintError
from decisioning.lint import Finding
from decisioning.model import STAGE_MODE_DEFAULT, stage_mode_of, stored_day, window_words

# WeasyPrint logs every layout step at INFO; the server's log needs none of it
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

NOTES_LISTED = 40  # overlap notes listed in the spec; the rest are counted
KIND_LABELS = {"attribute": "Attribute", "behaviour": "Behaviour", "context": "Context"}
PANGO_HINT = (
    "The PDF needs the Pango text library on the server (Debian/Ubuntu: apt-get install "
    "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core). The HTML and Markdown forms work without it."
)


class PdfUnavailable(BlueprintError):
    """WeasyPrint cannot run here (its Pango library is missing): a 503 naming what to install."""

    status = 503


# --- The structure -------------------------------------------------------------------------------


@dataclass
class AttributeRow:
    key: str
    label: str
    kind: str
    type: str
    allowed: str
    source: str
    description: str
    needed_by: list[str]  # "Stage: entry rules, offer_key, …" per stage that reads it (keys: short and exact)


@dataclass
class DecisionRow:
    priority: str  # "1", "2", … or "Fallback"
    key: str
    name: str
    channel: str
    description: str
    groups: list[list[str]]  # sentences, per group
    fallback: bool
    findings: list[str]  # short labels of the lint findings about it
    case: bool  # whether a test case shows it
    content_ref: str = ""  # an id or URL of the creative, plain text
    dates: str = ""  # "from 1 March 2027 to 30 June 2027", "" when not dated
    tags: list[str] = field(default_factory=list)

    @property
    def content_link(self) -> str:
        """The content reference as a link target, only when it is an http(s) URL ("" otherwise:
        shown as text, never as a link that could run a script)."""
        ref = self.content_ref.strip()
        return ref if re.fullmatch(r"https?://[^\s<>\"']+", ref, flags=re.IGNORECASE) else ""

    @property
    def content_lines(self) -> list[str]:
        """What the offer shows and when, as sentences of plain text (the Markdown spec escapes them)."""
        lines = []
        if self.dates:
            lines.append(f"Shown {self.dates}; outside these days it is not eligible.")
        if self.tags:
            lines.append("Tags: " + ", ".join(self.tags) + ".")
        return lines

    @property
    def conditions(self) -> str:
        return groups_text(
            self.groups, everyone="Everyone in the stage" if not self.fallback else "Everyone else"
        )


@dataclass
class StageSection:
    key: str
    name: str
    description: str
    entry: list[list[str]]
    rows: list[DecisionRow]
    cases: list[AcceptanceCase]
    skipped: list[SkippedOffer]
    findings: list[Finding]

    @property
    def entry_text(self) -> str:
        return groups_text(self.entry, everyone="Everyone")

    @property
    def has_fallback(self) -> bool:
        return any(r.fallback for r in self.rows)


@dataclass
class LintSummary:
    at: str
    errors: list[Finding]
    warnings: list[Finding]
    notes: list[Finding]

    @property
    def notes_listed(self) -> list[Finding]:
        return self.notes[:NOTES_LISTED]

    @property
    def notes_more(self) -> int:
        return max(0, len(self.notes) - NOTES_LISTED)


# How stages relate (docs/architecture.md, "Decisions"), as the spec says it to the developers.
STAGE_MODE_SPEC = {
    "one": "Each customer is in one stage: the first, in journey order, whose entry holds. The decision answers "
    "that stage only, and the website shows its offer.",
    "several": "A customer can be in several stages at once; each stage gives its own offer, and the website "
    "shows the offer of every stage the customer is in (where a page has room for one offer only, the first "
    "stage's, in journey order).",
}


@dataclass
class Spec:
    title: str
    label: str
    is_draft: bool
    context: str
    channels: list[str]
    description: str
    at: str
    version_rows: list[tuple[str, str]]
    attributes: list[AttributeRow]
    unused: list[AttributeRow]
    stages: list[StageSection]
    lint: LintSummary
    case_count: int
    dot: str
    svg: str | None  # the diagram inline; None when Graphviz is missing
    diagram_note: str = ""
    png: str = ""  # the diagram as a data: URI picture, for the PDF (``formats.spec_of``)
    stage_mode: str = STAGE_MODE_DEFAULT  # how stages relate (STAGE_MODE_SPEC says it)

    @property
    def stage_mode_text(self) -> str:
        return STAGE_MODE_SPEC.get(self.stage_mode) or STAGE_MODE_SPEC[STAGE_MODE_DEFAULT]

    cases_json: str = field(default="", repr=False)

    @property
    def offer_count(self) -> int:
        return sum(len(s.rows) for s in self.stages)


def groups_text(groups: Sequence[Sequence[str]], *, everyone: str) -> str:
    """'A and B; or C' — the way the board reads OR-groups of AND-conditions."""
    if not groups:
        return everyone
    parts = [" and ".join(group) for group in groups]
    if len(parts) == 1:
        return parts[0]
    return "Either " + "; or ".join(parts)


def _sentences(groups: Any, catalog: Mapping[str, AttributeSpec]) -> list[list[str]]:
    return [
        [condition_sentence(c, catalog.get(c.get("attribute", ""))) for c in group] for group in groups or []
    ]


def _allowed(attribute: Mapping[str, Any]) -> str:
    kind = attribute.get("type")
    unit = attribute.get("unit") or ""
    choices = attribute.get("choices") or []
    if kind in ("choice", "set", "text") and choices:
        prefix = "One of" if kind != "set" else "A set of"
        return f"{prefix}: {', '.join(choices)}"
    return {
        "text": "Any text",
        "set": "A set of texts",
        "number": f"A number{f' ({unit})' if unit else ''}",
        "boolean": "Yes or no (true/false)",
        "date": "A date (YYYY-MM-DD)",
        "choice": "One of the listed choices",
    }.get(str(kind), str(kind))


def spec_version_block(version: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The "Version, approvals and hash" section from the export's version block (a plain dict,
    ``exports.subject``): rows of (label, value). The one place to extend when approvals land."""
    if version.get("status") == "draft" or version.get("number") is None:
        return [
            ("Version", "Draft — not published"),
            ("Draft revision", str(version.get("rev", 0))),
            ("Content hash", str(version.get("hash", ""))),
            ("Approvals", "None: a draft is not approved. Publish it as a version for review."),
        ]
    approvals = version.get("approvals") or []
    approved = (
        "; ".join(
            f"{a.get('user', '?')} {a.get('decision', 'approved')} on {a.get('at', '?')}"
            + (f" — “{a['comment']}”" if a.get("comment") else "")
            for a in approvals
        )
        if approvals
        else "None recorded"
    )
    rows = [
        ("Version", str(version.get("number"))),
        ("Status", STATUS_LABELS.get(str(version.get("status")), str(version.get("status")))),
        ("Content hash", str(version.get("hash", ""))),
        ("Published by", str(version.get("author") or "—")),
        ("Published at", str(version.get("created_at") or "—")),
        ("Draft revision published", str(version.get("rev", ""))),
        ("Note", str(version.get("note") or "—")),
    ]
    if version.get("decided_at"):
        rows.append(("Decided at", str(version["decided_at"])))
    rows.append(("Approvals", approved))
    return rows


def spec_build(subject: ExportSubject, *, svg: str | None, diagram_note: str = "", dot: str = "") -> Spec:
    """The spec of the subject. ``svg`` is the drawn diagram (None when it cannot be drawn, with
    ``diagram_note`` saying why); ``dot`` its source."""
    snapshot = subject.snapshot
    catalog = dict(subject.spec.catalog)
    report = subject.lint
    cases: CaseSet = acceptance_cases(subject)
    offer_marks, _stage_marks = findings_by_place(report.findings)

    # per attribute, per stage (in order): its entry rules and the keys of the offers that read it
    needed: dict[str, dict[str, list[str]]] = {}

    def need(attribute: str, stage_name: str, what: str) -> None:
        users = needed.setdefault(attribute, {}).setdefault(stage_name, [])
        if what not in users:
            users.append(what)

    stages: list[StageSection] = []
    for stage in snapshot.get("stages", []):
        skey, sname = str(stage["key"]), str(stage.get("name") or stage["key"])
        for group in stage.get("entry") or []:
            for c in group:
                need(c["attribute"], sname, "entry rules")
        shown = {c.offer for c in cases.of_stage(skey)}
        rows: list[DecisionRow] = []
        priority = 0
        for offer in stage.get("offers", []):
            okey, oname = str(offer["key"]), str(offer.get("name") or offer["key"])
            for group in offer.get("groups") or []:
                for c in group:
                    need(c["attribute"], sname, okey)
            if not offer.get("fallback"):
                priority += 1
            marks = offer_marks.get(okey)
            rows.append(
                DecisionRow(
                    priority="Fallback" if offer.get("fallback") else str(priority),
                    key=okey,
                    name=oname,
                    channel=str(offer.get("channel") or ""),
                    description=str(offer.get("description") or ""),
                    groups=_sentences(offer.get("groups"), catalog),
                    fallback=bool(offer.get("fallback")),
                    findings=[label for _level, label in marks.labels()] if marks else [],
                    case=okey in shown,
                    content_ref=str(offer.get("content_ref") or ""),
                    dates=window_words(stored_day(offer.get("starts_on")), stored_day(offer.get("ends_on"))),
                    tags=[str(t) for t in offer.get("tags") or []],
                )
            )
        stages.append(
            StageSection(
                key=skey,
                name=sname,
                description=str(stage.get("description") or ""),
                entry=_sentences(stage.get("entry"), catalog),
                rows=rows,
                cases=cases.of_stage(skey),
                skipped=cases.skipped_of_stage(skey),
                findings=[f for f in report.findings if f.stage == skey and f.level != "info"],
            )
        )

    attributes: list[AttributeRow] = []
    unused: list[AttributeRow] = []
    for a in snapshot.get("attributes", []):
        row = AttributeRow(
            key=str(a["key"]),
            label=str(a.get("label") or a["key"]),
            kind=KIND_LABELS.get(str(a.get("kind")), str(a.get("kind") or "")),
            type=str(a.get("type")),
            allowed=_allowed(a),
            source=str(a.get("source") or ""),
            description=str(a.get("description") or ""),
            needed_by=[
                f"{stage}: {', '.join(users)}" for stage, users in needed.get(str(a["key"]), {}).items()
            ],
        )
        (attributes if row.needed_by else unused).append(row)

    bp = subject.blueprint
    return Spec(
        title=subject.title,
        label=subject.label,
        is_draft=subject.is_draft,
        context=str(bp.get("context") or ""),
        channels=list(bp.get("channels") or []),
        description=str(bp.get("description") or ""),
        at=subject.at.isoformat(),
        version_rows=spec_version_block(subject.version),
        stage_mode=stage_mode_of(bp),
        attributes=attributes,
        unused=unused,
        stages=stages,
        lint=LintSummary(
            at=report.at.isoformat(), errors=report.errors, warnings=report.warnings, notes=report.infos
        ),
        case_count=len(cases.cases),
        dot=dot,
        svg=svg,
        diagram_note=diagram_note,
        cases_json=json.dumps(cases_json(subject, cases), indent=2, ensure_ascii=False),
    )


# --- Markdown -------------------------------------------------------------------------------------

# --- Markdown: the only ways text enters the document ------------------------------------------------
#
# People's words are inline text (``md``: one line, every character that could open markup escaped,
# and a line start that could open a block too), code spans (``md_code``) or a fenced block
# (``md_block``: a fence longer than any run of backticks inside). So no name adds a heading, a table
# row or cell, a list, a link, an image, HTML or a fence, or ends one.

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&])")
# what opens a block at the start of a line once the text above is escaped: a list item (- + or a
# number and . or )), a thematic break or setext underline (- =; * and _ are escaped already)
_MD_BLOCK_START = re.compile(r"[-+=]|[0-9]{1,9}(?=[.)])")


def md(text: Any) -> str:
    """Inline text for Markdown (GFM: a table cell too): on one line, every special character
    escaped, so it reads as exactly the text it is, wherever it stands."""
    escaped = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    start = _MD_BLOCK_START.match(escaped)
    if start is None:
        return escaped
    if start.group().isdigit():  # "1." → "1\."
        return start.group() + "\\" + escaped[start.end() :]
    return "\\" + escaped


def md_code(text: str) -> str:
    """A code span of ``text`` (a key, a value): in more backticks than any run inside, with a space
    inside each end when it starts or ends with one. Not for a table cell if it holds ``|``."""
    one_line = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", one_line)), default=0) + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def md_block(text: str, info: str) -> list[str]:
    """A fenced code block of ``text`` (the Mermaid source), as lines: the fence longer than any run of
    backticks in the text, so nothing in it can close the block."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return [f"{fence}{info}", *text.splitlines(), fence]


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _profile_text(profile: Mapping[str, Any]) -> str:
    if not profile:
        return "(no attributes: every one missing)"
    return ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in profile.items())


def spec_markdown(spec: Spec) -> str:
    out: list[str] = [f"# {md(spec.title)} — requirements spec", ""]
    if spec.is_draft:
        out += [
            f"> **{md(spec.label.upper())}.** This spec is of the board as it is now, not of an approved version.",
            "",
        ]
    else:
        out += [f"**{md(spec.label)}**", ""]
    out += ["## 1. Purpose and context", ""]
    out += [md(spec.description) or "_No description given._", ""]
    out += [
        f"- **Context:** {md(spec.context) or '—'}",
        f"- **Channels:** {md(', '.join(spec.channels)) or '—'}",
        f"- **How stages relate:** {md(spec.stage_mode_text)}",
    ]
    out += [
        f"- **Size:** {len(spec.stages)} stages, {spec.offer_count} offers, {len(spec.attributes)} attributes used",
        f"- **Decision day of this spec:** {spec.at} (places “within the last N days” on the calendar)",
        "",
    ]
    out += ["## 2. Diagram", ""]
    out += [
        "The journey: stages left to right, each with who is in it and its offers top to bottom in priority "
        "order, the fallback last. GitHub, GitLab and other Markdown viewers draw the Mermaid block below. "
        "The full diagram, with every offer's conditions and the lint's findings, is its own export: "
        "Export → Diagram → SVG, PNG, PDF or DOT source (`format=dot`, Graphviz).",
        "",
        *md_block(journey_flowchart(spec.stages).rstrip(), "mermaid"),
        "",
    ]
    out += ["## 3. Data requirements", ""]
    out += [
        "Every attribute the decision logic reads, and where: a stage's entry rules and the offers (by key) whose "
        "conditions need it. A profile that lacks one meets no condition on it.",
        "",
    ]
    out += _md_table(
        ["Attribute", "Key", "Kind", "Type", "Allowed values", "Source system", "Needed by"],
        [
            [
                md(a.label),
                md_code(a.key),
                md(a.kind),
                md(a.type),
                md(a.allowed),
                md(a.source) or "—",
                md("; ".join(a.needed_by)),
            ]
            for a in spec.attributes
        ],
    )
    if spec.unused:
        out += [
            f"In the catalog but not used by any condition: {md(', '.join(a.label for a in spec.unused))}.",
            "",
        ]
    out += ["## 4. Decision logic per stage", ""]
    out += [
        "For each stage the customer is in (its entry rules hold), the offers are tried in priority order; the "
        "first whose conditions hold is chosen. If none holds, the fallback; without a fallback, no offer.",
        "",
        f"**How stages relate:** {md(spec.stage_mode_text)}",
        "",
    ]
    for i, stage in enumerate(spec.stages, start=1):
        out += [f"### 4.{i} {md(stage.name)} ({md_code(stage.key)})", ""]
        if stage.description:
            out += [md(stage.description), ""]
        out += [f"**Entry rules — who is in the stage:** {md(stage.entry_text)}", ""]
        if not stage.rows:
            out += ["_No offers yet._", ""]
            continue
        out += _md_table(
            ["Priority", "Offer", "Key", "Channel", "Conditions", "Fallback", "Lint"],
            [
                [
                    r.priority,
                    md(r.name),
                    md_code(r.key),
                    md(r.channel) or "—",
                    md(r.conditions),
                    "yes" if r.fallback else "—",
                    md(", ".join(r.findings)) or "—",
                ]
                for r in stage.rows
            ],
        )
        if not stage.has_fallback:
            out += ["_No fallback: a customer in the stage who matches no offer gets none._", ""]
        out += [f"**What each offer of {md(stage.name)} shows**", ""]
        for r in stage.rows:
            parts = [md(r.description) if r.description.split() else "_No description given._"]
            if r.content_ref.split():
                # a code span: the reference reads as exactly its text, and no viewer makes it a link
                parts.append(f"Content reference: {md_code(r.content_ref)}.")
            parts += [md(line) for line in r.content_lines]
            out.append(f"- **{md(r.name)}** ({md_code(r.key)}): " + " ".join(parts))
        out.append("")
    out += ["## 5. Lint summary", ""]
    lint = spec.lint
    out += [
        f"On {lint.at}: {len(lint.errors)} errors, {len(lint.warnings)} warnings, {len(lint.notes)} notes "
        "(overlaps, where priority decides).",
        "",
    ]
    for title, findings in (("Errors", lint.errors), ("Warnings", lint.warnings)):
        if findings:
            out += [f"**{title}**", ""]
            out += [f"- {md(FINDING_LABELS.get(f.code, f.code))}: {md(f.message)}" for f in findings]
            out += [""]
    if lint.notes:
        out += ["**Notes**", ""]
        out += [f"- {md(f.message)}" for f in lint.notes_listed]
        if lint.notes_more:
            out += [f"- … and {lint.notes_more} more overlaps."]
        out += [""]
    out += ["## 6. Acceptance test cases", ""]
    out += [
        f"{spec.case_count} cases generated from the logic, for decision day {spec.at}: for every offer that can be "
        "shown a customer who gets it, for the fallback a customer who gets it, for every gap a customer who gets "
        "nothing. Each is a request to the decide API (`POST blueprints/{id}/decide/` with `profile`, `stage`, `at`, "
        "`version`) and the answer expected for that stage; the JSON form is the `cases` export.",
        "",
    ]
    for stage in spec.stages:
        if not stage.cases and not stage.skipped:
            continue
        out += [f"### {md(stage.name)}", ""]
        out += _md_table(
            ["Case", "Profile", "Expected"],
            [
                [
                    md(c.name),
                    md(_profile_text(c.profile)),
                    md_code(c.offer) + (" (fallback)" if c.fallback else "") if c.offer else "no offer",
                ]
                for c in stage.cases
            ],
        )
        for s in stage.skipped:
            out += [f"- No case for “{md(s.name)}” ({md_code(s.offer)}): {md(s.reason)}."]
        if stage.skipped:
            out += [""]
    out += ["## 7. Version, approvals and hash", ""]
    out += _md_table(["", ""], [[md(k), md(v)] for k, v in spec.version_rows])
    return "\n".join(out).rstrip() + "\n"


# --- HTML and PDF ---------------------------------------------------------------------------------


@cache
def spec_css() -> str:
    """The spec's style sheet, put inside the HTML document so that it stands on its own."""
    path = finders.find("css/spec.css")
    if not path:
        return ""
    with open(path if isinstance(path, str) else path[0], encoding="utf-8") as f:
        return f.read()


def spec_html(spec: Spec) -> str:
    """The spec as a whole HTML document (style sheet inside, diagram inline)."""
    return render_to_string("exports/spec_document.html", {"spec": spec, "css": spec_css()})


def spec_pdf(html: str) -> bytes:
    """The HTML spec printed by WeasyPrint, reading no resource but ``data:`` URIs. Raises
    ``PdfUnavailable`` when Pango is missing."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (OSError, ImportError):  # WeasyPrint loads Pango when imported
        raise PdfUnavailable(PANGO_HINT, field="format") from None
    # the document's only resource is its picture, a data: URI: WeasyPrint reads no file of the
    # server and nothing from the network, whatever the HTML names
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
    assert pdf is not None
    return bytes(pdf)
