"""What a person does, shared by the browser tests: sign in in a browser of their own, wait for
htmx, drag a card."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

Answer = Callable[[dict[str, Any]], None]


def route_board_socket(
    page: Any,
    *,
    to_server: Callable[[dict[str, Any], Answer], bool] | None = None,
    to_page: Callable[[dict[str, Any]], bool] | None = None,
) -> list[Any]:
    """Put the page's board socket behind filters, as a bad network or a failing server would be,
    and reload the page so it connects through them. Each filter gets a frame and says whether it
    goes on; ``to_server`` may also answer the page itself (``answer(frame)``). Returns the server
    ends of the connections made, to send a held frame on later."""
    servers: list[Any] = []

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        servers.append(server)

        def up(message: str | bytes) -> None:
            if to_server is None or to_server(json.loads(message), lambda frame: ws.send(json.dumps(frame))):
                server.send(message)

        def down(message: str | bytes) -> None:
            if to_page is None or to_page(json.loads(message)):
                ws.send(message)

        ws.on_message(up)
        server.on_message(down)

    page.route_web_socket(re.compile(r"/ws/blueprints/"), route)
    page.reload()
    return servers


def signed_in_page(browser: Any, base_url: str, username: str, errors: list[str]) -> tuple[Any, Any]:
    """(context, page): a browser context of its own, signed in as ``username`` (password "demo"),
    its console errors (CSP violations among them) and page errors appended to ``errors``. The
    caller closes the context."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


def settled(scope: Any) -> None:
    """Wait until htmx has finished settling swapped-in content (and so wired up its controls)."""
    expect(scope.locator(".htmx-added, .htmx-settling, .htmx-request")).to_have_count(0)


def shown_box(element: Any) -> dict[str, float]:
    """The part of ``element`` one can see and point at: its box cut by the viewport and by every
    scrolling ancestor (the board, a column). A list half scrolled away has its centre out of sight,
    over the page's header, say, where a drop lands nowhere."""
    element.scroll_into_view_if_needed()
    box: dict[str, float] = element.evaluate(
        """el => {
            let { left, top, right, bottom } = el.getBoundingClientRect();
            right = Math.min(right, innerWidth);
            bottom = Math.min(bottom, innerHeight);
            for (let up = el.parentElement; up; up = up.parentElement) {
                if (getComputedStyle(up).overflow === "visible") continue;
                const clip = up.getBoundingClientRect();
                left = Math.max(left, clip.left);
                top = Math.max(top, clip.top);
                right = Math.min(right, clip.right);
                bottom = Math.min(bottom, clip.bottom);
            }
            return { x: left, y: top, width: right - left, height: bottom - top };
        }"""
    )
    assert box["width"] > 0 and box["height"] > 0, f"nothing of {element} is in sight"
    return box


def press(page: Any, card: Any) -> tuple[float, float]:
    """Press the mouse on ``card``, low on its left, away from the edit and move buttons in its top
    corner; returns where."""
    box = shown_box(card)
    x, y = box["x"] + min(30, box["width"] / 2), box["y"] + max(box["height"] - 12, box["height"] / 2)
    page.mouse.move(x, y)
    page.mouse.down()
    return x, y


def carry(page: Any, source: Any, target: Any, *, pressed: tuple[float, float] | None = None) -> None:
    """Press on ``source`` (unless it is ``pressed`` already, there) and carry it over ``target``
    in small steps, as SortableJS's fallback drag expects; the caller releases (``page.mouse.up()``)."""
    end = shown_box(target)
    x0, y0 = pressed or press(page, source)
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    steps = 20
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        page.wait_for_timeout(15)
    # SortableJS looks where the pointer is every 50 ms, not on each move: a hand rests over the
    # target until the card shows there, and so does this (a release before then drops it on the
    # way, where the last look found it)
    page.wait_for_function(
        """target => {
            const list = target.closest(".offer-list, .columns");
            const carried = document.querySelector(".drag-ghost");
            return Boolean(list && carried && list.contains(carried));
        }""",
        arg=target.element_handle(),
        timeout=5_000,
    )


def drag(page: Any, source: Any, target: Any) -> None:
    """A real mouse drag of ``source`` onto ``target``."""
    carry(page, source, target)
    page.mouse.up()
