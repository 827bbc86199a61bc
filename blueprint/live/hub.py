"""The live board's fan-out in one process: ``OperationHub`` takes each operation from the board's
group once and hands it to the process's tabs on that board; ``LintPush`` renders the Checks panel
once after a burst of edits and pushes it to them."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from blueprint.live.frames import frame_at_commit, lint_frame_async
from blueprint.models import Operation
from blueprint.services.broadcast import board_operations_group_name

if TYPE_CHECKING:
    from blueprint.live.consumer import BoardConsumer

logger = logging.getLogger(__name__)


@dataclass
class _BoardLint:
    sockets: set[BoardConsumer] = field(default_factory=set)
    dirty: bool = False
    task: asyncio.Task[None] | None = None


class LintPush:
    """The lint panel after operations, for the sockets of this process.

    The panel and summary are most of what a page is sent (a board in trouble has a finding on
    every card) and are derived from the board, so they do not travel with every ``op`` frame: after
    operations on a board, once ``settings.LIVE_LINT_SECONDS`` have passed without a render (a burst
    of thirty edits costs one or two), the lint as it is then is rendered once per role kind and
    sent, as a ``lint`` frame with its ``rev``, to each socket whose last lint differs from it. A
    socket's ``sync`` and ``reset`` bring the lint too, so a page that missed one catches up with its
    board. Each worker process pushes to its own sockets.
    """

    def __init__(self) -> None:
        self._boards: dict[int, _BoardLint] = {}

    def join(self, socket: BoardConsumer) -> None:
        self._boards.setdefault(socket.blueprint_id, _BoardLint()).sockets.add(socket)

    def leave(self, socket: BoardConsumer) -> None:
        board = self._boards.get(socket.blueprint_id)
        if board is not None:
            board.sockets.discard(socket)
            if not board.sockets and (board.task is None or board.task.done()):
                del self._boards[socket.blueprint_id]

    def changed(self, blueprint_id: int) -> None:
        board = self._boards.get(blueprint_id)
        if board is None:
            return
        board.dirty = True
        loop = asyncio.get_running_loop()
        if board.task is None or board.task.done() or board.task.get_loop() is not loop:
            board.task = loop.create_task(self._push(blueprint_id, board))

    async def _push(self, blueprint_id: int, board: _BoardLint) -> None:
        while board.dirty:
            await asyncio.sleep(float(settings.LIVE_LINT_SECONDS))
            board.dirty = False
            for can_edit in (True, False):
                sockets = [s for s in board.sockets if s._can_edit() is can_edit]
                if not sockets:
                    continue
                shown = {s.lint_digest for s in sockets}
                try:
                    frame = await lint_frame_async(
                        blueprint_id, can_edit=can_edit, unless=shown.pop() if len(shown) == 1 else None
                    )
                except Exception:
                    logger.exception("rendering the lint of blueprint %s failed", blueprint_id)
                    continue  # the next operation tries again; a sync brings it meanwhile
                if not frame["fragments"]:
                    continue  # everyone shows it already
                digest, text = str(frame["lint_digest"]), json.dumps(frame)
                for socket in sockets:
                    if socket.lint_digest != digest and socket in board.sockets:
                        try:
                            await socket.send_lint(text, digest)
                        except Exception:
                            logger.info("a socket on blueprint %s went before its lint", blueprint_id)
        if not board.sockets and self._boards.get(blueprint_id) is board:
            del self._boards[blueprint_id]


lint_push = LintPush()


@dataclass(eq=False)
class _Hub:
    layer: Any
    channel: str = ""
    boards: dict[int, set[BoardConsumer]] = field(default_factory=dict)
    ready: asyncio.Task[None] | None = None  # its channel made, its receiving started
    task: asyncio.Task[None] | None = None


class OperationHub:
    """The operations of the boards this process's tabs show, received once per process.

    Each worker has one channel in the group of a board's operations (``board_operations_group_name``)
    as long as it has a tab on the board, rather than each tab having one: an operation crosses the
    channel layer once per worker, not once per tab (with Redis, thirty tabs meant thirty copies of
    every frame stored, sent and decoded), and is handed to the worker's tabs of that board in the
    order it came. Joining is renewed with each tab's heartbeat; a worker whose last tab on a board
    left stays in its group until the layer expires it (it drops what comes meanwhile), so a tab
    that joins as another leaves is never left out by a late discard.
    """

    def __init__(self) -> None:
        self._hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()

    async def join(self, socket: BoardConsumer) -> None:
        hub = await self._hub(socket.channel_layer)
        hub.boards.setdefault(socket.blueprint_id, set()).add(socket)
        await self.renew(socket)

    async def renew(self, socket: BoardConsumer) -> None:
        hub = await self._hub(socket.channel_layer)
        await hub.layer.group_add(board_operations_group_name(socket.blueprint_id), hub.channel)

    def serves(self, blueprint_id: int) -> bool:
        """Whether a tab of this process shows the board (read from any thread)."""
        return any(blueprint_id in hub.boards for hub in list(self._hubs.values()))

    def leave(self, socket: BoardConsumer) -> None:
        hub = self._hubs.get(asyncio.get_running_loop())
        if hub is None:
            return
        sockets = hub.boards.get(socket.blueprint_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del hub.boards[socket.blueprint_id]

    async def _hub(self, layer: Any) -> _Hub:
        loop = asyncio.get_running_loop()
        hub = self._hubs.get(loop)
        if hub is None or hub.layer is not layer or (hub.task is not None and hub.task.done()):
            # in place before the first await: tabs connecting at once share one hub
            hub = self._hubs[loop] = _Hub(layer)
            hub.ready = loop.create_task(self._start(hub, loop))
        assert hub.ready is not None
        await asyncio.shield(hub.ready)
        return hub

    async def _start(self, hub: _Hub, loop: asyncio.AbstractEventLoop) -> None:
        # the default prefix: with Redis, every channel of a process shares its one real channel
        hub.channel = await hub.layer.new_channel()
        hub.task = loop.create_task(self._receive(hub))

    async def _receive(self, hub: _Hub) -> None:
        while True:
            try:
                message = await hub.layer.receive(hub.channel)
                if message.get("type") != "board.operation":
                    continue
                sockets = list(hub.boards.get(int(message["blueprint_id"]), ()))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("receiving the boards' operations failed")
                await asyncio.sleep(0.1)
                continue
            for socket in sockets:
                try:
                    await socket.board_operation(message)
                except Exception:
                    # that tab sees the gap in rev with the next operation (or its heartbeat)
                    logger.exception("handing operation %s to a tab failed", message.get("operation_id"))


operation_hub = OperationHub()


def frame_for_broadcast(record: Operation, message: dict[str, Any]) -> dict[str, Any]:
    """What the live board adds to an operation's broadcast (``BlueprintConfig.ready`` registers
    it): the editors' frame, rendered once where the operation was applied — only when a tab of
    this process shows the board, which needs that frame anyway. Otherwise (an API call, a script,
    a worker with no tab on the board) nothing is rendered in the write path: each worker with
    tabs renders the frame itself, once (``frames.FrameCache``)."""
    return frame_at_commit(record, message) if operation_hub.serves(record.blueprint_id) else {}
