"""The limits that depend on the board (``decisioning.limits``): stages, offers per stage and
attributes, counted before and after a batch of operations, counting only what its steps can add
to, so that an undo of an edit never counts and an edit past a limit is refused naming it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from blueprint.models import (
    Attribute,
    Offer,
    Stage,
)
from decisioning.errors import LimitExceeded
from decisioning.limits import LIMITS, over_limit
from decisioning.words import key_mark


@dataclass(frozen=True)
class Counting:
    """Which counts some steps can add to: only those are counted (an undo of an edit, none)."""

    stages: bool = False
    offers: bool = False
    attributes: bool = False
    offers_into: frozenset[str] = frozenset()  # stage keys offers are created in or moved to


def counting_of(steps: Sequence[Mapping[str, Any]]) -> Counting:
    types = {step.get("type") for step in steps if isinstance(step, Mapping)}
    into = {
        step["payload"]["stage"]
        for step in steps
        if isinstance(step, Mapping)
        and step.get("type") in ("offer.create", "offer.move")
        and isinstance(step.get("payload"), Mapping)
        and isinstance(step["payload"].get("stage"), str)
    }
    return Counting(
        stages="stage.create" in types,
        offers="offer.create" in types,
        attributes="attribute.create" in types,
        offers_into=frozenset(into),
    )


@dataclass(frozen=True)
class BoardCounts:
    stages: int
    offers: int
    attributes: int
    offers_by_stage: dict[str, int]  # of the stages counted, by key


def board_counts(blueprint_id: int, counting: Counting) -> BoardCounts:
    """The counts ``counting`` asks for (the others are 0): stages, offers in all and in the given
    stages, attributes."""
    by_stage: dict[str, int] = {}
    if counting.offers_into:
        by_stage = dict(
            Offer.objects.filter(blueprint_id=blueprint_id, stage__key__in=counting.offers_into)
            .order_by()
            .values_list("stage__key")
            .annotate(n=Count("id"))
            .values_list("stage__key", "n")
        )
    return BoardCounts(
        stages=Stage.objects.filter(blueprint_id=blueprint_id).count() if counting.stages else 0,
        offers=Offer.objects.filter(blueprint_id=blueprint_id).count() if counting.offers else 0,
        attributes=Attribute.objects.filter(blueprint_id=blueprint_id).count() if counting.attributes else 0,
        offers_by_stage=by_stage,
    )


def counts_check(before: BoardCounts, after: BoardCounts) -> None:
    """Refuse (``LimitExceeded``) a replay that leaves a count above its limit and above where it
    started, when it had started above the limit already (see ``operations_apply_inverse``)."""
    problems: dict[str, list[str]] = {}

    def grew(name: str, was: int, now: int, field: str, sentence: str) -> None:
        if now > getattr(LIMITS, name) and was > getattr(LIMITS, name) and now > was:
            problems.setdefault(field, []).append(over_limit(name, sentence))

    grew(
        "stages_per_blueprint",
        before.stages,
        after.stages,
        "stages",
        f"A blueprint holds at most {LIMITS.stages_per_blueprint} stages, and this one has {before.stages} "
        "already; delete some first",
    )
    grew(
        "offers_per_blueprint",
        before.offers,
        after.offers,
        "offers",
        f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers, and this one has {before.offers} "
        "already; delete some first",
    )
    grew(
        "attributes_per_blueprint",
        before.attributes,
        after.attributes,
        "attributes",
        f"A blueprint's catalog holds at most {LIMITS.attributes_per_blueprint} attributes, and this one "
        f"has {before.attributes} already; remove some first",
    )
    for key, now in sorted(after.offers_by_stage.items()):
        was = before.offers_by_stage.get(key, 0)
        grew(
            "offers_per_stage",
            was,
            now,
            "offers",
            f"A stage holds at most {LIMITS.offers_per_stage} offers, and one{key_mark(key)} has {was} already; "
            "move or delete some first",
        )
    if problems:
        raise LimitExceeded(problems)


def count_check(count: int, name: str, field: str, sentence: str) -> None:
    """Refuse an edit that would add one more to ``count`` past its limit ``name``."""
    if count >= getattr(LIMITS, name):
        raise LimitExceeded(over_limit(name, sentence), field=field)
