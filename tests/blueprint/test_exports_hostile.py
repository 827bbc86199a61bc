"""Every export of a blueprint whose words look like code stays data (issue 14 §1).

The blueprints (``export_blueprints.hostile_snapshots``) have arbitrary Unicode with fragments of
SQL, DOT, HTML, Markdown, FEEL and CSV in every name, label, description, unit, source, channel,
choice and value, and keys from the whole key alphabet (FEEL and SQL keywords, the exporters' own
names among them). For each:

- the SQL export is exactly one statement for DuckDB's parser, and run over profiles it answers
  what the reference evaluator answers;
- the DOT source, as Graphviz reads it, has exactly the blueprint's clusters, nodes and edges, and
  no attribute the exporter does not write (no URL, href, image, target …);
- the SVG (as served and inlined) and the HTML spec hold no active content: no script, no event
  handler, no link or reference the project did not write;
- the DMN reads without a warning in dmn-moddle, every FEEL text parses in feelin, and its tables
  decide as the reference evaluator does;
- the Markdown spec has the structure of the same spec with every text a plain word, and its
  diagram block holds the Mermaid flowchart exactly (drawn by Mermaid itself in
  tests/browser/test_spec_mermaid.py).

Graphviz and node are run once per example for all its blueprints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import random
import subprocess
from collections import Counter
from typing import Any

import duckdb
import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from markdown_it import MarkdownIt

from blueprint.exports.cases import cases_json
from blueprint.exports.diagram import SVG_ELEMENTS, diagram_dot, graphviz_available, svg_document, svg_inline
from blueprint.exports.dmn import dmn_xml
from blueprint.exports.mermaid import journey_flowchart
from blueprint.exports.spec import Spec, spec_build, spec_html, spec_markdown
from blueprint.exports.subject import ExportSubject
from decisioning import sql
from decisioning.engine import compile_spec
from tests.blueprint.export_blueprints import (
    dmn_evaluate_many,
    hostile_snapshots,
    node_available,
    profiles_for,
    subject_of,
)
from tests.decisioning import oracle

pytestmark = [
    pytest.mark.skipif(not graphviz_available(), reason="needs Graphviz's dot"),
    pytest.mark.skipif(not node_available(), reason="needs node and npm ci (dmn-moddle, feelin)"),
]

PROFILES = 12  # per blueprint, besides its acceptance cases

# --- Graphviz, once for many graphs --------------------------------------------------------------------


def dot_many(sources: list[str], fmt: str) -> bytes:
    done = subprocess.run(
        ["dot", f"-T{fmt}"], input="".join(sources).encode(), capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def dot_json_many(sources: list[str]) -> list[dict[str, Any]]:
    """Each graph as Graphviz read it (``-Tjson0``: objects, edges, attributes)."""
    out, decoder, at, docs = dot_many(sources, "json0").decode(), json.JSONDecoder(), 0, []
    while True:
        while at < len(out) and out[at].isspace():
            at += 1
        if at == len(out):
            return docs
        doc, at = decoder.raw_decode(out, at)
        docs.append(doc)


def dot_svg_many(sources: list[str]) -> list[bytes]:
    """Each graph drawn as dot's SVG, as ``diagram_render`` gets it before cleaning."""
    parts = dot_many(sources, "svg").split(b"<?xml")
    return [b"<?xml" + part for part in parts if part.strip()]


# what Graphviz adds when it lays a graph out, and every attribute the exporter writes
LAYOUT_KEYS = {
    "_gvid",
    "_subgraph_cnt",
    "name",
    "directed",
    "strict",
    "objects",
    "edges",
    "nodes",
    "subgraphs",
}
LAYOUT_KEYS |= {"bb", "pos", "width", "height", "lp", "lheight", "lwidth", "head", "tail"}
WRITTEN_KEYS = {"newrank", "rankdir", "nodesep", "ranksep", "fontname", "labelloc", "labeljust", "label"}
WRITTEN_KEYS |= {"pad", "bgcolor", "tooltip", "shape", "fontsize", "fontcolor", "color", "arrowsize"}
WRITTEN_KEYS |= {"style", "fillcolor", "margin", "id", "class", "weight", "penwidth", "rank"}


