"""``make bench``: the diagram and the requirements spec of a 20-stage, 500-offer blueprint.

Generates the blueprint as a snapshot (the JSON export's form; no database) with bench/lint.py's
generator — 20 stages of 25 offers, 4 conditions each over 12 attributes of every type, entry
conditions on about half the stages, a fallback on about a third — with realistic names, channels
and descriptions, and measures, each the median of ``--runs`` runs:

- the diagram: the DOT source written by blueprint/exports/diagram.py, then drawn by ``dot`` as SVG
  (goal: under 3 s);
- the spec as Markdown and as HTML (the HTML draws the diagram too) (goal: under 3 s each);
- the spec as PDF (WeasyPrint prints the HTML), once, reported without a goal;
- for scale, the DMN export and the acceptance test cases.

Baselines measured in the same run: a ``dot -V`` process (what starting Graphviz costs) and the
snapshot's JSON dump (what merely writing the content out costs); every figure is also given as a
ratio to them. Prints a table and writes JSON through bench/report.py to bench/results/exports.json.
Exit status: 0 when the goals are met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lint import blueprint_json  # bench/, the script's own folder
from report import report_write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = 20
OFFERS_PER_STAGE = 25
GOAL_S = 3.0
AT = dt.date(2025, 6, 30)

WORDS = [
    "Welcome",
    "bonus",
    "Premier",
    "savings",
    "goal",
    "mortgage",
    "review",
    "cashback",
    "card",
    "travel",
    "insurance",
    "advice",
    "call",
    "loyalty",
    "reward",
    "switch",
    "app",
    "tour",
    "refer",
    "friend",
]
CHANNELS = ["web", "email", "app", "call_centre", "branch"]


def snapshot_of(seed: int) -> dict[str, Any]:
    """The generated blueprint as a canonical snapshot, with names people would write."""
    rng = random.Random(seed)
    data = blueprint_json(rng, stages=STAGES, offers_per_stage=OFFERS_PER_STAGE)
    attributes = [
        {
            "key": a["key"],
            "label": a["label"],
            "kind": a.get("kind", "attribute"),
            "type": a["type"],
            "choices": a.get("choices", []),
            "unit": a.get("unit", ""),
            "description": f"{a['label']} of the customer, as the source system keeps it.",
            "source": rng.choice(["CRM", "Core banking", "Web analytics", "Data warehouse"]),
        }
        for a in data["attributes"]
    ]
    stages = []
    for si, stage in enumerate(data["stages"]):
        offers = []
        for offer in stage["offers"]:
            words = " ".join(rng.sample(WORDS, rng.randint(2, 6)))
            offers.append(
                {
                    "key": offer["key"],
                    "name": offer.get("name")
                    if offer.get("fallback")
                    else f"{words.capitalize()} ({offer['key'][-3:]})",
                    "description": f"Shown to customers who {words.lower()}.",
                    "channel": rng.choice(CHANNELS),
                    "fallback": bool(offer.get("fallback")),
                    "groups": [] if offer.get("fallback") else offer["groups"],
                }
            )
        stages.append(
            {
                "key": stage["key"],
                "name": f"Stage {si + 1}: {rng.choice(WORDS).capitalize()}",
                "description": "",
                "entry": stage["entry"],
                "offers": offers,
            }
        )
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {
            "name": "Bench — 20 stages, 500 offers",
            "context": "Retail bank",
            "channels": CHANNELS,
            "description": "Generated.",
        },
        "attributes": attributes,
        "stages": stages,
    }


def median_s(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measure (default 5)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--no-pdf", action="store_true", help="skip the (slow) PDF spec")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    import django

    django.setup()
    from blueprint.exports.cases import acceptance_cases
    from blueprint.exports.diagram import diagram_dot, diagram_render, graphviz_available
    from blueprint.exports.dmn import dmn_xml
    from blueprint.exports.formats import spec_of
    from blueprint.exports.spec import spec_html, spec_markdown, spec_pdf
    from blueprint.exports.subject import ExportSubject
    from blueprint.snapshots import snapshot_canonical

    if not graphviz_available():
        print("Graphviz's dot is missing: install graphviz to run this bench.", file=sys.stderr)
        return 1
    snapshot = snapshot_of(args.seed)
    version = {"number": None, "status": "draft", "hash": "sha256:bench", "rev": 1}

    def subject() -> ExportSubject:
        # a fresh subject each run: nothing (lint, parsed spec) is carried over between runs
        return ExportSubject(snapshot=snapshot, version=version, at=AT)

    runs = args.runs
    base_dot, _ = median_s(lambda: subprocess.run(["dot", "-V"], capture_output=True, check=True), runs)
    base_json, _ = median_s(lambda: snapshot_canonical(snapshot), runs)
    build_dot, dot_source = median_s(lambda: diagram_dot(subject()), runs)
    draw_svg, svg = median_s(lambda: diagram_render(dot_source, "svg"), runs)
    diagram, _ = median_s(lambda: diagram_render(diagram_dot(subject()), "svg"), runs)
    spec_md, md = median_s(lambda: spec_markdown(spec_of(subject(), draw="")), runs)
    spec_h, html = median_s(lambda: spec_html(spec_of(subject())), runs)
    dmn, _ = median_s(lambda: dmn_xml(subject()), runs)
    cases_s, cases = median_s(lambda: acceptance_cases(subject()), runs)
    pdf_s, pdf = (
        (None, b"")
        if args.no_pdf
        else median_s(lambda: spec_pdf(spec_html(spec_of(subject(), draw="png"))), 1)
    )

    one = subject()
    shape = {
        "stages": len(snapshot["stages"]),
        "offers": sum(len(s["offers"]) for s in snapshot["stages"]),
        "findings": len(one.lint.findings),
        "cases": len(cases.cases),
        "skipped": len(cases.skipped),
        "svg_bytes": len(svg),
        "html_bytes": len(html),
        "md_bytes": len(md),
        "pdf_bytes": len(pdf),
    }
    rows: list[dict[str, Any]] = []

    def row(name: str, seconds: float | None, goal: float | None) -> None:
        rows.append(
            {
                "measure": name,
                "median_s": seconds,
                "goal_s": goal,
                "goal_met": None if goal is None or seconds is None else seconds < goal,
                "x_dot_start": None if seconds is None else seconds / base_dot,
                "x_json_dump": None if seconds is None else seconds / base_json,
            }
        )

    row("baseline: dot -V process", base_dot, None)
    row("baseline: snapshot JSON dump", base_json, None)
    row("diagram: DOT built", build_dot, None)
    row("diagram: dot draws the SVG", draw_svg, None)
    row("diagram: DOT + SVG", diagram, GOAL_S)
    row("spec: Markdown", spec_md, GOAL_S)
    row("spec: HTML (with the diagram)", spec_h, GOAL_S)
    row("spec: PDF (WeasyPrint, 1 run)", pdf_s, None)
    row("DMN 1.3", dmn, None)
    row("acceptance cases", cases_s, None)

    print(
        f"Blueprint: {shape['stages']} stages, {shape['offers']} offers, {shape['findings']} lint findings, "
        f"{shape['cases']} test cases ({shape['skipped']} offers without one); decision day {AT}; {runs} runs each."
    )
    print(
        f"SVG {shape['svg_bytes'] // 1024} KiB, HTML {shape['html_bytes'] // 1024} KiB, PDF {shape['pdf_bytes'] // 1024} KiB."
    )
    print()
    print(f"{'measure':<34}{'goal':>8}{'median':>11}{'× dot -V':>10}{'× JSON dump':>13}")
    for r in rows:
        seconds = "—" if r["median_s"] is None else f"{r['median_s'] * 1000:.0f} ms"
        goal = "" if r["goal_s"] is None else f"< {r['goal_s']:.0f} s"
        verdict = "" if r["goal_met"] is None else ("met" if r["goal_met"] else "MISSED")
        ratio_dot = "" if r["x_dot_start"] is None else f"{r['x_dot_start']:.1f}×"
        ratio_json = "" if r["x_json_dump"] is None else f"{r['x_json_dump']:.0f}×"
        print(f"{r['measure']:<34}{goal:>8}{seconds:>11}{ratio_dot:>10}{ratio_json:>13}  {verdict}")
    print()
    met = all(r["goal_met"] is not False for r in rows)
    report_write(
        "exports", {"blueprint": shape, "at": AT.isoformat(), "runs": runs, "rows": rows, "goals_met": met}
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
