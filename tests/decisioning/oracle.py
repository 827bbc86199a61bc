"""The oracle of the lint tests: a hand-written evaluator, exhaustive customers, random conditions.

The tests check every example profile with ``holds``, and compare the exact analysis of
``decisioning.regions`` and ``decisioning.lint`` against plain enumeration: for any set of
conditions, the customers ``candidate_profiles`` lists behave in every way a customer can (one
value per stretch of each attribute's domain on which no condition changes its mind, plus
"missing"), so "no candidate does X" means "no customer does X". Nothing here imports the code
under test.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from decisioning.conditions import AttributeSpec, Condition, parse_condition

Profile = dict[str, Any]
UNNAMED_TEXT = "a text no condition names"

AT = dt.date(2025, 6, 15)

# one attribute of every type, in the JSON form of the API and the export
ATTRIBUTES: list[dict[str, Any]] = [
    {"key": "age", "label": "Age", "type": "number", "unit": "years"},
    {"key": "segment", "label": "Segment", "type": "choice", "choices": ["Bronze", "Silver", "Gold"]},
    {"key": "city", "label": "City", "type": "text"},
    {"key": "vip", "label": "VIP", "type": "boolean"},
    {"key": "last_visit", "label": "Last visit", "type": "date"},
    {"key": "products", "label": "Products", "type": "set"},
]
CATALOG: dict[str, AttributeSpec] = {
    a["key"]: AttributeSpec(
        key=a["key"],
        label=a["label"],
        type=a["type"],
        choices=tuple(a.get("choices", ())),
        unit=a.get("unit", ""),
    )
    for a in ATTRIBUTES
}


def raw(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    """A condition as the API takes it."""
    return {"attribute": attribute, "operator": operator, "value": value}


def cond(attribute: str, operator: str, value: Any) -> Condition:
    """A condition as the editor would have accepted (and normalized) it."""
    return parse_condition(raw(attribute, operator, value), CATALOG)


# --- random conditions ------------------------------------------------------------------------
# Few values per attribute, chosen so that edges meet: equal bounds, bounds one apart, a half.

_NUMBERS = [0, 17, 18, 18.5, 21, 30, 31]
_DATES = ["2024-12-31", "2025-01-01", "2025-06-07", "2025-06-08", "2025-06-15", "2025-06-16"]
_TEXTS = ["Paris", "Lyon", "other"]
_ELEMENTS = ["savings", "loan", "card"]


def _pair(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), min_size=2, max_size=2).map(sorted)


def _some(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)


_RAW_BY_ATTRIBUTE: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "age": st.one_of(
        st.builds(
            raw,
            st.just("age"),
            st.sampled_from(["at_least", "at_most", "below", "above"]),
            st.sampled_from(_NUMBERS),
        ),
        st.builds(raw, st.just("age"), st.just("between"), _pair(_NUMBERS)),
    ),
    "segment": st.one_of(
        st.builds(raw, st.just("segment"), st.just("is"), st.sampled_from(["Bronze", "Silver", "Gold"])),
        st.builds(raw, st.just("segment"), st.just("is_one_of"), _some(["Bronze", "Silver", "Gold"])),
    ),
    "city": st.one_of(
        st.builds(raw, st.just("city"), st.just("is"), st.sampled_from(_TEXTS)),
        st.builds(raw, st.just("city"), st.just("is_one_of"), _some(_TEXTS)),
    ),
    "vip": st.builds(raw, st.just("vip"), st.just("is"), st.booleans()),
    "last_visit": st.one_of(
        st.builds(
            raw,
            st.just("last_visit"),
            st.sampled_from(["at_least", "at_most", "below", "above"]),
            st.sampled_from(_DATES),
        ),
        st.builds(raw, st.just("last_visit"), st.just("between"), _pair(_DATES)),
        st.builds(raw, st.just("last_visit"), st.just("within_last_days"), st.sampled_from([0, 1, 7, 30])),
    ),
    "products": st.one_of(
        st.builds(raw, st.just("products"), st.just("includes"), st.sampled_from(_ELEMENTS)),
        st.builds(raw, st.just("products"), st.just("includes_any_of"), _some(_ELEMENTS)),
    ),
}


def attribute_pools(max_size: int) -> st.SearchStrategy[list[str]]:
    """A few attributes for one example, so that enumerating their customers stays cheap."""
    return st.lists(st.sampled_from(sorted(_RAW_BY_ATTRIBUTE)), min_size=1, max_size=max_size, unique=True)


def raw_groups(
    pool: list[str], *, max_groups: int, min_groups: int = 0, max_conditions: int = 3
) -> st.SearchStrategy[Any]:
    """Groups of raw conditions on the pool's attributes (OR of ANDs)."""
    condition = st.sampled_from(pool).flatmap(lambda key: _RAW_BY_ATTRIBUTE[key])
    return st.lists(
        st.lists(condition, min_size=1, max_size=max_conditions), min_size=min_groups, max_size=max_groups
    )


