"""WebSocket routes: the live board (blueprint/live/consumer.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from blueprint.live.consumer import BoardConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/blueprints/<int:blueprint_id>/", BoardConsumer.as_asgi()),
]
