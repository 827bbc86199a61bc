"""A blueprint as plain dataclasses: what lint (and later the decision engine) reads.

Selectors build it from the board (``blueprint.selectors.blueprint_spec``); ``spec_from_json``
builds it from the board's JSON form (the API's ``GET blueprints/{id}/``, an export, a version
snapshot), so the pure cores never touch the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from decisioning.conditions import AttributeSpec, Condition, Group, Groups, parse_groups

FIRST_DAY = dt.date.min.toordinal()
LAST_DAY = dt.date.max.toordinal()

# How stages relate (docs/architecture.md, "Decisions"), each mode with the words the board shows:
# "several", every stage whose entry holds, each with its own offer (the default, and what every
# blueprint did before there was a choice); "one", only the first of them in journey order.
STAGE_MODES = {
    "several": "A customer can be in several stages at once",
    "one": "Each customer is in one stage — the first in journey order",
}
STAGE_MODE_DEFAULT = "several"


def stage_mode_of(blueprint: Mapping[str, Any] | None) -> str:
    """The stage mode a snapshot's ``blueprint`` part holds ("several" when it says none, as every
    snapshot before the mode did)."""
    mode = (blueprint or {}).get("stage_mode")
    return mode if mode in STAGE_MODES else STAGE_MODE_DEFAULT


@dataclass(frozen=True)
class OfferSpec:
    key: str
    name: str
    groups: Groups = ()
    fallback: bool = False
    # the first and last decision day it may be shown on, both included; None: open on that side
    # (docs/architecture.md, "Decisions": outside its days an offer is not eligible)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None

    @property
    def dated(self) -> bool:
        return self.starts_on is not None or self.ends_on is not None

    def window(self) -> tuple[int, int]:
        """Its days as ordinals, [first, last]; the whole calendar when it is not dated."""
        return (
            self.starts_on.toordinal() if self.starts_on else FIRST_DAY,
            self.ends_on.toordinal() if self.ends_on else LAST_DAY,
        )

    def open_on(self, day: dt.date) -> bool:
        """Whether ``day`` lies in its days."""
        first, last = self.window()
        return first <= day.toordinal() <= last

    def closed_words(self, day: dt.date) -> str:
        """Why it is not eligible on ``day`` ("not shown until 1 March 2027", "ended on 30 June
        2027"); "" when it is open that day."""
        if self.starts_on is not None and day < self.starts_on:
            return f"not shown until {long_day(self.starts_on)}"
        if self.ends_on is not None and day > self.ends_on:
            return f"ended on {long_day(self.ends_on)}"
        return ""


def long_day(day: dt.date) -> str:
    """A day as people write it in a sentence: "1 March 2027"."""
    return f"{day.day} {day.strftime('%B')} {day.year}"


def window_words(starts_on: dt.date | None, ends_on: dt.date | None) -> str:
    """An offer's days in a sentence: "from 1 March 2027 to 30 June 2027", "from 1 March 2027",
    "until 30 June 2027"; "" when it is not dated."""
    if starts_on and ends_on:
        return f"from {long_day(starts_on)} to {long_day(ends_on)}"
    if starts_on:
        return f"from {long_day(starts_on)}"
    if ends_on:
        return f"until {long_day(ends_on)}"
    return ""


def short_window(starts_on: dt.date | None, ends_on: dt.date | None) -> str:
    """An offer's days, short, for a card: "1 Mar - 30 Jun 2027", "1 Dec 2026 - 31 Jan 2027" (an
    en dash between them), "from 1 Mar 2027", "until 30 Jun 2027"; "" when it is not dated."""

    def short(day: dt.date, year: bool = True) -> str:
        return f"{day.day} {day.strftime('%b')}" + (f" {day.year}" if year else "")

    if starts_on and ends_on:
        return f"{short(starts_on, starts_on.year != ends_on.year)} – {short(ends_on)}"
    if starts_on:
        return f"from {short(starts_on)}"
    if ends_on:
        return f"until {short(ends_on)}"
    return ""


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    entry: Groups = ()
    # in priority order
    offers: tuple[OfferSpec, ...] = ()


@dataclass(frozen=True)
class BlueprintSpec:
    catalog: Mapping[str, AttributeSpec]
    # in journey order
    stages: tuple[StageSpec, ...] = ()
    stage_mode: str = STAGE_MODE_DEFAULT

    @property
    def one_stage(self) -> bool:
        """Each customer is in one stage: the first, in journey order, whose entry holds."""
        return self.stage_mode == "one"


def spec_on(spec: BlueprintSpec, day: dt.date) -> BlueprintSpec:
    """The blueprint as it decides on ``day``: each stage without its offers outside their days,
    and without fallbacks when its fallback (the first) is outside its days. What a backend that
    decides for one known day compiles (the SQL export with ``at``, the DuckDB batch)."""
    if not any(o.dated for st in spec.stages for o in st.offers):
        return spec
    stages = []
    for st in spec.stages:
        fallback = next((o for o in st.offers if o.fallback), None)
        no_fallback = fallback is not None and not fallback.open_on(day)
        offers = tuple(o for o in st.offers if o.open_on(day) and not (o.fallback and no_fallback))
        stages.append(replace(st, offers=offers))
    return replace(spec, stages=tuple(stages))


def spec_from_json(data: Mapping[str, Any]) -> BlueprintSpec:
    """Build the spec from ``{blueprint: {stage_mode}, attributes: [...], stages: [{key, name, entry,
    offers: [...]}]}``.

    Conditions are validated against the catalog (``ConditionProblems`` names the bad field), so a
    spec only ever holds conditions the editor would have accepted.
    """
    catalog = {
        a["key"]: AttributeSpec(
            key=a["key"],
            label=a.get("label") or a["key"],
            type=a["type"],
            kind=a.get("kind", "attribute"),
            choices=tuple(a.get("choices") or ()),
            unit=a.get("unit") or "",
        )
        for a in data.get("attributes", [])
    }
    stages = []
    for si, stage in enumerate(data.get("stages", [])):
        offers = tuple(
            OfferSpec(
                key=offer["key"],
                name=offer.get("name") or offer["key"],
                # stored content, accepted when it was written: not held to limits set since
                groups=parse_groups(
                    offer.get("groups") or [],
                    catalog,
                    path=f"stages[{si}].offers[{oi}].groups",
                    bounded=False,
                ),
                fallback=bool(offer.get("fallback")),
                starts_on=stored_day(offer.get("starts_on")),
                ends_on=stored_day(offer.get("ends_on")),
            )
            for oi, offer in enumerate(stage.get("offers", []))
        )
        stages.append(
            StageSpec(
                key=stage["key"],
                name=stage.get("name") or stage["key"],
                entry=parse_groups(
                    stage.get("entry") or [], catalog, path=f"stages[{si}].entry", bounded=False
                ),
                offers=offers,
            )
        )
    return BlueprintSpec(
        catalog=catalog, stages=tuple(stages), stage_mode=stage_mode_of(data.get("blueprint"))
    )


def stored_day(value: Any) -> dt.date | None:
    """A stored day ("YYYY-MM-DD"); empty or missing: None."""
    return dt.date.fromisoformat(value) if value else None


# The decision day as a dimension of its own (docs/architecture.md, "The lint"): a key no catalog
# attribute can take (keys are [a-z0-9_-]+), so an offer's days are one more condition to the exact
# region algebra, and an example profile can name the day it happens on.
DECISION_DAY = "@day"
DECISION_DAY_SPEC = AttributeSpec(key=DECISION_DAY, label="Decision day", type="date")


def window_conditions(offer: OfferSpec) -> Group:
    """An offer's days as conditions on the decision day (none when it is not dated)."""
    found = []
    if offer.starts_on is not None:
        found.append(Condition(DECISION_DAY, "at_least", offer.starts_on.isoformat()))
    if offer.ends_on is not None:
        found.append(Condition(DECISION_DAY, "at_most", offer.ends_on.isoformat()))
    return tuple(found)


def with_decision_day(spec: BlueprintSpec) -> tuple[BlueprintSpec, frozenset[str]]:
    """The blueprint with each dated offer's days as a condition on the decision day in each of its
    groups, and each stage's one dated fallback as an ordinary last offer for everyone on its days
    (what it catches is still what is left: the lint and the cases read it so); and the keys of
    those fallbacks. Unchanged when nothing is dated."""
    if not any(o.dated for st in spec.stages for o in st.offers):
        return spec, frozenset()
    stages = []
    converted: set[str] = set()
    for st in spec.stages:
        fallbacks = [o for o in st.offers if o.fallback]
        offers = []
        last = None
        for offer in st.offers:
            days = window_conditions(offer)
            if not days:
                offers.append(offer)
            elif offer.fallback:
                if len(fallbacks) == 1 and not offer.groups:
                    last = replace(offer, fallback=False, groups=(days,))
                    converted.add(offer.key)
                else:
                    offers.append(offer)  # an invalid fallback stays one: the lint says so
            else:
                groups = tuple((*g, *days) for g in offer.groups) if offer.groups else (days,)
                offers.append(replace(offer, groups=groups))
        if last is not None:
            offers.append(last)
        stages.append(replace(st, offers=tuple(offers)))
    catalog = {**spec.catalog, DECISION_DAY: DECISION_DAY_SPEC}
    return replace(spec, catalog=catalog, stages=tuple(stages)), frozenset(converted)
