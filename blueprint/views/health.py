from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

CHANNEL_LAYER_TIMEOUT = 2.0


async def _channel_layer_round_trip() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    await asyncio.wait_for(layer.receive(channel), timeout=CHANNEL_LAYER_TIMEOUT)
    return type(layer).__name__


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer, each ``ok`` or ``error``; 503 if either is down.

    Anyone may ask, so an error names its kind only, never a host or a message from the driver.
    """
    checks: dict[str, dict[str, str]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # report, never raise: this is what monitoring reads
        checks["database"] = {"status": "error", "error": type(exc).__name__}
    try:
        backend = async_to_sync(_channel_layer_round_trip)()
        checks["channel_layer"] = {"status": "ok", "backend": backend}
    except Exception as exc:
        checks["channel_layer"] = {"status": "error", "error": type(exc).__name__}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
