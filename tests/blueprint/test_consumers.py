"""The live board's socket against the real ASGI stack (origin check, session auth, routing).

Async bodies run under ``async_to_sync`` (pytest-asyncio is not used here); the consumer reaches
the database from other threads, hence ``transaction=True``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from blueprint.asgi import application
from blueprint.consumers import frame_cache
from blueprint.models import Blueprint, Offer
from blueprint.services import operation_apply

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")
TIMEOUT = 3


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    # The in-memory layer's queues belong to the event loop that made them; every test runs its
    # own loop, so every test gets its own layer (and no frame cached by an earlier test).
    channel_layers.backends.clear()
    frame_cache.clear()


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(body)()


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(
    blueprint_id: int, cookie: bytes | None = None, origin: bytes = b"http://localhost"
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), HOST]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/blueprints/{blueprint_id}/", headers=headers)


@asynccontextmanager
async def board_socket(blueprint_id: int, cookie: bytes) -> AsyncIterator[WebsocketCommunicator]:
    """A connected socket whose ``welcome`` and first ``presence`` frames have been read."""
    socket = communicator(blueprint_id, cookie)
    connected, code = await socket.connect(timeout=TIMEOUT)
    assert connected, code
    welcome = await socket.receive_json_from(timeout=TIMEOUT)
    assert welcome["type"] == "welcome"
    socket.welcome = welcome  # type: ignore[attr-defined]
    presence = await socket.receive_json_from(timeout=TIMEOUT)
    assert presence["type"] == "presence"
    try:
        yield socket
    finally:
        await socket.disconnect()


async def next_frame(socket: WebsocketCommunicator, *skip: str) -> dict[str, Any]:
    """The next frame, passing over the kinds in ``skip`` (presence, by default)."""
    skip = skip or ("presence",)
    while True:
        frame = await socket.receive_json_from(timeout=TIMEOUT)
        if frame["type"] not in skip:
            return frame


async def rev_of(blueprint: Blueprint) -> int:
    return await sync_to_async(lambda: Blueprint.objects.get(pk=blueprint.pk).rev)()


apply_async = sync_to_async(operation_apply)


# --- Who may connect --------------------------------------------------------------------------


def test_an_anonymous_visitor_is_refused_with_4401(board: Blueprint) -> None:
    async def body() -> tuple[bool, Any]:
        return await communicator(board.pk).connect(timeout=TIMEOUT)

    assert run(body) == (False, 4401)


def test_a_socket_from_a_foreign_origin_is_refused(board: Blueprint, users: dict[str, Any]) -> None:
    cookie = session_cookie(users["editor"])

    async def body() -> tuple[bool, Any]:
        return await communicator(board.pk, cookie, origin=b"http://evil.example").connect(timeout=TIMEOUT)

    connected, _ = run(body)
    assert not connected


def test_someone_who_is_not_a_member_is_refused_with_4404(board: Blueprint, users: dict[str, Any]) -> None:
    cookie = session_cookie(users["stranger"])

    async def body() -> tuple[bool, Any]:
        return await communicator(board.pk, cookie).connect(timeout=TIMEOUT)

    assert run(body) == (False, 4404)


def test_a_member_is_welcomed_with_the_current_rev_and_their_role(
    board: Blueprint, users: dict[str, Any]
) -> None:
    cookie = session_cookie(users["viewer"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, cookie) as socket:
            return socket.welcome  # type: ignore[attr-defined,no-any-return]

    welcome = run(body)
    assert welcome["rev"] == board.rev
    assert welcome["role"] == "viewer"
    assert welcome["you"]["id"] == users["viewer"].pk
    assert welcome["you"]["name"] == "viewer"
    assert welcome["you"]["editing"] is None


# --- Operations -------------------------------------------------------------------------------


def test_an_op_is_acknowledged_and_broadcast_to_every_socket_the_sender_included(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor, viewer = session_cookie(users["editor"]), session_cookie(users["viewer"])

    async def body() -> tuple[dict[str, Any], ...]:
        async with board_socket(board.pk, editor) as mine, board_socket(board.pk, viewer) as theirs:
            await mine.send_json_to(
                {
                    "type": "op",
                    "client_id": "c-1",
                    "op": "offer.move",
                    "payload": {"key": "welcome", "stage": "onboarding"},
                }
            )
            ack = await next_frame(mine)
            mine_op = await next_frame(mine)
            theirs_op = await next_frame(theirs)
            return ack, mine_op, theirs_op

    ack, mine_op, theirs_op = run(body)
    assert ack == {"type": "ack", "client_id": "c-1", "rev": board.rev + 1, "id": ack["id"]}
    for frame in (mine_op, theirs_op):
        assert frame["type"] == "op"
        assert frame["rev"] == board.rev + 1
        assert frame["id"] == ack["id"]
        assert frame["op"] == "offer.move"
        assert frame["client_id"] == "c-1"
        assert frame["actor"] == {"id": users["editor"].pk, "name": "editor"}
        assert isinstance(frame["committed_at"], float)
    assert Offer.objects.get(key="welcome").stage.key == "onboarding"
    # the editor's fragments carry the edit controls, the viewer's do not
    assert "card-tools" in json.dumps(mine_op["fragments"])
    assert "card-tools" not in json.dumps(theirs_op["fragments"])
