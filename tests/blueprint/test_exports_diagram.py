"""The diagram (blueprint/exports/diagram.py): DOT written and quoted by the module, drawn by dot.

The SVG holds every stage and offer (by id, with the name in its tooltip), stages left to right
and offers top to bottom in priority order; text is escaped, long text capped and wrapped; the
fallback and lint findings are marked; the title says which version it is; without dot the
drawing is refused with a message naming Graphviz.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from blueprint.exports.diagram import WRAP, GraphvizMissing, diagram_dot, diagram_render, graphviz_available
from blueprint.exports.subject import ExportSubject
from tests.blueprint.export_blueprints import snapshots, subject_of
from tests.decisioning import oracle

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
needs_dot = pytest.mark.skipif(not graphviz_available(), reason="needs Graphviz's dot")


def drawn(subject: ExportSubject) -> ET.Element:
    return ET.fromstring(diagram_render(diagram_dot(subject), "svg"))


def nodes(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id", ""): g for g in svg.iter(f"{SVG}g") if "node" in (g.get("class") or "")}


def top_left(node: ET.Element) -> tuple[float, float]:
    """Where a node's text starts (its leftmost and topmost line), in SVG coordinates."""
    texts = list(node.iter(f"{SVG}text"))
    return min(float(t.get("x") or 0) for t in texts), min(float(t.get("y") or 0) for t in texts)


def tooltip(node: ET.Element) -> str:
    return " ".join(a.get(f"{XLINK}title") or "" for a in node.iter(f"{SVG}a"))


@needs_dot
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots(max_stages=4, max_offers=5))
def test_the_svg_has_every_stage_and_offer_in_their_order(snapshot: dict[str, Any]) -> None:
    subject = subject_of(snapshot)
    found = nodes(drawn(subject))
    lefts = []
    for stage in subject.snapshot["stages"]:
        head = found[f"stage-{stage['key']}"]
        assert stage["name"].replace("\n", " ")[:80].split()[0] in tooltip(head)
        lefts.append(top_left(head)[0])
        tops = []
        for offer in stage["offers"]:
            card = found[f"offer-{offer['key']}"]
            assert offer["name"].split()[0] in tooltip(card)
            tops.append(top_left(card)[1])
        assert tops == sorted(tops), "offers top to bottom in priority order"
    assert lefts == sorted(lefts), "stages left to right"


def small(name: str = "Welcome", **offer: Any) -> dict[str, Any]:
    r = oracle.raw
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": name, "context": "Retail", "channels": ["web"]},
        "attributes": [{"key": "age", "label": "Age", "type": "number", "unit": "years"}],
        "stages": [
            {
                "key": "start",
                "name": "Start",
                "entry": [],
                "offers": [
                    {"key": "adults", "name": "Adults", "groups": [[r("age", "at_least", 18)]]},
                    {"key": "older", "name": "Older adults", "groups": [[r("age", "at_least", 30)]]},
                    {"key": "hello", "name": "Say hello", "fallback": True, "groups": [], **offer},
                ],
            }
        ],
    }


@needs_dot
def test_text_is_escaped_and_long_text_capped_and_wrapped() -> None:
    snapshot = small('<script>alert("x")</script> & Co')
    snapshot["stages"][0]["offers"][2]["name"] = "A very long name " * 20
    subject = subject_of(snapshot)
    dot = diagram_dot(subject)
    # escaped inside the HTML-like labels (in quoted attributes such as the tooltip dot escapes it itself)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in dot
    svg = diagram_render(dot, "svg").decode()
    assert "<script" not in svg and "&lt;script&gt;" in svg
    lines = re.findall(r">([^<>]+)<BR", dot)
    assert lines and max(len(line) for line in lines) <= WRAP + 10
    assert "…" in dot  # the long name is capped on the card (and whole in the tooltip)


@needs_dot
def test_the_fallback_and_the_lint_findings_are_marked() -> None:
    subject = subject_of(small())
    found = nodes(drawn(subject))
    older = found["offer-older"]
    assert "level-error" in (older.get("class") or "")  # shadowed by "Adults"
    assert "Never shown" in "".join(older.itertext())
    assert "Fallback: everyone else in the stage" in "".join(found["offer-hello"].itertext())
    assert found["offer-adults"].get("class") == "node offer"  # a hidden offer overlaps nothing


@needs_dot
def test_the_title_says_which_version_it_is() -> None:
    draft = subject_of(small())
    assert "Draft — not published, rev 7" in "".join(drawn(draft).itertext())
    version = ExportSubject(
        snapshot=draft.snapshot,
        version={"number": 4, "status": "approved", "hash": "sha256:abc", "rev": 3},
        at=draft.at,
    )
    assert "Version 4 · Approved" in "".join(drawn(version).itertext())


@needs_dot
def test_png_and_pdf_are_drawn_too() -> None:
    dot = diagram_dot(subject_of(small()))
    assert diagram_render(dot, "png").startswith(b"\x89PNG")
    assert diagram_render(dot, "pdf").startswith(b"%PDF-")


def test_without_dot_drawing_is_refused_naming_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not graphviz_available()
    dot = diagram_dot(subject_of(small()))  # the source needs no Graphviz
    with pytest.raises(GraphvizMissing) as caught:
        diagram_render(dot, "svg")
    assert caught.value.status == 503 and "Install Graphviz" in caught.value.message
