"""The HTML pages and their HTMX endpoints."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("blueprint.views.pages_urls")),
    path("", include("blueprint.views.board_urls")),
    path("", include("blueprint.views.versions_urls")),
    path("", include("blueprint.views.exports_urls")),
    path("", include("decisioning.urls")),
]
