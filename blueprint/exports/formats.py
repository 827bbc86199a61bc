"""Every export format of a subject, as bytes with a media type and a file name.

``format`` is one of ``FORMATS``: the spec (``html``, ``md``, ``pdf``), the diagram (``svg``,
``png``, ``diagram-pdf``, ``dot``), the machine forms (``json``, ``dmn``, and ``sql``: the
decision query a team runs in its warehouse, ``decisioning.sql``) and the acceptance test cases
(``cases``). The API's ``export/`` and the bench call ``export_render``; nothing else
decides what a format holds.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from blueprint.exports.cases import cases_json
from blueprint.exports.diagram import (
    INSTALL_HINT,
    DiagramFailed,
    GraphvizMissing,
    diagram_dot,
    diagram_render,
    graphviz_available,
    svg_inline,
)
from blueprint.exports.dmn import dmn_xml
from blueprint.exports.spec import Spec, spec_build, spec_html, spec_markdown, spec_pdf
from blueprint.exports.subject import ExportSubject
from blueprint.snapshots import snapshot_hash
from decisioning.engine import compile_spec
from decisioning.lru import LRU
from decisioning.sql import export_sql

# format → (media type, file name suffix)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "dmn": ("application/xml", "dmn"),
    "dot": ("text/vnd.graphviz; charset=utf-8", "dot"),
    "svg": ("image/svg+xml", "svg"),
    "png": ("image/png", "png"),
    "diagram-pdf": ("application/pdf", "diagram.pdf"),
    "cases": ("application/json", "cases.json"),
    "sql": ("application/sql; charset=utf-8", "sql"),
}
DRAWN = frozenset({"svg", "png", "diagram-pdf"})  # need Graphviz's dot
# the PDF spec's picture of the diagram: at most 40 inches a side at 100 dpi (4000 pixels), so an A3
# sheet shows it sharp and a zoom still reads a large blueprint
PNG_FIT_INCHES = 40
PNG_DPI = 100


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    filename: str


def spec_of(subject: ExportSubject, *, draw: str = "svg") -> Spec:
    """The subject's spec with its diagram drawn — ``draw`` "svg" (inline, for the HTML), "png" (a
    picture, for the PDF: WeasyPrint lays out a big SVG far more slowly than it places an image;
    the vector drawing is the diagram-pdf and svg exports) or "" (the Markdown form, whose diagram
    is Mermaid) — or with a note saying why it cannot be drawn."""
    source = diagram_dot(subject)
    svg: str | None = None
    png = ""
    note = ""
    if not draw:
        pass
    elif graphviz_available():
        try:
            if draw == "png":
                picture = diagram_render(source, "png", fit_inches=PNG_FIT_INCHES, dpi=PNG_DPI)
                png = "data:image/png;base64," + base64.b64encode(picture).decode()
            else:
                svg = svg_inline(diagram_render(source, "svg"))
        except (GraphvizMissing, DiagramFailed) as exc:
            note = exc.message
    else:
        note = INSTALL_HINT
    spec = spec_build(subject, svg=svg, diagram_note=note, dot=source)
    spec.png = png
    return spec


def export_render(subject: ExportSubject, fmt: str, *, dialect: str = "portable") -> Rendered:
    """The subject in format ``fmt`` (a key of ``FORMATS``); ``sql`` in ``dialect`` (a key of
    ``decisioning.sql.DIALECTS``). Raises ``GraphvizMissing`` or ``DiagramFailed`` (503) for a
    drawn format without a working ``dot``, ``PdfUnavailable`` (503) for the PDF spec without Pango."""
    media_type, suffix = FORMATS[fmt]
    if fmt == "sql" and dialect != "portable":
        suffix = f"{dialect}.{suffix}"
    filename = f"{subject.filename_stem}.{suffix}"
    body: bytes
    if fmt == "json":
        body = json.dumps(subject.json_export(), indent=2, ensure_ascii=False).encode()
    elif fmt == "cases":
        body = json.dumps(cases_json(subject), indent=2, ensure_ascii=False).encode()
    elif fmt == "dmn":
        body = dmn_xml(subject)
    elif fmt == "sql":
        # CURRENT_DATE as the decision day, so the query decides for the day it runs on
        version = (
            {"draft": True, "rev": subject.version.get("rev")}
            if subject.is_draft
            else {"number": subject.version_param}
        )
        body = export_sql(
            compile_spec(subject.spec, version),
            at=None,
            title=f"{subject.title} — {subject.label}",
            dialect=dialect,
        ).encode()
    elif fmt == "dot":
        body = diagram_dot(subject).encode()
    elif fmt in DRAWN:
        body = diagram_render(diagram_dot(subject), "pdf" if fmt == "diagram-pdf" else fmt)  # type: ignore[arg-type]
    elif fmt == "md":
        body = spec_markdown(spec_of(subject, draw="")).encode()
    elif fmt == "html":
        body = spec_html(spec_of(subject)).encode()
    else:  # pdf: the spec, printed
        body = _pdf_cached(subject)
    return Rendered(body=body, media_type=media_type, filename=filename)


# WeasyPrint takes seconds (a minute for 500 offers), and a version's spec never changes: the last
# few PDFs are kept, keyed by everything they are made from.
PDF_CACHE_SIZE = 8
_pdf_cache: LRU[tuple[str, str, str, bool], bytes] = LRU(PDF_CACHE_SIZE)


def _pdf_cached(subject: ExportSubject) -> bytes:
    key = (
        snapshot_hash(subject.snapshot),
        json.dumps(dict(subject.version), sort_keys=True, default=str),
        subject.at.isoformat(),
        graphviz_available(),
    )
    return _pdf_cache.get_or_make(key, lambda: spec_pdf(spec_html(spec_of(subject, draw="png"))))