def _day(value: str) -> int:
    return dt.date.fromisoformat(value).toordinal()


def holds(condition: Condition, profile: Mapping[str, Any], at: dt.date) -> bool:
    """The condition language read literally; a missing attribute meets no condition."""
    value = profile.get(condition.attribute)
    if value is None:
        return False
    operator, wanted = condition.operator, condition.value
    if operator == "is":
        return bool(value == wanted)
    if operator == "is_one_of":
        return value in wanted
    if operator == "includes":
        return wanted in value
    if operator == "includes_any_of":
        return any(element in value for element in wanted)
    if operator == "within_last_days":
        today = at.toordinal()
        return today - wanted <= _day(value) <= today
    is_date = isinstance(wanted, str) or (isinstance(wanted, list) and isinstance(wanted[0], str))

    def key(v: Any) -> Any:
        return _day(v) if is_date else v

    if operator == "at_least":
        return bool(key(value) >= key(wanted))
    if operator == "at_most":
        return bool(key(value) <= key(wanted))
    if operator == "below":
        return bool(key(value) < key(wanted))
    if operator == "above":
        return bool(key(value) > key(wanted))
    if operator == "between":
        return bool(key(wanted[0]) <= key(value) <= key(wanted[1]))
    raise AssertionError(f"unknown operator {operator}")


def group_holds(group: Iterable[Condition], profile: Mapping[str, Any], at: dt.date) -> bool:
    return all(holds(c, profile, at) for c in group)


def any_group_holds(groups: Sequence[Sequence[Condition]], profile: Mapping[str, Any], at: dt.date) -> bool:
    """An offer's groups or a stage's entry: no groups at all lets everyone through."""
    return not groups or any(group_holds(g, profile, at) for g in groups)


def candidate_values(attr: AttributeSpec, conditions: Sequence[Condition], at: dt.date) -> list[Any]:
    """One value for every stretch of the attribute's domain the conditions treat alike, and None."""
    values: list[Any]
    if attr.type == "number":
        points = sorted(
            {v for c in conditions for v in (c.value if isinstance(c.value, list) else [c.value])}
        )
        values = list(points)
        values += [(low + high) / 2 for low, high in itertools.pairwise(points)]
        values += [points[0] - 1, points[-1] + 1] if points else [0]
    elif attr.type == "date":
        days: set[int] = {at.toordinal()}
        for c in conditions:
            if c.operator == "within_last_days":
                low, high = at.toordinal() - c.value, at.toordinal()
            elif c.operator in ("at_least", "at_most", "below", "above"):
                low = high = _day(c.value)
            else:
                low, high = _day(c.value[0]), _day(c.value[1])
            days.update({low - 1, low, high, high + 1})
        last = dt.date.max.toordinal()
        values = [dt.date.fromordinal(d).isoformat() for d in sorted(days) if 1 <= d <= last]
    elif attr.type == "boolean":
        values = [True, False]
    elif attr.type == "set":
        named = sorted({v for c in conditions for v in (c.value if isinstance(c.value, list) else [c.value])})
        values = [
            list(subset) for size in range(len(named) + 1) for subset in itertools.combinations(named, size)
        ]
    elif attr.choices:
        values = list(attr.choices)
    else:
        named = sorted({v for c in conditions for v in (c.value if isinstance(c.value, list) else [c.value])})
        values = [*named, UNNAMED_TEXT]
    return [*values, None]


