"""The requirements spec (blueprint/exports/spec.py): Markdown, HTML, and PDF printed from it.

The sections docs/architecture.md ("Exports") and the issue ask for, the draft marked as such, the
data requirements with the offers that need each attribute, a decision table per stage, the version
block, escaping; and a PDF whose first page is rendered to PNG (pypdfium2) to be looked at: a copy
is written to ``$EXPORT_SPEC_PNG`` when that is set.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from blueprint.exports.formats import spec_of
from blueprint.exports.mermaid import mermaid_label, mermaid_text
from blueprint.exports.spec import spec_html, spec_markdown, spec_pdf, spec_version_block
from blueprint.exports.subject import ExportSubject
from tests.blueprint.export_blueprints import subject_of
from tests.decisioning import oracle

SECTIONS = (
    "## 1. Purpose and context",
    "## 2. Diagram",
    "## 3. Data requirements",
    "## 4. Decision logic per stage",
    "## 5. Lint summary",
    "## 6. Acceptance test cases",
    "## 7. Version, approvals and hash",
)


def blueprint_snapshot() -> dict[str, Any]:
    r = oracle.raw
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {
            "name": "Retail | web",
            "context": "Retail bank",
            "channels": ["web", "email"],
            "description": "Which message each visitor sees.",
        },
        "attributes": [
            {
                "key": "age",
                "label": "Age",
                "kind": "attribute",
                "type": "number",
                "unit": "years",
                "source": "CRM",
            },
            {
                "key": "segment",
                "label": "Segment",
                "kind": "attribute",
                "type": "choice",
                "choices": ["Gold", "Silver"],
                "source": "Data warehouse",
            },
            {"key": "city", "label": "City", "kind": "context", "type": "text", "source": "Geo-IP"},
        ],
        "stages": [
            {
                "key": "welcome",
                "name": "Welcome",
                "description": "First visits.",
                "entry": [[r("age", "at_least", 18)]],
                "offers": [
                    {
                        "key": "gold",
                        "name": "Gold <card>",
                        "channel": "web",
                        "groups": [[r("segment", "is", "Gold")], [r("age", "at_least", 65)]],
                    },
                    {"key": "gold_again", "name": "Gold again", "groups": [[r("segment", "is", "Gold")]]},
                    {"key": "hello", "name": "Say hello", "fallback": True, "groups": []},
                ],
            },
            {"key": "later", "name": "Later", "entry": [], "offers": []},
        ],
    }


@pytest.fixture
def subject() -> ExportSubject:
    return subject_of(blueprint_snapshot())


def test_the_markdown_has_every_section_and_marks_the_draft(subject: ExportSubject) -> None:
    md = spec_markdown(spec_of(subject, draw=""))
    positions = [md.index(heading) for heading in SECTIONS]
    assert positions == sorted(positions)
    assert md.startswith("# Retail \\| web — requirements spec")
    assert "> **DRAFT — NOT PUBLISHED, REV 7.**" in md
    assert "```mermaid\nflowchart LR\n" in md and "digraph" not in md
    assert "`format=dot`" in md  # the Graphviz source is its own export, named


def test_the_markdown_diagram_is_the_journey_in_mermaid(subject: ExportSubject) -> None:
    md = spec_markdown(spec_of(subject, draw=""))
    start = md.index("```mermaid\n")
    block = md[start : md.index("\n```\n", start)].splitlines()[1:]
    assert block == [
        "flowchart LR",
        "  classDef fallback fill:#eef1f5,stroke:#8a96a6,stroke-dasharray:4 3",
        '  subgraph stage1 ["Welcome"]',
        "    direction TB",
        '    stage1_entry("Who is in the stage#58; Age is at least 18 years")',
        '    stage1_offer1["1. Gold #60;card#62; #183; web"]',
        '    stage1_offer2["2. Gold again"]',
        "    stage1_entry --> stage1_offer1",
        "    stage1_offer1 --> stage1_offer2",
        '    stage1_fallback1["Fallback#58; Say hello (everyone else in the stage)"]',
        "    stage1_offer2 -.-> stage1_fallback1",
        "    class stage1_fallback1 fallback",
        "  end",
        '  subgraph stage2 ["Later"]',
        "    direction TB",
        '    stage2_entry("Who is in the stage#58; Everyone")',
        '    stage2_none["No offers yet"]',
        "    stage2_entry --> stage2_none",
        "  end",
        "  stage1 --> stage2",
    ]


def test_a_mermaid_label_is_one_quoted_string_of_entities() -> None:
    hostile = 'a"] --> b\n%%{init: {}}%%\nclick a call alert(1) :::x fa:fa-car <b>&#quot;`\u00e9\ufb02\u00b0'
    label = mermaid_label(hostile)
    assert label.startswith('"') and label.endswith('"') and '"' not in label[1:-1]
    assert re.fullmatch(r"[A-Za-z0-9 .,\-'()?!/]*", re.sub(r"#[0-9]+;", "", label[1:-1]))
    assert "\n" not in label and "<" not in label and "%" not in label and ":" not in label
    assert mermaid_text("\ufb02\u00b0lt\u00b6\u00df") == "#64258;#8288;#176;lt#182;#8288;#223;"
    assert mermaid_label(" \n\x00 ") == '" "'  # Mermaid refuses an empty label


def test_data_requirements_list_each_attribute_used_with_who_needs_it(subject: ExportSubject) -> None:
    spec = spec_of(subject, draw="")
    rows = {a.key: a for a in spec.attributes}
    assert set(rows) == {"age", "segment"}
    assert rows["segment"].allowed == "One of: Gold, Silver" and rows["segment"].source == "Data warehouse"
    assert rows["age"].needed_by == ["Welcome: entry rules, gold"]
    assert [a.key for a in spec.unused] == ["city"]


def test_each_stage_has_its_entry_rules_and_decision_table(subject: ExportSubject) -> None:
    spec = spec_of(subject, draw="")
    welcome = spec.stages[0]
    assert welcome.entry_text == "Age is at least 18 years"
    assert [(r.priority, r.key, r.fallback) for r in welcome.rows] == [
        ("1", "gold", False),
        ("2", "gold_again", False),
        ("Fallback", "hello", True),
    ]
    assert welcome.rows[0].conditions == "Either Segment is Gold; or Age is at least 65 years"
    assert welcome.rows[1].findings == ["Never shown"]
    md = spec_markdown(spec)
    assert (
        "| 1 | Gold \\<card\\> | `gold` | web | Either Segment is Gold; or Age is at least 65 years | — |"
        in md
    )
    assert "No case for “Gold again” (`gold_again`)" in md
    assert "_No offers yet._" in md


def test_the_version_block_shows_number_status_hash_and_approvals() -> None:
    rows = dict(
        spec_version_block(
            {
                "number": 3,
                "status": "approved",
                "hash": "sha256:abc",
                "rev": 12,
                "author": "editor",
                "created_at": "2025-06-30T09:00:00+00:00",
                "note": "Q3",
                "approvals": [
                    {"user": "approver", "decision": "approved", "at": "2025-07-01", "comment": "Fine"}
                ],
            }
        )
    )
    assert rows["Version"] == "3" and rows["Status"] == "Approved" and rows["Content hash"] == "sha256:abc"
    assert rows["Published by"] == "editor" and rows["Note"] == "Q3"
    assert rows["Approvals"] == "approver approved on 2025-07-01 — “Fine”"
    draft = dict(spec_version_block({"number": None, "status": "draft", "rev": 5, "hash": "sha256:d"}))
    assert draft["Version"] == "Draft — not published" and draft["Draft revision"] == "5"


def test_the_html_is_a_whole_escaped_document(subject: ExportSubject) -> None:
    html = spec_html(spec_of(subject))
    assert html.startswith("<!doctype html>") and "<style>" in html and ".spec-table" in html
    assert "Gold &lt;card&gt;" in html and "Gold <card>" not in html
    assert "Draft — not published, rev 7." in html


def test_a_pdf_is_printed_and_its_first_page_renders(subject: ExportSubject, tmp_path: Path) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    pdf = spec_pdf(spec_html(spec_of(subject, draw="png")))
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) >= 2  # the text pages and the diagram's A3 page
        page = document[0]
        width, height = page.get_size()
        assert round(width) == 595 and round(height) == 842  # A4 portrait, in points
        image = page.render(scale=1).to_pil()
        target = tmp_path / "spec-page-1.png"
        image.save(target)
        colours = image.convert("L").getextrema()
        assert colours[0] < 100 < colours[1], "the page has text on it"
        diagram = document[len(document) - 1]
        assert round(diagram.get_size()[0]) == 1191  # A3 landscape, after the text
    finally:
        document.close()
    if os.environ.get("EXPORT_SPEC_PNG"):
        shutil.copy(target, os.environ["EXPORT_SPEC_PNG"])


# --- The PDF's pages, read as text ------------------------------------------------------------------

HEADER_WORDS = ("PRIORITY", "OFFER", "CHANNEL", "CONDITIONS", "LINT", "ATTRIBUTE", "ALLOWED", "VALUES")
HEADER_WORDS += ("SOURCE", "SYSTEM", "NEEDED", "CASE", "PROFILE", "EXPECTED")
STAGES, OFFERS = 3, 9


def long_snapshot() -> dict[str, Any]:
    """Stages of tall rows, so that the decision tables go on over pages: each offer's name starts with
    ``AlphaN`` and ends with ``OmegaN``, its conditions end with ``ZetaN`` (the first offer's with a
    contradiction after them); channels, keys and lint labels long enough to be broken by a narrow
    column."""
    r = oracle.raw
    snapshot = blueprint_snapshot()
    snapshot["attributes"][2]["description"] = "Where the customer lives, from the address on file."
    snapshot["stages"] = [
        {
            "key": f"stage_{s}",
            "name": f"Stage {s}",
            "description": "Customers at this point of the journey.",
            "entry": [[r("age", "at_least", 18 + s)]],
            "offers": [
                {
                    "key": f"offer_{n}_in_stage_{s}",
                    "name": f"Alpha{s}x{n} an offer whose name is long enough to wrap Omega{s}x{n}",
                    "channel": "call_centre" if n % 2 else "newsletter",
                    "fallback": n == OFFERS - 1,
                    "groups": []
                    if n == OFFERS - 1
                    else [
                        [r("age", "at_least", 20 + n), r("city", "is_one_of", ["Dublin", "Cork", "Galway"])],
                        [r("segment", "is", "Silver"), r("city", "is", f"Zeta{s}x{n}")],
                    ]
                    + ([[r("age", "at_least", 90), r("age", "at_most", 10)]] if n == 0 else []),
                }
                for n in range(OFFERS)
            ],
        }
        for s in range(STAGES)
    ]
    return snapshot


Pages = list[tuple[tuple[int, int], str]]


def pdf_pages(pdf: bytes) -> Pages:
    """The printed spec's pages: (width, height) in points and the text on it."""
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            width, height = page.get_size()
            pages.append(((round(width), round(height)), page.get_textpage().get_text_range()))
        return pages
    finally:
        document.close()


