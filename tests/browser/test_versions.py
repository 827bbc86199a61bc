"""Publishing and approving in two real browsers: the editor publishes from the board, the approver
follows the notification, reads the diff against the live version and approves; the editor's open
board shows the new live version without a reload."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.services import operation_apply, version_approve, version_publish
from tests.accounts import api_token
from tests.browser.actions import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_as(browser: Any, asgi_server: Any) -> Iterator[Callable[[str, str], Any]]:
    """A logged-in page for a demo user at ``path``, in a browser context of its own, with its
    console errors (CSP violations among them) in ``page.errors``."""
    contexts: list[Any] = []

    def open_page(username: str, path: str) -> Any:
        errors: list[str] = []
        context, page = signed_in_page(browser, asgi_server.url, username, errors)
        contexts.append(context)
        page.errors = errors
        page.goto(f"{asgi_server.url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_the_editor_publishes_the_approver_reads_the_diff_and_approves_the_board_shows_it_live(
    open_as: Any, board: Any, users: dict[str, Any]
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"], note="First cut")
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    operation_apply(
        blueprint_id=board.pk,
        actor=users["editor"],
        op_type="offer.update",
        payload={
            "key": "gold_card",
            "groups": [
                [{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum", "Silver"]}]
            ],
        },
    )

    editor = open_as("editor", f"/blueprints/{board.pk}/")
    expect(editor.locator("#sync-status")).to_have_attribute("data-state", "saved")
    badge = editor.locator("#version-badge")
    expect(badge).to_contain_text("Live: version 1")
    expect(badge).to_contain_text("Unpublished changes")

    editor.locator("#publish > summary").click()
    editor.fill("#publish-note", "Silver customers get the gold card too")
    editor.get_by_role("button", name="Publish version").click()
    expect(editor.locator("#publish-form")).to_contain_text("Published version 2")
    expect(badge).to_contain_text("Version 2 in review")
    expect(badge).to_contain_text("Draft is version 2")

    approver = open_as("approver", "/notifications/")
    notice = approver.locator(".notice", has_text="published version 2")
    expect(notice).to_have_class("notice notice-review is-new")
    notice.locator("a").click()
    approver.wait_for_url(f"**/blueprints/{board.pk}/versions/2/")
    changes = approver.locator(".version-changes")
    expect(changes).to_contain_text("What it changes against the live version 1")
    expect(changes.locator(".diff-change")).to_have_text(
        ["'Gold card' now also reaches customers whose segment is Silver"]
    )
    approver.fill("#review-comment", "Fine by me")
    approver.get_by_role("button", name="Approve").click()
    expect(approver.locator(".flash")).to_contain_text("You approved version 2: it is live now.")
    expect(approver.locator("h1")).to_contain_text("Approved")
    expect(approver.locator(".approval-approve")).to_contain_text("Fine by me")

    # the editor's board, never reloaded, shows the new live version
    expect(badge).to_contain_text("Live: version 2")
    expect(badge).not_to_contain_text("in review")
    assert editor.errors == [] and approver.errors == []


def test_an_edit_marks_the_draft_unpublished_on_the_open_board_and_lint_errors_refuse_publishing(
    open_as: Any, board: Any, users: dict[str, Any], asgi_server: Any
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    editor = open_as("editor", f"/blueprints/{board.pk}/")
    expect(editor.locator("#sync-status")).to_have_attribute("data-state", "saved")
    badge = editor.locator("#version-badge")
    expect(badge).to_contain_text("Draft is version 1")
    # someone else makes a twin of an offer through the API (of the server the page talks to): the
    # badge says so, and the checks have an error
    token = api_token(users["owner"])
    twin = {
        "key": "twin",
        "name": "Twin",
        "groups": [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]],
    }
    request = urllib.request.Request(
        f"{asgi_server.url}/api/v1/blueprints/{board.pk}/stages/awareness/offers/",
        data=json.dumps(twin).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    expect(editor.locator("#offer-twin")).to_be_visible()
    expect(badge).to_contain_text("Unpublished changes")
    editor.locator("#publish > summary").click()
    editor.get_by_role("button", name="Publish version").click()
    refusal = editor.locator("#publish-form .publish-lint")
    expect(refusal).to_contain_text("Publishing is refused while the checks find errors")
    expect(refusal).to_contain_text("Twin")
    expect(badge).to_contain_text("Version 1 in review")
    # the refusal is a 422, which the browser logs; nothing else may be there (a CSP violation, say)
    assert [e for e in editor.errors if "status of 422" not in e] == []
