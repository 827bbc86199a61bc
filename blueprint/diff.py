"""What changed between two snapshots (``blueprint.snapshots``), in plain language and structured.

Pure: no database. ``snapshot_diff(before, after)`` compares two snapshots by key (keys are
permanent, so an offer that moved is the same offer) and returns the changes grouped by stage —
first the blueprint's own fields, then the catalog, then each stage of ``after`` in journey order,
then the stages ``after`` no longer has. Every change carries a sentence built with the board's
condition renderer (``condition_sentence``), as in "'Welcome bonus' now also reaches customers
whose segment is Silver" or "Stage 'Retention' moved before 'Advocacy'", and its structured form:
kind, stage, offer, attribute, field, before, after.

Order is content: a stage that changed place, or an offer whose priority changed, is reported once,
for the items that really moved (the rest keep their relative order: a longest common
subsequence), not for every item whose index shifted because something was added above it. These
are the fewest moves that make the new order, said as the move that was made: "'Big spender
bonus' moved up to priority 2 (was 4)", "Stage 'Usage' moved before 'Loyalty'". Where one drag
past one neighbour reads either way, the keys the operation log says were moved (``moved``) are
the ones named, and without them the one that went up (``order_moves``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blueprint.diff_conditions import groups_changes
from blueprint.diff_words import (
    Json,
    canonical,
    groups_phrase,
    names_list,
    offer_content_sentences,
    plain_list,
    priority_words,
    quoted,
)
from decisioning.conditions import AttributeSpec
from decisioning.model import STAGE_MODES, stage_mode_of

BLUEPRINT_FIELDS = ("name", "context", "channels", "description", "stage_mode")
ATTRIBUTE_FIELDS = ("label", "kind", "type", "choices", "unit", "description", "source")


@dataclass(frozen=True)
class Change:
    kind: str  # blueprint.changed, attribute.added, stage.moved, offer.conditions, … (see KINDS)
    sentence: str
    stage: str | None = None  # the stage it is about (the one it is grouped under)
    offer: str | None = None
    attribute: str | None = None
    field: str | None = None
    before: Json = None
    after: Json = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stage": self.stage,
            "offer": self.offer,
            "attribute": self.attribute,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "sentence": self.sentence,
        }


KINDS = (
    "blueprint.changed",
    "attribute.added",
    "attribute.removed",
    "attribute.changed",
    "catalog.reordered",
    "stage.added",
    "stage.removed",
    "stage.changed",
    "stage.entry",
    "stage.moved",
    "offer.added",
    "offer.removed",
    "offer.moved",
    "offer.priority",
    "offer.changed",
    "offer.fallback",
    "offer.conditions",
)


@dataclass(frozen=True)
class Section:
    """The changes about one part: the blueprint, the catalog, or one stage."""

    part: str  # "blueprint", "catalog" or "stage"
    title: str
    changes: tuple[Change, ...]
    stage: str | None = None
    removed: bool = False  # a stage that ``after`` no longer has

    def as_json(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "stage": self.stage,
            "title": self.title,
            "removed": self.removed,
            "sentences": [c.sentence for c in self.changes],
        }


@dataclass(frozen=True)
class SnapshotDiff:
    sections: tuple[Section, ...]

    @property
    def changes(self) -> list[Change]:
        return [change for section in self.sections for change in section.changes]

    @property
    def sentences(self) -> list[str]:
        return [change.sentence for change in self.changes]

    @property
    def empty(self) -> bool:
        return not self.sections

    def as_json(self) -> dict[str, Any]:
        return {
            "changes": [c.as_json() for c in self.changes],
            "sentences": self.sentences,
            "sections": [s.as_json() for s in self.sections],
        }


# --- Entry point -----------------------------------------------------------------------------------


def snapshot_diff(
    before: Mapping[str, Any], after: Mapping[str, Any], moved: Collection[str] = ()
) -> SnapshotDiff:
    """The changes that turn ``before`` into ``after``, grouped by what they are about. ``moved``:
    keys of stages and offers known to have been moved in between (the operation log's), named
    first where the fewest moves can be told either way (``order_moves``)."""
    old, new = _Side(before), _Side(after)
    old.moved = frozenset(moved)
    old.stage_moves = {
        m.key: m
        for m in order_moves([s["key"] for s in old.stages], [s["key"] for s in new.stages], old.moved)
    }
    sections: list[Section] = []
    _add(sections, Section("blueprint", "Blueprint", tuple(_blueprint_changes(old, new))))
    _add(sections, Section("catalog", "Catalog", tuple(_catalog_changes(old, new))))
    for index, stage in enumerate(new.stages):
        key = stage["key"]
        changes = _stage_changes(old, new, stage, index)
        _add(sections, Section("stage", stage.get("name") or key, tuple(changes), stage=key))
    for stage in old.stages:
        if stage["key"] not in new.stage_by_key:
            changes = [_stage_removed(old, new, stage)]
            title = f"{stage.get('name') or stage['key']} (removed)"
            _add(sections, Section("stage", title, tuple(changes), stage=stage["key"], removed=True))
    return SnapshotDiff(tuple(sections))


def _add(sections: list[Section], section: Section) -> None:
    if section.changes:
        sections.append(section)


class _Side:
    """One snapshot, indexed by key."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        self.blueprint: Mapping[str, Any] = snapshot.get("blueprint") or {}
        self.attributes: list[Mapping[str, Any]] = list(snapshot.get("attributes") or [])
        self.attribute_by_key = {a["key"]: a for a in self.attributes}
        self.catalog: dict[str, AttributeSpec] = {
            a["key"]: AttributeSpec(
                key=a["key"],
                label=a.get("label") or a["key"],
                type=a.get("type", ""),
                kind=a.get("kind", "attribute"),
                choices=tuple(a.get("choices") or ()),
                unit=a.get("unit") or "",
            )
            for a in self.attributes
        }
        self.stages: list[Mapping[str, Any]] = list(snapshot.get("stages") or [])
        self.moved: frozenset[str] = frozenset()  # on the old side: keys known to have been moved
        self.stage_moves: dict[str, Move] = {}  # on the old side: the stages that moved, by key
        self.stage_by_key = {s["key"]: s for s in self.stages}
        self.offer_by_key: dict[str, Mapping[str, Any]] = {}
        self.stage_of: dict[str, str] = {}
        self.offer_keys: dict[str, list[str]] = {}
        for stage in self.stages:
            keys = []
            for offer in stage.get("offers") or []:
                self.offer_by_key[offer["key"]] = offer
                self.stage_of[offer["key"]] = stage["key"]
                keys.append(offer["key"])
            self.offer_keys[stage["key"]] = keys

    def stage_name(self, key: str) -> str:
        stage = self.stage_by_key.get(key)
        return (stage.get("name") if stage else None) or key


# --- Order -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One item that changed place: where it was and where it is (0-based, in each whole order),
    its neighbours in the new order among the items both orders hold (``before``: the next one,
    ``after``: the previous one; None at an end), and which way it went against the items that
    stayed ("up": earlier, "down": later)."""

    key: str
    old_index: int
    new_index: int
    before: str | None
    after: str | None
    direction: str


def _kept_in_order(before: Sequence[str], after: Sequence[str], prefer: Collection[str] = ()) -> set[str]:
    """The keys of a longest common subsequence of two orders of the same keys: those that did not
    move. Of the longest ones, the one that leaves out the keys of ``prefer`` (the items people
    moved), then the items that went up: one drag of an item past one neighbour is also read as
    the neighbour going the other way, and naming the one dragged is what a person expects; with
    no word of who was dragged, the one that went up is named (a priority is raised more often than
    a neighbour lowered, and a stage pulled earlier)."""
    n, m = len(before), len(after)
    old_at = {k: i for i, k in enumerate(before)}
    new_at = {k: j for j, k in enumerate(after)}

    def worth(key: str) -> tuple[int, int, int]:
        # keeping a key is worth one; keeping one named in ``prefer``, or one that went up, a little less
        return (1, -(key in prefer), -(new_at[key] < old_at[key]))

    zero = (0, 0, 0)
    table = [[zero] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(table[i + 1][j], table[i][j + 1])
            if before[i] == after[j]:
                w, rest = worth(before[i]), table[i + 1][j + 1]
                best = max(best, (rest[0] + w[0], rest[1] + w[1], rest[2] + w[2]))
            table[i][j] = best
    kept: set[str] = set()
    i = j = 0
    while i < n and j < m:
        if before[i] == after[j]:
            w, rest = worth(before[i]), table[i + 1][j + 1]
            if table[i][j] == (rest[0] + w[0], rest[1] + w[1], rest[2] + w[2]):
                kept.add(before[i])
                i, j = i + 1, j + 1
                continue
        if table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def order_moves(before: Sequence[str], after: Sequence[str], prefer: Collection[str] = ()) -> list[Move]:
    """The fewest moves that turn ``before`` into ``after`` (keys in only one of them are added or
    removed, not moved), in ``after``'s order: the items outside a longest common subsequence of the
    keys both hold (``_kept_in_order``; ``prefer``: keys known to have been moved, named first when
    the fewest moves can be told either way). Placing each at its new index, in that order, among
    the others kept in their order — or each just before its ``before`` neighbour, from the last
    one back — gives ``after``'s order."""
    common = set(before) & set(after)
    old = [k for k in before if k in common]
    new = [k for k in after if k in common]
    kept = _kept_in_order(old, new, prefer)
    moves = []
    for position, key in enumerate(new):
        if key in kept:
            continue
        kept_above_now = sum(1 for k in new[:position] if k in kept)
        kept_above_then = sum(1 for k in old[: old.index(key)] if k in kept)
        moves.append(
            Move(
                key=key,
                old_index=before.index(key),
                new_index=after.index(key),
                before=new[position + 1] if position + 1 < len(new) else None,
                after=new[position - 1] if position > 0 else None,
                # never equal: the key would fit among the kept ones and be kept
                direction="up" if kept_above_now < kept_above_then else "down",
            )
        )
    return moves


def moved_keys(before: Sequence[str], after: Sequence[str], prefer: Collection[str] = ()) -> list[str]:
    """The keys in both orders that changed place relative to the others, in ``after``'s order."""
    return [move.key for move in order_moves(before, after, prefer)]


# --- The blueprint and its catalog -----------------------------------------------------------------


def _blueprint_changes(old: _Side, new: _Side) -> list[Change]:
    changes = []
    for field in BLUEPRINT_FIELDS:
        b, a = old.blueprint.get(field), new.blueprint.get(field)
        if field == "stage_mode":  # absent is "several", as in every snapshot made before the mode
            b, a = stage_mode_of(old.blueprint), stage_mode_of(new.blueprint)
        if canonical(b) == canonical(a):
            continue
        if field == "channels":
            b_list, a_list = list(b or []), list(a or [])
            added = [c for c in a_list if c not in b_list]
            removed = [c for c in b_list if c not in a_list]
            parts = []
            if added:
                parts.append(f"now also include {plain_list(added)}")
            if removed:
                parts.append(f"no longer include {plain_list(removed)}")
            sentence = f"Channels {' and '.join(parts)}" if parts else "Channels listed in a new order"
        elif field == "name":
            sentence = f"The blueprint is now called {quoted(a)} (was {quoted(b)})"
        elif field == "stage_mode":
            sentence = f"How stages relate: now “{STAGE_MODES[stage_mode_of(new.blueprint)]}” (was “{STAGE_MODES[stage_mode_of(old.blueprint)]}”)"
        elif field == "description":
            sentence = (
                "The blueprint's description changed" if a else "The blueprint's description was removed"
            )
        else:
            sentence = (
                f"Context changed from {quoted(b)} to {quoted(a)}"
                if b and a
                else f"Context set to {quoted(a)}"
                if a
                else f"Context removed (was {quoted(b)})"
            )
        changes.append(Change("blueprint.changed", sentence, field=field, before=b, after=a))
    return changes


def _attribute_summary(attribute: Mapping[str, Any]) -> str:
    details = [attribute.get("kind") or "attribute", attribute.get("type") or "?"]
    text = ", ".join(details)
    if attribute.get("choices"):
        text += ": " + ", ".join(str(c) for c in attribute["choices"])
    if attribute.get("unit"):
        text += f", in {attribute['unit']}"
    return text


def _catalog_changes(old: _Side, new: _Side) -> list[Change]:
    changes: list[Change] = []
    for attribute in new.attributes:
        key = attribute["key"]
        label = attribute.get("label") or key
        before = old.attribute_by_key.get(key)
        if before is None:
            changes.append(
                Change(
                    "attribute.added",
                    f"New attribute {quoted(label)} ({_attribute_summary(attribute)})",
                    attribute=key,
                    after=dict(attribute),
                )
            )
            continue
        for field in ATTRIBUTE_FIELDS:
            b, a = before.get(field), attribute.get(field)
            if canonical(b) != canonical(a):
                for sentence in _attribute_field_sentences(label, before, field, b, a):
                    changes.append(
                        Change("attribute.changed", sentence, attribute=key, field=field, before=b, after=a)
                    )
    for attribute in old.attributes:
        if attribute["key"] not in new.attribute_by_key:
            label = attribute.get("label") or attribute["key"]
            changes.append(
                Change(
                    "attribute.removed",
                    f"Attribute {quoted(label)} removed from the catalog",
                    attribute=attribute["key"],
                    before=dict(attribute),
                )
            )
    old_order = [a["key"] for a in old.attributes]
    new_order = [a["key"] for a in new.attributes]
    if moved_keys(old_order, new_order):
        changes.append(
            Change(
                "catalog.reordered",
                "The catalog lists its attributes in a different order",
                field="order",
                before=old_order,
                after=new_order,
            )
        )
    return changes


def _attribute_field_sentences(
    label: str, before: Mapping[str, Any], field: str, b: Any, a: Any
) -> list[str]:
    name = quoted(label)
    if field == "label":
        return [f"Attribute {quoted(b)} renamed to {quoted(a)}"]
    if field == "kind":
        return [f"{name} is now {'a' if a != 'attribute' else 'an'} {a} (was {b})"]
    if field == "type":
        return [f"{name} is now of type {a} (was {b})"]
    if field == "choices":
        b_list, a_list = list(b or []), list(a or [])
        added = [c for c in a_list if c not in b_list]
        removed = [c for c in b_list if c not in a_list]
        sentences = []
        if added:
            sentences.append(f"{name} now also allows {plain_list(added)}")
        if removed:
            sentences.append(f"{name} no longer allows {plain_list(removed)}")
        return sentences or [f"{name} lists its choices in a different order"]
    if field == "description":
        return [f"{name}: description changed" if a else f"{name}: description removed"]
    what = "unit" if field == "unit" else "source"
    if b and a:
        return [f"{name}: {what} changed from {b} to {a}"]
    return [f"{name}: {what} set to {a}" if a else f"{name}: {what} removed (was {b})"]


# --- Stages ----------------------------------------------------------------------------------------


def _stage_changes(old: _Side, new: _Side, stage: Mapping[str, Any], index: int) -> list[Change]:
    key = stage["key"]
    name = stage.get("name") or key
    before = old.stage_by_key.get(key)
    changes: list[Change] = []
    if before is None:
        changes.append(_stage_added(new, stage, index))
    else:
        changes += _stage_own_changes(old, new, before, stage)
    changes += _offer_changes(old, new, stage)
    if before is not None:
        # removed offers last: what the stage still has comes first
        for offer_key in old.offer_keys.get(key, []):
            if offer_key not in new.offer_by_key:
                offer = old.offer_by_key[offer_key]
                changes.append(
                    Change(
                        "offer.removed",
                        f"{quoted(offer.get('name') or offer_key)} removed from {quoted(name)}",
                        stage=key,
                        offer=offer_key,
                        before=dict(offer),
                    )
                )
    return changes


def _stage_added(new: _Side, stage: Mapping[str, Any], index: int) -> Change:
    key, name = stage["key"], stage.get("name") or stage["key"]
    if len(new.stages) == 1:
        where = ""
    elif index == 0:
        where = f" before {quoted(new.stages[1].get('name') or new.stages[1]['key'])}"
    else:
        previous = new.stages[index - 1]
        where = f" after {quoted(previous.get('name') or previous['key'])}"
    entry = stage.get("entry") or []
    who = (
        f": it admits customers whose {groups_phrase(entry, new.catalog)}"
        if entry
        else ": it admits everyone"
    )
    fields = {k: v for k, v in stage.items() if k != "offers"}
    return Change("stage.added", f"New stage {quoted(name)}{where}{who}", stage=key, after=fields)


def _stage_removed(old: _Side, new: _Side, stage: Mapping[str, Any]) -> Change:
    key, name = stage["key"], stage.get("name") or stage["key"]
    offers = old.offer_keys.get(key, [])
    gone = [old.offer_by_key[k].get("name") or k for k in offers if k not in new.offer_by_key]
    moved = [k for k in offers if k in new.offer_by_key]
    sentence = f"Stage {quoted(name)} removed"
    if gone:
        sentence += f", and with it {names_list(gone)}"
    if moved:
        where = ", ".join(
            f"{quoted(new.offer_by_key[k].get('name') or k)} to {quoted(new.stage_name(new.stage_of[k]))}"
            for k in moved
        )
        sentence += f" (its offers moved: {where})"
    fields = {k: v for k, v in stage.items() if k != "offers"}
    return Change("stage.removed", sentence, stage=key, before=fields)


def _stage_place(new: _Side, move: Move) -> str:
    """Where a stage went, by the stage now after it ("before 'Loyalty'"), or the one before it
    when it is the last of those both versions hold; "to the start" and "to the end" when it is."""
    if move.before is not None:
        start = "to the start, " if move.new_index == 0 else ""
        return f"{start}before {quoted(new.stage_name(move.before))}"
    end = "to the end, " if move.new_index == len(new.stages) - 1 else ""
    return f"{end}after {quoted(new.stage_name(move.after or ''))}"


def _stage_own_changes(
    old: _Side, new: _Side, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[Change]:
    key = after["key"]
    name = after.get("name") or key
    changes: list[Change] = []
    if before.get("name") != after.get("name"):
        changes.append(
            Change(
                "stage.changed",
                f"Stage {quoted(before.get('name'))} renamed to {quoted(name)}",
                stage=key,
                field="name",
                before=before.get("name"),
                after=after.get("name"),
            )
        )
    if (before.get("description") or "") != (after.get("description") or ""):
        changes.append(
            Change(
                "stage.changed",
                f"Stage {quoted(name)}: description {'changed' if after.get('description') else 'removed'}",
                stage=key,
                field="description",
                before=before.get("description"),
                after=after.get("description"),
            )
        )
    move = old.stage_moves.get(key)
    if move is not None:
        changes.append(
            Change(
                "stage.moved",
                f"Stage {quoted(name)} moved {_stage_place(new, move)}",
                stage=key,
                field="position",
                before=move.old_index + 1,
                after=move.new_index + 1,
            )
        )

    def make(sentence: str, b: Json, a: Json) -> Change:
        return Change("stage.entry", sentence, stage=key, field="entry", before=b, after=a)

    changes += groups_changes(
        f"Stage {quoted(name)}",
        "admits",
        "everyone",
        before.get("entry") or [],
        after.get("entry") or [],
        old.catalog,
        new.catalog,
        make,
    )
    return changes


# --- Offers ----------------------------------------------------------------------------------------


def _offer_changes(old: _Side, new: _Side, stage: Mapping[str, Any]) -> list[Change]:
    key = stage["key"]
    stage_name = stage.get("name") or key
    offers = list(stage.get("offers") or [])
    order = [o["key"] for o in offers]
    stayed = [k for k in old.offer_keys.get(key, []) if k in order]
    moves = {move.key: move for move in order_moves(stayed, order, old.moved)}
    changes: list[Change] = []
    for index, offer in enumerate(offers):
        offer_key = offer["key"]
        name = offer.get("name") or offer_key
        before = old.offer_by_key.get(offer_key)
        if before is None:
            changes.append(_offer_added(new, stage_name, key, offer, index, len(offers)))
            continue
        if old.stage_of[offer_key] != key:
            changes.append(
                Change(
                    "offer.moved",
                    f"{quoted(name)} moved from {quoted(old.stage_name(old.stage_of[offer_key]))} "
                    f"to {quoted(stage_name)}, at {priority_words(index)}",
                    stage=key,
                    offer=offer_key,
                    field="stage",
                    before=old.stage_of[offer_key],
                    after=key,
                )
            )
        elif offer_key in moves:
            old_index = old.offer_keys[key].index(offer_key)
            changes.append(
                Change(
                    "offer.priority",
                    f"{quoted(name)} moved {moves[offer_key].direction} to {priority_words(index)} "
                    f"(was {old_index + 1})",
                    stage=key,
                    offer=offer_key,
                    field="priority",
                    before=old_index + 1,
                    after=index + 1,
                )
            )
        changes += _offer_own_changes(old, new, before, offer, key, stage_name)
    return changes


def _offer_added(
    new: _Side, stage_name: str, stage_key: str, offer: Mapping[str, Any], index: int, count: int
) -> Change:
    name = offer.get("name") or offer["key"]
    where = f" at {priority_words(index)}" if count > 1 else ""
    if offer.get("fallback"):
        sentence = (
            f"New fallback offer {quoted(name)} in {quoted(stage_name)}: "
            "everyone in the stage who qualifies for no other offer"
        )
    elif offer.get("groups"):
        sentence = (
            f"New offer {quoted(name)} in {quoted(stage_name)}{where}: "
            f"reaches customers whose {groups_phrase(offer['groups'], new.catalog)}"
        )
    else:
        sentence = f"New offer {quoted(name)} in {quoted(stage_name)}{where}: reaches everyone in the stage"
    return Change("offer.added", sentence, stage=stage_key, offer=offer["key"], after=dict(offer))


def _offer_own_changes(
    old: _Side,
    new: _Side,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    stage_key: str,
    stage_name: str,
) -> list[Change]:
    offer_key = after["key"]
    name = after.get("name") or offer_key
    changes: list[Change] = []

    def change(kind: str, sentence: str, field: str) -> None:
        changes.append(
            Change(
                kind,
                sentence,
                stage=stage_key,
                offer=offer_key,
                field=field,
                before=before.get(field),
                after=after.get(field),
            )
        )

    if before.get("name") != after.get("name"):
        change("offer.changed", f"{quoted(before.get('name'))} renamed to {quoted(name)}", "name")
    b_channel, a_channel = before.get("channel") or "", after.get("channel") or ""
    if b_channel != a_channel:
        if b_channel and a_channel:
            sentence = f"{quoted(name)}: channel changed from {b_channel} to {a_channel}"
        elif a_channel:
            sentence = f"{quoted(name)}: channel set to {a_channel}"
        else:
            sentence = f"{quoted(name)}: channel removed (was {b_channel})"
        change("offer.changed", sentence, "channel")
    if (before.get("description") or "") != (after.get("description") or ""):
        what = "changed" if after.get("description") else "removed"
        change("offer.changed", f"{quoted(name)}: description {what}", "description")
    for field, sentence in offer_content_sentences(name, before, after):
        change("offer.changed", sentence, field)
    if bool(before.get("fallback")) != bool(after.get("fallback")):
        if after.get("fallback"):
            sentence = f"{quoted(name)} is now the fallback offer of {quoted(stage_name)}"
        else:
            sentence = f"{quoted(name)} is no longer a fallback offer"
        change("offer.fallback", sentence, "fallback")

    def make(sentence: str, b: Json, a: Json) -> Change:
        return Change(
            "offer.conditions", sentence, stage=stage_key, offer=offer_key, field="groups", before=b, after=a
        )

    everyone = "everyone else in the stage" if after.get("fallback") else "everyone in the stage"
    changes += groups_changes(
        quoted(name),
        "reaches",
        everyone,
        before.get("groups") or [],
        after.get("groups") or [],
        old.catalog,
        new.catalog,
        make,
    )
    return changes
