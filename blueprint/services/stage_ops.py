"""Stages: ``stage.create``, ``stage.update``, ``stage.move`` and ``stage.delete`` (with its offers,
which the inverse recreates)."""

from __future__ import annotations

from typing import Any

from blueprint.models import Offer, Stage
from blueprint.payloads import STAGE_CREATE, STAGE_MOVE, STAGE_UPDATE
from blueprint.ranks import neighbour, place
from blueprint.selectors import offer_fields, stage_fields
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
from decisioning.errors import InvalidInput, NotFound
from decisioning.limits import LIMITS
from decisioning.words import key_mark


def _stages_except(ctx: OpContext, key: str | None) -> list[Stage]:
    return [s for s in Stage.objects.filter(blueprint=ctx.blueprint).only("key", "rank") if s.key != key]


def stage_by_key(ctx: OpContext, key: Any, field: str = "key") -> Stage:
    if not isinstance(key, str):
        raise InvalidInput("Name the stage by its key.", field=field)
    stage = Stage.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if stage is None:
        raise NotFound(
            f"There is no such stage{key_mark(key)} in this blueprint; it may have been deleted.",
            field=field,
        )
    return stage


@handles("stage.create")
def _stage_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, STAGE_CREATE.names, problems)
    values = read_values(payload, STAGE_CREATE, problems, ctx)
    name, description, entry = values.get("name"), values.get("description", ""), values.get("entry", [])
    siblings = _stages_except(ctx, None)
    if not ctx.replay:
        count_check(
            len(siblings),
            "stages_per_blueprint",
            "stages",
            f"A blueprint holds at most {LIMITS.stages_per_blueprint} stages",
        )
    key = new_key(payload, name, {s.key for s in siblings}, problems, "stage")
    before, after, rank = position_field(payload, problems)
    problems.raise_if_any()
    assert key is not None and name is not None
    rank = place(siblings, before=before, after=after, rank=rank, what="a stage", where="this blueprint")
    stage = Stage.objects.create(
        blueprint=ctx.blueprint, key=key, name=name, description=description, entry=entry, rank=rank
    )
    return Applied(
        {**stage_fields(stage), "rank": stage.rank},
        [{"type": "stage.delete", "payload": {"key": stage.key}}],
        f"added stage '{stage.name}'",
    )


@handles("stage.update")
def _stage_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, STAGE_UPDATE.names, problems)
    refuse_key_change(payload, stage.key, problems)
    changes = read_values(payload, STAGE_UPDATE, problems, ctx)
    problems.raise_if_any()
    return keyed_update(stage, "stage", changes)


@handles("stage.move")
def _stage_move(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, STAGE_MOVE.names, problems)
    before, after, rank = position_field(payload, problems)
    problems.raise_if_any()
    old_rank, others = stage.rank, _stages_except(ctx, stage.key)
    undo_place = {**neighbour(others, old_rank), "rank": old_rank}
    stage.rank = place(
        others,
        before=before,
        after=after,
        rank=rank,
        what="a stage",
        where="this blueprint",
        moving=stage.key,
    )
    stage.save(update_fields=["rank"])
    names = {s.key: s.name for s in Stage.objects.filter(blueprint=ctx.blueprint, key__in=[before, after])}
    # as the diff says it: by the stages' names, never their keys
    where = (
        f"before '{names.get(before, before)}'"
        if before
        else f"after '{names.get(after, after)}'"
        if after
        else "to the end"
    )
    return Applied(
        {"key": stage.key, "before": before, "after": after, "rank": stage.rank},
        [{"type": "stage.move", "payload": {"key": stage.key, **undo_place}}],
        f"moved stage '{stage.name}' {where}" if rank is None else f"moved stage '{stage.name}' back",
    )


@handles("stage.delete")
def _stage_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    stage = stage_by_key(ctx, payload.get("key"))
    offers = sorted(Offer.objects.filter(stage=stage), key=lambda o: (o.rank, o.pk))
    where = {**neighbour(_stages_except(ctx, stage.key), stage.rank), "rank": stage.rank}
    inverse = [{"type": "stage.create", "payload": {**stage_fields(stage), **where}}]
    inverse += [{"type": "offer.create", "payload": {**offer_fields(o), "rank": o.rank}} for o in offers]
    name = stage.name
    stage.delete()
    extra = f" and its {len(offers)} offer{'s' if len(offers) != 1 else ''}" if offers else ""
    return Applied({"key": payload["key"]}, inverse, f"deleted stage '{name}'{extra}")
