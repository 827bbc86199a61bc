"""Random blueprints as snapshots (the JSON export's form) for the exports' property tests, and the
DMN evaluator run by node (tests/blueprint/dmn_check.mjs).

The conditions come from ``tests/decisioning/oracle.py`` (few values per attribute, chosen so that
bounds meet), so shadowed, duplicate and overlapping offers, gaps and contradictions are common.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from blueprint.exports.cases import acceptance_cases
from blueprint.exports.dmn import variable_name
from blueprint.exports.subject import ExportSubject
from blueprint.snapshots import SNAPSHOT_FORMAT
from decisioning.conditions import groups_as_json, parse_groups
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
                    **draw(oracle.windows()),  # issue 16: dates around the decision day
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
        "blueprint": {
            "name": draw(_names),
            "context": "Tests",
            "channels": ["web"],
            "description": "",
            # how stages relate: absent is "several", as in a snapshot from before there was a choice
            **draw(st.sampled_from([{}, {"stage_mode": "one"}])),
        },
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


def _dmn_request(xml: bytes, subject: ExportSubject, profiles: list[dict[str, Any]]) -> dict[str, Any]:
    catalog = subject.spec.catalog
    return {
        "xml": xml.decode(),
        "profiles": [{"profile": p, "at": subject.at.isoformat()} for p in profiles],
        "types": {key: attr.type for key, attr in catalog.items()},
        "variables": {key: variable_name(key) for key in catalog},
    }


def _run_dmn_check(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(DMN_CHECK)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def dmn_evaluate(xml: bytes, subject: ExportSubject, profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Run tests/blueprint/dmn_check.mjs: dmn-moddle's warnings, the tables, and per profile the
    outputs of every stage decision (by its id, ``decision.<stage key>``)."""
    return _run_dmn_check(_dmn_request(xml, subject, profiles))


def dmn_evaluate_many(items: list[tuple[bytes, ExportSubject, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """``dmn_evaluate`` of several exports in one run of node."""
    answer = _run_dmn_check({"items": [_dmn_request(*item) for item in items]})
    return list(answer["items"])


# --- Hostile blueprints: people's words that look like code in every language the exports write ---------

# keys from the whole alphabet, among them FEEL's and SQL's keywords and built-ins, DOT's, and the
# names and id parts the exporters make themselves
KEY_WORDS = (
    *("and", "or", "not", "in", "date", "time", "true", "false", "null", "for", "if", "then", "else"),
    *("some", "every", "between", "instance", "of", "function", "return", "satisfies", "list", "count"),
    *("string", "number", "duration", "select", "from", "where", "union", "drop", "case", "end", "copy"),
    *("decision_date", "-", "_", "_1", "1", "0", "-1", "a-b", "a_b", "a_d_b", "input", "entry"),
    *("decision", "day", "var", "offer", "fallback", "in_stage", "row", "error", "p", "m", "k"),
    *("stage_x_entry", "a_x", "x_var", "cluster_x", "node", "edge", "graph", "digraph", "subgraph", "strict"),
)
FRAGMENTS = (
    "</script>",
    "<script>alert(1)</script>",
    '<a> URL="javascript:alert(1)" image="/etc/passwd" x=<b>',
    '"]; evil [URL="javascript:alert(1)"]; x [label="',
    "<b>]; a -> b; c [image=</b>",
    "Age)\nCOPY (SELECT 1) TO 'x.csv';\n-- (",
    *("\n", "\r\n", "\r", "\u2028", "\u0085", "\x0b", "\x0c", "\t", "\x00", "\x1b", "\x7f", "\u202e"),
    *(
        "```",
        "~~~",
        "|",
        "#",
        "*",
        "_",
        "[a](javascript:alert(1))",
        "![i](x.png)",
        "<img src=x onerror=alert(1)>",
    ),
    *(
        "-- ",
        "*/",
        "/*",
        "'",
        '"',
        "\\",
        "\\N",
        "\\l",
        "&amp;",
        "&nbsp;",
        "&#60;",
        "&foo;",
        "{{ x }}",
        "{% x %}",
    ),
    *(
        "%s",
        "-",
        "+",
        "=1+1",
        "@SUM(A1)",
        "1.",
        "> ",
        "---",
        "===",
        "\ufffe",
        "\U0001f600",
        ";",
        "?",
        "\u00a0",
    ),
    *(" and ", " in ", "date(", '")', "null", "..", "[", "]", ",", "(", ")", " / ", ": "),
)
hostile_texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=4).map("".join)
hostile_keys = st.one_of(st.sampled_from(KEY_WORDS), st.from_regex(r"[a-z0-9_-]{1,10}", fullmatch=True))
# what a condition accepts as a value: trimmed, not empty, no NUL, at most 200 characters
hostile_values = (
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(min_size=1, max_size=6)), min_size=1, max_size=3)
    .map(lambda parts: "".join(parts).replace("\x00", "").strip()[:200])
    .filter(bool)
)
# a set's elements cannot hold the separator of its SQL form ('|'), which the batch refuses
hostile_elements = hostile_values.map(lambda v: v.replace("|", "/"))
_HOSTILE_NUMBERS = [-1e15, -2.5, 0, 1e-07, 17, 18.5, 1e15]
_HOSTILE_DATES = ["0001-01-01", "2024-12-31", "2025-06-08", "2025-06-15", "9999-12-31"]
_TYPES = ("number", "choice", "text", "boolean", "date", "set")


