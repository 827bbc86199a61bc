"""The schema's request examples, made from a real board: Swagger's "Try it out" sends them as they
are, so each must be a request the blueprint accepts.

The examples come from the blueprint the schema is asked for (``/api/v1/schema/?blueprint=ID``, which
the docs page passes on; the board links to it), when the requester is a member of it, and else from
the demo (``blueprint/demo.py``), which ``make run`` loads: attributes, values, stage and offer keys
that exist, never invented ones. ``tests/blueprint/test_api_examples.py`` sends every example.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from blueprint import demo

DECIDE = "blueprints_decide"
DECIDE_BATCH = "blueprints_decide_batch"
BLUEPRINT_CREATE = "blueprints_create"
BLUEPRINT_UPDATE = "blueprints_update"
ATTRIBUTE_CREATE = "attributes_create"
ATTRIBUTE_UPDATE = "attributes_update"
STAGE_CREATE = "stages_create"
STAGE_UPDATE = "stages_update"
OFFER_UPDATE = "offers_update"
STAGE_MOVE = "stages_move"
OFFER_CREATE = "stage_offers_create"
OFFER_MOVE = "offers_move"
PROFILE_ATTRIBUTES = 8  # a profile to read at a glance, not the whole catalog


@dataclass
class Facts:
    """What the examples are made of: the catalog and the stages, in journey order."""

    catalog: list[dict[str, Any]]  # {key, type, choices}
    stages: list[tuple[str, list[dict[str, Any]]]]  # (stage key, offers {key, fallback, groups}), in order
    entries: dict[str, list[Any]] = field(default_factory=dict)  # stage key → entry groups
    channels: list[str] = field(default_factory=list)
    blueprint_id: int | None = None
    live: bool = True  # whether a version is live (else decide asks for the draft)


@dataclass
class Example:
    summary: str
    value: dict[str, Any]
    path: dict[str, Any] = field(default_factory=dict)  # the path parameters it is meant for


def demo_facts() -> Facts:
    return Facts(
        catalog=[{"key": a["key"], "type": a["type"], "choices": a.get("choices", [])} for a in demo.CATALOG],
        stages=[(s["key"], [dict(o) for o in s["offers"]]) for s in demo.STAGES],
        entries={s["key"]: s.get("entry", []) for s in demo.STAGES},
        channels=list(demo.DEMO_CHANNELS),
    )


def board_facts(board: Any, *, live: bool) -> Facts:
    """The facts of a loaded board (``blueprint.selectors.Board``); ``live``: whether a version of
    it is live."""
    return Facts(
        catalog=[{"key": a.key, "type": a.type, "choices": list(a.choices or [])} for a in board.attributes],
        stages=[
            (
                column.stage.key,
                [
                    {"key": c.offer.key, "fallback": c.offer.fallback, "groups": c.offer.groups}
                    for c in column.offers
                ],
            )
            for column in board.stages
        ],
        entries={column.stage.key: column.stage.entry for column in board.stages},
        channels=list(board.blueprint.channels or []),
        blueprint_id=board.blueprint.pk,
        live=live,
    )


def examples(facts: Facts, today: datetime.date) -> dict[str, list[Example]]:
    """The request examples by operation id (an operation left out has none: the board lacks what
    they would need, e.g. a second stage to move one before)."""
    decide = _decide(facts, today)
    batch = {"profiles": [decide.value["profile"], {}]}
    if "version" in decide.value:
        batch["version"] = decide.value["version"]
    taken = {a["key"] for a in facts.catalog}
    out: dict[str, list[Example]] = {
        DECIDE: [decide],
        DECIDE_BATCH: [Example("Two customers, one of them unknown", batch)],
        BLUEPRINT_CREATE: [
            Example(
                "A blueprint for another channel",
                {
                    "name": "Retail banking – app",
                    "context": "Logged-in customers in the app",
                    "channels": ["app"],
                },
            )
        ],
        BLUEPRINT_UPDATE: [
            Example("Its description", {"description": "Agreed in the Q3 strategy workshop."})
        ],
        ATTRIBUTE_CREATE: [
            Example(
                "A number with its unit",
                {
                    "key": _free("loyalty_points", taken),
                    "label": "Loyalty points",
                    "kind": "behaviour",
                    "type": "number",
                    "unit": "points",
                    "description": "Points collected in the loyalty programme.",
                },
            )
        ],
    }
    if facts.catalog:
        first = facts.catalog[0]["key"]
        out[ATTRIBUTE_UPDATE] = [
            Example("Its description", {"description": "Recomputed every night."}, {"key": first})
        ]
    stage_keys = [key for key, _ in facts.stages]
    out[STAGE_CREATE] = [_stage_create(facts, set(stage_keys))]
    if stage_keys:
        out[STAGE_UPDATE] = [
            Example("Its description", {"description": "Customers we risk losing."}, {"key": stage_keys[0]})
        ]
    if len(stage_keys) >= 2:
        out[STAGE_MOVE] = [
            # one stage for both: Swagger fills the path from the parameter's one example
            Example("First in the journey", {"before": stage_keys[0]}, {"key": stage_keys[-1]}),
            Example("After another stage", {"after": stage_keys[0]}, {"key": stage_keys[-1]}),
        ]
    if stage_keys:
        out[OFFER_CREATE] = _offer_creates(facts)
    moves = _offer_moves(facts)
    if moves:
        out[OFFER_MOVE] = moves
        update = {"description": "Shown on the account overview, beside the balance."}
        out[OFFER_UPDATE] = [Example("Its description", update, moves[0].path)]
    return out


def _stage_create(facts: Facts, taken: set[str]) -> Example:
    body: dict[str, Any] = {"key": _free("win_back", taken), "name": "Win-back"}
    groups = _groups(facts.catalog)
    if groups:
        body["entry"] = groups[:1]
    return Example("A stage with its entry, last in the journey", body)


# --- Decide -----------------------------------------------------------------------------------------


def _decide(facts: Facts, today: datetime.date) -> Example:
    """A customer who meets the first stage's entry and its first offer, where the catalog allows,
    with a value for a few more attributes."""
    by_key = {a["key"]: a for a in facts.catalog}
    profile: dict[str, Any] = {}
    for stage_key, offers in facts.stages:
        wanted = list(_first_group(facts.entries.get(stage_key, [])))
        offer = next((o for o in offers if not o.get("fallback") and o.get("groups")), None)
        if offer is not None:
            wanted += _first_group(offer["groups"])
        for condition in wanted:
            attribute = by_key.get(condition.get("attribute", ""))
            if attribute is not None and attribute["key"] not in profile:
                value = _meeting(condition, attribute, today)
                if value is not None:
                    profile[attribute["key"]] = value
        if profile:
            break
    for attribute in facts.catalog:
        if len(profile) >= PROFILE_ATTRIBUTES:
            break
        profile.setdefault(attribute["key"], _plain(attribute, today))
    if facts.live:
        return Example("A customer, with the reasons", {"profile": profile, "explain": True})
    draft = {"profile": profile, "explain": True, "version": "draft"}
    return Example("A customer, with the reasons, by the draft (no version is live yet)", draft)


def _first_group(groups: Any) -> list[dict[str, Any]]:
    if isinstance(groups, list) and groups and isinstance(groups[0], list):
        return [c for c in groups[0] if isinstance(c, dict)]
    return []


def _meeting(condition: dict[str, Any], attribute: dict[str, Any], today: datetime.date) -> Any:
    """A value of ``attribute`` that meets ``condition``, or None when this cannot tell one."""
    operator, value = condition.get("operator"), condition.get("value")
    kind = attribute["type"]
    if operator == "is":
        return value
    if operator in ("is_one_of", "includes_any_of") and isinstance(value, list) and value:
        return [value[0]] if kind == "set" else value[0]
    if operator == "includes":
        return [value]
    if operator in ("at_least", "at_most"):
        return value
    if operator == "between" and isinstance(value, list) and len(value) == 2:
        return value[0]
    if operator in ("below", "above") and kind == "number" and isinstance(value, int | float):
        return value - 1 if operator == "below" else value + 1
    if operator in ("below", "above") and kind == "date" and isinstance(value, str):
        day = datetime.date.fromisoformat(value) + datetime.timedelta(days=-1 if operator == "below" else 1)
        return day.isoformat()
    if operator == "within_last_days":
        return today.isoformat()
    return None


def _plain(attribute: dict[str, Any], today: datetime.date) -> Any:
    choices = attribute.get("choices") or []
    return {
        "choice": choices[0] if choices else None,
        "set": choices[:1],
        "number": 30,
        "date": (today - datetime.timedelta(days=3)).isoformat(),
        "boolean": True,
        "text": "Dublin",
    }.get(attribute["type"])


# --- Stages and offers ------------------------------------------------------------------------------


def _offer_creates(facts: Facts) -> list[Example]:
    # a stage without a fallback, where one may be added (a stage has one)
    free = [(key, offers) for key, offers in facts.stages if not any(o.get("fallback") for o in offers)]
    stage_key, offers = (free or facts.stages)[0]
    taken = {o["key"] for _, stage_offers in facts.stages for o in stage_offers}
    body: dict[str, Any] = {"key": _free("gold_card_upgrade", taken), "name": "Gold card upgrade"}
    if facts.channels:
        body["channel"] = facts.channels[0]
    groups = _groups(facts.catalog)
    if groups:
        body["groups"] = groups
    if offers:
        body["before"] = offers[0]["key"]
    fallback = {"key": _free("say_hello", taken), "name": "Say hello", "fallback": True}
    path = {"key": stage_key}
    made = [Example("An offer with conditions, first in its stage", body, path)]
    if free:
        made.append(Example("A fallback offer, last in its stage", fallback, path))
    return made


def _groups(catalog: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Two groups (either … or …) over the catalog's first choice and number attributes."""
    choice = next((a for a in catalog if a["type"] == "choice" and len(a.get("choices") or []) >= 2), None)
    numbers = [a for a in catalog if a["type"] == "number"]
    first: list[dict[str, Any]] = []
    if choice is not None:
        first.append({"attribute": choice["key"], "operator": "is_one_of", "value": choice["choices"][-2:]})
    if numbers:
        first.append({"attribute": numbers[0]["key"], "operator": "at_least", "value": 25})
    groups = [first] if first else []
    if len(numbers) >= 2:
        groups.append([{"attribute": numbers[1]["key"], "operator": "between", "value": [3, 10]}])
    return groups


