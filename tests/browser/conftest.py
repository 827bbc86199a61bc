"""Headless Chromium (Debian's, never a downloaded one) against a real ASGI server.

The board opens a WebSocket, which pytest-django's live server (WSGI) cannot serve, so the pages
come from a server subprocess (uvicorn, as `make run` serves) (``asgi_server``) sharing the test database: a SQLite file (see
``django_db_modify_db_settings`` in tests/conftest.py) or the PostgreSQL test database. Tests
write their data with ``transactional_db``, so it is committed and the server sees it.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse database
access from it; the tests only touch the database between page actions, so that guard is lifted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.servers import AppServer, server_env

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
_LOG_START = pytest.StashKey[int]()


def _database_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """Where the server finds the test database this process has just created."""
    name = str(settings_dict["NAME"])
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        if "mode=memory" in name or name == ":memory:":
            pytest.fail("the test database is in memory; the ASGI server needs a file (tests/conftest.py)")
        # SQLITE_PATH rather than DATABASE_URL=sqlite:///…: the server then opens the file with the
        # project's own SQLite options (WAL, IMMEDIATE transactions, busy timeout), as `make run` does.
        return {"SQLITE_PATH": name}
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return {"DATABASE_URL": f"postgresql://{credentials}{host}{port}/{quote(name, safe='')}"}


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app served on 127.0.0.1 (`manage.py serve`), one per xdist worker, started on first use.

    ``.url`` is its address; ``.restart()`` stops it (SIGTERM, then SIGKILL) and starts a new
    process on the same port, returning once it answers /healthz. Its output goes to
    ``.log``; a failing test shows what the server wrote while it ran.
    """
    from django.db import connections

    env = server_env(
        {
            **_database_env(connections["default"].settings_dict),
            "DJANGO_SETTINGS_MODULE": "tests.server_settings",
            "DEBUG": "1",
            "DB_CONN_MAX_AGE": "0",
        }
    )
    server = AppServer(env=env, log=tmp_path_factory.mktemp("asgi") / "server.log")
    server.start()
    yield server
    server.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    server = getattr(item, "funcargs", {}).get("asgi_server")
    if isinstance(server, AppServer):
        if call.when == "setup":
            item.stash[_LOG_START] = server.log_size()
        if report.failed:
            since = item.stash.get(_LOG_START, 0)
            report.sections.append((f"server log ({server.log})", server.log_tail(since) or "(empty)"))
    return report


# Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running in this
# thread while it is started, and async_to_sync refuses to run in a thread with a running loop. So
# it is stopped whenever the next test is not a browser test (pytest tears down a package's
# fixtures on leaving it), and the socket tests that follow in the same xdist worker can run.
@pytest.fixture(scope="package")
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
def log_in(asgi_server: AppServer, page: Any) -> Any:
    def log_in_as(username: str, password: str = "demo") -> Any:
        page.goto(f"{asgi_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.locator("input[name=password]").press("Enter")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return log_in_as
