"""The live board's socket against the real ASGI stack (origin check, session auth, routing).

Async bodies run under ``async_to_sync`` (pytest-asyncio is not used here); the consumer reaches
the database from other threads, hence ``transaction=True``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from blueprint.asgi import application
from blueprint.live.consumer import BoardConsumer, frame_cache
from blueprint.live.render import operation_frame, sync_frame
from blueprint.models import Blueprint, Offer, Operation
from blueprint.services import operation_apply
from blueprint.services.blueprints import blueprint_delete, membership_remove, membership_set
from tests.blueprint import live_dom

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
    """The next frame, passing over the kinds in ``skip`` (presence, heartbeats and the lint that
    follows operations, by default)."""
    skip = skip or ("presence", "beat", "lint")
    while True:
        frame = await socket.receive_json_from(timeout=TIMEOUT)
        if frame["type"] not in skip:
            return frame


async def op_and_lint(
    socket: WebsocketCommunicator, *, expect_lint: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The operation's frame and the lint that follows it (in whichever order they come), or None
    for the lint when it is not expected and none comes."""
    op: dict[str, Any] | None = None
    lint: dict[str, Any] | None = None
    while op is None or (expect_lint and lint is None):
        frame = await next_frame(socket, "welcome", "presence", "beat")
        if frame["type"] == "lint" and expect_lint and lint is None:
            lint = frame
        else:
            assert op is None, frame
            op = frame
    if not expect_lint:
        lint = await lint_after(socket)
    return op, lint


def lint_ids(frame: dict[str, Any]) -> list[str]:
    return [f["id"] for f in frame["fragments"] if f.get("id") in ("lint-summary", "lint")]


async def rev_of(blueprint: Blueprint) -> int:
    return await sync_to_async(lambda: Blueprint.objects.get(pk=blueprint.pk).rev)()


apply_async = sync_to_async(operation_apply)


async def connected(blueprint_id: int, cookies: list[bytes]) -> list[WebsocketCommunicator]:
    """A socket per cookie, each connected (their first frames unread)."""
    sockets = []
    for cookie in cookies:
        socket = communicator(blueprint_id, cookie)
        assert (await socket.connect(timeout=TIMEOUT))[0]
        sockets.append(socket)
    return sockets


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


@pytest.mark.parametrize("blueprint_id", [10**30, 0])
def test_a_blueprint_id_that_cannot_exist_is_refused_with_4404(
    users: dict[str, Any], blueprint_id: int
) -> None:
    cookie = session_cookie(users["owner"])

    async def body() -> tuple[bool, Any]:
        return await communicator(blueprint_id, cookie).connect(timeout=TIMEOUT)

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
            # either may come first: the frame is rendered at commit, before the ack is sent, and
            # the page settles its operation on whichever it sees first (static/js/live.js)
            ack, mine_op = sorted([await next_frame(mine), await next_frame(mine)], key=lambda f: f["type"])
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


def test_a_viewer_receives_operations_but_their_own_op_is_refused_and_changes_nothing(
    board: Blueprint, users: dict[str, Any]
) -> None:
    viewer = session_cookie(users["viewer"])

    async def body() -> tuple[dict[str, Any], int]:
        async with board_socket(board.pk, viewer) as socket:
            await socket.send_json_to(
                {"type": "op", "client_id": "v-1", "op": "offer.delete", "payload": {"key": "welcome"}}
            )
            refused = await next_frame(socket)
            await socket.send_json_to({"type": "ping"})
            assert await next_frame(socket) == {"type": "pong"}  # no op frame came in between
            return refused, await rev_of(board)

    refused, rev = run(body)
    assert refused["type"] == "refused"
    assert refused["client_id"] == "v-1"
    assert refused["status"] == 403
    assert "viewer" in refused["detail"]
    assert refused["errors"]
    assert rev == board.rev
    assert Offer.objects.filter(key="welcome").exists()


