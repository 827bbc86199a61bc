"""The decision engine (DESIGN.md §4): a version compiled once into Python, then ``decide``.

``compile_snapshot(snapshot, version=…)`` turns a snapshot (``blueprint.snapshots``) into a
``CompiledVersion``: the conditions of every stage and offer become the body of one Python function,
generated for that version, that reads a profile and answers every stage at once. ``compiled_for``
keeps them in a small cache keyed by what identifies the content — (blueprint, version number,
content hash) for a version, (blueprint, rev) for the draft — so a version is compiled once per
process.

Semantics, exactly §4 and §2:

- a stage is *entered* when any of its entry groups holds (no entry groups: everyone);
- in an entered stage the offers are walked in priority order; the first that matches (any of its
  groups holds; an offer without groups matches everyone) is chosen; if none does, the stage's
  fallback (the first offer marked fallback, whatever its place: lint refuses a second one and a
  fallback with conditions, which the engine ignores); if there is no fallback, no offer (a gap);
- ``eligible`` lists every non-fallback offer that matches, in priority order (the chosen one first);
- a condition on an attribute the profile lacks (absent or null) is not met;
- ``within_last_days N`` holds for a day from ``at - N`` to ``at`` inclusive.

Profiles are checked against the catalog first (``profile_check``): every bad value is named
(``profile.age``) with what would be accepted, nothing is decided for a bad profile, unknown keys
are ignored. Values come as JSON (numbers, true/false, "YYYY-MM-DD" or an ISO date-time, whose
date is used, lists for sets) or as CSV cells (text: "42", "true"/"yes"/"1", "a|b|c" for a set, an
empty cell for missing).

With ``explain`` every stage also carries every offer's outcome, each condition with the actual
value and its result, and for each offer not chosen "why not": the conditions that failed, the
higher offers that took the customer, and the smallest change to the profile (fewest attributes)
that would get it chosen — found exactly over the regions of ``decisioning.regions``.

Pure: no database. The generated source is kept on the compiled version (``.source``) for reading.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from blueprint.conditions import AttributeSpec, Condition, Groups, condition_sentence
from blueprint.errors import InvalidInput
from decisioning.budget import Budget, BudgetExhausted
from decisioning.model import BlueprintSpec, StageSpec, spec_from_json
from decisioning.regions import ELEMENT_SEPARATOR, MISSING, Box, Region, Space, intersect

NAN = math.nan
SET_SEPARATOR = "|"
CACHE_SIZE = 64
# The steps (decisioning.budget) of one explained decision's "why not", shared by its offers: about a
# second of work at most (bench/lint.py measures the heaviest the limits allow).
EXPLAIN_STEPS = 1_000_000

# What a profile value may look like. Both engines (this one and decisioning.sql) accept exactly these.
NUMBER_FORM = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DATE_FORM = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")

Version = dict[str, Any]  # {"number": n} or {"draft": True, "rev": r}


def explain_budget(cancel: threading.Event | None = None) -> Budget:
    """The budget of one explained decision: ``EXPLAIN_STEPS``, stopped by ``cancel`` (by default the
    context's stop event, ``decisioning.budget.stopped_by``) when it is set."""
    return Budget(EXPLAIN_STEPS, cancel=cancel)


# --- Checking a profile against the catalog -------------------------------------------------------


class ProfileProblems(InvalidInput):
    """A profile with values that do not fit the catalog; ``problems`` names each field."""


def _expected(attr: AttributeSpec, csv: bool) -> str:
    choices = f" from {', '.join(attr.choices)}" if attr.choices else ""
    if attr.type == "number":
        return "a number such as 42 or 2.5" if csv else "a JSON number such as 42 or 2.5"
    if attr.type == "boolean":
        return "true, false, yes, no, 1 or 0" if csv else "true or false"
    if attr.type == "date":
        return "a date as YYYY-MM-DD (or an ISO date-time such as 2025-06-30T14:05:00Z, whose date is used)"
    if attr.type == "set":
        sep = f"values separated by '{SET_SEPARATOR}'" if csv else "a list of texts"
        return f"{sep}{choices}"
    if attr.type == "choice" and attr.choices:
        return f"one of {', '.join(attr.choices)}"
    return "a text"


def _day_of(text: str) -> dt.date | None:
    match = DATE_FORM.fullmatch(text)
    if match is None:
        return None
    try:
        day = dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return day


def check_value(attr: AttributeSpec, value: Any, *, csv: bool = False) -> Any:
    """One value in its checked form, ``None`` for missing, or ``ValueError`` saying what is expected.

    Checked forms: number → int or float; date → ``datetime.date``; boolean → bool; text and
    choice → str; set → frozenset of str.
    """
    if value is None or (csv and isinstance(value, str) and value.strip(" ") == ""):
        return None
    kind = attr.type
    if csv:
        if not isinstance(value, str):
            raise ValueError(f"Expected {_expected(attr, csv)}.")
        text = value.strip(" ")
        if kind == "number":
            if NUMBER_FORM.fullmatch(text) is None:
                raise ValueError(f"Expected {_expected(attr, csv)}; got '{_short(text)}'.")
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(f"Expected {_expected(attr, csv)}; '{_short(text)}' is out of range.")
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        if kind == "boolean":
            lowered = text.lower()
            if lowered in TRUE_WORDS:
                return True
            if lowered in FALSE_WORDS:
                return False
            raise ValueError(f"Expected {_expected(attr, csv)}; got '{_short(text)}'.")
        if kind == "set":
            elements = [e.strip(" ") for e in text.split(SET_SEPARATOR)]
            return _check_elements(attr, [e for e in elements if e], csv)
        value = text
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"Expected {_expected(attr, csv)}; got {_json_kind(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Expected {_expected(attr, csv)}; the number must be finite.")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"Expected {_expected(attr, csv)}; got {_json_kind(value)}.")
        return value
    if kind == "date":
        day = _day_of(value) if isinstance(value, str) else None
        if day is None:
            shown = f"'{_short(value)}'" if isinstance(value, str) else _json_kind(value)
            raise ValueError(f"Expected {_expected(attr, csv)}; got {shown}.")
        return day
    if kind == "set":
        if not isinstance(value, list):
            raise ValueError(f"Expected {_expected(attr, csv)}; got {_json_kind(value)}.")
        return _check_elements(attr, value, csv)
    if not isinstance(value, str):
        raise ValueError(f"Expected {_expected(attr, csv)}; got {_json_kind(value)}.")
    if attr.choices and value not in attr.choices:
        raise ValueError(
            f"'{_short(value)}' is not a choice of {attr.label}; expected {_expected(attr, csv)}."
        )
    return value


