"""The canonical snapshot of a blueprint's content: what a published version stores, what the
JSON export is and the import reads, and what the decision engine compiles.

A snapshot is plain JSON::

    {"format": "blueprint-snapshot/1",
     "blueprint": {name, context, channels, description},
     "attributes": [{key, label, kind, type, choices, unit, description, source}, ...],   # catalog order
     "stages": [{key, name, description, entry, offers: [{key, name, description, channel,
                                                          fallback, groups, content_ref?,
                                                          starts_on?, ends_on?, tags?}, ...]}, ...]}

An offer's ``OFFER_CONTENT_FIELDS`` are written only when set (``starts_on`` and ``ends_on`` as
"YYYY-MM-DD"), so a board that uses none of them keeps the snapshot, and the hash, it had before
they existed; a reader takes a missing one as empty.

Stages are in journey order and offers in priority order; ranks are left out (the order is the
content, the rank strings are how the board keeps it). ``decisioning.model.spec_from_json`` reads a
snapshot as it is. Pure: no database here (``selectors.board_snapshot`` builds one from a board).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from decisioning.conditions import is_key, key_cleaned

SNAPSHOT_FORMAT = "blueprint-snapshot/1"
# An offer's optional fields: in a snapshot only when set (empty: "", [] or null elsewhere).
OFFER_CONTENT_FIELDS = ("content_ref", "starts_on", "ends_on", "tags")


def snapshot_canonical(snapshot: Mapping[str, Any]) -> str:
    """The one text of a snapshot: keys sorted, no spaces, UTF-8 as is. Equal content, equal text."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def snapshot_hash(snapshot: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical text: the content hash of a version."""
    return "sha256:" + hashlib.sha256(snapshot_canonical(snapshot).encode()).hexdigest()


def snapshot_steps(snapshot: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The operations that build a snapshot's catalog, stages and offers on an empty blueprint, in
    order (attributes, then each stage followed by its offers in priority order), each with the
    JSON path of the part it comes from (``stages[2].offers[0]``). The caller applies them with
    ``operations_apply``; the duplicate and the import both do."""
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (f"attributes[{i}]", "attribute.create", dict(a))
        for i, a in enumerate(snapshot.get("attributes", []))
    ]
    for si, stage in enumerate(snapshot.get("stages", [])):
        steps.append((f"stages[{si}]", "stage.create", {k: v for k, v in stage.items() if k != "offers"}))
        steps += [
            (f"stages[{si}].offers[{oi}]", "offer.create", {**offer, "stage": stage.get("key")})
            for oi, offer in enumerate(stage.get("offers", []))
        ]
    return steps


def snapshot_operations(snapshot: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``snapshot_steps`` without the paths: what ``operations_apply`` takes."""
    return [(op_type, payload) for _path, op_type, payload in snapshot_steps(snapshot)]


def snapshot_keys_cleaned(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    """The snapshot with every key that is not whole (``"age\\n"``, stored before keys were matched
    whole) cleaned as migration 0005 cleaned the board's: ``conditions.key_cleaned``, unique among
    the keys of its kind, and the conditions that name a renamed attribute follow. The snapshot
    itself when every key is whole (what a restore of a version published since always meets)."""
    attributes = [a for a in snapshot.get("attributes") or [] if isinstance(a, Mapping)]
    stages = [st for st in snapshot.get("stages") or [] if isinstance(st, Mapping)]
    offers = [o for st in stages for o in st.get("offers") or [] if isinstance(o, Mapping)]

    def renamed(items: list[Mapping[str, Any]]) -> dict[str, str]:
        keys: list[str] = [item["key"] for item in items if isinstance(item.get("key"), str)]
        taken = {key for key in keys if is_key(key)}
        mapping: dict[str, str] = {}
        for key in keys:
            if key not in mapping and not is_key(key):
                mapping[key] = key_cleaned(key, taken)
                taken.add(mapping[key])
        return mapping

    attribute_keys, stage_keys, offer_keys = renamed(attributes), renamed(stages), renamed(offers)
    if not (attribute_keys or stage_keys or offer_keys):
        return snapshot

    def groups(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [
            [
                {**c, "attribute": attribute_keys.get(c["attribute"], c["attribute"])}
                if isinstance(c, Mapping) and isinstance(c.get("attribute"), str)
                else c
                for c in group
            ]
            if isinstance(group, list)
            else group
            for group in value
        ]

    def keyed(item: Mapping[str, Any], mapping: dict[str, str], conditions: str) -> dict[str, Any]:
        out = dict(item)
        if isinstance(out.get("key"), str):
            out["key"] = mapping.get(out["key"], out["key"])
        if conditions in out:
            out[conditions] = groups(out[conditions])
        return out

    cleaned = dict(snapshot)
    cleaned["attributes"] = [keyed(a, attribute_keys, "") for a in attributes]
    cleaned["stages"] = []
    for stage in stages:
        cleaned_stage = keyed(stage, stage_keys, "entry")
        if "offers" in stage:
            cleaned_stage["offers"] = [
                keyed(o, offer_keys, "groups") for o in stage["offers"] or [] if isinstance(o, Mapping)
            ]
        cleaned["stages"].append(cleaned_stage)
    return cleaned