def check_dot(snapshot: dict[str, Any], graph: dict[str, Any]) -> None:
    stages = snapshot["stages"]
    clusters = {f"cluster_{s['key']}" for s in stages}
    nodes = Counter(f"stage_{s['key']}" for s in stages) + Counter(
        f"offer_{o['key']}" for s in stages for o in s["offers"]
    )
    edges: Counter[tuple[str, str]] = Counter()
    for s in stages:
        chain = [f"stage_{s['key']}", *(f"offer_{o['key']}" for o in s["offers"])]
        edges.update(itertools.pairwise(chain))
    heads = [f"stage_{s['key']}" for s in stages]
    edges.update(itertools.pairwise(heads))

    objects = graph.get("objects", [])
    subgraphs, drawn = objects[: graph["_subgraph_cnt"]], objects[graph["_subgraph_cnt"] :]
    assert {g["name"] for g in subgraphs if g["name"].startswith("cluster_")} == clusters
    assert len(subgraphs) == len(clusters) + (1 if stages else 0)  # the clusters and the row of heads
    assert Counter(n["name"] for n in drawn) == nodes
    names = {o["_gvid"]: o["name"] for o in drawn}
    assert Counter((names[e["tail"]], names[e["head"]]) for e in graph.get("edges", [])) == edges
    for thing in [graph, *objects, *graph.get("edges", [])]:
        unwritten = set(thing) - LAYOUT_KEYS - WRITTEN_KEYS
        assert not unwritten, (thing.get("name"), unwritten)


# --- No active content ----------------------------------------------------------------------------------

LINKING = {"href", "src", "action", "formaction", "srcset", "poster", "background", "xlink:href", "data"}


def check_svg(document: bytes) -> None:
    """A standalone SVG as served: well-formed XML holding drawing elements only, no handler, no link."""
    root = etree.fromstring(document)
    for element in root.iter():
        assert element.tag in SVG_ELEMENTS, element.tag
        for name, value in element.attrib.items():
            local = etree.QName(name).localname
            assert not local.lower().startswith("on"), name
            assert local not in LINKING, name
            if local != "title":
                assert "url(" not in value.lower() and "javascript:" not in value.lower(), (name, value)


def check_html(document: str) -> None:
    """The HTML spec: nothing that runs, loads or links anywhere but inside the document."""
    page = lxml.html.document_fromstring(document)
    tags = Counter(str(e.tag).lower() for e in page.iter() if isinstance(e.tag, str))
    for tag in (
        "script",
        "iframe",
        "object",
        "embed",
        "link",
        "base",
        "form",
        "foreignobject",
        "image",
        "use",
    ):
        assert tags[tag] == 0, tag
    assert tags["style"] == 1  # the spec's own style sheet, in the head
    policy = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert policy and "default-src 'none'" in policy[0]
    for element in page.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            if name.lower() in LINKING:
                assert value.startswith("#") or value.startswith("data:image/png;base64,"), (name, value)
            if name.lower() == "style":
                assert "url(" not in value.lower(), value


# --- SQL ------------------------------------------------------------------------------------------------

