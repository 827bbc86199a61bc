"""WebSocket routes. The board consumer arrives with live collaboration (issue 3)."""

from __future__ import annotations

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
