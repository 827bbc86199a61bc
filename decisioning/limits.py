"""The limits: how much a blueprint, a request and a socket message may hold (README "Limits").

One table, and every path reads it: the condition language (``decisioning.conditions``), the one
edit path (``blueprint.services.operations``, where every HTMX form, drag, REST call, socket
message, import, undo and restore ends), the import's shape check, the board's forms, the JSON
parsers, the socket, the decide batch, Django's own body limits (``settings``) and
``GET /api/v1/limits/``. A person who goes past one is refused with a 400 (413 for a body too
large) whose message names the limit, and nothing changes.

Pure Python, no Django: the pure cores import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

KIB = 1024
MIB = 1024 * 1024


def _limit(value: int, what: str, group: str) -> Any:
    return field(default=value, metadata={"what": what, "group": group})


@dataclass(frozen=True)
class Limits:
    """Every limit by name; the names are the contract (``GET limits/`` answers them)."""

    # --- What one blueprint holds (counted by the edit path) ----------------------------------
    stages_per_blueprint: int = _limit(50, "stages in a blueprint", "board")
    offers_per_stage: int = _limit(100, "offers in a stage", "board")
    offers_per_blueprint: int = _limit(1000, "offers in a blueprint", "board")
    attributes_per_blueprint: int = _limit(200, "attributes in a blueprint's catalog", "board")
    choices_per_attribute: int = _limit(200, "choices of an attribute", "board")
    channels_per_blueprint: int = _limit(20, "channels in a blueprint's list of channels", "board")
    members_per_blueprint: int = _limit(500, "members of a blueprint", "board")
    blueprints_per_person: int = _limit(200, "blueprints a person has created and not deleted", "board")
    tags_per_offer: int = _limit(20, "tags of an offer", "board")

    # --- Conditions ---------------------------------------------------------------------------
    groups_per_offer: int = _limit(
        10, "groups of conditions of an offer, or of a stage's entry", "conditions"
    )
    conditions_per_group: int = _limit(20, "conditions in one group", "conditions")
    values_per_list: int = _limit(
        200, "values in one condition's list (is one of, includes any of)", "conditions"
    )
    text_length: int = _limit(200, "characters of a text value in a condition", "conditions")

    # --- Lengths of fields, in characters ------------------------------------------------------
    key_length: int = _limit(64, "characters of a key (a-z, 0-9, '-' and '_')", "text")
    name_length: int = _limit(120, "characters of a name (blueprint, stage, offer)", "text")
    label_length: int = _limit(120, "characters of an attribute's label", "text")
    choice_length: int = _limit(120, "characters of a choice, or of a channel in a blueprint's list", "text")
    context_length: int = _limit(200, "characters of a blueprint's context", "text")
    channel_length: int = _limit(64, "characters of an offer's channel", "text")
    unit_length: int = _limit(32, "characters of an attribute's unit", "text")
    source_length: int = _limit(120, "characters of an attribute's source system", "text")
    description_length: int = _limit(5000, "characters of a description", "text")
    content_ref_length: int = _limit(
        500, "characters of an offer's content reference (an id or URL of the creative)", "text"
    )
    tag_length: int = _limit(40, "characters of one of an offer's tags", "text")
    note_length: int = _limit(5000, "characters of a version's note or a review comment", "text")
    client_id_length: int = _limit(64, "characters of a client id (Idempotency-Key)", "text")

    # --- Requests and messages ----------------------------------------------------------------
    json_body_bytes: int = _limit(
        5 * MIB // 2, "bytes of a JSON request body (and of a posted form's fields)", "requests"
    )
    import_body_bytes: int = _limit(16 * MIB, "bytes of a JSON export sent to import", "requests")
    batch_body_bytes: int = _limit(
        64 * MIB, "bytes of a CSV or Parquet body (decide batch, coverage)", "requests"
    )
    batch_profiles: int = _limit(10_000, "profiles in one JSON decide batch", "requests")
    json_depth: int = _limit(16, "levels of nesting in a JSON body or socket message", "requests")
    socket_frame_bytes: int = _limit(64 * KIB, "bytes of one message to the board's socket", "requests")
    # a board form at the limits: every row of a full condition editor (its id, group, attribute,
    # operator) with a full list of ticked values, and the form's own few fields
    form_fields: int = _limit(41_000, "fields in one posted form", "requests")

    def describe(self) -> list[dict[str, Any]]:
        """Every limit in the table's order: ``{name, value, what, group}``."""
        return [
            {
                "name": f.name,
                "value": getattr(self, f.name),
                "what": f.metadata["what"],
                "group": f.metadata["group"],
            }
            for f in fields(self)
        ]

    def as_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


LIMITS = Limits()

_MARK = re.compile(r" \(limit [a-z_]+\)(?=\.)")


def over_limit(name: str, sentence: str) -> str:
    """A refusal that names the limit: ``"A blueprint holds at most 50 stages (limit
    stages_per_blueprint)."`` from ``sentence`` (no final full stop) and the limit's name."""
    assert hasattr(LIMITS, name), name
    return f"{sentence} (limit {name})."


# what a message says to programs only: a key or a field path (``decisioning.words.key_mark``,
# ``path_mark``), beside the limit's name
_PROGRAM_MARK = re.compile(r" \((?:key: [a-z0-9_-]+|at [A-Za-z0-9_\[\].]+)\)")


def for_people(message: str) -> str:
    """The message without the limit's name, keys and field paths: pages speak to people, the API
    and socket to programs."""
    return _PROGRAM_MARK.sub("", _MARK.sub("", message))


def json_too_deep(data: Any, limit: int = LIMITS.json_depth) -> str | None:
    """The path of the first value nested deeper than ``limit`` levels, or None. Iterative, so a
    hostile document cannot exhaust the stack here."""
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > limit:
            return path or "body"
        if isinstance(value, dict):
            pending.extend(
                (item, f"{path}.{key}" if path else str(key), depth + 1) for key, item in value.items()
            )
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
    return None
