"""The words of a diff (``blueprint.diff``): names quoted, lists joined in English, conditions as the
board says them ("segment is Gold"), and the canonical form by which two conditions are the same."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from decisioning.conditions import AttributeSpec, condition_sentence

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
