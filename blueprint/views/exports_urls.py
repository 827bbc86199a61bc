"""The exports' pages: the blueprint diagram, the spec, and the import form."""

from __future__ import annotations

from django.urls import URLPattern, path

from blueprint.views import exports

urlpatterns: list[URLPattern] = [
    path("blueprints/import/", exports.import_page, name="blueprint_import"),
    path("blueprints/<int:blueprint_id>/diagram/", exports.diagram_page, name="diagram"),
    path("blueprints/<int:blueprint_id>/spec/", exports.spec_page, name="spec"),
]
