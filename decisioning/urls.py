"""The decisioning pages: the simulator and coverage of a blueprint."""

from __future__ import annotations

from django.urls import URLPattern, path

from decisioning import views

urlpatterns: list[URLPattern] = [
    path("blueprints/<int:blueprint_id>/simulator/", views.simulator, name="simulator"),
    path("blueprints/<int:blueprint_id>/simulator/decide/", views.simulator_decide, name="simulator_decide"),
    path("blueprints/<int:blueprint_id>/coverage/", views.coverage, name="coverage"),
]
