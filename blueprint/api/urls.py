"""The JSON API under /api/v1/ (DESIGN.md §6)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
