"""Acceptance test cases generated from the logic: what the decision engine must answer.

Per stage, in journey order:

- for every offer that can be shown, in priority order, a profile that gets it: inside the
  stage's entry, matching the offer, and outside every offer above it (exact, with
  ``decisioning.regions``: the offer's reach minus the reaches above it, and a witness of what is
  left). An offer with nothing left — a shadowed or duplicate offer, or one whose conditions can
  never hold in the stage — gets no case; ``CaseSet.skipped`` says why;
- for the fallback (when the stage has exactly one, without conditions), a profile that no other
  offer takes: it gets the fallback;
- for a gap (no fallback, and some customers of the stage match nothing), the example profile of
  the lint's ``gap`` finding: it gets nothing.

When each customer is in one stage (``BlueprintSpec.one_stage``), a stage's customers are those of
its entry outside every earlier stage's entry; a stage that shares customers with an earlier one gets
one more case, a customer of both, who gets nothing from it (the earlier stage takes them).

Each case is a request to the decide API (``{profile, stage, at, version}``) and the answer
expected for that stage in its result shape (``{stage, offer: key | null, fallback}``); the
decision day ``at`` matters only to ``within_last_days`` conditions. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from blueprint.exports.subject import ExportSubject
from decisioning.conditions import AttributeSpec
from decisioning.explain import explain_stage
from decisioning.model import DECISION_DAY, BlueprintSpec, OfferSpec, StageSpec, long_day, with_decision_day
from decisioning.profiles import profile_check
from decisioning.regions import Region, Space, intersect

Catalog = Mapping[str, AttributeSpec]


@dataclass(frozen=True)
class AcceptanceCase:
    name: str
    stage: str
    profile: dict[str, Any]
    offer: str | None
    fallback: bool
    why: str
    earlier: str | None = None  # one stage each: the earlier stage that takes this customer
    # the decision day of the request (YYYY-MM-DD) when the offers' dates make it another than the
    # export's; None: the export's
    day: str | None = None

    @property
    def profile_shown(self) -> list[tuple[str, str]]:
        """The profile as people read it in the spec: (key, the value as JSON)."""
        return [(key, json.dumps(value, ensure_ascii=False)) for key, value in self.profile.items()]

    def as_json(self, *, at: str, version: int | str) -> dict[str, Any]:
        return {
            "name": self.name,
            "request": {
                "profile": self.profile,
                "stage": self.stage,
                "at": self.day or at,
                "version": version,
            },
            "expect": {"stage": self.stage, "offer": self.offer, "fallback": self.fallback},
        }


@dataclass(frozen=True)
class SkippedOffer:
    """An offer that gets no case, and why."""

    stage: str
    offer: str
    name: str
    reason: str


@dataclass
class CaseSet:
    cases: list[AcceptanceCase] = field(default_factory=list)
    skipped: list[SkippedOffer] = field(default_factory=list)

    def of_stage(self, stage: str) -> list[AcceptanceCase]:
        return [c for c in self.cases if c.stage == stage]

    def skipped_of_stage(self, stage: str) -> list[SkippedOffer]:
        return [s for s in self.skipped if s.stage == stage]


def _stage_conditions(stage: StageSpec) -> Iterator[Any]:
    for group in stage.entry:
        yield from group
    for offer in stage.offers:
        for group in offer.groups:
            yield from group


def _on_its_day(profile: dict[str, Any], at: dt.date) -> tuple[dict[str, Any], str | None]:
    """A witness without its decision day, and that day when it is not ``at``."""
    day = profile.pop(DECISION_DAY, None)
    return profile, (day if day is not None and day != at.isoformat() else None)


def _named(name: str, day: str | None) -> str:
    return f"{name}, on {long_day(dt.date.fromisoformat(day))}" if day else name


def acceptance_cases(subject: ExportSubject) -> CaseSet:
    """Every case of the module docstring for the subject's blueprint on its decision day; an offer
    with dates gets its case on a day it is shown (the export's day where it can be), and a dated
    fallback leaves a gap case on a day it is not."""
    spec, dated_fallbacks = with_decision_day(subject.spec)
    stage_of = {st.key: st for st in subject.spec.stages}
    dated = {o.key: o for st in subject.spec.stages for o in st.offers if o.dated}
    gaps = {
        f.stage: (f.example, f.day)
        for f in subject.lint.findings
        if f.code == "gap" and f.example is not None
    }
    out = CaseSet()
    for index, stage in enumerate(spec.stages):
        # each customer in one stage: the customers of the stages before it are never in it
        earlier = spec.stages[:index] if spec.one_stage else ()
        conditions = [*_stage_conditions(stage), *(c for s in earlier for g in s.entry for c in g)]
        space = Space(spec.catalog, conditions, subject.at)
        population = space.groups(stage.entry)
        if earlier:
            taken = [box for s in earlier for box in space.groups(s.entry)]
            elsewhere = intersect(population, taken)
            if elsewhere:
                witness = space.witness(elsewhere[0])
                # the first earlier stage this very customer is in (its box may meet several)
                checked = profile_check(witness, spec.catalog)
                on = subject.at
                first = next(
                    s for s in earlier if explain_stage(s, spec.catalog, checked, on, on.toordinal()).entered
                )
                out.cases.append(
                    AcceptanceCase(
                        name=f"{stage.name}: a customer in an earlier stage",
                        stage=stage.key,
                        profile=witness,
                        offer=None,
                        fallback=False,
                        why="its entry holds, but each customer is in one stage, the first in journey "
                        f"order whose entry holds: this one is in “{first.name}”",
                        earlier=first.key,
                    )
                )
            entered = bool(population)
            population = space.minus(population, taken)
            if entered and not population:
                for offer in stage.offers:
                    out.skipped.append(
                        SkippedOffer(
                            stage.key,
                            offer.key,
                            offer.name,
                            "every customer the stage lets in is in an earlier stage, so no one is ever in "
                            "it (lint: stage-unreachable)",
                        )
                    )
                continue
        above: Region = []
        priority = 0
        for offer in stage.offers:
            if offer.fallback:
                continue
            if offer.key in dated_fallbacks:  # the stage's fallback, on its days (last: what is left)
                left = (
                    space.outside(intersect(space.groups(offer.groups), population), above)
                    if population
                    else None
                )
                if left is not None:
                    why = "in the stage, matches no other offer, on a day the fallback is shown"
                    _fallback_case(out, stage_of[stage.key], subject, space.witness(left), offer, why)
                continue
            priority += 1
            reach = intersect(space.groups(offer.groups), population)
            left = space.outside(reach, above) if reach else None
            if left is None:
                reason = (
                    "no customer can ever enter the stage (lint: contradiction in its entry)"
                    if not population
                    else "its conditions can never hold for a customer in the stage (lint: contradiction)"
                    if not reach
                    else "every customer it matches is taken by higher offers, so it is never shown "
                    "(lint: shadowed-offer or duplicate-offer)"
                )
                out.skipped.append(SkippedOffer(stage.key, offer.key, offer.name, reason))
            elif not _holds_on_its_day(stage_of[stage.key], subject, space.witness(left), offer.key):
                out.skipped.append(SkippedOffer(stage.key, offer.key, offer.name, ON_ANOTHER_DAY))
            else:
                profile, day = _on_its_day(space.witness(left), subject.at)
                out.cases.append(
                    AcceptanceCase(
                        name=_named(f"{stage.name}: “{offer.name}” (priority {priority})", day),
                        stage=stage.key,
                        profile=profile,
                        offer=offer.key,
                        fallback=False,
                        why=f"in the stage, matches “{offer.name}” and no offer above it"
                        + (" on a day it is shown" if offer.dated else ""),
                        day=day,
                    )
                )
                if offer.dated:
                    original = dated[offer.key]
                    if (original.ends_on or dt.date.min) < dt.date.max or (
                        original.starts_on or dt.date.min
                    ) > dt.date.min:
                        outside = _outside_its_days(subject.spec, stage_of[stage.key], original, profile)
                        if outside is not None:
                            out.cases.append(outside)
            above += reach
        fallbacks = [o for o in stage.offers if o.fallback]
        if len(fallbacks) == 1 and not fallbacks[0].groups:
            left = space.outside(population, above) if population else None
            if left is not None:
                why = "in the stage and matches no other offer"
                _fallback_case(out, stage_of[stage.key], subject, space.witness(left), fallbacks[0], why)
            else:
                out.skipped.append(
                    SkippedOffer(
                        stage.key,
                        fallbacks[0].key,
                        fallbacks[0].name,
                        "the offers above it take every customer in the stage, so the fallback is never reached",
                    )
                )
        elif fallbacks:
            for fallback in fallbacks:
                out.skipped.append(
                    SkippedOffer(
                        stage.key,
                        fallback.key,
                        fallback.name,
                        "the stage's fallback is invalid (lint: fallback-invalid): a stage has one fallback, "
                        "without conditions",
                    )
                )
        elif stage.key in gaps and _is_gap_on_its_day(stage_of[stage.key], subject, *gaps[stage.key]):
            example, day = gaps[stage.key]
            day = day if day != subject.at.isoformat() else None
            out.cases.append(
                AcceptanceCase(
                    name=_named(f"{stage.name}: a customer who gets no offer (gap)", day),
                    stage=stage.key,
                    profile=dict(example or {}),
                    offer=None,
                    fallback=False,
                    why="in the stage, matches no offer, and the stage has no fallback that day",
                    day=day,
                )
            )
    return out


# why an offer shown only on days other than the export's may get no case: the customer found for
# it has relative dates ("within the last N days") placed by the export's day
ON_ANOTHER_DAY = (
    "it is shown only on other days than the export's, and the customer found for it does not get it "
    "on those days once its “within the last days” conditions move with the day; decide with another "
    "decision day for a case"
)


def _fallback_case(
    out: CaseSet,
    stage: StageSpec,
    subject: ExportSubject,
    witness: dict[str, Any],
    fallback: OfferSpec,
    why: str,
) -> None:
    """The case of a stage's fallback for the customer ``witness`` (its day in it, if any), or the
    fallback skipped when, on that day, the customer does not get it read literally: the offers'
    days put them on another day, where "within the last days" conditions move (ON_ANOTHER_DAY)."""
    if not _holds_on_its_day(stage, subject, witness, fallback.key):
        out.skipped.append(SkippedOffer(stage.key, fallback.key, fallback.name, ON_ANOTHER_DAY))
        return
    profile, day = _on_its_day(witness, subject.at)
    out.cases.append(
        AcceptanceCase(
            name=_named(f"{stage.name}: the fallback “{fallback.name}”", day),
            stage=stage.key,
            profile=profile,
            offer=fallback.key,
            fallback=True,
            why=why,
            day=day,
        )
    )


def _holds_on_its_day(stage: StageSpec, subject: ExportSubject, witness: dict[str, Any], offer: str) -> bool:
    """Whether the witness (its day in it, if any) really gets ``offer`` on its day, read literally."""
    profile, day = _on_its_day(dict(witness), subject.at)
    if day is None:
        return True  # on the export's own day the regions are exact
    entered, got, _ = _literal(subject.spec, stage, profile, dt.date.fromisoformat(day))
    return entered and got == offer


def _is_gap_on_its_day(stage: StageSpec, subject: ExportSubject, example: Any, day: str | None) -> bool:
    """Whether the lint's gap example gets nothing on its day, read literally (see ON_ANOTHER_DAY)."""
    if day is None or day == subject.at.isoformat():
        return True
    entered, got, _ = _literal(subject.spec, stage, dict(example or {}), dt.date.fromisoformat(day))
    return entered and got is None


def _literal(
    spec: BlueprintSpec, stage: StageSpec, profile: dict[str, Any], day: dt.date
) -> tuple[bool, str | None, bool]:
    """What the stage gives the customer on ``day``, read literally (``decisioning.explain``):
    (whether they are in it, the offer or None, whether it is the fallback). Each customer in one
    stage: not in it when an earlier stage's entry holds."""
    catalog = spec.catalog
    checked = profile_check(profile, catalog)
    before = spec.stages[: spec.stages.index(stage)] if spec.one_stage else ()
    if any(explain_stage(st, catalog, checked, day, day.toordinal()).entered for st in before):
        return False, None, False
    decided = explain_stage(stage, catalog, checked, day, day.toordinal())
    return decided.entered, decided.offer, decided.fallback


def _outside_its_days(
    spec: BlueprintSpec, stage: StageSpec, offer: OfferSpec, profile: dict[str, Any]
) -> AcceptanceCase | None:
    """The same customer on a day the offer is not shown (the day after it ends, or the day before
    it starts), with what the stage gives them then; None when they are not in the stage that day
    (its entry asks for a date within the last days)."""
    if offer.ends_on is not None and offer.ends_on < dt.date.max:
        day = offer.ends_on + dt.timedelta(days=1)
    else:
        assert offer.starts_on is not None and offer.starts_on > dt.date.min
        day = offer.starts_on - dt.timedelta(days=1)
    entered, got, fallback = _literal(spec, stage, profile, day)
    if not entered:
        return None
    return AcceptanceCase(
        name=f"{stage.name}: “{offer.name}” not shown, on {long_day(day)}",
        stage=stage.key,
        profile=profile,
        offer=got,
        fallback=fallback,
        why=f"the same customer on a day “{offer.name}” is not shown ({offer.closed_words(day)})",
        day=day.isoformat(),
    )


def cases_json(subject: ExportSubject, cases: CaseSet | None = None) -> dict[str, Any]:
    """The downloadable test cases: what they are of, and each request with its expected answer."""
    found = cases if cases is not None else acceptance_cases(subject)
    at = subject.at.isoformat()
    return {
        "blueprint": subject.title,
        "version": dict(subject.version),
        "at": at,
        "cases": [case.as_json(at=at, version=subject.version_param) for case in found.cases],
        "skipped": [
            {"stage": s.stage, "offer": s.offer, "name": s.name, "reason": s.reason} for s in found.skipped
        ],
    }
