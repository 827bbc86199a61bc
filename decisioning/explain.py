"""Explaining a decision (docs/architecture.md, "Decisions"): every condition of a stage read
literally against the profile, and for each offer not chosen why not — the failed conditions, the
higher offers that took the customer, and the smallest change to the profile that would get it
chosen, found exactly over the regions of ``decisioning.regions`` under a step budget
(``decisioning.budget``).

The generated code of ``decisioning.engine`` decides; this module says why, from the same
conditions read one by one (``condition_holds``): the two must agree, and the property tests hold
them to it. Pure: no database.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from decisioning.budget import Budget, BudgetExhausted
from decisioning.conditions import AttributeSpec, Condition, Groups, condition_sentence
from decisioning.model import StageSpec
from decisioning.operators import day_ordinal, require_every_operator
from decisioning.outcomes import (
    ConditionOutcome,
    GroupOutcome,
    OfferOutcome,
    StageDecision,
    StageExplain,
    WhyNot,
)
from decisioning.regions import ELEMENT_SEPARATOR, MISSING, Box, Region, Space, intersect

# --- Conditions, read literally (explain and why-not use this; the generated code must agree) ------


def _is(value: Any, wanted: Any, today: int) -> bool:
    return bool(value == wanted) and type(value) is type(wanted)


def _is_one_of(value: Any, wanted: Any, today: int) -> bool:
    return value in wanted


def _includes(value: Any, wanted: Any, today: int) -> bool:
    return wanted in value


def _includes_any_of(value: Any, wanted: Any, today: int) -> bool:
    return any(element in value for element in wanted)


def _at_least(value: Any, wanted: Any, today: int) -> bool:
    if isinstance(value, dt.date):
        return value.toordinal() >= day_ordinal(wanted)
    return bool(value >= wanted)


def _at_most(value: Any, wanted: Any, today: int) -> bool:
    if isinstance(value, dt.date):
        return value.toordinal() <= day_ordinal(wanted)
    return bool(value <= wanted)


def _below(value: Any, wanted: Any, today: int) -> bool:
    if isinstance(value, dt.date):
        return value.toordinal() < day_ordinal(wanted)
    return bool(value < wanted)


def _above(value: Any, wanted: Any, today: int) -> bool:
    if isinstance(value, dt.date):
        return value.toordinal() > day_ordinal(wanted)
    return bool(value > wanted)


def _between(value: Any, wanted: Any, today: int) -> bool:
    if isinstance(value, dt.date):
        return day_ordinal(wanted[0]) <= value.toordinal() <= day_ordinal(wanted[1])
    return bool(wanted[0] <= value <= wanted[1])


def _within_last_days(value: Any, wanted: Any, today: int) -> bool:
    return isinstance(value, dt.date) and today - wanted <= value.toordinal() <= today


# Per operator, whether it holds for a checked value (never None) on day ordinal ``today``.
HOLDS: dict[str, Callable[[Any, Any, int], bool]] = {
    "is": _is,
    "is_one_of": _is_one_of,
    "at_least": _at_least,
    "at_most": _at_most,
    "below": _below,
    "above": _above,
    "between": _between,
    "within_last_days": _within_last_days,
    "includes": _includes,
    "includes_any_of": _includes_any_of,
}
require_every_operator(HOLDS, "decisioning.explain.HOLDS")


def condition_holds(condition: Condition, value: Any, today: int) -> bool:
    """Whether a condition holds for a checked value (None: missing) on day ordinal ``today``."""
    if value is None:
        return False
    return HOLDS[condition.operator](value, condition.value, today)


def groups_hold(groups: Groups, checked: Mapping[str, Any], today: int) -> bool:
    return not groups or any(
        all(condition_holds(c, checked.get(c.attribute), today) for c in g) for g in groups
    )


# --- Explaining one stage -----------------------------------------------------------------------------


Sentences = dict[int, tuple[Condition, str]]  # by the condition's id (the condition kept with it)


def _sentence(c: Condition, catalog: Mapping[str, AttributeSpec], sentences: Sentences) -> str:
    """The condition's sentence, kept per condition (a long list takes a while to write, and every
    explanation of a version writes every condition)."""
    found = sentences.get(id(c))
    if found is None or found[0] is not c:
        found = sentences[id(c)] = (c, condition_sentence(c, catalog.get(c.attribute)))
    return found[1]


def _outcomes(
    groups: Groups,
    catalog: Mapping[str, AttributeSpec],
    checked: Mapping[str, Any],
    today: int,
    sentences: Sentences,
) -> list[GroupOutcome]:
    return [
        GroupOutcome(
            [
                ConditionOutcome(
                    c,
                    _sentence(c, catalog, sentences),
                    checked.get(c.attribute),
                    condition_holds(c, checked.get(c.attribute), today),
                )
                for c in group
            ]
        )
        for group in groups
    ]


def explain_stage(
    stage: StageSpec,
    catalog: Mapping[str, AttributeSpec],
    checked: Mapping[str, Any],
    at: dt.date,
    today: int,
    budget: Budget | None = None,
    sentences: Sentences | None = None,
    *,
    before: Sequence[StageSpec] = (),
    earlier: StageSpec | None = None,
) -> StageDecision:
    """The decision of one stage with every outcome, read literally from the conditions; the
    why-nots share ``budget`` (none: no bound), each offer a share of what the ones before it left.

    Each customer in one stage (``BlueprintSpec.one_stage``): ``before`` are the stages earlier in
    the journey, whose customers this stage never sees (the why-nots look outside them), and
    ``earlier`` the first of them the customer is in, if any: then the customer is not in this one."""
    budget = budget if budget is not None else Budget()
    sentences = sentences if sentences is not None else {}
    entry = _outcomes(stage.entry, catalog, checked, today, sentences)
    entered = (not entry or any(g.result for g in entry)) and earlier is None
    offers: list[OfferOutcome] = []
    for offer in stage.offers:
        budget.check()
        groups = _outcomes(offer.groups, catalog, checked, today, sentences)
        # outside its days an offer is not eligible (docs/architecture.md, "Decisions")
        matched = not offer.fallback and offer.open_on(at) and (not groups or any(g.result for g in groups))
        offers.append(OfferOutcome(offer.key, offer.name, offer.fallback, matched, False, groups))
    eligible = tuple(o.key for o in offers if o.matched)
    fallback = next((o for o in offers if o.fallback), None)
    if fallback is not None and not next(s for s in stage.offers if s.fallback).open_on(at):
        fallback = None  # the stage's fallback, outside its days
    chosen: str | None = None
    is_fallback = False
    if entered:
        if eligible:
            chosen = eligible[0]
        elif fallback is not None:
            chosen, is_fallback = fallback.key, True
    for o in offers:
        o.chosen = o.key == chosen
    whys = WhyNotSolver(stage, catalog, checked, at, budget, before=before)
    failed_entry = [c for g in entry for c in g.conditions if not c.result] if not entered else []
    answers: dict[int, tuple[bool | None, dict[str, Any] | None, bool]] = {}
    # Each offer a share of what the ones before it left; then, in priority order, each offer it
    # was not enough for half of what is left (so one hard offer cannot starve the others, and the
    # budget the easy ones did not need goes to the hard ones). Deterministic: the same profile
    # always gets the same answer.
    for again in (False, True):
        pending = [
            i for i, o in enumerate(offers) if not o.chosen and (i not in answers or not answers[i][2])
        ]
        for done, index in enumerate(pending):
            budget.check()
            with budget.turn(len(pending) - done, again) as part:
                answers[index] = whys.change_for(index, part)
    for index, o in enumerate(offers):
        if o.chosen:
            continue
        taken_by = [h.key for h in offers[:index] if h.matched] if entered else []
        if o.fallback and entered:
            taken_by = list(eligible)
        failed = [c for g in o.groups for c in g.conditions if not c.result] if not o.fallback else []
        possible, change, complete = answers[index]
        o.why_not = WhyNot(
            not_entered=not entered,
            failed=failed_entry + failed,
            taken_by=taken_by,
            possible=possible,
            change=change,
            complete=complete,
            earlier=earlier.key if earlier is not None else None,
            closed=stage.offers[index].closed_words(at),
        )
    return StageDecision(
        stage.key,
        entered,
        chosen,
        is_fallback,
        eligible if entered else (),
        StageExplain(entry, offers),
        earlier=earlier.key if earlier is not None else None,
    )


class WhyNotSolver:
    """The smallest change of a profile that gets an offer of one stage chosen, found exactly.

    The customers who get offer ``i`` form a region (``decisioning.regions``): the stage's entry and
    the offer's groups, outside every higher offer (for the fallback: outside every offer). The
    profile lies in one atom of each variable; a part of the region costs the attributes on which
    it misses the profile's atoms, and ``Space.cheapest_outside`` finds a cheapest part, best
    first, without subtracting the higher offers box by box (which fragments the region
    exponentially in their number). Those attributes get the part's value nearest to theirs.

    Deciding whether boxes cover a box is coNP-complete, so the search runs under a ``Budget``:
    half of an offer's share for the cheapest part; if that runs out, the rest for any part at all
    (is the offer possible?). What the budget left unsettled is said in the answer, never guessed.
    """

    def __init__(
        self,
        stage: StageSpec,
        catalog: Mapping[str, AttributeSpec],
        checked: Mapping[str, Any],
        at: dt.date,
        budget: Budget | None = None,
        *,
        before: Sequence[StageSpec] = (),
    ) -> None:
        self.stage = stage
        self.before = before  # one stage each: the earlier stages, whose customers never get here
        self.catalog = catalog
        self.checked = checked
        self.at = at
        self.today = at.toordinal()
        self.budget = budget
        conditions = [c for g in stage.entry for c in g]
        conditions += [c for o in stage.offers if not o.fallback for g in o.groups for c in g]
        conditions += [c for earlier in before for g in earlier.entry for c in g]
        self.conditions = [c for c in conditions if c.attribute in catalog]
        self.space = Space(catalog, self.conditions, at)
        self.first_fallback = next((i for i, o in enumerate(stage.offers) if o.fallback), None)
        self._regions: tuple[Region, list[Region], Region] | None = None
        self._too_big = False
        self._current: dict[str, int] = {}

    def regions(self) -> tuple[Region, list[Region], Region] | None:
        """The stage's entry, each offer's groups and the earlier stages' entries (``before``) as
        boxes, built once (one box per combination of the elements of ``includes_any_of``
        conditions: counted in the budget); None when they are too many for it."""
        if self._regions is None and not self._too_big:
            try:
                entry = self.space.groups(self.stage.entry, self.budget)
                reach = [
                    [] if o.fallback else self.space.groups(o.groups, self.budget) for o in self.stage.offers
                ]
                taken = [box for s in self.before for box in self.space.groups(s.entry, self.budget)]
            except BudgetExhausted:
                self._too_big = True
                return None
            self._regions = (entry, reach, taken)
        return self._regions

    def problem(self, index: int, budget: Budget | None = None) -> tuple[Region, Region] | None:
        """The customers who would get offer ``index`` were it not for the offers that come first, and
        those offers' customers; None when the regions are too many boxes for the budget."""
        regions = self.regions()
        if regions is None:
            return None
        entry, reach, taken = regions
        offer = self.stage.offers[index]
        if not offer.open_on(self.at):
            return [], []  # no change of the profile brings it back on this day
        # offers outside their days take no one
        open_reach = [r if o.open_on(self.at) else [] for o, r in zip(self.stage.offers, reach, strict=True)]
        if offer.fallback:
            if index != self.first_fallback:
                return [], []
            return entry, [box for i, r in enumerate(open_reach) for box in r if i != index] + taken
        return intersect(entry, reach[index], budget), [box for r in open_reach[:index] for box in r] + taken

    def region_of(self, index: int) -> Region:
        """The customers who get offer ``index`` (the region less the offers first, as boxes:
        exponential in those offers; for tests on small stages)."""
        found = self.problem(index)
        assert found is not None, "no budget was given"
        target, higher = found
        return self.space.minus(target, higher) if target else []

    def change_for(
        self, index: int, budget: Budget | None = None
    ) -> tuple[bool | None, dict[str, Any] | None, bool]:
        """(possible, the smallest change or None, complete) for offer ``index`` within ``budget``."""
        budget = budget if budget is not None else Budget()
        try:
            found = self.problem(index, budget)
        except BudgetExhausted:
            return None, None, False
        if found is None:
            return None, None, False
        target, higher = found
        if not target:
            return False, None, True
        here = {name: self.current_mask(name) for name in self.space.variables}
        try:
            with budget.share(2) as part:
                cheapest = self.space.cheapest_outside(target, higher, here, part)
        except BudgetExhausted:
            try:
                with budget.share(1) as part:
                    possible = self.space.outside(target, higher, part) is not None
            except BudgetExhausted:
                return None, None, False
            return possible, None, not possible
        if cheapest is None:
            return False, None, True
        box, changed = cheapest
        return True, {key: self.new_value(key, box) for key in sorted(changed)}, True

    # the profile's own place among the atoms of each variable

    def current_mask(self, name: str) -> int:
        """The atom of variable ``name`` the profile's value lies in, as a mask. Every mask of the
        search holds the atoms that no condition tells apart together, so one atom stands for them."""
        found = self._current.get(name)
        if found is not None:
            return found
        variable = self.space.variables[name]
        kind = self._type(variable.attribute)
        value = self.checked.get(variable.attribute)
        atom: int | None = None
        if ELEMENT_SEPARATOR in name:
            element = name.split(ELEMENT_SEPARATOR, 1)[1]
            mask = 1 if value is not None and element in value else 2
        elif value is None:
            mask = variable.missing
        elif kind == "set":
            mask = 1  # atom 0 of the presence variable: the customer has the set
        else:
            if kind == "number":
                position = bisect.bisect_left(variable.bounds, value)
                on_bound = position < len(variable.bounds) and variable.bounds[position] == value
                atom = 2 * position + (1 if on_bound else 0)
            elif kind == "date":
                atom = bisect.bisect_right(variable.bounds, value.toordinal())
            else:
                atom = variable.index.get(value, variable.other)
            mask = 1 << atom if atom is not None else 0
            if not mask & variable.full:
                mask = self._signature_mask(variable)
        self._current[name] = mask
        return mask

    def _signature_mask(self, variable: Any) -> int:
        """The atoms whose representative every condition treats as the profile's value (for a value
        no atom was found for at once: one beyond the largest number a condition may name)."""
        key = variable.attribute
        mine = self._signature(key, self.checked.get(key))
        mask = 0
        for bit, atom in enumerate(variable.atoms):
            if variable.full >> bit & 1 and self._signature(key, self._value(key, atom)) == mine:
                mask |= 1 << bit
        return mask

    def _type(self, key: str) -> str:
        attr = self.catalog.get(key)
        return attr.type if attr else "text"

    def _signature(self, key: str, value: Any) -> tuple[bool, ...]:
        return tuple(condition_holds(c, value, self.today) for c in self.conditions if c.attribute == key)

    def _value(self, key: str, atom: Any) -> Any:
        """An atom's representative as a checked value."""
        if atom is MISSING:
            return None
        kind = self._type(key)
        if kind == "date":
            return dt.date.fromordinal(atom)
        if kind in ("text", "choice"):
            return str(atom)
        return atom

    def new_value(self, key: str, box: Box) -> Any:
        """The value of ``key`` within the box nearest to the profile's (None: leave it out)."""
        kind = self._type(key)
        if kind == "set":
            present_mask = box.get(key, self.space.variables[key].full)
            if not present_mask & 1:
                return None
            elements = set(self.checked.get(key) or ())
            for name, mask in box.items():
                if name.startswith(key + ELEMENT_SEPARATOR):
                    element = name.split(ELEMENT_SEPARATOR, 1)[1]
                    if mask == 1:
                        elements.add(element)
                    elif mask == 2:
                        elements.discard(element)
            return frozenset(elements)
        variable = self.space.variables[key]
        mask = box.get(key, variable.full) & variable.full
        real = [
            bit
            for bit in range(len(variable.atoms))
            if mask >> bit & 1 and variable.atoms[bit] is not MISSING
        ]
        if not real:
            return None
        current = self.checked.get(key)
        if kind in ("number", "date") and current is not None:
            here = current.toordinal() if kind == "date" else current
            candidates = [self._nearest_in(kind, variable, bit, here) for bit in real]
            nearest = min(candidates, key=lambda value: abs(value - here))
            return dt.date.fromordinal(int(nearest)) if kind == "date" else nearest
        return self._value(key, variable.atoms[real[0]])

    def _nearest_in(self, kind: str, variable: Any, bit: int, here: float) -> Any:
        """The value of atom ``bit`` nearest to ``here``."""
        low, high = self._span(kind, variable.bounds, bit, variable.atoms[bit])
        if kind == "number" and variable.bounds and bit % 2 == 0:
            # an open stretch between bounds: the value itself if inside, else the whole number
            # inside it nearest to it, else the stretch's representative
            if low < here < high:
                return here
            inside = math.ceil(high) - 1 if here >= high else math.floor(low) + 1
            return inside if low < inside < high else variable.atoms[bit]
        return min(max(here, low), high)

    @staticmethod
    def _span(kind: str, bounds: Sequence[Any], bit: int, atom: Any) -> tuple[float, float]:
        """The values an atom stands for, as [low, high] (open ends of number stretches included:
        the caller keeps away from them). Layouts as decisioning.regions documents them: numbers
        (-inf, b1), {b1}, (b1, b2), …, (bk, inf); dates: the days before the first cut, then from
        each cut to the day before the next."""
        if kind == "date":
            position = bisect.bisect_right(bounds, atom)
            low = bounds[position - 1] if position > 0 else 1
            high = bounds[position] - 1 if position < len(bounds) else dt.date.max.toordinal()
            return float(low), float(high)
        if not bounds:
            return -math.inf, math.inf
        if bit % 2 == 1:
            point = bounds[bit // 2]
            return point, point
        position = bit // 2
        low = bounds[position - 1] if position > 0 else -math.inf
        high = bounds[position] if position < len(bounds) else math.inf
        return low, high
