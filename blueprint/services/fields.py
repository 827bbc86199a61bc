"""Reading an operation's payload (``blueprint.services.operations``) by its description
(``blueprint.payloads``): each field checked and every problem named with what would be accepted,
and keys made from names. Placement among siblings is ``blueprint.ranks``; each entity's module
looks its objects up by key."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django.utils.text import slugify

from blueprint.payloads import Field, Kind, Payload
from blueprint.ranks import is_valid_rank
from decisioning.conditions import (
    KEY_CHARACTERS,
    ConditionProblems,
    groups_as_json,
    is_key,
    parse_groups,
)
from decisioning.errors import InvalidInput
from decisioning.limits import LIMITS, over_limit

if TYPE_CHECKING:
    from blueprint.services.operations import OpContext


class Problems:
    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}
        self.alternatives: dict[str, list[dict[str, Any]]] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems, alternatives=self.alternatives)


def text_field(
    payload: dict[str, Any], name: str, problems: Problems, *, required: bool, limit: str
) -> str | None:
    """The text field ``name``, stripped; ``limit`` names its length limit (``name_length``)."""
    if name not in payload or payload[name] is None:
        if required:
            problems.add(name, "This field is required.")
        return None
    value = payload[name]
    if not isinstance(value, str):
        problems.add(name, "Expected text.")
        return None
    value = value.strip()
    if required and not value:
        problems.add(name, "This field may not be blank.")
        return None
    if "\x00" in value:
        problems.add(name, "Text may not contain a NUL character.")
        return None
    most = getattr(LIMITS, limit)
    if len(value) > most:
        problems.add(name, over_limit(limit, f"At most {most} characters; here are {len(value)}"))
        return None
    return value


def bool_field(payload: dict[str, Any], name: str, problems: Problems) -> bool | None:
    if name not in payload or payload[name] is None:
        return None
    value = payload[name]
    if not isinstance(value, bool):
        problems.add(name, "Expected true or false.")
        return None
    return value


def string_list_field(
    payload: dict[str, Any], name: str, problems: Problems, *, limit: str, each: str = "choice_length"
) -> list[str] | None:
    """A list of texts (choices, channels, tags), stripped, blanks and repeats left out; ``limit``
    names how many it may hold, ``each`` how long each may be."""
    if name not in payload or payload[name] is None:
        return None
    value = payload[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(name, "Expected a list of text values.")
        return None
    most = getattr(LIMITS, limit)
    cleaned: list[str] = []
    seen: set[str] = set()
    for item in value:
        item = item.strip()
        if not item:
            continue
        if "\x00" in item:
            problems.add(name, "A value may not contain a NUL character.")
            return None
        longest = getattr(LIMITS, each)
        if len(item) > longest:
            problems.add(
                name,
                over_limit(each, f"Each value is at most {longest} characters; '{item[:40]}…' is longer"),
            )
            return None
        if item not in seen:
            seen.add(item)
            cleaned.append(item)
    if len(cleaned) > most:
        problems.add(name, over_limit(limit, f"At most {most} values; here are {len(cleaned)}"))
        return None
    return cleaned


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date_field(payload: dict[str, Any], name: str, problems: Problems) -> str | None:
    """A day as ``YYYY-MM-DD``; null or "" (given) clears it and reads as "", left out reads as None."""
    if name not in payload:
        return None
    value = payload[name]
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(name, "Expected a date as YYYY-MM-DD, or null.")
        return None
    value = value.strip()
    if not value:
        return ""
    try:
        day = dt.date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None:
        problems.add(name, f"'{value[:20]}' is not a date: write it as YYYY-MM-DD, e.g. 2027-03-01.")
        return None
    return day.isoformat()


def _key_value(raw: Any, name: str, problems: Problems) -> str | None:
    if not isinstance(raw, str) or not raw:
        problems.add(name, f"Expected a key: {KEY_CHARACTERS}.")
        return None
    if len(raw) > LIMITS.key_length:
        problems.add(
            name,
            over_limit(
                "key_length",
                f"'{raw[:20]}…' is not a key: a key has at most {LIMITS.key_length} characters, and this one "
                f"has {len(raw)}",
            ),
        )
        return None
    if not is_key(raw):
        # repr: a line break or a space at the end is exactly what must show
        problems.add(name, f"{raw[:80]!r} is not a key: use only {KEY_CHARACTERS}, nothing else.")
        return None
    return raw


def key_from_name(name: str, taken: set[str]) -> str:
    base = slugify(name).replace("-", "_")[: LIMITS.key_length - 4] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def new_key(
    payload: dict[str, Any], name: str | None, taken: set[str], problems: Problems, what: str
) -> str | None:
    raw = payload.get("key")
    if raw in (None, ""):
        return key_from_name(name or what, taken) if name else None
    key = _key_value(raw, "key", problems)
    if key is not None and key in taken:
        problems.add(
            "key", f"The key '{key}' is already used by another {what} in this blueprint; choose another."
        )
        return None
    return key


def refuse_key_change(payload: dict[str, Any], current: str, problems: Problems) -> None:
    new = payload.get("new_key")
    if new not in (None, "", current):
        problems.add(
            "key", "Keys are permanent, so exports and integrations stay valid; change the name instead."
        )


def groups_field(payload: dict[str, Any], name: str, ctx: OpContext, problems: Problems) -> list[Any] | None:
    if name not in payload:
        return None
    if payload[name] is None:
        problems.add(name, "Expected a list of groups; send [] to remove every condition.")
        return None
    try:
        return groups_as_json(parse_groups(payload[name], ctx.catalog, path=name, bounded=not ctx.replay))
    except ConditionProblems as exc:
        for path, messages in exc.problems.items():
            for message in messages:
                problems.add(path, message)
        problems.alternatives.update(exc.alternatives)
        return None


def position_field(payload: dict[str, Any], problems: Problems) -> tuple[str | None, str | None, str | None]:
    """``before`` or ``after`` (a sibling's key), and/or ``rank``: the exact place an undo restores,
    also the fallback when the named sibling has gone meanwhile."""
    before, after, rank = payload.get("before"), payload.get("after"), payload.get("rank")
    if before not in (None, "") and after not in (None, "") and rank in (None, ""):
        # both, with a rank, is the form an undo takes: "back between these two, or at this rank"
        problems.add("before", "Give either before or after, not both.")
        return None, None, None
    if rank not in (None, "") and not is_valid_rank(rank):
        problems.add("rank", "Not a valid rank.")
        return None, None, None
    rank = None if rank in (None, "") else str(rank)
    return (
        None if before in (None, "") else _key_value(before, "before", problems),
        None if after in (None, "") else _key_value(after, "after", problems),
        rank,
    )


def only_fields(payload: dict[str, Any], allowed: set[str], problems: Problems) -> None:
    for name in sorted(set(payload) - allowed):
        problems.add(name, f"Unknown field; expected some of: {', '.join(sorted(allowed))}.")


def read_values(
    payload: dict[str, Any], described: Payload, problems: Problems, ctx: OpContext | None = None
) -> dict[str, Any]:
    """The values ``payload`` gives for the value fields of its description (not the keys naming
    objects, nor places), each checked, in the description's order; a field left out, or refused
    (``problems`` says why), is not in the answer. Fields it does not describe are not looked at:
    ``only_fields`` refuses them. ``ctx`` reads groups of conditions against the catalog."""
    values: dict[str, Any] = {}
    for name, field in described.fields.items():
        if not field.values:
            continue
        value = _read(payload, name, field, problems, ctx)
        if value is not None:
            values[name] = value
    return values


def _read(payload: dict[str, Any], name: str, field: Field, problems: Problems, ctx: OpContext | None) -> Any:
    if field.kind is Kind.TEXT:
        # a field that may not be blank may not be emptied either, once given
        required = field.required or (not field.blank and name in payload)
        return text_field(payload, name, problems, required=required, limit=field.limit)
    if field.kind is Kind.FLAG:
        return bool_field(payload, name, problems)
    if field.kind is Kind.TEXTS:
        return string_list_field(payload, name, problems, limit=field.limit, each=field.each)
    if field.kind is Kind.DATE:
        return date_field(payload, name, problems)
    if field.kind is Kind.CHOICE:
        return choice_field(payload, name, problems, choices=field.choices, required=field.required)
    if field.kind is Kind.GROUPS:
        assert ctx is not None, "groups are read against a blueprint's catalog"
        return groups_field(payload, name, ctx, problems)
    raise AssertionError(f"{field.kind} is not a value")


def choice_field(
    payload: dict[str, Any], name: str, problems: Problems, *, choices: tuple[str, ...], required: bool
) -> str | None:
    if name in payload and payload[name] is not None:
        if payload[name] not in choices:
            problems.add(name, f"Expected one of: {', '.join(choices)}.")
            return None
        return str(payload[name])
    if required:
        problems.add(name, f"This field is required; one of: {', '.join(choices)}.")
    return None
