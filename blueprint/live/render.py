"""The live board's frames: operations turned into the HTML fragments a page load would show.

Rendering only — the socket (blueprint/live/consumer.py) decides who gets what and when. Every
fragment is rendered from the database as it is now (right after the operation's commit, or when a
worker renders it later), not from what the operation did, so a frame never brings back a state
that an operation committed before its render already changed; the client applies frames in
``rev`` order, and the last one to touch an element leaves it as the database has it.
The fragment rules are those of the live-board protocol (which fragments each operation sends).

Each function loads the board once, however many fragments it renders. Call them from sync
code (the consumer wraps them in ``database_sync_to_async``).
"""

from __future__ import annotations

import copy
from typing import Any

from django.db.models import Count
from django.template.loader import render_to_string

from blueprint.board_context import BoardContext
from blueprint.models import Blueprint, Operation, Role
from blueprint.selectors import board_load, member_face, operations_after, operations_recent
from blueprint.version_selectors import version_badge_of
from decisioning.errors import NotFound

Fragment = dict[str, Any]
Frame = dict[str, Any]

# More missing operations than this and a client is better served by the whole board.
SYNC_LIMIT = 100

# The operations that put an offer or a stage in a new place (their own, one element each).
PLACING = ("offer.create", "offer.move", "stage.create", "stage.move")

# ("offer" | "stage", key) of the elements some operation after a frame's own places again
Later = frozenset[tuple[str, str]]


def operation_frame(blueprint_id: int, operation_id: int, *, can_edit: bool) -> Frame | None:
    """The ``op`` frame of one operation, or None when it (or its blueprint) no longer exists."""
    operation = (
        Operation.objects.select_related("actor").filter(pk=operation_id, blueprint_id=blueprint_id).first()
    )
    if operation is None:
        return None
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first()
    if blueprint is None:
        return None
    return frame_of(operation, blueprint, can_edit=can_edit)


def frame_of(operation: Operation, blueprint: Blueprint, *, can_edit: bool) -> Frame:
    """The ``op`` frame of ``operation`` (its actor loaded) on ``blueprint`` as just read, or as
    it is right after the operation's commit (a copy is drawn: the instance is left as it is)."""
    ctx = _context(copy.copy(blueprint), can_edit=can_edit, stages_of=_offer_stages(operation))
    # only a placing operation's fragment names the element it goes before (see _following)
    placements = _placements_after(ctx, operation.rev) if operation.type in PLACING else []
    return _op_frame(ctx, operation, frozenset((kind, key) for _, kind, key in placements))


def lint_frame(blueprint_id: int, *, can_edit: bool, unless: str | None = None) -> Frame:
    """The ``lint`` frame: the lint panel and summary of the board as it is now, at its ``rev``;
    no fragments when the lint's digest is ``unless`` (what every receiver shows already)."""
    ctx = _board_context(blueprint_id, can_edit=can_edit)
    if ctx is None:
        raise NotFound("No such blueprint.", field="blueprint")
    return {"type": "lint", "rev": ctx.blueprint.rev, **_lint_part(ctx, unless)}


def board_reset_frame(blueprint_id: int, *, can_edit: bool) -> Frame:
    """The whole board, for a client that is too far behind (or ahead) to catch up frame by frame."""
    ctx = _board_context(blueprint_id, can_edit=can_edit)
    if ctx is None:
        raise NotFound("No such blueprint.", field="blueprint")
    return _reset(ctx)


