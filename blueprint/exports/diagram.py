"""The blueprint as a picture: Graphviz DOT written here, drawn by ``dot``.

Layout: one cluster per stage, left to right in journey order (the stages' head nodes share one
rank, ``newrank``, and are chained by the journey arrows, which dot lays out left to right);
inside a cluster the head (name, entry conditions, the stage's own findings) and then one card
per offer, top to bottom in priority order (an invisible chain of edges fixes the order). A card
shows the priority, the name, the channel, the conditions as sentences (``condition_sentence``),
several groups as "either … or …", the fallback marked as such, and the lint findings that are
about it as a coloured border and short labels.

Every text is quoted (``dot_string``) or escaped for HTML-like labels (``html_text``) and wrapped by
hand (dot does not wrap), sentences are capped (the full text stays in the card's tooltip), and
cards have one width, so a 500-offer blueprint is a tidy grid that stays legible when zoomed. The
SVG dot draws is kept to drawing (``svg_clean``) before it is served or shown. Rendering needs the ``dot`` executable;
without it ``diagram_render`` raises ``GraphvizMissing`` (503) and the DOT source is still there.
"""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

from blueprint.exports.subject import FINDING_LABELS, ExportSubject
from decisioning.conditions import AttributeSpec, condition_sentence
from decisioning.errors import BlueprintError
from decisioning.lint import Finding

Format = Literal["svg", "png", "pdf"]
FORMATS: tuple[Format, ...] = ("svg", "png", "pdf")

FONT = "DejaVu Sans"
CARD_WIDTH = 250  # points; every card is as wide, so columns line up
WRAP = 42  # characters per line of a sentence (at 10 pt they fit the card)
SENTENCE_CAP = 150  # characters of one sentence shown on the card
CONDITIONS_CAP = 8  # conditions shown per group
GROUPS_CAP = 6  # groups shown per card
RENDER_TIMEOUT = 120  # seconds; a diagram that takes longer is refused, never left hanging

COLOURS = {"error": "#c62828", "warning": "#a35f00", "info": "#1f5fa8"}
TINTS = {"error": "#fdecea", "warning": "#fff4e0", "info": "#eaf1fb"}
INK = "#1f2933"
MUTED = "#5b6675"
LINE = "#b8c2cf"
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}

INSTALL_HINT = (
    "Graphviz's 'dot' program is not installed on the server, so the diagram cannot be drawn as "
    "SVG, PNG or PDF. Install Graphviz (Debian/Ubuntu: apt-get install graphviz); the DOT source "
    "(format=dot) works without it."
)


class GraphvizMissing(BlueprintError):
    """``dot`` is not on the server's PATH: a 503, naming what to install."""

    status = 503


class DiagramFailed(BlueprintError):
    """``dot`` ran but could not draw the diagram (too large, killed): a 503 with its reason."""

    status = 503


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


# --- DOT: the only ways text enters the source -----------------------------------------------------
#
# The source is written here, not by a library: every attribute value is either a quoted string
# (``dot_string``) or an HTML-like label (``Html``) built from the fixed markup of this module and
# people's text through ``html_text``. Node and subgraph names are quoted strings too. So no name can
# end a value, add an attribute (``URL``, ``href``, ``image``), a node or an edge, or be read as markup.

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# what XML (and so Graphviz's HTML-like labels and its SVG) cannot hold: lone surrogates, U+FFFE, U+FFFF
_NOT_XML = re.compile(r"[\ud800-\udfff\ufffe\uffff]")


class Html(str):
    """An HTML-like label's markup (without the outer ``<…>``): made only by this module's label
    functions, from fixed tags and ``html_text``."""


