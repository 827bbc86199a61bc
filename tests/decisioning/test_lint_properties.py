"""Property tests of the exact lint against a brute-force reference (docs/architecture.md, "The lint").

The reference evaluator below knows nothing of atoms or regions: it judges one customer the way
docs/architecture.md's "The condition language" and "Decisions" say. Random small blueprints, with
values from small pools so that overlaps, gaps, duplicates, shadowing and contradictions are common,
are linted, and then

- every example profile a finding carries really does what the finding says;
- a finite grid of profiles (one per class of values the blueprint's conditions tell apart, for
  every attribute it uses, "missing" included; sampled when the product is too large) shows no
  gap, overlap or winning offer that the lint misses or denies;
- contradiction and redundant-condition findings are sound on that grid, and on a complete grid
  every finding is exactly what the lint's documented rules give;
- lint is deterministic, and the decision day matters only through ``within_last_days``.

Blueprints draw how their stages relate: several at once (``stage-overlap`` between stages a grid
customer is in together) or one each (a stage's customers are those no earlier stage takes, and a
stage left none is ``stage-unreachable``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from decisioning.conditions import AttributeSpec, Condition, Group, Groups, parse_groups
from decisioning.lint import Finding, lint_blueprint
from decisioning.model import BlueprintSpec, OfferSpec, StageSpec

AT = dt.date(2024, 6, 15)

CHOICES = ("bronze", "silver", "gold", "platinum")
NUMBERS = (0, 10, 10.5, 20)
DATES = ("2024-05-16", "2024-06-01", "2024-06-10", "2024-06-15")  # AT-30, …, AT-5, AT
DAYS = (0, 5, 30)
TEXTS = ("web", "app", "email")
ELEMENTS = ("card", "loan", "savings")

CATALOG: dict[str, AttributeSpec] = {
    "age": AttributeSpec(key="age", label="Age", type="number", unit="years"),
    "last_visit": AttributeSpec(key="last_visit", label="Last visit", type="date", kind="behaviour"),
    "segment": AttributeSpec(key="segment", label="Segment", type="choice", choices=CHOICES),
    "channel": AttributeSpec(key="channel", label="Channel", type="text", kind="context"),
    "member": AttributeSpec(key="member", label="Member", type="boolean"),
    "products": AttributeSpec(key="products", label="Products", type="set"),
}

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- The reference evaluator ------------------------------------------------------------------


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def condition_holds(condition: Condition, profile: Mapping[str, Any], at: dt.date) -> bool:
    """The condition language for one customer: a missing attribute fails every condition."""
    if condition.attribute not in profile:
        return False
    kind = CATALOG[condition.attribute].type
    actual = profile[condition.attribute]
    operator, value = condition.operator, condition.value
    if kind == "number":
        if operator == "at_least":
            return bool(actual >= value)
        if operator == "at_most":
            return bool(actual <= value)
        if operator == "below":
            return bool(actual < value)
        if operator == "above":
            return bool(actual > value)
        low, high = value
        return bool(low <= actual <= high)
    if kind == "date":
        day = _day(actual)
        if operator == "within_last_days":
            return 0 <= (at - day).days <= value
        if operator == "at_least":
            return day >= _day(value)
        if operator == "at_most":
            return day <= _day(value)
        if operator == "below":
            return day < _day(value)
        if operator == "above":
            return day > _day(value)
        low, high = value
        return _day(low) <= day <= _day(high)
    if kind == "set":
        if operator == "includes":
            return value in actual
        return any(element in actual for element in value)
    # text, choice, boolean
    if operator == "is":
        return bool(actual == value)
    if operator == "is_one_of":
        return actual in value
    raise AssertionError(f"no such operator for {kind}: {operator}")


def group_holds(group: Group, profile: Mapping[str, Any], at: dt.date) -> bool:
    return all(condition_holds(c, profile, at) for c in group)


def groups_hold(groups: Groups, profile: Mapping[str, Any], at: dt.date) -> bool:
    """Any group; no groups at all is everyone."""
    return not groups or any(group_holds(g, profile, at) for g in groups)


def in_population(stage: StageSpec, profile: Mapping[str, Any], at: dt.date) -> bool:
    return groups_hold(stage.entry, profile, at)


def earlier_stages(spec: BlueprintSpec, stage: StageSpec) -> tuple[StageSpec, ...]:
    """Each customer in one stage: the stages before it, whose customers it never gets."""
    return spec.stages[: spec.stages.index(stage)] if spec.stage_mode == "one" else ()


def in_stage(spec: BlueprintSpec, stage: StageSpec, profile: Mapping[str, Any], at: dt.date) -> bool:
    """The customer is in the stage: its entry holds and (one stage each) no earlier one's does."""
    return in_population(stage, profile, at) and not any(
        in_population(s, profile, at) for s in earlier_stages(spec, stage)
    )


