"""The project's URLs and ``/test/work/``: a request that works (in 10 ms steps, for at most a minute)
until it is told to stop, and logs why it stopped. Only tests/serving_settings.py routes here."""

from __future__ import annotations

import logging
import os
import time

from django.http import HttpRequest, HttpResponse
from django.urls import path

from blueprint.serving import request_cancelled
from blueprint.urls import urlpatterns as project_urlpatterns

log = logging.getLogger("tests.serving")


def work(request: HttpRequest) -> HttpResponse:
    cancelled = request_cancelled()
    deadline = time.monotonic() + 60
    while not cancelled.is_set() and time.monotonic() < deadline:
        sum(range(10_000))  # busy, as a computation is
        time.sleep(0.01)
    log.warning("work stopped: %s", "cancelled" if cancelled.is_set() else "a minute passed")
    return HttpResponse("done")


def lane_work(request: HttpRequest) -> HttpResponse:
    """At a heavy path (blueprint.lane sends it to a lane process): says which process answered,
    and with ``?busy`` keeps a core busy, without sleeping, until told to stop."""
    if "busy" not in request.GET:
        return HttpResponse(f"answered by {os.getpid()}")
    cancelled = request_cancelled()
    deadline = time.monotonic() + 60
    while not cancelled.is_set() and time.monotonic() < deadline:
        sum(range(10_000))
    log.warning("lane work stopped: %s", "cancelled" if cancelled.is_set() else "a minute passed")
    return HttpResponse("done")


# A path the heavy lane takes (a blueprint's lint); no blueprint has this id.
LANE_PATH = "api/v1/blueprints/999999999/lint/"

urlpatterns = [path("test/work/", work), path(LANE_PATH, lane_work), *project_urlpatterns]
