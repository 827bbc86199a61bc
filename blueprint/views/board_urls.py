"""The board page and its form endpoints under ``/blueprints/<id>/board/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from blueprint.views import board

BOARD = "blueprints/<int:blueprint_id>/"

urlpatterns: list[URLPattern] = [
    path(BOARD, board.board_page, name="board"),
    # stages
    path(f"{BOARD}board/new-stage/form/", board.stage_new_form, name="board_stage_new_form"),
    path(f"{BOARD}board/stages/", board.stage_create, name="board_stage_create"),
    path(f"{BOARD}board/stages/<slug:key>/edit/", board.stage_edit_form, name="board_stage_edit"),
    path(f"{BOARD}board/stages/<slug:key>/update/", board.stage_update, name="board_stage_update"),
    path(f"{BOARD}board/stages/<slug:key>/delete/", board.stage_delete, name="board_stage_delete"),
    # the blueprint's own settings
    path(f"{BOARD}board/stage-mode/", board.stage_mode_update, name="board_stage_mode"),
    # offers
    path(
        f"{BOARD}board/stages/<slug:stage_key>/offers/new/",
        board.offer_new_form,
        name="board_offer_new_form",
    ),
    path(f"{BOARD}board/stages/<slug:stage_key>/offers/", board.offer_create, name="board_offer_create"),
    path(f"{BOARD}board/offers/<slug:key>/edit/", board.offer_edit_form, name="board_offer_edit"),
    path(f"{BOARD}board/offers/<slug:key>/update/", board.offer_update, name="board_offer_update"),
    path(f"{BOARD}board/offers/<slug:key>/delete/", board.offer_delete, name="board_offer_delete"),
    # the condition editor
    path(f"{BOARD}board/conditions/row/", board.condition_row, name="board_condition_row"),
    path(f"{BOARD}board/conditions/group/", board.condition_group, name="board_condition_group"),
    path(f"{BOARD}board/conditions/hint/", board.condition_hint, name="board_condition_hint"),
    path(f"{BOARD}board/conditions/pick/", board.condition_pick, name="board_condition_pick"),
]