DAY = "day"  # in these tests' profiles: the decision day, AT when left out (relative conditions keep AT)


def on_its_days(offer: OfferSpec, profile: Mapping[str, Any]) -> bool:
    """Whether the profile's decision day lies in the offer's days (both included)."""
    day = _day(profile[DAY]) if DAY in profile else AT
    return (offer.starts_on is None or offer.starts_on <= day) and (
        offer.ends_on is None or day <= offer.ends_on
    )


def offer_matches(offer: OfferSpec, profile: Mapping[str, Any], at: dt.date) -> bool:
    """An ordinary offer matching on its conditions and its days (a fallback is only what is left over)."""
    return not offer.fallback and on_its_days(offer, profile) and groups_hold(offer.groups, profile, at)


def decide(stage: StageSpec, profile: Mapping[str, Any], at: dt.date) -> str | None:
    """The decision for one stage the customer is in: the first matching offer, else the fallback
    (the stage's first) on its days."""
    for offer in stage.offers:
        if offer_matches(offer, profile, at):
            return offer.key
    fallback = next((o for o in stage.offers if o.fallback), None)
    return fallback.key if fallback and on_its_days(fallback, profile) else None


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "actual", "holds"),
    [
        ("age", "at_least", 18, 18, True),
        ("age", "at_most", 18, 18.5, False),
        ("age", "below", 18, 18, False),
        ("age", "below", 18, 17.5, True),
        ("age", "above", 18, 18, False),
        ("age", "above", 18, 18.25, True),
        ("last_visit", "below", "2024-06-10", "2024-06-10", False),
        ("last_visit", "below", "2024-06-10", "2024-06-09", True),
        ("last_visit", "above", "2024-06-10", "2024-06-11", True),
        ("age", "between", [10, 10.5], 10.25, True),
        ("age", "at_least", 0, None, False),
        ("last_visit", "within_last_days", 5, "2024-06-10", True),
        ("last_visit", "within_last_days", 5, "2024-06-09", False),
        ("last_visit", "within_last_days", 5, "2024-06-16", False),
        ("last_visit", "within_last_days", 0, "2024-06-15", True),
        ("last_visit", "between", ["2024-06-01", "2024-06-10"], "2024-06-10", True),
        ("segment", "is_one_of", ["gold", "silver"], "gold", True),
        ("channel", "is", "web", "web ", False),
        ("member", "is", False, False, True),
        ("member", "is", False, None, False),
        ("products", "includes", "loan", [], False),
        ("products", "includes_any_of", ["loan", "card"], ["card"], True),
        ("products", "includes", "loan", None, False),
    ],
)
def test_the_reference_evaluator_reads_conditions_as_the_design_says(
    attribute: str, operator: str, value: Any, actual: Any, holds: bool
) -> None:
    (condition,) = only_group([[{"attribute": attribute, "operator": operator, "value": value}]])
    profile = {} if actual is None else {attribute: actual}
    assert condition_holds(condition, profile, AT) is holds


def only_group(raw: list[list[dict[str, Any]]]) -> Group:
    (group,) = parse_groups(raw, CATALOG)
    return group


# --- Random small blueprints ------------------------------------------------------------------