def test_a_refused_op_names_the_field_and_the_status_the_service_gave(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> list[dict[str, Any]]:
        async with board_socket(board.pk, editor) as socket:
            answers = []
            for client_id, op_type, payload in [
                ("e-1", "offer.update", {"key": "welcome", "name": ""}),
                ("e-2", "offer.update", {"key": "nobody", "name": "X"}),
                ("e-3", "offer.dance", {}),
            ]:
                await socket.send_json_to(
                    {"type": "op", "client_id": client_id, "op": op_type, "payload": payload}
                )
                answers.append(await next_frame(socket))
            return answers

    invalid, missing, unknown = run(body)
    assert (invalid["type"], invalid["status"], list(invalid["errors"])) == ("refused", 400, ["name"])
    assert (missing["type"], missing["status"]) == ("refused", 404)
    assert (unknown["type"], unknown["status"], list(unknown["errors"])) == ("refused", 400, ["type"])
    assert Blueprint.objects.get(pk=board.pk).rev == board.rev


def test_a_retried_client_id_applies_once_and_is_acknowledged_with_the_same_rev(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = session_cookie(users["editor"])
    message = {
        "type": "op",
        "client_id": "retry-me",
        "op": "offer.update",
        "payload": {"key": "welcome", "name": "Welcome gift"},
    }

    async def body() -> tuple[dict[str, Any], dict[str, Any], int]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to(message)
            # the ack and the op frame, in either order (the frame is rendered at commit)
            first, broadcast = sorted(
                [await next_frame(socket), await next_frame(socket)], key=lambda f: f["type"]
            )
            assert broadcast["type"] == "op"
            await socket.send_json_to(message)
            second = await next_frame(socket)
            await socket.send_json_to({"type": "ping"})
            assert await next_frame(socket) == {"type": "pong"}  # and no second broadcast
            return first, second, await rev_of(board)

    first, second, rev = run(body)
    assert first["type"] == second["type"] == "ack"
    assert second == first
    assert rev == board.rev + 1 == first["rev"]


BAD_MESSAGES = [
    pytest.param("not json{", "frame", id="not-json"),
    pytest.param("[1, 2]", "frame", id="not-an-object"),
    pytest.param('{"type": "ping", "n": NaN}', "frame", id="nan"),
    pytest.param('{"type": "ping", "n": 1e999}', "frame", id="infinite-number"),
    pytest.param("[" * 60000, "frame", id="deeply-nested"),
    pytest.param(json.dumps({"type": "ping", "pad": "x" * 70000}), "frame", id="oversized"),
    pytest.param(json.dumps({"type": "ping", "pad": "é" * 33000}), "frame", id="oversized-in-bytes"),
    pytest.param(json.dumps({"type": "dance"}), "type", id="unknown-type"),
    pytest.param(json.dumps({"kind": "op"}), "type", id="no-type"),
    pytest.param(json.dumps({"type": ["op"]}), "type", id="type-not-text"),
    pytest.param(
        json.dumps({"type": "op", "op": "offer.delete", "payload": {"key": "welcome"}}),
        "client_id",
        id="no-client-id",
    ),
    pytest.param(
        json.dumps({"type": "op", "client_id": "", "op": "offer.delete", "payload": {"key": "welcome"}}),
        "client_id",
        id="empty-client-id",
    ),
    pytest.param(
        json.dumps(
            {"type": "op", "client_id": "x" * 65, "op": "offer.delete", "payload": {"key": "welcome"}}
        ),
        "client_id",
        id="long-client-id",
    ),
    pytest.param(
        json.dumps({"type": "op", "client_id": 7, "op": "offer.delete", "payload": {"key": "welcome"}}),
        "client_id",
        id="number-client-id",
    ),
    pytest.param(
        json.dumps({"type": "op", "client_id": "c", "op": "offer.delete", "payload": ["welcome"]}),
        "payload",
        id="payload-not-an-object",
    ),
    pytest.param(
        json.dumps({"type": "op", "client_id": "c", "op": "offer.delete"}), "payload", id="no-payload"
    ),
    pytest.param(
        json.dumps({"type": "op", "client_id": "c", "op": 3, "payload": {"key": "welcome"}}),
        "op",
        id="op-not-text",
    ),
    pytest.param(json.dumps({"type": "sync", "since": "3"}), "since", id="since-not-a-number"),
    pytest.param(json.dumps({"type": "sync", "since": True}), "since", id="since-a-boolean"),
    pytest.param(json.dumps({"type": "sync"}), "since", id="no-since"),
    pytest.param(json.dumps({"type": "presence", "editing": "<b>x</b>"}), "editing", id="editing-not-an-id"),
    pytest.param(json.dumps({"type": "presence", "editing": 4}), "editing", id="editing-a-number"),
    pytest.param(json.dumps({"type": "undo", "client_id": None}), "client_id", id="undo-without-client-id"),
    pytest.param(json.dumps({"type": "redo", "client_id": ""}), "client_id", id="redo-empty-client-id"),
]


@pytest.mark.parametrize(("text", "field"), BAD_MESSAGES)
def test_a_bad_message_is_answered_with_an_error_naming_the_field_and_changes_nothing(
    board: Blueprint, users: dict[str, Any], text: str, field: str
) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> tuple[dict[str, Any], int]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_to(text_data=text)
            error = await next_frame(socket)
            await socket.send_json_to({"type": "ping"})
            assert await next_frame(socket) == {"type": "pong"}
            return error, await rev_of(board)

    error, rev = run(body)
    assert error["type"] == "error"
    assert list(error["errors"]) == [field]
    assert error["detail"]
    assert rev == board.rev
    assert Offer.objects.filter(key="welcome").exists()


def test_a_binary_frame_is_answered_with_an_error(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_to(bytes_data=b'{"type": "ping"}')
            error = await next_frame(socket)
            await socket.send_json_to({"type": "ping"})
            assert await next_frame(socket) == {"type": "pong"}
            return error

    error = run(body)
    assert error["type"] == "error"
    assert list(error["errors"]) == ["frame"]


def test_an_unexpected_failure_is_logged_and_answered_without_closing_the_socket(
    board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from blueprint.live import database

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(database, "operation_apply", broken)
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to(
                {"type": "op", "client_id": "c", "op": "offer.delete", "payload": {"key": "welcome"}}
            )
            error = await next_frame(socket)
            await socket.send_json_to({"type": "ping"})
            assert await next_frame(socket) == {"type": "pong"}
            return error

    refused = run(body)
    # answered as a refusal of that op, status 500, so the client knows it was not saved
    assert (refused["type"], refused["client_id"], refused["status"]) == ("refused", "c", 500)
    assert "disk" not in json.dumps(refused)  # no internals for the browser
    assert "the disk is on fire" in caplog.text


# --- Catching up ------------------------------------------------------------------------------


def test_sync_sends_the_missed_operations_in_order(board: Blueprint, users: dict[str, Any]) -> None:
    since = board.rev
    for name in ("One", "Two", "Three"):
        operation_apply(
            blueprint_id=board.pk,
            actor=users["owner"],
            op_type="offer.update",
            payload={"key": "welcome", "name": name},
        )
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to({"type": "sync", "since": since})
            return await next_frame(socket)

    answer = run(body)
    assert answer["type"] == "sync"
    assert answer["rev"] == since + 3
    assert [f["rev"] for f in answer["frames"]] == [since + 1, since + 2, since + 3]
    assert all(f["type"] == "op" and f["op"] == "offer.update" for f in answer["frames"])
    # every frame shows the offer as it is now, so replaying them in order ends in the present
    assert all("Three" in f["fragments"][0]["html"] for f in answer["frames"])
    assert [f["actor"]["name"] for f in answer["frames"]] == ["owner"] * 3


def test_sync_from_the_current_rev_sends_nothing(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to({"type": "sync", "since": board.rev})
            first = await next_frame(socket)
            await socket.send_json_to({"type": "sync", "since": board.rev})
            return first, await next_frame(socket)

    first, second = run(body)
    # no operations; the lint, which this socket had not sent yet, and then not again
    assert (first["type"], first["rev"], first["frames"]) == ("sync", board.rev, [])
    assert lint_ids(first) == ["lint-summary", "lint"]
    assert second == {
        "type": "sync",
        "rev": board.rev,
        "frames": [],
        "lint_digest": first["lint_digest"],
        "fragments": [],
    }


def rename_welcome(board: Blueprint, actor: Any, times: int) -> None:
    """``times`` operations on the board, each renaming the welcome offer."""
    for n in range(times):
        operation_apply(
            blueprint_id=board.pk,
            actor=actor,
            op_type="offer.update",
            payload={"key": "welcome", "name": f"Welcome {n} of {times}"},
        )


@pytest.mark.parametrize("gap", ["big", "ahead", "negative", "whole board"])
def test_sync_answers_with_a_reset_when_frames_will_not_do(
    board: Blueprint, users: dict[str, Any], gap: str
) -> None:
    since = {"big": board.rev, "ahead": board.rev + 5, "negative": -1, "whole board": 0}[gap]
    if gap == "big":
        rename_welcome(board, users["owner"], 101)
    rev = Blueprint.objects.get(pk=board.pk).rev
    viewer = session_cookie(users["viewer"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, viewer) as socket:
            await socket.send_json_to({"type": "sync", "since": since})
            return await next_frame(socket)

    answer = run(body)
    assert answer["type"] == "reset"
    assert answer["rev"] == rev
    board_html = live_dom.element(answer["html"])
    assert board_html.get("id") == "board"
    assert board_html.get("data-rev") == str(rev)
    assert "card-tools" not in answer["html"]  # rendered for the viewer
    # what the skipped operations changed outside the board comes with it
    parts = {fragment["id"]: live_dom.element(fragment["html"]) for fragment in answer["fragments"]}
    assert {f["do"] for f in answer["fragments"]} == {"replace"}
    assert parts["board-title"].findtext(".//h1") == board.name
    newest = parts["activity"].xpath('.//li[@class="activity-item"]')
    assert newest and newest[0].get("id") == f"activity-{rev}"
    assert parts["lint"].xpath('.//script[@id="lint-marks"]') and parts["lint-summary"] is not None


def test_sync_one_short_of_the_limit_still_sends_frames(board: Blueprint, users: dict[str, Any]) -> None:
    since = board.rev
    rename_welcome(board, users["owner"], 100)
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to({"type": "sync", "since": since})
            return await next_frame(socket)

    answer = run(body)
    assert answer["type"] == "sync"
    assert len(answer["frames"]) == 100
    # the lint is rendered from the board as it is now: it comes once, with the answer, not in a frame
    assert lint_ids(answer) == ["lint-summary", "lint"]
    assert not any(lint_ids(frame) for frame in answer["frames"])


# --- Membership -------------------------------------------------------------------------------


def test_a_removed_member_is_told_and_disconnected_with_4403(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        async with board_socket(board.pk, editor) as socket:
            await sync_to_async(membership_remove)(
                actor=users["owner"], blueprint_id=board.pk, username="editor"
            )
            error = await next_frame(socket)
            closed = await socket.receive_output(timeout=TIMEOUT)
            return error, closed

    error, closed = run(body)
    assert error == {
        "type": "error",
        "detail": "You are no longer a member of this blueprint.",
        "errors": {"blueprint": ["You are no longer a member of this blueprint."]},
    }
    assert closed == {"type": "websocket.close", "code": 4403}


def test_a_deleted_blueprint_disconnects_everyone(board: Blueprint, users: dict[str, Any]) -> None:
    viewer = session_cookie(users["viewer"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, viewer) as socket:
            await sync_to_async(blueprint_delete)(actor=users["owner"], blueprint_id=board.pk)
            assert (await next_frame(socket))["type"] == "error"
            return await socket.receive_output(timeout=TIMEOUT)  # type: ignore[no-any-return]

    assert run(body) == {"type": "websocket.close", "code": 4403}


def test_a_role_change_resets_the_board_for_the_new_role(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with board_socket(board.pk, editor) as socket:
            await sync_to_async(membership_set)(
                actor=users["owner"], blueprint_id=board.pk, username="editor", role="viewer"
            )
            reset = await next_frame(socket)
            await apply_async(
                blueprint_id=board.pk,
                actor=users["owner"],
                op_type="offer.update",
                payload={"key": "welcome", "name": "Hello"},
            )
            op = await next_frame(socket)
            await socket.send_json_to(
                {"type": "op", "client_id": "late", "op": "offer.delete", "payload": {"key": "welcome"}}
            )
            return reset, op, await next_frame(socket)

    reset, op, refused = run(body)
    assert reset["type"] == "reset"
    assert reset["rev"] == board.rev
    assert "board-editable" not in reset["html"] and "card-tools" not in reset["html"]
    assert "Welcome bonus" in reset["html"]
    assert op["type"] == "op" and "card-tools" not in json.dumps(op["fragments"])
    assert (refused["type"], refused["status"]) == ("refused", 403)


def test_another_members_role_change_leaves_this_socket_alone(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as socket:
            await sync_to_async(membership_set)(
                actor=users["owner"], blueprint_id=board.pk, username="viewer", role="editor"
            )
            await socket.send_json_to({"type": "ping"})
            return await next_frame(socket)

    assert run(body) == {"type": "pong"}


# --- Other ways in ----------------------------------------------------------------------------


def test_edits_through_the_rest_api_and_the_board_forms_reach_open_sockets(
    board: Blueprint, users: dict[str, Any]
) -> None:
    viewer = session_cookie(users["viewer"])
    api = APIClient()
    api.force_authenticate(users["editor"])
    forms = Client()
    forms.force_login(users["owner"])

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        async with board_socket(board.pk, viewer) as socket:
            response = await sync_to_async(api.patch)(
                f"/api/v1/blueprints/{board.pk}/offers/welcome/", {"name": "Hi there"}, format="json"
            )
            assert response.status_code == 200, response.content
            from_api = await next_frame(socket)
            response = await sync_to_async(forms.post)(
                f"/blueprints/{board.pk}/board/offers/gold_card/delete/", HTTP_HX_REQUEST="true"
            )
            assert response.status_code == 204, response.content
            return from_api, await next_frame(socket)

    from_api, from_form = run(body)
    assert (from_api["op"], from_api["rev"], from_api["actor"]["name"]) == (
        "offer.update",
        board.rev + 1,
        "editor",
    )
    assert "Hi there" in from_api["fragments"][0]["html"]
    assert (from_form["op"], from_form["rev"], from_form["actor"]["name"]) == (
        "offer.delete",
        board.rev + 2,
        "owner",
    )
    assert from_form["fragments"][0] == {"do": "remove", "id": "offer-gold_card", "by": "owner"}


# --- Presence ---------------------------------------------------------------------------------


def tabs(frame: dict[str, Any]) -> list[tuple[str, Any]]:
    assert frame["type"] == "presence"
    return [(m["name"], m["editing"]) for m in frame["members"]]


def test_presence_shows_who_joins_what_they_edit_and_who_leaves(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor, viewer = session_cookie(users["editor"]), session_cookie(users["viewer"])

    async def body() -> list[list[tuple[str, Any]]]:
        seen = []
        async with board_socket(board.pk, editor) as first:
            second = communicator(board.pk, viewer)
            assert (await second.connect(timeout=TIMEOUT))[0]
            assert (await second.receive_json_from(timeout=TIMEOUT))["type"] == "welcome"
            seen.append(tabs(await first.receive_json_from(timeout=TIMEOUT)))  # the newcomer joined
            # the newcomer sees itself, then hears from the tab that was already there
            seen.append(tabs(await second.receive_json_from(timeout=TIMEOUT)))
            seen.append(tabs(await second.receive_json_from(timeout=TIMEOUT)))
            await second.send_json_to({"type": "presence", "editing": "offer-welcome"})
            seen.append(tabs(await second.receive_json_from(timeout=TIMEOUT)))
            seen.append(tabs(await first.receive_json_from(timeout=TIMEOUT)))
            await second.send_json_to({"type": "presence", "editing": None})
            seen.append(tabs(await first.receive_json_from(timeout=TIMEOUT)))
            await second.disconnect()
            seen.append(tabs(await first.receive_json_from(timeout=TIMEOUT)))
        return seen

    joined, alone, both, editing_mine, editing_theirs, done, left = run(body)
    assert joined == [("editor", None), ("viewer", None)]
    assert alone == [("viewer", None)]
    assert both == [("editor", None), ("viewer", None)]
    assert editing_mine == editing_theirs == [("editor", None), ("viewer", "offer-welcome")]
    assert done == [("editor", None), ("viewer", None)]
    assert left == [("editor", None)]


def test_presence_lists_every_tab_of_a_person_separately(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, editor) as first, board_socket(board.pk, editor) as second:
            del second
            return await next_frame(first, "welcome")

    frame = run(body)
    assert [m["name"] for m in frame["members"]] == ["editor", "editor"]
    assert frame["members"] == sorted(frame["members"], key=lambda m: (m["name"], m["tab"]))
    assert len({m["tab"] for m in frame["members"]}) == 2
    assert set(frame["members"][0]) == {"tab", "id", "name", "initials", "colour", "editing"}


def test_a_tab_that_stops_announcing_itself_is_dropped_from_presence(
    board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BoardConsumer, "heartbeat_seconds", 0.05)
    monkeypatch.setattr(BoardConsumer, "presence_expires_seconds", 0.3)
    editor = session_cookie(users["editor"])
    ghost = {"tab": "ghost-tab", "id": 999, "name": "ghost", "initials": "GH", "colour": 7, "editing": None}

    async def body() -> tuple[list[str], list[str]]:
        async with board_socket(board.pk, editor) as socket:
            # a tab on a worker that then crashed: it joins, and is never heard of again
            layer = get_channel_layer()
            await layer.group_send(f"board-{board.pk}", {"type": "presence.join", "member": ghost})
            with_ghost = await next_frame(socket, "welcome", "beat")
            without_ghost = await next_frame(socket, "welcome", "beat")
            return [m["name"] for m in with_ghost["members"]], [m["name"] for m in without_ghost["members"]]

    assert run(body) == (["editor", "ghost"], ["editor"])


def test_presence_is_kept_out_of_the_database(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])
    before = Operation.objects.count()

    async def body() -> None:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to({"type": "presence", "editing": "stage-awareness"})
            await socket.receive_json_from(timeout=TIMEOUT)

    run(body)
    assert Operation.objects.count() == before
    assert Blueprint.objects.get(pk=board.pk).rev == board.rev


# --- Every broadcast equals a page load (Zulip's verify_action) --------------------------------
# (the board, its title, the newest activity item and the lint panel with its summary: see
# live_dom.board_parts)

Ops = list[tuple[str, dict[str, Any]]]

OFFER_FIELDS = {"name": "Savings starter", "description": "A first savings account", "channel": "e-mail"}

VERIFY_CASES = [
    # (fixture, setup operations, the operation, the fragments it must send before the activity item)
    (
        "board",
        [],
        ("blueprint.update", {"name": "Retail – all channels", "channels": ["web", "app"]}),
        ["replace"],
    ),
    ("board", [], ("blueprint.update", {"context": ""}), ["replace"]),
    (
        "board",
        [],
        ("attribute.create", {"key": "tenure", "label": "Tenure", "kind": "attribute", "type": "number"}),
        [],
    ),
    ("board", [], ("attribute.update", {"key": "visits_30d", "label": "Visits this month"}), ["board"]),
    ("board", [], ("attribute.delete", {"key": "city"}), ["board"]),
    ("catalog", [], ("stage.create", {"key": "awareness", "name": "Awareness"}), ["board"]),
    (
        "board",
        [],
        ("stage.create", {"key": "consideration", "name": "Consideration", "before": "onboarding"}),
        ["place"],
    ),
    (
        "board",
        [],
        (
            "stage.create",
            {
                "key": "loyalty",
                "name": "Loyalty",
                "description": "Customers who stay",
                "entry": [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold"]}]],
            },
        ),
        ["place"],
    ),
    (
        "board",
        [],
        ("stage.update", {"key": "awareness", "name": "Discovery", "description": "First contact"}),
        ["replace"],
    ),
    ("board", [], ("stage.move", {"key": "awareness", "after": "onboarding"}), ["place"]),
    ("board", [], ("stage.move", {"key": "onboarding", "before": "awareness"}), ["place"]),
    ("board", [], ("stage.delete", {"key": "awareness"}), ["remove"]),
    ("board", [("stage.delete", {"key": "onboarding"})], ("stage.delete", {"key": "awareness"}), ["board"]),
    ("board", [("stage.delete", {"key": "onboarding"})], ("stage.move", {"key": "awareness"}), ["board"]),
    (
        "board",
        [],
        ("offer.create", {"stage": "awareness", "key": "savings", "before": "gold_card", **OFFER_FIELDS}),
        ["place", "replace"],
    ),
    (
        "board",
        [],
        (
            "offer.create",
            {
                "stage": "onboarding",
                "key": "push",
                "name": "Push notification",
                "groups": [
                    [{"attribute": "has_app", "operator": "is", "value": True}],
                    [{"attribute": "age", "operator": "at_least", "value": 30}],
                ],
            },
        ),
        ["place", "replace"],
    ),
    (
        "board",
        [("stage.create", {"key": "loyalty", "name": "Loyalty"})],
        ("offer.create", {"stage": "loyalty", "key": "everyone", "name": "Thank you", "fallback": True}),
        ["place", "replace"],
    ),
    (
        "board",
        [],
        ("offer.update", {"key": "welcome", "name": "Welcome gift", "channel": "app"}),
        ["replace"],
    ),
    ("board", [], ("offer.update", {"key": "gold_card", "groups": []}), ["replace"]),
    (  # issue 16: the card's dates, content reference and tags redraw everywhere
        "board",
        [],
        (
            "offer.update",
            {
                "key": "gold_card",
                "starts_on": "2027-03-01",
                "ends_on": "2027-06-30",
                "content_ref": "creative-42",
                "tags": ["summer"],
            },
        ),
        ["replace"],
    ),
    (
        "board",
        [],
        ("offer.move", {"key": "welcome", "stage": "onboarding", "before": "app_tour"}),
        ["place", "replace", "replace"],
    ),
    (
        "board",
        [],
        ("offer.move", {"key": "gold_card", "stage": "awareness", "before": "welcome"}),
        ["place", "replace"],
    ),
    (
        "board",
        [("stage.create", {"key": "loyalty", "name": "Loyalty"})],
        ("offer.move", {"key": "app_tour", "stage": "loyalty"}),
        ["place", "replace", "replace"],
    ),
    ("board", [], ("offer.delete", {"key": "gold_card"}), ["remove", "replace"]),
    (
        "board",
        [("offer.delete", {"key": "gold_card"})],
        ("offer.delete", {"key": "welcome"}),
        ["remove", "replace"],
    ),
]


def _case_id(case: tuple[str, Ops, tuple[str, dict[str, Any]], list[str]]) -> str:
    fixture, setup, (op_type, payload), _ = case
    detail = "-".join(f"{k}={v}" for k, v in payload.items() if k in ("key", "before", "after"))
    return f"{op_type}[{fixture}{'+' if setup else ''}{'-' + detail if detail else ''}]"


@pytest.mark.parametrize(
    ("fixture", "setup", "operation", "kinds"), VERIFY_CASES, ids=[_case_id(c) for c in VERIFY_CASES]
)
def test_every_operation_broadcasts_what_a_fresh_page_load_renders(
    request: pytest.FixtureRequest,
    users: dict[str, Any],
    fixture: str,
    setup: Ops,
    operation: tuple[str, dict[str, Any]],
    kinds: list[str],
) -> None:
    blueprint: Blueprint = request.getfixturevalue(fixture)
    for op_type, payload in setup:
        operation_apply(blueprint_id=blueprint.pk, actor=None, op_type=op_type, payload=payload)
    roles = ("editor", "viewer")
    clients = {role: Client() for role in roles}
    for role, client in clients.items():
        client.force_login(users[role])

    def page_load(role: str) -> Any:
        response = clients[role].get(reverse("board", args=[blueprint.pk]))
        assert response.status_code == 200
        return live_dom.page(response.content)

    before = {role: page_load(role) for role in roles}
    cookies = {role: session_cookie(users[role]) for role in roles}

    async def body() -> dict[str, dict[str, Any]]:
        async with (
            board_socket(blueprint.pk, cookies["editor"]) as editor,
            board_socket(blueprint.pk, cookies["viewer"]) as viewer,
        ):
            op_type, payload = operation
            await apply_async(
                blueprint_id=blueprint.pk, actor=users["owner"], op_type=op_type, payload=payload
            )
            # the op frame and the lint that follows it (new sockets have sent none yet)
            received = {}
            for role, socket in (("editor", editor), ("viewer", viewer)):
                two = [await next_frame(socket, "presence", "beat") for _ in range(2)]
                received[role] = tuple(sorted(two, key=lambda f: f["type"] != "op"))
            return received

    frames = run(body)
    for role in roles:
        frame, lint = frames[role]
        assert frame["type"] == "op" and frame["op"] == operation[0]
        assert [f["do"] for f in frame["fragments"]] == [*kinds, "prepend"]
        assert lint["type"] == "lint" and lint["rev"] == frame["rev"]
        assert [f.get("id") for f in lint["fragments"]] == ["lint-summary", "lint"]
        shown = before[role]
        unchanged = live_dom.board_parts(shown)
        live_dom.apply_frame(shown, frame)
        live_dom.apply_fragments(shown, lint["fragments"])
        expected = live_dom.board_parts(page_load(role))
        assert all(expected.values()), "the page has a board, a title, an activity item and the lint"
        live = live_dom.board_parts(shown)
        assert live == expected, f"{role}:\n{live_dom.difference(live, expected)}"
        assert unchanged != expected  # the operation did change what a page shows


# Sequences a client may have missed while offline; replaying the sync answer must land on the
# page as it is now, even though every frame is rendered from the present (so from a state the
# client never saw in between) — the reason first stages are decided from the log.
CATCH_UP_CASES = {
    "first stages added": (
        "catalog",
        [
            ("stage.create", {"key": "a", "name": "A"}),
            ("stage.create", {"key": "b", "name": "B"}),
            ("offer.create", {"stage": "b", "key": "x", "name": "X"}),
        ],
    ),
    "first stage added then deleted, another kept": (
        "catalog",
        [
            ("stage.create", {"key": "a", "name": "A"}),
            ("stage.create", {"key": "b", "name": "B"}),
            ("stage.delete", {"key": "a"}),
        ],
    ),
    "every stage deleted then one added": (
        "board",
        [
            ("stage.delete", {"key": "awareness"}),
            ("stage.delete", {"key": "onboarding"}),
            ("stage.create", {"key": "fresh", "name": "Fresh"}),
        ],
    ),
    "offers moved around and deleted": (
        "board",
        [
            ("offer.move", {"key": "welcome", "stage": "onboarding"}),
            ("offer.move", {"key": "app_tour", "stage": "awareness", "before": "gold_card"}),
            ("offer.update", {"key": "welcome", "name": "Welcome back"}),
            ("offer.move", {"key": "welcome", "stage": "awareness", "after": "gold_card"}),
            ("offer.delete", {"key": "gold_card"}),
            ("offer.create", {"stage": "onboarding", "key": "late", "name": "Late"}),
        ],
    ),
    "an offer created in a stage that is then deleted": (
        "board",
        [
            ("stage.create", {"key": "temp", "name": "Temporary"}),
            ("offer.create", {"stage": "temp", "key": "short", "name": "Short-lived"}),
            ("stage.update", {"key": "temp", "name": "Very temporary"}),
            ("stage.delete", {"key": "temp"}),
            ("stage.move", {"key": "onboarding", "before": "awareness"}),
        ],
    ),
    "catalog changes between card edits": (
        "board",
        [
            ("attribute.update", {"key": "visits_30d", "label": "Monthly visits"}),
            (
                "offer.update",
                {"key": "welcome", "groups": [[{"attribute": "city", "operator": "is", "value": "Ghent"}]]},
            ),
            ("attribute.update", {"key": "city", "label": "Town"}),
            ("blueprint.update", {"name": "Renamed"}),
        ],
    ),
}


@pytest.mark.parametrize("case", list(CATCH_UP_CASES))
def test_replaying_a_sync_answer_brings_an_old_page_up_to_date(
    request: pytest.FixtureRequest, users: dict[str, Any], case: str
) -> None:
    fixture, operations = CATCH_UP_CASES[case]
    blueprint: Blueprint = request.getfixturevalue(fixture)
    client = Client()
    client.force_login(users["editor"])
    shown = live_dom.page(client.get(reverse("board", args=[blueprint.pk])).content)
    since = blueprint.rev
    for op_type, payload in operations:
        operation_apply(blueprint_id=blueprint.pk, actor=users["owner"], op_type=op_type, payload=payload)
    cookie = session_cookie(users["editor"])

    async def body() -> dict[str, Any]:
        async with board_socket(blueprint.pk, cookie) as socket:
            await socket.send_json_to({"type": "sync", "since": since})
            return await next_frame(socket)

    answer = run(body)
    assert answer["type"] == "sync" and len(answer["frames"]) == len(operations)
    for frame in answer["frames"]:
        live_dom.apply_frame(shown, frame)
    live_dom.apply_fragments(shown, answer["fragments"])  # the lint as it is now
    live = live_dom.board_parts(shown)
    expected = live_dom.board_parts(live_dom.page(client.get(reverse("board", args=[blueprint.pk])).content))
    assert live == expected, live_dom.difference(live, expected)


# --- Cost -------------------------------------------------------------------------------------


def test_many_tabs_in_one_process_cost_one_render_per_operation_and_role(
    board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from blueprint.live import frames
    from blueprint.live import render as live

    renders: list[tuple[int, bool]] = []
    lint_renders: list[bool] = []
    lint_fragments = live._lint_fragments
    frame_of = live.frame_of

    def counted(operation: Any, blueprint: Any, *, can_edit: bool) -> Any:
        renders.append((operation.pk, can_edit))
        return frame_of(operation, blueprint, can_edit=can_edit)

    def counted_lint(ctx: Any) -> Any:
        lint_renders.append(ctx.blueprint.role == "editor")
        return lint_fragments(ctx)

    # editors' frames at commit (blueprint.live.frames), viewers' by the process (live.render.operation_frame)
    monkeypatch.setattr(frames, "frame_of", counted)
    monkeypatch.setattr(live, "frame_of", counted)
    monkeypatch.setattr(live, "_lint_fragments", counted_lint)
    cookies = [session_cookie(users[role]) for role in ("editor", "viewer")] * 4

    async def body() -> list[list[tuple[dict[str, Any], dict[str, Any] | None]]]:
        sockets = await connected(board.pk, cookies)
        try:
            received = []
            for op_type, payload in (
                ("offer.delete", {"key": "welcome"}),
                ("offer.update", {"key": "app_tour", "description": "The lint stays as it was"}),
            ):
                await apply_async(
                    blueprint_id=board.pk, actor=users["owner"], op_type=op_type, payload=payload
                )
                # the first changes the lint, so its frame comes too, in either order: on a busy
                # machine a viewer's frame, rendered by the process, may come after the lint push
                # (awaited as long as any frame); the second leaves the lint be
                expected = op_type == "offer.delete"
                pairs = await asyncio.gather(
                    *(op_and_lint(socket, expect_lint=expected) for socket in sockets)
                )
                frames = [frame for frame, _ in pairs]
                lints = [lint for _, lint in pairs]
                received.append(list(zip(frames, lints, strict=True)))
            return received
        finally:
            for socket in sockets:
                await socket.disconnect()

    deleted, updated = run(body)
    for received in (deleted, updated):
        assert {frame["type"] for frame, _ in received} == {"op"}
        assert len({frame["id"] for frame, _ in received}) == 1
    assert sorted(renders, key=lambda r: (r[1], r[0])) == [
        (deleted[0][0]["id"], False),
        (updated[0][0]["id"], False),
        (deleted[0][0]["id"], True),
        (updated[0][0]["id"], True),
    ]
    # every tab is new, so each is sent the lint after the first operation: rendered once per role;
    # the second leaves the lint as it was, so nobody renders or receives it again
    assert sorted(lint_renders) == [False, True]
    assert all(lint is not None and lint_ids(lint) == ["lint-summary", "lint"] for _, lint in deleted)
    assert all(lint is None for _, lint in updated)


def test_an_operation_crosses_the_channel_layer_once_per_process_whatever_its_tabs(
    board: Blueprint, users: dict[str, Any]
) -> None:
    """The process's OperationHub is the one member of the board's operations group; it hands each
    operation to every tab, and a tab that joins as another leaves is not left out."""
    cookie = session_cookie(users["editor"])

    async def rename(name: str) -> None:
        await apply_async(
            blueprint_id=board.pk,
            actor=users["owner"],
            op_type="offer.update",
            payload={"key": "welcome", "name": name},
        )

    async def body() -> tuple[set[str], list[str], list[str]]:
        layer = get_channel_layer()
        group = f"board-{board.pk}.operations"
        async with board_socket(board.pk, cookie) as first:
            async with board_socket(board.pk, cookie) as second, board_socket(board.pk, cookie) as third:
                members = set(layer.groups[group])
                await rename("Welcome gift")
                names = [(await next_frame(socket))["summary"] for socket in (first, second, third)]
            # the other two have left; another tab joins while the first is still here
            async with board_socket(board.pk, cookie) as fourth:
                await rename("Welcome present")
                after = [(await next_frame(socket))["summary"] for socket in (first, fourth)]
        return members, names, after

    members, names, after = run(body)
    assert len(members) == 1  # one channel for three tabs
    assert len(set(names)) == 1 and "Welcome gift" in names[0]
    assert len(set(after)) == 1 and "Welcome present" in after[0]


def test_a_sync_loads_the_board_once_however_many_operations_it_sends(
    board: Blueprint, users: dict[str, Any]
) -> None:
    def queries_for(count: int) -> int:
        since = Blueprint.objects.get(pk=board.pk).rev
        rename_welcome(board, users["owner"], count)
        with CaptureQueriesContext(connection) as queries:
            answer = sync_frame(board.pk, since, can_edit=True)
        assert len(answer["frames"]) == count
        return len(queries)

    assert queries_for(2) == queries_for(20)


def test_an_operation_frame_for_a_vanished_operation_is_none(board: Blueprint) -> None:
    assert operation_frame(board.pk, 10**9, can_edit=True) is None
    latest = Operation.objects.filter(blueprint=board).latest("rev")
    assert operation_frame(board.pk + 1, latest.pk, can_edit=True) is None  # not this board's


# --- Undo and redo ----------------------------------------------------------------------------


def test_undo_and_redo_answer_the_sender_and_broadcast_the_inverse(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> list[dict[str, Any]]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to(
                {
                    "type": "op",
                    "client_id": "move-1",
                    "op": "offer.move",
                    "payload": {"key": "welcome", "stage": "onboarding"},
                }
            )
            # ack and op, in either order (the frame is rendered at commit, before the ack)
            seen = sorted([await next_frame(socket), await next_frame(socket)], key=lambda f: f["type"])
            await socket.send_json_to({"type": "undo", "client_id": "undo-1"})
            seen += [await next_frame(socket), await next_frame(socket)]
            await socket.send_json_to({"type": "redo", "client_id": "redo-1"})
            seen += [await next_frame(socket), await next_frame(socket)]
            await socket.send_json_to({"type": "redo", "client_id": "redo-2"})
            seen.append(await next_frame(socket))
            return seen

    ack, moved, *rest = run(body)
    answers = sorted(rest[:2], key=lambda f: f["type"]) + sorted(rest[2:4], key=lambda f: f["type"])
    undo_op, undone, redo_op, redone = answers
    nothing = rest[4]
    assert ack["type"] == "ack" and moved["type"] == "op"
    assert undone["type"] == "undo" and undone["client_id"] == "undo-1" and undone["done"] is True
    assert "Undid" in undone["message"]
    assert undo_op["type"] == "op" and undo_op["op"] == "offer.move" and undo_op["rev"] == moved["rev"] + 1
    assert redone["type"] == "redo" and redone["done"] is True
    assert redo_op["type"] == "op" and redo_op["rev"] == moved["rev"] + 2
    assert nothing == {"type": "redo", "client_id": "redo-2", "done": False, "message": nothing["message"]}
    assert Offer.objects.get(key="welcome").stage.key == "onboarding"


def test_a_viewer_cannot_undo(board: Blueprint, users: dict[str, Any]) -> None:
    viewer = session_cookie(users["viewer"])

    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, viewer) as socket:
            await socket.send_json_to({"type": "undo", "client_id": "u"})
            return await next_frame(socket)

    refused = run(body)
    assert (refused["type"], refused["client_id"], refused["status"]) == ("refused", "u", 403)
    assert Blueprint.objects.get(pk=board.pk).rev == board.rev


def test_a_resent_undo_applies_once(board: Blueprint, users: dict[str, Any]) -> None:
    editor = session_cookie(users["editor"])

    async def body() -> tuple[dict[str, Any], dict[str, Any], int, int]:
        async with board_socket(board.pk, editor) as socket:
            await socket.send_json_to(
                {"type": "op", "client_id": "d-1", "op": "offer.delete", "payload": {"key": "welcome"}}
            )
            await next_frame(socket)
            await next_frame(socket)
            undo = {"type": "undo", "client_id": "undo-once"}
            await socket.send_json_to(undo)
            first = await next_frame(socket, "presence", "op", "lint")
            after_first = await rev_of(board)
            await socket.send_json_to(undo)
            second = await next_frame(socket, "presence", "op", "lint")
            return first, second, after_first, await rev_of(board)

    first, second, after_first, after_second = run(body)
    assert first["done"] is True and second["done"] is True
    assert after_first == after_second == board.rev + 2
    assert Offer.objects.filter(key="welcome").count() == 1


# --- The lint follows operations, only when it changed -------------------------------------------


async def lint_after(socket: WebsocketCommunicator) -> dict[str, Any] | None:
    """The lint frame that follows an operation, or None when none comes (well past the push's
    delay, settings.LIVE_LINT_SECONDS)."""
    if await socket.receive_nothing(timeout=1.0):
        return None
    return await next_frame(socket, "presence", "beat")


def test_a_socket_is_sent_the_lint_again_only_when_it_changed(
    board: Blueprint, users: dict[str, Any]
) -> None:
    editor = session_cookie(users["editor"])
    never = [
        [
            {"attribute": "visits_30d", "operator": "at_least", "value": 9},
            {"attribute": "visits_30d", "operator": "at_most", "value": 2},
        ]
    ]

    async def body() -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        async with board_socket(board.pk, editor) as socket:
            received = []
            for payload in (
                {"key": "welcome", "description": "first"},  # the socket's first lint
                {"key": "welcome", "description": "second"},  # the lint is as it was: none
                {"key": "welcome", "groups": never},  # a contradiction: the new lint
                {"key": "welcome", "description": "third"},  # as it was: none
            ):
                await apply_async(
                    blueprint_id=board.pk, actor=users["owner"], op_type="offer.update", payload=payload
                )
                frame = await next_frame(socket)
                received.append((frame, await lint_after(socket)))
            return received

    received = run(body)
    assert all(frame["type"] == "op" and not lint_ids(frame) for frame, _ in received)
    assert [lint is not None for _, lint in received] == [True, False, True, False]
    first, contradiction = received[0][1], received[2][1]
    assert first is not None and contradiction is not None
    assert lint_ids(first) == lint_ids(contradiction) == ["lint-summary", "lint"]
    assert first["lint_digest"] != contradiction["lint_digest"]
    assert contradiction["rev"] == received[2][0]["rev"]
    # the digest a frame says is the one its lint panel carries
    panel = next(f for f in contradiction["fragments"] if f.get("id") == "lint")
    assert f'data-digest="{contradiction["lint_digest"]}"' in panel["html"]


def test_the_lint_that_follows_a_burst_of_operations_is_what_a_page_load_shows(
    board: Blueprint, users: dict[str, Any], settings: Any
) -> None:
    settings.LIVE_LINT_SECONDS = 0.5  # the burst comes well within it: one lint for all of it
    client = Client()
    client.force_login(users["viewer"])
    shown = live_dom.page(client.get(reverse("board", args=[board.pk])).content)
    viewer = session_cookie(users["viewer"])
    twin = [[{"attribute": "visits_30d", "operator": "at_least", "value": 9}]]
    burst = [
        ("offer.update", {"key": "welcome", "groups": twin}),
        ("offer.create", {"stage": "awareness", "key": "twin", "name": "Twin", "groups": twin}),
        ("offer.move", {"key": "twin", "stage": "awareness", "before": "welcome"}),
    ]

    def apply_burst() -> None:
        for op_type, payload in burst:
            operation_apply(blueprint_id=board.pk, actor=users["owner"], op_type=op_type, payload=payload)

    async def body() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with board_socket(board.pk, viewer) as socket:
            await sync_to_async(apply_burst)()
            ops: list[dict[str, Any]] = []
            lints: list[dict[str, Any]] = []
            while len(ops) < len(burst) or not lints:
                frame = await next_frame(socket, "presence", "beat")
                (ops if frame["type"] == "op" else lints).append(frame)
            assert await socket.receive_nothing(timeout=0.8)  # and no second lint
            return ops, lints

    ops, lints = run(body)
    assert [f["type"] for f in ops] == ["op"] * len(burst)
    assert len(lints) == 1 and lints[0]["rev"] == ops[-1]["rev"]
    for frame in ops:
        live_dom.apply_frame(shown, frame)
    live_dom.apply_fragments(shown, lints[0]["fragments"])
    live = live_dom.board_parts(shown)
    expected = live_dom.board_parts(live_dom.page(client.get(reverse("board", args=[board.pk])).content))
    assert live == expected, live_dom.difference(live, expected)
    assert "duplicate" in live["lint"].lower()


def test_a_version_broadcast_costs_one_badge_render_per_process_however_many_tabs(
    board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from blueprint.live import frames
    from blueprint.live.render import version_frame
    from blueprint.services.versions import version_broadcast

    renders: list[int] = []

    def counted(blueprint_id: int) -> Any:
        renders.append(blueprint_id)
        return version_frame(blueprint_id)

    monkeypatch.setattr(frames, "version_frame", counted)
    cookies = [session_cookie(users[role]) for role in ("editor", "viewer")] * 3

    async def body() -> list[list[dict[str, Any]]]:
        sockets = await connected(board.pk, cookies)
        try:
            received = []
            for _ in range(2):  # a publish, then a decision: two broadcasts, two renders
                await sync_to_async(version_broadcast)(board.pk, 1)
                received.append(
                    [await next_frame(socket, "welcome", "presence", "beat") for socket in sockets]
                )
            return received
        finally:
            for socket in sockets:
                await socket.disconnect()

    received = run(body)
    assert all(frame["type"] == "version" for frames in received for frame in frames)
    assert all(frame == received[0][0] for frames in received for frame in frames)
    assert renders == [board.pk, board.pk]
