"""Review findings on the board's socket (blueprint/consumers.py), against the real ASGI stack.

Each test fails on the current code; see the review report for the suggested fixes.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

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


# --- Origin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:9999",  # another application on the same machine, another port
        b"https://localhost:4443",  # another scheme and port
    ],
)
def test_a_socket_from_another_origin_on_an_allowed_host_is_refused(
    board: Blueprint, users: dict[str, Any], origin: bytes
) -> None:
    """README: "session cookie, same-origin only". The page is http://localhost (the Host header);
    an origin that differs in port or scheme is another origin, but AllowedHostsOriginValidator
    compares host names only, so any page served from any port of an allowed host (or, in
    production, any subdomain a ".example.com" ALLOWED_HOSTS entry matches) opens the board with
    the victim's cookie (cookies are not port-scoped, and SameSite treats these as same-site)."""
    cookie = session_cookie(users["editor"])

    async def body() -> bool:
        socket = communicator(board.pk, cookie, origin=origin)
        connected, _ = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return bool(connected)

    assert run(body) is False


# --- Access that ends without a membership broadcast -----------------------------------------


def test_a_deactivated_user_can_no_longer_edit_through_a_socket_opened_before(
    board: Blueprint, users: dict[str, Any]
) -> None:
    """Deactivating an account logs it out of every page (ModelBackend refuses inactive users), but
    the socket keeps the user object it authenticated at connect and ``role_of`` only looks at the
    membership: the open socket goes on editing the board."""
    editor = session_cookie(users["editor"])

    def deactivate() -> None:
        get_user_model().objects.filter(pk=users["editor"].pk).update(is_active=False)

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await sync_to_async(deactivate)()
            await socket.send_json_to(
                {
                    "type": "op",
                    "client_id": "after-deactivation",
                    "op": "offer.delete",
                    "payload": {"key": "welcome"},
                }
            )
            return await next_frame(socket, "presence", "op")

    answer = run(body)
    assert answer["type"] != "ack", answer
    assert Blueprint.objects.get(pk=board.pk).offers.filter(key="welcome").exists()


def test_a_deleted_user_stops_receiving_the_board(board: Blueprint, users: dict[str, Any]) -> None:
    """Deleting a user removes their memberships by cascade, with no ``membership_broadcast``;
    ``board_operation`` never re-checks the role, so the socket goes on receiving every edit."""
    viewer = session_cookie(users["viewer"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, viewer) as socket:
            await sync_to_async(lambda: get_user_model().objects.filter(username="viewer").delete())()
            await apply_async(
                blueprint_id=board.pk,
                actor=users["owner"],
                op_type="offer.update",
                payload={"key": "welcome", "name": "Secret new name"},
            )
            try:
                return await next_frame(socket)
            except Exception:  # closed, or nothing sent: both are what we want
                return {"type": "nothing"}

    frame = run(body)
    assert frame["type"] != "op", "a deleted user still receives the board's edits"