@pytest.fixture(scope="module")
def long_spec_pdf() -> bytes:
    return spec_pdf(spec_html(spec_of(subject_of(long_snapshot()), draw="png")))


@pytest.fixture(scope="module")
def long_pdf(long_spec_pdf: bytes) -> Pages:
    return pdf_pages(long_spec_pdf)


def page_of(pages: Pages, word: str, after: tuple[int, int]) -> tuple[int, int]:
    """(page, offset) of the first ``word`` at or after ``after`` (page, offset)."""
    for number in range(after[0], len(pages)):
        at = pages[number][1].find(word, after[1] if number == after[0] else 0)
        if at >= 0:
            return number, at
    raise AssertionError(f"{word!r} not found after {after}")


def test_no_word_of_a_table_is_broken_in_the_pdf(long_pdf: Pages) -> None:
    words = [w for _size, text in long_pdf for w in text.split()]
    counts = {w: words.count(w) for w in HEADER_WORDS}
    assert counts["CHANNEL"] == counts["PRIORITY"] >= STAGES  # every decision table's head, whole
    assert counts["ALLOWED"] >= 1 and counts["EXPECTED"] >= STAGES
    assert "Contradiction" in words  # the lint's longest word, in its narrow column
    whole = {*HEADER_WORDS, "call_centre", "newsletter", "Contradiction", "Overlaps"}
    whole |= {f"offer_{n}_in_stage_{s}" for s in range(STAGES) for n in range(OFFERS)}
    # a word broken at the end of a line reads as two: its start, and the rest on the next line
    broken = [(a, b) for a, b in itertools.pairwise(words) if a not in whole and a.rstrip("-") + b in whole]
    assert broken == []


