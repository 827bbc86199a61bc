"""The heavy lane: requests that analyse a whole board run in processes of their own.

The lint, an explanation, the simulator, the board page (which lints) and the exports each take up
to a second or two of pure Python at the limits (README "Limits"). On a serving process's threads
they would hold its GIL: every other request of that process — decides answered in milliseconds —
would wait for it in turns of the interpreter's switch interval, and the event loop with them
(bench/neighbour.py measures another member's decides while one such request runs). So
``HttpThreads`` hands such requests, whole, to a small pool of *lane* processes (``LANE_PROCESSES``
per serving process, ``nice``d so the operating system gives the serving processes the cores
first), each running the same Django application; the serving process only waits, its GIL free.

What goes: safe requests only (GET, HEAD, and the POSTs that decide without changing anything:
an explained decide, the simulator's decide), whose answers are not streamed — see ``is_heavy``.
Everything that changes a board stays in the serving process, where the live board's channel layer
is. A lane process answers like the serving process would: the same settings, database, cache
and middleware; the request's body comes whole (the JSON body limit bounds it).

Stopping: each request in the lane has a slot in a shared array of flags. When the client leaves or
the server stops, ``HttpThreads`` sets the request's cancel event and the slot's flag; in the lane
the flag is the request's stop event (``decisioning.budget.stopped_by``), so the lint, why-not and
DuckDB stop as they would in-process, and the request ends with 499.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import io
import multiprocessing
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable, MutableMapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

Scope = MutableMapping[str, Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

SLOTS = 256  # requests in the lane at once, running or waiting, per serving process
_SCOPE_KEYS = (
    *("type", "http_version", "method", "scheme", "path", "raw_path", "query_string"),
    *("root_path", "headers", "client", "server"),
)

# What is heavy: pages and API reads that lint, explain, draw or write a whole board or version.
_HEAVY_GETS = re.compile(
    r"/blueprints/\d+/(?:|diagram/|spec/|simulator/|versions/(?:\d+|draft)/)$"
    r"|/api/v1/blueprints/\d+/(?:lint|export|decide/sql)/$"
)
_HEAVY_POSTS = re.compile(r"/(?:api/v1/blueprints/\d+/decide/|blueprints/\d+/simulator/decide/)$")
_EXPLAIN = re.compile(rb'"explain"\s*:\s*true')


def lane_candidate(scope: Scope) -> bool:
    """Whether the request may be heavy, from its method and path alone (its body not yet read)."""
    method, path = scope["method"], scope["path"]
    if method in ("GET", "HEAD"):
        return bool(_HEAVY_GETS.match(path))
    return method == "POST" and bool(_HEAVY_POSTS.match(path))


def is_heavy(scope: Scope, body: bytes) -> bool:
    """Whether the request goes to the lane: a GET of a page or API answer that analyses a whole
    board, or a decide that explains (in the query or the body) or the simulator's decide."""
    method, path = scope["method"], scope["path"]
    if method in ("GET", "HEAD"):
        return bool(_HEAVY_GETS.match(path))
    if method != "POST" or not _HEAVY_POSTS.match(path):
        return False
    if path.startswith("/blueprints/"):
        return True  # the simulator's decide always explains
    query = scope.get("query_string", b"")
    return b"explain=true" in query or b"explain=1" in query or bool(_EXPLAIN.search(body))


class Lane:
    """A pool of lane processes for one serving process, and the flags that stop their requests."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self.flags = context.Array("b", SLOTS, lock=False)
        self.free = list(range(SLOTS))
        self.pool = ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_start, initargs=(self.flags,)
        )
        self.lock = threading.Lock()

    async def answer(self, scope: Scope, body: bytes, cancelled: threading.Event) -> Answer | None:
        """The lane's answer to the request, or None when there is no slot free (answer it here)."""
        with self.lock:
            if not self.free:
                return None
            slot = self.free.pop()
        self.flags[slot] = 0
        plain = {key: scope[key] for key in _SCOPE_KEYS if key in scope}
        future = asyncio.wrap_future(self.pool.submit(_serve, slot, plain, body))
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=0.05)
                if done:
                    return future.result()
                if cancelled.is_set():
                    self.flags[slot] = 1
        except asyncio.CancelledError:  # the server is stopping: stop the lane's work too
            self.flags[slot] = 1
            raise
        finally:
            if future.done():
                self._release(slot)
            else:  # the slot is free once the lane has let go of it
                future.add_done_callback(lambda _: self._release(slot))

    def _release(self, slot: int) -> None:
        with self.lock:
            self.free.append(slot)


# --- In a lane process -----------------------------------------------------------------------------

_flags: Any = None
_app: Callable[..., Iterable[bytes]] | None = None


class _Flag:
    """A slot's flag read as a ``threading.Event`` (``is_set`` only): the request's stop event."""

    __slots__ = ("slot",)

    def __init__(self, slot: int) -> None:
        self.slot = slot

    def is_set(self) -> bool:
        return bool(_flags[self.slot])


def _start(flags: Any) -> None:
    """A lane process starts: below the serving processes in the scheduler, with Django set up."""
    global _flags, _app
    _flags = flags
    _die_with_server()
    with contextlib.suppress(OSError):  # not allowed: the lane runs at the same priority
        os.nice(10)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blueprint.settings")
    from django.core.wsgi import get_wsgi_application

    _app = get_wsgi_application()


def _die_with_server() -> None:
    """Linux: the kernel ends this process when the serving process ends, however it ends (a lane
    process busy with a request would otherwise outlive a server killed outright)."""
    if sys.platform != "linux":
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the server ended before this line
        os._exit(0)


def _serve(slot: int, scope: Scope, body: bytes) -> Answer:
    """Run one request through Django's WSGI handler; its status, headers and whole body."""
    from blueprint.serving import wsgi_environ  # (the serving module imports this one)
    from decisioning.budget import stopped_by

    assert _app is not None
    environ = wsgi_environ(scope, io.BytesIO(body))
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started[:] = [status, headers]

    with stopped_by(_Flag(slot)):  # type: ignore[arg-type]
        answer = _app(environ, start_response)
        try:
            content = b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
    status, headers = started
    return (
        int(status.split(" ", 1)[0]),
        [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers],
        content,
    )
