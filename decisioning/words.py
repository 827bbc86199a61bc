"""Words for people: counts with their nouns, a value as a person writes it, a field path as words,
and the marks that keep keys and paths in a message for programs only.

Pages speak to marketers, the API to programs. A message the services raise may carry, beside
its words, what only a program needs — a key (``key_mark``), a field path (``path_mark``), a
limit's name (``limits.over_limit``) — and ``limits.for_people`` takes those out for a page. Each
page that shows a value of a profile, or a place in a blueprint's conditions, says it with
``value_words`` and ``path_words``, so "1 month", "yes" and "first condition of group 1" read the
same everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # conditions.py says its numbers with ``with_unit``
    from decisioning.conditions import AttributeSpec

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def plural(count: int | float, one: str, many: str | None = None) -> str:
    """A count with its noun: "1 month", "3 months", "0 offers"; ``many`` when the plural is not
    ``one`` + "s" ("1 match", "2 matches")."""
    return f"{_number(count)} {one if count == 1 else many or one + 's'}"


def with_unit(value: int | float, unit: str) -> str:
    """A number as a person writes it, with the attribute's unit: "75,000 EUR", "1 month" (a
    catalog's units are written for many: "months" reads "month" for one)."""
    text = _number(value)
    if not unit:
        return text
    if value == 1 and unit.endswith("s") and not unit.endswith("ss") and len(unit) > 1:
        unit = unit[:-1]
    return f"{text} {unit}"


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.10g}"


def day_words(day: dt.date, at: dt.date | None = None) -> str:
    """ "1 Mar 2026", and with a decision day how far from it: "(9 days before the decision)"."""
    shown = f"{day.day} {day:%b %Y}"
    if at is None:
        return shown
    days = (at - day).days
    if days == 0:
        return f"{shown} (the decision day)"
    return f"{shown} ({plural(abs(days), 'day')} {'before' if days > 0 else 'after'} the decision)"


def or_list(items: Sequence[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def value_words(
    value: Any, attr: AttributeSpec | None, *, at: dt.date | None = None, named: Collection[Any] = ()
) -> str:
    """A profile's value as a person writes it, given its attribute: "yes", "3 visits", "1 month",
    "1 Mar 2026 (the decision day)", "savings, mortgage", "none", "missing". ``named``: for a text,
    the values the conditions name; a value none of them names is an example of "any other"
    (the lint and the why-not pick one to stand for all the others) and reads "other than Dublin
    or Cork"."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return ", ".join(value_words(v, attr) for v in items) if items else "none"
    if isinstance(value, int | float):
        return with_unit(value, attr.unit if attr is not None else "")
    if isinstance(value, dt.date):
        return day_words(value, at)
    if attr is not None and attr.type == "date":
        try:
            return day_words(dt.date.fromisoformat(str(value)), at)
        except ValueError:
            return str(value)
    text = str(value)
    if attr is not None and attr.type == "text" and named and text not in named:
        return "other than " + or_list([str(v) for v in named])
    return text


def ordinal(index: int) -> str:
    """0 → "first", 11 → "12th"."""
    if index < len(_ORDINALS):
        return _ORDINALS[index]
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


_STEP = re.compile(r"([A-Za-z_]+)?((?:\[\d+\])*)")
_PARTS = {"stages": "stage", "offers": "offer", "attributes": "attribute"}
_GROUPS = ("groups", "entry")


def path_words(path: str, document: Any = None) -> str:
    """A field path of the API as words for a page: "groups[0][1].value" → "second condition of
    group 1", "stages[1].offers[0].name" → "stage 2, offer 1, name"; with the ``document`` the
    path points into (an import), by names: "stage 'Retention', offer 'Gold card', name". What a
    condition's path ends with (value, operator, …) is left to the message, which says it."""
    words: list[str] = []
    here = document
    after_condition = False
    for step in path.split("."):
        found = _STEP.fullmatch(step)
        if found is None:
            return ", ".join(words)
        name, indexes = found[1] or "", [int(i) for i in re.findall(r"\d+", found[2] or "")]
        here = _at(_at(here, name), *indexes)
        if name in _GROUPS:
            if len(indexes) >= 2:
                words.append(f"{ordinal(indexes[1])} condition of group {indexes[0] + 1}")
                after_condition = True
            elif indexes:
                words.append(f"group {indexes[0] + 1}")
            else:
                words.append("who is in the stage" if name == "entry" else "conditions")
        elif name in _PARTS and indexes:
            named = here.get("label" if name == "attributes" else "name") if isinstance(here, dict) else None
            shown = f"'{named}'" if isinstance(named, str) and named else str(indexes[0] + 1)
            words.append(f"{_PARTS[name]} {shown}")
        elif name and not after_condition and name not in ("profile", "body"):
            words.append(name.replace("_", " "))
    return ", ".join(words)


def _at(value: Any, *steps: str | int) -> Any:
    for step in steps:
        if step == "":
            continue
        if isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


# --- Marks: what a message says to programs only -----------------------------------------------

_KEY = re.compile(r"[a-z0-9_-]+")


def key_mark(key: str) -> str:
    """ " (key: gold_card)": a stage's, offer's or attribute's key, for the API's readers; pages
    leave it out (``limits.for_people``), as they name things by their names. What is not a key
    at all (a tampered form) is quoted as given, shortened."""
    if _KEY.fullmatch(key):
        return f" (key: {key})"
    return f" '{key[:80]}'"


def path_mark(path: str) -> str:
    """ " (at groups[0][0].value)": the field path, for the API's readers; pages leave it out."""
    return f" (at {path})"
