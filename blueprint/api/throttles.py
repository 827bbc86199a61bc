"""The API's throttle for heavy work: one person's analyses are rationed (README "Security").

The lint, an explained decision, a batch, coverage, the SQL and the exports each cost up to about a
second of a server thread (their budgets: README "Limits"); a plain decide costs a millisecond and
is not counted. ``HeavyThrottle`` counts a person's heavy requests (by account; by address for a
request not signed in) in the shared cache (``settings.CACHES``: Redis when there are several
processes), at most ``settings.API_HEAVY_RATE`` ("120/min" unless set; None: not throttled) — a
person at work never meets it, a script looping a heavy question can no longer occupy every thread
of every process. Past it, DRF answers 429 with ``Retry-After`` (seconds), in the API's JSON shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is being made
    from rest_framework.request import Request
    from rest_framework.views import APIView


class HeavyThrottle(SimpleRateThrottle):
    scope = "heavy"

    def get_rate(self) -> str | None:
        # read when asked, not when the class is made: a deployment's setting, a test's override
        rate: str | None = getattr(settings, "API_HEAVY_RATE", None)
        return rate

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not is_heavy(request, view):
            return True
        # the rate is read per request (SimpleRateThrottle reads it once, when made)
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if request.user and request.user.is_authenticated:
            ident: Any = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def is_heavy(request: Request, view: APIView) -> bool:
    """Whether the request asks for heavy work: the view says so (``heavy = True``), or it is a
    decide asking for an explanation (in its body or query)."""
    if getattr(view, "heavy", False):
        return True
    if getattr(view, "heavy_when_explained", False):
        explain = request.query_params.get("explain")
        if explain is None and request.method == "POST":
            data = request.data
            explain = data.get("explain") if isinstance(data, dict) else None
        return explain in (True, "true", "1", "yes")
    return False
