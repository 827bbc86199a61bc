"""Compiling a version into Python (``decisioning.engine``): the conditions of every stage and offer
become the body of one function, generated for that version, that reads a checked profile and
answers every stage at once. Each attribute's values are cut where some condition starts or stops
holding; each piece maps to the bitmask of the condition groups it fails, so a profile is one bisect
or dict lookup per attribute and one cached lookup per stage."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from decisioning.conditions import Condition
from decisioning.explain import condition_holds
from decisioning.model import BlueprintSpec, OfferSpec
from decisioning.operators import bounds, open_ends
from decisioning.outcomes import StageDecision


def _py(value: Any) -> str:
    """A Python literal (repr is exact for str, int, float and bool)."""
    return repr(value)


# A stretch of numbers (or days): low, whether low is left out, high, whether high is left out.
Interval = tuple[float, bool, float, bool]


def _interval(c: Condition, today: int) -> Interval:
    """The values (numbers, or days as ordinals) a number or date condition holds for."""
    low, high = bounds(c.operator, c.value, today)
    low_open, high_open = open_ends(c.operator, c.value)
    return (
        -math.inf if low is None else low,
        low_open and low is not None,
        math.inf if high is None else high,
        high_open and high is not None,
    )


def _both(one: Interval, other: Interval) -> Interval:
    """Where two stretches hold together (an end that both share is open if either leaves it out)."""
    low = max((one[0], one[1]), (other[0], other[1]))  # at one point, the open end is the higher
    high = min((one[2], not one[3]), (other[2], not other[3]))  # ... and here the lower
    return low[0], low[1], high[0], not high[1]


def ordered_fails(
    conditions: Sequence[tuple[Condition, int]], today: int
) -> tuple[list[float], list[int], int]:
    """For a number or date attribute: the sorted bounds of its conditions, the fail mask of each
    stretch between them (index 2i is below bound i, 2i + 1 is bound i itself, 2n above them all),
    and the mask of all.

    One sweep: a bit's conditions on the attribute hold together on one interval (the intersection
    of theirs), so it holds on a run of stretches, from the first to the last its interval reaches
    (an open end leaves out its bound's own stretch), and the bits holding on each stretch are toggled
    on at the start of a run and off after it. Linear in the stretches (times the width of a mask),
    where asking every condition about every stretch was quadratic in the conditions."""
    held: dict[int, Interval] = {}
    for c, bit in conditions:
        interval = _interval(c, today)
        before = held.get(bit)
        held[bit] = interval if before is None else _both(before, interval)
    bounds = sorted({x for low, _, high, _ in held.values() for x in (low, high) if math.isfinite(x)})
    position = {bound: i for i, bound in enumerate(bounds)}
    last = 2 * len(bounds)
    toggles = [0] * (last + 2)
    everything = 0
    for bit, (low, low_open, high, high_open) in held.items():
        everything |= bit
        if low > high or (low == high and (low_open or high_open)):
            continue  # the conditions of the group on this attribute never hold together
        first = 2 * position[low] + 1 + low_open if math.isfinite(low) else 0
        final = 2 * position[high] + 1 - high_open if math.isfinite(high) else last
        toggles[first] ^= bit
        toggles[final + 1] ^= bit
    fails: list[int] = []
    holding = 0
    for stretch in range(last + 1):
        holding ^= toggles[stretch]
        fails.append(everything & ~holding)
    return bounds, fails, everything


class Codegen:
    """The source and tables of one version's decision functions.

    Every group of conditions (a stage's entry groups, an offer's groups) gets a bit. Per attribute,
    the values are cut where some condition starts or stops holding, and each piece maps to the mask
    of the groups it fails (a missing value fails every condition on the attribute). A profile is
    then decided by one lookup per attribute (a bisect for numbers and dates, a dict for the rest),
    OR-ing the masks, and per stage one cached lookup on the bits of its offers that still hold:
    the chosen offer (the lowest set bit in priority order), the fallback, the eligible list. Exact,
    because no condition changes its mind inside a piece.

    ``run_json(p, today, want)`` reads a raw JSON profile, checking each value inline on the common
    path and falling back to ``profile_check`` (which names every bad field) on anything else;
    ``run_checked(v, today, want)`` reads a checked profile. Both answer per stage (all, or index
    ``want``) None when not entered, else its ``StageDecision`` (shared: they are frozen).
    """

    def __init__(self, spec: BlueprintSpec) -> None:
        self.spec = spec
        self.tables: dict[str, Any] = {}
        self.count = 0
        self.direct = 0  # bits that hold unless some attribute fails them
        self.folds: list[tuple[int, int]] = []  # (the groups of a many-group offer, its offer bit)
        # per stage: entry mask, offer mask, (bit, key) of its offers, its fallback and the bit that
        # says a dated fallback is open (0: undated, always open)
        self.stages: list[tuple[int | None, int, list[tuple[int, str]], str | None, int]] = []
        # dated offers (docs/architecture.md, "Decisions": outside its days an offer is not
        # eligible): (its bit, the offer, whether it is a fallback)
        self.windows: list[tuple[int, OfferSpec, bool]] = []
        by_attribute: dict[str, list[tuple[Condition, int]]] = {}
        for stage in spec.stages:
            entry_mask: int | None = None
            if stage.entry:
                entry_mask = 0
                for group in stage.entry:
                    bit = self._take()
                    entry_mask |= bit
                    self.direct |= bit
                    for c in group:
                        by_attribute.setdefault(c.attribute, []).append((c, bit))
            offers: list[tuple[int, str]] = []
            fallback_bit = 0
            for offer in stage.offers:
                if offer.fallback:
                    first = next(o for o in stage.offers if o.fallback) is offer  # the stage's fallback
                    if first and offer.dated:  # its bit says the fallback is open on the decision day
                        fallback_bit = self._take()
                        self.windows.append((fallback_bit, offer, True))
                    continue
                bit = self._take()
                offers.append((bit, offer.key))
                if offer.dated:
                    self.windows.append((bit, offer, False))
                if len(offer.groups) <= 1:
                    self.direct |= bit  # no groups: everyone; one group: the offer's bit is the group's
                    for c in offer.groups[0] if offer.groups else ():
                        by_attribute.setdefault(c.attribute, []).append((c, bit))
                    continue
                groups_mask = 0
                for group in offer.groups:
                    group_bit = self._take()
                    groups_mask |= group_bit
                    self.direct |= group_bit
                    for c in group:
                        by_attribute.setdefault(c.attribute, []).append((c, group_bit))
                self.folds.append((groups_mask, bit))
            fallback = next((o.key for o in stage.offers if o.fallback), None)
            key_mask = sum(bit for bit, _ in offers) | fallback_bit
            self.stages.append((entry_mask, key_mask, offers, fallback, fallback_bit))
        self.by_attribute = {k: v for k, v in by_attribute.items() if k in spec.catalog}
        self.dates = [k for k in self.by_attribute if spec.catalog[k].type == "date"]

    def _take(self) -> int:
        bit = 1 << self.count
        self.count += 1
        return bit

    def table(self, name: str, value: Any) -> str:
        self.tables[name] = value
        return name

    # --- the tables of each attribute -------------------------------------------------------------

    def build_tables(self) -> None:
        for index, (key, conditions) in enumerate(self.by_attribute.items()):
            attr = self.spec.catalog[key]
            everything = sum({bit for _, bit in conditions})
            self.table(f"M{index}", everything)
            if attr.type == "number":
                bounds, fails, _ = ordered_fails(conditions, 0)
                self.table(f"P{index}", bounds)
                self.table(f"F{index}", fails)
                self.table(f"L{index}", len(bounds))
            elif attr.type == "set":
                named = frozenset(
                    e for c, _ in conditions for e in (c.value if isinstance(c.value, list) else [c.value])
                )
                self.table(f"N{index}", named)
                self.table(f"S{index}", {})
            elif attr.type != "date":
                values: set[Any] = set(attr.choices) if attr.type == "choice" else set()
                if attr.type == "boolean":
                    values = {True, False}
                # a group holds for the values every one of its conditions here names (is, is_one_of):
                # one pass over the values named, not every condition asked about every value
                allowed: dict[int, set[Any]] = {}
                for c, bit in conditions:
                    mine = set(c.value) if isinstance(c.value, list) else {c.value}
                    values |= mine
                    allowed[bit] = mine if bit not in allowed else allowed[bit] & mine
                holding: dict[Any, int] = {}
                for bit, held in allowed.items():
                    for v in held:
                        holding[v] = holding.get(v, 0) | bit
                self.table(
                    f"C{index}",
                    {
                        v: everything & ~holding.get(v, 0)
                        for v in values
                        if attr.type != "boolean" or isinstance(v, bool)
                    },
                )

    def set_fails(self, index: int) -> Callable[[frozenset[str]], int]:
        conditions = self.by_attribute[list(self.by_attribute)[index]]
        cache: dict[frozenset[str], int] = self.tables[f"S{index}"]

        def fails(held: frozenset[str]) -> int:
            mask = sum({bit for c, bit in conditions if not condition_holds(c, held, 0)})
            if len(cache) < 4096:
                cache[held] = mask
            return mask

        return fails

    def date_tables(self) -> Callable[[int], list[tuple[list[float], list[int], int]]]:
        """Per decision day (``within_last_days`` moves with it), the date attributes' tables."""
        cache: dict[int, list[tuple[list[float], list[int], int]]] = {}
        attributes = [self.by_attribute[k] for k in self.dates]

        def tables(today: int) -> list[tuple[list[float], list[int], int]]:
            found = cache.get(today)
            if found is None:
                found = []
                for conditions in attributes:
                    bounds, fails, _ = ordered_fails(conditions, today)
                    found.append((bounds, fails, len(bounds)))
                if len(cache) > 64:
                    cache.clear()
                cache[today] = found
            return found

        return tables

    def window_masks(self) -> Callable[[int], tuple[int, int]]:
        """Per decision day: the bits of the dated offers closed that day, and of the dated
        fallbacks open that day."""
        cache: dict[int, tuple[int, int]] = {}
        windows = [(bit, offer.window(), fallback) for bit, offer, fallback in self.windows]

        def masks(today: int) -> tuple[int, int]:
            found = cache.get(today)
            if found is None:
                closed = opened = 0
                for bit, (first, last), fallback in windows:
                    is_open = first <= today <= last
                    if fallback and is_open:
                        opened |= bit
                    elif not fallback and not is_open:
                        closed |= bit
                found = (closed, opened)
                if len(cache) > 64:
                    cache.clear()
                cache[today] = found
            return found

        return masks

    def stage_answer(self) -> Callable[[int, int], StageDecision]:
        caches: list[dict[int, StageDecision]] = [{} for _ in self.stages]
        self.tables["R"] = caches
        stages = self.stages
        keys = [stage.key for stage in self.spec.stages]

        def answer(index: int, held: int) -> StageDecision:
            _, _, offers, fallback, fallback_bit = stages[index]
            eligible = tuple(key for bit, key in offers if held & bit)
            if fallback_bit and not held & fallback_bit:
                fallback = None  # outside its days
            found = (
                StageDecision(keys[index], True, eligible[0], False, eligible)
                if eligible
                else StageDecision(keys[index], True, fallback, fallback is not None, ())
            )
            if len(caches[index]) < 10_000:
                caches[index][held] = found
            return found

        return answer

    # --- the source ---------------------------------------------------------------------------------

    def _attribute_json(self, key: str) -> list[str]:
        attr = self.spec.catalog[key]
        k = _py(key)
        used = key in self.by_attribute
        i = list(self.by_attribute).index(key) if used else -1
        lines = [f"    x = g({k})"]
        if attr.type == "number":
            lines.append("    if x.__class__ is int or (x.__class__ is float and -INF < x < INF):")
            lines += (
                [f"        i = bl(P{i}, x)", f"        f |= F{i}[i + i + (i < L{i} and P{i}[i] == x)]"]
                if used
                else ["        pass"]
            )
            lines += ["    elif x is not None:", f"        x = slow(p, {k})"]
            if used:
                lines += [
                    f"        i = bl(P{i}, x)",
                    f"        f |= F{i}[i + i + (i < L{i} and P{i}[i] == x)]",
                    "    else:",
                    f"        f |= M{i}",
                ]
        elif attr.type == "date":
            lines += [
                "    if x is not None:",
                "        d = DAYS.get(x) if x.__class__ is str else None",
                "        if d is None:",
                f"            d = slow(p, {k})",
            ]
            if used:
                j = self.dates.index(key)
                lines += [
                    f"        P, F, L = T[{j}]",
                    "        i = bl(P, d)",
                    "        f |= F[i + i + (i < L and P[i] == d)]",
                    "    else:",
                    f"        f |= M{i}",
                ]
        elif attr.type == "boolean":
            if used:
                lines += [
                    "    if x is True:",
                    f"        f |= C{i}[True]",
                    "    elif x is False:",
                    f"        f |= C{i}[False]",
                    "    elif x is None:",
                    f"        f |= M{i}",
                ]
            else:
                lines += ["    if x is True or x is False or x is None:", "        pass"]
            lines += ["    else:", f"        slow(p, {k})"]
        elif attr.type == "set":
            check = (
                f"s <= {self.table(f'H{len(self.tables)}', frozenset(attr.choices))}"
                if attr.choices
                else "all(e.__class__ is str for e in s)"
            )
            lines += [
                "    if x is not None:",
                f"        s = frozenset(x) if x.__class__ is list else slow(p, {k})",
                f"        if not ({check}):",
                f"            s = slow(p, {k})",
            ]
            if used:
                lines += [
                    f"        s &= N{i}",
                    f"        r = S{i}.get(s)",
                    f"        f |= r if r is not None else sf{i}(s)",
                    "    else:",
                    f"        f |= M{i}",
                ]
        else:
            if used and attr.choices:
                # the table holds every choice (a choice no condition names fails them all): one lookup
                lines += [
                    f"    r = C{i}.get(x) if x.__class__ is str else None",
                    "    if r is not None:",
                    "        f |= r",
                    "    elif x is None:",
                    f"        f |= M{i}",
                    "    else:",
                    f"        slow(p, {k})",
                ]
            elif used:
                lines += [
                    "    if x.__class__ is str:",
                    f"        f |= C{i}.get(x, M{i})",
                    "    elif x is None:",
                    f"        f |= M{i}",
                    "    else:",
                    f"        slow(p, {k})",
                ]
            else:
                valid = (
                    f"x in {self.table(f'H{len(self.tables)}', frozenset(attr.choices))}"
                    if attr.choices
                    else "True"
                )
                lines += [
                    f"    if x is not None and not (x.__class__ is str and {valid}):",
                    f"        slow(p, {k})",
                ]
        return lines

    def _attribute_checked(self, key: str) -> list[str]:
        attr = self.spec.catalog[key]
        i = list(self.by_attribute).index(key)
        lines = [f"    x = g({_py(key)})", "    if x is None:", f"        f |= M{i}", "    else:"]
        if attr.type == "number":
            lines += [f"        i = bl(P{i}, x)", f"        f |= F{i}[i + i + (i < L{i} and P{i}[i] == x)]"]
        elif attr.type == "date":
            j = self.dates.index(key)
            lines += [
                "        d = x.toordinal()",
                f"        P, F, L = T[{j}]",
                "        i = bl(P, d)",
                "        f |= F[i + i + (i < L and P[i] == d)]",
            ]
        elif attr.type == "set":
            lines += [
                "        s = x & N" + str(i),
                f"        r = S{i}.get(s)",
                f"        f |= r if r is not None else sf{i}(s)",
            ]
        else:
            lines += [f"        f |= C{i}.get(x, M{i})"]
        return lines

    def body(self) -> list[str]:
        lines = [f"    m = {self.table('A', self.direct)} & ~f"]
        for n, (groups_mask, bit) in enumerate(self.folds):
            lines.append(f"    if m & {self.table(f'X{n}', groups_mask)}:")
            lines.append(f"        m |= {self.table(f'Y{n}', bit)}")
        if self.windows:
            lines += ["    w = window(today)", "    m = (m & ~w[0]) | w[1]"]
        every: list[str] = []  # all stages: the common case, without a test of want per stage
        one: list[str] = []  # the stage asked for
        for si, (entry_mask, key_mask, _, _, _) in enumerate(self.stages):
            key = self.table(f"K{si}", key_mask)
            answer = f"R[{si}].get(m & {key}) or answer({si}, m & {key})"
            if entry_mask is None:
                every.append(f"        {answer},")
                one += [
                    f"    if want == {si}:",
                    f"        return (None,) * {si} + ({answer},) + (None,) * {len(self.stages) - si - 1}",
                ]
            else:
                entry = self.table(f"E{si}", entry_mask)
                every.append(f"        ({answer}) if m & {entry} else None,")
                one += [
                    f"    if want == {si}:",
                    f"        found = ({answer}) if m & {entry} else None",
                    f"        return (None,) * {si} + (found,) + (None,) * {len(self.stages) - si - 1}",
                ]
        if self.spec.one_stage:
            return lines + self.first_stage_body()
        lines += [
            "    if want < 0:",
            "        return (",
            *every,
            "        )",
            *one,
            f"    return (None,) * {len(self.stages)}",
        ]
        return lines

    def first_stage_body(self) -> list[str]:
        """Each customer in one stage: the first, in journey order, whose entry holds. A stage asked
        for that an earlier one takes answers not entered, naming that stage (``StageDecision.earlier``)."""
        n = len(self.stages)
        keys = [stage.key for stage in self.spec.stages]

        def held(si: int) -> str:
            entry_mask = self.stages[si][0]
            return "True" if entry_mask is None else f"m & {self.table(f'E{si}', entry_mask)}"

        def only(si: int, found: str) -> str:
            return f"(None,) * {si} + ({found},) + (None,) * {n - si - 1}"

        def answer(si: int) -> str:
            key = self.table(f"K{si}", self.stages[si][1])
            return f"R[{si}].get(m & {key}) or answer({si}, m & {key})"

        lines = ["    if want < 0:"]
        for si in range(n):
            lines += [f"        if {held(si)}:", f"            return {only(si, answer(si))}"]
        lines.append(f"        return (None,) * {n}")
        for si in range(n):
            lines.append(f"    if want == {si}:")
            for ei in range(si):
                taken = self.table(
                    f"W{si}_{ei}", StageDecision(keys[si], False, None, False, (), earlier=keys[ei])
                )
                lines += [f"        if {held(ei)}:", f"            return {only(si, taken)}"]
            lines += [
                f"        if {held(si)}:",
                f"            return {only(si, answer(si))}",
                f"        return (None,) * {n}",
            ]
        lines.append(f"    return (None,) * {n}")
        return lines

    def source(self) -> str:
        self.build_tables()
        head = ["    f = 0"]
        if self.dates:
            head.append("    T = dates(today)")
        json_lines = ["    g = p.get", *head]
        for key in self.spec.catalog:
            json_lines += self._attribute_json(key)
        checked_lines = ["    g = v.get", *head]
        for key in self.by_attribute:
            checked_lines += self._attribute_checked(key)
        body = self.body()
        json_fn = [
            "def run_json(p, today, want):",
            "    try:",
            *("    " + line for line in json_lines),
            "    except TypeError:",  # an unhashable value where a choice or set element was expected
            "        return run_checked(check(p), today, want)",
            *body,
        ]
        checked_fn = ["def run_checked(v, today, want):", *checked_lines, *body]
        return "\n".join([*checked_fn, "", *json_fn, ""])

    def namespace(self) -> dict[str, Any]:
        answer = self.stage_answer()  # adds its caches, R, to the tables
        space: dict[str, Any] = dict(self.tables)
        space["answer"] = answer
        space["dates"] = self.date_tables()
        space["window"] = self.window_masks()
        for i, key in enumerate(self.by_attribute):
            if self.spec.catalog[key].type == "set":
                space[f"sf{i}"] = self.set_fails(i)
        return space
