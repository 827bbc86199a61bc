"""The quoting function of each language the exports write, and the examples of issue 14 §1.

Each reported example has its own test (each failed on the code before the fix); each quoting
function has a law, checked with Hypothesis over arbitrary text by the reader of that language:
DuckDB for SQL, Graphviz for DOT, feelin for FEEL, markdown-it for Markdown.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from markdown_it import MarkdownIt

from blueprint.exports.diagram import (
    Html,
    diagram_dot,
    diagram_render,
    dot_attributes,
    graphviz_available,
    html_text,
    svg_document,
    svg_inline,
)
from blueprint.exports.dmn import dmn_xml, feel_number, feel_string
from blueprint.exports.formats import export_render, spec_of
from blueprint.exports.mermaid import journey_flowchart
from blueprint.exports.spec import md, md_code, spec_html, spec_markdown, spec_pdf
from decisioning import sql
from decisioning.engine import compile_spec
from tests.blueprint.export_blueprints import ROOT, dmn_evaluate, node_available, subject_of
from tests.blueprint.test_exports_diagram import small
from tests.decisioning import oracle

needs_dot = pytest.mark.skipif(not graphviz_available(), reason="needs Graphviz's dot")
needs_node = pytest.mark.skipif(not node_available(), reason="needs node and npm ci (feelin)")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- SQL ------------------------------------------------------------------------------------------------

COPY_LABEL = "Age)\nCOPY (SELECT 42 AS answer) TO '{path}';\nCREATE TABLE pwned AS SELECT 1;\n-- ("


def sql_blueprint(label: str, name: str = "Retail") -> Any:
    snapshot = small(name)
    snapshot["attributes"][0]["label"] = label
    return subject_of(snapshot)


def test_an_attribute_label_cannot_add_a_statement_to_the_sql_export(tmp_path: Path) -> None:
    written = tmp_path / "x.csv"
    subject = sql_blueprint(COPY_LABEL.format(path=written), name="Bank\r\n;DROP TABLE profiles;\u2028--")
    text = export_render(subject, "sql").body.decode()
    (statement,) = duckdb.extract_statements(text)
    assert statement.type == duckdb.StatementType.SELECT
    con = duckdb.connect()
    con.execute("CREATE TABLE profiles (age DOUBLE)")
    con.execute("INSERT INTO profiles VALUES (17), (42), (NULL)")
    answers = con.execute(text).fetchall()
    assert [row[0] for row in answers] == [17, 42, None]
    assert not written.exists()
    assert con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pwned'"
    ).fetchone() == (0,)


@QUICK
@given(st.text())
def test_a_comment_line_holds_any_text_and_ends_only_with_its_line(words: str) -> None:
    line = sql.comment(words)
    assert line.endswith("\n") and len(line.splitlines()) == 1
    (statement,) = duckdb.extract_statements(line + "SELECT 42 AS answer")
    assert duckdb.connect().execute(statement.query).fetchone() == (42,)


@QUICK
@given(st.text())
def test_a_string_literal_is_the_value_and_holds_no_backslash(value: str) -> None:
    literal = sql.text(value)
    assert "\\" not in literal  # which BigQuery, Spark, Snowflake or MySQL would read as an escape
    assert duckdb.connect().execute(f"SELECT {literal}").fetchone() == (value,)


def test_numbers_and_days_are_literals_even_where_no_literal_spells_them() -> None:
    con = duckdb.connect()
    for value in (0, -2.5, 1e-07, 10**15, math.inf, -math.inf):
        assert con.execute(f"SELECT CAST({sql.number(value)} AS DOUBLE)").fetchone() == (float(value),)
    assert math.isnan(con.execute(f"SELECT {sql.number(math.nan)}").fetchone()[0])
    assert con.execute(f"SELECT {sql.day(' 2025-06-15')}").fetchone() == (dt.date(2025, 6, 15),)


def test_a_window_reaching_before_the_first_day_of_the_calendar_is_written() -> None:
    snapshot = small()
    snapshot["attributes"].append({"key": "seen", "label": "Seen", "type": "date"})
    snapshot["stages"][0]["entry"] = [[oracle.raw("seen", "within_last_days", 30)]]
    subject = subject_of(snapshot)
    compiled = compile_spec(subject.spec, {"draft": True, "rev": 1})
    text = sql.export_sql(compiled, at=dt.date(1, 1, 5), title="Early")
    con = duckdb.connect()
    con.execute("CREATE TABLE profiles (age DOUBLE, seen DATE)")
    con.execute("INSERT INTO profiles VALUES (20, DATE '0001-01-01'), (20, DATE '0001-01-06')")
    assert [row[2] for row in con.execute(text).fetchall()] == [True, False]  # start.entered


# --- DOT, SVG -------------------------------------------------------------------------------------------

LINK_NAME = '<a> URL="javascript:alert(document.domain)" target=<_top>'
IMAGE_NAME = '<a> image="/etc/passwd" imagescale=<true>'
NODES_NAME = '<b>]; injected [label="x"]; stage_start -> injected; x [label=<b>'


def dot_json(source: str) -> dict[str, Any]:
    done = subprocess.run(
        ["dot", "-Tjson0"], input=source.encode(), capture_output=True, timeout=60, check=True
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def attributes_of(graph: dict[str, Any]) -> set[str]:
    return {key for thing in [graph, *graph.get("objects", []), *graph.get("edges", [])] for key in thing}


@needs_dot
@pytest.mark.parametrize("where", ["blueprint", "stage", "offer"])
def test_a_name_cannot_put_a_link_into_the_diagram(where: str) -> None:
    snapshot = small()
    {
        "blueprint": snapshot["blueprint"],
        "stage": snapshot["stages"][0],
        "offer": snapshot["stages"][0]["offers"][0],
    }[where]["name"] = LINK_NAME
    source = diagram_dot(subject_of(snapshot))
    assert {"URL", "href", "target"}.isdisjoint(attributes_of(dot_json(source)))
    svg = etree.fromstring(diagram_render(source, "svg"))
    values = [value for e in svg.iter() for name, value in e.attrib.items() if name != f"{XLINK}title"]
    assert [v for v in values if "javascript:" in v] == []
    assert [f"{e.tag} {name}" for e in svg.iter() for name in e.attrib if "href" in name.lower()] == []


@needs_dot
def test_a_name_cannot_draw_a_file_of_the_server_into_the_diagram() -> None:
    snapshot = small()
    snapshot["stages"][0]["offers"][0]["name"] = IMAGE_NAME
    source = diagram_dot(subject_of(snapshot))
    assert {"image", "imagescale"}.isdisjoint(attributes_of(dot_json(source)))
    assert b"<image" not in diagram_render(source, "svg")


@needs_dot
def test_a_name_cannot_add_nodes_or_edges_to_the_diagram() -> None:
    snapshot = small()
    snapshot["stages"][0]["name"] = NODES_NAME
    graph = dot_json(diagram_dot(subject_of(snapshot)))
    drawn = graph["objects"][graph["_subgraph_cnt"] :]
    assert sorted(o["name"] for o in drawn) == ["offer_adults", "offer_hello", "offer_older", "stage_start"]
    assert len(graph["edges"]) == 3


@needs_dot
@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "<b>x</script>", "</script>", "<x>y</x>", "]"])
def test_a_name_that_looks_like_markup_is_drawn_not_refused(name: str) -> None:
    snapshot = small(name)
    snapshot["stages"][0]["offers"][0]["name"] = name
    subject = subject_of(snapshot)
    for fmt in ("svg", "png"):
        assert export_render(subject, fmt).body  # DiagramFailed (503) before: dot read the name as markup
    titles = [
        a.get(f"{XLINK}title")
        for a in etree.fromstring(diagram_render(diagram_dot(subject), "svg")).iter(f"{SVG}a")
    ]
    assert name in titles


@needs_dot
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(min_size=1), min_size=1, max_size=25))
def test_a_tooltip_and_a_label_say_exactly_their_text(texts: list[str]) -> None:
    """What Graphviz writes into the SVG for a ``dot_string`` tooltip and an ``html_text`` label is the
    text (a line break any convention, controls a space, what XML cannot hold U+FFFD; Graphviz writes
    the second of two spaces as a no-break space)."""
    nodes = [
        f'"n{i}" {dot_attributes({"tooltip": t, "label": Html(html_text(t)), "shape": "plain"})}'
        for i, t in enumerate(texts)
    ]
    svg = etree.fromstring(diagram_render("digraph g {\n" + "\n".join(nodes) + "\n}\n", "svg"))
    shown = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node":
            shown[g.findtext(f"{SVG}title")] = (
                g.find(f".//{SVG}a").get(f"{XLINK}title"),
                "".join(t.text or "" for t in g.iter(f"{SVG}text")),
            )
    assert len(shown) == len(texts)
    for i, text in enumerate(texts):
        tooltip, label = shown[f"n{i}"]
        plain = "".join(" " if ch < " " or "\x7f" <= ch <= "\x9f" else ch for ch in text)
        plain = plain.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd")
        # an attribute's white space is read as spaces (XML), and so is a tooltip's line break here
        assert tooltip.replace("\xa0", " ").split() == plain.split(), (text, tooltip)
        assert label.replace("\xa0", " ").split() == plain.split(), (text, label)


def test_the_svg_keeps_only_the_drawing() -> None:
    hostile = b"""<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" onload="alert(1)">