def _pick(draw: st.DrawFn, values: list[Any], n: int) -> list[Any]:
    return draw(st.lists(st.sampled_from(values), min_size=n, max_size=n, unique=True))


@st.composite
def _hostile_condition(draw: st.DrawFn, attribute: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    key, kind = attribute["key"], attribute["type"]
    r = oracle.raw
    if kind == "number":
        op = draw(st.sampled_from(["at_least", "at_most", "below", "above", "between"]))
        return r(
            key,
            op,
            sorted(_pick(draw, _HOSTILE_NUMBERS, 2))
            if op == "between"
            else draw(st.sampled_from(_HOSTILE_NUMBERS)),
        )
    if kind == "date":
        op = draw(st.sampled_from(["at_least", "at_most", "below", "above", "between", "within_last_days"]))
        if op == "within_last_days":
            return r(key, op, draw(st.sampled_from([0, 7, 36_500])))
        return r(
            key,
            op,
            sorted(_pick(draw, _HOSTILE_DATES, 2))
            if op == "between"
            else draw(st.sampled_from(_HOSTILE_DATES)),
        )
    if kind == "boolean":
        return r(key, "is", draw(st.booleans()))
    if kind == "set":
        if draw(st.booleans()):
            return r(key, "includes", draw(st.sampled_from(values)))
        return r(key, "includes_any_of", _pick(draw, values, draw(st.integers(1, len(values)))))
    if draw(st.booleans()):
        return r(key, "is", draw(st.sampled_from(values)))
    return r(key, "is_one_of", _pick(draw, values, draw(st.integers(1, len(values)))))


@st.composite
def hostile_snapshots(draw: st.DrawFn, *, max_stages: int = 2, max_offers: int = 3) -> dict[str, Any]:
    """A blueprint snapshot whose every name, label, description, unit, source, channel, choice and
    value is arbitrary Unicode with fragments of SQL, DOT, HTML, Markdown, FEEL and CSV in it, and
    whose keys come from the whole key alphabet (keywords and the exporters' own names among them).
    Attribute, stage and offer keys are each unique; a stage and an offer, or an attribute, may
    share one."""
    kinds = draw(st.lists(st.sampled_from(_TYPES), min_size=1, max_size=4))
    keys = draw(st.lists(hostile_keys, min_size=len(kinds), max_size=len(kinds), unique=True))
    attributes, values = [], {}
    for key, kind in zip(keys, kinds, strict=True):
        pool = draw(
            st.lists(
                hostile_elements if kind == "set" else hostile_values, min_size=1, max_size=3, unique=True
            )
        )
        values[key] = pool
        attributes.append(
            {
                "key": key,
                "label": draw(hostile_texts),
                "kind": draw(st.sampled_from(["attribute", "behaviour", "context"])),
                "type": kind,
                "choices": pool if kind == "choice" else [],
                "unit": draw(hostile_texts) if kind == "number" else "",
                "description": draw(hostile_texts),
                "source": draw(hostile_texts),
            }
        )

    def groups(max_groups: int) -> list[list[dict[str, Any]]]:
        condition = st.sampled_from(attributes).flatmap(lambda a: _hostile_condition(a, values[a["key"]]))
        return draw(st.lists(st.lists(condition, min_size=1, max_size=2), max_size=max_groups))

    n_stages = draw(st.integers(1, max_stages))
    stage_keys = draw(st.lists(hostile_keys, min_size=n_stages, max_size=n_stages, unique=True))
    offer_keys = iter(
        draw(
            st.lists(
                hostile_keys, min_size=n_stages * max_offers, max_size=n_stages * max_offers, unique=True
            )
        )
    )
    stages = []
    for stage_key in stage_keys:
        count = draw(st.integers(0, max_offers))
        fallback_at = draw(st.one_of(st.none(), st.integers(0, max(count - 1, 0)))) if count else None
        offers = [
            {
                "key": next(offer_keys),
                "name": draw(hostile_texts),
                "description": draw(hostile_texts),
                "channel": draw(hostile_texts),
                "fallback": oi == fallback_at,
                "groups": [] if oi == fallback_at else groups(2),
            }
            for oi in range(count)
        ]
        stages.append(
            {
                "key": stage_key,
                "name": draw(hostile_texts),
                "description": draw(hostile_texts),
                "entry": groups(1),
                "offers": offers,
            }
        )
    return {
        "format": SNAPSHOT_FORMAT,
        "blueprint": {
            "name": draw(hostile_texts),
            "context": draw(hostile_texts),
            "channels": draw(st.lists(hostile_texts, max_size=2)),
            "description": draw(hostile_texts),
        },
        "attributes": attributes,
        "stages": stages,
    }


def profiles_for(subject: ExportSubject, rng: random.Random, random_ones: int) -> list[dict[str, Any]]:
    """The blueprint's acceptance cases, and ``random_ones`` profiles from the oracle's candidate
    grid over its conditions: what every export is held to the reference on."""
    spec = subject.spec
    conditions = [
        c
        for stage in spec.stages
        for groups in (stage.entry, *(o.groups for o in stage.offers))
        for group in groups
        for c in group
    ]
    grid = oracle.candidate_profiles(spec.catalog, conditions, subject.at)
    picked = rng.sample(grid, min(random_ones, len(grid)))
    return [c.profile for c in acceptance_cases(subject).cases] + picked