def html_text(text: Any) -> str:
    """Text inside an HTML-like label (and so inside the SVG that dot writes): line breaks (which
    Graphviz drops there) and other controls become spaces, what XML cannot hold U+FFFD; ``& < > " '
    ]`` are entities (Graphviz refuses a text that starts with ``]``) and a backslash is doubled (it
    reads ``\\N``, ``\\G`` … as the node's or the graph's name). Never empty (a space for no text):
    Graphviz refuses an empty ``<B>``, ``<I>`` or ``<FONT>``."""
    plain = _NOT_XML.sub("\ufffd", _CONTROL.sub(" ", _LINE_BREAK.sub(" ", str(text).replace("\t", " "))))
    return html.escape(plain, quote=True).replace("\\", "\\\\").replace("]", "&#93;") or " "


def dot_string(value: Any) -> str:
    """A DOT quoted string that Graphviz reads, and writes into the SVG, as ``value``: ``"`` escaped
    (so nothing ends the string); a backslash written as four (Graphviz unescapes a tooltip twice, and
    reads ``\\N``, ``\\G`` … in it as names); a line break ``\\n``; other controls spaces; what XML cannot
    hold U+FFFD; and ``&`` written ``&amp;`` (Graphviz reads entities in strings, and writes them into
    the SVG as they stand)."""
    text = _NOT_XML.sub("\ufffd", str(value))
    text = text.replace("\\", "\\" * 4).replace('"', '\\"').replace("&", "&amp;")
    text = _CONTROL.sub(" ", _LINE_BREAK.sub("\\\\n", text))
    return f'"{text}"'


def dot_attributes(values: Mapping[str, str]) -> str:
    """``[name=value …]``: the names are this module's; each value a quoted string, or an HTML-like
    label when it is ``Html``."""
    written = (
        f"{name}=<{value}>" if isinstance(value, Html) else f"{name}={dot_string(value)}"
        for name, value in values.items()
    )
    return "[" + " ".join(written) + "]"


def capped(text: str, limit: int) -> str:
    """The text on one line, at most ``limit`` characters (an ellipsis ends a cut one)."""
    return capped_text(" ".join(str(text).split()), limit)


def capped_lines(lines: Sequence[str], limit: int) -> str:
    """Lines (each on one line) joined by line breaks, at most ``limit`` characters in all."""
    return capped_text("\n".join(" ".join(str(line).split()) for line in lines), limit)


def capped_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrapped(text: str, width: int = WRAP, *, limit: int = SENTENCE_CAP) -> str:
    """Escaped, capped and broken into left-aligned lines."""
    lines = textwrap.wrap(capped(text, limit), width=width, break_long_words=True) or [""]
    return '<BR ALIGN="LEFT"/>'.join(html_text(line) for line in lines) + '<BR ALIGN="LEFT"/>'


def _small(text: str) -> str:
    """Small muted text; nothing at all for none (dot refuses an empty FONT element)."""
    return f'<FONT POINT-SIZE="8" COLOR="{MUTED}">{html_text(text)}</FONT>' if text.strip() else " "


TOOLTIP_CAP = 600


# --- Findings per place ---------------------------------------------------------------------------


