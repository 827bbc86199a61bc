"""The requirements spec (blueprint/exports/spec.py): Markdown, HTML, and PDF printed from it.

The sections docs/architecture.md ("Exports") and the issue ask for, the draft marked as such, the
data requirements with the offers that need each attribute, a decision table per stage, the version
block, escaping; and a PDF whose first page is rendered to PNG (pypdfium2) to be looked at: a copy
is written to ``$EXPORT_SPEC_PNG`` when that is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from blueprint.exports.formats import spec_of
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
    assert "```dot\ndigraph blueprint {" in md


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
        assert len(document) >= 3  # the text pages and the diagram's A3 page
        page = document[0]
        width, height = page.get_size()
        assert round(width) == 595 and round(height) == 842  # A4 portrait, in points
        image = page.render(scale=1).to_pil()
        target = tmp_path / "spec-page-1.png"
        image.save(target)
        colours = image.convert("L").getextrema()
        assert colours[0] < 100 < colours[1], "the page has text on it"
        diagram = document[1]
        assert round(diagram.get_size()[0]) == 1191  # A3 landscape
    finally:
        document.close()
    if os.environ.get("EXPORT_SPEC_PNG"):
        shutil.copy(target, os.environ["EXPORT_SPEC_PNG"])


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
