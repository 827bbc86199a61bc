"""The live board in two real browsers at once, against the real server: what one person does, the other sees.

Each test opens the same board as the owner and as the editor, in two browser contexts (two
sessions, two sockets), and checks what the live-board protocol promises: edits arrive without a
reload, two moves of the same card at once end in the same order everywhere (and equal to a fresh
page load), a change made offline is applied once when the connection is back, and a server restart
is survived by every open board.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.models import Offer, Operation
from tests.browser import actions
from tests.browser.actions import route_board_socket, settled, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The only console errors a test may see: Chromium reporting a WebSocket that could not connect
# while the server is down or the browser is offline (live.js then tries again by itself), and
# htmx reporting the form post that could not be sent while offline.
SOCKET_DOWN = re.compile(
    r"^WebSocket connection to 'ws://127\.0\.0\.1:\d+/ws/blueprints/\d+/' failed: "
    r"(Error in connection establishment: net::ERR_(CONNECTION_REFUSED|INTERNET_DISCONNECTED)"
    r"|Connection closed before receiving a handshake response)$"
)
RESOURCE_REFUSED = re.compile(r"^Failed to load resource: net::ERR_CONNECTION_REFUSED$")
FORM_NOT_SENT = re.compile(
    r"^(htmx:(afterRequest|sendError), \[object HTML\w+Element\]"
    r"|Failed to load resource: net::ERR_INTERNET_DISCONNECTED)$"
)


@dataclass
class Board:
    """One person's page on the board, with the console errors it logged."""

    page: Any
    name: str
    errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def status(self) -> Any:
        return self.page.locator("#sync-status")

    def saved(self, timeout: float = 5_000) -> None:
        expect(self.status()).to_have_attribute("data-state", "saved", timeout=timeout)
        expect(self.status()).to_have_text("All changes saved")

    def order(self) -> list[list[str]]:
        """Every stage with its offers, in page order."""
        return self.page.locator("#board .column").evaluate_all(
            """columns => columns.map(c => [c.dataset.stageKey,
                ...[...c.querySelectorAll('.card[data-offer-key]')].map(card => card.dataset.offerKey)])"""
        )

    def unexpected_errors(self, *allowed: re.Pattern[str]) -> list[str]:
        return [e for e in self.errors if not any(pattern.search(e) for pattern in allowed)]


@pytest.fixture
def open_board(browser: Any, asgi_server: Any) -> Iterator[Callable[[str, Any], Board]]:
    contexts: list[Any] = []

    def open_as(username: str, blueprint: Any) -> Board:
        errors: list[str] = []
        context, page = signed_in_page(browser, asgi_server.url, username, errors)
        contexts.append(context)
        board = Board(page, username, errors)
        page.on("requestfailed", lambda request: board.failed_requests.append(request.url))
        page.goto(f"{asgi_server.url}/blueprints/{blueprint.pk}/")
        board.saved()
        return board

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def owner_and_editor(open_board: Callable[[str, Any], Board], board: Any) -> tuple[Board, Board]:
    owner, editor = open_board("owner", board), open_board("editor", board)
    # each sees the other: the sockets are both up
    for me in (owner, editor):
        expect(me.page.locator("#presence .presence-person")).to_have_count(2)
    return owner, editor


def converged(blueprint: Any, *boards: Board, timeout: float = 10.0) -> list[list[str]]:
    """Wait until every board has its changes saved and shows the database's order; return it.

    Saved means acknowledged, and so committed; the broadcast of the last change may still be on
    its way, so the pages are given a moment to catch up rather than compared at once.
    """
    for board in boards:
        board.saved()
    deadline = time.monotonic() + timeout
    while True:
        expected = database_order(blueprint)
        orders = [board.order() for board in boards]
        if all(order == expected for order in orders):
            return expected
        if time.monotonic() > deadline:
            raise AssertionError(f"the boards {orders} differ from the database {expected}")
        boards[0].page.wait_for_timeout(100)


def database_order(blueprint: Any) -> list[list[str]]:
    from blueprint.models import Stage

    return [
        [stage.key, *Offer.objects.filter(stage=stage).order_by("rank").values_list("key", flat=True)]
        for stage in Stage.objects.filter(blueprint=blueprint).order_by("rank")
    ]


