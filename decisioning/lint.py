"""Lint: no confusion, no duplication, exact over sets and intervals, not sampled.

``lint_blueprint(spec, at=day)`` answers for decision day ``at`` (``within_last_days`` is placed
on the calendar by it; everything else does not depend on it). The rules (docs/architecture.md,
"The lint", made precise), per stage in journey order:

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
    higher one first. Example: a customer both match. The first ``OVERLAPS_LISTED`` of a stage
    (in priority order) are listed; the others are counted (``LintReport.not_listed``).
- ``gap`` (warning): a stage with offers and no fallback where some customer of the population
  matches none; the example is such a customer.
- How stages relate (``BlueprintSpec.stage_mode``). Several at once: ``stage-overlap`` (warning)
  for every two stages whose entries let in one customer, on the later stage, naming both
  (``Finding.stages``); the example is such a customer. One stage each (the first in journey
  order whose entry holds): a stage's population is its entry *less every earlier stage's entry*,
  so every offer question above is asked only of the customers the stage really gets, and an
  offer group that meets the entry but only customers of earlier stages is a ``contradiction``
  saying so; ``stage-unreachable`` (error) when earlier stages take everyone the entry lets in
  (its offers can never be shown), the example a customer its entry lets in. The populations
  are subtracted as boxes under a quarter of the budget, each stage a turn of it in journey order;
  a stage it is not enough for (and every stage after it) gets an ``unchecked`` finding about
  ``stage-unreachable``, and only what its offers say on their own (contradictions, redundancies)
  is claimed about it.
- ``unchecked`` (the level of the check it is about: error for ``shadowed-offer``, which covers
  ``duplicate-offer`` too; warning for ``gap``): a check that did not finish within the lint's
  budget, naming the stage (and the offers) it is about. Nothing is claimed about what it would
  have found: a stage too complex to check is never called clean.

Every example profile is a concrete customer (attribute key → value; absent keys are missing)
that really does what the finding says when evaluated on day ``at``.

Cost. Contradictions, redundancies, fallbacks and overlaps are polynomial in the conditions and
always complete: they work on each group's conjunction (``Space.conjunction``, one box), and the
overlapping pairs of a stage are found with bitsets (``Space.meeting``), not pair by pair. Whether
an offer is hidden, and whether a stage has a gap, are coverage questions, coNP-complete (as is
expanding ``includes_any_of`` into boxes): they run under a ``decisioning.budget.Budget`` of
``LINT_STEPS`` steps, shared out stage by stage, each stage a share of what the ones before it left
(and the stages it was not enough for linted again with half of what is left, in journey order);
in a stage, half for the hidden offers (each offer a share, and again for those it was not enough
for) and the rest for the gap. What a budget stops becomes an ``unchecked`` finding. The same
blueprint and day always give the same report (steps, not time).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from decisioning.budget import Budget, BudgetExhausted
from decisioning.conditions import AttributeSpec, Condition, Group, condition_sentence
from decisioning.findings import (
    CODE_LABELS,
    LEVELS,
    Finding,
    LintReport,
    NotListed,
    on_their_days,
)
from decisioning.model import (
    BlueprintSpec,
    OfferSpec,
    StageSpec,
    with_decision_day,
)
from decisioning.regions import Conjunction, Region, Space, intersect

# The steps of one lint (decisioning.budget): about a second of work at most (bench/lint.py
# measures the heaviest blueprint the limits allow).
LINT_STEPS = 3_000_000
OVERLAPS_LISTED = 200  # overlap findings listed per stage; the rest are counted


def lint_budget(cancel: threading.Event | None = None) -> Budget:
    """The budget of one lint: ``LINT_STEPS``, stopped by ``cancel`` (by default the context's stop
    event, ``decisioning.budget.stopped_by``) when it is set."""
    return Budget(LINT_STEPS, cancel=cancel)


# the findings' types live in decisioning.findings; read here too, where the lint is
__all__ = [
    "CODE_LABELS",
    "LEVELS",
    "LINT_STEPS",
    "OVERLAPS_LISTED",
    "Finding",
    "LintReport",
    "NotListed",
    "lint_blueprint",
    "lint_budget",
]


def lint_blueprint(
    spec: BlueprintSpec, *, at: dt.date | dt.datetime | None = None, budget: Budget | None = None
) -> LintReport:
    """Every finding of the module's rules for the blueprint, stage by stage in journey order.

    ``budget`` bounds the coverage questions (default ``lint_budget()``; give one with a cancel
    event to stop the lint from another thread: it raises ``Cancelled``)."""
    budget = budget if budget is not None else lint_budget()
    day = _day(at)
    original = spec
    spec, dated_fallbacks = with_decision_day(spec)
    space = Space(spec.catalog, _conditions(spec), day)
    watch = Budget(cancel=budget.cancel)  # no limit: the polynomial work, for the cancel event
    linted = [_StageLint(space, spec.catalog, stage, watch) for stage in spec.stages]
    if spec.one_stage and len(linted) > 1:
        with budget.share(4) as part:
            _first_stage_only(space, linted, part)
    for stage_lint in linted:
        stage_lint.analyse()
    if not spec.one_stage:
        _stage_overlaps(space, linted)
    # The coverage checks: each stage a share of what the ones before it left; then, in journey
    # order, each stage it was not enough for half of what is left, checked again (a check settles
    # with any budget at least the one it settled with: the searches are deterministic).
    for again in (False, True):
        pending = [s for s in linted if s.unsettled or not again]
        for done, stage_lint in enumerate(pending):
            budget.check()
            with budget.turn(len(pending) - done, again) as part:
                stage_lint.settle(part)
    for stage_lint in linted:
        budget.check()
        stage_lint.finish()
    findings = [f for s in linted for f in [*s.relations, *s.out]]
    if spec is not original:
        findings = on_their_days(findings, original, dated_fallbacks)
    not_listed = [n for s in linted for n in s.not_listed]
    return LintReport(at=day, findings=tuple(findings), not_listed=tuple(not_listed), steps=budget.used)


def _entries(space: Space, stage: StageSpec) -> list[Conjunction]:
    """Who a stage's entry lets in, as conjunctions (everyone, without entry conditions)."""
    if not stage.entry:
        return [Conjunction({})]
    return [c for g in stage.entry if (c := space.conjunction(g)) is not None]


