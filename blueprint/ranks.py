"""Order inside a list as fractional ranks computed by the server from "between this one and that".

Ranks are base-62 strings (the ``fractional-indexing`` package); they compare with Python's ``str``
ordering, so callers sort in Python rather than trusting a database collation. ``place`` finds an
item's rank among its siblings (stages of a blueprint, offers of a stage) inside an operation, and
``neighbour`` says where one stands, for the undo that puts it back.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from fractional_indexing import FIError, generate_key_between, generate_n_keys_between, validate_order_key

from decisioning.errors import InvalidInput
from decisioning.words import key_mark

# The column holds 64 characters. Repeatedly dropping between the same two neighbours lengthens a
# rank by about one character per move, so callers respace a list once a rank grows past this.
MAX_RANK_LENGTH = 64
RESPACE_AFTER = 24


def rank_between(low: str | None, high: str | None) -> str:
    return generate_key_between(low, high)


def evenly_spaced(count: int) -> list[str]:
    return generate_n_keys_between(None, None, count)


def is_valid_rank(rank: object) -> bool:
    if not isinstance(rank, str) or not rank or len(rank) > MAX_RANK_LENGTH:
        return False
    try:
        validate_order_key(rank)
    except FIError:
        return False
    return True


def rank_at(ranks: Sequence[str], index: int) -> str:
    """A rank that sorts at position ``index`` among ``ranks`` (sorted, strictly increasing)."""
    low = ranks[index - 1] if index > 0 else None
    high = ranks[index] if index < len(ranks) else None
    return rank_between(low, high)


def strictly_increasing(ranks: Sequence[str]) -> bool:
    return all(a < b for a, b in pairwise(ranks))


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
            raise InvalidInput(f"It cannot be placed {name} itself{key_mark(anchor)}.", field=name)
        if anchor not in keys and rank is None:
            # by the place's name for people (a neighbour someone moved or deleted meanwhile); the
            # key for the API's readers
            raise InvalidInput(
                f"The {what.split(' ', 1)[-1]} to place it {name}{key_mark(anchor)} is not in {where}; "
                "it may have been moved or deleted.",
                field=name,
            )
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
