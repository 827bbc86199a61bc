"""Reads. The board is loaded in three queries and ordered in Python by fractional rank."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from blueprint.models import Attribute, Blueprint, Membership, Offer, Operation, Role, Stage, Version
from blueprint.snapshots import OFFER_CONTENT_FIELDS, SNAPSHOT_FORMAT, snapshot_hash
from decisioning.conditions import AttributeSpec, attributes_used, condition_sentence, parse_groups
from decisioning.lint import LintReport, lint_blueprint
from decisioning.lru import LRU
from decisioning.model import STAGE_MODE_DEFAULT, BlueprintSpec, OfferSpec, StageSpec


@dataclass
class Card:
    offer: Offer
    # One list of sentences per group: the chips of the card.
    sentences: list[list[str]]


@dataclass
class Column:
    stage: Stage
    entry_sentences: list[list[str]]
    offers: list[Card] = field(default_factory=list)


@dataclass
class Board:
    blueprint: Blueprint
    attributes: list[Attribute]
    catalog: dict[str, AttributeSpec]
    stages: list[Column]
    # False: only some stages were loaded (board_load's ``stages_of``), enough to draw them and
    # their cards, never to lint or snapshot the board
    whole: bool = True

    def column(self, key: str) -> Column | None:
        return next((c for c in self.stages if c.stage.key == key), None)

    def card(self, key: str) -> Card | None:
        return next((card for c in self.stages for card in c.offers if card.offer.key == key), None)


def sentences_for(groups: list[Any], catalog: dict[str, AttributeSpec]) -> list[list[str]]:
    return [[condition_sentence(c, catalog.get(c.get("attribute", ""))) for c in group] for group in groups]


def board_load(blueprint: Blueprint, *, stages_of: tuple[list[str], str] | None = None) -> Board:
    """The board, in journey and priority order. ``stages_of`` = (stage keys, offer key) loads only
    those stages and the one the offer is in, with their offers: what a live frame about one
    offer draws, in the same queries, without reading a big board whole."""
    attributes = list(Attribute.objects.filter(blueprint=blueprint))
    catalog = {a.key: a.spec() for a in attributes}
    stage_rows = Stage.objects.filter(blueprint=blueprint)
    if stages_of is not None:
        keys, offer_key = stages_of
        stage_rows = stage_rows.filter(Q(key__in=keys) | Q(offers__key=offer_key)).distinct()
    stages = sorted(stage_rows, key=lambda s: (s.rank, s.pk))
    columns = {s.pk: Column(stage=s, entry_sentences=sentences_for(s.entry, catalog)) for s in stages}
    offer_rows = Offer.objects.filter(blueprint=blueprint)
    if stages_of is not None:
        offer_rows = offer_rows.filter(stage_id__in=list(columns))
    offers = sorted(offer_rows, key=lambda o: (o.rank, o.pk))
    for offer in offers:
        column = columns[offer.stage_id]
        offer.stage = column.stage  # spare a query per offer
        column.offers.append(Card(offer=offer, sentences=sentences_for(offer.groups, catalog)))
    return Board(
        blueprint=blueprint,
        attributes=attributes,
        catalog=catalog,
        stages=list(columns.values()),
        whole=stages_of is None,
    )


def operation_by_client_id(blueprint_id: int, client_id: str) -> Operation | None:
    """The operation a client sent with ``client_id`` before, if any (how a retry applies once).

    The query repeats the unique index's condition (a client id is never empty there): SQLite does
    not work out that ``client_id = 'x'`` implies ``client_id <> ''``, and without it reads the
    blueprint's whole log on every operation."""
    if not client_id:
        return None
    return (
        Operation.objects.filter(blueprint_id=blueprint_id, client_id=client_id).exclude(client_id="").first()
    )


def blueprint_spec(board: Board) -> BlueprintSpec:
    """The board as the pure cores read it (lint, decisioning): stages and offers in order. Stored
    conditions were accepted when written, so they are not held to limits set since (unbounded)."""
    return BlueprintSpec(
        catalog=board.catalog,
        stages=tuple(
            StageSpec(
                key=column.stage.key,
                name=column.stage.name,
                entry=parse_groups(column.stage.entry, board.catalog, bounded=False),
                offers=tuple(
                    OfferSpec(
                        key=card.offer.key,
                        name=card.offer.name,
                        groups=parse_groups(card.offer.groups, board.catalog, bounded=False),
                        fallback=card.offer.fallback,
                    )
                    for card in column.offers
                ),
            )
            for column in board.stages
        ),
        stage_mode=board.blueprint.stage_mode,
    )