@dataclass
class Marks:
    """The findings a card or a stage head shows."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def level(self) -> str | None:
        levels = sorted((f.level for f in self.findings), key=LEVEL_ORDER.__getitem__)
        return levels[0] if levels else None

    def labels(self) -> list[tuple[str, str]]:
        """(level, short label) per code, worst first; overlaps counted."""
        seen: dict[str, tuple[str, int]] = {}
        for f in self.findings:
            level, count = seen.get(f.code, (f.level, 0))
            seen[f.code] = (level, count + 1)
        out = []
        for code, (level, count) in sorted(seen.items(), key=lambda kv: (LEVEL_ORDER[kv[1][0]], kv[0])):
            label = FINDING_LABELS.get(code, code)
            if code == "overlap":
                label = f"Overlaps {count} offer{'s' if count != 1 else ''}"
            elif count > 1:
                label = f"{label} ×{count}"
            out.append((level, label))
        return out


def findings_by_place(findings: Iterable[Finding]) -> tuple[dict[str, Marks], dict[str, Marks]]:
    """Per offer key and per stage key, the findings to mark there.

    A finding is about its first offer (the hidden one of a shadow or duplicate, the offer of a
    contradiction or redundancy); an overlap is about both; an invalid fallback about every
    fallback it names; a finding without offers (a gap, an empty stage, the entry) about the stage.
    """
    offers: dict[str, Marks] = {}
    stages: dict[str, Marks] = {}
    for f in findings:
        if f.offers:
            about: Sequence[str] = f.offers if f.code in ("overlap", "fallback-invalid") else f.offers[:1]
            for key in about:
                offers.setdefault(key, Marks()).findings.append(f)
        elif f.stage:
            stages.setdefault(f.stage, Marks()).findings.append(f)
    return offers, stages


# --- The pieces -----------------------------------------------------------------------------------


def _sentences(groups: Any, catalog: Mapping[str, AttributeSpec]) -> list[list[str]]:
    return [
        [condition_sentence(c, catalog.get(c.get("attribute", ""))) for c in group if isinstance(c, dict)]
        for group in groups or []
        if isinstance(group, list)
    ]


def _groups_rows(groups: list[list[str]], *, colspan: int, everyone: str) -> list[str]:
    """Table rows for OR-of-AND groups: "either … or …" between groups, "and" inside one."""
    if not groups:
        return [
            f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"><FONT COLOR="{MUTED}"><I>{html_text(everyone)}</I></FONT></TD></TR>'
        ]
    rows: list[str] = []
    several = len(groups) > 1
    for gi, group in enumerate(groups[:GROUPS_CAP]):
        if several:
            word = "Either" if gi == 0 else "or"
            rows.append(
                f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="{MUTED}"><B>{word}</B></FONT></TD></TR>'
            )
        lines = []
        for ci, sentence in enumerate(group[:CONDITIONS_CAP]):
            lines.append(wrapped(sentence if ci == 0 else f"and {sentence}"))
        if len(group) > CONDITIONS_CAP:
            lines.append(wrapped(f"… and {len(group) - CONDITIONS_CAP} more conditions"))
        rows.append(f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT" BALIGN="LEFT">{"".join(lines)}</TD></TR>')
    if len(groups) > GROUPS_CAP:
        rows.append(
            f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"><FONT COLOR="{MUTED}">… or {len(groups) - GROUPS_CAP} more groups</FONT></TD></TR>'
        )
    return rows


def _mark_rows(marks: Marks | None, *, colspan: int) -> list[str]:
    if marks is None:
        return []
    # errors and warnings stand out; notes (overlaps, usually intended) stay quiet
    chips = "  ".join(
        f'<FONT COLOR="{COLOURS[level]}"><B>● {html_text(label)}</B></FONT>'
        if level != "info"
        else f'<FONT POINT-SIZE="8" COLOR="{COLOURS[level]}">● {html_text(label)}</FONT>'
        for level, label in marks.labels()
    )
    level = marks.level or "info"
    tint = f' BGCOLOR="{TINTS[level]}"' if level != "info" else ""
    return [f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"{tint}>{chips}</TD></TR>']


def _tooltip(marks: Marks | None, text: str) -> str:
    """A node's tooltip: its whole name, then its findings, a line each, capped (``dot_string`` quotes it)."""
    lines = [text]
    if marks is not None:
        lines += [f"{FINDING_LABELS.get(f.code, f.code)}: {f.message}" for f in marks.findings[:5]]
        if len(marks.findings) > 5:
            lines.append(f"… and {len(marks.findings) - 5} more findings")
    return capped_lines(lines, TOOLTIP_CAP)


