"""The words of a diff (``blueprint.diff``): names quoted, lists joined in English, conditions as the
board says them ("segment is Gold"), and the canonical form by which two conditions are the same."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from decisioning.conditions import AttributeSpec, condition_sentence
from decisioning.model import long_day, stored_day

Catalog = Mapping[str, AttributeSpec]
Json = Any


def quoted(name: Any) -> str:
    return f"'{name}'"


def names_list(names: Sequence[str]) -> str:
    """'A', 'A' and 'B', 'A', 'B' and 'C'."""
    quoted_names = [quoted(n) for n in names]
    if len(quoted_names) <= 1:
        return "".join(quoted_names)
    return ", ".join(quoted_names[:-1]) + " and " + quoted_names[-1]


def plain_list(values: Sequence[Any]) -> str:
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def lower_first(text: str) -> str:
    """'Segment is Gold' → 'segment is Gold'; an initialism keeps its capitals ('VIP level …')."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def whose(condition: Mapping[str, Any], catalog: Catalog) -> str:
    return lower_first(condition_sentence(condition, catalog.get(str(condition.get("attribute", "")))))


def group_phrase(group: Sequence[Mapping[str, Any]], catalog: Catalog) -> str:
    return " and ".join(whose(c, catalog) for c in group)


def groups_phrase(groups: Sequence[Sequence[Mapping[str, Any]]], catalog: Catalog) -> str:
    return "; or ".join(group_phrase(g, catalog) for g in groups)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def priority_words(index: int) -> str:
    return f"priority {index + 1}"


def offer_content_sentences(
    name: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(field, sentence) for each of an offer's content fields that changed (a missing field is
    empty): "'Gold card' now ends on 30 June 2027", "'Gold card': tags added: summer"."""
    said: list[tuple[str, str]] = []
    b_ref, a_ref = before.get("content_ref") or "", after.get("content_ref") or ""
    if b_ref != a_ref:
        if b_ref and a_ref:
            said.append(("content_ref", f"{quoted(name)}: content reference changed from {b_ref} to {a_ref}"))
        elif a_ref:
            said.append(("content_ref", f"{quoted(name)}: content reference set to {a_ref}"))
        else:
            said.append(("content_ref", f"{quoted(name)}: content reference removed (was {b_ref})"))
    for field, verb, noun in (("starts_on", "starts", "a start date"), ("ends_on", "ends", "an end date")):
        b_day, a_day = stored_day(before.get(field)), stored_day(after.get(field))
        if b_day != a_day:
            if a_day is not None:
                said.append((field, f"{quoted(name)} now {verb} on {long_day(a_day)}"))
            elif b_day is not None:
                said.append((field, f"{quoted(name)} no longer has {noun} (was {long_day(b_day)})"))
    b_tags, a_tags = list(before.get("tags") or []), list(after.get("tags") or [])
    added = [t for t in a_tags if t not in b_tags]
    removed = [t for t in b_tags if t not in a_tags]
    if added:
        said.append(("tags", f"{quoted(name)}: tags added: {plain_list(added)}"))
    if removed:
        said.append(("tags", f"{quoted(name)}: tags removed: {plain_list(removed)}"))
    return said
