"""A limit on the board in a real browser: a drag into a full stage is refused with a toast that
says so in words (the socket's refusal names the limit; the page leaves the name out)."""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.models import Blueprint, Offer
from decisioning.limits import LIMITS
from tests.blueprint.test_limits import fill_offers
from tests.browser.actions import drag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_drag_into_a_full_stage_is_refused_in_words(
    asgi_server: Any, log_in: Any, page: Any, console_errors: list[str], board: Blueprint
) -> None:
    fill_offers(board, "onboarding", LIMITS.offers_per_stage)
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    drag(page, page.locator("#offer-welcome"), page.locator("#stage-onboarding .offer-list"))
    page.locator("#toasts .toast").wait_for()
    said = page.locator("#toasts").inner_text()
    assert f"A stage holds at most {LIMITS.offers_per_stage} offers" in said
    assert "(limit" not in said
    page.locator("#stage-awareness #offer-welcome").wait_for()  # back where the database has it
    assert Offer.objects.get(blueprint=board, key="welcome").stage.key == "awareness"
    assert console_errors == []