def _stage_overlaps(space: Space, linted: Sequence[_StageLint]) -> None:
    """Several stages at once: a ``stage-overlap`` warning for every two stages whose entries let
    in one customer, with such a customer, on the later stage."""
    entries = [_entries(space, s.stage) for s in linted]
    for j, later in enumerate(linted):
        for i in range(j):
            later.watch.spend(len(entries[i]) * len(entries[j]))
            both = next((m for a in entries[i] for b in entries[j] if (m := a.meet(b)) is not None), None)
            if both is None:
                continue
            first = linted[i].stage
            later.relations.append(
                Finding(
                    "stage-overlap",
                    f"A customer can be in both “{first.name}” and “{later.stage.name}” at once, and then "
                    "gets an offer from each; the example is such a customer. If the website shows one, "
                    "say which: set “How stages relate” to “Each customer is in one stage”, or narrow "
                    "the entries so they do not meet.",
                    stage=later.stage.key,
                    stages=(first.key, later.stage.key),
                    example=space.witness(space.example(both)),
                    part="entry",
                )
            )


def _first_stage_only(space: Space, linted: Sequence[_StageLint], budget: Budget) -> None:
    """Each customer in one stage: each stage's population is its entry less the earlier stages'
    entries (exact, as boxes), so its offers are checked only against the customers it really
    gets. A stage whose every customer an earlier one takes is ``stage-unreachable``; one the
    budget (each stage a share of it, in journey order) is not enough for keeps its whole entry,
    with an ``unchecked`` finding."""
    taken: Region = []
    taken_by: list[tuple[StageSpec, Region]] = []
    for done, stage_lint in enumerate(linted):
        stage = stage_lint.stage
        try:
            with budget.turn(len(linted) - done) as part:
                own = [box for c in _entries(space, stage) for box in space.expand(c, part)]
                rest = own
                if taken_by:
                    rest = space.minus(own, taken, part)
                    stage_lint.narrowed = [Conjunction(box) for box in rest]
                    stage_lint.earlier_takers = [
                        s for s, region in taken_by if own and intersect(region, own, part)
                    ]
                taken += own
                # who the stage really gets: its entry less the earlier ones (the first: all of it)
                taken_by.append((stage, rest))
        except BudgetExhausted:
            # this stage and every one after it: who they get is not known exactly, so nothing is
            # claimed about their gaps, overlaps and hidden offers
            for later in linted[done:]:
                later.narrowed = None
                later.order_unsettled = True
                later.relations.append(
                    Finding(
                        "unchecked",
                        f"Whether earlier stages take every customer of stage “{later.stage.name}” was not "
                        "settled within the limit of the checks, so its offers were not checked for gaps, "
                        "overlaps or offers never shown. Give the stages' entries fewer groups and conditions.",
                        stage=later.stage.key,
                        part="entry",
                        check="stage-unreachable",
                    )
                )
            return


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


