"""What a person does on the board, shared by the browser tests: wait for htmx, drag a card."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect


def settled(scope: Any) -> None:
    """Wait until htmx has finished settling swapped-in content (and so wired up its controls)."""
    expect(scope.locator(".htmx-added, .htmx-settling, .htmx-request")).to_have_count(0)


def carry(page: Any, source: Any, target: Any) -> None:
    """Press on ``source`` and carry it over ``target`` in small steps, as SortableJS's fallback
    drag expects; the caller releases (``page.mouse.up()``)."""
    start = source.bounding_box()
    end = target.bounding_box()
    # grab the card low on its left, away from the edit and move buttons in its top corner
    x0, y0 = start["x"] + 30, start["y"] + start["height"] - 12
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    steps = 20
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        page.wait_for_timeout(15)


def drag(page: Any, source: Any, target: Any) -> None:
    """A real mouse drag of ``source`` onto ``target``."""
    carry(page, source, target)
    page.mouse.up()
