"""The canonical snapshot of a blueprint's content: what a published version stores, what the
JSON export is and the import reads, and what the decision engine compiles.

A snapshot is plain JSON::

    {"format": "blueprint-snapshot/1",
     "blueprint": {name, context, channels, description},
     "attributes": [{key, label, kind, type, choices, unit, description, source}, ...],   # catalog order
     "stages": [{key, name, description, entry, offers: [{key, name, description, channel,
                                                          fallback, groups}, ...]}, ...]}

Stages are in journey order and offers in priority order; ranks are left out (the order is the
content, the rank strings are how the board keeps it). ``decisioning.model.spec_from_json`` reads a
snapshot as it is. Pure: no database here (``selectors.board_snapshot`` builds one from a board).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

SNAPSHOT_FORMAT = "blueprint-snapshot/1"


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
