"""The project's URLs and ``/test/work/``: a request that works (in 10 ms steps, for at most a minute)
until it is told to stop, and logs why it stopped. Only tests/serving_settings.py routes here."""

from __future__ import annotations

import logging
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


urlpatterns = [path("test/work/", work), *project_urlpatterns]
