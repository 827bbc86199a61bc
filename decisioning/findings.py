"""What the lint says: its findings, their levels and labels, the report, and the budget a lint is
given (``decisioning.lint`` finds them; every transport reads them from here or through it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from decisioning.model import DECISION_DAY, BlueprintSpec, long_day, window_words

LEVELS = {
    "contradiction": "error",
    "duplicate-offer": "error",
    "shadowed-offer": "error",
    "fallback-invalid": "error",
    "redundant-condition": "warning",
    "gap": "warning",
    "empty-stage": "warning",
    "overlap": "info",
    "stage-overlap": "warning",
    "stage-unreachable": "error",
    "unchecked": "error",  # the level of the check it is about (Finding.check); error if none
}

# Each code's name for people: the checks panel, the diagram's markers, the spec.
CODE_LABELS = {
    "contradiction": "Contradiction",
    "duplicate-offer": "Duplicate offer",
    "shadowed-offer": "Never shown",
    "fallback-invalid": "Invalid fallback",
    "redundant-condition": "Redundant condition",
    "gap": "Gap",
    "empty-stage": "Empty stage",
    "overlap": "Overlap",
    "stage-overlap": "Customers in several stages",
    "stage-unreachable": "Stage never reached",
    "unchecked": "Not fully checked",
}
if CODE_LABELS.keys() != LEVELS.keys():
    raise RuntimeError("every lint code has a level and a name for people (LEVELS, CODE_LABELS)")


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    stage: str | None
    offers: tuple[str, ...] = ()
    example: Mapping[str, Any] | None = None
    # where on the board: "entry" (the stage's entry conditions), "offer" or None (the stage)
    part: str | None = None
    group: int | None = None  # the index of the group, for contradiction and redundant-condition
    condition: int | None = None  # the index of the condition in the group, for redundant-condition
    check: str | None = None  # unchecked: the code of the check that did not finish
    stages: tuple[str, ...] = ()  # stage-overlap: the two stages, in journey order
    # the decision day the example is on (YYYY-MM-DD), when the offers' dates make it matter
    day: str | None = None

    @property
    def level(self) -> str:
        if self.code == "unchecked" and self.check is not None:
            return LEVELS[self.check]
        return LEVELS[self.code]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "stage": self.stage,
            "offers": list(self.offers),
            "example": dict(self.example) if self.example is not None else None,
            "part": self.part,
            "group": self.group,
            "condition": self.condition,
            "check": self.check,
            "stages": list(self.stages),
            "day": self.day,
        }


@dataclass(frozen=True)
class NotListed:
    """Findings of one code in one stage that were found and counted but not listed."""

    stage: str
    stage_name: str
    code: str
    found: int  # all of them
    listed: int  # the first ones, in the report's findings
    offers: Mapping[str, int] = field(default_factory=dict)  # offer key → its findings not listed

    @property
    def level(self) -> str:
        return LEVELS[self.code]

    @property
    def more(self) -> int:
        return self.found - self.listed

    @property
    def message(self) -> str:
        pairs = f"{self.found:,} pair{'' if self.found == 1 else 's'} of offers"
        listed = {0: "none is listed", 1: "the first is listed"}.get(
            self.listed, f"the first {self.listed:,} are listed"
        )
        return (
            f"Overlaps in “{self.stage_name}”: {pairs} can meet the same customer; "
            f"{listed}, {self.more:,} more {'is' if self.more == 1 else 'are'} not."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "code": self.code,
            "level": self.level,
            "found": self.found,
            "listed": self.listed,
            "message": self.message,
        }


@dataclass(frozen=True)
class LintReport:
    at: dt.date
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    not_listed: tuple[NotListed, ...] = ()
    steps: int = 0  # the budgeted steps the coverage questions took

    def of_level(self, level: str) -> list[Finding]:
        return [f for f in self.findings if f.level == level]

    @property
    def errors(self) -> list[Finding]:
        return self.of_level("error")

    @property
    def warnings(self) -> list[Finding]:
        return self.of_level("warning")

    @property
    def infos(self) -> list[Finding]:
        return self.of_level("info")

    @property
    def unchecked(self) -> list[Finding]:
        """The checks that did not finish within the budget."""
        return [f for f in self.findings if f.code == "unchecked"]

    @property
    def complete(self) -> bool:
        """Every check finished: what the report does not say, it has checked is not there."""
        return not self.unchecked

    def count(self, level: str) -> int:
        """The findings of a level, those not listed included."""
        return len(self.of_level(level)) + sum(n.more for n in self.not_listed if n.level == level)

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "errors": [f.as_json() for f in self.errors],
            "warnings": [f.as_json() for f in self.warnings],
            "infos": [f.as_json() for f in self.infos],
            "complete": self.complete,
            "not_listed": [n.as_json() for n in self.not_listed],
            "steps": self.steps,
        }


# what a dated fallback, linted as an ordinary last offer for its days, is never reported for
_NOT_OF_A_FALLBACK = frozenset({"shadowed-offer", "duplicate-offer", "overlap"})


def on_their_days(
    findings: list[Finding], spec: BlueprintSpec, dated_fallbacks: frozenset[str]
) -> list[Finding]:
    """The findings of a blueprint linted with its offers' days (``with_decision_day``): the decision
    day an example is on moved out of the profile and said, and a dated fallback not reported as an
    offer (it catches what is left: a gap is what it leaves on the days it is not shown)."""
    fallback_of = {st.key: o for st in spec.stages for o in st.offers if o.key in dated_fallbacks}
    groups_of = {o.key: len(o.groups) for st in spec.stages for o in st.offers}
    kept = []
    for f in findings:
        about = f.check if f.code == "unchecked" else f.code
        if about in _NOT_OF_A_FALLBACK and dated_fallbacks.intersection(f.offers):
            if f.code != "unchecked":
                continue
            # a check left unsettled names every offer it did not settle: keep the others named
            others = tuple(key for key in f.offers if key not in dated_fallbacks)
            if not others:
                continue
            f = replace(f, offers=others)
        if f.part == "offer" and f.group is not None and f.group >= groups_of.get(f.offers[0], 0):
            continue  # the one group of days given to an offer for everyone: not the person's
        message = f.message
        if f.code == "gap" and f.stage in fallback_of:
            fallback = fallback_of[f.stage]
            stage_name = next(st.name for st in spec.stages if st.key == f.stage)
            message = (
                f"Some customers in stage “{stage_name}” get no offer on the days its fallback “{fallback.name}” "
                f"is not shown ({window_words(fallback.starts_on, fallback.ends_on)}); the example is one of "
                "them. Give the fallback no dates, or add an offer for them."
            )
        example = dict(f.example) if f.example is not None else None
        day = example.pop(DECISION_DAY, None) if example is not None else None
        if day is not None:
            message = f"{message} Example day: {long_day(dt.date.fromisoformat(day))}."
        kept.append(replace(f, message=message, example=example, day=day))
    return kept
