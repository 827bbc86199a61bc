"""Offers: ``offer.create``, ``offer.update``, ``offer.move`` (within its stage or to another) and
``offer.delete``. A stage has at most one fallback offer, and a fallback has no conditions."""

from __future__ import annotations

from typing import Any

from blueprint.models import Offer, Stage
from blueprint.payloads import OFFER_CREATE, OFFER_MOVE, OFFER_UPDATE
from blueprint.ranks import neighbour, place
from blueprint.selectors import offer_fields
from blueprint.services.board_counts import count_check
from blueprint.services.fields import (
    Problems,
    new_key,
    only_fields,
    position_field,
    read_values,
    refuse_key_change,
)
from blueprint.services.operations import Applied, OpContext, handles, keyed_update
from blueprint.services.stage_ops import stage_by_key
from decisioning.errors import InvalidInput, NotFound
from decisioning.limits import LIMITS
from decisioning.words import key_mark


def offer_by_key(ctx: OpContext, key: Any) -> Offer:
    if not isinstance(key, str):
        raise InvalidInput("Name the offer by its key.", field="key")
    offer = Offer.objects.select_related("stage").filter(blueprint=ctx.blueprint, key=key).first()
    if offer is None:
        raise NotFound(
            f"There is no such offer{key_mark(key)} in this blueprint; it may have been deleted.",
            field="key",
        )
    return offer


def _priority(stage: Stage, key: str) -> int:
    """The offer's place in its stage's priority order, from 1."""
    ordered = sorted(Offer.objects.filter(stage=stage).only("key", "rank"), key=lambda o: (o.rank, o.pk))
    return next((i for i, o in enumerate(ordered, 1) if o.key == key), len(ordered) + 1)


def _offers_in(stage: Stage, except_key: str | None) -> list[Offer]:
    return [
        o
        for o in Offer.objects.filter(stage=stage).only("key", "rank", "fallback", "name")
        if o.key != except_key
    ]


def _check_fallback(
    stage: Stage, fallback: bool, groups: list[Any], except_key: str | None, problems: Problems
) -> None:
    if not fallback:
        return
    if groups:
        problems.add(
            "fallback",
            "A fallback offer has no conditions: it catches everyone in the stage who qualifies for nothing "
            "else. Remove its conditions, or make it an ordinary offer.",
        )
    other = Offer.objects.filter(stage=stage, fallback=True).exclude(key=except_key or "").first()
    if other is not None:
        problems.add(
            "fallback", f"Stage '{stage.name}' already has a fallback offer, '{other.name}'; a stage has one."
        )


def _check_dates(starts_on: str, ends_on: str, problems: Problems) -> None:
    """An offer's last day is not before its first (both "YYYY-MM-DD", or "" when open)."""
    if starts_on and ends_on and ends_on < starts_on:
        problems.add(
            "ends_on",
            f"The end date ({ends_on}) is before the start date ({starts_on}): an offer ends on or after "
            "the day it starts.",
        )


