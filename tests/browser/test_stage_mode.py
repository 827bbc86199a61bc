"""How stages relate, set on the board in a real browser: another tab follows at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from blueprint.models import Blueprint
from tests.browser.actions import settled, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_sets_one_stage_each_and_another_tab_follows(asgi_server, browser, board):
    errors: list[str] = []
    editor_context, editor = signed_in_page(browser, asgi_server.url, "editor", errors)
    viewer_context, viewer = signed_in_page(browser, asgi_server.url, "viewer", errors)
    try:
        for page in (editor, viewer):
            page.set_default_timeout(20_000)  # two tabs on a busy machine
            page.goto(f"{asgi_server.url}/blueprints/{board.pk}/", wait_until="domcontentloaded")
            expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")
            settled(page)
        expect(viewer.locator("#stage-mode")).to_contain_text("A customer can be in several stages at once")
        # the checks say the two stages (both let everyone in) overlap
        expect(viewer.locator("#lint")).to_contain_text("Customers in several stages")

        editor.get_by_label("How stages relate").select_option(
            label="Each customer is in one stage — the first in journey order"
        )

        expect(viewer.locator("#stage-mode")).to_contain_text(
            "Each customer is in one stage — the first in journey order"
        )
        expect(viewer.locator("#stage-mode")).to_have_attribute("data-stage-mode", "one")
        # the checks follow: Awareness takes everyone, so Onboarding is never reached
        expect(viewer.locator("#lint")).to_contain_text("Stage never reached")
        expect(viewer.locator("#lint")).not_to_contain_text("Customers in several stages")
        expect(editor.locator("#stage-mode-select")).to_have_value("one")
        assert Blueprint.objects.get(pk=board.pk).stage_mode == "one"
        assert errors == []
    finally:
        editor_context.close()
        viewer_context.close()
