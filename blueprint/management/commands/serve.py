"""``manage.py serve``: the app under uvicorn, set up the one way `make run`, the tests and the benches use."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

# SIGTERM: uvicorn stops taking connections, lets requests in flight finish for this long, then
# cancels them, which sets their cancellation event (blueprint.serving) so long computations stop
# at their next budget check: the process is gone well within 10 s.
GRACEFUL_SECONDS = 5


class Command(BaseCommand):
    help = (
        "Serve Blueprint (HTTP and the board's WebSocket) with uvicorn: WEB_CONCURRENCY processes "
        "(REDIS_URL needed for more than one), HTTP_THREADS request threads in each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Server processes (default: WEB_CONCURRENCY, else 1).",
        )
        parser.add_argument(
            "--access-log",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="One line per request (default: with DEBUG on only; a proxy in front logs them in "
            "production, and the line costs a tenth of a decide's time).",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int | None, **options: Any) -> None:
        workers = workers or settings.WEB_CONCURRENCY
        if workers > 1 and not settings.REDIS_URL:
            raise CommandError(
                f"{workers} processes need REDIS_URL: the board's live updates must reach every process, "
                "and the in-memory channel layer lives in one."
            )
        uvicorn.run(
            "blueprint.asgi:application",
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            ws_max_size=settings.WS_MAX_MESSAGE_BYTES,
            lifespan="off",
            proxy_headers=settings.BEHIND_PROXY,
            forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            access_log=settings.DEBUG if options["access_log"] is None else options["access_log"],
        )
