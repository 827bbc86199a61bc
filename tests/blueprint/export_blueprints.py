"""Random blueprints as snapshots (the JSON export's form) for the exports' property tests, and the
DMN evaluator run by node (tests/blueprint/dmn_check.mjs).

The conditions come from ``tests/decisioning/oracle.py`` (few values per attribute, chosen so that
bounds meet), so shadowed, duplicate and overlapping offers, gaps and contradictions are common.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from blueprint.conditions import groups_as_json, parse_groups
from blueprint.exports.dmn import variable_name
from blueprint.exports.subject import ExportSubject
from blueprint.snapshots import SNAPSHOT_FORMAT
from decisioning.model import spec_from_json
from tests.decisioning import oracle

ROOT = Path(__file__).resolve().parents[2]
DMN_CHECK = Path(__file__).with_name("dmn_check.mjs")
DRAFT = {"number": None, "status": "draft", "hash": "sha256:test", "rev": 7}

ATTRIBUTES: list[dict[str, Any]] = [
    {
        "key": a["key"],
        "label": a["label"],
        "kind": "attribute",
        "type": a["type"],
        "choices": a.get("choices", []),
        "unit": a.get("unit", ""),
        "description": "",
        "source": "CRM",
    }
    for a in oracle.ATTRIBUTES
]
KEYS = [a["key"] for a in ATTRIBUTES]

_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s.strip() != "")


_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40).map(
    str.strip
)
_keys = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True)


@st.composite
def snapshots(draw: st.DrawFn, *, max_stages: int = 3, max_offers: int = 5) -> dict[str, Any]:
    """A blueprint snapshot: 1..max_stages stages, each with entry groups (maybe none) and up to
    max_offers offers (maybe a fallback, at any place); keys drawn at random, each unique; the
    catalog's descriptions and source systems in any script."""
    pool = draw(oracle.attribute_pools(4))
    stages = []
    n_offer = 0
    n_stages = draw(st.integers(1, max_stages))
    stage_keys = draw(st.lists(_keys, min_size=n_stages, max_size=n_stages, unique=True))
    offer_keys = draw(
        st.lists(_keys, min_size=n_stages * max_offers, max_size=n_stages * max_offers, unique=True)
    )
    for si in range(n_stages):
        offers = []
        count = draw(st.integers(0, max_offers))
        fallback_at = draw(st.one_of(st.none(), st.integers(0, max(count - 1, 0)))) if count else None
        for oi in range(count):
            n_offer += 1
            fallback = oi == fallback_at
            offers.append(
                {
                    "key": offer_keys[n_offer - 1],
                    "name": draw(_names),
                    "description": draw(st.sampled_from(["", "Shown on the home page."])),
                    "channel": draw(st.sampled_from(["", "web", "email"])),
                    "fallback": fallback,
                    "groups": [] if fallback else draw(oracle.raw_groups(pool, max_groups=2)),
                }
            )
        stages.append(
            {
                "key": stage_keys[si],
                "name": draw(_names),
                "description": "",
                "entry": draw(oracle.raw_groups(pool, max_groups=2, max_conditions=2)),
                "offers": offers,
            }
        )
    return {
        "format": SNAPSHOT_FORMAT,
        "blueprint": {"name": draw(_names), "context": "Tests", "channels": ["web"], "description": ""},
        "attributes": [{**a, "description": draw(_texts), "source": draw(_texts)[:120]} for a in ATTRIBUTES],
        "stages": stages,
    }


def subject_of(snapshot: dict[str, Any], at: dt.date = oracle.AT) -> ExportSubject:
    """The normalized snapshot (conditions as the editor stores them) as an export subject."""
    spec_snapshot = json.loads(json.dumps(snapshot))
    catalog = spec_from_json(spec_snapshot).catalog
    for stage in spec_snapshot["stages"]:
        stage["entry"] = groups_as_json(parse_groups(stage.get("entry"), catalog))
        for offer in stage["offers"]:
            offer["groups"] = groups_as_json(parse_groups(offer.get("groups"), catalog))
    return ExportSubject(snapshot=spec_snapshot, version=DRAFT, at=at)


def node_available() -> bool:
    return shutil.which("node") is not None and (ROOT / "node_modules" / "dmn-moddle").exists()


def dmn_evaluate(xml: bytes, subject: ExportSubject, profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Run tests/blueprint/dmn_check.mjs: dmn-moddle's warnings, the tables, and per profile the
    outputs of every stage decision (``decision_<stage key>``)."""
    catalog = subject.spec.catalog
    request = {
        "xml": xml.decode(),
        "profiles": [{"profile": p, "at": subject.at.isoformat()} for p in profiles],
        "types": {key: attr.type for key, attr in catalog.items()},
        "variables": {key: variable_name(key) for key in catalog},
    }
    done = subprocess.run(
        ["node", str(DMN_CHECK)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
