"""The live board's database thread: one thread per process that runs the sockets' database work in
two lanes — edits first, then renders — so that a burst of renders never delays an edit and no
socket waits for a thread of its own."""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from channels.db import DatabaseSyncToAsync

T = TypeVar("T")


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    future: Future[Any] = field(compare=False)
    call: Callable[[], Any] = field(compare=False)


class _BoardThread:
    """The one thread the live board's database work runs on, frames first.

    Renders (op frames, lint, syncs, resets) and edits (access checks, operations, undo) share one
    thread and its database connection, so they do not fight each other for the GIL (with a thread
    each, every query hands the GIL over and waits to get it back, and under load an edit took twice
    its CPU in wall time). What is queued runs by lane: a frame is someone waiting to see an edit
    that is already committed, so it goes before edits still waiting to be applied; in order within
    a lane."""

    def __init__(self) -> None:
        self._queue: list[_Job] = []
        self._ready = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def lane(self, priority: int) -> _Lane:
        return _Lane(self, priority)

    def submit(self, priority: int, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="board-database", daemon=True)
                self._thread.start()
            heapq.heappush(self._queue, _Job(priority, next(self._seq), future, functools.partial(fn, *args)))
            self._ready.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                job = heapq.heappop(self._queue)
            future = job.future
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job.call()
            except BaseException as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)
            else:
                future.set_result(result)


@dataclass(frozen=True)
class _Lane:
    """An executor (what asgiref's SyncToAsync needs: ``submit``) for one lane of the thread."""

    thread: _BoardThread
    priority: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.thread.submit(self.priority, fn, *args)


BOARD_THREAD = _BoardThread()
FRAMES, EDITS = BOARD_THREAD.lane(0), BOARD_THREAD.lane(1)


def rendering(func: Callable[..., T]) -> Callable[..., Coroutine[Any, Any, T]]:
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=FRAMES)  # type: ignore[arg-type]


def editing(func: Callable[..., T]) -> Callable[..., Coroutine[Any, Any, T]]:
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=EDITS)  # type: ignore[arg-type]
