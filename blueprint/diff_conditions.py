"""What changed in a list of condition groups (an offer's, or a stage's entry), said as whom it now
reaches (``blueprint.diff``): a group added or removed, or a group whose conditions changed, paired
with the group it most resembles."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from blueprint.diff_words import Catalog, Json, canonical, group_phrase, groups_phrase, whose
from decisioning.conditions import LIST_OPERATORS

if TYPE_CHECKING:
    from blueprint.diff import Change


Group = Sequence[Mapping[str, Any]]
# "Change" as a string: it is blueprint.diff's, which imports this module
Make = Callable[[str, Json, Json], "Change"]


def groups_changes(
    subject: str,
    verb: str,
    everyone: str,
    before: Sequence[Group],
    after: Sequence[Group],
    old_catalog: Catalog,
    new_catalog: Catalog,
    make: Make,
) -> list[Change]:
    """What changed in who an offer reaches (or a stage admits): groups of conditions, any of which
    is enough, each holding when all its conditions do."""
    if canonical(list(before)) == canonical(list(after)):
        return []
    if not before:
        return [
            make(
                f"{subject} now {verb} only customers whose {groups_phrase(after, new_catalog)} "
                f"(was {everyone})",
                [],
                [list(g) for g in after],
            )
        ]
    if not after:
        return [
            make(
                f"{subject} now {verb} {everyone} (was only customers whose "
                f"{groups_phrase(before, old_catalog)})",
                [list(g) for g in before],
                [],
            )
        ]
    unmatched_after = [g for g in after]
    unmatched_before: list[Group] = []
    for group in before:
        same = next((g for g in unmatched_after if _same_group(g, group)), None)
        if same is None:
            unmatched_before.append(group)
        else:
            unmatched_after.remove(same)
    changes: list[Change] = []
    for b_group, a_group in _pair_groups(unmatched_before, unmatched_after):
        if b_group is None and a_group is not None:
            changes.append(
                make(
                    f"{subject} now also {verb} customers whose {group_phrase(a_group, new_catalog)}",
                    None,
                    list(a_group),
                )
            )
        elif a_group is None and b_group is not None:
            changes.append(
                make(
                    f"{subject} no longer {verb} customers whose {group_phrase(b_group, old_catalog)}",
                    list(b_group),
                    None,
                )
            )
        elif a_group is not None and b_group is not None:
            changes += _conditions_changes(subject, verb, b_group, a_group, old_catalog, new_catalog, make)
    return changes


def _same_group(a: Group, b: Group) -> bool:
    return sorted(canonical(c) for c in a) == sorted(canonical(c) for c in b)


def _pair_groups(before: list[Group], after: list[Group]) -> list[tuple[Group | None, Group | None]]:
    """Groups that changed, paired with their new form when they share an attribute (greedily, most
    shared first); the rest are a group taken away or a group added."""
    candidates = []
    for i, b in enumerate(before):
        for j, a in enumerate(after):
            shared = len({c.get("attribute") for c in b} & {c.get("attribute") for c in a})
            if shared:
                candidates.append((-shared, i, j))
    pairs: list[tuple[Group | None, Group | None]] = []
    used_b: set[int] = set()
    used_a: set[int] = set()
    for _, i, j in sorted(candidates):
        if i not in used_b and j not in used_a:
            used_b.add(i)
            used_a.add(j)
            pairs.append((before[i], after[j]))
    pairs += [(b, None) for i, b in enumerate(before) if i not in used_b]
    pairs += [(None, a) for j, a in enumerate(after) if j not in used_a]
    return pairs


def _conditions_changes(
    subject: str,
    verb: str,
    before: Group,
    after: Group,
    old_catalog: Catalog,
    new_catalog: Catalog,
    make: Make,
) -> list[Change]:
    """One group's conditions, old and new: values added to or taken from a list, a condition whose
    value or operator changed, and conditions required now or no longer."""
    old_left = [c for c in before]
    new_left = []
    for condition in after:
        same = next((c for c in old_left if canonical(c) == canonical(condition)), None)
        if same is None:
            new_left.append(condition)
        else:
            old_left.remove(same)
    pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for same_operator in (True, False):
        for condition in list(new_left):
            match = next(
                (
                    c
                    for c in old_left
                    if c.get("attribute") == condition.get("attribute")
                    and (not same_operator or c.get("operator") == condition.get("operator"))
                ),
                None,
            )
            if match is not None:
                pairs.append((match, condition))
                old_left.remove(match)
                new_left.remove(condition)
    changes: list[Change] = []
    for b, a in pairs:
        operator = a.get("operator")
        if (
            operator == b.get("operator")
            and operator in LIST_OPERATORS
            and isinstance(a.get("value"), list)
            and isinstance(b.get("value"), list)
        ):
            added = [v for v in a["value"] if v not in b["value"]]
            removed = [v for v in b["value"] if v not in a["value"]]
            if added:
                shown = {**a, "value": added}
                changes.append(
                    make(
                        f"{subject} now also {verb} customers whose {whose(shown, new_catalog)}",
                        dict(b),
                        dict(a),
                    )
                )
            if removed:
                shown = {**b, "value": removed}
                changes.append(
                    make(
                        f"{subject} no longer {verb} customers whose {whose(shown, old_catalog)}",
                        dict(b),
                        dict(a),
                    )
                )
            if added or removed:
                continue
        changes.append(
            make(
                f"{subject} now requires {whose(a, new_catalog)} (was: {whose(b, old_catalog)})",
                dict(b),
                dict(a),
            )
        )
    for b in old_left:
        changes.append(make(f"{subject} no longer requires {whose(b, old_catalog)}", dict(b), None))
    for a in new_left:
        changes.append(make(f"{subject} now also requires {whose(a, new_catalog)}", None, dict(a)))
    return changes