def candidate_profiles(
    catalog: Mapping[str, AttributeSpec], conditions: Iterable[Condition], at: dt.date
) -> list[Profile]:
    """Every combination of the candidate values of the attributes the conditions use."""
    by_attribute: dict[str, list[Condition]] = {}
    for c in conditions:
        by_attribute.setdefault(c.attribute, []).append(c)
    keys = sorted(by_attribute)
    columns = [candidate_values(catalog[key], by_attribute[key], at) for key in keys]
    return [
        {key: value for key, value in zip(keys, row, strict=True) if value is not None}
        for row in itertools.product(*columns)
    ]


def is_valid_profile(profile: Mapping[str, Any], catalog: Mapping[str, AttributeSpec]) -> bool:
    """The values fit the catalog the way the decide endpoint would accept them."""
    for key, value in profile.items():
        attr = catalog[key]
        if attr.type == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif attr.type == "date":
            ok = isinstance(value, str) and dt.date.fromisoformat(value).isoformat() == value
        elif attr.type == "boolean":
            ok = isinstance(value, bool)
        elif attr.type == "set":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, str) and (not attr.choices or value in attr.choices)
        if not ok:
            return False
    return True


# --- the reference decision (docs/architecture.md, "Decisions"), for the engine and SQL tests -----


def reference_decide(
    snapshot: Mapping[str, Any], profile: Mapping[str, Any], at: dt.date, stage: str | None = None
) -> list[dict[str, Any]]:
    """The decision rule read literally over a snapshot and a profile in JSON form (dates as YYYY-MM-DD,
    sets as lists, missing attributes left out): the entered stages (or the one asked for), each
    ``{stage, entered, offer, fallback, eligible}``. A fallback is the stage's first offer marked
    so; it is given, whatever its conditions, when no other offer matches.

    With ``blueprint.stage_mode`` "one", the customer is in the first stage (journey order) whose
    entry holds and no other; a stage asked for that an earlier one takes answers not entered, with
    ``earlier`` naming that stage."""
    catalog = {
        a["key"]: AttributeSpec(
            key=a["key"],
            label=a.get("label") or a["key"],
            type=a["type"],
            choices=tuple(a.get("choices") or ()),
        )
        for a in snapshot.get("attributes", [])
    }
    one = (snapshot.get("blueprint") or {}).get("stage_mode") == "one"
    answers = []
    taken_by = None  # one stage each: the stage the customer is in
    for raw_stage in snapshot.get("stages", []):
        entry = [[parse_condition(c, catalog) for c in g] for g in raw_stage.get("entry") or []]
        entered = any_group_holds(entry, profile, at)
        earlier = taken_by
        if one and entered and taken_by is None:
            taken_by = raw_stage["key"]
        if stage is not None and raw_stage["key"] != stage:
            continue
        if one and earlier is not None:
            if stage is not None:
                answers.append(
                    {
                        "stage": raw_stage["key"],
                        "entered": False,
                        "offer": None,
                        "fallback": False,
                        "eligible": [],
                        "earlier": earlier,
                    }
                )
            continue
        if not entered:
            if stage is not None:
                answers.append(
                    {
                        "stage": raw_stage["key"],
                        "entered": False,
                        "offer": None,
                        "fallback": False,
                        "eligible": [],
                    }
                )
            continue
        eligible = []
        fallback = None
        seen_fallback = False
        for offer in raw_stage.get("offers", []):
            # outside its days (both included) an offer is not eligible, a fallback not given
            day = at.isoformat()
            open_today = (offer.get("starts_on") or day) <= day <= (offer.get("ends_on") or day)
            if offer.get("fallback"):
                if not seen_fallback and open_today:
                    fallback = offer["key"]
                seen_fallback = True
                continue
            if not open_today:
                continue
            groups = [[parse_condition(c, catalog) for c in g] for g in offer.get("groups") or []]
            if any_group_holds(groups, profile, at):
                eligible.append(offer["key"])
        chosen = eligible[0] if eligible else fallback
        answers.append(
            {
                "stage": raw_stage["key"],
                "entered": True,
                "offer": chosen,
                "fallback": not eligible and fallback is not None,
                "eligible": eligible,
            }
        )
    return answers


