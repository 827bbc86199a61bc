"""Who may keep a board's socket: same-origin pages only, and only while the session still signs the
person in and they are still a member (blueprint/origins.py, BoardConsumer._role_still_held).

A socket outlives the request that opened it, so it asks again on every op, undo, sync and
heartbeat; an ended membership is broadcast however it ends (apps.py)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

from blueprint.models import Blueprint
from tests.blueprint.test_consumers import (
    TIMEOUT,
    _fresh_channel_layer,  # noqa: F401  # autouse: a fresh layer and frame cache per test
    apply_async,
    board_socket,
    communicator,
    next_frame,
    run,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:9999",  # another application on the same machine, another port
        b"https://localhost:4443",  # another scheme and port
        b"http://evil.example",
    ],
)
def test_a_socket_from_another_origin_on_an_allowed_host_is_refused(
    board: Blueprint, users: dict[str, Any], origin: bytes
) -> None:
    # the page is http://localhost (the Host header): cookies are not port-scoped, and these pages
    # are same-site, so only the exact origin may open the board with the visitor's cookie
    cookie = session_cookie(users["editor"])

    async def body() -> bool:
        socket = communicator(board.pk, cookie, origin=origin)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return bool(connected)

    assert run(body) is False


def signed_out_op(board: Blueprint, cookie: bytes, sign_out: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open a socket, sign the person out by ``sign_out``, send an op: (the answer, how it closed)."""

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        async with board_socket(board.pk, cookie) as socket:
            await sync_to_async(sign_out)()
            await socket.send_json_to(
                {"type": "op", "client_id": "after", "op": "offer.delete", "payload": {"key": "welcome"}}
            )
            answer = await next_frame(socket)
            return answer, await socket.receive_output(timeout=TIMEOUT)

    return run(body)


@pytest.mark.parametrize("how", ["deactivated", "logged out", "password changed"])
def test_a_person_signed_out_since_the_socket_opened_can_no_longer_edit(
    board: Blueprint, users: dict[str, Any], how: str
) -> None:
    editor = users["editor"]
    cookie = session_cookie(editor)

    def sign_out() -> None:
        if how == "deactivated":
            get_user_model().objects.filter(pk=editor.pk).update(is_active=False)
        elif how == "logged out":
            Session.objects.all().delete()
        else:
            editor.set_password("a new one, elsewhere")
            editor.save()

    answer, closed = signed_out_op(board, cookie, sign_out)
    assert answer["type"] == "error" and "signed out" in answer["detail"]
    assert closed == {"type": "websocket.close", "code": 4401}
    assert board.offers.filter(key="welcome").exists()


def test_a_deleted_user_stops_receiving_the_board(board: Blueprint, users: dict[str, Any]) -> None:
    viewer = session_cookie(users["viewer"])

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        async with board_socket(board.pk, viewer) as socket:
            # the memberships go by cascade: their signal tells the board
            await sync_to_async(lambda: get_user_model().objects.filter(username="viewer").delete())()
            told = await next_frame(socket)
            closed = await socket.receive_output(timeout=TIMEOUT)
            await apply_async(
                blueprint_id=board.pk,
                actor=users["owner"],
                op_type="offer.update",
                payload={"key": "welcome", "name": "Secret new name"},
            )
            return told, closed

    told, closed = run(body)
    assert told["type"] == "error"
    assert closed["type"] == "websocket.close" and closed["code"] in (4401, 4403)
