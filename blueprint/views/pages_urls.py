"""The pages around the board: blueprints list, attribute catalog, members."""

from __future__ import annotations

from django.urls import path

from blueprint.views import pages

urlpatterns = [
    path("blueprints/", pages.blueprint_list, name="blueprint_list"),
    path("blueprints/new/", pages.blueprint_create_view, name="blueprint_create"),
    path("blueprints/<int:blueprint_id>/row/", pages.blueprint_row, name="blueprint_row"),
    path("blueprints/<int:blueprint_id>/edit/", pages.blueprint_edit, name="blueprint_edit"),
    path("blueprints/<int:blueprint_id>/update/", pages.blueprint_update, name="blueprint_update"),
    path(
        "blueprints/<int:blueprint_id>/duplicate/", pages.blueprint_duplicate_view, name="blueprint_duplicate"
    ),
    path(
        "blueprints/<int:blueprint_id>/delete/confirm/",
        pages.blueprint_delete_confirm,
        name="blueprint_delete_confirm",
    ),
    path("blueprints/<int:blueprint_id>/delete/", pages.blueprint_delete_view, name="blueprint_delete"),
    path("blueprints/<int:blueprint_id>/catalog/", pages.catalog, name="catalog"),
    path("blueprints/<int:blueprint_id>/catalog/attributes/", pages.attribute_add, name="attribute_add"),
    path(
        "blueprints/<int:blueprint_id>/catalog/attributes/<slug:key>/",
        pages.attribute_row,
        name="attribute_row",
    ),
    path(
        "blueprints/<int:blueprint_id>/catalog/attributes/<slug:key>/edit/",
        pages.attribute_edit,
        name="attribute_edit",
    ),
    path(
        "blueprints/<int:blueprint_id>/catalog/attributes/<slug:key>/update/",
        pages.attribute_update,
        name="attribute_update",
    ),
    path(
        "blueprints/<int:blueprint_id>/catalog/attributes/<slug:key>/delete/",
        pages.attribute_delete,
        name="attribute_delete",
    ),
    path("blueprints/<int:blueprint_id>/members/", pages.members, name="members"),
    path("blueprints/<int:blueprint_id>/members/add/", pages.member_add, name="member_add"),
    path(
        "blueprints/<int:blueprint_id>/members/<int:membership_id>/role/",
        pages.member_role,
        name="member_role",
    ),
    path(
        "blueprints/<int:blueprint_id>/members/<int:membership_id>/remove/",
        pages.member_remove,
        name="member_remove",
    ),
]
