"""Exact sets of customers, per attribute, for lint and "why not": intersection, subtraction, witness.

The conditions of a blueprint cut each attribute's values into finitely many *atoms*: pieces of
the domain on which every condition of the blueprint is either true throughout or false
throughout.

- number: the bounds ``b1 < … < bk`` give ``(-inf, b1)``, ``{b1}``, ``(b1, b2)``, …, ``(bk, inf)``
  (a strict ``below``/``above`` holds up to a bound's atom, not on it: numbers are real, so
  ``above 5`` and ``below 6`` meet, on ``(5, 6)``);
- date: the days where some condition starts or stops holding cut the calendar into closed
  ranges of days (``within_last_days`` is placed on the calendar by the decision day ``at``);
- text: each value a condition names, and "any other text";
- choice: each allowed choice;
- boolean: true and false;
- set: one yes/no variable per element a condition names (does the customer's set hold it?),
  plus whether the customer has the attribute at all.

Every attribute also has the atom *missing*, on which no condition holds: a condition on an
attribute the profile lacks is not met (docs/architecture.md, "The condition language").

A set of values of one variable is then a bitmask over its atoms; a *box* maps variables to
masks (a variable it does not name may take any value) and is the set of profiles whose values
lie in every mask; a *region* is a union of boxes. Because the atoms of different variables are
independent and none is empty, a box is empty exactly when one of its masks is 0, so every
question lint asks — is this empty, is this inside that, what is left over — is answered exactly,
and any non-empty box yields a concrete example profile (``Space.witness``).

A group's conditions also have a *conjunction* (``Space.conjunction``): one box for all of them, in
which ``includes_any_of`` of several elements asks only that the set be there, with the element
lists kept beside it. Because every set condition is positive, any number of them hold together
(a set holding every element named), so a group is empty exactly when its conjunction's box is,
and two groups meet exactly when their conjunctions' boxes do: the cheap questions (contradiction,
overlap) are answered without expanding ``includes_any_of`` into one box per element, a product
that grows exponentially with the conditions of a group.

Cost. Intersection and the conjunctions are polynomial. The coverage questions (``uncovered``,
``outside``, ``subset``, ``same``, ``cheapest_outside``) are exponential in the worst case (deciding
whether boxes cover a box is coNP-complete), and so is expanding a group into boxes; they take a
``decisioning.budget.Budget`` and count their work in it: one step per cover box examined and per
box built. When it runs out they raise ``BudgetExhausted``, and the caller says what it did not
check. Without a budget they run to the end.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import heapq
import itertools
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from decisioning.atoms import meeting_atoms, meeting_ranges, range_classes, range_mask
from decisioning.budget import Budget
from decisioning.conditions import MAX_NUMBER, AttributeSpec, Condition, Group, Groups
from decisioning.model import DECISION_DAY
from decisioning.operators import bounds, open_ends

Box = dict[str, int]
Region = list[Box]

SWEEP_FROM = 16  # masks of a number or date variable from which its classes come from one sweep
MISSING: Any = None  # the representative of the "missing" atom: the profile lacks the attribute
ELEMENT_SEPARATOR = "\x00"  # set attributes: variable "key\x00element" says whether the set holds it
_MAX_ORDINAL = dt.date.max.toordinal()


@dataclass
class Variable:
    name: str
    attribute: str
    # representative value of each atom, in ascending order where the domain is ordered; the last
    # atom is MISSING where the variable can be missing
    atoms: list[Any]
    full: int = 0
    missing: int = 0  # the bit of the missing atom, 0 if there is none
    index: dict[Any, int] = field(default_factory=dict)  # value -> atom (text, choice, boolean)
    bounds: list[Any] = field(default_factory=list)  # sorted points (number) or cuts (date)
    # number and date: every mask a condition gives is a range of atoms (less the empty ones)
    ordered: bool = False
    other: int | None = None  # text: the atom of every text no condition names
    bits: dict[Any, int] = field(default_factory=dict)  # value -> its atom's bit, made when first asked


def _between(low: float, high: float) -> float | None:
    """A value strictly between two numbers, a whole one where there is one."""
    whole = math.floor(low) + 1
    if whole < high:
        return whole
    middle = (low + high) / 2
    return middle if low < middle < high else None


class Space:
    """The atoms of every attribute a set of conditions uses, on decision day ``at``."""

    def __init__(self, catalog: Mapping[str, AttributeSpec], conditions: Iterable[Condition], at: dt.date):
        self.catalog = catalog
        self.at = at
        by_attribute: dict[str, list[Condition]] = {}
        for condition in conditions:
            by_attribute.setdefault(condition.attribute, []).append(condition)
        self.variables: dict[str, Variable] = {}
        for key, used in by_attribute.items():
            attr = catalog.get(key) or AttributeSpec(key=key, label=key, type="text")
            # a text attribute with allowed values is as closed as a choice: no "any other text"
            closed_text = attr.type == "text" and bool(attr.choices)
            builder = {
                "number": self._number,
                "date": self._date,
                "boolean": self._boolean,
                "choice": self._choice,
                "set": self._set,
            }.get("choice" if closed_text else attr.type, self._text)
            builder(attr, used)
        self.full = {name: v.full for name, v in self.variables.items()}
        self._representatives: dict[tuple[str, int], Any] = {}
        self._spans: dict[int, Any] = {}  # number and date masks: their ranges (Space._span)
        # by id: the condition itself is kept, so the id cannot be taken by another while it is here
        self._regions: dict[int, tuple[Condition, Region]] = {}
        self._conjunctions: dict[int, tuple[Group, Conjunction | None]] = {}

    # --- atoms per type ------------------------------------------------------------------------

    def _add(
        self, name: str, attribute: str, atoms: list[Any], *, missing: bool = True, **extra: Any
    ) -> Variable:
        if missing:
            atoms = [*atoms, MISSING]
        variable = Variable(name=name, attribute=attribute, atoms=atoms, **extra)
        # an atom with no value in it (between two adjacent floats) is left out of every mask
        dead = sum(1 << i for i, atom in enumerate(atoms) if atom is _EMPTY)
        variable.full = ((1 << len(atoms)) - 1) & ~dead
        variable.missing = 1 << (len(atoms) - 1) if missing else 0
        self.variables[name] = variable
        return variable

    def _number(self, attr: AttributeSpec, used: list[Condition]) -> None:
        points: set[float] = set()
        for c in used:
            points.update(c.value if isinstance(c.value, list) else [c.value])
        ordered = sorted(points)
        # the numbers beyond the lowest and the highest bound, within the range a profile may hold
        # (conditions.MAX_NUMBER): none when the bound is at its edge
        below = max(ordered[0] - 1, -MAX_NUMBER) if ordered and ordered[0] > -MAX_NUMBER else _EMPTY
        atoms: list[Any] = [below] if ordered else [0]
        for low, high in itertools.pairwise(ordered):
            inside = _between(low, high)
            # two adjacent floats leave nothing between them; the slot stays so indices stay simple,
            # but it is in no mask
            atoms += [low, inside if inside is not None else _EMPTY]
        if ordered:
            above = min(ordered[-1] + 1, MAX_NUMBER) if ordered[-1] < MAX_NUMBER else _EMPTY
            atoms += [ordered[-1], above]
        self._add(attr.key, attr.key, atoms, bounds=ordered, ordered=True)

    def _date(self, attr: AttributeSpec, used: list[Condition]) -> None:
        cuts: set[int] = set()
        for c in used:
            low, high = self._date_interval(c)
            for cut in (low, None if high is None else high + 1):
                if cut is not None and 1 < cut <= _MAX_ORDINAL:
                    cuts.add(cut)
        ordered = sorted(cuts)
        # atom 0 is every day before the first cut, atom i the days from cut i-1 to the next cut
        atoms: list[Any] = [ordered[0] - 1] if ordered else [self.at.toordinal()]
        atoms += ordered
        # the decision day is never missing: every decision has one
        self._add(attr.key, attr.key, atoms, bounds=ordered, ordered=True, missing=attr.key != DECISION_DAY)

    def _date_interval(self, c: Condition) -> tuple[int | None, int | None]:
        """The days (as ordinals, inclusive; None for unbounded) on which a date condition holds."""
        low, high = bounds(c.operator, c.value, self.at.toordinal())
        # no day comes before the calendar's first
        return (None if low is None else max(1, int(low))), (None if high is None else int(high))

    def _text(self, attr: AttributeSpec, used: list[Condition]) -> None:
        named = list(
            dict.fromkeys(
                value for c in used for value in (c.value if isinstance(c.value, list) else [c.value])
            )
        )
        other = "other"
        counter = 1
        while other in named:
            counter += 1
            other = f"other {counter}"
        atoms = [*named, _Other(other)]
        self._add(attr.key, attr.key, atoms, index={v: i for i, v in enumerate(named)}, other=len(named))

    def _choice(self, attr: AttributeSpec, used: list[Condition]) -> None:
        if not attr.choices:
            self._text(attr, used)
            return
        atoms = list(attr.choices)
        self._add(attr.key, attr.key, atoms, index={v: i for i, v in enumerate(atoms)})

    def _boolean(self, attr: AttributeSpec, used: list[Condition]) -> None:
        self._add(attr.key, attr.key, [True, False], index={True: 0, False: 1})

    def _set(self, attr: AttributeSpec, used: list[Condition]) -> None:
        # the presence variable: atom 0 "has the attribute", atom 1 missing
        self._add(attr.key, attr.key, [_PRESENT])
        for c in used:
            for element in c.value if isinstance(c.value, list) else [c.value]:
                name = f"{attr.key}{ELEMENT_SEPARATOR}{element}"
                if name not in self.variables:
                    # atom 0: the set holds the element, atom 1: it does not
                    self._add(name, attr.key, [True, False], missing=False)

    # --- conditions as regions -----------------------------------------------------------------

    def condition(self, c: Condition) -> Region:
        """The customers a condition holds for (kept per condition: a long ``is_one_of`` costs a
        lookup per value, and the lint asks about each condition several times)."""
        found = self._regions.get(id(c))
        if found is None or found[0] is not c:
            found = self._regions[id(c)] = (c, self._condition(c))
        return list(found[1])

    def _condition(self, c: Condition) -> Region:
        variable = self.variables[c.attribute]
        attr = self.catalog.get(c.attribute)
        kind = attr.type if attr else "text"
        if kind == "set":
            present = 1  # atom 0 of the presence variable
            elements = c.value if isinstance(c.value, list) else [c.value]
            return [{c.attribute: present, f"{c.attribute}{ELEMENT_SEPARATOR}{e}": 1} for e in elements]
        if kind == "number":
            mask = self._number_mask(variable, c) & variable.full
        elif kind == "date":
            mask = self._date_mask(variable, c)
        else:
            values = c.value if isinstance(c.value, list) else [c.value]
            bits = variable.bits
            if not bits:
                bits.update((value, 1 << atom) for value, atom in variable.index.items())
            mask = functools.reduce(operator.or_, map(bits.get, values, itertools.repeat(0)), 0)
        return [{c.attribute: mask}] if mask else []

    def _number_mask(self, variable: Variable, c: Condition) -> int:
        points = variable.bounds
        last = 2 * len(points)  # the atom above the highest point

        def at(point: float) -> int:  # the atom of a point
            return 2 * bisect.bisect_left(points, point) + 1

        low, high = bounds(c.operator, c.value, 0)
        # an open end leaves out its point's own atom: the stretch starts (or stops) beside it
        low_open, high_open = open_ends(c.operator, c.value)
        first = 0 if low is None else at(low) + low_open
        final = last if high is None else at(high) - high_open
        return range_mask(first, final) if first <= final else 0

    def _date_mask(self, variable: Variable, c: Condition) -> int:
        cuts = variable.bounds
        last = len(cuts)  # the atom from the last cut on
        low, high = self._date_interval(c)
        if high is not None and high < 1:
            return 0  # before the calendar's first day: no day
        first = 0 if low is None or low <= 1 else bisect.bisect_left(cuts, low) + 1
        final = last if high is None or high + 1 > _MAX_ORDINAL else bisect.bisect_left(cuts, high + 1)
        return range_mask(first, final)

    def group(self, group: Group, budget: Budget | None = None) -> Region:
        """The customers for whom every condition of the group holds (one box per combination of
        the elements its ``includes_any_of`` conditions name: counted in ``budget``)."""
        region: Region = [{}]
        for c in group:
            region = intersect(region, self.condition(c), budget)
            if not region:
                break
        return region

    def groups(self, groups: Groups, budget: Budget | None = None) -> Region:
        """The customers any group matches; no groups at all is everyone."""
        if not groups:
            return [{}]
        return [box for group in groups for box in self.group(group, budget)]

    # --- conjunctions: a group as one box --------------------------------------------------------

    def conjunction(self, group: Group) -> Conjunction | None:
        """The group as one box (see the module's docstring), or None when it can never hold.

        Polynomial: one mask intersection per condition; kept per group, as conditions are."""
        found = self._conjunctions.get(id(group))
        if found is None or found[0] is not group:
            found = self._conjunctions[id(group)] = (group, self._conjunction(group))
        return found[1]

    def _conjunction(self, group: Group) -> Conjunction | None:
        box: Box = {}
        any_of: list[tuple[str, ...]] = []
        for c in group:
            region = self.condition(c)
            if not region:
                return None
            part = region[0]
            if len(region) > 1:
                # includes_any_of of several elements: the set is there and holds one of them
                part = {c.attribute: part[c.attribute]}
                any_of.append(tuple(name for b in region for name in b if name != c.attribute))
            for name, mask in part.items():
                mine = box.get(name)
                both = mask if mine is None else mine & mask
                if not both:
                    return None
                box[name] = both
        return Conjunction(box, tuple(any_of))

    def example(self, conjunction: Conjunction) -> Box:
        """A non-empty box of the conjunction's customers: each element list's first element held."""
        box = dict(conjunction.box)
        for elements in conjunction.any_of:
            if not any(box.get(name) == 1 for name in elements):
                box[elements[0]] = 1
        return box

    def expand(self, conjunction: Conjunction, budget: Budget | None = None) -> Region:
        """The conjunction's customers as boxes: one per choice of an element from each list (the
        lists already met by an element the box holds are skipped). Counts a step per element
        looked at and per variable of each box built."""
        region: Region = [conjunction.box]
        for elements in conjunction.any_of:
            grown: Region = []
            for box in region:
                if budget is not None:
                    budget.spend(len(elements))
                if any(box.get(name) == 1 for name in elements):
                    grown.append(box)
                    continue
                if budget is not None:
                    budget.spend(len(elements) * (len(box) + 1))
                # an element the box already says the set lacks (mask 2: a box left by ``minus``) is no choice
                grown += [{**box, name: 1} for name in elements if box.get(name, 3) & 1]
            region = grown
        return region

    def meeting(self, left: Sequence[Box], right: Sequence[Box], budget: Budget | None = None) -> list[int]:
        """For each box of ``left``, the boxes of ``right`` it meets, as a bitset (bit ``j``: ``right[j]``).

        Polynomial, without comparing every pair: per variable, the right boxes that meet each
        distinct left mask are found once — for numbers and dates, whose condition masks are ranges
        of atoms, by two sweeps over the ranges' ends; for the others, from the right boxes holding
        each atom — and a left box meets what meets it on every variable it names. A step is
        counted per box and mask handled (for the cancel event; a budget with a limit would stop it
        as anything else)."""
        everyone = (1 << len(right)) - 1
        naming: dict[str, list[tuple[int, int]]] = {}
        for j, box in enumerate(right):
            for name, mask in box.items():
                naming.setdefault(name, []).append((j, mask))
        wanted: dict[str, set[int]] = {}
        for box in left:
            for name, mask in box.items():
                wanted.setdefault(name, set()).add(mask)
        answers: dict[str, dict[int, int]] = {}
        for name, masks in wanted.items():
            entries = naming.get(name, [])
            if budget is not None:
                budget.spend(len(entries) + len(masks))
            free = everyone
            for j, _ in entries:
                free &= ~(1 << j)
            variable = self.variables[name]
            if variable.ordered and all(
                self._is_range(m, variable) for m in (*masks, *(m for _, m in entries))
            ):
                meets = meeting_ranges(entries, masks)
            else:
                meets = meeting_atoms(entries, masks, len(right), budget)
            answers[name] = {mask: free | meets[mask] for mask in masks}
        out = []
        for box in left:
            meet = everyone
            for name, mask in box.items():
                meet &= answers[name][mask]
                if not meet:
                    break
            out.append(meet)
        return out

    # --- questions -----------------------------------------------------------------------------

    def _scan(
        self, box: Box, cover: Sequence[Box], budget: Budget | None = None
    ) -> list[tuple[Box, int]] | None:
        """The boxes of ``cover`` that meet ``box`` without holding all of it, each with the number
        of variables on which it does not hold ``box``; None when one holds all of it. A step is
        counted per variable of a cover box looked at (all of them spent before, the ones not
        looked at given back after)."""
        full = self.full
        relevant: list[tuple[Box, int]] = []
        most = sum(map(len, cover)) + 1
        if budget is not None:
            budget.spend(most)
        looked = 1
        try:
            for other in cover:
                apart = 0
                for name, mask in other.items():
                    looked += 1
                    mine = box.get(name, full[name])
                    both = mine & mask
                    if not both:
                        break
                    if both != mine:
                        apart += 1
                else:
                    if not apart:
                        return None
                    relevant.append((other, apart))
            return relevant
        finally:
            if budget is not None:
                budget.refund(most - looked)

    @staticmethod
    def _narrow(
        name: str, mine: int, part: int, relevant: Sequence[tuple[Box, int]]
    ) -> list[tuple[Box, int]] | None:
        """``_scan`` of the box with variable ``name`` narrowed from ``mine`` to ``part``, one of the
        classes of ``_classes``, from the box's: every relevant box holds ``part`` or misses it,
        and nothing changes on the other variables, so only ``name`` is looked at."""
        narrowed: list[tuple[Box, int]] = []
        for other, apart in relevant:
            mask = other.get(name)
            if mask is not None:
                if not mask & part:
                    continue
                if mask & mine != mine:  # did not hold the box on name; holds the part
                    apart -= 1
                    if not apart:
                        return None
            narrowed.append((other, apart))
        return narrowed

    def _split(
        self, box: Box, relevant: Sequence[tuple[Box, int]], budget: Budget | None
    ) -> tuple[str, int, list[int]]:
        """The variable to split ``box`` on next, its mask in the box and the parts."""
        name = self._split_variable(box, relevant, budget)
        mine = box.get(name, self.full[name])
        return name, mine, self._classes(name, mine, relevant, budget)

    def uncovered(self, box: Box, cover: Sequence[Box], budget: Budget | None = None) -> Box | None:
        """A non-empty part of ``box`` outside every box of ``cover``, or None if they cover it.

        Splits ``box`` on one variable at a time (the unate-recursive scheme of logic minimisers)
        rather than subtracting the cover box by box, which fragments the rest exponentially in the
        number of cover boxes. At each step only the cover boxes that meet ``box`` matter; one that
        holds all of it answers None, none at all answers ``box``. Otherwise a variable they
        restrict is split into the classes of atoms they cannot tell apart, so that in each part
        every one of them either holds the whole variable or misses it: each level fixes one
        variable for good, the depth is at most the number of variables, and a part's relevant
        boxes are found from its parent's by looking at that one variable. Depth first, without
        recursion (the variables can be many). A step is counted per cover box examined.
        """
        relevant = self._scan(box, cover, budget)
        stack: list[tuple[Box, list[tuple[Box, int]], str, int, list[int], int]] = []
        while True:
            if relevant is not None:
                if not relevant:
                    return box
                name, mine, parts = self._split(box, relevant, budget)
                stack.append((box, relevant, name, mine, parts, 0))
            while stack and stack[-1][5] == len(stack[-1][4]):
                stack.pop()
            if not stack:
                return None
            parent, above, name, mine, parts, tried = stack[-1]
            stack[-1] = (parent, above, name, mine, parts, tried + 1)
            if budget is not None:
                budget.spend(len(above) + 1)
            box = {**parent, name: parts[tried]}
            relevant = self._narrow(name, mine, parts[tried], above)

    def cheapest_outside(
        self, region: Region, cover: Region, here: Mapping[str, int], budget: Budget | None = None
    ) -> tuple[Box, frozenset[str]] | None:
        """A part of ``region`` outside ``cover`` whose customers differ from a given one on the
        fewest attributes, with those attributes; None when ``region ⊆ cover``.

        ``here`` maps every variable the boxes name to the atoms of the given customer (a box
        agrees with them on a variable when its mask meets ``here``'s). Best-first search over the
        splits of ``uncovered``, cheapest first: a box's cost — the attributes on which it misses
        the customer — only grows as it is split, so the first part with no cover box left in it
        is a cheapest one. Among equal costs the deepest box goes first, so a part near the
        customer is found early. The parts of a split wait in the queue unmade, in two bundles (as
        dear as their box, dearer), until the search reaches them. A step is counted per cover box
        examined and per part made."""
        variables = self.variables
        # (cost, -depth, order, box, its relevant cover boxes, and for a bundle of parts of a
        # split: the variable, its mask in the box, the parts left, the attributes they change)
        Item = tuple[int, int, int, Box, Sequence[Any], str, int, list[int], frozenset[str]]
        heap: list[Item] = []
        order = itertools.count()
        if budget is not None:
            budget.spend(sum(map(len, region)) + 1)
        for box in region:
            changed = frozenset(
                variables[name].attribute for name, mask in box.items() if not mask & here[name]
            )
            heapq.heappush(heap, (len(changed), 0, next(order), box, cover, "", 0, [], changed))
        while heap:
            cost, depth, _, box, above, name, mine, parts, changed = heapq.heappop(heap)
            if not name:
                relevant = self._scan(box, above, budget)
            else:
                if budget is not None:
                    budget.spend(len(above) + 1)
                if len(parts) > 1:
                    heapq.heappush(
                        heap, (cost, depth, next(order), box, above, name, mine, parts[1:], changed)
                    )
                box = {**box, name: parts[0]}
                relevant = self._narrow(name, mine, parts[0], above)
            if relevant is None:
                continue
            if not relevant:
                return box, changed
            name, mine, parts = self._split(box, relevant, budget)
            attribute = variables[name].attribute
            same = [part for part in parts if attribute in changed or part & here[name]]
            dearer = [part for part in parts if not (attribute in changed or part & here[name])]
            if same:
                heapq.heappush(heap, (cost, depth - 1, next(order), box, relevant, name, mine, same, changed))
            if dearer:
                bundle = (
                    cost + 1,
                    depth - 1,
                    next(order),
                    box,
                    relevant,
                    name,
                    mine,
                    dearer,
                    changed | {attribute},
                )
                heapq.heappush(heap, bundle)
        return None

    def _split_variable(
        self, box: Box, relevant: Sequence[tuple[Box, int]], budget: Budget | None = None
    ) -> str:
        """A variable that a cover box closest to holding ``box`` restricts: the one with the fewest
        restricting variables, so that the parts it holds are reached in the fewest splits (on the
        lint bench this explores far fewer parts than splitting the most restricted
        variable does)."""
        if budget is not None:
            budget.spend(len(relevant))
        closest, _ = min(relevant, key=lambda pair: pair[1])
        full = self.full
        return next(
            name
            for name, mask in closest.items()
            if box.get(name, full[name]) & mask != box.get(name, full[name])
        )

    def _classes(
        self, name: str, mine: int, relevant: Sequence[tuple[Box, int]], budget: Budget | None = None
    ) -> list[int]:
        """``mine`` (variable ``name`` of the box) cut into the classes of atoms that every relevant
        cover box holds entirely or not at all; the atoms none holds come first (the likeliest place
        for an uncovered part). For numbers and dates with many masks, which are ranges, one sweep
        over the ranges' ends (clipped to ``mine``'s span); otherwise each distinct mask cuts the
        parts so far.
        A step is counted per mask, and per part a mask cuts (or made by the sweep: at most two a
        mask and one more, spent before and what was not made given back)."""
        if budget is not None:
            budget.spend(len(relevant) + 1)
        masks = {other[name] for other, _ in relevant if name in other}
        variable = self.variables[name]
        # the sweep pays off when the masks are many (cutting part by part is quadratic in them)
        many = variable.ordered and len(masks) > SWEEP_FROM
        spans = [self._span(mask, variable) for mask in masks] if many else [None]
        if None not in spans:
            most = 2 * len(spans) + 1
            if budget is not None:
                budget.spend(most)
            parts = range_classes(mine, cast("list[tuple[int, int]]", spans))
            if budget is not None:
                budget.refund(most - len(parts))
            return parts
        parts = [mine]
        for mask in {mask & mine for mask in masks} - {0, mine}:
            if budget is not None:
                budget.spend(len(parts))
            cut: list[int] = []
            for part in parts:
                inside, outside = part & mask, part & ~mask
                if inside and outside:
                    cut += [outside, inside]
                else:
                    cut.append(part)
            parts = cut
        return parts

    def _span(self, mask: int, variable: Variable) -> tuple[int, int] | None:
        """A number or date mask's first atom and the one after its last, when it is every live
        atom between them (as every mask a condition gives is); None otherwise. Kept per mask."""
        found = self._spans.get(mask, _NOT_YET)
        if found is _NOT_YET:
            low, high = (mask & -mask).bit_length() - 1, mask.bit_length()
            found = (low, high) if mask == range_mask(low, high - 1) & variable.full else None
            self._spans[mask] = found
        return found

    def _is_range(self, mask: int, variable: Variable) -> bool:
        return self._span(mask, variable) is not None

    def _minus(self, box: Box, other: Box) -> list[Box]:
        """``box`` minus an intersecting ``other``, as disjoint boxes."""
        pieces: list[Box] = []
        current = dict(box)
        full = self.full
        for name, mask in other.items():
            mine = current.get(name, full[name])
            rest = mine & ~mask
            if rest:
                piece = dict(current)
                piece[name] = rest
                pieces.append(piece)
            current[name] = mine & mask
        return pieces

    def outside(self, region: Region, cover: Region, budget: Budget | None = None) -> Box | None:
        """A non-empty part of ``region`` outside ``cover``, or None when ``region ⊆ cover``."""
        for box in region:
            found = self.uncovered(box, cover, budget)
            if found is not None:
                return found
        return None

    def minus(self, region: Region, cover: Region, budget: Budget | None = None) -> Region:
        """The part of ``region`` outside ``cover``, as boxes (which can be exponentially many in
        the cover's boxes: a step is counted per box made)."""
        for other in cover:
            pieces: Region = []
            for box in region:
                if any(not (box.get(name, self.full[name]) & mask) for name, mask in other.items()):
                    pieces.append(box)  # disjoint: untouched
                else:
                    pieces += self._minus(box, other)
            if budget is not None:
                budget.spend(len(pieces) + 1)
            region = pieces
        return region

    def subset(self, region: Region, cover: Region, budget: Budget | None = None) -> bool:
        return self.outside(region, cover, budget) is None

    def same(self, one: Region, other: Region, budget: Budget | None = None) -> bool:
        return self.subset(one, other, budget) and self.subset(other, one, budget)

    # --- example profiles ----------------------------------------------------------------------

    def witness(self, box: Box) -> dict[str, Any]:
        """A profile in ``box`` (which must not be empty): attributes it leaves free are left out."""
        profile: dict[str, Any] = {}
        sets: dict[str, list[str]] = {}
        for name, mask in box.items():
            if ELEMENT_SEPARATOR not in name:
                value = self._representative(name, mask)
                if value is _SET:
                    sets[name] = []
                elif value is not _LEFT_OUT:
                    profile[name] = value
        for name, mask in box.items():
            if mask == 1 and ELEMENT_SEPARATOR in name:  # the set must hold the element
                attribute, element = name.split(ELEMENT_SEPARATOR, 1)
                if self._representative(attribute, box.get(attribute, self.full[attribute])) is _SET:
                    sets.setdefault(attribute, []).append(element)
        for attribute, elements in sets.items():
            profile[attribute] = sorted(elements)
        return dict(sorted(profile.items()))

    def _representative(self, name: str, mask: int) -> Any:
        """The profile value that stands for the first real atom of ``mask`` (``_SET`` for a set,
        whose elements are their own variables; ``_LEFT_OUT`` when only "missing" is left).
        Witnesses are asked for by the thousand (one per overlap), so the answers are kept."""
        key = (name, mask)
        found = self._representatives.get(key, _NOT_YET)
        if found is not _NOT_YET:
            return found
        variable = self.variables[name]
        atom = self._pick(variable, mask)
        attr = self.catalog.get(variable.attribute)
        kind = attr.type if attr else "text"
        if atom is None:
            value: Any = _LEFT_OUT
        elif kind == "set":
            value = _SET
        elif kind == "date":
            day = variable.atoms[atom]
            if name == DECISION_DAY and mask & self._day_atom(variable):
                day = self.at.toordinal()  # an example on the lint's own day where it can be
            value = dt.date.fromordinal(day).isoformat()
        elif isinstance(variable.atoms[atom], _Other):
            value = str(variable.atoms[atom])
        else:
            value = variable.atoms[atom]
        self._representatives[key] = value
        return value

    def _day_atom(self, variable: Variable) -> int:
        """The bit of the atom of a date variable that holds the day ``at``."""
        return 1 << bisect.bisect_right(variable.bounds, self.at.toordinal())

    @staticmethod
    def _pick(variable: Variable, mask: int) -> int | None:
        """The first atom of the mask that is a real value; None when only "missing" is left."""
        real = mask & variable.full & ~variable.missing
        if not real:
            return None
        return (real & -real).bit_length() - 1


@dataclass(frozen=True)
class Conjunction:
    """A group's conditions as one box (``Space.conjunction``): ``box`` holds every condition, but
    ``includes_any_of`` of several elements only as "the set is there"; ``any_of`` keeps, for each,
    the variables of its elements, one of which the set holds. Made of conditions only, so every
    element variable it names is held (mask 1): any number of them hold together, and the
    conjunction is empty exactly when ``box`` is."""

    box: Box
    any_of: tuple[tuple[str, ...], ...] = ()

    def meet(self, other: Conjunction) -> Conjunction | None:
        """Both conjunctions at once, or None when no customer is in both."""
        box = dict(self.box)
        for name, mask in other.box.items():
            mine = box.get(name)
            both = mask if mine is None else mine & mask
            if not both:
                return None
            box[name] = both
        return Conjunction(box, self.any_of + other.any_of)


class _Other(str):
    """The representative of "any text no condition names"."""


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_PRESENT = _Marker("present")
_EMPTY = _Marker("empty")
_SET = _Marker("set")
_LEFT_OUT = _Marker("left out")
_NOT_YET = _Marker("not yet")


def intersect(one: Region, other: Region, budget: Budget | None = None) -> Region:
    """The customers in both regions (a step is counted per pair of boxes and variable merged)."""
    if budget is not None:
        budget.spend(len(one) * (len(other) + sum(map(len, other))) + sum(map(len, one)) * len(other))
    """The customers in both regions."""
    result: Region = []
    for a in one:
        for b in other:
            box = dict(a)
            for name, mask in b.items():
                mine = box.get(name)
                both = mask if mine is None else mine & mask
                if not both:
                    break
                box[name] = both
            else:
                result.append(box)
    return result