def test_no_table_row_is_split_across_pages_of_the_pdf(long_pdf: Pages) -> None:
    texts = [text for _size, text in long_pdf]
    # the decision tables go on over pages: some repeat their head on the next page
    assert sum(text.count("PRIORITY") for text in texts) > STAGES
    logic = page_of(long_pdf, "Entry rules — who is in the stage", (0, 0))
    cases = page_of(long_pdf, "cases generated from the logic", logic)
    for s in range(STAGES):
        for n in range(OFFERS):
            start = page_of(long_pdf, f"Alpha{s}x{n} ", logic)
            assert page_of(long_pdf, f"Omega{s}x{n}", start)[0] == start[0], (s, n)
            if n != OFFERS - 1:
                assert page_of(long_pdf, f"Zeta{s}x{n}", start)[0] == start[0], (s, n)
            # the case that shows the offer: its name and the key expected
            case = page_of(long_pdf, f"Alpha{s}x{n} ", cases)
            assert page_of(long_pdf, f"Omega{s}x{n}", case)[0] == case[0], (s, n)
    # an attribute and where it is needed
    data = page_of(long_pdf, "ALLOWED VALUES", (0, 0))
    for label in ("Age", "Segment", "City"):
        row = page_of(long_pdf, f"{label}\r\n", data)
        assert page_of(long_pdf, "NEEDED BY", row)[0] == row[0], label


