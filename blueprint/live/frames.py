"""The live board's frames, rendered once per operation per process: the frame an operation's broadcast
carries (added at commit, when it is small), the cache the tabs of a process share, and the version
text the board shows."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

from blueprint.live.board_thread import rendering
from blueprint.live.render import (
    frame_of,
    lint_frame,
    operation_frame,
    version_frame,
)
from blueprint.models import Operation
from decisioning.lru import LRU

# --- One render per operation per process -----------------------------------------------------


class FrameCache:
    """Frames as sent, by what they answer (an operation and the role kind, a version broadcast),
    serialised once and shared by every socket of this process.

    The first socket to need a frame starts its render; the others await the same task, so thirty
    tabs cost one render and one JSON encoding. Entries live a few seconds: a broadcast reaches
    every tab at once, and a frame kept longer would show an older state than the database (and a
    reused id after a database reset could show a wrong one).
    """

    def __init__(self, size: int = 256, ttl: float = 5.0) -> None:
        self.size, self.ttl = size, ttl
        self._entries: LRU[tuple[Any, ...], tuple[float, asyncio.Task[str | None]]] = LRU(size)

    async def frame(
        self, key: tuple[Any, ...], render: Callable[[], Coroutine[Any, Any, str | None]]
    ) -> str | None:
        """The frame's text for ``key``, from ``render()`` when no socket asked for it lately."""
        now = time.monotonic()
        entry = self._entries.peek(key)
        loop = asyncio.get_running_loop()
        if entry is None or now - entry[0] > self.ttl or entry[1].get_loop() is not loop:
            entry = (now, loop.create_task(render()))
            self._entries.put(key, entry)
        try:
            # shielded: a tab that disconnects while waiting must not cancel everyone's render
            return await asyncio.shield(entry[1])
        except asyncio.CancelledError:
            raise
        except Exception:
            if self._entries.peek(key) is entry:
                self._entries.pop(key)  # the next tab tries again
            raise

    def clear(self) -> None:
        self._entries.clear()


def version_text(blueprint_id: int) -> str | None:
    frame = version_frame(blueprint_id)
    return None if frame is None else json.dumps(frame)


# A frame bigger than this (a whole board, after an attribute changed) is not carried by the
# broadcast: each worker renders its own rather than pushing it through the channel layer.
BROADCAST_FRAME_BYTES = 32 * 1024


def frame_at_commit(record: Operation, message: dict[str, Any]) -> dict[str, Any]:
    """The editors' ``op`` frame, for the broadcast: rendered once, where the operation was applied,
    right after its commit, so editors' tabs in every worker are sent it as it arrives, with no
    render or trip to the database of their own (viewers' frames, without the editing tools, are
    rendered by each worker that has viewers). Rendered after the commit, it shows the board as it
    is then, as any frame does (see blueprint.live.render)."""
    frame = frame_of(record, record.blueprint, can_edit=True)
    frame["committed_at"] = message["committed_at"]
    text = json.dumps(frame)
    return {"frame": text} if len(text) <= BROADCAST_FRAME_BYTES else {}


def _frame_text(
    blueprint_id: int, operation_id: int, can_edit: bool, committed_at: float | None
) -> str | None:
    frame = operation_frame(blueprint_id, operation_id, can_edit=can_edit)
    if frame is None:
        return None
    if committed_at:
        frame["committed_at"] = committed_at
    return json.dumps(frame)


frame_text_async = rendering(_frame_text)
lint_frame_async = rendering(lint_frame)


frame_cache = FrameCache()
