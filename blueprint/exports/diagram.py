"""The blueprint as a picture: Graphviz DOT built with the ``graphviz`` package, drawn by ``dot``.

Layout: one cluster per stage, left to right in journey order (the stages' head nodes share one
rank, ``newrank``, and are chained by the journey arrows, which dot lays out left to right);
inside a cluster the head (name, entry conditions, the stage's own findings) and then one card
per offer, top to bottom in priority order (an invisible chain of edges fixes the order). A card
shows the priority, the name, the channel, the conditions as sentences (``condition_sentence``),
several groups as "either … or …", the fallback marked as such, and the lint findings that are
about it as a coloured border and short labels.

Every text is escaped for HTML-like labels and wrapped by hand (dot does not wrap), sentences are
capped (the full text stays in the card's tooltip), and cards have one width, so a 500-offer
blueprint is a tidy grid that stays legible when zoomed. Rendering needs the ``dot`` executable;
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

import graphviz

from blueprint.conditions import AttributeSpec, condition_sentence
from blueprint.errors import BlueprintError
from blueprint.exports.subject import FINDING_LABELS, ExportSubject
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


# --- Text for HTML-like labels ------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def esc(text: Any) -> str:
    """Text safe inside an HTML-like label (and so inside the SVG that dot writes)."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=True)


def capped(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrapped(text: str, width: int = WRAP, *, limit: int = SENTENCE_CAP) -> str:
    """Escaped, capped and broken into left-aligned lines."""
    lines = textwrap.wrap(capped(text, limit), width=width, break_long_words=True) or [""]
    return '<BR ALIGN="LEFT"/>'.join(esc(line) for line in lines) + '<BR ALIGN="LEFT"/>'


def _small(text: str) -> str:
    """Small muted text; nothing at all for none (dot refuses an empty FONT element)."""
    return f'<FONT POINT-SIZE="8" COLOR="{MUTED}">{esc(text)}</FONT>' if text.strip() else " "


def _attr(value: str) -> str:
    """A quoted attribute's value (tooltip): Graphviz reads backslashes in it as escapes (``\\N``,
    ``\\l``), so each is doubled; a trailing one would otherwise swallow the closing quote."""
    return capped(_CONTROL.sub(" ", value), 600).replace("\\", "\\\\")


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
            f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"><FONT COLOR="{MUTED}"><I>{esc(everyone)}</I></FONT></TD></TR>'
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
        f'<FONT COLOR="{COLOURS[level]}"><B>● {esc(label)}</B></FONT>'
        if level != "info"
        else f'<FONT POINT-SIZE="8" COLOR="{COLOURS[level]}">● {esc(label)}</FONT>'
        for level, label in marks.labels()
    )
    level = marks.level or "info"
    tint = f' BGCOLOR="{TINTS[level]}"' if level != "info" else ""
    return [f'<TR><TD COLSPAN="{colspan}" ALIGN="LEFT"{tint}>{chips}</TD></TR>']


def _tooltip(marks: Marks | None, text: str) -> str:
    lines = [text]
    if marks is not None:
        lines += [f"{FINDING_LABELS.get(f.code, f.code)}: {f.message}" for f in marks.findings[:5]]
        if len(marks.findings) > 5:
            lines.append(f"… and {len(marks.findings) - 5} more findings")
    return "\n".join(lines)


def card_label(
    offer: Mapping[str, Any], priority: int, catalog: Mapping[str, AttributeSpec], marks: Marks | None
) -> str:
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
    return (
        f'<<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="5" BGCOLOR="white" '
        f'COLOR="{border}">{"".join(rows)}</TABLE>>'
    )


def head_label(stage: Mapping[str, Any], catalog: Mapping[str, AttributeSpec], marks: Marks | None) -> str:
    name = str(stage.get("name") or stage.get("key"))
    offers = stage.get("offers") or []
    count = f"{len(offers)} offer{'s' if len(offers) != 1 else ''}"
    rows = [
        f'<TR><TD ALIGN="LEFT" BALIGN="LEFT" WIDTH="{CARD_WIDTH}"><FONT POINT-SIZE="14"><B>{wrapped(name, 26, limit=90)}</B></FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="{MUTED}">{esc(count)} · in priority order</FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="8" COLOR="{MUTED}"><B>WHO IS IN THE STAGE</B></FONT></TD></TR>',
    ]
    rows += _groups_rows(_sentences(stage.get("entry"), catalog), colspan=1, everyone="Everyone")
    rows += _mark_rows(marks, colspan=1)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4">{"".join(rows)}</TABLE>>'