def card_label(
    offer: Mapping[str, Any], priority: int, catalog: Mapping[str, AttributeSpec], marks: Marks | None
) -> Html:
    name = str(offer.get("name") or offer.get("key"))
    channel = str(offer.get("channel") or "")
    fallback = bool(offer.get("fallback"))
    border = COLOURS[marks.level] if marks is not None and marks.level in ("error", "warning") else LINE
    width = 3 if border != LINE else 1
    head_bg = "#eef1f5" if fallback else "#ffffff"
    number = "F" if fallback else str(priority)
    rows = [
        f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" BGCOLOR="{head_bg}" WIDTH="{CARD_WIDTH - 70}">'
        f'<FONT POINT-SIZE="9" COLOR="{MUTED}">{number}</FONT>  <B>{wrapped(name, 30, limit=90)}</B></TD>'
        f'<TD ALIGN="RIGHT" VALIGN="TOP" BGCOLOR="{head_bg}" WIDTH="70">{_small(capped(channel, 18))}</TD></TR>'
    ]
    if fallback:
        rows.append(
            f'<TR><TD COLSPAN="2" ALIGN="LEFT" BGCOLOR="{head_bg}"><FONT COLOR="{MUTED}"><I>Fallback: everyone else in the stage</I></FONT></TD></TR>'
        )
        groups = _sentences(offer.get("groups"), catalog)
        if groups:  # an invalid fallback with conditions: show them, lint marks it
            rows += _groups_rows(groups, colspan=2, everyone="")
    else:
        rows += _groups_rows(
            _sentences(offer.get("groups"), catalog), colspan=2, everyone="Everyone in the stage"
        )
    rows += _mark_rows(marks, colspan=2)
    return Html(
        f'<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="5" BGCOLOR="white" '
        f'COLOR="{border}">{"".join(rows)}</TABLE>'
    )


def head_label(stage: Mapping[str, Any], catalog: Mapping[str, AttributeSpec], marks: Marks | None) -> Html:
    name = str(stage.get("name") or stage.get("key"))
    offers = stage.get("offers") or []
    count = f"{len(offers)} offer{'s' if len(offers) != 1 else ''}"
    rows = [
        f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" WIDTH="{CARD_WIDTH}"><FONT POINT-SIZE="14"><B>{wrapped(name, 26, limit=90)}</B></FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="{MUTED}">{html_text(count)} · in priority order</FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="{MUTED}"><B>WHO IS IN THE STAGE</B></FONT></TD></TR>',
    ]
    rows += _groups_rows(_sentences(stage.get("entry"), catalog), colspan=1, everyone="Everyone")
    rows += _mark_rows(marks, colspan=1)
    return Html(f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4">{"".join(rows)}</TABLE>')


def title_label(subject: ExportSubject) -> Html:
    bp = subject.blueprint
    context = " · ".join(
        part for part in (str(bp.get("context") or ""), ", ".join(bp.get("channels") or [])) if part
    )
    banner_colour = "#a35f00" if subject.is_draft else INK
    legend = (
        f'<FONT COLOR="{MUTED}">Stages left to right · offers top to bottom in priority order (1 first, F the fallback) · </FONT>'
        f'<FONT COLOR="{COLOURS["error"]}">● error</FONT>  <FONT COLOR="{COLOURS["warning"]}">● warning</FONT>  '
        f'<FONT COLOR="{COLOURS["info"]}">● note</FONT>'
    )
    rows = [
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="20"><B>{html_text(capped(subject.title, 120))}</B></FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="12" COLOR="{banner_colour}"><B>{html_text(subject.label)}</B></FONT>'
        f'<FONT POINT-SIZE="10" COLOR="{MUTED}">   {html_text(str(subject.version.get("hash", ""))[:19])}</FONT></TD></TR>',
    ]
    if context:
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{MUTED}">{html_text(capped(context, 200))}</FONT></TD></TR>'
        )
    rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{legend}</FONT></TD></TR>')
    return Html(f'<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="2">{"".join(rows)}</TABLE>')


# --- The graph ------------------------------------------------------------------------------------