def sync_frame(blueprint_id: int, since: int, *, can_edit: bool, lint_shown: str | None = None) -> Frame:
    """What a client at ``since`` missed: the ``op`` frames after it, in order, or a ``reset``; and
    the lint as it is now, unless its digest is ``lint_shown`` (what the client's socket sent it
    last)."""
    ctx = _board_context(blueprint_id, can_edit=can_edit)
    if ctx is None:
        raise NotFound("No such blueprint.", field="blueprint")
    rev = ctx.blueprint.rev
    # ``since`` 0 is how a client asks for the whole board (after a refusal, say): a page is never
    # rendered before the blueprint exists, and a board at rev 0 is empty, so a reset costs nothing
    if since <= 0 or since > rev or rev - since > SYNC_LIMIT:
        return _reset(ctx)
    # ``until``: an operation committed after the blueprint was read arrives by broadcast anyway
    missed = operations_after(blueprint_id, since, until=rev)
    placements = _placements_after(ctx, since)
    frames = [
        _op_frame(ctx, op, frozenset((kind, key) for r, kind, key in placements if r > op.rev))
        for op in missed
    ]
    return {"type": "sync", "rev": rev, "frames": frames, **_lint_part(ctx, lint_shown)}


def version_frame(blueprint_id: int) -> Frame | None:
    """The ``version`` frame: the board's version badge as it is now, after a version was published
    or decided (not an operation: no ``rev`` of its own). The same for every role."""
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first()
    if blueprint is None:
        return None
    html = render_to_string(
        "blueprint/version_parts.html#version_badge", {"badge": version_badge_of(blueprint)}
    )
    return {"type": "version", "fragments": [{"do": "replace", "id": "version-badge", "html": html}]}


# --- Rendering ---------------------------------------------------------------------------------


def _board_context(blueprint_id: int, *, can_edit: bool) -> BoardContext | None:
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first()
    return None if blueprint is None else _context(blueprint, can_edit=can_edit)


def _context(
    blueprint: Blueprint, *, can_edit: bool, stages_of: tuple[list[str], str] | None = None
) -> BoardContext:
    """The board as it is now; only some of its stages with ``stages_of`` (see ``board_load``)."""
    # The partials read only whether the role may edit (and frames are shared by everyone who
    # may, whatever their role), so a representative role stands in for the receiver's.
    blueprint.role = Role.EDITOR if can_edit else Role.VIEWER  # type: ignore[attr-defined]
    board = None if stages_of is None else board_load(blueprint, stages_of=stages_of)
    return BoardContext(None, blueprint, board)


def _offer_stages(operation: Operation) -> tuple[list[str], str] | None:
    """What the frame of an operation on one offer draws: (the stages it names, the offer), whose
    columns hold every fragment of the frame (see ``_fragments``); None for any other operation,
    which may need the whole board."""
    if operation.type not in ("offer.create", "offer.update", "offer.move", "offer.delete"):
        return None
    named = _stages_named(operation)
    return named, str(operation.payload.get("key", ""))


def _placements_after(ctx: BoardContext, rev: int) -> list[tuple[int, str, str]]:
    """(rev, "offer" | "stage", key) of every operation after ``rev`` that placed an element.

    Read after the board (``ctx.columns``), so that every placement the rendered board shows is
    among them; one that happened later still is harmless (see ``_following``)."""
    ctx.columns  # noqa: B018  # the board first: see above
    rows = (
        Operation.objects.filter(blueprint_id=ctx.blueprint.pk, rev__gt=rev, type__in=PLACING)
        .order_by("rev")
        .values_list("rev", "type", "payload__key")
    )
    return [(r, op_type.split(".", 1)[0], str(key)) for r, op_type, key in rows]


def _following(keys: list[str], index: int, kind: str, later: Later) -> str | None:
    """The key a placed element goes before: the next one in the list that no later operation
    places again. (A place fragment also carries the list's whole ``order`` as it is now, by which
    the client puts the list's elements it has in that order: what makes every page end in the
    database's order even when its own move was still on its way.)

    Fragments show the present, but a client applies them in rev order: when it applies this
    frame, an element that a later operation creates or moves is not in this list yet, or not
    where it will be; being placed before it would put this one in the wrong place (and the later
    frame moves only its own element, not the ones anchored to it). The elements no later
    operation places are on the client's page already, in their final order."""
    for key in keys[index + 1 :]:
        if (kind, key) not in later:
            return key
    return None


