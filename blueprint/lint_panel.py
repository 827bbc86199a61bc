"""The lint on the board: what the "Checks" panel and the markers on cards draw of a lint report.

The report (``selectors.board_lint``) is exact and may be long — a board of 500 offers has
thousands of overlaps — so the panel lists at most ``LIST_LIMIT`` findings per level (errors
first, then warnings, then notes) and says how many more there are, while the markers cover every
finding: ``LintPanel.marks`` maps each offer, stage and flagged condition to its worst level and a
short tooltip. The report itself lists at most ``OVERLAPS_LISTED`` overlaps per stage and counts
the rest (``LintReport.not_listed``): the counts and the markers include them, and the notes say
so per stage. A check the lint's budget stopped is an ``unchecked`` finding like any other (an
error when it is about hidden offers, so publishing is refused; a warning for a gap): the panel
lists it as "Not fully checked", and never says "No problems" while one stands. The template puts the marks in the panel as a JSON data block (``json_script``);
static/js/lint.js draws them on the cards, so the panel is the one fragment a live frame needs to
send for the whole lint.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blueprint.selectors import Board, Column
from decisioning.conditions import AttributeSpec
from decisioning.lint import CODE_LABELS, Finding, LintReport
from decisioning.words import value_words

LEVELS = ("error", "warning", "info")
LIST_LIMIT = 30  # findings listed per level; the rest are counted
TITLE_LIMIT = 3  # messages in a marker's tooltip; the rest are counted
HIDDEN_CODES = ("duplicate-offer", "shadowed-offer")  # the first offer named is the one never shown

# (singular, plural) as people read them; "info" findings are notes
LEVEL_WORDS = {"error": ("error", "errors"), "warning": ("warning", "warnings"), "info": ("note", "notes")}
LEVEL_HELP = {
    "error": "Publishing is refused while an error stands.",
    "warning": "Worth a look; some may be intended.",
    "info": "Offers that can meet the same customer: the higher one wins. Usually intended.",
}


def counted(level: str, count: int) -> str:
    """A count in words: "1 error", "3 notes"."""
    one, many = LEVEL_WORDS[level]
    return f"{count} {one if count == 1 else many}"


@dataclass
class ExampleValue:
    label: str
    value: str  # as a person reads it; "" when missing
    missing: bool = False


@dataclass
class FindingView:
    finding: Finding
    id: str  # stable while the finding stands, so focus and an open example survive a live update
    label: str
    stage_name: str
    example: list[ExampleValue] | None
    example_json: str

    @property
    def level(self) -> str:
        return self.finding.level

    @property
    def offer_keys(self) -> str:
        return " ".join(self.finding.offers)


@dataclass
class LevelGroup:
    level: str
    title: str  # "Errors"
    count: int
    help: str
    findings: list[FindingView]
    # findings the lint counted but did not list, per stage, in words
    not_listed: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        return LEVEL_WORDS[self.level][0].capitalize()

    @property
    def more(self) -> int:
        return self.count - len(self.findings)

    @property
    def more_text(self) -> str:
        one, many = LEVEL_WORDS[self.level]
        return f"… and {self.more} more {one if self.more == 1 else many}, not listed here."


@dataclass
class LintPanel:
    counts: dict[str, int]
    groups: list[LevelGroup]  # the levels that have findings, errors first
    marks: dict[str, Any]
    has_stages: bool
    problems: int = field(init=False)  # errors and warnings

    def __post_init__(self) -> None:
        self.problems = self.counts["error"] + self.counts["warning"]

    @property
    def summary(self) -> list[tuple[str, int]]:
        """(level, count) for each level that has findings, errors first."""
        return [(level, n) for level, n in self.counts.items() if n]

    @property
    def summary_text(self) -> str:
        """In words: "1 error, 2 warnings, 26 notes"; "No problems, 3 notes"."""
        parts = [counted(level, n) for level, n in self.summary]
        if not self.problems:
            parts.insert(0, "No problems")
        return ", ".join(parts)

    @functools.cached_property
    def digest(self) -> str:
        """A short digest of everything the panel and its summary show (they are drawn from this
        alone, the same for every role): equal digests, equal HTML. The panel carries it
        (``#lint[data-digest]``), and live frames say theirs, so a page can tell whether the lint
        it shows is the one a frame was rendered with."""
        shown = {
            "counts": self.counts,
            "has_stages": self.has_stages,
            "marks": self.marks,
            "groups": [
                {
                    "level": g.level,
                    "count": g.count,
                    "findings": [
                        [f.id, f.label, f.stage_name, f.finding.as_json(), f.example_json]
                        + [[row.label, row.value, row.missing] for row in f.example or []]
                        for f in g.findings
                    ],
                    "not_listed": g.not_listed,
                }
                for g in self.groups
            ],
        }
        # in the order the page writes it: the markers' JSON keeps its keys' order, so two lints
        # that list the same marks in another order are drawn differently and must differ here
        text = json.dumps(shown, ensure_ascii=False, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def lint_panel(report: LintReport, board: Board) -> LintPanel:
    """What the panel and the markers show of ``report``, the lint of ``board``."""
    columns = {column.stage.key: column for column in board.stages}
    names = {card.offer.key: card.offer.name for column in board.stages for card in column.offers}
    seen: set[str] = set()
    groups = []
    counts = {level: 0 for level in LEVELS}
    for level in LEVELS:
        findings = report.of_level(level)
        counts[level] = report.count(level)
        if not counts[level]:
            continue
        groups.append(
            LevelGroup(
                level=level,
                title=LEVEL_WORDS[level][1].capitalize(),
                count=counts[level],
                help=LEVEL_HELP[level],
                findings=[
                    _finding_view(f, board, columns, _unique_id(f, seen), report.at)
                    for f in findings[:LIST_LIMIT]
                ],
                not_listed=[n.message for n in report.not_listed if n.level == level],
            )
        )
    unlisted: dict[str, int] = {}
    for n in report.not_listed:
        for key, more in n.offers.items():
            unlisted[key] = unlisted.get(key, 0) + more
    return LintPanel(
        counts=counts,
        groups=groups,
        marks=_marks(report.findings, names, unlisted),
        has_stages=bool(board.stages),
    )


def _unique_id(finding: Finding, seen: set[str]) -> str:
    where = (finding.code, finding.stage, finding.offers, finding.part, finding.group, finding.condition)
    base = "lint-" + hashlib.sha1(repr(where).encode()).hexdigest()[:10]
    candidate, n = base, 1
    while candidate in seen:
        n += 1
        candidate = f"{base}-{n}"
    seen.add(candidate)
    return candidate


def _finding_view(
    finding: Finding, board: Board, columns: Mapping[str, Column], id_: str, at: dt.date
) -> FindingView:
    column = columns.get(finding.stage or "")
    example = None
    example_json = ""
    if finding.example is not None:
        example = _example(finding, column, board.catalog, at)
        example_json = json.dumps(dict(finding.example), ensure_ascii=False, indent=2, default=str)
    return FindingView(
        finding=finding,
        id=id_,
        label=CODE_LABELS.get(finding.code, finding.code),
        stage_name=column.stage.name if column is not None else (finding.stage or ""),
        example=example,
        example_json=example_json,
    )


# --- The example customer ----------------------------------------------------------------------


def _example(
    finding: Finding, column: Column | None, catalog: Mapping[str, AttributeSpec], at: dt.date
) -> list[ExampleValue]:
    """The example profile, attribute by attribute in catalog order: the values it has, then the
    attributes the finding's conditions read that it lacks ("missing" is part of the example: a
    customer without a balance matches no condition on the balance)."""
    profile = dict(finding.example or {})
    relevant = _attributes_read(finding, column)
    order = [key for key in catalog if key in profile] + [key for key in profile if key not in catalog]
    named = _values_named(column)
    rows = [
        ExampleValue(_label(key, catalog), _value(profile[key], catalog.get(key), at, named.get(key, ())))
        for key in order
    ]
    rows += [
        ExampleValue(_label(key, catalog), "", missing=True)
        for key in catalog
        if key in relevant and key not in profile
    ]
    return rows


def _attributes_read(finding: Finding, column: Column | None) -> set[str]:
    """The attributes that the stage's entry and the finding's offers (all the stage's offers, when
    it names none: a gap) have conditions on."""
    if column is None:
        return set()
    named = set(finding.offers)
    groups: list[Any] = list(column.stage.entry or [])
    for card in column.offers:
        offer = card.offer
        if not named or offer.key in named:
            groups += list(offer.groups or [])
    return {
        str(c["attribute"]) for group in groups for c in group if isinstance(c, Mapping) and "attribute" in c
    }


def _values_named(column: Column | None) -> dict[str, list[Any]]:
    """Per attribute, the values the stage's conditions name: an example's text that none of them
    names stands for every other text ("other than Dublin or Cork")."""
    named: dict[str, list[Any]] = {}
    if column is None:
        return named
    groups: list[Any] = list(column.stage.entry or [])
    for card in column.offers:
        groups += list(card.offer.groups or [])
    for group in groups:
        for c in group:
            if not isinstance(c, Mapping) or not isinstance(c.get("attribute"), str):
                continue
            raw = c.get("value")
            values: list[Any] = raw if isinstance(raw, list) else [raw]
            seen = named.setdefault(c["attribute"], [])
            seen += [v for v in values if isinstance(v, str) and v not in seen]
    return named


def _label(key: str, catalog: Mapping[str, AttributeSpec]) -> str:
    spec = catalog.get(key)
    return spec.label if spec is not None else key


def _value(value: Any, spec: AttributeSpec | None, at: dt.date, named: Collection[Any] = ()) -> str:
    """As a person writes it ("1 month", "yes", "1 Mar 2026 (the decision day)"): the one way
    pages say a value (``decisioning.words.value_words``)."""
    return value_words(value, spec, at=at, named=named)


# --- Markers -----------------------------------------------------------------------------------


def _marks(
    findings: Sequence[Finding], names: Mapping[str, str], unlisted: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Every offer, stage and condition a finding is about → its worst level and a tooltip.

    ``unlisted``: per offer, the notes (overlaps) the report counted without listing them; they
    count on the offer's marker as the listed ones do.

    ``offers``/``stages``: key → {level, label ("1 error, 2 notes"), title (the messages of its
    errors and warnings, worst first; absent when it has notes only)}. A finding about a stage as a
    whole (a gap, an empty stage, its entry conditions) marks the stage's head; one naming offers
    marks their cards (a duplicate or never-shown offer: its own card only, not the ones above it). ``chips``: the conditions a contradiction or redundant-condition finding
    points at — {stage, offer (None for the entry), group, condition (None: the whole group),
    level, title}.
    """
    offers: dict[str, list[Finding]] = {}
    stages: dict[str, list[Finding]] = {}
    chips: list[dict[str, Any]] = []
    for finding in findings:
        if finding.offers and finding.part != "entry":
            # a hidden offer is the card at fault; the higher ones it names are fine as they are
            marked = finding.offers[:1] if finding.code in HIDDEN_CODES else finding.offers
            for key in dict.fromkeys(marked):
                offers.setdefault(key, []).append(finding)
        elif finding.stage:
            stages.setdefault(finding.stage, []).append(finding)
        if finding.group is not None and finding.stage:
            chips.append(
                {
                    "stage": finding.stage,
                    "offer": finding.offers[0] if finding.part == "offer" and finding.offers else None,
                    "group": finding.group,
                    "condition": finding.condition,
                    "level": finding.level,
                    "title": f"{LEVEL_WORDS[finding.level][0].capitalize()}: {finding.message}",
                }
            )
    unlisted = unlisted or {}
    for key in unlisted:
        offers.setdefault(key, [])
    return {
        "offers": {key: _mark(found, unlisted.get(key, 0)) for key, found in offers.items() if key in names},
        "stages": {key: _mark(found) for key, found in stages.items()},
        "chips": chips,
    }


def _mark(findings: Iterable[Finding], unlisted_notes: int = 0) -> dict[str, str]:
    """The marker of one card or stage head: its worst level, what it counts ("1 error, 3 notes")
    and, when it has errors or warnings, a tooltip quoting them (at most ``TITLE_LIMIT``). Notes are
    only counted: a card of a big stage can overlap dozens of others, and the marks of every card
    travel with every live frame."""
    ordered = sorted(findings, key=lambda f: LEVELS.index(f.level))
    counts = {level: sum(1 for f in ordered if f.level == level) for level in LEVELS}
    counts["info"] += unlisted_notes
    mark = {
        "level": ordered[0].level if ordered else "info",
        "label": ", ".join(counted(level, n) for level, n in counts.items() if n),
    }
    problems = [f for f in ordered if f.level != "info"]
    if problems:
        lines = [f"{LEVEL_WORDS[f.level][0].capitalize()}: {f.message}" for f in problems[:TITLE_LIMIT]]
        if len(problems) > TITLE_LIMIT:
            lines.append(f"… and {len(problems) - TITLE_LIMIT} more")
        mark["title"] = "\n".join(lines)
    return mark
