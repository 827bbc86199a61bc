"""Order inside a list as fractional ranks computed by the server from "between this one and that".

Ranks are base-62 strings (the ``fractional-indexing`` package); they compare with Python's ``str``
ordering, so callers sort in Python rather than trusting a database collation.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from fractional_indexing import FIError, generate_key_between, generate_n_keys_between, validate_order_key

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