def title_label(subject: ExportSubject) -> str:
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
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="20"><B>{esc(capped(subject.title, 120))}</B></FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="12" COLOR="{banner_colour}"><B>{esc(subject.label)}</B></FONT>'
        f'<FONT POINT-SIZE="10" COLOR="{MUTED}">   {esc(str(subject.version.get("hash", ""))[:19])}</FONT></TD></TR>',
    ]
    if context:
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{MUTED}">{esc(capped(context, 200))}</FONT></TD></TR>'
        )
    rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{legend}</FONT></TD></TR>')
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLPADDING="2">{"".join(rows)}</TABLE>>'


# --- The graph ------------------------------------------------------------------------------------


def diagram_graph(subject: ExportSubject) -> graphviz.Digraph:
    snapshot = subject.snapshot
    catalog = dict(subject.spec.catalog)
    offer_marks, stage_marks = findings_by_place(subject.lint.findings)
    graph = graphviz.Digraph(
        "blueprint",
        graph_attr={
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
            "tooltip": _attr(subject.title),
        },
        node_attr={"shape": "plain", "fontname": FONT, "fontsize": "10", "fontcolor": INK},
        edge_attr={"color": "#8a96a6", "arrowsize": "0.7"},
    )
    heads: list[str] = []
    for stage in snapshot.get("stages", []):
        key = str(stage["key"])
        head = f"stage_{key}"
        heads.append(head)
        with graph.subgraph(name=f"cluster_{key}") as cluster:
            cluster.attr(style="rounded,filled", fillcolor="#f4f6f9", color="#d5dbe3", label="", margin="10")
            marks = stage_marks.get(key)
            cluster.node(
                head,
                label=head_label(stage, catalog, marks),
                id=f"stage-{key}",
                tooltip=_attr(_tooltip(marks, str(stage.get("name") or key))),
                **{"class": f"stage level-{marks.level}" if marks and marks.level else "stage"},
            )
            previous = head
            priority = 0
            for offer in stage.get("offers", []):
                okey = str(offer["key"])
                node = f"offer_{okey}"
                if not offer.get("fallback"):
                    priority += 1
                omarks = offer_marks.get(okey)
                level = omarks.level if omarks else None
                cluster.node(
                    node,
                    label=card_label(offer, priority, catalog, omarks),
                    id=f"offer-{okey}",
                    tooltip=_attr(_tooltip(omarks, str(offer.get("name") or okey))),
                    **{"class": f"offer level-{level}" if level else "offer"},
                )
                cluster.edge(previous, node, style="invis", weight="10")
                previous = node
    if heads:
        with graph.subgraph() as row:
            row.attr(rank="same")
            for head in heads:
                row.node(head)
        for one, other in itertools.pairwise(heads):
            graph.edge(one, other, penwidth="1.5", tooltip="next stage of the journey")
    return graph


def diagram_dot(subject: ExportSubject) -> str:
    """The DOT source of the diagram: what ``format=dot`` gives and ``dot`` draws."""
    return diagram_graph(subject).source


def diagram_render(dot_source: str, fmt: Format, *, fit_inches: int | None = None, dpi: int = 96) -> bytes:
    """Draw the DOT source with ``dot`` as SVG, PNG or PDF; ``fit_inches`` scales a larger drawing
    down to fit that square (the PDF spec's raster picture). Raises ``GraphvizMissing`` when
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
    return done.stdout


_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>)?\s*(<!DOCTYPE[^>]*>)?\s*(<!--.*?-->\s*)*", re.S)


def svg_inline(svg: bytes) -> str:
    """The SVG as an element to put inside an HTML page: without its XML prolog and DOCTYPE."""
    return _PROLOG.sub("", svg.decode("utf-8"), count=1)