def test_the_pdf_starts_its_text_on_page_1_and_ends_with_the_a3_diagram(
    long_pdf: Pages, long_spec_pdf: bytes
) -> None:
    (size, first), *middle, (last_size, _last) = long_pdf
    assert size == (595, 842) and all(s == (595, 842) for s, _ in middle)  # A4 portrait
    assert last_size == (1191, 842)  # A3 landscape, after the text
    # page 1 goes on past the overview: the diagram's section names its page, the data section starts
    assert "2. Diagram" in first and f"end of this document: page {len(long_pdf)}" in first
    assert "3. Data requirements" in first
    # and its text reaches the page's bottom third
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(long_spec_pdf)
    try:
        text = document[0].get_textpage()
        lowest = min(text.get_charbox(i)[1] for i in range(text.count_chars()))  # from the foot, in points
    finally:
        document.close()
    assert lowest < 842 / 3


def test_every_offer_says_what_it_shows_and_when_in_markdown_and_html() -> None:
    """Issue 16: descriptions, content references, dates and tags reach the document, escaped; a
    content reference is a link only when it is an http(s) URL."""
    snapshot = blueprint_snapshot()
    gold, gold_again, hello = snapshot["stages"][0]["offers"]
    gold.update(
        description="The *premium* card | for [Gold](javascript:alert(1)) members.",
        content_ref="https://cdn.example.com/gold.png",
        starts_on="2027-03-01",
        ends_on="2027-06-30",
        tags=["summer", "cards"],
    )
    gold_again.update(content_ref="javascript:alert(1)", ends_on="2027-06-30")
    hello.update(starts_on="2027-01-05")
    spec = spec_of(subject_of(snapshot), draw="")
    md = spec_markdown(spec)
    assert (
        "- **Gold \\<card\\>** (`gold`): The \\*premium\\* card \\| for \\[Gold\\](javascript:alert(1)) members. "
        "Content reference: `https://cdn.example.com/gold.png`. "
        "Shown from 1 March 2027 to 30 June 2027; outside these days it is not eligible. Tags: summer, cards."
    ) in md
    assert (
        "- **Gold again** (`gold_again`): _No description given._ Content reference: `javascript:alert(1)`."
        in md
    )
    assert "Shown until 30 June 2027" in md and "Shown from 5 January 2027" in md
    html = spec_html(spec)
    assert '<a href="https://cdn.example.com/gold.png" rel="noopener noreferrer">' in html
    assert 'href="javascript' not in html and "<code>javascript:alert(1)</code>" in html
    assert "The *premium* card | for [Gold](javascript:alert(1)) members." in html
    assert "Tags: summer, cards." in html
