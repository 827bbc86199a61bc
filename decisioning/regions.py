"""Exact sets of customers, per attribute, for lint and "why not": intersection, subtraction, witness.

The conditions of a blueprint cut each attribute's values into finitely many *atoms*: pieces of
the domain on which every condition of the blueprint is either true throughout or false
throughout.

- number: the bounds ``b1 < … < bk`` give ``(-inf, b1)``, ``{b1}``, ``(b1, b2)``, …, ``(bk, inf)``;
- date: the days where some condition starts or stops holding cut the calendar into closed
  ranges of days (``within_last_days`` is placed on the calendar by the decision day ``at``);
- text: each value a condition names, and "any other text";
- choice: each allowed choice;
- boolean: true and false;
- set: one yes/no variable per element a condition names (does the customer's set hold it?),
  plus whether the customer has the attribute at all.

Every attribute also has the atom *missing*, on which no condition holds (DESIGN §4).

A set of values of one variable is then a bitmask over its atoms; a *box* maps variables to
masks (a variable it does not name may take any value) and is the set of profiles whose values
lie in every mask; a *region* is a union of boxes. Because the atoms of different variables are
independent and none is empty, a box is empty exactly when one of its masks is 0, so every
question lint asks — is this empty, is this inside that, what is left over — is answered exactly,
and any non-empty box yields a concrete example profile (``Space.witness``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blueprint.conditions import MAX_NUMBER, AttributeSpec, Condition, Group, Groups

Box = dict[str, int]
Region = list[Box]

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


def _range_mask(first: int, last: int) -> int:
    """Atoms ``first..last`` inclusive."""
    if last < first:
        return 0
    return ((1 << (last + 1)) - 1) & ~((1 << first) - 1)


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
        self._add(attr.key, attr.key, atoms, bounds=ordered)

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
        self._add(attr.key, attr.key, atoms, bounds=ordered)

    def _date_interval(self, c: Condition) -> tuple[int | None, int | None]:
        """The days (as ordinals, inclusive; None for unbounded) on which a date condition holds."""
        if c.operator == "within_last_days":
            today = self.at.toordinal()
            return max(1, today - int(c.value)), today
        if c.operator == "at_least":
            return dt.date.fromisoformat(c.value).toordinal(), None
        if c.operator == "at_most":
            return None, dt.date.fromisoformat(c.value).toordinal()
        low, high = c.value
        return dt.date.fromisoformat(low).toordinal(), dt.date.fromisoformat(high).toordinal()

    def _text(self, attr: AttributeSpec, used: list[Condition]) -> None:
        named: list[str] = []
        for c in used:
            for value in c.value if isinstance(c.value, list) else [c.value]:
                if value not in named:
                    named.append(value)
        other = "other"
        counter = 1
        while other in named:
            counter += 1
            other = f"other {counter}"
        atoms = [*named, _Other(other)]
        self._add(attr.key, attr.key, atoms, index={v: i for i, v in enumerate(named)})

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
        """The customers a condition holds for."""
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
            mask = 0
            for value in values:
                atom = variable.index.get(value)
                if atom is not None:
                    mask |= 1 << atom
        return [{c.attribute: mask}] if mask else []

    def _number_mask(self, variable: Variable, c: Condition) -> int:
        points = variable.bounds
        last = 2 * len(points)  # the atom above the highest point

        def at(point: float) -> int:  # the atom of a point
            return 2 * bisect.bisect_left(points, point) + 1

        if c.operator == "at_least":
            return _range_mask(at(c.value), last)
        if c.operator == "at_most":
            return _range_mask(0, at(c.value))
        low, high = c.value
        return _range_mask(at(low), at(high))

    def _date_mask(self, variable: Variable, c: Condition) -> int:
        cuts = variable.bounds
        last = len(cuts)  # the atom from the last cut on
        low, high = self._date_interval(c)
        first = 0 if low is None or low <= 1 else bisect.bisect_left(cuts, low) + 1
        final = last if high is None or high + 1 > _MAX_ORDINAL else bisect.bisect_left(cuts, high + 1)
        return _range_mask(first, final)

    def group(self, group: Group) -> Region:
        """The customers for whom every condition of the group holds."""
        region: Region = [{}]
        for c in group:
            region = intersect(region, self.condition(c))
            if not region:
                break
        return region

    def groups(self, groups: Groups) -> Region:
        """The customers any group matches; no groups at all is everyone."""
        if not groups:
            return [{}]
        return [box for group in groups for box in self.group(group)]

    # --- questions -----------------------------------------------------------------------------

    def uncovered(self, box: Box, cover: Sequence[Box]) -> Box | None:
        """A non-empty part of ``box`` outside every box of ``cover``, or None if they cover it.

        Splits ``box`` on one variable at a time (the unate-recursive scheme of logic minimisers)
        rather than subtracting the cover box by box, which fragments the rest exponentially in the
        number of cover boxes. At each step only the cover boxes that meet ``box`` matter; one that
        holds all of it answers None, none at all answers ``box``. Otherwise the variable that the
        most of them restrict is split into the classes of atoms they cannot tell apart, so that in
        each part every one of them either holds the whole variable or misses it: each level fixes
        one variable for good, and the depth is at most the number of variables.
        """
        full = self.full
        relevant: list[Box] = []
        for other in cover:
            holds_all = True
            for name, mask in other.items():
                mine = box.get(name, full[name])
                both = mine & mask
                if not both:
                    break
                if both != mine:
                    holds_all = False
            else:
                if holds_all:
                    return None
                relevant.append(other)
        if not relevant:
            return box
        name = self._split_variable(box, relevant)
        mine = box.get(name, full[name])
        for part in self._classes(mine, [other[name] & mine for other in relevant if name in other]):
            found = self.uncovered({**box, name: part}, relevant)
            if found is not None:
                return found
        return None

    def _split_variable(self, box: Box, relevant: Sequence[Box]) -> str:
        """A variable that a cover box closest to holding ``box`` restricts: the one with the fewest
        restricting variables, so that the parts it holds are reached in the fewest splits (on the
        lint bench this explores a third of the parts that splitting the most restricted variable
        does)."""
        full = self.full
        best, fewest = "", 0
        for other in relevant:
            restricting = [
                name
                for name, mask in other.items()
                if box.get(name, full[name]) & mask != box.get(name, full[name])
            ]
            if not best or len(restricting) < fewest:
                best, fewest = restricting[0], len(restricting)
                if fewest == 1:
                    break
        return best

    @staticmethod
    def _classes(mine: int, masks: Sequence[int]) -> list[int]:
        """``mine`` cut into the classes of atoms that every mask holds entirely or not at all;
        the atoms no mask holds come first (the likeliest place for an uncovered part)."""
        parts = [mine]
        for mask in masks:
            cut: list[int] = []
            for part in parts:
                inside, outside = part & mask, part & ~mask
                if inside and outside:
                    cut += [outside, inside]
                else:
                    cut.append(part)
            parts = cut
        return parts

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

    def outside(self, region: Region, cover: Region) -> Box | None:
        """A non-empty part of ``region`` outside ``cover``, or None when ``region ⊆ cover``."""
        for box in region:
            found = self.uncovered(box, cover)
            if found is not None:
                return found
        return None

    def minus(self, region: Region, cover: Region) -> Region:
        """The part of ``region`` outside ``cover``, as boxes."""
        for other in cover:
            pieces: Region = []
            for box in region:
                if any(not (box.get(name, self.full[name]) & mask) for name, mask in other.items()):
                    pieces.append(box)  # disjoint: untouched
                else:
                    pieces += self._minus(box, other)
            region = pieces
        return region

    def subset(self, region: Region, cover: Region) -> bool:
        return self.outside(region, cover) is None

    def same(self, one: Region, other: Region) -> bool:
        return self.subset(one, other) and self.subset(other, one)

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
            value = dt.date.fromordinal(variable.atoms[atom]).isoformat()
        elif isinstance(variable.atoms[atom], _Other):
            value = str(variable.atoms[atom])
        else:
            value = variable.atoms[atom]
        self._representatives[key] = value
        return value

    @staticmethod
    def _pick(variable: Variable, mask: int) -> int | None:
        """The first atom of the mask that is a real value; None when only "missing" is left."""
        real = mask & variable.full & ~variable.missing
        if not real:
            return None
        return (real & -real).bit_length() - 1


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


def intersect(one: Region, other: Region) -> Region:
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