def _offer_moves(facts: Facts) -> list[Example]:
    # an offer that is no fallback (a stage has one fallback: moving one may be refused)
    with_offers = [
        (key, offers) for key, offers in facts.stages if any(not o.get("fallback") for o in offers)
    ]
    if not with_offers:
        return []
    source, offers = with_offers[0]
    moved = [o for o in offers if not o.get("fallback")][-1]["key"]
    targets = [(key, offers) for key, offers in facts.stages if key != source]
    out = []
    if targets:
        target, target_offers = targets[0]
        if target_offers:
            out.append(
                Example(
                    "To another stage, before an offer",
                    {"stage": target, "before": target_offers[0]["key"]},
                    {"key": moved},
                )
            )
        out.append(Example("To the end of another stage", {"stage": target}, {"key": moved}))
    if offers[0]["key"] != moved:
        out.append(Example("Up to first in its stage", {"before": offers[0]["key"]}, {"key": moved}))
    return out


def _free(key: str, taken: set[str]) -> str:
    n, candidate = 2, key
    while candidate in taken:
        candidate, n = f"{key}_{n}", n + 1
    return candidate


# --- Into the schema --------------------------------------------------------------------------------


def into_schema(result: dict[str, Any], facts: Facts, today: datetime.date) -> None:
    """Put the examples into the schema ``result``: the request bodies' ``examples`` and, as the
    path parameters' ``example``, the blueprint id and the key each example is meant for."""
    by_operation = examples(facts, today)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            chosen = by_operation.get(operation["operationId"], [])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if chosen and body is not None:
                body["examples"] = {
                    f"example{n}": {"summary": e.summary, "value": e.value} for n, e in enumerate(chosen, 1)
                }
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path":
                    continue
                if parameter["name"] == "blueprint_id" and facts.blueprint_id is not None:
                    parameter["example"] = facts.blueprint_id
                elif chosen and parameter["name"] in chosen[0].path:
                    parameter["example"] = chosen[0].path[parameter["name"]]
