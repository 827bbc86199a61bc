"""The Markdown spec's diagram drawn by the real Mermaid (npm ``mermaid``, as GitHub and GitLab draw
it) in headless Chromium: the demo and a large blueprint draw without a parse error, and names that
look like Mermaid, HTML or Markdown stay text — the drawing of a hostile blueprint has exactly the
elements of the same blueprint with plain names, shows every name as written, and carries no
element, attribute or handler the names tried to add (blueprint/exports/mermaid.py)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from blueprint import demo
from blueprint.exports.formats import spec_of
from blueprint.exports.mermaid import NAME_CAP, journey_flowchart
from blueprint.exports.spec import Spec, spec_markdown
from tests.blueprint.export_blueprints import ROOT, hostile_snapshots, subject_of
from tests.blueprint.test_exports_spec import blueprint_snapshot
from tests.decisioning import oracle

MERMAID_JS = ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not MERMAID_JS.exists(), reason="needs npm ci (mermaid)"),
]

# Draws the source, puts the SVG in the page (so an injected handler would run), and reports what
# is in it: every element's tag, attributes that could act or refer, and the text shown.
DRAW = """async ([source, config]) => {
  mermaid.initialize({startOnLoad: false, ...config});
  window.__hostile = [];
  let svg;
  try {
    ({svg} = await mermaid.render('drawing' + (window.__n = (window.__n || 0) + 1), source));
  } catch (e) {
    return {error: String(e && (e.message || e))};
  }
  const holder = document.createElement('div');
  holder.innerHTML = svg;
  document.body.append(holder);
  await new Promise(r => setTimeout(r, 50));
  const root = holder.querySelector('svg');
  const tags = [], acting = [];
  for (const el of root.querySelectorAll('*')) {
    tags.push(el.localName);
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on') || name === 'href' || name === 'xlink:href' || name === 'src'
          || /javascript:|data:/i.test(a.value)) {
        acting.push(`${el.localName} ${a.name}=${a.value}`);
      }
    }
  }
  for (const br of root.querySelectorAll('br')) br.replaceWith(' ');
  const labels = [...root.querySelectorAll('.nodeLabel, .cluster-label, text')]
    .map(el => el.textContent.replace(/\\s+/g, ' ').replaceAll('\\u2060', '').trim());
  holder.remove();
  return {tags, acting, labels, text: root.textContent.replace(/\\s+/g, ' ').replaceAll('\\u2060', ''), hostile: window.__hostile};
}"""


@pytest.fixture(scope="module")
def mermaid_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>")
    page.add_script_tag(path=str(MERMAID_JS))
    yield page
    context.close()
    assert not errors, errors


def draw(page: Any, source: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(DRAW, [source, config or {"securityLevel": "strict"}])
    return result


def mermaid_of(markdown: str) -> str:
    start = markdown.index("```mermaid\n") + len("```mermaid\n")
    return markdown[start : markdown.index("\n```\n", start) + 1]


def shown(text: str) -> str:
    """A name as the diagram shows it: on one line, capped as the module caps it (and without the
    word joiners ``mermaid_text`` adds, which ``DRAW`` leaves out of what it reads)."""
    one = " ".join("".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in text).split())
    return (one if len(one) <= NAME_CAP else one[: NAME_CAP - 1].rstrip() + "…").replace("\u2060", "")


def plain(spec: Spec) -> Spec:
    """The spec with every name a plain word: the drawing a hostile one must equal in shape."""
    stages = [
        dataclasses.replace(
            stage,
            name="x" if shown(stage.name) else "",
            entry=[["x"] for _ in stage.entry],
            rows=[
                dataclasses.replace(
                    r, name="x" if shown(r.name) else "", channel="x" if shown(r.channel) else ""
                )
                for r in stage.rows
            ],
        )
        for stage in spec.stages
    ]
    return dataclasses.replace(spec, stages=stages)


def demo_snapshot() -> dict[str, Any]:
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": demo.DEMO_NAME, "context": demo.DEMO_CONTEXT, "channels": demo.DEMO_CHANNELS},
        "attributes": demo.CATALOG,
        "stages": demo.STAGES,
    }


@pytest.mark.parametrize("snapshot", [blueprint_snapshot, demo_snapshot], ids=["small", "demo"])
def test_the_markdown_spec_s_diagram_draws_in_mermaid(mermaid_page: Any, snapshot: Any) -> None:
    spec = spec_of(subject_of(snapshot()), draw="")
    result = draw(mermaid_page, mermaid_of(spec_markdown(spec)))
    assert "error" not in result, result.get("error")
    for stage in spec.stages:
        assert shown(stage.name) in result["labels"]
        assert "Who is in the stage: " + stage.entry_text in result["labels"]
        ranked = [r for r in stage.rows if not r.fallback]
        for r in ranked:
            assert any(label.startswith(f"{r.priority}. {shown(r.name)}") for label in result["labels"])
        for r in stage.rows:
            if r.fallback:
                assert f"Fallback: {shown(r.name)} (everyone else in the stage)" in result["labels"]


def test_a_large_blueprint_draws_within_mermaid_s_limits(mermaid_page: Any) -> None:
    """20 stages of 25 offers: too many for one drawing, so each stage shows its first offers."""
    r = oracle.raw
    snapshot = blueprint_snapshot()
    snapshot["stages"] = [
        {
            "key": f"s{s}",
            "name": f"Stage {s} of the journey",
            "entry": [[r("age", "at_least", s)], [r("segment", "is", "Gold"), r("city", "is", f"Town {s}")]],
            "offers": [
                {
                    "key": f"s{s}_o{o}",
                    "name": f"Offer {o} of stage {s} with a longer name than most",
                    "channel": "web",
                    "groups": [[r("age", "at_least", o), r("city", "is_one_of", [f"City {o}", "Elsewhere"])]],
                }
                for o in range(25)
            ],
        }
        for s in range(20)
    ]
    spec = spec_of(subject_of(snapshot), draw="")
    source = journey_flowchart(spec.stages)
    assert len(source) <= 40_000
    result = draw(mermaid_page, source)
    assert "error" not in result, result.get("error")
    assert "Stage 19 of the journey" in result["labels"]
    assert any(label.startswith("… and ") and "more offers" in label for label in result["labels"])


HOSTILE_NAMES = [
    '"]; click stage1_offer1 call alert(1); x["',
    'x"] --> y[" %%{init: {"securityLevel": "loose"}}%%',
    "%%{init: {'theme': 'dark', 'securityLevel': 'loose'}}%%",
    "<img src=x onerror=\"window.__hostile.push('img')\">",
    "<b>bold</b><script>window.__hostile.push('script')</script>",
    "x:::fallback",
    "fa:fa-car is fa:fa-bomb",
    "`**Markdown** string`",
    "#quot;#lt;script#gt; &lt;b&gt; &amp;",
    "style x fill:#f00;",
    'end\nsubgraph evil\nclick stage1 href "javascript:alert(1)"\nend',
    "\ufb02\u00b0lt\u00b6\u00dfscript\ufb02\u00b0gt\u00b6\u00df",
    "[a](javascript:alert(1)) and a|b|c and ```",
    "Café ☕ 日本 \u202e",
]


def hostile_snapshot() -> dict[str, Any]:
    snapshot = blueprint_snapshot()
    names = iter(HOSTILE_NAMES)
    for stage in snapshot["stages"]:
        stage["name"] = next(names)
    snapshot["stages"][1]["offers"] = [
        {"key": f"o{i}", "name": next(names), "channel": next(names) if i % 2 else "", "groups": []}
        for i in range(4)
    ]
    offers = snapshot["stages"][0]["offers"]
    for offer in offers:
        offer["name"] = next(names)
    offers[0]["channel"] = next(names)
    snapshot["attributes"][1]["choices"] = [
        "Gold",
        "</div><img src=x onerror=\"window.__hostile.push('entry')\">",
    ]
    snapshot["stages"][0]["entry"] = [[oracle.raw("segment", "is", snapshot["attributes"][1]["choices"][1])]]
    return snapshot


CONFIGS = {
    "strict": {"securityLevel": "strict"},  # Mermaid's default
    "loose": {"securityLevel": "loose"},  # clicks and HTML allowed: still nothing added
    # labels as SVG text, not HTML: nothing added either (the text shows entities by their codes)
    "svg-text": {"securityLevel": "strict", "htmlLabels": False, "flowchart": {"htmlLabels": False}},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_hostile_names_are_drawn_as_text_and_add_nothing(mermaid_page: Any, config: dict[str, Any]) -> None:
    spec = spec_of(subject_of(hostile_snapshot()), draw="")
    source = mermaid_of(spec_markdown(spec))
    result = draw(mermaid_page, source, config)
    assert "error" not in result, result.get("error")
    assert result["hostile"] == [] and result["acting"] == []
    expected = draw(mermaid_page, journey_flowchart(plain(spec).stages), config)
    # the same elements (SVG text sets a long label in more lines, each a tspan)
    assert Counter(result["tags"]) - Counter(tspan=10**6) == Counter(expected["tags"]) - Counter(tspan=10**6)
    assert {"script", "img", "a", "i", "b", "iframe"}.isdisjoint(result["tags"])
    names = [s.name for s in spec.stages] + [r.name for s in spec.stages for r in s.rows]
    assert len(names) == 9
    if config.get("htmlLabels") is False:
        return  # Mermaid's SVG text shows every entity as its code ("&#58;"), its own examples' too
    for name in names:
        assert shown(name) in result["text"], name
    for channel in [r.channel for s in spec.stages for r in s.rows if r.channel]:
        assert shown(channel) in result["text"], channel
    assert "Who is in the stage: " + spec.stages[0].entry_text in result["labels"]


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_snapshots(max_stages=3, max_offers=3))
def test_any_blueprint_s_diagram_has_the_shape_of_the_same_with_plain_names(
    mermaid_page: Any, snapshot: dict[str, Any]
) -> None:
    spec = spec_of(subject_of(snapshot), draw="")
    result = draw(mermaid_page, mermaid_of(spec_markdown(spec)))
    assert "error" not in result, result.get("error")
    assert result["hostile"] == [] and result["acting"] == []
    expected = draw(mermaid_page, journey_flowchart(plain(spec).stages))
    assert sorted(result["tags"]) == sorted(expected["tags"]), json.dumps(snapshot)
    for name in [s.name for s in spec.stages] + [r.name for s in spec.stages for r in s.rows]:
        assert shown(name) in result["text"]
