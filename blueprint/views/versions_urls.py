"""The version pages under ``/blueprints/<id>/versions/`` and the member's ``/notifications/``."""

from __future__ import annotations

from django.urls import path

from blueprint.views import versions

urlpatterns = [
    path("blueprints/<int:blueprint_id>/versions/", versions.version_list, name="versions"),
    path(
        "blueprints/<int:blueprint_id>/versions/publish/",
        versions.version_publish_view,
        name="version_publish",
    ),
    path("blueprints/<int:blueprint_id>/versions/badge/", versions.version_badge_view, name="version_badge"),
    path("blueprints/<int:blueprint_id>/versions/draft/", versions.draft_changes_view, name="draft_changes"),
    path("blueprints/<int:blueprint_id>/versions/<int:number>/", versions.version_page, name="version"),
    path(
        "blueprints/<int:blueprint_id>/versions/<int:number>/approve/",
        versions.version_decide,
        {"decision": "approve"},
        name="version_approve",
    ),
    path(
        "blueprints/<int:blueprint_id>/versions/<int:number>/reject/",
        versions.version_decide,
        {"decision": "reject"},
        name="version_reject",
    ),
    path(
        "blueprints/<int:blueprint_id>/versions/<int:number>/restore/",
        versions.version_restore_view,
        name="version_restore",
    ),
    path("notifications/", versions.notifications_page, name="notifications"),
]