<script>alert(2)</script>
<g id="node1" class="node" style="background:url(http://evil/)"><title>a</title>
<a xlink:href="javascript:alert(3)" href="https://evil/" target="_top" xlink:title="tip &amp; more">
<polygon fill="url(http://evil/#p)" stroke="black" points="0,0 1,1"/>
<text x="1" y="2" onclick="alert(4)">Hello</text>
<image xlink:href="file:///etc/passwd"/>
<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><iframe src="x"/></body></foreignObject>
<use xlink:href="#x"/><animate attributeName="href" to="javascript:alert(5)"/>
</a></g></svg>"""
    cleaned = svg_document(hostile)
    root = etree.fromstring(cleaned)
    assert [etree.QName(e).localname for e in root.iter()] == ["svg", "g", "title", "a", "polygon", "text"]
    assert {name for e in root.iter() for name in e.attrib} == {
        "width", "id", "class", "stroke", "points", "x", "y", f"{XLINK}title",
    }  # fmt: skip
    assert "".join(root.itertext()).split() == ["a", "Hello"]
    assert root.find(f".//{SVG}a").get(f"{XLINK}title") == "tip & more"
    assert svg_inline(cleaned).startswith("<svg")


@needs_dot
def test_the_downloaded_spec_holds_no_link_a_name_wrote_and_no_script_can_run() -> None:
    snapshot = small(LINK_NAME)
    snapshot["stages"][0]["offers"][0]["name"] = LINK_NAME
    html = spec_html(spec_of(subject_of(snapshot)))
    page = lxml.html.document_fromstring(html)
    assert page.xpath("//svg") and not page.xpath("//script")
    links = [
        value for e in page.iter() for name, value in e.attrib.items() if "href" in name or name == "src"
    ]
    assert links and [link for link in links if not link.startswith("#")] == []
    (policy,) = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy and "script-src" not in policy


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_pdf_spec_reads_no_file_of_the_server_and_nothing_from_the_network(tmp_path: Path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    picture = tmp_path / "server-file.png"
    picture.write_bytes(png_bytes())
    inline = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    html = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body><p>Spec</p>'
        f'<img src="{picture.as_uri()}"><img src="{inline}"><div style="background: url({picture.as_uri()})">x</div>'
        "</body></html>"
    )
    document = pdfium.PdfDocument(spec_pdf(html))
    try:
        images = [o for o in document[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        assert len(images) == 1  # the data: picture, which the spec's diagram is
    finally:
        document.close()


# --- FEEL, DMN ------------------------------------------------------------------------------------------

FEEL_KEYS = ["decision_date", "and", "in", "date", "not", "-", "_1", "for", "some", "between", "null"]


def feel_words_blueprint() -> dict[str, Any]:
    r = oracle.raw
    attributes = [
        {"key": "decision_date", "label": "Decision date", "type": "date"},
        {"key": "and", "label": "And", "type": "number"},
        {"key": "in", "label": "In", "type": "choice", "choices": ["Gold", 'Say "hi"\\']},
        {"key": "date", "label": "Date", "type": "text"},
        {"key": "not", "label": "Not", "type": "set"},
        {"key": "-", "label": "Dash", "type": "boolean"},
        {"key": "_1", "label": "One", "type": "number"},
    ]
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "FEEL words"},
        "attributes": attributes,
        "stages": [
            {
                "key": "and",
                "name": "And",
                "entry": [[r("decision_date", "within_last_days", 30)], [r("in", "is", 'Say "hi"\\')]],
                "offers": [
                    {
                        "key": "in",
                        "name": "In",
                        "groups": [[r("and", "at_least", 18), r("and", "at_most", 30)]],
                    },
                    {"key": "for", "name": "For", "groups": [[r("date", "is_one_of", ["x", "a,b", "?"])]]},
                    {
                        "key": "-",
                        "name": "Dash",
                        "groups": [[r("not", "includes", "if"), r("-", "is", True)]],
                    },
                    {"key": "decision_date", "name": "DD", "groups": [[r("_1", "between", [1e-07, 1e15])]]},
                    {"key": "null", "name": "Fallback", "fallback": True, "groups": []},
                ],
            },
            {"key": "decision_date", "name": "Second", "entry": [], "offers": []},
        ],
    }


@needs_node
def test_keys_that_are_feel_words_or_the_exporters_names_decide_as_the_engine() -> None:
    snapshot = feel_words_blueprint()
    subject = subject_of(snapshot)
    conditions = [
        c for stage in subject.spec.stages for groups in (stage.entry, *(o.groups for o in stage.offers))
        for group in groups for c in group
    ]  # fmt: skip
    profiles = oracle.candidate_profiles(subject.spec.catalog, conditions, subject.at)[::53]
    answer = dmn_evaluate(dmn_xml(subject), subject, profiles)
    assert answer["warnings"] == [] and answer["feelErrors"] == []
    assert len(answer["decisions"]) == 3  # entry and offer of "and", offer of "decision_date"
    for profile, result in zip(profiles, answer["results"], strict=True):
        for stage in ("and", "decision_date"):
            expected = oracle.decide_stage(subject.snapshot, stage, profile, subject.at)
            got = result[f"decision.{stage}"]
            want = (
                {"offer": expected["offer"], "fallback": expected["fallback"]} if expected["offer"] else None
            )
            assert got == (want if expected["eligible"] else None), (stage, profile)


def feel_values(texts: list[str]) -> list[Any]:
    script = (
        "import { evaluate } from 'feelin'; import { readFileSync } from 'node:fs';"
        "const texts = JSON.parse(readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map((t) => { const a = evaluate(t, {});"
        " return [a.value ?? null, (a.warnings || []).length]; })));"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer: list[Any] = json.loads(done.stdout)
    return answer


@needs_node
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(st.characters(exclude_categories=("Cs",))), min_size=1, max_size=30),
    st.lists(
        st.floats(min_value=-1e15, max_value=1e15, allow_nan=False) | st.integers(-(10**15), 10**15),
        max_size=10,
    ),
)
def test_a_feel_literal_is_exactly_its_value(texts: list[str], numbers: list[float | int]) -> None:
    texts += ["\u2028b", "\x01b", "a\\", '"', "\\u0041"]  # a hex digit after an escape; escapes as text
    answers = feel_values([feel_string(t) for t in texts] + [feel_number(n) for n in numbers])
    assert answers[: len(texts)] == [[t, 0] for t in texts]
    for n, (value, warnings) in zip(numbers, answers[len(texts) :], strict=True):
        assert warnings == 0 and value == n


# --- Markdown -------------------------------------------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def inline_text(token: Any) -> str:
    return "".join(c.content for c in token.children or [])


@QUICK
@given(st.text())
def test_inline_markdown_reads_as_exactly_its_text_on_one_line(text: str) -> None:
    expected = " ".join(text.split()).replace("\x00", "\ufffd")
    tokens = MARKDOWN.parse(md(text) + "\n")
    if expected:
        assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
        assert [c.type for c in tokens[1].children] == ["text"] * len(tokens[1].children)
        assert inline_text(tokens[1]) == expected
    table = MARKDOWN.parse(f"| a | b |\n|---|---|\n| {md(text) or ' '} | {md_code('-x_1')} |\n")
    cells = [inline_text(t) for t in table if t.type == "inline"]
    assert cells == ["a", "b", expected, "-x_1"]


@QUICK
@given(st.text().map(lambda t: " ".join(t.split())).filter(bool))
def test_a_code_span_holds_exactly_its_text(text: str) -> None:
    (inline,) = [t for t in MARKDOWN.parse("Key: " + md_code(text) + "\n") if t.type == "inline"]
    spans = [c.content for c in inline.children if c.type == "code_inline"]
    assert spans == [text.replace("\x00", "\ufffd")]


def test_names_and_descriptions_keep_the_markdown_spec_whole() -> None:
    snapshot = small("Bank\n```\n# Injected")
    snapshot["blueprint"]["description"] = "- not a list\n---\n1. nor this"
    snapshot["stages"][0]["name"] = "Start\n```\n# Injected heading\n| a | b |\n|---|---|"
    snapshot["stages"][0]["description"] = "1) first ~~struck~~ &lt;b&gt;"
    snapshot["stages"][0]["offers"][0]["name"] = "~~~\n<script>alert(1)</script>\n[x](javascript:alert(1))"
    spec = spec_of(subject_of(snapshot), draw="")
    tokens = MARKDOWN.parse(spec_markdown(spec))
    (fence,) = [t for t in tokens if t.type == "fence"]
    assert fence.info == "mermaid" and fence.content == journey_flowchart(spec.stages)
    headings = [inline_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not [h for h in headings if h.startswith("Injected")]
    assert "4.1 Start ``` # Injected heading | a | b | |---|---| (start)" in headings
    paragraphs = [inline_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "paragraph_open"]
    assert "- not a list --- 1. nor this" in paragraphs and "1) first ~~struck~~ &lt;b&gt;" in paragraphs
    assert not [t for t in tokens if t.type in ("html_block", "hr", "ordered_list_open")]
    for t in tokens:
        assert not [c for c in t.children or [] if c.type in ("html_inline", "link_open", "s_open")]


# --- Download names -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_download_name_is_one_header_whatever_the_blueprint_is_called(
    board: Any, users: dict[str, Any]
) -> None:
    from blueprint.models import Blueprint
    from tests.blueprint.test_api import client_for

    Blueprint.objects.filter(pk=board.pk).update(name='Q"4\r\nSet-Cookie: x=1; é/..\\')
    client = client_for(users["owner"])
    for url in (
        f"/api/v1/blueprints/{board.pk}/export/?format=md&version=draft",
        f"/api/v1/blueprints/{board.pk}/decide/sql/?version=draft",
    ):
        response = client.get(url)
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert "\n" not in disposition and "\r" not in disposition and "Set-Cookie" not in response
        assert disposition.count('"') in (0, 2) and "/" not in disposition.split("filename", 1)[1]
