"""How HTTP requests are served: Django's sync handler on long-lived threads lent one per request.

The ASGI server (uvicorn, several processes with ``REDIS_URL``; README "Serving") hands every HTTP
request to ``HttpThreads``. The request runs through Django's *WSGI* handler — the whole
``settings.MIDDLEWARE``, URL routing, DRF with its authentication, permissions and throttles —
adapted by asgiref's ``WsgiToAsgi``, on a thread of a fixed pool lent to that request alone with
asgiref's ``ThreadSensitiveContext(executor=…)``. So:

- one slow request occupies one thread of one process; the others go on (up to ``threads``
  requests run at once per process, more wait their turn in order);
- threads live as long as the process, so their database connections are kept (``CONN_MAX_AGE``)
  instead of opened per request, and a request makes a handful of hops between the event loop and
  its thread rather than two per middleware (Django's own ASGI handler starts a thread per request
  and runs every ``MiddlewareMixin`` hook through ``sync_to_async``: three times the CPU per
  decide, measured in bench/decide.py);
- code on the thread that calls ``async_to_sync`` (the operation broadcast, /healthz) runs it on
  the server's event loop, where the channel layer lives, as it would under Django's ASGI handler.

Only the lending, two guards, the close and one middleware are ours:

- **The body has a ceiling** (``max_body``): a request declaring more, or sending more, is answered
  413 in the API's JSON shape before the rest is read, so no body can fill the disk.
- **The client leaving is noticed.** Once the body is read, a task waits for the server's
  ``http.disconnect``; it, or the server cancelling the request when it shuts down, sets the
  request's ``threading.Event``, which code on the request's thread reads with ``request_cancelled()``
  and hands to long computations (``decisioning.budget``), and a streamed answer stops at its next
  chunk. SIGTERM therefore ends a process within uvicorn's graceful timeout plus one budget check.
  A view stopped that way raises ``Cancelled``; ``StoppedMiddleware`` answers it 499, unlogged.
- **Django's response is always closed** (``WsgiToAsgi`` never calls ``close()``, which is what
  sends ``request_finished``: the database connection's age check, a streamed answer's clean-up).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from asgiref.wsgi import WsgiToAsgi
from django.http import HttpResponse

from blueprint.lane import Lane, is_heavy, lane_candidate
from decisioning.budget import Cancelled, stop_event, stopped_by

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_NEVER = threading.Event()  # outside a served request (tests' client, shell): never set


def request_cancelled() -> threading.Event:
    """The current request's "stop now" event: set when its client disconnects or the server shuts
    down (``decisioning.budget``'s stop event, which every lint, explanation and DuckDB batch of the
    request reads). Outside a request served by ``HttpThreads`` an event that is never set."""
    return stop_event() or _NEVER


class ClientGone(Exception):
    """The client disconnected before its body was whole: there is no one to answer."""


class BodyTooLarge(Exception):
    pass


CLIENT_CLOSED = 499  # the status logged for a request whose client left (nginx's name); no one reads it


class StoppedMiddleware:
    """A view whose work was stopped (``decisioning.budget.Cancelled``: the client left, the server
    is stopping) ends with an empty 499 instead of a logged server error: there is no answer to give
    and no one to give it to. Last in ``settings.MIDDLEWARE``'s exceptions, first to see them."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)

    def process_exception(self, request: Any, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Cancelled):
            return HttpResponse(status=CLIENT_CLOSED, reason="Client Closed Request")
        return None


def _closing(app: WsgiApp) -> WsgiApp:
    """``app`` whose answers are always closed, and stop early once the request is cancelled."""

    def closing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        answer = app(environ, start_response)
        cancelled = request_cancelled()
        try:
            for chunk in answer:
                yield chunk
                if cancelled.is_set():
                    return
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return closing_app


class HttpThreads:
    """The ASGI application for HTTP: ``wsgi_app`` (Django's ``WSGIHandler``) on ``threads``
    long-lived threads, one request per thread at a time; bodies over ``max_body`` bytes refused."""

    def __init__(self, wsgi_app: WsgiApp, *, threads: int, max_body: int, lane: Lane | None = None) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.app = WsgiToAsgi(_closing(wsgi_app))
        self.lane = lane
        self.max_body = max_body
        self.threads = threads
        self._free = deque(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"http-{n}") for n in range(threads)
        )
        self._turns: asyncio.Semaphore | None = None  # made on the server's loop, at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"HttpThreads serves HTTP only, not {scope['type']!r}")
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._too_large(send)
            return
        if self._turns is None:
            self._turns = asyncio.Semaphore(self.threads)
        cancelled = threading.Event()
        body_read = asyncio.Event()
        received = 0

        async def receive_body() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.disconnect":
                cancelled.set()
                raise ClientGone
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge
            if not message.get("more_body", False):
                body_read.set()
            return message

        async def notice_disconnect() -> None:
            await body_read.wait()
            # until the answer is complete, the server's next message is the client leaving
            if (await receive())["type"] == "http.disconnect":
                cancelled.set()

        watcher = asyncio.create_task(notice_disconnect())
        try:
            app_receive: Receive = receive_body
            if self.lane is not None and lane_candidate(scope):
                body = await _whole_body(receive_body)
                if is_heavy(scope, body):
                    answer = await self.lane.answer(scope, body, cancelled)
                    if answer is not None:
                        await _send_answer(send, *answer)
                        return
                app_receive = _replay(body)
            with stopped_by(cancelled):
                async with self._turns:
                    executor = self._free.popleft()
                    try:
                        async with ThreadSensitiveContext(executor=executor):
                            await self.app(scope, app_receive, send)
                    finally:
                        self._free.append(executor)
        except ClientGone:
            return
        except BodyTooLarge:
            await self._too_large(send)
        except asyncio.CancelledError:  # the server is shutting down: stop the work, then go
            cancelled.set()
            raise
        finally:
            watcher.cancel()

    async def _too_large(self, send: Send) -> None:
        limit = self.max_body
        body = json.dumps(
            {
                "detail": f"The body is too large: at most {limit} bytes ({limit // (1024 * 1024)} MiB) "
                "are accepted by any endpoint.",
                "errors": {"body": [f"At most {limit} bytes are accepted."]},
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _whole_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives the body already read, in one message."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
