"""The journey as a Mermaid flowchart: the diagram of the Markdown spec, which GitHub and GitLab draw.

One subgraph per stage, left to right in journey order, each holding who is in the stage (its entry
rules as a sentence) and then its offers top to bottom in priority order, the fallback last and
marked; an arrow leads from each stage to the next. The full picture, with every card's conditions
and the lint's findings, is the Graphviz diagram (``diagram.py``: the ``dot``, ``svg``, ``png`` and
``diagram-pdf`` exports).

Mermaid reads more than shapes: directives (``%%{init: …}%%`` anywhere in the text), comments,
``click … call …`` statements, ``:::class``, Font Awesome's ``fa:``, HTML and Markdown in labels.
So the source is written here from fixed statements and generated ids (``stage1``,
``stage1_offer2``: never people's words), and every label is a double-quoted string made by one
function, ``mermaid_label``, from text escaped by ``mermaid_text``: each character but an ASCII letter,
digit, space or one of ``.,-'()?!/`` becomes Mermaid's numeric entity ``#<code>;``. No name can end
its label, start a statement, open a directive or a comment, or be read as markup: Mermaid shows it as
the text it is.

Mermaid refuses a diagram of more than 50,000 characters or 500 edges (its defaults, and GitHub's),
so a stage shows its first offers and counts the rest, fewer when the whole would be too long.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blueprint.exports.spec import StageSection

MAX_SOURCE = 40_000  # characters: under Mermaid's maxTextSize (50,000), with room to spare
OFFERS_SHOWN = (12, 5, 0)  # offers drawn per stage, tried in turn until the source fits
NAME_CAP = 80  # characters of a name on a node
ENTRY_CAP = 240  # characters of a stage's entry rules on its node

_PLAIN = re.compile(r"[A-Za-z0-9 .,\-'()?!/]")


def _one_line(text: object) -> str:
    """On one line: controls (line breaks among them) become spaces, runs of space one."""
    spaced = "".join(" " if unicodedata.category(c) == "Cc" else c for c in str(text))
    return " ".join(spaced.split())


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mermaid_text(text: object) -> str:
    """Text for inside a Mermaid label: on one line, and every character but an ASCII letter, digit,
    space or ``.,-'()?!/`` written as Mermaid's entity ``#<decimal code>;`` — among them ``"`` (which
    would end the label), ``#`` and ``;`` (entities), ``%`` and ``{`` (directives), ``:`` (``fa:`` icons,
    ``style …:`` rewriting), ``<`` and ``&`` (HTML), the backtick (Markdown strings) and every character
    outside ASCII. Mermaid decodes its entities twice, reading ``ﬂ°`` as ``&`` and ``¶ß`` as ``;`` the
    second time: an invisible word joiner (U+2060) goes between those letters, so they show as
    written."""
    text = (
        _one_line(text)
        .replace("\ufb02\u00b0", "\ufb02\u2060\u00b0")
        .replace("\u00b6\u00df", "\u00b6\u2060\u00df")
    )
    return "".join(c if _PLAIN.fullmatch(c) else f"#{ord(c)};" for c in text)


def mermaid_label(text: str) -> str:
    """A node's or a subgraph's label: the text escaped, in a double-quoted string. On one line,
    never with markup, not even ``<br>``: a label with markup is read as HTML before Mermaid looks
    for ``fa:`` icons, which would then turn a name into an icon (Mermaid wraps a long label
    itself). A label with no text is a space: Mermaid refuses an empty one."""
    return f'"{mermaid_text(text) or " "}"'


def _stage_lines(stage: StageSection, number: int, shown: int) -> list[str]:
    sid = f"stage{number}"
    lines = [
        f"  subgraph {sid} [{mermaid_label(_capped(_one_line(stage.name), NAME_CAP))}]",
        "    direction TB",
        f"    {sid}_entry({mermaid_label('Who is in the stage: ' + _capped(stage.entry_text, ENTRY_CAP))})",
    ]
    ranked = [r for r in stage.rows if not r.fallback]
    fallbacks = [r for r in stage.rows if r.fallback]
    nodes = [f"{sid}_entry"]
    for i, row in enumerate(ranked[:shown], start=1):
        name = _capped(_one_line(row.name), NAME_CAP)
        channel = _capped(_one_line(row.channel), NAME_CAP)
        label = f"{row.priority}. {name}" + (f" · {channel}" if channel else "")
        lines.append(f"    {sid}_offer{i}[{mermaid_label(label)}]")
        nodes.append(f"{sid}_offer{i}")
    hidden = len(ranked) - min(shown, len(ranked))
    if hidden:
        more = f"… and {hidden} more offer{'s' if hidden != 1 else ''}"
        lines.append(f"    {sid}_more[{mermaid_label(f'{more} (see 4.{number} of the spec)')}]")
        nodes.append(f"{sid}_more")
    if not stage.rows:
        lines.append(f"    {sid}_none[{mermaid_label('No offers yet')}]")
        nodes.append(f"{sid}_none")
    lines += [f"    {one} --> {other}" for one, other in itertools.pairwise(nodes)]
    for i, row in enumerate(fallbacks, start=1):
        name = _capped(_one_line(row.name), NAME_CAP)
        lines.append(
            f"    {sid}_fallback{i}[{mermaid_label(f'Fallback: {name} (everyone else in the stage)')}]"
        )
        lines.append(f"    {nodes[-1]} -.-> {sid}_fallback{i}")
        lines.append(f"    class {sid}_fallback{i} fallback")
    lines.append("  end")
    return lines


def _flowchart(stages: Sequence[StageSection], shown: int) -> str:
    lines = [
        "flowchart LR",
        "  classDef fallback fill:#eef1f5,stroke:#8a96a6,stroke-dasharray:4 3",
    ]
    for number, stage in enumerate(stages, start=1):
        lines += _stage_lines(stage, number, shown)
    ids = [f"stage{number}" for number in range(1, len(stages) + 1)]
    lines += [f"  {one} --> {other}" for one, other in itertools.pairwise(ids)]
    if not stages:
        lines.append(f"  empty[{mermaid_label('No stages yet')}]")
    return "\n".join(lines) + "\n"


def journey_flowchart(stages: Sequence[StageSection]) -> str:
    """The Mermaid source of the journey (what the Markdown spec puts in its ```` ```mermaid ````
    block): every stage and, per stage, as many of its offers as keep the source under
    ``MAX_SOURCE``."""
    source = ""
    for shown in OFFERS_SHOWN:
        source = _flowchart(stages, shown)
        if len(source) <= MAX_SOURCE:
            break
    return source
