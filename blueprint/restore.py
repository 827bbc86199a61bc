"""The operations that turn the draft into a published version's content: what "Restore" applies.

Pure: no database. ``restore_plan(draft, target)`` takes two snapshots (``blueprint.snapshots``) and
returns ordinary board operations ``(type, payload)`` — the same ones a person makes on the board —
which, applied in order through ``operation_apply``'s handlers, leave the draft with the target's
content. The order is chosen so that every step validates on the way:

1. the blueprint's own fields;
2. offers the target does not have are deleted; conditions on an attribute that goes away or
   changes type are cleared for now, and fallbacks that stop being one (or change stage) let go,
   so no step meets two fallbacks in one stage;
3. the catalog: new attributes, changed ones (a choice list first becomes the union of old and
   new, so the conditions of both stay valid until the end);
4. new stages, changed stages; offers moved to their target stage, changed, and created;
5. stages the target does not have are deleted (empty by then);
6. the order of the stages and of the offers in each stage (only the items that are out of place
   move, each before or after a neighbour);
7. the choice lists are narrowed to the target's; attributes the target does not have go.

The catalog's own order is the one thing no operation sets (attributes are listed in the order
they were added): ``catalog_order_differs`` tells whether the result will list them differently.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from blueprint.diff import moved_keys
from decisioning.conditions import attributes_used
from decisioning.model import stage_mode_of

Operation = tuple[str, dict[str, Any]]

BLUEPRINT_FIELDS = ("name", "context", "channels", "description", "stage_mode")
ATTRIBUTE_FIELDS = ("label", "kind", "type", "choices", "unit", "description", "source")
STAGE_FIELDS = ("name", "description", "entry")
OFFER_FIELDS = ("name", "description", "channel", "fallback", "groups")
# left out of a snapshot when empty (blueprint.snapshots): restored as empty when the target lacks them
OFFER_EMPTY: dict[str, Any] = {"content_ref": "", "starts_on": None, "ends_on": None, "tags": []}


def _offer_field(offer: Mapping[str, Any], name: str) -> Any:
    """An offer's field, an empty one as ``OFFER_EMPTY`` writes it."""
    if name in OFFER_EMPTY:
        return offer.get(name) or OFFER_EMPTY[name]
    return offer.get(name)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def catalog_order_differs(draft: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
    """Whether restoring leaves the catalog listed in another order than the target's."""
    return _catalog_order_after(draft, target) != [a["key"] for a in target.get("attributes") or []]


def _catalog_order_after(draft: Mapping[str, Any], target: Mapping[str, Any]) -> list[str]:
    wanted = {a["key"] for a in target.get("attributes") or []}
    kept = [a["key"] for a in draft.get("attributes") or [] if a["key"] in wanted]
    return kept + [a["key"] for a in target.get("attributes") or [] if a["key"] not in set(kept)]


def without_catalog_order(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot with its catalog sorted by key: equal when only the catalog's order differs."""
    plain = dict(snapshot)
    plain["attributes"] = sorted(snapshot.get("attributes") or [], key=lambda a: a["key"])
    return plain


class _Draft:
    """The draft as the plan goes: every planned operation is applied here too, so each later step
    is planned against what the board will hold at that point."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        self.fields = dict(snapshot.get("blueprint") or {})
        self.attributes = {a["key"]: dict(a) for a in snapshot.get("attributes") or []}
        self.stage_order = [s["key"] for s in snapshot.get("stages") or []]
        self.stages = {
            s["key"]: {k: copy.deepcopy(v) for k, v in s.items() if k != "offers"}
            for s in snapshot.get("stages") or []
        }
        self.offers: dict[str, dict[str, Any]] = {}
        self.offer_order: dict[str, list[str]] = {}
        for stage in snapshot.get("stages") or []:
            self.offer_order[stage["key"]] = []
            for offer in stage.get("offers") or []:
                self.offers[offer["key"]] = {**copy.deepcopy(offer), "stage": stage["key"]}
                self.offer_order[stage["key"]].append(offer["key"])
        self.plan: list[Operation] = []

    def emit(self, op_type: str, payload: dict[str, Any]) -> None:
        self.plan.append((op_type, copy.deepcopy(payload)))

    # the operations, applied to this model as the handlers apply them to the board

    def blueprint_update(self, changes: dict[str, Any]) -> None:
        self.fields.update(changes)
        self.emit("blueprint.update", changes)

    def attribute_create(self, fields: dict[str, Any]) -> None:
        self.attributes[fields["key"]] = dict(fields)
        self.emit("attribute.create", fields)

    def attribute_update(self, key: str, changes: dict[str, Any]) -> None:
        self.attributes[key].update(changes)
        self.emit("attribute.update", {"key": key, **changes})

    def attribute_delete(self, key: str) -> None:
        del self.attributes[key]
        self.emit("attribute.delete", {"key": key})

    def stage_create(self, fields: dict[str, Any]) -> None:
        self.stages[fields["key"]] = dict(fields)
        self.stage_order.append(fields["key"])
        self.offer_order[fields["key"]] = []
        self.emit("stage.create", fields)

    def stage_update(self, key: str, changes: dict[str, Any]) -> None:
        self.stages[key].update(changes)
        self.emit("stage.update", {"key": key, **changes})

    def stage_move(self, key: str, place: dict[str, str]) -> None:
        _place(self.stage_order, key, place)
        self.emit("stage.move", {"key": key, **place})

    def stage_delete(self, key: str) -> None:
        assert not self.offer_order[key], "a stage is emptied before it is deleted"
        del self.stages[key]
        del self.offer_order[key]
        self.stage_order.remove(key)
        self.emit("stage.delete", {"key": key})

    def offer_create(self, fields: dict[str, Any]) -> None:
        self.offers[fields["key"]] = dict(fields)
        self.offer_order[fields["stage"]].append(fields["key"])
        self.emit("offer.create", fields)

    def offer_update(self, key: str, changes: dict[str, Any]) -> None:
        self.offers[key].update(changes)
        self.emit("offer.update", {"key": key, **changes})

    def offer_move(self, key: str, stage: str, place: dict[str, str]) -> None:
        self.offer_order[self.offers[key]["stage"]].remove(key)
        self.offers[key]["stage"] = stage
        self.offer_order[stage].append(key)
        _place(self.offer_order[stage], key, place)
        self.emit("offer.move", {"key": key, "stage": stage, **place})

    def offer_delete(self, key: str) -> None:
        self.offer_order[self.offers[key]["stage"]].remove(key)
        del self.offers[key]
        self.emit("offer.delete", {"key": key})


def _place(order: list[str], key: str, place: dict[str, str]) -> None:
    """Move ``key`` within ``order`` before or after a sibling, or to the end (``{}``)."""
    order.remove(key)
    if "before" in place:
        order.insert(order.index(place["before"]), key)
    elif "after" in place:
        order.insert(order.index(place["after"]) + 1, key)
    else:
        order.append(key)


def _reorder_steps(current: list[str], wanted: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Moves that turn ``current`` into ``wanted`` (the same keys): only the items out of place move,
    in ``wanted``'s order, each after the item that precedes it there (the first: before the head)."""
    assert sorted(current) == sorted(wanted)
    out_of_place = set(moved_keys(current, wanted))
    steps = []
    order = list(current)
    for index, key in enumerate(wanted):
        if key not in out_of_place:
            continue
        if index == 0:
            head = next(k for k in order if k != key)
            place = {"before": head}
        else:
            place = {"after": wanted[index - 1]}
        _place(order, key, place)
        steps.append((key, place))
    assert order == wanted, (order, wanted)
    return steps


def restore_plan(draft: Mapping[str, Any], target: Mapping[str, Any]) -> list[Operation]:
    """The operations that give the draft the target's content, in an order in which each validates.
    Empty when they are the same already (the catalog's order aside, which no operation sets)."""
    state = _Draft(draft)
    goal_fields = dict(target.get("blueprint") or {})
    # a snapshot without stage_mode is "several": say it, so both sides compare alike
    goal_fields["stage_mode"] = stage_mode_of(goal_fields)
    state.fields["stage_mode"] = stage_mode_of(state.fields)
    goal_attributes = {a["key"]: dict(a) for a in target.get("attributes") or []}
    goal_stages = {s["key"]: s for s in target.get("stages") or []}
    goal_offers: dict[str, dict[str, Any]] = {}
    for stage in target.get("stages") or []:
        for offer in stage.get("offers") or []:
            goal_offers[offer["key"]] = {**offer, "stage": stage["key"]}

    # 1. the blueprint's own fields
    changes = {
        f: goal_fields.get(f) for f in BLUEPRINT_FIELDS if not _same(state.fields.get(f), goal_fields.get(f))
    }
    if changes:
        state.blueprint_update(changes)

    # 2. make room
    for key in [k for k in state.offers if k not in goal_offers]:
        state.offer_delete(key)
    unsettled = {
        key
        for key, attribute in state.attributes.items()
        if key not in goal_attributes or attribute.get("type") != goal_attributes[key].get("type")
    }
    if unsettled:
        for key in list(state.stage_order):
            if attributes_used(state.stages[key].get("entry") or []) & unsettled:
                state.stage_update(key, {"entry": []})
        for key, offer in list(state.offers.items()):
            if attributes_used(offer.get("groups") or []) & unsettled:
                state.offer_update(key, {"groups": []})
    for key, offer in list(state.offers.items()):
        goal = goal_offers[key]
        if offer.get("fallback") and (not goal.get("fallback") or goal["stage"] != offer["stage"]):
            state.offer_update(key, {"fallback": False})

    # 3. the catalog
    narrow_later: dict[str, list[str]] = {}
    for key, goal in goal_attributes.items():
        if key not in state.attributes:
            state.attribute_create({"key": key, **{f: goal.get(f) for f in ATTRIBUTE_FIELDS if f in goal}})
            continue
        current = state.attributes[key]
        changes = {
            f: goal.get(f)
            for f in ATTRIBUTE_FIELDS
            if f != "choices" and not _same(current.get(f), goal.get(f))
        }
        goal_choices, current_choices = list(goal.get("choices") or []), list(current.get("choices") or [])
        if "type" in changes:
            changes["choices"] = goal_choices  # its conditions were cleared in step 2
        elif goal_choices != current_choices:
            union = goal_choices + [c for c in current_choices if c not in goal_choices]
            if union != current_choices:
                changes["choices"] = union
            if union != goal_choices:
                narrow_later[key] = goal_choices
        if changes:
            state.attribute_update(key, changes)

    # 4. stages and offers
    for key, goal in goal_stages.items():
        fields = {f: copy.deepcopy(goal.get(f)) for f in STAGE_FIELDS if f in goal}
        if key not in state.stages:
            state.stage_create({"key": key, **fields})
            continue
        changes = {f: v for f, v in fields.items() if not _same(state.stages[key].get(f), v)}
        if changes:
            state.stage_update(key, changes)
    for key, goal in goal_offers.items():
        if key in state.offers and state.offers[key]["stage"] != goal["stage"]:
            state.offer_move(key, goal["stage"], {})
    for key, goal in goal_offers.items():
        fields = {f: copy.deepcopy(goal.get(f)) for f in OFFER_FIELDS if f in goal}
        fields.update({f: copy.deepcopy(goal.get(f) or empty) for f, empty in OFFER_EMPTY.items()})
        if key not in state.offers:
            state.offer_create({"key": key, "stage": goal["stage"], **fields})
            continue
        changes = {f: v for f, v in fields.items() if not _same(_offer_field(state.offers[key], f), v)}
        if changes:
            state.offer_update(key, changes)

    # 5. stages the target does not have: empty now
    for key in [k for k in state.stage_order if k not in goal_stages]:
        state.stage_delete(key)

    # 6. order
    wanted_stages = [s["key"] for s in target.get("stages") or []]
    for key, place in _reorder_steps(list(state.stage_order), wanted_stages):
        state.stage_move(key, place)
    for stage in target.get("stages") or []:
        wanted = [o["key"] for o in stage.get("offers") or []]
        for key, place in _reorder_steps(list(state.offer_order[stage["key"]]), wanted):
            state.offer_move(key, stage["key"], place)

    # 7. the catalog as the target has it
    for key, choices in narrow_later.items():
        state.attribute_update(key, {"choices": choices})
    for key in [k for k in state.attributes if k not in goal_attributes]:
        state.attribute_delete(key)
    return state.plan
