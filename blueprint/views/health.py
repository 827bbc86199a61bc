from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The database and the channel layer, each ``ok`` or the error; 503 if either is down."""
    checks: dict[str, dict[str, str]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # report, never raise: this is what monitoring reads
        checks["database"] = {"status": "error", "error": str(exc)[:200]}
    layer = get_channel_layer()
    try:
        if layer is None:
            raise RuntimeError("no channel layer configured")
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.send)(channel, {"type": "health.ping"})
        async_to_sync(layer.receive)(channel)
        checks["channel_layer"] = {"status": "ok", "backend": type(layer).__name__}
    except Exception as exc:
        checks["channel_layer"] = {"status": "error", "error": str(exc)[:200]}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
