"""Telling a board's open tabs what changed: the operation after its commit, a membership change,
any message to a board's groups. The channel layer is only a hint (docs/architecture.md,
"The edit path"): a send that fails is logged, never raised, and clients recover from ``rev``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from blueprint.models import (
    Operation,
)

logger = logging.getLogger(__name__)


def board_group_name(blueprint_id: int) -> str:
    return f"board-{blueprint_id}"


def board_operations_group_name(blueprint_id: int) -> str:
    """The group of a board's operations: one member per worker process with tabs on the board
    (blueprint.live.hub.OperationHub), which hands each operation to its tabs."""
    return f"board-{blueprint_id}.operations"


# What else an operation's broadcast carries, from the transports that serve the board in this
# process (the live board adds the editors' frame: ``BlueprintConfig.ready`` registers it). Each is
# called with the record, right after its commit, and the message so far, and returns fields to
# add; one that fails is logged and left out (receivers do without).
BroadcastExtra = Callable[[Operation, dict[str, Any]], dict[str, Any]]
broadcast_extras: list[BroadcastExtra] = []


def broadcast_extra_register(extra: BroadcastExtra) -> None:
    """Add ``extra`` to every operation's broadcast (once, however often it is registered)."""
    if extra not in broadcast_extras:
        broadcast_extras.append(extra)


def operation_broadcast(record: Operation, *, extras: bool = True) -> None:
    """Tell everyone on the board. The channel layer is only a hint: a lost message is recovered
    by clients from ``rev``, so a failure here is logged, never raised."""
    if get_channel_layer() is None:
        return
    message: dict[str, Any] = {
        "type": "board.operation",
        "blueprint_id": record.blueprint_id,
        "rev": record.rev,
        "operation_id": record.pk,
        # when the edit became true, so a receiver can measure commit-to-screen latency
        "committed_at": time.time(),
    }
    for extra in broadcast_extras if extras else ():
        try:
            message.update(extra(record, message))
        except Exception:
            logger.warning("adding to the broadcast of %s failed", record, exc_info=True)
    board_group_send(board_operations_group_name(record.blueprint_id), message, f"broadcast of {record}")


def board_group_send(group: str, message: dict[str, Any], what: str) -> None:
    """Send to a group from sync code. Where this thread runs an event loop (a script or a test
    that applies operations beside its own loop), the send is scheduled on it rather than refused
    by async_to_sync. A failure is logged, never raised: a broadcast must never undo or fail a
    committed edit."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:
            task = loop.create_task(layer.group_send(group, message))
            _pending_sends.add(task)
            task.add_done_callback(_pending_sends.discard)
    except Exception:
        logger.warning("%s failed", what, exc_info=True)


_pending_sends: set[asyncio.Task[None]] = set()  # keeps scheduled sends alive until done


def membership_broadcast(blueprint_id: int, user_id: int | None) -> None:
    """Tell the board's open sockets that a member's role changed or was removed (``user_id``),
    or that everyone's did (``None``: the blueprint was deleted). Call after commit."""
    # the sockets re-check roles on every message and heartbeat anyway
    board_group_send(
        board_group_name(blueprint_id),
        {"type": "board.membership", "user_id": user_id},
        f"membership broadcast for blueprint {blueprint_id}",
    )
