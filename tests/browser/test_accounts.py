"""A person's own pages in Chromium: the API tokens page (make, copy, use, revoke), and an open board
that goes to the log-in page when the password is changed elsewhere (static/js/live.js on 4401)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.actions import settled, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api_status(base_url: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/blueprints/", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_a_person_makes_copies_uses_and_revokes_a_token(
    browser: Any, asgi_server: Any, blueprint: Any, users: dict[str, Any]
) -> None:
    errors: list[str] = []
    context, page = signed_in_page(browser, asgi_server.url, "editor", errors)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=asgi_server.url)
        page.get_by_role("link", name="API tokens").click()
        expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
        expect(page.get_by_text("You have no API tokens.")).to_be_visible()

        page.get_by_label("Name").fill("Nightly export")
        page.get_by_label("Works for (days)").fill("7")
        page.get_by_role("button", name="Make the token").click()
        secret_field = page.locator("#token-secret")
        expect(secret_field).to_be_visible()
        settled(page)
        secret = secret_field.input_value()
        assert len(secret) == 64
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_text("Copied.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        row = page.locator("tr", has_text="Nightly export")
        expect(row).to_contain_text("never")
        assert api_status(asgi_server.url, secret) == 200

        page.reload()  # shown once: not on the page again
        expect(page.locator("#token-secret")).to_have_count(0)
        assert secret not in page.content()
        expect(row).not_to_contain_text("never")  # it was just used

        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Revoke Nightly export").click()
        expect(page.get_by_text("Revoked “Nightly export”")).to_be_visible()
        expect(page.locator("tr", has_text="Nightly export")).to_have_count(0)
        assert api_status(asgi_server.url, secret) == 401
        assert errors == []
    finally:
        context.close()


def test_an_open_board_goes_to_the_log_in_page_when_the_password_changes_elsewhere(
    browser: Any, asgi_server: Any, board: Any, users: dict[str, Any]
) -> None:
    errors: list[str] = []
    board_context, board_page = signed_in_page(browser, asgi_server.url, "editor", errors)
    other_context, other_page = signed_in_page(browser, asgi_server.url, "editor", [])
    try:
        board_page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
        expect(board_page.locator("#sync-status")).to_have_attribute("data-state", "saved")

        other_page.get_by_role("link", name="Password").click()
        other_page.get_by_label("Old password").fill("demo")
        other_page.get_by_label("New password", exact=True).fill("a much longer new password 42")
        other_page.get_by_label("New password confirmation").fill("a much longer new password 42")
        other_page.get_by_role("button", name="Change the password").click()
        expect(other_page.get_by_role("heading", name="Password changed")).to_be_visible()

        board_page.wait_for_url(lambda url: "/accounts/login/" in url, timeout=5_000)
        assert f"next=/blueprints/{board.pk}/" in board_page.url
        expect(board_page.get_by_role("heading", name="Log in")).to_be_visible()
    finally:
        board_context.close()
        other_context.close()