@handles("offer.create")
def _offer_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, OFFER_CREATE.names, problems)
    stage = stage_by_key(ctx, payload.get("stage"), field="stage")
    values = read_values(payload, OFFER_CREATE, problems, ctx)
    name, description, channel = values.get("name"), values.get("description", ""), values.get("channel", "")
    fallback, groups = values.get("fallback", False), values.get("groups", [])
    taken = set(Offer.objects.filter(blueprint=ctx.blueprint).values_list("key", flat=True))
    if not ctx.replay:
        count_check(
            len(taken),
            "offers_per_blueprint",
            "offers",
            f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers",
        )
        count_check(
            Offer.objects.filter(stage=stage).count(),
            "offers_per_stage",
            "offers",
            f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{stage.name}' is full",
        )
    key = new_key(payload, name, taken, problems, "offer")
    before, after, rank = position_field(payload, problems)
    _check_fallback(stage, fallback, groups, None, problems)
    _check_dates(values.get("starts_on", ""), values.get("ends_on", ""), problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = place(
        _offers_in(stage, None),
        before=before,
        after=after,
        rank=rank,
        what="an offer",
        where=f"stage '{stage.name}'",
    )
    offer = Offer.objects.create(
        blueprint=ctx.blueprint,
        stage=stage,
        key=key,
        name=name,
        description=description,
        channel=channel,
        fallback=fallback,
        groups=groups,
        rank=rank,
        content_ref=values.get("content_ref", ""),
        starts_on=values.get("starts_on", ""),
        ends_on=values.get("ends_on", ""),
        tags=values.get("tags", []),
    )
    return Applied(
        {**offer_fields(offer), "rank": offer.rank},
        [{"type": "offer.delete", "payload": {"key": offer.key}}],
        f"added offer '{offer.name}' to {stage.name}",
    )


@handles("offer.update")
def _offer_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, OFFER_UPDATE.names, problems)
    refuse_key_change(payload, offer.key, problems)
    changes = read_values(payload, OFFER_UPDATE, problems, ctx)
    fallback = changes.get("fallback", offer.fallback)
    _check_fallback(offer.stage, fallback, changes.get("groups", offer.groups), offer.key, problems)
    _check_dates(changes.get("starts_on", offer.starts_on), changes.get("ends_on", offer.ends_on), problems)
    problems.raise_if_any()
    return keyed_update(offer, "offer", changes)


@handles("offer.move")
def _offer_move(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, OFFER_MOVE.names, problems)
    target = stage_by_key(ctx, payload.get("stage") or offer.stage.key, field="stage")
    before, after, rank = position_field(payload, problems)
    if target.pk != offer.stage_id:
        _check_fallback(target, offer.fallback, offer.groups, offer.key, problems)
        if not ctx.replay:
            count_check(
                Offer.objects.filter(stage=target).count(),
                "offers_per_stage",
                "stage",
                f"A stage holds at most {LIMITS.offers_per_stage} offers, and '{target.name}' is full; "
                "move or delete one of its offers first",
            )
    problems.raise_if_any()
    old_stage, old_rank = offer.stage, offer.rank
    old_priority = _priority(old_stage, offer.key)
    undo_place = {**neighbour(_offers_in(old_stage, offer.key), old_rank), "rank": old_rank}
    offer.rank = place(
        _offers_in(target, offer.key),
        before=before,
        after=after,
        rank=rank,
        what="an offer",
        where=f"stage '{target.name}'",
        moving=offer.key,
    )
    offer.stage = target
    offer.save(update_fields=["stage", "rank"])
    if target.pk != old_stage.pk:
        summary = f"moved offer '{offer.name}' to {target.name}"
    else:
        # as the diff says it: "moved offer 'X' up to priority 2 (was 4) in Onboarding"
        new_priority = _priority(target, offer.key)
        direction = "up" if new_priority < old_priority else "down" if new_priority > old_priority else ""
        moved = f"moved offer '{offer.name}' {direction} to" if direction else f"kept offer '{offer.name}' at"
        was = f" (was {old_priority})" if direction else ""
        summary = f"{moved} priority {new_priority}{was} in {target.name}"
    return Applied(
        {"key": offer.key, "stage": target.key, "before": before, "after": after, "rank": offer.rank},
        [{"type": "offer.move", "payload": {"key": offer.key, "stage": old_stage.key, **undo_place}}],
        summary,
    )


@handles("offer.delete")
def _offer_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    offer = offer_by_key(ctx, payload.get("key"))
    where = {**neighbour(_offers_in(offer.stage, offer.key), offer.rank), "rank": offer.rank}
    snapshot = {**offer_fields(offer), **where}
    offer.delete()
    return Applied(
        {"key": snapshot["key"]},
        [{"type": "offer.create", "payload": snapshot}],
        f"deleted offer '{snapshot['name']}' from {offer.stage.name}",
    )
