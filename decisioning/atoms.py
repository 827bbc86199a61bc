"""Sets of atoms as bitsets: the pure arithmetic the regions' coverage questions run on
(``decisioning.regions``). An attribute's values are cut into atoms, numbered from 0; a condition
holds on a set of them, a bitset (bit k: atom k)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from decisioning.budget import Budget


def range_mask(first: int, last: int) -> int:
    """Atoms ``first..last`` inclusive."""
    if last < first:
        return 0
    return ((1 << (last + 1)) - 1) & ~((1 << first) - 1)


def range_classes(mine: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
    """``mine`` cut into the classes of atoms that every range (first atom, one after the last)
    holds entirely or not at all: the atoms between consecutive ends of ranges (clipped to
    ``mine``'s span, where the ranges' atoms outside it cannot matter), gathered by the set of
    ranges holding them (kept exactly, as a bitset toggled at each end); the atoms no range holds
    first."""
    first, last = (mine & -mine).bit_length() - 1, mine.bit_length()
    spans = set()
    for low, high in ranges:
        low, high = max(low, first), min(high, last)
        if low < high and (low > first or high < last):  # one holding the whole span cuts nothing
            spans.add((low, high))
    toggles: dict[int, int] = {}
    for k, (low, high) in enumerate(spans):
        bit = 1 << k
        toggles[low] = toggles.get(low, 0) ^ bit
        toggles[high] = toggles.get(high, 0) ^ bit
    classes: dict[int, int] = {0: 0}
    holders, start = 0, first
    for point in sorted(toggles):
        if point > start:
            segment = range_mask(start, point - 1) & mine
            if segment:
                classes[holders] = classes.get(holders, 0) | segment
        holders ^= toggles[point]
        start = point
    classes[0] |= (mine >> start) << start
    return [part for part in classes.values() if part]


def meeting_ranges(entries: Sequence[tuple[int, int]], masks: Iterable[int]) -> dict[int, int]:
    """For each mask, the entries ``(j, mask_j)`` whose range of atoms meets it, as a bitset of j:
    those starting at or before its end (one sweep) and ending at or after its start (another)."""
    spans = [((m & -m).bit_length() - 1, m.bit_length() - 1, 1 << j) for j, m in entries]
    queries = [((m & -m).bit_length() - 1, m.bit_length() - 1, m) for m in masks]
    starting: dict[int, int] = {}
    so_far, k = 0, 0
    by_start = sorted(spans)
    for _low, high, mask in sorted(queries, key=lambda q: q[1]):
        while k < len(by_start) and by_start[k][0] <= high:
            so_far |= by_start[k][2]
            k += 1
        starting[mask] = so_far
    meets: dict[int, int] = {}
    so_far, k = 0, 0
    by_end = sorted(spans, key=lambda s: -s[1])
    for low, _high, mask in sorted(queries, key=lambda q: -q[0]):
        while k < len(by_end) and by_end[k][1] >= low:
            so_far |= by_end[k][2]
            k += 1
        meets[mask] = starting[mask] & so_far
    return meets


def meeting_atoms(
    entries: Sequence[tuple[int, int]], masks: Iterable[int], size: int, budget: Budget | None
) -> dict[int, int]:
    """For each mask, the entries ``(j, mask_j)`` (``j`` below ``size``) holding one of its atoms,
    as a bitset of j.

    First, per atom, the entries holding it: when the masks are dense (long ``is_one_of`` lists),
    by transposing the bit matrix as text (``zip`` of the rows' binary digits, at C speed), else bit
    by bit. Then each mask's answer from its bytes: per byte position and value, the entries
    holding one of those eight atoms, made once (a long list costs a lookup per byte, not per atom)."""
    width = max((mask.bit_length() for _, mask in entries), default=0)
    ones = sum(mask.bit_count() for _, mask in entries)
    holding: list[int] = [0] * width
    if ones * 32 > size * width:
        rows = ["0" * width] * size
        for j, mask in entries:
            rows[j] = format(mask, f"0{width}b")
        for atom, column in enumerate(reversed(list(zip(*rows, strict=True)))):
            holding[atom] = int("".join(reversed(column)), 2)
        if budget is not None:
            budget.spend(size * width // 32 + 1)
    else:
        for j, mask in entries:
            bit = 1 << j
            rest = mask
            while rest:
                low = rest & -rest
                holding[low.bit_length() - 1] |= bit
                rest ^= low
        if budget is not None:
            budget.spend(ones + 1)
    by_byte: dict[tuple[int, int], int] = {}
    meets: dict[int, int] = {}
    for mask in masks:
        found = 0
        for position, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
            if byte:
                union = by_byte.get((position, byte))
                if union is None:
                    union = 0
                    for bit in range(8):
                        atom = 8 * position + bit
                        if byte >> bit & 1 and atom < width:
                            union |= holding[atom]
                    by_byte[position, byte] = union
                found |= union
        if budget is not None:
            budget.spend(mask.bit_length() // 8 + 1)
        meets[mask] = found
    return meets
