"""The lint on the live board, in two real browsers: an edit in one page changes the "Checks" and the
markers on the cards in the other without a reload, and a finding clicked outlines its cards."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.services import operation_apply
from tests.browser.actions import settled, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_board(browser: Any, asgi_server: Any) -> Iterator[Callable[[str, Any], Any]]:
    """A page of the board for a demo user, in a browser context of its own, with its console
    errors (CSP violations among them) in ``page.errors``."""
    contexts: list[Any] = []

    def open_as(username: str, blueprint: Any) -> Any:
        errors: list[str] = []
        context, page = signed_in_page(browser, asgi_server.url, username, errors)
        contexts.append(context)
        page.errors = errors
        page.goto(f"{asgi_server.url}/blueprints/{blueprint.pk}/")
        expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def seniors(board: Any) -> Any:
    """The board fixture plus a stage for customers of 50 and over, and in onboarding an offer for
    customers of 30 and under: moved into that stage, it can never match."""
    ops = [
        (
            "stage.create",
            {
                "key": "seniors",
                "name": "Seniors",
                "entry": [[{"attribute": "age", "operator": "at_least", "value": 50}]],
            },
        ),
        (
            "offer.create",
            {
                "stage": "onboarding",
                "key": "young",
                "name": "Young saver",
                "groups": [[{"attribute": "age", "operator": "at_most", "value": 30}]],
            },
        ),
    ]
    for op_type, payload in ops:
        operation_apply(blueprint_id=board.pk, actor=None, op_type=op_type, payload=payload)
    board.refresh_from_db()
    return board


def test_an_edit_changes_the_checks_and_the_markers_in_the_other_page(open_board, seniors):
    owner, editor = open_board("owner", seniors), open_board("editor", seniors)
    for page in (owner, editor):
        expect(page.locator("#presence .presence-person")).to_have_count(2)
    # before: no errors; an empty stage (a warning on its head); on the card only a folded note
    expect(owner.locator("#lint-summary .lint-count-error")).to_have_count(0)
    expect(owner.locator("#stage-seniors-head .lint-mark")).to_have_attribute(
        "title", re.compile("no offers yet")
    )
    expect(owner.locator("#offer-young .lint-mark")).to_have_attribute("data-level", "info")
    expect(owner.locator("#offer-young .lint-mark")).to_be_hidden()
    expect(owner.locator("#lint-panel")).to_be_visible()

    # the editor moves the card into the stage where nobody is 30 or under
    editor.locator("#offer-young").hover()
    editor.locator("#offer-young-next").click()

    # the owner's page says so without a reload: the summary, the panel, a marker on the card
    expect(owner.locator("#stage-seniors #offer-young")).to_have_count(1)
    expect(owner.locator("#lint-summary .lint-count-error")).to_have_text("1")
    error = owner.locator("#lint .lint-finding[data-level=error]")
    expect(error).to_have_count(1)
    expect(error.locator(".lint-message")).to_contain_text("“Young saver” can never match")
    marker = owner.locator("#offer-young .lint-mark")
    expect(marker).to_have_attribute("data-level", "error")
    expect(marker).to_be_visible()
    assert "can never match" in (marker.get_attribute("title") or "")
    # its condition is ringed; the stage is no longer empty, but nobody in it gets an offer
    expect(owner.locator("#offer-young .chip .lint-chip-mark[data-level=error]")).to_have_count(1)
    expect(owner.locator("#stage-seniors-head .lint-mark")).to_have_attribute(
        "title", re.compile("get no offer")
    )

    # the finding, chosen with the keyboard, outlines the card; another outlines its own instead
    error.locator(".lint-show").focus()
    owner.keyboard.press("Enter")
    expect(owner.locator("#offer-young .lint-glow")).to_have_count(1)
    expect(error).to_have_class("lint-finding lint-finding-active")
    expect(owner.locator(".lint-glow")).to_have_count(1)
    gap = owner.locator("#lint .lint-finding[data-code=gap][data-stage=awareness]")
    gap.locator(".lint-show").click()
    expect(owner.locator("#stage-awareness-head .lint-glow")).to_have_count(1)
    expect(owner.locator("#offer-young .lint-glow")).to_have_count(0)

    # the editor's own page agrees, and so does a fresh load of the owner's
    expect(editor.locator("#offer-young .lint-mark")).to_have_attribute("data-level", "error")
    live = owner.locator("#lint").evaluate("el => el.querySelector('#lint-marks').textContent")
    owner.reload()
    expect(owner.locator("#sync-status")).to_have_attribute("data-state", "saved")
    assert owner.locator("#lint").evaluate("el => el.querySelector('#lint-marks').textContent") == live
    expect(owner.locator("#offer-young .lint-mark")).to_have_attribute("data-level", "error")
    assert owner.errors == [] and editor.errors == []


def test_the_panel_folds_away_and_notes_show_on_cards_only_when_unfolded(open_board, board):
    page = open_board("viewer", board)
    # welcome and gold_card overlap: a note, folded, so no marker on the board
    note = page.locator("#offer-welcome .lint-mark[data-level=info]")
    expect(note).to_be_hidden()
    page.locator("#lint-notes > summary").click()
    expect(note).to_be_visible()
    # its marker opens the finding: the card is outlined
    note.click()
    expect(page.locator("#offer-welcome .lint-glow")).to_have_count(1)
    expect(page.locator("#lint .lint-finding-active")).to_have_attribute("data-code", "overlap")

    # the example customer unfolds and is copied as JSON
    example = page.locator("#lint .lint-finding[data-code=overlap] .lint-example")
    example.locator("summary").click()
    expect(example.locator(".lint-profile")).to_contain_text("Segment")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    example.locator(".lint-copy").click()
    expect(example.locator(".lint-copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert '"segment"' in copied and '"visits_30d"' in copied

    # the toggle in the bar hides the panel, and the notes' markers with it; a reload remembers
    toggle = page.locator("#lint-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#lint-panel")).to_be_hidden()
    expect(note).to_be_hidden()
    page.reload()
    settled(page)
    expect(page.locator("#lint-panel")).to_be_hidden()
    page.locator("#lint-toggle").click()
    expect(page.locator("#lint-notes")).to_have_attribute("open", "")  # unfolded, as left
    expect(note).to_be_visible()
    assert page.errors == []
