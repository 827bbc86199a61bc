"""Lint: no confusion, no duplication (DESIGN §3), exact over sets and intervals, not sampled.

``lint_blueprint(spec, at=day)`` answers for decision day ``at`` (``within_last_days`` is placed
on the calendar by it; everything else does not depend on it). The rules, per stage in journey
order:

- The stage's *population* is everyone its entry groups let in (no entry conditions: everyone).
  Offers only ever meet customers in the population, so every offer question is asked inside it.
- ``contradiction`` (error): an entry group that can never hold; an offer group that can never
  hold, on its own or for anyone in the stage's population. One finding per group, naming the
  conditions that clash (or the entry that rules it out).
- ``redundant-condition`` (warning): a condition of a group (entry or offer) that the group's
  other conditions already imply. Of two conditions that imply each other, the later one is
  flagged. Not asked of contradictory groups.
- ``fallback-invalid`` (error): more than one fallback in a stage (one finding naming them all);
  a fallback with conditions (one finding per offer).
- ``empty-stage`` (warning): a stage without offers (and so no gap finding for it).
- Among the stage's other offers, in priority order, each offer's *reach* is the customers of
  the population it matches (a fallback matches no one: it is what is left).
  - ``duplicate-offer`` (error): an offer with the same non-empty reach as a higher one; the
    pair is named, the lower one first.
  - ``shadowed-offer`` (error): an offer whose non-empty reach lies wholly inside the reach of
    the offers above it (otherwise not a duplicate); it names itself first, then every higher
    offer that takes some of its customers. Example: a customer it matches.
  - ``overlap`` (info): two offers, neither duplicate nor shadowed, whose reaches meet; the
    higher one first. Example: a customer both match.
- ``gap`` (warning): a stage with offers and no fallback where some customer of the population
  matches none; the example is such a customer.

Every example profile is a concrete customer (attribute key → value; absent keys are missing)
that really does what the finding says when evaluated on day ``at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blueprint.conditions import AttributeSpec, Condition, Group, condition_sentence
from decisioning.model import BlueprintSpec, OfferSpec, StageSpec
from decisioning.regions import Region, Space, intersect

LEVELS = {
    "contradiction": "error",
    "duplicate-offer": "error",
    "shadowed-offer": "error",
    "fallback-invalid": "error",
    "redundant-condition": "warning",
    "gap": "warning",
    "empty-stage": "warning",
    "overlap": "info",
}


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

    @property
    def level(self) -> str:
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
        }


@dataclass(frozen=True)
class LintReport:
    at: dt.date
    findings: tuple[Finding, ...] = field(default_factory=tuple)

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

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "errors": [f.as_json() for f in self.errors],
            "warnings": [f.as_json() for f in self.warnings],
            "infos": [f.as_json() for f in self.infos],
        }


def lint_blueprint(spec: BlueprintSpec, *, at: dt.date | dt.datetime | None = None) -> LintReport:
    """Every finding of DESIGN §3 for the blueprint, stage by stage in journey order."""
    day = _day(at)
    space = Space(spec.catalog, _conditions(spec), day)
    findings: list[Finding] = []
    for stage in spec.stages:
        findings.extend(_StageLint(space, spec.catalog, stage).findings())
    return LintReport(at=day, findings=tuple(findings))


def _day(at: dt.date | dt.datetime | None) -> dt.date:
    if at is None:
        return dt.date.today()
    if isinstance(at, dt.datetime):
        return at.date()
    return at


def _conditions(spec: BlueprintSpec) -> Iterator[Condition]:
    for stage in spec.stages:
        for group in stage.entry:
            yield from group
        for offer in stage.offers:
            for group in offer.groups:
                yield from group


def _quoted(names: Sequence[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


class _StageLint:
    def __init__(self, space: Space, catalog: Mapping[str, AttributeSpec], stage: StageSpec):
        self.space = space
        self.catalog = catalog
        self.stage = stage
        self.out: list[Finding] = []

    def finding(self, code: str, message: str, **fields: Any) -> None:
        self.out.append(Finding(code=code, message=message, stage=self.stage.key, **fields))

    def sentence(self, condition: Condition) -> str:
        return condition_sentence(condition, self.catalog.get(condition.attribute))

    def findings(self) -> list[Finding]:
        stage = self.stage
        population = self.entry()
        self.fallbacks()
        if not stage.offers:
            self.finding("empty-stage", f"Stage “{stage.name}” has no offers yet.")
            return self.out
        offers = [o for o in stage.offers if not o.fallback]
        reaches = [self.reach(offer, population) for offer in offers]
        hidden = self.duplicates_and_shadows(offers, reaches)
        self.overlaps(offers, reaches, hidden)
        if not any(o.fallback for o in stage.offers):
            self.gap(population, reaches)
        return self.out

    # --- groups --------------------------------------------------------------------------------

    def entry(self) -> Region:
        stage = self.stage
        population: Region = []
        for gi, group in enumerate(stage.entry):
            region = self.space.group(group)
            where = f"group {gi + 1} of the entry" if len(stage.entry) > 1 else "the entry"
            if not region:
                clash = self.clash(group)
                self.finding(
                    "contradiction",
                    f"No customer can ever enter stage “{stage.name}” by {where}: "
                    f"{' and '.join(map(self.sentence, clash))} cannot all hold at once.",
                    part="entry",
                    group=gi,
                )
                continue
            population += region
            self.redundancies(group, gi, part="entry", owner=f"the entry of stage “{stage.name}”")
        return population if stage.entry else [{}]

    def clash(self, group: Group) -> list[Condition]:
        """The conditions on the one attribute that cannot all hold (the group is contradictory)."""
        for _attribute, conditions in _by_attribute(group).items():
            if not self.space.group(tuple(conditions)):
                return conditions
        return list(group)  # unreachable for a contradictory group; keeps the message whole

    def redundancies(self, group: Group, gi: int, *, part: str, owner: str, offer: str | None = None) -> None:
        flagged: set[int] = set()
        # conditions on different attributes never imply one another (the group is not empty), so
        # only the same attribute's conditions are asked; later ones first, so the later of two
        # equivalent conditions is the one flagged
        for ci in range(len(group) - 1, -1, -1):
            condition = group[ci]
            others = [
                (oi, other)
                for oi, other in enumerate(group)
                if oi != ci and oi not in flagged and other.attribute == condition.attribute
            ]
            if not others:
                continue
            implied_by = self.space.group(tuple(other for _, other in others))
            if self.space.subset(implied_by, self.space.condition(condition)):
                flagged.add(ci)
                reasons = " and ".join(self.sentence(other) for _, other in others)
                self.finding(
                    "redundant-condition",
                    f"In {owner}, “{self.sentence(condition)}” adds nothing: {reasons} already implies it.",
                    offers=(offer,) if offer else (),
                    part=part,
                    group=gi,
                    condition=ci,
                )

    def fallbacks(self) -> None:
        stage = self.stage
        fallbacks = [o for o in stage.offers if o.fallback]
        if len(fallbacks) > 1:
            self.finding(
                "fallback-invalid",
                f"Stage “{stage.name}” has {len(fallbacks)} fallbacks ({_quoted([o.name for o in fallbacks])}); "
                "a stage may have one, for everyone who gets no other offer.",
                offers=tuple(o.key for o in fallbacks),
            )
        for offer in fallbacks:
            if offer.groups:
                self.finding(
                    "fallback-invalid",
                    f"“{offer.name}” is the fallback of stage “{stage.name}” but has conditions; a fallback "
                    "is for everyone who gets no other offer, so it has none. Remove its conditions or make "
                    "it an ordinary offer.",
                    offers=(offer.key,),
                    part="offer",
                )

    def reach(self, offer: OfferSpec, population: Region) -> Region:
        """The customers of the stage the offer matches, with contradictions and redundancies found."""
        if not offer.groups:
            return population
        reach: Region = []
        several = len(offer.groups) > 1
        for gi, group in enumerate(offer.groups):
            which = f"Group {gi + 1} of “{offer.name}”" if several else f"“{offer.name}”"
            region = self.space.group(group)
            if not region:
                clash = self.clash(group)
                self.finding(
                    "contradiction",
                    f"{which} can never match anyone: "
                    f"{' and '.join(map(self.sentence, clash))} cannot all hold at once.",
                    offers=(offer.key,),
                    part="offer",
                    group=gi,
                )
                continue
            inside = intersect(region, population)
            if not inside:
                self.finding(
                    "contradiction",
                    f"{which} can never match in stage “{self.stage.name}”: no customer the stage lets "
                    f"in ({self.entry_sentence()}) has "
                    f"{' and '.join(map(self.sentence, group))}.",
                    offers=(offer.key,),
                    part="offer",
                    group=gi,
                )
                continue
            self.redundancies(group, gi, part="offer", owner=f"“{offer.name}”", offer=offer.key)
            reach += inside
        return reach

    def entry_sentence(self) -> str:
        return "; or ".join(" and ".join(map(self.sentence, group)) for group in self.stage.entry)

    # --- offers against offers -----------------------------------------------------------------

    def duplicates_and_shadows(self, offers: list[OfferSpec], reaches: list[Region]) -> set[int]:
        """Find duplicate and shadowed offers; return the positions of those that are never shown."""
        stage = self.stage
        space = self.space
        hidden: set[int] = set()
        above: Region = []
        for j, (offer, reach) in enumerate(zip(offers, reaches, strict=True)):
            # a twin's reach lies inside the reach above too, so only a hidden offer is asked for one
            if reach and space.subset(reach, above):
                hidden.add(j)
                twin = next((i for i in range(j) if reaches[i] and space.same(reaches[i], reach)), None)
                if twin is not None:
                    self.finding(
                        "duplicate-offer",
                        f"“{offer.name}” matches exactly the same customers as “{offers[twin].name}” in stage "
                        f"“{stage.name}”, so it can never be shown. Merge them, or say what sets them apart.",
                        offers=(offer.key, offers[twin].key),
                        example=space.witness(reach[0]),
                        part="offer",
                    )
                else:
                    takers = self.takers(reaches[:j], reach)
                    self.finding(
                        "shadowed-offer",
                        f"“{offer.name}” can never be shown in stage “{stage.name}”: every customer it matches "
                        f"is taken first by {_quoted([offers[i].name for i in takers])}, above it.",
                        offers=(offer.key, *(offers[i].key for i in takers)),
                        example=space.witness(reach[0]),
                        part="offer",
                    )
            above += reach
        return hidden

    def takers(self, above: list[Region], reach: Region) -> list[int]:
        """The higher offers that actually take some of ``reach``: those that match a customer of it
        whom no offer above them matched."""
        takers = []
        earlier: Region = []
        for i, higher in enumerate(above):
            if any(self.space.uncovered(box, earlier) is not None for box in intersect(higher, reach)):
                takers.append(i)
            earlier += higher
        return takers

    def overlaps(self, offers: list[OfferSpec], reaches: list[Region], hidden: set[int]) -> None:
        shown = [i for i in range(len(offers)) if i not in hidden and reaches[i]]
        for position, i in enumerate(shown):
            for j in shown[position + 1 :]:
                both = intersect(reaches[i], reaches[j])
                if both:
                    self.finding(
                        "overlap",
                        f"“{offers[i].name}” and “{offers[j].name}” can both match the same customer in stage "
                        f"“{self.stage.name}”; “{offers[i].name}” comes first, so it wins.",
                        offers=(offers[i].key, offers[j].key),
                        example=self.space.witness(both[0]),
                        part="offer",
                    )

    def gap(self, population: Region, reaches: list[Region]) -> None:
        covered = [box for reach in reaches for box in reach]
        left = self.space.outside(population, covered)
        if left is not None:
            self.finding(
                "gap",
                f"Some customers in stage “{self.stage.name}” get no offer, and the stage has no fallback; "
                "the example is one of them. Add a fallback, or an offer for them.",
                example=self.space.witness(left),
            )


def _by_attribute(conditions: Iterable[Condition]) -> dict[str, list[Condition]]:
    grouped: dict[str, list[Condition]] = {}
    for condition in conditions:
        grouped.setdefault(condition.attribute, []).append(condition)
    return grouped