def _reset(ctx: BoardContext) -> Frame:
    """The whole board, and what a page shows of the blueprint outside it (title, activity, lint),
    which the operations the client skipped may have changed too."""
    activity = operations_recent(ctx.blueprint.pk)
    return {
        "type": "reset",
        "lint_digest": ctx.lint.digest,
        "rev": ctx.blueprint.rev,
        "html": _board_html(ctx),
        "fragments": [
            {"do": "replace", "id": "board-title", "html": ctx.render_string("board_title")},
            {"do": "replace", "id": "activity", "html": ctx.render_string("activity", activity=activity)},
            *_lint_fragments(ctx),
        ],
    }


def _lint_fragments(ctx: BoardContext) -> list[Fragment]:
    """The lint summary and panel for the board as it is now. Any operation may change the lint of
    any stage (a renamed attribute rewrites messages, a moved offer changes who wins), so both go
    whole; the panel holds the markers of every card (static/js/lint.js). They are most of what a
    page is sent, and derived from the board, so no ``op`` frame carries them: a ``lint`` frame
    follows a burst of operations (blueprint.live.hub.LintPush), and ``sync`` and ``reset`` bring
    them."""
    return [
        {"do": "replace", "id": "lint-summary", "html": ctx.render_string("lint_summary", lint=ctx.lint)},
        {"do": "replace", "id": "lint", "html": ctx.render_string("lint", lint=ctx.lint)},
    ]


def _lint_part(ctx: BoardContext, unless: str | None) -> dict[str, Any]:
    """``lint_digest`` and the lint ``fragments`` (none when the digest is ``unless``)."""
    digest = ctx.lint.digest
    return {"lint_digest": digest, "fragments": [] if digest == unless else _lint_fragments(ctx)}


def _board_html(ctx: BoardContext) -> str:
    return ctx.render_string("board", columns=ctx.columns, board=ctx.board)


def _op_frame(ctx: BoardContext, operation: Operation, later: Later) -> Frame:
    """The frame of one operation (without the lint: see ``_lint_fragments``)."""
    face = member_face(operation.actor)
    operation.face = face  # type: ignore[attr-defined]  # what the activity_item partial draws (and _by)
    fragments = _fragments(ctx, operation, later)
    fragments.append(
        {
            "do": "prepend",
            "parent": "activity-list",
            "id": f"activity-{operation.rev}",
            "html": ctx.render_string("activity_item", op=operation),
        }
    )
    return {
        "type": "op",
        "rev": operation.rev,
        "id": operation.pk,
        "op": operation.type,
        "client_id": operation.client_id,
        "actor": {"id": face["id"], "name": face["name"]},
        "summary": operation.summary,
        # the broadcast carries the moment of commit; a frame sent later (sync) has the log's time
        "committed_at": operation.created_at.timestamp(),
        "fragments": fragments,
    }


def _fragments(ctx: BoardContext, operation: Operation, later: Later) -> list[Fragment]:
    op_type, payload = operation.type, operation.payload
    if op_type == "blueprint.update":
        return [{"do": "replace", "id": "board-title", "html": ctx.render_string("board_title")}]
    if op_type == "attribute.create":
        return []  # nothing on the board names an attribute no condition uses yet
    if op_type.startswith("attribute."):
        return [_board_fragment(ctx)]  # chips of any card may read differently now
    if op_type.startswith("stage."):
        return _stage_fragments(ctx, operation, later)
    if op_type.startswith("offer."):
        key = str(payload.get("key", ""))
        if op_type == "offer.update":
            return [_offer_fragment(ctx, key, later, place=False)]
        fragments = [
            {"do": "remove", "id": f"offer-{key}", "by": _by(operation)}
            if op_type == "offer.delete"
            else _offer_fragment(ctx, key, later, place=True)
        ]
        return fragments + [_count_fragment(ctx, s) for s in _stages_touched(ctx, operation, key)]
    return [_board_fragment(ctx)]  # an operation this module does not know: the whole board is safe


