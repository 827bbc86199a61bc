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
