"""What the board's templates draw, below both of its transports: the page views
(``blueprint.views.board``) and the live board's frames (``blueprint.live.render``) render the same
named partials of ``templates/blueprint/board.html`` from one ``BoardContext``.

A partial's name matches the DOM id it draws (``stage`` → ``#stage-<key>``, ``offer`` →
``#offer-<key>``), so a frame's fragment replaces exactly what a page load drew.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from blueprint.lint_panel import LintPanel, lint_panel
from blueprint.models import EDIT_ROLES, Blueprint, Offer, Stage
from blueprint.selectors import Board, board_lint, board_load
from decisioning.conditions import KINDS, AttributeSpec
from decisioning.model import STAGE_MODES

TEMPLATE = "blueprint/board.html"


@dataclass
class Chip:
    text: str
    kind: str  # attribute, behaviour, context, or "missing" for a key no longer in the catalog


@dataclass
class CardView:
    offer: Offer
    groups: list[list[Chip]]
    marks: tuple[str, ...] = ()  # on a version's board: "added", "changed", "moved" (``mark_changes``)


@dataclass
class ColumnView:
    stage: Stage
    entry: list[list[Chip]]
    cards: list[CardView]
    marks: tuple[str, ...] = ()


# What a change of the diff (``blueprint.diff``) marks on the version's board, in the legend's order.
CHANGE_MARKS = {
    "stage.added": "added",
    "offer.added": "added",
    "stage.changed": "changed",
    "stage.entry": "changed",
    "offer.changed": "changed",
    "offer.fallback": "changed",
    "offer.conditions": "changed",
    "stage.moved": "moved",
    "offer.moved": "moved",
    "offer.priority": "moved",
}
MARK_ORDER = ("added", "changed", "moved")


def mark_changes(columns: Sequence[ColumnView], changes: Sequence[Any]) -> list[str]:
    """Mark the stages and cards that ``changes`` (a diff's, read towards this board) added,
    changed or moved, and answer the marks used, in the legend's order."""
    offers: dict[str, set[str]] = {}
    stages: dict[str, set[str]] = {}
    for change in changes:
        mark = CHANGE_MARKS.get(change.kind)
        if mark is None:
            continue
        if change.offer is not None:
            offers.setdefault(change.offer, set()).add(mark)
        elif change.stage is not None:
            stages.setdefault(change.stage, set()).add(mark)
    used: set[str] = set()
    for column in columns:
        found = stages.get(column.stage.key, set())
        column.marks = tuple(m for m in MARK_ORDER if m in found)
        used |= found
        for card in column.cards:
            # a new card is new: that it also sits elsewhere than before says nothing more
            marked = offers.get(card.offer.key, set())
            if "added" in marked:
                marked = {"added"}
            card.marks = tuple(m for m in MARK_ORDER if m in marked)
            used |= marked
    return [m for m in MARK_ORDER if m in used]


def _chips(
    groups: Sequence[Sequence[Mapping[str, Any]]],
    sentences: list[list[str]],
    catalog: Mapping[str, AttributeSpec],
) -> list[list[Chip]]:
    return [
        [
            Chip(
                text, catalog[c.get("attribute", "")].kind if c.get("attribute", "") in catalog else "missing"
            )
            for c, text in zip(group, texts, strict=False)
        ]
        for group, texts in zip(groups, sentences, strict=False)
    ]


def _columns(board: Board) -> list[ColumnView]:
    return [
        ColumnView(
            stage=column.stage,
            entry=_chips(column.stage.entry, column.entry_sentences, board.catalog),
            cards=[
                CardView(card.offer, _chips(card.offer.groups, card.sentences, board.catalog))
                for card in column.offers
            ],
        )
        for column in board.stages
    ]


def _attribute_options(catalog: Mapping[str, AttributeSpec]) -> list[tuple[str, list[AttributeSpec]]]:
    """The catalog for the attribute select, grouped by kind (optgroups)."""
    return [
        (kind.title(), sorted((a for a in catalog.values() if a.kind == kind), key=lambda a: a.label.lower()))
        for kind in KINDS
        if any(a.kind == kind for a in catalog.values())
    ]


class BoardContext:
    """The context every partial of the board shares; the catalog is loaded once per request.

    ``request`` may be None: the board's partials need none, so the live board (``blueprint.live.render``)
    renders the same fragments outside any request, for a socket.
    """

    def __init__(self, request: HttpRequest | None, blueprint: Blueprint, board: Board | None = None) -> None:
        self.request = request
        self.blueprint = blueprint
        self._board = board

    @functools.cached_property
    def board(self) -> Board:
        return self._board or board_load(self.blueprint)

    @functools.cached_property
    def columns(self) -> list[ColumnView]:
        return _columns(self.board)

    @functools.cached_property
    def lint(self) -> LintPanel:
        """The lint of the board as loaded, for the panel and its markers (the lint and
        lint_summary partials)."""
        return lint_panel(board_lint(self.board), self.board)

    def find_column(self, stage_key: str) -> tuple[int, ColumnView | None]:
        """The stage's place among the columns and its column; (-1, None) when it is gone."""
        for index, column in enumerate(self.columns):
            if column.stage.key == stage_key:
                return index, column
        return -1, None

    def find_card(self, offer_key: str) -> tuple[ColumnView, int] | None:
        """The offer's column and its place in it; None when it is gone."""
        for column in self.columns:
            for index, card in enumerate(column.cards):
                if card.offer.key == offer_key:
                    return column, index
        return None

    def column(self, stage_key: str) -> ColumnView:
        column = self.find_column(stage_key)[1]
        if column is None:
            raise Http404("No such stage; it may have been deleted.")
        return column

    def card(self, offer_key: str) -> tuple[ColumnView, CardView]:
        found = self.find_card(offer_key)
        if found is None:
            raise Http404("No such offer; it may have been deleted.")
        column, index = found
        return column, column.cards[index]

    def render(self, partial: str, status: int = 200, **extra: Any) -> HttpResponse:
        assert self.request is not None, "an HTTP response needs the request it answers"
        return render(self.request, f"{TEMPLATE}#{partial}", self.data(**extra), status=status)

    def render_string(self, partial: str, **extra: Any) -> str:
        return render_to_string(f"{TEMPLATE}#{partial}", self.data(**extra), request=self.request)

    def data(self, **extra: Any) -> dict[str, Any]:
        blueprint = self.blueprint
        data = {
            "blueprint": blueprint,
            "can_edit": blueprint.role in EDIT_ROLES,  # type: ignore[attr-defined]
            "base": reverse("board", args=[blueprint.pk]) + "board/",
            "stage_modes": list(STAGE_MODES.items()),
            **extra,
        }
        if "form" in extra:
            extra["form"].editor.bind(self.board.catalog)
            data["attribute_options"] = _attribute_options(self.board.catalog)
        return data