def edit_offer(page: Any, key: str, name: str) -> Any:
    """Open the offer's edit form and wait until htmx has wired it up."""
    page.locator(f"#offer-{key}").hover()
    page.get_by_role("button", name=f"Edit offer {name}").click()
    form = page.locator(f"#offer-{key}-edit")
    form.wait_for()
    settled(page)
    return form


def first_card(board: Board, stage: str) -> Any:
    return board.page.locator(f"#stage-{stage} .card").first


def carry(board: Board, key: str, target: str) -> None:
    """Press on a card and carry it over the target; the caller releases."""
    actions.carry(board.page, board.page.locator(f"#offer-{key}"), board.page.locator(target))


# --- Tests ------------------------------------------------------------------------------------


def test_an_edit_in_one_page_shows_in_the_other_without_a_reload(owner_and_editor, board):
    owner, editor = owner_and_editor
    # each lists both people, itself first and marked as "you"
    for me, other in ((owner, editor), (editor, owner)):
        people = me.page.locator("#presence .presence-person")
        expect(people.first).to_have_attribute("title", f"{me.name} (you)")
        expect(people.nth(1)).to_have_attribute("title", other.name)

    form = edit_offer(editor.page, "welcome", "Welcome bonus")
    # the owner sees who is editing the card
    badge = owner.page.locator("#offer-welcome .edited-by")
    expect(badge).to_have_attribute("title", "editor is editing this")

    form.locator("input[name=name]").fill("Welcome bonus, doubled")
    form.locator("button[type=submit]").click()
    expect(owner.page.locator("#offer-welcome .card-name")).to_have_text("Welcome bonus, doubled")
    expect(owner.page.locator("#activity-list .activity-item").first).to_contain_text("editor")
    # the form closed: nobody is marked as editing any more
    expect(owner.page.locator(".edited-by")).to_have_count(0)
    owner.saved()
    editor.saved()
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_a_card_the_other_is_typing_into_keeps_the_typing_through_a_live_update(owner_and_editor, board):
    owner, editor = owner_and_editor
    field_ = edit_offer(editor.page, "welcome", "Welcome bonus").locator("input[name=name]")
    field_.fill("Half-typed")
    field_.press("ArrowLeft")

    # the owner moves that very card to the next stage: the open form moves with it
    owner.page.locator("#offer-welcome").hover()
    owner.page.locator("#offer-welcome-next").click()
    expect(editor.page.locator("#stage-onboarding #offer-welcome-edit")).to_have_count(1)
    assert field_.input_value() == "Half-typed"
    assert editor.page.evaluate("document.activeElement.name") == "name"
    assert editor.page.evaluate("document.activeElement.selectionStart") == len("Half-typed") - 1

    # and deletes it: the form says so, and Cancel just closes it
    owner_form = edit_offer(owner.page, "welcome", "Welcome bonus")
    owner.page.once("dialog", lambda dialog: dialog.accept())
    owner_form.locator(".form-delete").click()
    expect(editor.page.locator("#offer-welcome-edit .form-deleted")).to_have_text(
        "owner deleted this offer. Saving will not bring it back; Cancel to close."
    )
    assert editor.page.locator("#offer-welcome-edit-name").input_value() == "Half-typed"
    editor.page.locator("#offer-welcome-edit [data-cancel]").click()
    expect(editor.page.locator("#offer-welcome-edit")).to_have_count(0)
    assert editor.page.locator("#toasts .toast").count() == 0
    converged(board, owner, editor)
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_a_form_lies_over_a_card_the_frames_keep_current_and_closes_on_its_own_frame(owner_and_editor, board):
    # One update path: while the editor's form is open the card stays in the page, hidden, and the
    # owner's rename reaches it by frame; Cancel shows it as it is now, asking the server nothing.
    # A save or a delete is answered 204 and drawn by its frame alone.
    owner, editor = owner_and_editor
    answers: list[tuple[str, str, int]] = []  # the board's own requests (not the version badge's)
    editor.page.on(
        "response",
        lambda r: answers.append((r.request.method, r.url, r.status)) if "/board/" in r.url else None,
    )
    form = edit_offer(editor.page, "welcome", "Welcome bonus")
    expect(editor.page.locator("#offer-welcome")).to_be_hidden()

    owner_form = edit_offer(owner.page, "welcome", "Welcome bonus")
    owner_form.locator("input[name=name]").fill("Welcome, renamed")
    owner_form.locator("button[type=submit]").click()
    expect(editor.page.locator("#offer-welcome .card-name")).to_have_text("Welcome, renamed")
    expect(form).to_be_visible()
    # the form marks the name the owner changed (static/js/conflicts.js asked for the form as it is now)
    expect(form.locator(".field-changed")).to_have_count(1)
    del answers[:]
    form.locator("[data-cancel]").click()
    expect(editor.page.locator("#offer-welcome-edit")).to_have_count(0)
    expect(editor.page.locator("#offer-welcome .card-name")).to_have_text("Welcome, renamed")
    assert answers == []  # closed in the page: nothing fetched

    form = edit_offer(editor.page, "welcome", "Welcome, renamed")
    form.locator("input[name=channel]").fill("email")
    form.locator("button[type=submit]").click()
    expect(editor.page.locator("#offer-welcome-edit")).to_have_count(0)
    expect(editor.page.locator("#offer-welcome .card-channel")).to_have_text("email")

    form = edit_offer(editor.page, "welcome", "Welcome, renamed")
    editor.page.once("dialog", lambda dialog: dialog.accept())
    form.locator(".form-delete").click()
    expect(editor.page.locator("#offer-welcome-edit")).to_have_count(0)
    expect(editor.page.locator("#offer-welcome")).to_have_count(0)
    expect(owner.page.locator("#offer-welcome")).to_have_count(0)
    assert editor.page.locator("#toasts .toast").count() == 0  # no "deleted by" note for one's own
    editor.saved()  # every answer is in
    posts = [(url.rsplit("/board/", 1)[-1], status) for method, url, status in answers if method == "POST"]
    assert posts == [("offers/welcome/update/", 204), ("offers/welcome/delete/", 204)]
    converged(board, owner, editor)
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_both_moving_the_same_card_at_once_end_in_the_same_order(owner_and_editor, board):
    owner, editor = owner_and_editor
    # the keyboard move buttons, pressed in both pages in the same breath
    for me in (owner, editor):
        me.page.locator("#offer-gold_card").hover()
    owner.page.evaluate("document.getElementById('offer-gold_card-up').click()")
    editor.page.evaluate("document.getElementById('offer-gold_card-next').click()")
    converged(board, owner, editor)
    assert Operation.objects.filter(blueprint=board, type="offer.move").count() == 2

    # real mouse drags of the same card into the other stage, over its list and over its top card,
    # released back to back
    carry(owner, "app_tour", "#stage-awareness .offer-list")
    carry(editor, "app_tour", "#stage-awareness .card >> nth=0")
    owner.page.mouse.up()
    editor.page.mouse.up()
    order = converged(board, owner, editor)
    assert Operation.objects.filter(blueprint=board, type="offer.move").count() == 4

    owner.page.reload()
    owner.saved()
    assert owner.order() == order
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_changes_wait_while_a_card_is_being_dragged(owner_and_editor, board):
    owner, editor = owner_and_editor
    carry(owner, "welcome", "#stage-onboarding .offer-list")
    form = edit_offer(editor.page, "app_tour", "App tour")
    form.locator("input[name=name]").fill("Tour")
    form.locator("button[type=submit]").click()
    expect(editor.page.locator("#offer-app_tour .card-name")).to_have_text("Tour")
    editor.saved()
    owner.page.wait_for_timeout(500)  # the frame has reached the owner's page by now: it waits there
    assert owner.page.locator("#offer-app_tour .card-name").inner_text() == "App tour"
    owner.page.mouse.up()
    expect(owner.page.locator("#offer-app_tour .card-name")).to_have_text("Tour")
    owner.saved()
    converged(board, owner, editor)
    assert Offer.objects.get(key="welcome").stage.key == "onboarding"
    assert owner.unexpected_errors() == []