_PROFILE_VALUES: dict[str, list[Any]] = {
    "age": [*_NUMBERS, -3, 17.99, 45],
    "segment": ["Bronze", "Silver", "Gold"],
    "city": [*_TEXTS, "Nantes"],
    "vip": [True, False],
    "last_visit": [*_DATES, "2025-06-14", "2025-05-16", "2026-01-01"],
    "products": [[], ["savings"], ["loan"], ["savings", "card"], ["card", "loan", "savings"], ["other"]],
}


def profiles(keys: Sequence[str] | None = None) -> st.SearchStrategy[Profile]:
    """Profiles in JSON form over the oracle's catalog, near the edges the conditions use; any
    attribute may be missing."""
    chosen = list(keys) if keys is not None else list(_PROFILE_VALUES)
    return st.fixed_dictionaries({}, optional={key: st.sampled_from(_PROFILE_VALUES[key]) for key in chosen})


# an offer's days around AT: before it, on it, the day after, open on either side
_WINDOW_DAYS = ["2025-06-14", "2025-06-15", "2025-06-16"]


@st.composite
def windows(draw: Any) -> dict[str, str]:
    """An offer's ``starts_on`` and ``ends_on`` (often none), the end never before the start."""
    chosen = draw(st.sampled_from(["none", "none", "none", "starts", "ends", "both"]))
    first, last = sorted(draw(st.lists(st.sampled_from(_WINDOW_DAYS), min_size=2, max_size=2)))
    return {
        "none": {},
        "starts": {"starts_on": first},
        "ends": {"ends_on": last},
        "both": {"starts_on": first, "ends_on": last},
    }[chosen]


@st.composite
def snapshots(draw: Any, max_stages: int = 3, max_offers: int = 4) -> dict[str, Any]:
    """A random blueprint in snapshot form over the oracle's catalog: stages with and without entry
    conditions, offers with one or more groups or none (everyone), sometimes a fallback anywhere in
    the list, now and then a second one."""
    pool = draw(attribute_pools(4))
    stages = []
    for si in range(draw(st.integers(1, max_stages))):
        offers = []
        count = draw(st.integers(0, max_offers))
        fallbacks = draw(st.sampled_from([0, 0, 1, 1, 2]))
        for oi in range(count):
            offers.append(
                {
                    "key": f"s{si}-o{oi}",
                    "name": f"Offer {oi}",
                    "groups": draw(raw_groups(pool, max_groups=2)),
                    **draw(windows()),
                }
            )
        for fi in range(fallbacks):
            place = draw(st.integers(0, len(offers)))
            offers.insert(
                place,
                {
                    "key": f"s{si}-fb{fi}",
                    "name": "Fallback",
                    "fallback": True,
                    "groups": [],
                    **draw(windows()),
                },
            )
        stages.append(
            {
                "key": f"s{si}",
                "name": f"Stage {si}",
                "entry": draw(raw_groups(pool, max_groups=2)),
                "offers": offers,
            }
        )
    mode = draw(st.sampled_from(["several", "one"]))
    return {"blueprint": {"stage_mode": mode}, "attributes": ATTRIBUTES, "stages": stages}


def decide_stage(
    snapshot: Mapping[str, Any], stage_key: str, profile: Mapping[str, Any], at: dt.date
) -> Profile:
    """One stage's answer, as the exports' acceptance cases and the DMN tests read it:
    ``{stage, offer, fallback, eligible}``, ``eligible`` saying whether the customer is in the stage
    at all (its entry holds); outside it, no offer."""
    (answer,) = reference_decide(snapshot, profile, at, stage=stage_key)
    return {
        "stage": stage_key,
        "offer": answer["offer"] if answer["entered"] else None,
        "fallback": bool(answer["entered"] and answer["fallback"]),
        "eligible": answer["entered"],
    }
