"""Headless Chromium (Debian's, never a downloaded one) against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse database
access from it; the tests only touch the database between page actions, so that guard is lifted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser: Any, console_errors: list[str]) -> Iterator[Any]:
    """A fresh page that records console errors (CSP violations among them) and page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_console(message: Any) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(f"page error: {error}"))
    yield page
    context.close()


@pytest.fixture
def log_in(live_server: Any, page: Any) -> Any:
    def log_in_as(username: str, password: str = "demo") -> Any:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.locator("input[name=password]").press("Enter")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return log_in_as
