"""The live board when the network or the server misbehaves, in real Chromium (static/js/live.js).

Playwright's WebSocket routes stand in for a server that fails or a channel layer that loses a
frame, and a TCP relay for conference Wi-Fi that goes silent. The tests' servers run with short
live clocks (tests/server_settings.py): a ping every 2 s, offline 1.5 s after a missing pong, a
heartbeat with the rev every 2 s.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.models import Offer, Operation
from tests.browser.actions import route_board_socket, signed_in_page
from tests.browser.test_live import Board, open_board, owner_and_editor  # noqa: F401  # fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def awareness_order(board: Board) -> list[str]:
    return board.page.locator("#stage-awareness .card[data-offer-key]").evaluate_all(
        "cards => cards.map(c => c.dataset.offerKey)"
    )


def test_a_sync_answered_with_an_error_does_not_freeze_the_board(open_board, board):  # noqa: F811
    """A sync the server fails to answer (``error``, here put on the wire by a route in place of the
    server's answer) is asked again after a while; the frames that came meanwhile are applied then,
    so the page does not stop updating."""
    owner = open_board("owner", board)
    editor = open_board("editor", board)
    failed = {"done": False}

    def to_server(frame: dict[str, Any], answer: Any) -> bool:
        if frame.get("type") == "sync" and not failed["done"]:
            failed["done"] = True
            answer(
                {
                    "type": "error",
                    "detail": "The server could not handle that message; try again later.",
                    "errors": {"frame": ["Server error."]},
                }
            )
            return False
        return True

    route_board_socket(editor.page, to_server=to_server)
    editor.saved()
    expect(editor.page.locator("#toasts .toast")).to_have_count(1)  # the error was shown
    assert failed["done"]

    owner.page.locator("#offer-gold_card").hover()
    owner.page.locator("#offer-gold_card-up").click()
    owner.saved()
    assert awareness_order(owner) == ["gold_card", "welcome"]
    # the frame reaches the editor's page, which should show the move
    expect(editor.page.locator("#stage-awareness .card[data-offer-key]").first).to_have_attribute(
        "data-offer-key", "gold_card", timeout=5_000
    )


def test_a_lost_last_frame_is_recovered_without_waiting_for_another_edit(open_board, board):  # noqa: F811
    """The channel layer may drop a broadcast; when it is the last edit for a while, no later frame
    shows the gap in rev — the heartbeat's rev does, and the page syncs."""
    owner = open_board("owner", board)
    editor = open_board("editor", board)
    dropped: list[dict[str, Any]] = []

    def to_page(frame: dict[str, Any]) -> bool:
        if frame.get("type") == "op" and not dropped:
            dropped.append(frame)  # lost on the way, as the channel layer may
            return False
        return True

    route_board_socket(editor.page, to_page=to_page)
    editor.saved()

    owner.page.locator("#offer-gold_card").hover()
    owner.page.locator("#offer-gold_card-up").click()
    owner.saved()
    assert Operation.objects.filter(blueprint=board, type="offer.move").count() == 1
    expect(editor.page.locator("#stage-awareness .card[data-offer-key]").first).to_have_attribute(
        "data-offer-key", "gold_card", timeout=10_000
    )
    assert len(dropped) == 1


def test_a_viewer_made_editor_while_on_the_board_can_move_cards(open_board, board, asgi_server):  # noqa: F811
    """A role change that changes what one may do draws the page again (its scripts and buttons are
    drawn for a role too): a viewer made editor can move cards at once."""
    viewer = open_board("viewer", board)
    expect(viewer.page.locator("#board[data-can-edit]")).to_have_count(0)
    # through the server, so that its channel layer carries the membership broadcast
    api = viewer.page.context.request
    token = api.post(
        f"{asgi_server.url}/api/v1/auth/token/", data={"username": "owner", "password": "demo"}
    ).json()["token"]
    answer = api.post(
        f"{asgi_server.url}/api/v1/blueprints/{board.pk}/members/",
        data={"username": "viewer", "role": "editor"},
        headers={"Authorization": f"Token {token}"},
    )
    assert answer.ok, answer.text()
    expect(viewer.page.locator("#board[data-can-edit]")).to_have_count(1)  # the reset arrived
    viewer.page.locator("#offer-gold_card").hover()
    viewer.page.locator("#offer-gold_card-up").click()
    expect(viewer.page.locator("#stage-awareness .card[data-offer-key]").first).to_have_attribute(
        "data-offer-key", "gold_card"
    )
    viewer.saved()
    assert Offer.objects.filter(stage__key="awareness").order_by("rank").first().key == "gold_card"


class FreezableProxy:
    """A TCP relay in front of the server that can go silent without closing anything: what a laptop
    on conference Wi-Fi sees when the access point drops it (no FIN, no RST, nothing)."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self.target_port = target_port
        self.frozen = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: Any, sink: Any) -> None:
        import time

        while True:
            if self.frozen.is_set():
                time.sleep(0.05)  # hold everything: read nothing, send nothing, close nothing
                continue
            source.settimeout(0.05)
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(1)
                return
            if self.frozen.is_set():
                time.sleep(3600)  # caught mid-read: this byte never arrives
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def test_a_silently_dead_connection_is_shown_offline_within_the_ping_and_pong_timeouts(
    browser,  # the fixture
    asgi_server,  # the fixture
    board,
):
    """A connection that died silently (no FIN, no RST) shows as not saved within a ping and the
    pong wait: the page drops the socket itself rather than wait for Chromium's ``close``, which
    comes only when its closing handshake times out, about a minute later."""
    proxy = FreezableProxy(asgi_server.port)
    base = f"http://127.0.0.1:{proxy.port}"
    context, page = signed_in_page(browser, base, "editor", [])
    try:
        page.goto(f"{base}/blueprints/{board.pk}/")
        status = page.locator("#sync-status")
        expect(status).to_have_attribute("data-state", "saved")
        proxy.frozen.set()
        expect(status).not_to_have_attribute("data-state", "saved", timeout=10_000)
    finally:
        context.close()
        proxy.close()


def test_an_op_the_server_fails_on_does_not_leave_the_page_saving_a_move_it_never_made(
    open_board,  # noqa: F811
    board,
):
    """An op the server fails on (``refused`` with status 500: nothing was saved; here from a route,
    as the server answers an unexpected failure) is said, kept and sent again: the move lands once,
    and the page and the database agree, saved."""
    editor = open_board("editor", board)
    failed: list[dict[str, Any]] = []

    def to_server(frame: dict[str, Any], answer: Any) -> bool:
        if frame.get("type") == "op" and not failed:
            failed.append(frame)
            answer(
                {
                    "type": "refused",
                    "client_id": frame["client_id"],
                    "status": 500,
                    "detail": "The server could not save this change just now; it was not saved. Trying again.",
                    "errors": {"server": ["Server error."]},
                }
            )
            return False
        return True

    route_board_socket(editor.page, to_server=to_server)
    editor.saved()
    editor.page.locator("#offer-gold_card").hover()
    editor.page.locator("#offer-gold_card-up").click()
    expect(editor.page.locator("#toasts .toast")).to_have_count(1)
    assert failed and failed[0]["op"] == "offer.move"
    editor.saved()
    database = list(
        Offer.objects.filter(blueprint=board, stage__key="awareness")
        .order_by("rank")
        .values_list("key", flat=True)
    )
    assert (awareness_order(editor), editor.status().get_attribute("data-state")) == (database, "saved")


def test_boards_swapped_in_by_live_frames_are_not_kept_alive_by_sortablejs(
    open_board,  # noqa: F811
    board,
    asgi_server,
):
    """SortableJS keeps every instance's list until ``destroy()``: dragdrop.js lets go of the lists
    live frames swap out, so a workshop's tab does not grow. Ten catalog edits through the API (each
    sends the whole board); then, after a garbage collection, the detached offer lists still alive
    in the page are counted."""
    editor = open_board("editor", board)
    api = editor.page.context.request
    token = api.post(
        f"{asgi_server.url}/api/v1/auth/token/", data={"username": "owner", "password": "demo"}
    ).json()["token"]
    for n in range(10):
        answer = api.patch(
            f"{asgi_server.url}/api/v1/blueprints/{board.pk}/attributes/visits_30d/",
            data={"label": f"Visits, take {n}"},
            headers={"Authorization": f"Token {token}"},
        )
        assert answer.ok, answer.text()
    expect(editor.page.locator("#offer-welcome .chip").first).to_contain_text("Visits, take 9")
    editor.saved()

    cdp = editor.page.context.new_cdp_session(editor.page)
    cdp.send("HeapProfiler.enable")
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    prototype = cdp.send("Runtime.evaluate", {"expression": "HTMLOListElement.prototype"})["result"][
        "objectId"
    ]
    found = cdp.send("Runtime.queryObjects", {"prototypeObjectId": prototype})["objects"]["objectId"]
    detached = cdp.send(
        "Runtime.callFunctionOn",
        {
            "objectId": found,
            "functionDeclaration": "function () { return this.filter("
            "el => el.classList.contains('offer-list') && !el.isConnected).length; }",
            "returnByValue": True,
        },
    )["result"]["value"]
    assert detached <= 2, f"{detached} offer lists of swapped-out boards are still alive"


def test_a_move_arriving_while_ones_own_move_is_on_its_way_leaves_the_same_order_as_the_database(
    open_board,  # noqa: F811
    board,
):
    """A place fragment carries the list's order as the database has it, so a page that already
    shows a move of its own, still on its way, ends in the database's order once both frames are
    in. Steps, with the editor's op held on the wire:

      database and both pages: welcome, gold_card, third
      editor presses ↑ on gold_card      editor's page: gold_card, welcome, third (op on its way)
      owner presses ↑ on third           database: welcome, third, gold_card; frame "third before gold_card"
      the editor's op arrives            database: gold_card, welcome, third; frame "gold_card before welcome"
      both pages                         gold_card, welcome, third
    """
    from blueprint.services import operation_apply

    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={"stage": "awareness", "key": "third", "name": "Third"},
    )
    owner = open_board("owner", board)
    editor = open_board("editor", board)
    held: list[str] = []

    def to_server(frame: dict[str, Any], answer: Any) -> bool:
        if frame.get("type") == "op" and not held:
            held.append(json.dumps(frame))  # on its way, slowly
            return False
        return True

    servers = route_board_socket(editor.page, to_server=to_server)
    editor.saved()
    assert awareness_order(editor) == ["welcome", "gold_card", "third"]

    editor.page.locator("#offer-gold_card").hover()
    editor.page.locator("#offer-gold_card-up").click()
    assert awareness_order(editor) == ["gold_card", "welcome", "third"]
    assert len(held) == 1

    owner.page.locator("#offer-third").hover()
    owner.page.locator("#offer-third-up").click()
    owner.saved()
    expect(editor.page.locator("#activity-list .activity-item").first).to_contain_text("Third")
    servers[-1].send(held[0])  # the editor's move reaches the server at last
    editor.saved()
    database = list(
        Offer.objects.filter(blueprint=board, stage__key="awareness")
        .order_by("rank")
        .values_list("key", flat=True)
    )
    assert database == ["gold_card", "welcome", "third"]
    for page in (owner, editor):
        expect(page.page.locator("#stage-awareness .card[data-offer-key]").first).to_have_attribute(
            "data-offer-key", database[0]
        )
        assert awareness_order(page) == database