def diagram_dot(subject: ExportSubject) -> str:
    """The DOT source of the diagram: what ``format=dot`` gives and ``dot`` draws. Every stage is a
    cluster ``cluster_<key>`` holding its head ``stage_<key>`` and a node ``offer_<key>`` per offer;
    the edges are the invisible chains that keep each stage's offers in order and the journey arrows
    between the heads. Nothing else: no attribute names a file or a link."""
    snapshot = subject.snapshot
    catalog = dict(subject.spec.catalog)
    offer_marks, stage_marks = findings_by_place(subject.lint.findings)
    graph = {
        "newrank": "true",
        "rankdir": "TB",
        "nodesep": "0.3",
        "ranksep": "0.18",
        "fontname": FONT,
        "labelloc": "t",
        "labeljust": "l",
        "label": title_label(subject),
        "pad": "0.3",
        "bgcolor": "white",
        "tooltip": capped(subject.title, TOOLTIP_CAP),
    }
    nodes = {"shape": "plain", "fontname": FONT, "fontsize": "10", "fontcolor": INK}
    lines = [
        "digraph blueprint {",
        f"\tgraph {dot_attributes(graph)}",
        f"\tnode {dot_attributes(nodes)}",
        f"\tedge {dot_attributes({'color': '#8a96a6', 'arrowsize': '0.7'})}",
    ]
    cluster = {
        "style": "rounded,filled",
        "fillcolor": "#f4f6f9",
        "color": "#d5dbe3",
        "label": "",
        "margin": "10",
    }
    chain = {"style": "invis", "weight": "10"}
    heads: list[str] = []
    for stage in snapshot.get("stages", []):
        key = str(stage["key"])
        head = f"stage_{key}"
        heads.append(head)
        lines += [f"\tsubgraph {dot_string('cluster_' + key)} {{", f"\t\tgraph {dot_attributes(cluster)}"]
        marks = stage_marks.get(key)
        head_attributes = {
            "label": head_label(stage, catalog, marks),
            "id": f"stage-{key}",
            "tooltip": _tooltip(marks, str(stage.get("name") or key)),
            "class": f"stage level-{marks.level}" if marks and marks.level else "stage",
        }
        lines.append(f"\t\t{dot_string(head)} {dot_attributes(head_attributes)}")
        previous = head
        priority = 0
        for offer in stage.get("offers", []):
            okey = str(offer["key"])
            node = f"offer_{okey}"
            if not offer.get("fallback"):
                priority += 1
            omarks = offer_marks.get(okey)
            level = omarks.level if omarks else None
            card = {
                "label": card_label(offer, priority, catalog, omarks),
                "id": f"offer-{okey}",
                "tooltip": _tooltip(omarks, str(offer.get("name") or okey)),
                "class": f"offer level-{level}" if level else "offer",
            }
            lines.append(f"\t\t{dot_string(node)} {dot_attributes(card)}")
            lines.append(f"\t\t{dot_string(previous)} -> {dot_string(node)} {dot_attributes(chain)}")
            previous = node
        lines.append("\t}")
    if heads:
        lines += ["\t{", f"\t\tgraph {dot_attributes({'rank': 'same'})}"]
        lines += [f"\t\t{dot_string(head)}" for head in heads]
        lines.append("\t}")
        journey = {"penwidth": "1.5", "tooltip": "next stage of the journey"}
        lines += [
            f"\t{dot_string(one)} -> {dot_string(other)} {dot_attributes(journey)}"
            for one, other in itertools.pairwise(heads)
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram_render(dot_source: str, fmt: Format, *, fit_inches: int | None = None, dpi: int = 96) -> bytes:
    """Draw the DOT source with ``dot`` as SVG (through ``svg_clean``), PNG or PDF; ``fit_inches``
    scales a larger drawing down to fit that square (the PDF spec's raster picture). Raises ``GraphvizMissing`` when
    Graphviz is not installed and ``DiagramFailed`` when it cannot draw this one."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(INSTALL_HINT, field="format")
    options = [f"-Gsize={fit_inches},{fit_inches}", f"-Gdpi={dpi}"] if fit_inches else []
    try:
        done = subprocess.run(
            [dot, f"-T{fmt}", *options],
            input=dot_source.encode(),
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GraphvizMissing(INSTALL_HINT, field="format") from None
    except subprocess.TimeoutExpired:
        raise DiagramFailed(
            f"Graphviz took longer than {RENDER_TIMEOUT} s to draw this diagram.", field="format"
        ) from None
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode(errors="replace").strip()[:300] or f"exit status {done.returncode}"
        raise DiagramFailed(f"Graphviz could not draw this diagram: {reason}", field="format")
    return svg_document(done.stdout) if fmt == "svg" else done.stdout


# --- The SVG: only drawing, whatever dot was given ------------------------------------------------------
#
# Defence in depth: the SVG is shown inside the app's pages and the downloaded spec, and opened from
# disk. Whatever reached dot, what leaves here holds only the elements and attributes a drawing of this
# module needs: no script, no event handler, no link or reference to anything (no href at all, no
# url(…)), no foreignObject, image, style sheet or animation.

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_ELEMENTS = frozenset(
    f"{{{SVG_NS}}}{name}"
    for name in ("svg", "g", "title", "desc", "a", "polygon", "polyline", "path", "ellipse", "circle")
)
SVG_ELEMENTS |= {f"{{{SVG_NS}}}{name}" for name in ("rect", "line", "text", "tspan")}
TOOLTIP = f"{{{XLINK_NS}}}title"
SVG_ATTRIBUTES = frozenset(
    {
        *("id", "class", "transform", "width", "height", "viewBox", "points", "d"),
        *("x", "y", "cx", "cy", "rx", "ry", "r", "x1", "y1", "x2", "y2", "dx", "dy"),
        *("fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity"),
        *("stroke-linecap", "stroke-linejoin", "opacity", "preserveAspectRatio"),
        *("font-family", "font-size", "font-weight", "font-style", "text-anchor", "text-decoration"),
        "baseline-shift",
        TOOLTIP,  # text only
    }
)
_REFERENCE = re.compile(r"url\s*\(|javascript:|data:|expression\s*\(|[<>]", re.I)


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    remove_comments=True,
    remove_pis=True,
    huge_tree=True,
)


def svg_clean(svg: bytes) -> etree._Element:
    """The drawing in ``svg`` (dot's output) with nothing but the elements and attributes above: any
    other element is dropped with what it holds, any other attribute, and a value that refers to
    something (``url(…)``, ``javascript:``, ``data:``) where text is not expected."""
    root = etree.fromstring(svg, _PARSER)
    if root.tag != f"{{{SVG_NS}}}svg":
        raise DiagramFailed("Graphviz did not answer an SVG drawing.", field="format")
    dropped = []
    for element in root.iter():
        if element.tag not in SVG_ELEMENTS:
            dropped.append(element)
            continue
        attributes = element.attrib
        if not SVG_ATTRIBUTES.issuperset(attributes.keys()):
            for name in [n for n in attributes if n not in SVG_ATTRIBUTES]:
                del attributes[name]
        values = "\n".join(v for n, v in attributes.items() if n != TOOLTIP)
        # a reference needs a parenthesis, a colon or a bracket: most elements have none
        if ("(" in values or ":" in values or "<" in values or ">" in values) and _REFERENCE.search(values):
            for name in [n for n, v in attributes.items() if n != TOOLTIP and _REFERENCE.search(v)]:
                del attributes[name]
    for element in dropped:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)  # with its tail text: only the layout's white space
    return root


def svg_document(svg: bytes) -> bytes:
    """``svg_clean``'s drawing as a standalone SVG file."""
    return bytes(etree.tostring(svg_clean(svg), encoding="utf-8", xml_declaration=True))


_DECLARATION = re.compile(rb"\A<\?xml[^>]*\?>\s*")


def svg_inline(svg: bytes) -> str:
    """``diagram_render``'s SVG (already through ``svg_clean``: it is the only maker of SVG here) as
    an element to put inside an HTML page: without its XML declaration."""
    return _DECLARATION.sub(b"", svg, count=1).decode("utf-8")