def _stage_fragments(ctx: BoardContext, operation: Operation, later: Later) -> list[Fragment]:
    key = str(operation.payload.get("key", ""))
    element = f"stage-{key}"
    index, column = ctx.find_column(key)
    if operation.type == "stage.delete":
        if not ctx.columns:
            return [_board_fragment(ctx)]  # the board shows its empty state instead of columns
        return [{"do": "remove", "id": element, "by": _by(operation)}]
    if operation.type in ("stage.create", "stage.move") and (
        len(ctx.columns) <= 1 or (operation.type == "stage.create" and _first_stage(operation))
    ):
        # The receiver's board had no #columns to place the stage in (it showed the empty state).
        return [_board_fragment(ctx)]
    if column is None:
        return [{"do": "remove", "id": element}]
    html = ctx.render_string("stage", column=column)
    if operation.type == "stage.update":
        return [{"do": "replace", "id": element, "html": html}]
    keys = [c.stage.key for c in ctx.columns]
    following = _following(keys, index, "stage", later)
    return [
        {
            "do": "place",
            "id": element,
            "html": html,
            "parent": "columns",
            "before": f"stage-{following}" if following else None,
            "order": [f"stage-{k}" for k in keys],
        }
    ]


def _first_stage(operation: Operation) -> bool:
    """Whether the blueprint had no stage just before this operation, counted from the log.

    The current board cannot tell: a client catching up from before the first stage needs the
    whole board even when more stages have been added since.
    """
    rows = (
        Operation.objects.filter(
            blueprint_id=operation.blueprint_id,
            rev__lt=operation.rev,
            type__in=("stage.create", "stage.delete"),
        )
        .values("type")
        .annotate(n=Count("pk"))
    )
    counts = {row["type"]: row["n"] for row in rows}
    return counts.get("stage.create", 0) - counts.get("stage.delete", 0) <= 0


def _offer_fragment(ctx: BoardContext, key: str, later: Later, *, place: bool) -> Fragment:
    found = ctx.find_card(key)
    element = f"offer-{key}"
    if found is None:
        return {"do": "remove", "id": element}
    column, index = found
    html = ctx.render_string("offer", column=column, card=column.cards[index])
    if not place:
        return {"do": "replace", "id": element, "html": html}
    keys = [c.offer.key for c in column.cards]
    following = _following(keys, index, "offer", later)
    return {
        "do": "place",
        "id": element,
        "html": html,
        "parent": f"stage-{column.stage.key}-offers",
        "before": f"offer-{following}" if following else None,
        "order": [f"offer-{k}" for k in keys],
    }


def _stages_touched(ctx: BoardContext, operation: Operation, key: str) -> list[str]:
    """The stages whose offer count may have changed: the one named, the one left (from the
    inverse) and the one the offer is in now, each once."""
    named = _stages_named(operation)
    found = ctx.find_card(key)
    if found is not None:
        named.append(found[0].stage.key)
    return list(dict.fromkeys(named))


def _stages_named(operation: Operation) -> list[str]:
    """The stages an offer operation names: in its payload and in its inverse (the one left)."""
    named = [operation.payload.get("stage")]
    named += [
        step.get("payload", {}).get("stage") for step in operation.inverse[:1] if isinstance(step, dict)
    ]
    return [s for s in dict.fromkeys(named) if isinstance(s, str) and s]


def _count_fragment(ctx: BoardContext, stage_key: str) -> Fragment:
    element = f"stage-{stage_key}-count"
    _, column = ctx.find_column(stage_key)
    if column is None:
        return {"do": "remove", "id": element}
    return {"do": "replace", "id": element, "html": ctx.render_string("stage_count", column=column)}


def _board_fragment(ctx: BoardContext) -> Fragment:
    return {"do": "board", "html": _board_html(ctx)}


def _by(operation: Operation) -> str:
    return str(operation.face["name"])  # type: ignore[attr-defined]  # set by _op_frame
