"""ASGI entry point, served by uvicorn (README "Serving"): HTTP through Django's handler on a pool of
long-lived threads (``blueprint.serving``), the board's WebSocket through Channels."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application

# Build the Django app (django.setup()) before importing anything that touches models (the consumers).
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from blueprint.lane import Lane  # noqa: E402
from blueprint.origins import SameOriginValidator  # noqa: E402
from blueprint.routing import websocket_urlpatterns  # noqa: E402
from blueprint.serving import HttpThreads  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": HttpThreads(
            django_wsgi_app,
            threads=settings.HTTP_THREADS,
            max_body=settings.HTTP_MAX_BODY_BYTES,
            lane=Lane(settings.LANE_PROCESSES) if settings.LANE_PROCESSES else None,
        ),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
