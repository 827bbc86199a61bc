"""The board page and its HTMX endpoints under ``/blueprints/<id>/board/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from blueprint.views import board

urlpatterns: list[URLPattern] = [
    path("blueprints/<int:blueprint_id>/", board.board_page, name="board"),
    path("blueprints/<int:blueprint_id>/board/", board.board_fragment, name="board_fragment"),
    # stages
    path("blueprints/<int:blueprint_id>/board/new-stage/", board.stage_new, name="board_stage_new"),
    path(
        "blueprints/<int:blueprint_id>/board/new-stage/form/",
        board.stage_new_form,
        name="board_stage_new_form",
    ),
    path("blueprints/<int:blueprint_id>/board/stages/", board.stage_create, name="board_stage_create"),
    path("blueprints/<int:blueprint_id>/board/stages/<slug:key>/", board.stage_column, name="board_stage"),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:key>/head/",
        board.stage_head,
        name="board_stage_head",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:key>/edit/",
        board.stage_edit_form,
        name="board_stage_edit",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:key>/update/",
        board.stage_update,
        name="board_stage_update",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:key>/delete/",
        board.stage_delete,
        name="board_stage_delete",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:key>/move/",
        board.stage_move,
        name="board_stage_move",
    ),
    # offers
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:stage_key>/add/",
        board.offer_add,
        name="board_offer_add",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:stage_key>/offers/new/",
        board.offer_new_form,
        name="board_offer_new_form",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/stages/<slug:stage_key>/offers/",
        board.offer_create,
        name="board_offer_create",
    ),
    path("blueprints/<int:blueprint_id>/board/offers/<slug:key>/", board.offer_card, name="board_offer"),
    path(
        "blueprints/<int:blueprint_id>/board/offers/<slug:key>/edit/",
        board.offer_edit_form,
        name="board_offer_edit",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/offers/<slug:key>/update/",
        board.offer_update,
        name="board_offer_update",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/offers/<slug:key>/delete/",
        board.offer_delete,
        name="board_offer_delete",
    ),
    path(
        "blueprints/<int:blueprint_id>/board/offers/<slug:key>/move/",
        board.offer_move,
        name="board_offer_move",
    ),
    # the condition editor
    path(
        "blueprints/<int:blueprint_id>/board/conditions/row/", board.condition_row, name="board_condition_row"
    ),
    path(
        "blueprints/<int:blueprint_id>/board/conditions/group/",
        board.condition_group,
        name="board_condition_group",
    ),
]