def _pair(pool: Sequence[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(pool), min_size=2, max_size=2).map(sorted)


def _some(pool: Sequence[Any], most: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True)


OPERATOR_AND_VALUE: dict[str, st.SearchStrategy[tuple[str, Any]]] = {
    "age": st.tuples(st.sampled_from(["at_least", "at_most", "below", "above"]), st.sampled_from(NUMBERS))
    | st.tuples(st.just("between"), _pair(NUMBERS)),
    "last_visit": st.tuples(
        st.sampled_from(["at_least", "at_most", "below", "above"]), st.sampled_from(DATES)
    )
    | st.tuples(st.just("between"), _pair(DATES))
    | st.tuples(st.just("within_last_days"), st.sampled_from(DAYS)),
    "segment": st.tuples(st.just("is"), st.sampled_from(CHOICES))
    | st.tuples(st.just("is_one_of"), _some(CHOICES, 3)),
    "channel": st.tuples(st.just("is"), st.sampled_from(TEXTS))
    | st.tuples(st.just("is_one_of"), _some(TEXTS, 2)),
    "member": st.tuples(st.just("is"), st.booleans()),
    "products": st.tuples(st.just("includes"), st.sampled_from(ELEMENTS))
    | st.tuples(st.just("includes_any_of"), _some(ELEMENTS, 2)),
}


def _raw_condition(attribute: str) -> st.SearchStrategy[dict[str, Any]]:
    return OPERATOR_AND_VALUE[attribute].map(
        lambda pair: {"attribute": attribute, "operator": pair[0], "value": pair[1]}
    )


# an offer's days, often none; around AT and each other, so windows meet, nest and leave gaps
_WINDOW_DAYS = [AT - dt.timedelta(days=1), AT, AT + dt.timedelta(days=1), AT + dt.timedelta(days=30)]
WINDOWS = st.sampled_from([(None, None)] * 4) | st.tuples(
    st.sampled_from([None, *_WINDOW_DAYS]), st.sampled_from([None, *_WINDOW_DAYS])
).filter(lambda w: w[0] is None or w[1] is None or w[0] <= w[1])


@st.composite
def blueprints(draw: st.DrawFn) -> BlueprintSpec:
    """1 to 3 stages of 0 to 5 offers over 1 to 4 attributes, conditions parsed (so normalized) as the API does."""
    used = draw(st.lists(st.sampled_from(sorted(CATALOG)), min_size=1, max_size=4, unique=True))
    condition = st.sampled_from(used).flatmap(_raw_condition)
    group = st.lists(condition, min_size=1, max_size=3)

    def groups(sizes: Sequence[int]) -> Groups:
        size = draw(st.sampled_from(sizes))
        return parse_groups(draw(st.lists(group, min_size=size, max_size=size)), CATALOG)

    stages = []
    for si in range(draw(st.integers(1, 3))):
        offers = []
        for oi in range(draw(st.integers(0, 5))):
            fallback = draw(st.sampled_from([False, False, False, False, True]))
            window = draw(WINDOWS)
            offers.append(
                OfferSpec(
                    starts_on=window[0],
                    ends_on=window[1],
                    key=f"s{si}o{oi}",
                    name=f"Offer {si}.{oi}",
                    # an offer usually has 1 or 2 groups, sometimes none (everyone); a fallback
                    # usually none, sometimes (wrongly) some
                    groups=groups([0, 0, 0, 1] if fallback else [0, 1, 1, 1, 2, 2]),
                    fallback=fallback,
                )
            )
        stages.append(
            StageSpec(key=f"s{si}", name=f"Stage {si}", entry=groups([0, 0, 1, 2]), offers=tuple(offers))
        )
    return BlueprintSpec(
        catalog=CATALOG, stages=tuple(stages), stage_mode=draw(st.sampled_from(["several", "one"]))
    )


def conditions_of(spec: BlueprintSpec) -> Iterator[Condition]:
    for stage in spec.stages:
        for group in stage.entry:
            yield from group
        for offer in stage.offers:
            for group in offer.groups:
                yield from group


# --- The grid of profiles ---------------------------------------------------------------------

MISSING: Any = object()
GRID_CAP = 20_000


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _window_days(spec: BlueprintSpec) -> list[str]:
    """Decision days around every offer's days (and AT): one of each stretch no window tells apart."""
    edges = {o.starts_on for st in spec.stages for o in st.offers} | {
        o.ends_on for st in spec.stages for o in st.offers
    }
    days = {AT}
    for edge in edges - {None}:
        assert edge is not None
        days |= {edge - dt.timedelta(days=1), edge, edge + dt.timedelta(days=1)}
    return [_iso(d) for d in sorted(days)] if edges - {None} else []


def candidate_values(attribute: str, conditions: Sequence[Condition], at: dt.date) -> list[Any]:
    """Values around every bound the conditions use (and "missing"), enough to meet every class."""
    kind = CATALOG[attribute].type
    values: list[Any] = [MISSING]
    if kind == "number":
        bounds = sorted(
            {b for c in conditions for b in (c.value if isinstance(c.value, list) else [c.value])}
        )
        for b in bounds:
            values += [b - 1, b, b + 0.5, b + 1]
        values += [(low + high) / 2 for low, high in itertools.pairwise(bounds)]
    elif kind == "date":
        for c in conditions:
            if c.operator == "within_last_days":
                first, last = at.toordinal() - c.value, at.toordinal()
            elif c.operator == "between":
                first, last = _day(c.value[0]).toordinal(), _day(c.value[1]).toordinal()
            else:
                first = last = _day(c.value).toordinal()
            days = (first - 1, first, last, last + 1)
            values += [_iso(dt.date.fromordinal(d)) for d in days if 1 <= d <= dt.date.max.toordinal()]
    elif kind == "choice":
        values += list(CATALOG[attribute].choices)
    elif kind == "text":
        named = [v for c in conditions for v in (c.value if isinstance(c.value, list) else [c.value])]
        values += [*dict.fromkeys(named), "somewhere else"]
    elif kind == "boolean":
        values += [True, False]
    else:  # set
        values += [
            list(subset)
            for size in range(len(ELEMENTS) + 1)
            for subset in itertools.combinations(ELEMENTS, size)
        ]
    return values


@dataclass
class Grid:
    """Profiles as rows of value indices; a set of rows is a bitmask (bit i: row i)."""

    at: dt.date
    attributes: list[str]
    values: list[list[Any]]  # per attribute, one value per class the blueprint tells apart
    rows: list[tuple[int, ...]]
    complete: bool
    _class_bits: list[list[int]] = field(default_factory=list)

    @classmethod
    def of(cls, spec: BlueprintSpec, at: dt.date) -> Grid:
        by_attribute: dict[str, list[Condition]] = {}
        for c in conditions_of(spec):
            by_attribute.setdefault(c.attribute, []).append(c)
        attributes = sorted(by_attribute)
        values = []
        days = _window_days(spec)
        for attribute in attributes:
            # two values on which every condition agrees are the same customer as far as this
            # blueprint can tell: keep one of each
            classes: dict[tuple[bool, ...], Any] = {}
            for value in candidate_values(attribute, by_attribute[attribute], at):
                profile = {} if value is MISSING else {attribute: value}
                truth = tuple(condition_holds(c, profile, at) for c in by_attribute[attribute])
                classes.setdefault(truth, value)
            values.append(list(classes.values()))
        if days:
            attributes.append(DAY)
            values.append(days)
        size = 1
        for column in values:
            size *= len(column)
        if size <= GRID_CAP:
            rows = list(itertools.product(*(range(len(column)) for column in values)))
        else:
            sampler = random.Random(size)
            rows = sorted(
                {tuple(sampler.randrange(len(column)) for column in values) for _ in range(GRID_CAP)}
            )
        grid = cls(at=at, attributes=attributes, values=values, rows=rows, complete=size <= GRID_CAP)
        grid._class_bits = [
            [
                int("".join("1" if row[k] == v else "0" for row in reversed(rows)), 2)
                for v in range(len(values[k]))
            ]
            for k in range(len(attributes))
        ]
        return grid

    @property
    def everyone(self) -> int:
        return (1 << len(self.rows)) - 1

    def profile(self, row: int) -> dict[str, Any]:
        return {
            attribute: column[index]
            for attribute, column, index in zip(self.attributes, self.values, self.rows[row], strict=True)
            if column[index] is not MISSING
        }

    def condition(self, condition: Condition) -> int:
        k = self.attributes.index(condition.attribute)
        bits = 0
        for v, value in enumerate(self.values[k]):
            profile = {} if value is MISSING else {condition.attribute: value}
            if condition_holds(condition, profile, self.at):
                bits |= self._class_bits[k][v]
        return bits

    def on_days(self, offer: OfferSpec) -> int:
        """The rows whose decision day lies in the offer's days."""
        if not offer.dated:
            return self.everyone
        k = self.attributes.index(DAY)
        bits = 0
        for v, value in enumerate(self.values[k]):
            if on_its_days(offer, {DAY: value}):
                bits |= self._class_bits[k][v]
        return bits

    def group(self, group: Sequence[Condition]) -> int:
        bits = self.everyone
        for c in group:
            bits &= self.condition(c)
        return bits

    def groups(self, groups: Groups) -> int:
        if not groups:
            return self.everyone
        bits = 0
        for group in groups:
            bits |= self.group(group)
        return bits

    def first(self, bits: int) -> dict[str, Any]:
        """A profile of a non-empty set of rows, for failure messages."""
        return self.profile((bits & -bits).bit_length() - 1)


@dataclass
class StageOnGrid:
    """What the reference evaluator does with the grid's customers in one stage."""

    population: int
    offers: list[OfferSpec]  # the ordinary offers, in priority order
    reaches: list[int]  # the customers of the population each matches
    won: list[int]  # the customers each is decided to
    gap: int  # the customers of a stage with offers and no fallback who get none

    @classmethod
    def of(cls, stage: StageSpec, grid: Grid, spec: BlueprintSpec | None = None) -> StageOnGrid:
        population = grid.groups(stage.entry) & ~taken_on_grid(spec, stage, grid)
        offers = [o for o in stage.offers if not o.fallback]
        reaches = [grid.groups(o.groups) & grid.on_days(o) & population for o in offers]
        won = []
        left = population
        for reach in reaches:
            won.append(reach & left)
            left &= ~reach
        fallbacks = [o for o in stage.offers if o.fallback]
        if len(fallbacks) == 1 and not fallbacks[0].groups:
            left &= ~grid.on_days(fallbacks[0])  # a dated fallback leaves the other days a gap
        elif fallbacks:
            left = 0
        has_gap = bool(stage.offers)
        return cls(population, offers, reaches, won, left if has_gap else 0)


def taken_on_grid(spec: BlueprintSpec | None, stage: StageSpec, grid: Grid) -> int:
    """Each customer in one stage: the grid's customers an earlier stage takes first."""
    taken = 0
    for earlier in earlier_stages(spec, stage) if spec is not None else ():
        taken |= grid.groups(earlier.entry)
    return taken


def findings_of(report_findings: Sequence[Finding], stage: str, code: str) -> list[Finding]:
    return [f for f in report_findings if f.stage == stage and f.code == code]


def hidden_offers(findings: Sequence[Finding], stage: str) -> set[str]:
    """The offers lint says can never be shown: first-named in shadowed-offer or duplicate-offer."""
    return {
        f.offers[0] for f in findings if f.stage == stage and f.code in ("shadowed-offer", "duplicate-offer")
    }


# --- 3a: example profiles ----------------------------------------------------------------------


def assert_fits_catalog(profile: Mapping[str, Any]) -> None:
    """An example is a profile the decide API would accept."""
    json.dumps(profile)
    for key, value in profile.items():
        kind = CATALOG[key].type
        if kind == "number":
            assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        elif kind == "date":
            assert _iso(_day(value)) == value, (key, value)
        elif kind == "choice":
            assert value in CHOICES, (key, value)
        elif kind == "text":
            assert isinstance(value, str) and value, (key, value)
        elif kind == "boolean":
            assert isinstance(value, bool), (key, value)
        else:
            assert isinstance(value, list) and all(isinstance(e, str) for e in value), (key, value)
            assert len(set(value)) == len(value), (key, value)


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_every_example_profile_does_what_its_finding_says(spec: BlueprintSpec) -> None:
    report = lint_blueprint(spec, at=AT)
    stages = {s.key: s for s in spec.stages}
    for finding in report.findings:
        needs_example = finding.code in (
            *("overlap", "gap", "shadowed-offer", "duplicate-offer"),
            *("stage-overlap", "stage-unreachable"),
        )
        assert (finding.example is not None) is needs_example, finding
        if finding.example is None:
            continue
        profile = dict(finding.example)
        assert_fits_catalog(profile)
        if finding.day is not None:
            profile[DAY] = finding.day
        stage = stages[finding.stage or ""]
        offers = {o.key: o for o in stage.offers}
        if finding.code == "stage-overlap":
            # several stages at once: the customer is in both
            assert spec.stage_mode == "several", finding
            assert all(in_stage(spec, stages[key], profile, AT) for key in finding.stages), finding
            continue
        if finding.code == "stage-unreachable":
            # its entry lets the customer in, and an earlier stage takes them
            assert in_population(stage, profile, AT) and not in_stage(spec, stage, profile, AT), finding
            continue
        assert in_stage(spec, stage, profile, AT), finding
        if finding.code == "gap":
            assert decide(stage, profile, AT) is None, finding
            continue
        first, *others = (offers[key] for key in finding.offers)
        assert offer_matches(first, profile, AT), finding
        assert any(offer_matches(o, profile, AT) for o in others), finding
        if finding.code == "shadowed-offer":
            # the offer the customer gets instead is one of those named as taking its customers
            assert decide(stage, profile, AT) in finding.offers[1:], finding
        if finding.code in ("overlap", "duplicate-offer"):
            assert len(others) == 1, finding


# --- 3b: the lint misses nothing the grid shows ----------------------------------------------


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_the_lint_misses_no_gap_and_no_overlap_that_a_grid_profile_shows(spec: BlueprintSpec) -> None:
    report = lint_blueprint(spec, at=AT)
    grid = Grid.of(spec, AT)
    for stage in spec.stages:
        seen = StageOnGrid.of(stage, grid, spec)
        gaps = findings_of(report.findings, stage.key, "gap")
        if seen.gap:
            assert gaps, f"{stage.key}: no gap found, but {grid.first(seen.gap)} gets no offer"
        hidden = hidden_offers(report.findings, stage.key)
        overlaps = {f.offers for f in findings_of(report.findings, stage.key, "overlap")}
        for (i, one), (j, other) in itertools.combinations(enumerate(seen.offers), 2):
            both = seen.reaches[i] & seen.reaches[j]
            if not both or one.key in hidden or other.key in hidden:
                continue
            assert (one.key, other.key) in overlaps, (
                f"{stage.key}: no overlap of {one.key} and {other.key}, but both match {grid.first(both)}"
            )


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_an_offer_that_wins_a_grid_profile_is_never_reported_hidden_or_contradictory(
    spec: BlueprintSpec,
) -> None:
    report = lint_blueprint(spec, at=AT)
    grid = Grid.of(spec, AT)
    for stage in spec.stages:
        seen = StageOnGrid.of(stage, grid, spec)
        hidden = hidden_offers(report.findings, stage.key)
        contradictions = {
            (f.offers[0], f.group)
            for f in findings_of(report.findings, stage.key, "contradiction")
            if f.part == "offer"
        }
        for offer, won in zip(seen.offers, seen.won, strict=True):
            if not won:
                continue
            assert offer.key not in hidden, f"{offer.key} is reported hidden but wins {grid.first(won)}"
            for gi, group in enumerate(offer.groups):
                matched = grid.group(group) & won
                assert not (matched and (offer.key, gi) in contradictions), (
                    f"group {gi} of {offer.key} is reported contradictory but wins {grid.first(matched)}"
                )
        # the grid and the one-customer evaluator agree on who gets what
        for row in random.Random(len(grid.rows)).sample(range(len(grid.rows)), min(50, len(grid.rows))):
            profile = grid.profile(row)
            if not seen.population >> row & 1:
                assert not in_stage(spec, stage, profile, AT)
                continue
            winners = [o.key for o, won in zip(seen.offers, seen.won, strict=True) if won >> row & 1]
            assert winners in ([decide(stage, profile, AT)], []), (profile, winners)
            if not winners:
                fallback = next((o for o in stage.offers if o.fallback), None)
                open_fallback = fallback.key if fallback and on_its_days(fallback, profile) else None
                assert decide(stage, profile, AT) == open_fallback


# --- 3c: contradiction and redundant-condition are sound -------------------------------------


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_no_grid_profile_matches_a_group_reported_as_a_contradiction(spec: BlueprintSpec) -> None:
    report = lint_blueprint(spec, at=AT)
    grid = Grid.of(spec, AT)
    stages = {s.key: s for s in spec.stages}
    for finding in report.findings:
        if finding.code != "contradiction":
            continue
        stage = stages[finding.stage or ""]
        assert finding.group is not None
        if finding.part == "entry":
            matched = grid.group(stage.entry[finding.group])
        else:
            assert finding.part == "offer"
            (offer,) = (o for o in stage.offers if o.key == finding.offers[0])
            matched = (
                grid.group(offer.groups[finding.group])
                & grid.groups(stage.entry)
                & ~taken_on_grid(spec, stage, grid)
            )
        assert not matched, f"{finding.message} — yet {grid.first(matched)} matches"


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_removing_redundant_conditions_changes_no_grid_profile_the_group_matches(
    spec: BlueprintSpec,
) -> None:
    report = lint_blueprint(spec, at=AT)
    grid = Grid.of(spec, AT)
    stages = {s.key: s for s in spec.stages}
    flagged: dict[tuple[str, str, str, int], set[int]] = {}
    for finding in report.findings:
        if finding.code != "redundant-condition":
            continue
        assert finding.group is not None and finding.condition is not None
        owner = finding.offers[0] if finding.part == "offer" else ""
        flagged.setdefault((finding.stage or "", finding.part or "", owner, finding.group), set()).add(
            finding.condition
        )
    assert all(len(conditions) >= 1 for conditions in flagged.values())
    for (stage_key, part, owner, gi), conditions in flagged.items():
        stage = stages[stage_key]
        if part == "entry":
            group = stage.entry[gi]
        else:
            (offer,) = (o for o in stage.offers if o.key == owner)
            group = offer.groups[gi]
        matched = grid.group(group)
        # each one alone, and all of them at once, can go
        for ci in conditions:
            assert grid.group(group[:ci] + group[ci + 1 :]) == matched, (stage_key, part, owner, gi, ci)
        kept = [c for ci, c in enumerate(group) if ci not in conditions]
        assert kept, "every condition of a group was reported redundant"
        assert grid.group(kept) == matched, (stage_key, part, owner, gi, conditions)


# --- Exactness on a complete grid -------------------------------------------------------------

FindingKey = tuple[str, str | None, tuple[str, ...], str | None, int | None, int | None]


def key_of(finding: Finding) -> FindingKey:
    return (finding.code, finding.stage, finding.offers, finding.part, finding.group, finding.condition)


def expected_findings(spec: BlueprintSpec, grid: Grid) -> list[FindingKey]:
    """The lint module's documented rules, applied to a complete grid by brute force."""
    out: list[FindingKey] = []

    def redundancies(group: Group, gi: int, part: str, offers: tuple[str, ...]) -> None:
        flagged: set[int] = set()
        for ci in range(len(group) - 1, -1, -1):
            others = [
                other
                for oi, other in enumerate(group)
                if oi != ci and oi not in flagged and other.attribute == group[ci].attribute
            ]
            if others and not grid.group(others) & ~grid.condition(group[ci]):
                flagged.add(ci)
                out.append(("redundant-condition", stage.key, offers, part, gi, ci))

    entries = [grid.groups(s.entry) for s in spec.stages]
    for j, stage in enumerate(spec.stages):
        if spec.stage_mode == "several":
            # a warning on the later of every two stages a customer can be in at once
            out += [
                ("stage-overlap", stage.key, (), "entry", None, None)
                for i in range(j)
                if entries[i] & entries[j]
            ]
        population = 0
        for gi, group in enumerate(stage.entry):
            matched = grid.group(group)
            if not matched:
                out.append(("contradiction", stage.key, (), "entry", gi, None))
                continue
            population |= matched
            redundancies(group, gi, "entry", ())
        if not stage.entry:
            population = grid.everyone
        whole = population
        population &= ~taken_on_grid(spec, stage, grid)
        fallbacks = [o for o in stage.offers if o.fallback]
        if len(fallbacks) > 1:
            out.append(("fallback-invalid", stage.key, tuple(o.key for o in fallbacks), None, None, None))
        out += [("fallback-invalid", stage.key, (o.key,), "offer", None, None) for o in fallbacks if o.groups]
        if whole and not population:
            # one stage each, and earlier stages take everyone it lets in: only what its offers say
            # on their own
            out.append(("stage-unreachable", stage.key, (), "entry", None, None))
            for offer in stage.offers:
                for gi, group in enumerate(() if offer.fallback else offer.groups):
                    if not grid.group(group) & whole:
                        out.append(("contradiction", stage.key, (offer.key,), "offer", gi, None))
                    else:
                        redundancies(group, gi, "offer", (offer.key,))
            continue
        if not stage.offers:
            out.append(("empty-stage", stage.key, (), None, None, None))
            continue
        offers = [o for o in stage.offers if not o.fallback]
        reaches = []
        for offer in offers:
            reach = 0 if offer.groups else population
            for gi, group in enumerate(offer.groups):
                matched = grid.group(group) & population
                if not matched:
                    out.append(("contradiction", stage.key, (offer.key,), "offer", gi, None))
                    continue
                redundancies(group, gi, "offer", (offer.key,))
                reach |= matched
            reaches.append(reach & grid.on_days(offer))  # outside its days it reaches no one
        hidden = set()
        above = 0
        for j, reach in enumerate(reaches):
            twin = next((i for i in range(j) if reach and reaches[i] == reach), None)
            if twin is not None:
                hidden.add(j)
                out.append(
                    ("duplicate-offer", stage.key, (offers[j].key, offers[twin].key), "offer", None, None)
                )
            elif reach and not reach & ~above:
                hidden.add(j)
                # a higher offer takes some of its customers when it gets some that the ones
                # above it left
                takers = []
                left = reach
                for i in range(j):
                    if reaches[i] & left:
                        takers.append(offers[i].key)
                        left &= ~reaches[i]
                out.append(("shadowed-offer", stage.key, (offers[j].key, *takers), "offer", None, None))
            above |= reach
        shown = [i for i, reach in enumerate(reaches) if reach and i not in hidden]
        for i, j in itertools.combinations(shown, 2):
            if reaches[i] & reaches[j]:
                out.append(("overlap", stage.key, (offers[i].key, offers[j].key), "offer", None, None))
        dated_fallback = len(fallbacks) == 1 and not fallbacks[0].groups and fallbacks[0].dated
        if (not fallbacks and population & ~above) or (
            dated_fallback and population & ~above & ~grid.on_days(fallbacks[0])
        ):
            out.append(("gap", stage.key, (), None, None, None))
    return out


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_on_a_complete_grid_the_findings_are_exactly_what_the_documented_rules_give(
    spec: BlueprintSpec,
) -> None:
    grid = Grid.of(spec, AT)
    assume(grid.complete)
    actual = Counter(key_of(f) for f in lint_blueprint(spec, at=AT).findings)
    expected = Counter(expected_findings(spec, grid))
    assert actual == expected, (
        f"missing: {sorted(expected - actual, key=repr)}; unexpected: {sorted(actual - expected, key=repr)}"
    )


# --- 3d: determinism and the decision day -----------------------------------------------------


@PROPERTY_SETTINGS
@given(spec=blueprints())
def test_linting_the_same_blueprint_twice_gives_the_same_report(spec: BlueprintSpec) -> None:
    assert lint_blueprint(spec, at=AT) == lint_blueprint(spec, at=AT)


def _days_before(at: dt.date, days: int) -> dt.date:
    return dt.date.fromordinal(max(1, at.toordinal() - days))


def pinned(spec: BlueprintSpec, at: dt.date) -> BlueprintSpec:
    """The spec with every ``within_last_days N`` written as the dates it means on day ``at``."""

    def pin(groups: Groups) -> Groups:
        return tuple(
            tuple(
                Condition(c.attribute, "between", [_iso(_days_before(at, c.value)), _iso(at)])
                if c.operator == "within_last_days"
                else c
                for c in group
            )
            for group in groups
        )

    return replace(
        spec,
        stages=tuple(
            replace(
                stage,
                entry=pin(stage.entry),
                offers=tuple(replace(o, groups=pin(o.groups)) for o in stage.offers),
            )
            for stage in spec.stages
        ),
    )


def without_messages(findings: Sequence[Finding]) -> list[tuple[Any, ...]]:
    return [(*key_of(f), f.example) for f in findings]


@PROPERTY_SETTINGS
@given(spec=blueprints(), other_day=st.dates(dt.date(2000, 1, 1), dt.date(2050, 12, 31)))
def test_the_decision_day_matters_only_through_within_last_days(
    spec: BlueprintSpec, other_day: dt.date
) -> None:
    on_the_day = lint_blueprint(spec, at=AT)
    pinned_spec = pinned(spec, AT)
    assert without_messages(lint_blueprint(pinned_spec, at=other_day).findings) == without_messages(
        on_the_day.findings
    )
    dated = any(o.dated for stage in spec.stages for o in stage.offers)
    if pinned_spec == spec and not dated:  # an example's day is the lint's own where it can be
        assert lint_blueprint(spec, at=other_day).findings == on_the_day.findings