def _check_elements(attr: AttributeSpec, elements: list[Any], csv: bool) -> frozenset[str]:
    for element in elements:
        if not isinstance(element, str):
            raise ValueError(f"Expected {_expected(attr, csv)}; an element is {_json_kind(element)}.")
        if attr.choices and element not in attr.choices:
            raise ValueError(
                f"'{_short(element)}' is not a choice of {attr.label}; expected {_expected(attr, csv)}."
            )
    return frozenset(elements)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "…"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{_short(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def profile_check(
    profile: Any, catalog: Mapping[str, AttributeSpec], *, csv: bool = False, path: str = "profile"
) -> dict[str, Any]:
    """The profile's catalog attributes in their checked forms (missing ones left out).

    Raises ``ProfileProblems`` naming every bad field (``profile.age``) and what it expects.
    Keys outside the catalog are ignored.
    """
    if not isinstance(profile, Mapping):
        raise ProfileProblems("Expected an object: attribute key → value.", field=path)
    checked: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key, attr in catalog.items():
        try:
            value = check_value(attr, profile.get(key), csv=csv)
        except ValueError as exc:
            problems[f"{path}.{key}"] = [str(exc)]
            continue
        if value is not None:
            checked[key] = value
    if problems:
        raise ProfileProblems(problems)
    return checked


def value_json(value: Any) -> Any:
    """A checked value as JSON: a date as YYYY-MM-DD, a set as a sorted list."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


# --- Conditions, read literally (explain and why-not use this; the generated code must agree) ------


def condition_holds(condition: Condition, value: Any, today: int) -> bool:
    """Whether a condition holds for a checked value (None: missing) on day ordinal ``today``."""
    if value is None:
        return False
    operator, wanted = condition.operator, condition.value
    if operator == "is":
        return bool(value == wanted) and type(value) is type(wanted)
    if operator == "is_one_of":
        return value in wanted
    if operator == "includes":
        return wanted in value
    if operator == "includes_any_of":
        return any(element in value for element in wanted)
    if isinstance(value, dt.date):
        day = value.toordinal()
        if operator == "within_last_days":
            return today - wanted <= day <= today
        if operator == "at_least":
            return day >= _ordinal(wanted)
        if operator == "at_most":
            return day <= _ordinal(wanted)
        return _ordinal(wanted[0]) <= day <= _ordinal(wanted[1])
    if operator == "at_least":
        return bool(value >= wanted)
    if operator == "at_most":
        return bool(value <= wanted)
    if operator == "between":
        return bool(wanted[0] <= value <= wanted[1])
    return False


def _ordinal(iso: str) -> int:
    return dt.date.fromisoformat(iso).toordinal()


def groups_hold(groups: Groups, checked: Mapping[str, Any], today: int) -> bool:
    return not groups or any(
        all(condition_holds(c, checked.get(c.attribute), today) for c in g) for g in groups
    )


# --- Results ------------------------------------------------------------------------------------


@dataclass
class ConditionOutcome:
    condition: Condition
    sentence: str
    actual: Any  # the profile's value (checked form), None when missing
    result: bool

    def as_json(self) -> dict[str, Any]:
        return {
            **self.condition.as_dict(),
            "sentence": self.sentence,
            "actual": value_json(self.actual),
            "missing": self.actual is None,
            "result": self.result,
        }


@dataclass
class GroupOutcome:
    conditions: list[ConditionOutcome]

    @property
    def result(self) -> bool:
        return all(c.result for c in self.conditions)

    def as_json(self) -> dict[str, Any]:
        return {"result": self.result, "conditions": [c.as_json() for c in self.conditions]}


@dataclass
class WhyNot:
    """Why an offer was not chosen, and the smallest change of the profile that would choose it."""

    not_entered: bool  # the stage's entry conditions fail
    failed: list[ConditionOutcome]  # of the offer's (and, when not entered, the entry's) conditions
    taken_by: list[str]  # higher offers that match and so come first
    # some profile gets this offer (False: lint reports it as shadowed or contradictory; None: not
    # settled within the budget)
    possible: bool | None
    # attribute → new checked value (None: leave it out); None if impossible or not searched in full
    change: dict[str, Any] | None
    complete: bool = True  # False: the budget stopped the search, so possible or change is not settled

    @property
    def not_checked(self) -> str | None:
        """What the budget left unsettled, in words for the people reading the answer."""
        if self.complete:
            return None
        if self.possible is None:
            return (
                "Not settled: whether any customer can get this offer, and what would change that, were not "
                "searched in full. The stage has too many offers and conditions to search within the limit."
            )
        return (
            "The smallest change was not searched in full: the stage has too many offers and conditions "
            "to search within the limit."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "not_entered": self.not_entered,
            "failed": [c.as_json() for c in self.failed],
            "taken_by": self.taken_by,
            "possible": self.possible,
            "change": None
            if self.change is None
            else {key: value_json(value) for key, value in self.change.items()},
            "complete": self.complete,
            "not_checked": self.not_checked,
        }


@dataclass
class OfferOutcome:
    key: str
    name: str
    fallback: bool
    matched: bool
    chosen: bool
    groups: list[GroupOutcome]
    why_not: WhyNot | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "offer": self.key,
            "name": self.name,
            "fallback": self.fallback,
            "matched": self.matched,
            "chosen": self.chosen,
            "groups": [g.as_json() for g in self.groups],
            "why_not": self.why_not.as_json() if self.why_not is not None else None,
        }


@dataclass
class StageExplain:
    entry: list[GroupOutcome]
    offers: list[OfferOutcome]

    def as_json(self) -> dict[str, Any]:
        return {"entry": [g.as_json() for g in self.entry], "offers": [o.as_json() for o in self.offers]}


@dataclass(frozen=True, slots=True)
class StageDecision:
    """One stage's answer. Frozen: the compiled fast path hands out the same object to every
    profile with the same answer."""

    stage: str
    entered: bool
    offer: str | None
    fallback: bool
    eligible: tuple[str, ...]
    explain: StageExplain | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "entered": self.entered,
            "offer": self.offer,
            "fallback": self.fallback,
            "eligible": list(self.eligible),
        }
        if self.explain is not None:
            data["explain"] = self.explain.as_json()
        return data


@dataclass(slots=True)
class Decision:
    """What ``decide`` answers: the stages entered (or the one asked for), in journey order.

    With ``explain``, ``skipped`` holds the stages not entered, with their explanations.
    """

    version: Version
    at: dt.date
    decisions: list[StageDecision]
    skipped: list[StageDecision] = field(default_factory=list)
    explained: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "at": self.at.isoformat(),
            "decisions": [d.as_json() for d in self.decisions],
        }
        if self.explained:
            data["skipped"] = [d.as_json() for d in self.skipped]
        return data


# --- Compiling a version into Python -----------------------------------------------------------------


def _py(value: Any) -> str:
    """A Python literal (repr is exact for str, int, float and bool)."""
    return repr(value)


def _interval(c: Condition, today: int) -> tuple[float, float]:
    """The values (numbers, or days as ordinals) a number or date condition holds for, [low, high]."""
    op, v = c.operator, c.value
    if op == "within_last_days":
        return today - int(v), today
    is_day = isinstance(v, str) or (isinstance(v, list) and isinstance(v[0], str))

    def point(x: Any) -> float:
        return _ordinal(x) if is_day else x

    if op == "at_least":
        return point(v), math.inf
    if op == "at_most":
        return -math.inf, point(v)
    return point(v[0]), point(v[1])


def _ordered_fails(
    conditions: Sequence[tuple[Condition, int]], today: int
) -> tuple[list[float], list[int], int]:
    """For a number or date attribute: the sorted bounds of its conditions, the fail mask of each
    stretch between them (index 2i is below bound i, 2i + 1 is bound i itself, 2n above them all),
    and the mask of all.

    One sweep: a bit's conditions on the attribute hold together on one interval (the intersection
    of theirs), so it holds on a run of stretches, from the first to the last its interval reaches,
    and the bits holding on each stretch are toggled on at the start of a run and off after it. Linear
    in the stretches (times the width of a mask), where asking every condition about every stretch was
    quadratic in the conditions."""
    held: dict[int, tuple[float, float]] = {}
    for c, bit in conditions:
        low, high = _interval(c, today)
        before = held.get(bit)
        held[bit] = (low, high) if before is None else (max(before[0], low), min(before[1], high))
    bounds = sorted({x for low, high in held.values() for x in (low, high) if math.isfinite(x)})
    position = {bound: i for i, bound in enumerate(bounds)}
    last = 2 * len(bounds)
    toggles = [0] * (last + 2)
    everything = 0
    for bit, (low, high) in held.items():
        everything |= bit
        if low > high:
            continue  # the conditions of the group on this attribute never hold together
        first = 2 * position[low] + 1 if math.isfinite(low) else 0
        final = 2 * position[high] + 1 if math.isfinite(high) else last
        toggles[first] ^= bit
        toggles[final + 1] ^= bit
    fails: list[int] = []
    holding = 0
    for stretch in range(last + 1):
        holding ^= toggles[stretch]
        fails.append(everything & ~holding)
    return bounds, fails, everything


class _Codegen:
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
        self.stages: list[tuple[int | None, int, list[tuple[int, str]], str | None]] = []
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
            for offer in stage.offers:
                if offer.fallback:
                    continue
                bit = self._take()
                offers.append((bit, offer.key))
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
            key_mask = sum(bit for bit, _ in offers)
            self.stages.append((entry_mask, key_mask, offers, fallback))
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
                bounds, fails, _ = _ordered_fails(conditions, 0)
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
                    bounds, fails, _ = _ordered_fails(conditions, today)
                    found.append((bounds, fails, len(bounds)))
                if len(cache) > 64:
                    cache.clear()
                cache[today] = found
            return found

        return tables

    def stage_answer(self) -> Callable[[int, int], StageDecision]:
        caches: list[dict[int, StageDecision]] = [{} for _ in self.stages]
        self.tables["R"] = caches
        stages = self.stages
        keys = [stage.key for stage in self.spec.stages]

        def answer(index: int, held: int) -> StageDecision:
            _, _, offers, fallback = stages[index]
            eligible = tuple(key for bit, key in offers if held & bit)
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
        every: list[str] = []  # all stages: the common case, without a test of want per stage
        one: list[str] = []  # the stage asked for
        for si, (entry_mask, key_mask, _, _) in enumerate(self.stages):
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
        lines += [
            "    if want < 0:",
            "        return (",
            *every,
            "        )",
            *one,
            f"    return (None,) * {len(self.stages)}",
        ]
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
        for i, key in enumerate(self.by_attribute):
            if self.spec.catalog[key].type == "set":
                space[f"sf{i}"] = self.set_fails(i)
        return space


@dataclass(eq=False)
class CompiledVersion:
    """A version (or the draft) ready to decide: compiled once, used by every request after."""

    spec: BlueprintSpec
    version: Version
    source: str
    run_json: Callable[[Mapping[str, Any], int, int], tuple[StageDecision | None, ...]]
    run_checked: Callable[[Mapping[str, Any], int, int], tuple[StageDecision | None, ...]]
    stage_index: dict[str, int]

    @cached_property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(stage.key for stage in self.spec.stages)

    @cached_property
    def derived(self) -> dict[Any, Any]:
        """What other modules derive from the version and keep as long as it is compiled (the
        batch SQL of ``decisioning.sql``, by its arguments)."""
        return {}

    def stage_of(self, stage: str | None) -> int:
        """The index of the stage asked for (-1: all), or ``InvalidInput`` naming ``stage``."""
        if stage is None or stage == "":
            return -1
        index = self.stage_index.get(stage) if isinstance(stage, str) else None
        if index is None:
            known = ", ".join(self.stage_keys) or "none: the blueprint has no stages"
            raise InvalidInput(f"There is no stage '{_short(str(stage))}'. Stages: {known}.", field="stage")
        return index

    def check(self, profile: Any, *, csv: bool = False, path: str = "profile") -> dict[str, Any]:
        return profile_check(profile, self.spec.catalog, csv=csv, path=path)

    def decide(
        self,
        profile: Any,
        stage: str | None = None,
        at: dt.date | None = None,
        explain: bool = False,
        *,
        csv: bool = False,
        budget: Budget | None = None,
    ) -> Decision:
        """Decide for one profile (raw JSON values, or CSV cells with ``csv``); see the module doc.

        ``budget`` bounds the "why not" of an explanation (default ``explain_budget()``; give one
        with a cancel event to stop it from another thread: it raises ``Cancelled``).
        Raises ``ProfileProblems`` for a bad profile and ``InvalidInput`` for an unknown stage.
        """
        day = at if at is not None else _today()
        want = self.stage_of(stage)
        if explain or csv or not isinstance(profile, dict):
            checked = self.check(profile, csv=csv)
            if explain:
                return self.explain(checked, day, want, budget)
            raw = self.run_checked(checked, day.toordinal(), want)
        else:
            raw = self.run_json(profile, day.toordinal(), want)
        return Decision(self.version, day, self.materialize(raw, want))

    def decide_checked(self, checked: Mapping[str, Any], at: dt.date, stage: int = -1) -> list[StageDecision]:
        """The decisions for a profile already checked (``check``); no explanation."""
        return self.materialize(self.run_checked(checked, at.toordinal(), stage), stage)

    def materialize(self, raw: Sequence[StageDecision | None], want: int) -> list[StageDecision]:
        """The stages entered, and the one asked for even when it is not."""
        out = [d for d in raw if d is not None]
        if want >= 0 and raw[want] is None:
            out.append(StageDecision(self.stage_keys[want], False, None, False, ()))
        return out

    # --- explain -------------------------------------------------------------------------------

    def explain(
        self, checked: Mapping[str, Any], at: dt.date, want: int = -1, budget: Budget | None = None
    ) -> Decision:
        """Every stage (or the one asked for) explained; the why-nots share ``budget`` (default
        ``explain_budget()``), each stage a share of what the ones before it left."""
        budget = budget if budget is not None else explain_budget()
        today = at.toordinal()
        decisions: list[StageDecision] = []
        skipped: list[StageDecision] = []
        stages = [(i, s) for i, s in enumerate(self.spec.stages) if want < 0 or i == want]
        for done, (index, stage) in enumerate(stages):
            budget.check()
            with budget.share(len(stages) - done) as part:
                decision = explain_stage(
                    stage,
                    self.spec.catalog,
                    checked,
                    at,
                    today,
                    part,
                    self.derived.setdefault("sentences", {}),
                )
            (decisions if decision.entered or index == want else skipped).append(decision)
        return Decision(self.version, at, decisions, skipped, explained=True)


def _today() -> dt.date:
    from django.utils import timezone  # no database: the server's TIME_ZONE

    return timezone.localdate()


def compile_spec(spec: BlueprintSpec, version: Version) -> CompiledVersion:
    """Generate, compile and load the decision functions of one version."""
    gen = _Codegen(spec)
    source = gen.source()
    catalog = spec.catalog
    days: dict[str, int] = {}

    def check(p: Any) -> dict[str, Any]:
        return profile_check(p, catalog)

    def slow(p: Mapping[str, Any], key: str) -> Any:
        """An uncommon but maybe valid value (a date not seen yet, a date-time, a set to check):
        its checked form (a date as its ordinal), or the whole profile's problems."""
        try:
            value = check_value(catalog[key], p.get(key))
        except ValueError:
            check(p)  # raises, naming every bad field
            raise
        if catalog[key].type == "date":
            ordinal = value.toordinal()
            raw = p.get(key)
            if len(days) < 100_000 and isinstance(raw, str):
                days[raw] = ordinal
            return ordinal
        return value

    namespace: dict[str, Any] = {
        **gen.namespace(),
        "INF": math.inf,
        "DAYS": days,
        "slow": slow,
        "check": check,
        "bl": bisect.bisect_left,
    }
    # our own generated code: every key and value in it is a table name or written with repr
    exec(compile(source, f"<blueprint {version}>", "exec"), namespace)
    return CompiledVersion(
        spec=spec,
        version=version,
        source=source,
        run_json=namespace["run_json"],
        run_checked=namespace["run_checked"],
        stage_index={stage.key: i for i, stage in enumerate(spec.stages)},
    )


def compile_snapshot(snapshot: Mapping[str, Any], version: Version) -> CompiledVersion:
    return compile_spec(spec_from_json(snapshot), version)


_cache: OrderedDict[tuple[Any, ...], CompiledVersion] = OrderedDict()
_cache_lock = threading.Lock()


def compiled_for(key: tuple[Any, ...], load: Callable[[], CompiledVersion]) -> CompiledVersion:
    """The compiled version cached under ``key`` (e.g. ("version", blueprint id, number, content
    hash) or ("draft", blueprint id, rev)); ``load`` compiles it on a miss. The newest
    ``CACHE_SIZE`` are kept."""
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    compiled = load()
    with _cache_lock:
        _cache[key] = compiled
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


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
) -> StageDecision:
    """The decision of one stage with every outcome, read literally from the conditions; the
    why-nots share ``budget`` (none: no bound), each offer a share of what the ones before it left."""
    budget = budget if budget is not None else Budget()
    sentences = sentences if sentences is not None else {}
    entry = _outcomes(stage.entry, catalog, checked, today, sentences)
    entered = not entry or any(g.result for g in entry)
    offers: list[OfferOutcome] = []
    for offer in stage.offers:
        budget.check()
        groups = _outcomes(offer.groups, catalog, checked, today, sentences)
        matched = not offer.fallback and (not groups or any(g.result for g in groups))
        offers.append(OfferOutcome(offer.key, offer.name, offer.fallback, matched, False, groups))
    eligible = tuple(o.key for o in offers if o.matched)
    fallback = next((o for o in offers if o.fallback), None)
    chosen: str | None = None
    is_fallback = False
    if entered:
        if eligible:
            chosen = eligible[0]
        elif fallback is not None:
            chosen, is_fallback = fallback.key, True
    for o in offers:
        o.chosen = o.key == chosen
    whys = WhyNotSolver(stage, catalog, checked, at, budget)
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
        )
    return StageDecision(
        stage.key,
        entered,
        chosen,
        is_fallback,
        eligible if entered else (),
        StageExplain(entry, offers),
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
    ) -> None:
        self.stage = stage
        self.catalog = catalog
        self.checked = checked
        self.at = at
        self.today = at.toordinal()
        self.budget = budget
        conditions = [c for g in stage.entry for c in g]
        conditions += [c for o in stage.offers if not o.fallback for g in o.groups for c in g]
        self.conditions = [c for c in conditions if c.attribute in catalog]
        self.space = Space(catalog, self.conditions, at)
        self.first_fallback = next((i for i, o in enumerate(stage.offers) if o.fallback), None)
        self._regions: tuple[Region, list[Region]] | None = None
        self._too_big = False
        self._current: dict[str, int] = {}

    def regions(self) -> tuple[Region, list[Region]] | None:
        """The stage's entry and each offer's groups as boxes, built once (one box per combination
        of the elements of ``includes_any_of`` conditions: counted in the budget); None when they
        are too many for it."""
        if self._regions is None and not self._too_big:
            try:
                entry = self.space.groups(self.stage.entry, self.budget)
                reach = [
                    [] if o.fallback else self.space.groups(o.groups, self.budget) for o in self.stage.offers
                ]
            except BudgetExhausted:
                self._too_big = True
                return None
            self._regions = (entry, reach)
        return self._regions

    def problem(self, index: int, budget: Budget | None = None) -> tuple[Region, Region] | None:
        """The customers who would get offer ``index`` were it not for the offers that come first, and
        those offers' customers; None when the regions are too many boxes for the budget."""
        regions = self.regions()
        if regions is None:
            return None
        entry, reach = regions
        offer = self.stage.offers[index]
        if offer.fallback:
            if index != self.first_fallback:
                return [], []
            return entry, [box for i, r in enumerate(reach) for box in r if i != index]
        return intersect(entry, reach[index], budget), [box for r in reach[:index] for box in r]

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
