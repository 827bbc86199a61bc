"""The simulator and coverage pages in a real browser: a lint example opens in the simulator, the
answer is drawn on the board with the chosen card, the form decides again through htmx, "Try it"
follows a why-not to the offer, and a sample uploaded on the coverage page becomes bars — with no
console errors (the CSP refuses inline scripts and styles)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lint_example_opens_in_the_simulator_and_why_not_leads_to_the_offer(
    log_in, asgi_server, board, console_errors
):
    page: Any = log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    gap = page.locator("#lint .lint-finding[data-code=gap][data-stage=onboarding]")
    gap.locator("summary").click()
    gap.locator(".lint-simulate").click()

    # the gap's customer: in onboarding, with no offer there
    expect(page.locator("#sim-result-heading")).to_contain_text("the draft")
    expect(page.locator("#sim-answers")).to_contain_text("Onboarding → no offer")
    expect(page.locator("#sim-stage-onboarding .sim-chosen")).to_have_count(0)
    tour = page.locator("#sim-offer-app_tour")
    expect(tour.locator(".sim-chip-failed, .sim-chip-missing")).to_have_count(1)

    # the form decides again, in place: a Gold customer gets the gold card
    page.select_option("#sim-segment", "Gold")
    page.get_by_role("button", name="Decide").click()
    expect(page.locator("#sim-offer-gold_card")).to_have_class("card sim-card sim-chosen")
    expect(page.locator("#sim-answers")).to_contain_text("Awareness → Gold card")
    assert "profile=" in page.url  # the address names the customer now

    # why not the welcome bonus? the smallest change, one click away
    welcome = page.locator("#sim-offer-welcome")
    expect(welcome.locator(".sim-change")).to_contain_text("Visits in the last 30 days: 3")
    welcome.locator(".sim-try").click()
    expect(page.locator("#sim-offer-welcome")).to_have_class("card sim-card sim-chosen")
    expect(page.locator("#sim-visits_30d")).to_have_value("3")
    assert console_errors == []


def test_a_sample_uploaded_on_the_coverage_page_becomes_bars(
    log_in, asgi_server, board, tmp_path, console_errors
):
    sample = tmp_path / "sample.csv"
    sample.write_text("segment,visits_30d,has_app\nGold,,yes\n,5,\nSilver,many,\nBronze,,no\n")
    page: Any = log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/coverage/")
    page.get_by_role("button", name="Count").click()
    expect(page.locator(".field-error")).to_contain_text("Choose a CSV")
    page.set_input_files("#cov-sample", str(sample))
    page.get_by_role("button", name="Count").click()
    expect(page.locator(".cov-summary")).to_contain_text("4 customers in sample.csv")
    expect(page.locator("#cov-errors summary")).to_contain_text("1 bad row")
    awareness = page.locator("#cov-stage-awareness")
    expect(awareness).to_contain_text("3 of 3 in this stage")
    expect(awareness.locator("g[data-kind=none] .cov-count")).to_have_text("1 · 33.3 %")
    # the refused first try is a 422 the browser logs; nothing else may be
    assert [e for e in console_errors if "status of 422" not in e] == []
