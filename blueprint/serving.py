"""How HTTP requests are served: Django's sync handler on long-lived threads lent one per request.

The ASGI server (uvicorn, several processes with ``REDIS_URL``; README "Serving") hands every HTTP
request to ``HttpThreads``. The request runs through Django's *WSGI* handler — the whole
``settings.MIDDLEWARE``, URL routing, DRF with its authentication, permissions and throttles — on
a thread of a fixed pool lent to that request alone. So:

- one slow request occupies one thread of one process; the others go on (up to ``threads``
  requests run at once per process, more wait their turn in order);
- threads live as long as the process, so their database connections are kept (``CONN_MAX_AGE``)
  instead of opened per request, and a request makes one hop to its thread and one back (the
  answer's first chunk comes back with its start; a streamed answer one hop per chunk) rather than
  two per middleware (Django's own ASGI handler starts a thread per request
  and runs every ``MiddlewareMixin`` hook through ``sync_to_async``: far more CPU per decide,
  as bench/decide.py shows);
- code on the thread that calls ``async_to_sync`` (the operation broadcast, /healthz) runs it on
  the server's event loop, where the channel layer lives, as it would under Django's ASGI handler
  (the thread is marked as asgiref's ``sync_to_async`` marks its threads).

Only this adapter (asgiref's ``WsgiToAsgi`` made three hops an answer, a cost every decide paid:
bench/decide.py), two guards, the close and one middleware are ours; the environ is built by
asgiref's own ``build_environ``:

- **The body has a ceiling** (``max_body``): a request declaring more, or sending more, is answered
  413 in the API's JSON shape before the rest is read, so no body can fill the disk.
- **The client leaving is noticed.** Once the body is read, a task waits for the server's
  ``http.disconnect``; it, or the server cancelling the request when it shuts down, sets the
  request's ``threading.Event``, which code on the request's thread reads with ``request_cancelled()``
  and hands to long computations (``decisioning.budget``), and a streamed answer stops at its next
  chunk. SIGTERM therefore ends a process within uvicorn's graceful timeout plus one budget check.
  A view stopped that way raises ``Cancelled``; ``StoppedMiddleware`` answers it 499, unlogged.
- **Django's response is always closed**, on the request's thread (``close()`` sends
  ``request_finished``: the database connection's age check, a streamed answer's clean-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import json
import os
import queue
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from tempfile import SpooledTemporaryFile
from typing import Any

from asgiref.sync import SyncToAsync
from asgiref.wsgi import WsgiToAsgiInstance
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


class _Answer:
    """Django's answer to one request, on the request's thread: its start, then its chunks; closed
    (which sends ``request_finished``: the database connection's age check, a stream's clean-up) on
    that thread too, where the connection lives."""

    def __init__(self, app: WsgiApp, environ: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        # async_to_sync on this thread (the operation broadcast, /healthz) runs on the server's
        # loop, where the channel layer lives, as it does under asgiref's sync_to_async
        SyncToAsync.threadlocal.main_event_loop = loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        self.started: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.answer = app(environ, self._start_response)
        self.chunks = iter(self.answer)
        self.length: int | None = None

    def _start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.started = (
            int(status.split(" ", 1)[0]),
            [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers],
        )
        self.length = next((int(v) for n, v in headers if n.lower() == "content-length"), None)

    def next_chunk(self) -> bytes | None:
        return next(self.chunks, None)

    def close(self) -> None:
        close = getattr(self.answer, "close", None)
        if close is not None:
            close()


def _begin(
    app: WsgiApp, environ: dict[str, Any], loop: asyncio.AbstractEventLoop
) -> tuple[_Answer, bytes | None, bool]:
    """On the request's thread: run the app, take its first chunk; closed at once when that is the
    whole answer (Django's, whose Content-Length says so), so most requests make one hop each way."""
    answer = _Answer(app, environ, loop)
    try:
        first = answer.next_chunk()
        whole = answer.length is not None and (first is None or len(first) >= answer.length)
    except BaseException:
        answer.close()
        raise
    if whole:
        answer.close()
    return answer, first, whole


class RequestThread:
    """One long-lived thread that runs, one at a time, the calls the event loop hands it, and hands
    each result back with a single ``call_soon_threadsafe``: a hop costs one queue put and one
    wake-up each way. (``run_in_executor`` adds a ``concurrent.futures.Future``, its condition and a
    chained asyncio future, a large share of the adapter's own CPU for a small answer; the figures
    are in bench/history.md.)
    A daemon thread: at exit the server does not wait for work it has already told to stop."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def call(self, context: contextvars.Context, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in ``context`` on this thread; the future resolves on the running loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._calls.put((loop, future, context, fn, args))
        return future

    def _run(self) -> None:
        while True:
            loop, future, context, fn, args = self._calls.get()
            outcome: tuple[Callable[[asyncio.Future[Any], Any], None], Any]
            try:
                outcome = (_succeed, context.run(fn, *args))
            except BaseException as error:  # handed to the awaiting coroutine, which raises it
                outcome = (_fail, error)
            with contextlib.suppress(RuntimeError):  # the loop has closed: the server is gone
                loop.call_soon_threadsafe(outcome[0], future, outcome[1])
            del loop, future, context, fn, args, outcome


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


class HttpThreads:
    """The ASGI application for HTTP: ``wsgi_app`` (Django's ``WSGIHandler``) on ``threads``
    long-lived threads, one request per thread at a time; bodies over ``max_body`` bytes refused."""

    def __init__(self, wsgi_app: WsgiApp, *, threads: int, max_body: int, lane: Lane | None = None) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.wsgi_app = wsgi_app
        self.lane = lane
        self.max_body = max_body
        self.threads = threads
        self._free = deque(RequestThread(f"http-{n}") for n in range(threads))
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
                    thread = self._free.popleft()
                    try:
                        await self._serve(scope, app_receive, send, thread, cancelled)
                    finally:
                        self._free.append(thread)
        except ClientGone:
            return
        except BodyTooLarge:
            await self._too_large(send)
        except asyncio.CancelledError:  # the server is shutting down: stop the work, then go
            cancelled.set()
            raise
        finally:
            watcher.cancel()

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        thread: RequestThread,
        cancelled: threading.Event,
    ) -> None:
        """Read the body, run Django on ``thread``, send its answer (streamed when it is)."""
        with await _body_file(receive) as body:
            try:
                environ = wsgi_environ(scope, body)
            except ValueError:  # too many duplicate headers (asgiref's check)
                await _send_answer(
                    send, 400, [(b"content-type", b"text/plain")], b"Bad Request: Too many headers"
                )
                return
            loop = asyncio.get_running_loop()
            context = contextvars.copy_context()  # the stop event, for the request's thread

            def on_thread(fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
                return thread.call(context, fn, *args)

            answer, chunk, whole = await on_thread(_begin, self.wsgi_app, environ, loop)
            assert answer.started is not None, "the app answered without start_response"
            status, headers = answer.started
            if whole:
                await _send_answer(send, status, headers, (chunk or b"")[: answer.length])
                return
            try:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                sent = 0
                while chunk is not None and not cancelled.is_set():
                    if answer.length is not None:
                        chunk = chunk[: answer.length - sent]
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(chunk)
                    if sent == answer.length:
                        break
                    chunk = await on_thread(answer.next_chunk)
                await send({"type": "http.response.body", "body": b""})
            finally:
                await on_thread(answer.close)

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


def wsgi_environ(scope: Scope, body: Any) -> dict[str, Any]:
    """The WSGI environ of the request, as asgiref's adapter builds it."""
    instance = WsgiToAsgiInstance(None)
    instance.scope = scope
    environ: dict[str, Any] = instance.build_environ(scope, body)
    return environ


async def _body_file(receive: Receive) -> io.BytesIO | SpooledTemporaryFile[bytes]:
    """The request's body as a file read from its start: in memory when it came in one message (a
    decide's), else spooled to disk past 64 KiB."""
    message = await receive()
    if not message.get("more_body", False):
        return io.BytesIO(message.get("body", b""))
    spooled: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=65536)  # noqa: SIM115 (closed by the caller)
    try:
        spooled.write(message.get("body", b""))
        while message.get("more_body", False):
            message = await receive()
            spooled.write(message.get("body", b""))
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled


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