COLUMN_TYPES = {"number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}


def check_sql(subject: ExportSubject, profiles: list[dict[str, Any]]) -> None:
    compiled = compile_spec(subject.spec, {"draft": True, "rev": 7})
    title = f"{subject.title} — {subject.label}"
    undated = sql.export_sql(compiled, at=None, title=title)
    query = sql.export_sql(compiled, at=subject.at, title=title)
    for text in (undated, query):
        (statement,) = duckdb.extract_statements(text)
        assert statement.type == duckdb.StatementType.SELECT
    catalog = subject.spec.catalog
    con = duckdb.connect()
    columns = ", ".join(f"{sql.ident(k)} {COLUMN_TYPES.get(a.type, 'VARCHAR')}" for k, a in catalog.items())
    con.execute(f'CREATE TABLE profiles ("#n" INTEGER, {columns})')
    rows = []
    for n, profile in enumerate(profiles):
        row: list[Any] = [n]
        for key, attr in catalog.items():
            value = profile.get(key)
            if value is not None and attr.type == "date":
                value = dt.date.fromisoformat(value)
            elif value is not None and attr.type == "set":
                value = "|".join(value)
            row.append(value)
        rows.append(row)
    if rows:
        con.executemany(f"INSERT INTO profiles VALUES ({', '.join('?' * (len(catalog) + 1))})", rows)
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    answers = sorted(cursor.fetchall())
    assert len(answers) == len(profiles)
    for profile, answer in zip(profiles, answers, strict=True):
        got = dict(zip(names, answer, strict=True))
        expected = {d["stage"]: d for d in oracle.reference_decide(subject.snapshot, profile, subject.at)}
        for stage in subject.spec.stages:
            entered, offer, fallback, eligible = (got[c] for c in sql.stage_columns(stage.key))
            want = expected.get(stage.key)
            assert bool(entered) == (want is not None), (stage.key, profile)
            if want is not None:
                assert (offer, bool(fallback)) == (want["offer"], want["fallback"]), (stage.key, profile)
                assert (eligible.split("|") if eligible else []) == want["eligible"], (stage.key, profile)


# --- DMN ------------------------------------------------------------------------------------------------


def check_dmn(
    subject: ExportSubject, xml: bytes, profiles: list[dict[str, Any]], answer: dict[str, Any]
) -> None:
    assert answer["warnings"] == []
    assert answer["feelErrors"] == []
    root = etree.fromstring(xml)
    ids = Counter(e.get("id") for e in root.iter() if e.get("id") is not None)
    assert [i for i, n in ids.items() if n > 1] == []
    names = Counter(
        e.get("name") for e in root.iter() if etree.QName(e).localname in ("inputData", "decision")
    )
    assert [n for n, count in names.items() if count > 1] == []
    for profile, result in zip(profiles, answer["results"], strict=True):
        for stage in subject.snapshot["stages"]:
            expected = oracle.decide_stage(subject.snapshot, stage["key"], profile, subject.at)
            got = result[f"decision.{stage['key']}"]
            if not expected["eligible"] or expected["offer"] is None:
                assert got is None, (stage["key"], profile)
            else:
                assert got == {"offer": expected["offer"], "fallback": expected["fallback"]}, (
                    stage["key"],
                    profile,
                )


# --- Markdown -------------------------------------------------------------------------------------------

KEY_FIELDS = {"code", "key", "stage", "offer", "offers", "part", "type"}


def plain(value: Any) -> Any:
    """The spec with every text of people's a plain word ("x", or "" for nothing to show), keys and
    codes kept: the structure its Markdown must have."""
    if isinstance(value, str):
        return "x" if value.split() else ""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and f.name not in KEY_FIELDS
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def shape(tokens: list[Any]) -> list[Any]:
    out: list[Any] = []
    for t in tokens:
        children = []
        for c in t.children or []:
            if not (c.type == "text" and children and children[-1] == "text"):
                children.append(c.type)
        out.append((t.type, t.tag, t.level, tuple(children)))
    return out


def check_markdown(spec: Spec) -> None:
    text = spec_markdown(spec)
    tokens = MARKDOWN.parse(text)
    assert shape(tokens) == shape(MARKDOWN.parse(spec_markdown(plain(spec))))
    (fence,) = [t for t in tokens if t.type == "fence"]
    assert fence.info == "mermaid" and fence.content == journey_flowchart(spec.stages)
    section, headings = "", []
    for i, t in enumerate(tokens):
        if t.type == "heading_open":
            content = "".join(c.content for c in tokens[i + 1].children or [])
            if t.tag == "h2":
                section = content
            elif section.startswith("4. "):
                headings.append(content)
    # each stage's heading says its name exactly, on one line (CommonMark reads NUL as U+FFFD)
    assert headings == [
        f"4.{i} {' '.join(stage.name.split())} ({stage.key})".replace("\x00", "\ufffd")
        for i, stage in enumerate(spec.stages, start=1)
    ]


# --- All of it ------------------------------------------------------------------------------------------


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(st.lists(hostile_snapshots(), min_size=1, max_size=4))
def test_every_export_of_a_blueprint_with_words_like_code_keeps_its_structure_and_its_decisions(
    snapshots: list[dict[str, Any]],
) -> None:
    subjects = [subject_of(s) for s in snapshots]
    sources = [diagram_dot(subject) for subject in subjects]
    graphs = dot_json_many(sources)
    drawings = dot_svg_many(sources)
    assert len(graphs) == len(drawings) == len(subjects)
    profiles = [profiles_for(subject, random.Random(n), PROFILES) for n, subject in enumerate(subjects)]
    xmls = [dmn_xml(subject) for subject in subjects]
    dmn_answers = dmn_evaluate_many(list(zip(xmls, subjects, profiles, strict=True)))
    for subject, source, graph, drawing, xml, answer, some in zip(
        subjects, sources, graphs, drawings, xmls, dmn_answers, profiles, strict=True
    ):
        check_dot(subject.snapshot, graph)
        served = svg_document(drawing)  # what diagram_render answers
        check_svg(served)
        inline = svg_inline(served)
        check_svg(inline.encode())
        check_html(spec_html(spec_build(subject, svg=inline, dot=source)))
        check_markdown(spec_build(subject, svg=None, dot=source))
        check_sql(subject, some)
        check_dmn(subject, xml, some, answer)
        assert json.loads(json.dumps(subject.json_export())) == subject.json_export()
        assert json.loads(json.dumps(cases_json(subject)))["blueprint"] == subject.title