def test_a_change_to_a_pressed_card_waits_until_it_is_let_go(owner_and_editor, board):
    # Pressed, not yet moved: SortableJS has chosen the card. Drawn again now, the drag would carry
    # a card no longer in the page, and die (the flaky drag of test_board.py)
    owner, editor = owner_and_editor
    card = owner.page.locator("#offer-welcome")
    pressed = actions.press(owner.page, card)
    form = edit_offer(editor.page, "welcome", "Welcome bonus")
    form.locator("input[name=name]").fill("Welcome gift")
    form.locator("button[type=submit]").click()
    editor.saved()
    owner.page.wait_for_timeout(500)  # the frame has reached the owner's page by now: it waits there
    assert card.locator(".card-name").inner_text() == "Welcome bonus"
    actions.carry(owner.page, card, owner.page.locator("#stage-onboarding .offer-list"), pressed=pressed)
    owner.page.mouse.up()
    expect(owner.page.locator("#stage-onboarding #offer-welcome .card-name")).to_have_text("Welcome gift")
    converged(board, owner, editor)
    assert Offer.objects.get(key="welcome").stage.key == "onboarding"

    # a press let go where it was is no drag: what came meanwhile is shown then
    actions.press(owner.page, owner.page.locator("#offer-app_tour"))
    form = edit_offer(editor.page, "app_tour", "App tour")
    form.locator("input[name=name]").fill("Tour")
    form.locator("button[type=submit]").click()
    editor.saved()
    owner.page.wait_for_timeout(500)
    assert owner.page.locator("#offer-app_tour .card-name").inner_text() == "App tour"
    owner.page.mouse.up()
    expect(owner.page.locator("#offer-app_tour .card-name")).to_have_text("Tour")
    converged(board, owner, editor)
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_a_move_made_offline_is_applied_once_when_the_connection_is_back(owner_and_editor, board):
    owner, editor = owner_and_editor
    editor.page.context.set_offline(True)
    expect(editor.status()).not_to_have_attribute("data-state", "saved")
    editor.page.locator("#offer-gold_card").hover()
    editor.page.locator("#offer-gold_card-up").click()
    expect(editor.status()).to_have_attribute("data-state", "offline")
    expect(editor.status()).to_have_text("Offline — 1 change not saved yet")
    expect(editor.page.locator("#undo")).to_be_disabled()
    assert not Operation.objects.filter(blueprint=board, type="offer.move").exists()

    editor.page.context.set_offline(False)
    editor.saved()
    expect(first_card(owner, "awareness")).to_have_attribute("data-offer-key", "gold_card")
    assert Operation.objects.filter(blueprint=board, type="offer.move").count() == 1
    converged(board, owner, editor)
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors(SOCKET_DOWN) == []