def _quoted(names: Sequence[str], most: int | None = None) -> str:
    quoted = [f"“{n}”" for n in names]
    if most is not None and len(quoted) > most:
        rest = len(quoted) - most
        quoted = [*quoted[:most], f"{rest} more"]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


class _StageLint:
    """The lint of one stage: ``analyse`` (polynomial, once), then ``settle`` the coverage checks
    within a budget (again with a bigger one if it was not enough)."""

    def __init__(self, space: Space, catalog: Mapping[str, AttributeSpec], stage: StageSpec, watch: Budget):
        self.space = space
        self.catalog = catalog
        self.stage = stage
        self.watch = watch  # no limit: the polynomial work, for the cancel event
        self.budget = Budget(0)  # for the coverage questions, given by settle
        self.out: list[Finding] = []
        self.not_listed: list[NotListed] = []
        self.analysed = 0  # the findings of analyse, first in out
        self.population: list[Conjunction] = []
        self.never_shown: set[int] = set()
        self.settled = 0  # the end of the hidden-offer findings in out
        self.offers: list[OfferSpec] = []
        self.reaches: list[list[Conjunction]] = []
        self.meeting: list[int] = []
        # findings about how the stage relates to the others (stage-overlap, stage-unreachable)
        self.relations: list[Finding] = []
        # each customer in one stage: the customers of its entry no earlier stage takes (None: all of
        # them, not narrowed), and the earlier stages that take some
        self.narrowed: list[Conjunction] | None = None
        self.earlier_takers: list[StageSpec] = []
        self.whole: list[Conjunction] = []  # everyone its entry lets in
        self.order_unsettled = False  # one stage each: the budget did not settle who it gets

    def finding(self, code: str, message: str, **fields: Any) -> None:
        self.out.append(Finding(code=code, message=message, stage=self.stage.key, **fields))

    @property
    def unsettled(self) -> bool:
        """Some check of the stage did not finish."""
        return any(f.code == "unchecked" for f in self.out)

    def sentence(self, condition: Condition) -> str:
        return condition_sentence(condition, self.catalog.get(condition.attribute))

    def analyse(self) -> None:
        """The checks that need no budget: entry, fallbacks, empty stage, contradictions,
        redundancies, and which offers meet (for the overlaps and the coverage checks)."""
        stage = self.stage
        self.population = self.whole = self.entry()
        if self.narrowed is not None:
            self.population = self.narrowed
        self.fallbacks()
        if self.order_unsettled:
            if not stage.offers:
                self.finding("empty-stage", f"Stage “{stage.name}” has no offers yet.")
            for offer in stage.offers:  # only what the offers say on their own
                if not offer.fallback:
                    self.reach(offer, self.whole)
            self.population = []
            self.analysed = len(self.out)
            return
        if self.whole and not self.population:
            self.relations.append(
                Finding(
                    "stage-unreachable",
                    f"No customer is ever in stage “{stage.name}”: each customer is in one stage, the first "
                    f"in journey order whose entry holds, and everyone its entry lets in is in "
                    f"{_quoted([s.name for s in self.earlier_takers])} first; the example is such a customer. Move "
                    "it before them, narrow their entries, or let a customer be in several stages at once.",
                    stage=stage.key,
                    example=self.space.witness(self.space.example(self.whole[0])),
                    part="entry",
                )
            )
            for offer in stage.offers:  # only what the offers say on their own
                if not offer.fallback:
                    self.reach(offer, self.whole)
            self.analysed = len(self.out)
            return
        if not stage.offers:
            self.finding("empty-stage", f"Stage “{stage.name}” has no offers yet.")
        else:
            self.offers = [o for o in stage.offers if not o.fallback]
            self.reaches = [self.reach(offer, self.population) for offer in self.offers]
            self.meeting = self.meets(self.offers, self.reaches, self.population)
        self.analysed = len(self.out)

    def settle(self, budget: Budget) -> None:
        """The coverage checks within ``budget`` (their findings replace those of an earlier
        budget)."""
        if not self.stage.offers or not self.population:
            return
        self.budget = budget
        del self.out[self.analysed :]
        regions = self.regions(self.reaches)
        self.never_shown = self.duplicates_and_shadows(self.offers, regions, self.meeting)
        self.settled = len(self.out)
        if not any(o.fallback for o in self.stage.offers):
            self.gap(self.population, regions)

    def finish(self) -> None:
        """The overlaps of the offers not found hidden, after the hidden-offer findings (once the
        budget has done what it could: their examples are written once)."""
        if not self.stage.offers or not self.population:
            return
        gap = self.out[self.settled :]
        del self.out[self.settled :]
        self.overlaps(self.offers, self.reaches, self.meeting, self.never_shown)
        self.out += gap

    # --- groups --------------------------------------------------------------------------------

    def entry(self) -> list[Conjunction]:
        stage = self.stage
        population: list[Conjunction] = []
        for gi, group in enumerate(stage.entry):
            conjunction = self.space.conjunction(group)
            where = f"group {gi + 1} of the entry" if len(stage.entry) > 1 else "the entry"
            if conjunction is None:
                clash = self.clash(group)
                self.finding(
                    "contradiction",
                    f"No customer can ever enter stage “{stage.name}” by {where}: "
                    f"{' and '.join(map(self.sentence, clash))} cannot all hold at once.",
                    part="entry",
                    group=gi,
                )
                continue
            population.append(conjunction)
            self.redundancies(group, gi, part="entry", owner=f"the entry of stage “{stage.name}”")
        return population if stage.entry else [Conjunction({})]

    def clash(self, group: Group) -> list[Condition]:
        """The conditions on the one attribute that cannot all hold (the group is contradictory)."""
        for _attribute, conditions in _by_attribute(group).items():
            if self.space.conjunction(tuple(conditions)) is None:
                return conditions
        return list(group)  # unreachable for a contradictory group; keeps the message whole

    def redundancies(self, group: Group, gi: int, *, part: str, owner: str, offer: str | None = None) -> None:
        # conditions on different attributes never imply one another (the group is not empty), so
        # each attribute's conditions are asked apart; later ones first, so the later of two
        # equivalent conditions is the one flagged (and no longer counts for the ones before it)
        found: list[tuple[int, list[int]]] = []
        for attribute, positions in _positions_by_attribute(group).items():
            if len(positions) > 1:
                found += self.implied(attribute, [group[i] for i in positions], positions)
        for ci, others in sorted(found, reverse=True):
            reasons = " and ".join(self.sentence(group[oi]) for oi in others)
            self.finding(
                "redundant-condition",
                f"In {owner}, “{self.sentence(group[ci])}” adds nothing: {reasons} already implies it.",
                offers=(offer,) if offer else (),
                part=part,
                group=gi,
                condition=ci,
            )

    def implied(
        self, attribute: str, conditions: list[Condition], positions: list[int]
    ) -> list[tuple[int, list[int]]]:
        """The conditions on one attribute that the others (not already flagged) imply, later ones
        first, each with the positions of those others.

        Linear for one variable: the others meet in the AND of their masks, the ones before from a
        prefix, the ones after as they are kept. For a set, where "includes any of" would expand
        into a box per element, the others imply a condition exactly when one of them names only
        elements it names (if each named another, a set of one such element from each meets them
        all and not it)."""
        attr = self.catalog.get(attribute)
        kept: list[int] = []  # positions (in ``conditions``) after the one asked, not flagged
        out: list[tuple[int, list[int]]] = []
        self.watch.spend(len(conditions))
        if attr is not None and attr.type == "set":
            elements = [frozenset(_values(c)) for c in conditions]
            for k in range(len(conditions) - 1, -1, -1):
                others = [*range(k), *reversed(kept)]
                self.watch.spend(len(others))
                if others and any(elements[m] <= elements[k] for m in others):
                    out.append((positions[k], [positions[m] for m in others]))
                else:
                    kept.append(k)
            return out
        full = self.space.full[attribute]
        masks = [region[0][attribute] if (region := self.space.condition(c)) else 0 for c in conditions]
        before = [full]
        for mask in masks[:-1]:
            before.append(before[-1] & mask)
        after = full
        for k in range(len(conditions) - 1, -1, -1):
            if (k or kept) and not (before[k] & after & ~masks[k]):
                out.append((positions[k], [positions[m] for m in [*range(k), *reversed(kept)]]))
            else:
                kept.append(k)
                after &= masks[k]
        return out

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

    def reach(self, offer: OfferSpec, population: list[Conjunction]) -> list[Conjunction]:
        """The customers of the stage the offer matches, as conjunctions (one per group and entry
        group that meet), with contradictions and redundancies found."""
        if not offer.groups:
            return list(population)
        reach: list[Conjunction] = []
        several = len(offer.groups) > 1
        for gi, group in enumerate(offer.groups):
            self.watch.spend(len(group) + len(population))
            which = f"Group {gi + 1} of “{offer.name}”" if several else f"“{offer.name}”"
            conjunction = self.space.conjunction(group)
            if conjunction is None:
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
            inside = [both for p in population if (both := conjunction.meet(p)) is not None]
            if population is not self.whole and conjunction.any_of:
                # a box of customers no earlier stage takes may say a set lacks an element: its
                # "includes any of" is read exactly, one box per element
                inside = [Conjunction(box) for both in inside for box in self.space.expand(both, self.watch)]
            if (
                not inside
                and population is not self.whole
                and any(conjunction.meet(p) is not None for p in self.whole)
            ):
                self.finding(
                    "contradiction",
                    f"{which} can never match in stage “{self.stage.name}”: each customer is in one stage, "
                    "and every customer of the stage it would match is in "
                    f"{_quoted([s.name for s in self.earlier_takers])} first.",
                    offers=(offer.key,),
                    part="offer",
                    group=gi,
                )
                continue
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

    def meets(
        self, offers: list[OfferSpec], reaches: list[list[Conjunction]], population: list[Conjunction]
    ) -> list[int]:
        """For each offer, the other offers whose reach meets its reach, as a bitset of positions.

        A customer in both reaches is in the population, one of the first offer's groups and one of
        the second's, so it is enough to meet the first's reach with the second's groups on their
        own: the bitsets stay as wide as the stage has groups, whatever its entry."""
        groups: list[Conjunction] = []
        spans: list[tuple[int, int]] = []
        for offer, reach in zip(offers, reaches, strict=True):
            start = len(groups)
            if reach:
                if offer.groups:
                    groups += [c for g in offer.groups if (c := self.space.conjunction(g)) is not None]
                else:
                    groups.append(Conjunction({}))
            spans.append((start, len(groups)))
        left = [c.box for reach in reaches for c in reach]
        found = self.space.meeting(left, [c.box for c in groups], self.watch)
        meets: list[int] = []
        position = 0
        for i, reach in enumerate(reaches):
            touched = 0
            for bits in found[position : position + len(reach)]:
                touched |= bits
            position += len(reach)
            mine = 0
            for j, (start, end) in enumerate(spans):
                if j != i and end > start and (touched >> start) & ((1 << (end - start)) - 1):
                    mine |= 1 << j
            meets.append(mine)
        return meets

    def regions(self, reaches: list[list[Conjunction]]) -> list[Region] | None:
        """The reaches as boxes for the coverage questions (an "includes any of" becomes one box
        per element); None when they are too many for a quarter of the stage's budget."""
        try:
            with self.budget.share(4) as part:
                return [[box for c in reach for box in self.space.expand(c, part)] for reach in reaches]
        except BudgetExhausted:
            return None

    def duplicates_and_shadows(
        self, offers: list[OfferSpec], regions: list[Region] | None, meets: list[int]
    ) -> set[int]:
        """Find duplicate and shadowed offers; return the positions of those that are never shown.

        Half the stage's budget: each offer a share of what the ones before it left; then again, in
        priority order, each offer it was not enough for half of what is left (so hard offers get
        the budget the easy ones did not need, the first ones first). Offers still unsettled are
        named in one ``unchecked`` finding."""
        settled: dict[int, Finding | None] = {}
        if regions is not None:
            # half for the gap, unless a fallback leaves none to check
            with self.budget.share(1 if any(o.fallback for o in self.stage.offers) else 2) as phase:
                for again in (False, True):
                    pending = [j for j in range(len(offers)) if j not in settled]
                    for done, j in enumerate(pending):
                        try:
                            with phase.turn(len(pending) - done, again) as part:
                                settled[j] = self.hidden(offers, regions, meets, j, part)
                        except BudgetExhausted:
                            continue
        self.out += [found for _, found in sorted(settled.items()) if found is not None]
        unsettled = [offers[j] for j in range(len(offers)) if j not in settled]
        if unsettled:
            self.finding(
                "unchecked",
                f"Stage “{self.stage.name}” is too complex to check in full: whether "
                f"{_quoted([o.name for o in unsettled], 3)} can ever be shown (or only duplicate an offer "
                "above) was not settled within the limit of the checks. Publishing is refused until it is: "
                "split the stage, or give its offers fewer groups and conditions.",
                offers=tuple(o.key for o in unsettled),
                part="offer",
                check="shadowed-offer",
            )
        return {j for j, found in settled.items() if found is not None}

    def hidden(
        self, offers: list[OfferSpec], regions: list[Region], meets: list[int], j: int, budget: Budget
    ) -> Finding | None:
        """The finding of offer ``j`` if it is never shown, else None; raises ``BudgetExhausted``
        when ``budget`` runs out."""
        stage = self.stage
        space = self.space
        reach = regions[j]
        # only offers that meet it can take its customers
        higher = [i for i in range(j) if meets[j] >> i & 1]
        if not reach or not space.subset(reach, [box for i in higher for box in regions[i]], budget):
            return None
        offer = offers[j]
        twin = next((i for i in higher if regions[i] and space.same(regions[i], reach, budget)), None)
        if twin is not None:
            return Finding(
                "duplicate-offer",
                f"“{offer.name}” matches exactly the same customers as “{offers[twin].name}” in stage "
                f"“{stage.name}”, so it can never be shown. Merge them, or say what sets them apart.",
                stage=stage.key,
                offers=(offer.key, offers[twin].key),
                example=space.witness(reach[0]),
                part="offer",
            )
        takers = self.takers([regions[i] for i in higher], reach, budget)
        return Finding(
            "shadowed-offer",
            f"“{offer.name}” can never be shown in stage “{stage.name}”: every customer it matches "
            f"is taken first by {_quoted([offers[higher[i]].name for i in takers])}, above it.",
            stage=stage.key,
            offers=(offer.key, *(offers[higher[i]].key for i in takers)),
            example=space.witness(reach[0]),
            part="offer",
        )

    def takers(self, above: list[Region], reach: Region, budget: Budget) -> list[int]:
        """The higher offers that actually take some of ``reach``: those that match a customer of it
        whom no offer above them matched."""
        takers = []
        earlier: Region = []
        for i, higher in enumerate(above):
            if any(
                self.space.uncovered(box, earlier, budget) is not None
                for box in intersect(higher, reach, budget)
            ):
                takers.append(i)
            earlier += higher
        return takers

    def overlaps(
        self, offers: list[OfferSpec], reaches: list[list[Conjunction]], meets: list[int], hidden: set[int]
    ) -> None:
        """Every overlapping pair of shown offers counted; the first ``OVERLAPS_LISTED`` listed, with
        an example customer in both."""
        shown = [i for i in range(len(offers)) if i not in hidden and reaches[i]]
        found = 0
        more: dict[str, int] = {}
        for position, i in enumerate(shown):
            self.watch.spend(len(shown))
            for j in shown[position + 1 :]:
                if not meets[i] >> j & 1:
                    continue
                found += 1
                if found > OVERLAPS_LISTED:
                    for key in (offers[i].key, offers[j].key):
                        more[key] = more.get(key, 0) + 1
                    continue
                self.finding(
                    "overlap",
                    f"“{offers[i].name}” and “{offers[j].name}” can both match the same customer in stage "
                    f"“{self.stage.name}”; “{offers[i].name}” comes first, so it wins.",
                    offers=(offers[i].key, offers[j].key),
                    example=self.space.witness(self.both(reaches[i], offers[j])),
                    part="offer",
                )
        if found > OVERLAPS_LISTED:
            self.not_listed.append(
                NotListed(
                    stage=self.stage.key,
                    stage_name=self.stage.name,
                    code="overlap",
                    found=found,
                    listed=OVERLAPS_LISTED,
                    offers=more,
                )
            )

    def both(self, reach: list[Conjunction], offer: OfferSpec) -> dict[str, int]:
        """A box of customers in ``reach`` whom ``offer`` matches too (they are known to meet)."""
        groups = [c for g in offer.groups if (c := self.space.conjunction(g)) is not None] or [
            Conjunction({})
        ]
        for mine in reach:
            for theirs in groups:
                if _meet(mine.box, theirs.box):
                    both = mine.meet(theirs)
                    assert both is not None
                    return self.space.example(both)
        raise AssertionError("the offers were found to meet")

    def gap(self, population: list[Conjunction], regions: list[Region] | None) -> None:
        """The gap, with all the stage's budget that is left; an ``unchecked`` finding if it is not
        enough."""
        left = None
        try:
            if regions is None:
                raise BudgetExhausted
            with self.budget.share(1) as part:
                covered = [box for region in regions for box in region]
                for conjunction in population:
                    for box in self.space.expand(conjunction, part):
                        left = self.space.uncovered(box, covered, part)
                        if left is not None:
                            break
                    if left is not None:
                        break
        except BudgetExhausted:
            self.finding(
                "unchecked",
                f"Stage “{self.stage.name}” is too complex to check for gaps in full: whether every customer "
                "in it gets an offer was not settled within the limit of the checks. Add a fallback, so that "
                "no one goes without, or give its offers fewer groups and conditions.",
                check="gap",
            )
            return
        if left is not None:
            self.finding(
                "gap",
                f"Some customers in stage “{self.stage.name}” get no offer, and the stage has no fallback; "
                "the example is one of them. Add a fallback, or an offer for them.",
                example=self.space.witness(left),
            )


def _meet(one: Mapping[str, int], other: Mapping[str, int]) -> bool:
    """Whether two boxes share a customer (no variable on which their masks are disjoint)."""
    if len(other) < len(one):
        one, other = other, one
    for name, mask in one.items():
        theirs = other.get(name)
        if theirs is not None and not theirs & mask:
            return False
    return True


def _values(condition: Condition) -> list[Any]:
    return condition.value if isinstance(condition.value, list) else [condition.value]


def _positions_by_attribute(group: Group) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for i, condition in enumerate(group):
        positions.setdefault(condition.attribute, []).append(i)
    return positions


def _by_attribute(conditions: Iterable[Condition]) -> dict[str, list[Condition]]:
    grouped: dict[str, list[Condition]] = {}
    for condition in conditions:
        grouped.setdefault(condition.attribute, []).append(condition)
    return grouped
