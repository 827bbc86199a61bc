"""ASGI entry point: Django for HTTP (single decides through ``blueprint.fasthttp``'s worker thread),
Channels for the board's WebSocket."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
# Build the Django app before importing anything that touches models (the consumers).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from blueprint.fasthttp import DecideFastPath  # noqa: E402
from blueprint.origins import SameOriginValidator  # noqa: E402
from blueprint.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": DecideFastPath(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