def test_a_form_saved_offline_is_sent_again_and_applied_once(owner_and_editor, board):
    owner, editor = owner_and_editor
    form = edit_offer(editor.page, "welcome", "Welcome bonus")
    form.locator("input[name=channel]").fill("email")

    editor.page.context.set_offline(True)
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-pending")).to_have_text("Offline — will be saved when the connection is back")
    expect(editor.status()).to_have_attribute("data-state", "offline")
    assert editor.page.locator("#toasts .toast").count() == 0  # said in the form, not in a toast

    editor.page.context.set_offline(False)
    editor.saved()
    expect(owner.page.locator("#offer-welcome .card-channel")).to_have_text("email")
    expect(editor.page.locator("#offer-welcome .card-channel")).to_have_text("email")
    assert Operation.objects.filter(blueprint=board, type="offer.update").count() == 1
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors(SOCKET_DOWN, FORM_NOT_SENT) == []


def test_a_lost_frame_is_noticed_by_the_gap_in_rev_and_fetched_with_a_sync(open_board, board):
    owner = open_board("owner", board)
    editor = open_board("editor", board)
    sent: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []

    def to_server(frame: dict[str, Any], answer: Any) -> bool:
        sent.append(frame)
        return True

    def to_page(frame: dict[str, Any]) -> bool:
        if frame.get("type") == "op" and not dropped:
            dropped.append(frame)  # lost on the way
            return False
        return True

    route_board_socket(editor.page, to_server=to_server, to_page=to_page)
    editor.saved()
    rev = int(editor.page.locator("#board").get_attribute("data-rev"))

    owner.page.locator("#offer-gold_card").hover()
    owner.page.locator("#offer-gold_card-up").click()
    owner.saved()
    form = edit_offer(owner.page, "app_tour", "App tour")
    form.locator("input[name=name]").fill("Tour of the app")
    form.locator("button[type=submit]").click()

    expect(editor.page.locator("#offer-app_tour .card-name")).to_have_text("Tour of the app")
    assert [frame["rev"] for frame in dropped] == [rev + 1]
    # one sync from the welcome, one for the gap
    assert sent.count({"type": "sync", "since": rev}) == 2
    converged(board, owner, editor)
    expect(editor.page.locator("#board")).to_have_attribute("data-rev", str(rev + 2))
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []


def test_operations_not_yet_sent_survive_a_page_reload(open_board, board):
    editor = open_board("editor", board)
    blocked = {"on": True}

    def socket_route(ws: Any) -> None:
        # while blocked the socket opens but reaches no server: nothing is welcomed, nothing is sent
        if not blocked["on"]:
            ws.connect_to_server()

    editor.page.route_web_socket(re.compile(r"/ws/blueprints/"), socket_route)
    editor.page.reload()
    editor.page.locator("#offer-gold_card").hover()
    editor.page.locator("#offer-gold_card-up").click()
    expect(editor.status()).to_have_text("Offline — 1 change not saved yet")

    blocked["on"] = False
    editor.page.reload()
    editor.saved()
    expect(first_card(editor, "awareness")).to_have_attribute("data-offer-key", "gold_card")
    assert Operation.objects.filter(blueprint=board, type="offer.move").count() == 1
    assert editor.unexpected_errors() == []


def test_both_boards_carry_on_after_a_server_restart(owner_and_editor, board, asgi_server):
    owner, editor = owner_and_editor
    asgi_server.restart()
    for me in (owner, editor):
        # the pages try again at growing intervals, up to live.js's retryMax (10 s) apart: a server
        # that took a few seconds to come back may wait that long for them
        me.saved(timeout=15_000)
        expect(me.page.locator("#presence .presence-person")).to_have_count(2)
    owner.page.locator("#offer-gold_card").hover()
    owner.page.locator("#offer-gold_card-up").click()
    expect(first_card(editor, "awareness")).to_have_attribute("data-offer-key", "gold_card")
    owner.saved()
    converged(board, owner, editor)
    for me in (owner, editor):
        # the browser fetches the favicon late, so a restart right after the page load may refuse it;
        # any other refused request (the board, a form) would be a real failure
        assert [url for url in me.failed_requests if not url.rsplit("/", 1)[-1].startswith("favicon")] == []
        assert (
            me.unexpected_errors(SOCKET_DOWN, RESOURCE_REFUSED if me.failed_requests else SOCKET_DOWN) == []
        )


def test_undo_and_redo_of_ones_own_move(owner_and_editor, board):
    owner, editor = owner_and_editor
    editor.page.keyboard.press("Control+z")
    expect(editor.page.locator("#toasts .toast-info")).to_contain_text("Nothing to undo")

    editor.page.locator("#offer-gold_card").hover()
    editor.page.locator("#offer-gold_card-up").click()
    expect(first_card(owner, "awareness")).to_have_attribute("data-offer-key", "gold_card")
    editor.saved()
    editor.page.locator("#board").click(position={"x": 5, "y": 5})  # focus out of the move button
    editor.page.keyboard.press("Control+z")
    expect(first_card(owner, "awareness")).to_have_attribute("data-offer-key", "welcome")
    expect(first_card(editor, "awareness")).to_have_attribute("data-offer-key", "welcome")
    editor.page.locator("#redo").click()
    expect(first_card(owner, "awareness")).to_have_attribute("data-offer-key", "gold_card")
    converged(board, owner, editor)
    assert owner.unexpected_errors() == []
    assert editor.unexpected_errors() == []