def _lint_content(board: Board) -> dict[str, Any]:
    """What the lint reads of a board: the catalog and the stages and offers in order."""
    snapshot = board_snapshot(board)
    return {
        "attributes": snapshot["attributes"],
        "stages": snapshot["stages"],
        "mode": snapshot["blueprint"].get("stage_mode"),
    }


# The lint reports of the last few board contents, keyed by content hash and decision day. A page
# load, the lint API and every tab's live frame after an edit ask for the lint of the same content;
# the exact analysis of a big board takes a good part of the page's time, so it is done once per
# content and day in each process. Content-addressed, so never stale.
lint_cache: LRU[tuple[str, dt.date], LintReport] = LRU(16)


def board_lint(board: Board, *, at: dt.date | dt.datetime | None = None) -> LintReport:
    """Lint the board for decision day ``at`` (default: today where the server is, TIME_ZONE)."""
    if not board.whole:
        raise ValueError("the lint reads the whole board; this one was loaded in part")
    day = at.date() if isinstance(at, dt.datetime) else (at or timezone.localdate())
    return lint_cache.get_or_make(
        (snapshot_hash(_lint_content(board)), day), lambda: lint_blueprint(blueprint_spec(board), at=day)
    )


def blueprints_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Blueprint]:
    """The blueprints the user is a member of, each annotated with ``role``."""
    if not user.is_authenticated:
        return Blueprint.objects.none()
    role = Membership.objects.filter(blueprint=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    return (
        Blueprint.objects.filter(memberships__user_id=user.pk)
        .annotate(role=Subquery(role))
        .order_by("name", "id")
    )


def blueprint_for_user(user: AbstractBaseUser | AnonymousUser, blueprint_id: Any) -> Blueprint | None:
    """The blueprint annotated with the user's ``role``, or None if they are not a member."""
    try:
        pk = int(blueprint_id)
    except (TypeError, ValueError):
        return None
    return blueprints_for_user(user).filter(pk=pk).first()


def attribute_fields(attribute: Attribute) -> dict[str, Any]:
    """An attribute as the API shows it and as ``attribute.create`` takes it."""
    return {
        "key": attribute.key,
        "label": attribute.label,
        "kind": attribute.kind,
        "type": attribute.type,
        "choices": attribute.choices,
        "unit": attribute.unit,
        "description": attribute.description,
        "source": attribute.source,
    }


def stage_fields(stage: Stage) -> dict[str, Any]:
    """A stage's own fields, as ``stage.create`` takes them."""
    return {"key": stage.key, "name": stage.name, "description": stage.description, "entry": stage.entry}


def offer_fields(offer: Offer) -> dict[str, Any]:
    """An offer's own fields, as ``offer.create`` takes them (``stage`` by key)."""
    return {
        "key": offer.key,
        "stage": offer.stage.key,
        "name": offer.name,
        "description": offer.description,
        "channel": offer.channel,
        "fallback": offer.fallback,
        "groups": offer.groups,
        "content_ref": offer.content_ref,
        "starts_on": offer.starts_on or None,
        "ends_on": offer.ends_on or None,
        "tags": list(offer.tags),
    }


def offer_json(offer: Offer, catalog: dict[str, AttributeSpec]) -> dict[str, Any]:
    return {**offer_fields(offer), "rank": offer.rank, "sentences": sentences_for(offer.groups, catalog)}


def stage_json(
    column: Column, catalog: dict[str, AttributeSpec], *, with_offers: bool = True
) -> dict[str, Any]:
    stage = column.stage
    data: dict[str, Any] = {
        **stage_fields(stage),
        "rank": stage.rank,
        "entry_sentences": column.entry_sentences,
    }
    if with_offers:
        data["offers"] = [offer_json(card.offer, catalog) for card in column.offers]
    return data


def board_json(board: Board) -> dict[str, Any]:
    bp = board.blueprint
    return {
        "id": bp.pk,
        "name": bp.name,
        "context": bp.context,
        "channels": bp.channels,
        "description": bp.description,
        "stage_mode": bp.stage_mode,
        "rev": bp.rev,
        "attributes": [attribute_fields(a) for a in board.attributes],
        "stages": [stage_json(c, board.catalog) for c in board.stages],
    }


def board_snapshot(board: Board) -> dict[str, Any]:
    """The board's content as a canonical snapshot (``blueprint.snapshots``): what publishing stores
    and the JSON export gives."""
    if not board.whole:
        raise ValueError("a snapshot is of the whole board; this one was loaded in part")
    bp = board.blueprint
    return {
        "format": SNAPSHOT_FORMAT,
        "blueprint": {
            "name": bp.name,
            "context": bp.context,
            "channels": list(bp.channels),
            "description": bp.description,
            # only when it is "one": a snapshot without it is "several", as every one before it was,
            # so their content hashes stay what they were
            **({"stage_mode": bp.stage_mode} if bp.stage_mode != STAGE_MODE_DEFAULT else {}),
        },
        "attributes": [attribute_fields(a) for a in board.attributes],
        "stages": [
            {
                **stage_fields(column.stage),
                "offers": [
                    {
                        k: v
                        for k, v in offer_fields(card.offer).items()
                        if k != "stage" and not (k in OFFER_CONTENT_FIELDS and not v)
                    }
                    for card in column.offers
                ],
            }
            for column in board.stages
        ],
    }


def blueprints_listed(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Blueprint]:
    """The caller's blueprints with ``role``, ``stage_count`` and ``offer_count``.

    Counted in subqueries so the membership join cannot multiply rows.
    """

    def count(model: type[Stage] | type[Offer]) -> Coalesce:
        counted = (
            model.objects.filter(blueprint=OuterRef("pk"))
            .order_by()
            .values("blueprint")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return blueprints_for_user(user).annotate(stage_count=count(Stage), offer_count=count(Offer))


@dataclass
class StageUsage:
    """Where one attribute is used within one stage: its entry conditions and/or some offers."""

    stage: str
    entry: bool = False
    offers: list[str] = field(default_factory=list)


def attribute_usages(board: Board) -> dict[str, list[StageUsage]]:
    """Per attribute key, the stages (in board order) whose entry or offers refer to it."""
    found: dict[str, list[StageUsage]] = {}
    for column in board.stages:
        here: dict[str, StageUsage] = {}
        for key in attributes_used(column.stage.entry):
            here.setdefault(key, StageUsage(column.stage.name)).entry = True
        for card in column.offers:
            for key in attributes_used(card.offer.groups):
                here.setdefault(key, StageUsage(column.stage.name)).offers.append(card.offer.name)
        for key, usage in here.items():
            found.setdefault(key, []).append(usage)
    return found


ROLE_ORDER = {role: index for index, role in enumerate(Role.values)}


def memberships_of(blueprint: Blueprint) -> list[Membership]:
    """The members of a blueprint, owners first, then by name."""
    return sorted(
        Membership.objects.filter(blueprint=blueprint).select_related("user"),
        key=lambda m: (ROLE_ORDER.get(m.role, len(ROLE_ORDER)), m.user.get_username().casefold()),
    )


# --- Who did what: faces and the activity log ----------------------------------------------

AVATAR_COLOURS = 8
ACTIVITY_LIMIT = 50


def member_face(user: Any) -> dict[str, Any]:
    """How a person appears on the board: name, initials and one of eight colours (CSS classes
    ``avatar-c0`` … ``avatar-c7``; the CSP allows no inline styles). ``None`` is the system."""
    if user is None:
        return {"id": None, "name": "Blueprint", "initials": "BP", "colour": 0}
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    name = full or user.get_username()
    words = [w for w in name.replace("_", " ").replace(".", " ").split() if w]
    initials = (words[0][0] + words[1][0]) if len(words) > 1 else name[:2]
    return {"id": user.pk, "name": name, "initials": initials.upper(), "colour": user.pk % AVATAR_COLOURS}


def operations_after(
    blueprint_id: int, since: int, *, until: int | None = None, limit: int | None = None
) -> list[Operation]:
    """The log after ``since`` (up to ``until``, at most ``limit``), oldest first, with actors."""
    ops = Operation.objects.filter(blueprint_id=blueprint_id, rev__gt=since)
    if until is not None:
        ops = ops.filter(rev__lte=until)
    ops = ops.select_related("actor").order_by("rev")
    return list(ops if limit is None else ops[:limit])


def operations_recent(blueprint_id: int, *, limit: int = ACTIVITY_LIMIT) -> list[Operation]:
    """The newest operations first, each with a ``face`` for the activity panel."""
    ops = list(
        Operation.objects.filter(blueprint_id=blueprint_id).select_related("actor").order_by("-rev")[:limit]
    )
    for op in ops:
        op.face = member_face(op.actor)  # type: ignore[attr-defined]
    return ops


# --- Published versions -------------------------------------------------------------------------


def version_get(blueprint_id: int, number: int) -> Version | None:
    """Version ``number`` of the blueprint, or None."""
    return Version.objects.filter(blueprint_id=blueprint_id, number=number).select_related("author").first()


def version_live(blueprint_id: int) -> Version | None:
    """The live version: the newest approved one (None before any is approved)."""
    return (
        Version.objects.filter(blueprint_id=blueprint_id, status=Version.Status.APPROVED)
        .select_related("author")
        .order_by("-number")
        .first()
    )


def versions_of(blueprint_id: int) -> list[Version]:
    """Every version of the blueprint, newest first."""
    return list(
        Version.objects.filter(blueprint_id=blueprint_id).select_related("author").order_by("-number")
    )
