"""Reading an operation's payload (``blueprint.services.operations``): each field checked and every
problem named with what would be accepted, keys made from names, places on the board (ranks) found
from "between this card and that one", and the board's objects looked up by key."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from django.utils.text import slugify

from blueprint.conditions import (
    KEY_CHARACTERS,
    ConditionProblems,
    groups_as_json,
    is_key,
    parse_groups,
)
from blueprint.errors import InvalidInput, NotFound
from blueprint.limits import LIMITS, over_limit
from blueprint.models import (
    Attribute,
    Offer,
    Stage,
)
from blueprint.ranks import RESPACE_AFTER, evenly_spaced, is_valid_rank, rank_at, strictly_increasing

if TYPE_CHECKING:
    from blueprint.services.operations import OpContext


class Problems:
    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


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
    payload: dict[str, Any], name: str, problems: Problems, *, limit: str
) -> list[str] | None:
    """A list of texts (choices, channels), stripped, blanks and repeats left out; ``limit`` names
    how many it may hold. Each is at most ``choice_length`` characters."""
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
        if len(item) > LIMITS.choice_length:
            problems.add(
                name,
                over_limit(
                    "choice_length",
                    f"Each value is at most {LIMITS.choice_length} characters; '{item[:40]}…' is longer",
                ),
            )
            return None
        if item not in seen:
            seen.add(item)
            cleaned.append(item)
    if len(cleaned) > most:
        problems.add(name, over_limit(limit, f"At most {most} values; here are {len(cleaned)}"))
        return None
    return cleaned


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


def neighbour(siblings: list[Any], rank: str) -> dict[str, str]:
    """Where an item of ``rank`` stands among ``siblings`` (the others), by key: the one just above
    it (``after``) and the one just below (``before``), each when there is one. What an undo names,
    with the rank (see ``place``)."""
    ordered = sorted(siblings, key=lambda s: (s.rank, s.pk))
    earlier = [s for s in ordered if s.rank < rank]
    later = ordered[len(earlier) :]
    where = {}
    if earlier:
        where["after"] = earlier[-1].key
    if later:
        where["before"] = later[0].key
    return where


def place(
    siblings: list[Any],
    *,
    before: str | None,
    after: str | None,
    rank: str | None,
    what: str,
    where: str,
    moving: str | None = None,
) -> str:
    """A rank that puts an item before/after a sibling (by key), back where it was (undo), or at
    the end.

    ``siblings`` are the other items of the list (never the moving one, whose key is ``moving``).
    The anchor is checked before anything is written. An undo names the rank the item had and the
    neighbours it stood between (``after`` above it, ``before`` below it, either may be absent at an
    end): while those two still stand side by side it goes back between them, which holds even when
    the list was respaced since; when someone has moved one of them away, its old rank says where it
    was among the others; a lone neighbour is the last resort. When stored ranks tie, or the new
    rank would grow long (many drops between the same two neighbours), the list is respaced with
    the new slot kept free, so the result always sorts strictly where asked. The caller holds the
    blueprint lock.
    """
    siblings.sort(key=lambda s: (s.rank, s.pk))
    ranks = [s.rank for s in siblings]
    keys = [s.key for s in siblings]
    for anchor, name in ((before, "before"), (after, "after")):
        if anchor is None:
            continue
        if anchor == moving:
            raise InvalidInput(f"'{anchor}' cannot be placed {name} itself.", field=name)
        if anchor not in keys and rank is None:
            raise InvalidInput(f"'{anchor}' is not {what} in {where}.", field=name)
    index = _slot(keys, ranks, before=before, after=after, rank=rank)
    if strictly_increasing(ranks):
        low, high = (ranks[index - 1] if index else None), (ranks[index] if index < len(ranks) else None)
        if rank is not None and (low is None or low < rank) and (high is None or rank < high):
            return rank  # an undo puts the item back exactly where it was
        placed = rank_at(ranks, index)
        if len(placed) <= RESPACE_AFTER:
            return placed
    fresh = evenly_spaced(len(siblings) + 1)
    placed = fresh.pop(index)
    for sibling, new_rank in zip(siblings, fresh, strict=True):
        if sibling.rank != new_rank:
            sibling.rank = new_rank
            sibling.save(update_fields=["rank"])
    return placed


def _slot(
    keys: list[str], ranks: list[str], *, before: str | None, after: str | None, rank: str | None
) -> int:
    """The index among the siblings where the item goes (see ``place``)."""
    if rank is not None and (before is not None or after is not None):  # an undo
        above = keys.index(after) if after in keys else None
        below = keys.index(before) if before in keys else None
        still_between = (
            (above is None or below is None or below == above + 1)
            and (after is None or above is not None)
            and (before is None or below is not None)
            and (above is not None or below == 0)
            and (below is not None or above == len(keys) - 1)
        )
        if still_between:
            return below if below is not None else len(keys)
        return bisect.bisect_right(ranks, rank)
    anchor = before if before is not None else after
    if anchor in keys:
        return keys.index(anchor) + (0 if before is not None else 1)
    if rank is not None:
        return bisect.bisect_right(ranks, rank)
    return len(ranks)


def stage_by_key(ctx: OpContext, key: Any, field: str = "key") -> Stage:
    if not isinstance(key, str):
        raise InvalidInput("Name the stage by its key.", field=field)
    stage = Stage.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if stage is None:
        raise NotFound(
            f"There is no stage '{key[:80]}' in this blueprint; it may have been deleted.", field=field
        )
    return stage


def offer_by_key(ctx: OpContext, key: Any) -> Offer:
    if not isinstance(key, str):
        raise InvalidInput("Name the offer by its key.", field="key")
    offer = Offer.objects.select_related("stage").filter(blueprint=ctx.blueprint, key=key).first()
    if offer is None:
        raise NotFound(
            f"There is no offer '{key[:80]}' in this blueprint; it may have been deleted.", field="key"
        )
    return offer


def attribute_by_key(ctx: OpContext, key: Any) -> Attribute:
    if not isinstance(key, str):
        raise InvalidInput("Name the attribute by its key.", field="key")
    attribute = Attribute.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if attribute is None:
        raise NotFound(f"There is no attribute '{key[:80]}' in the catalog.", field="key")
    return attribute


def only_fields(payload: dict[str, Any], allowed: set[str], problems: Problems) -> None:
    for name in sorted(set(payload) - allowed):
        problems.add(name, f"Unknown field; expected some of: {', '.join(sorted(allowed))}.")
