"""The board in a real browser: build a stage and an offer through the UI, drag it, reload."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.models import Blueprint, Offer, Operation
from blueprint.services import operation_apply
from tests.browser.actions import drag, settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


MOVES = ("offer.move", "stage.move")


def saved(page: Any) -> None:
    """Wait until the live board's op queue is empty: every change sent was acknowledged."""
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")


def eventually(condition: Callable[[], bool], page: Any, timeout: float = 10.0) -> None:
    """Wait for ``condition``, letting the page's events (its socket's frames) in meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        page.wait_for_timeout(50)


def frames_sent(page: Any) -> list[dict[str, Any]]:
    """Every frame the page sends on its board socket from now on, as they go."""
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    return sent


def hold_back(page: Any, url: re.Pattern[str]) -> None:
    """Hold the answers to ``url`` back a while: the operation is applied, and its frame reaches
    the page first (this only holds the answer)."""

    def held_back(route: Any) -> None:
        answer = route.fetch()
        time.sleep(0.7)
        route.fulfill(response=answer)

    page.route(url, held_back)


def test_a_saved_form_is_drawn_by_its_frame_alone_and_closes_with_it(
    asgi_server, log_in, page, console_errors, catalog
):
    # One update path: the first stage's op frame (the whole board) draws it, and closes the form
    # that made it, while the POST's answer is still held back; that answer (204, nothing to swap)
    # asks for no sync and draws nothing over what the editor opened meanwhile (the next
    # "Add stage" form, half typed)
    log_in("editor")
    sent = frames_sent(page)
    page.goto(f"{asgi_server.url}/blueprints/{catalog.pk}/")
    page.get_by_text("No stages yet").wait_for()
    hold_back(page, re.compile(r"/board/stages/$"))
    eventually(lambda: any(m.get("type") == "sync" for m in sent), page)  # the socket's own, on opening
    del sent[:]
    settled(page)
    page.get_by_role("button", name="+ Add stage").click()
    settled(page)
    page.fill("#stage-new-form input[name=name]", "Awareness")
    page.locator("#stage-new-form button[type=submit]").click()
    page.locator(".column-name", has_text="Awareness").wait_for()
    settled(page)
    page.evaluate("document.getElementById('board').dataset.kept = 'yes'")
    page.get_by_role("button", name="+ Add stage").click()
    settled(page)
    page.fill("#stage-new-form input[name=name]", "Onboarding")
    page.wait_for_timeout(1000)  # a sync asked for would have been answered by now
    assert [m for m in sent if m.get("type") == "sync"] == [], sent
    assert page.locator("#board").get_attribute("data-kept") == "yes"
    expect(page.locator("#stage-new-form input[name=name]")).to_have_value("Onboarding")
    page.locator("#stage-new-form button[type=submit]").click()
    page.locator(".column-name", has_text="Onboarding").wait_for()
    assert page.locator(".column-name").all_inner_texts() == ["Awareness", "Onboarding"]


def test_a_new_offer_is_drawn_once_by_its_frame_and_its_answer_asks_for_no_sync(
    asgi_server, log_in, page, console_errors, catalog
):
    # The new offer's frame reaches the socket before the POST's answer (held back here): the
    # card is drawn once, by the frame, and the answer draws nothing and asks for no sync (which
    # would draw the card again, under a drag just begun)
    operation_apply(
        blueprint_id=catalog.pk,
        actor=None,
        op_type="stage.create",
        payload={"key": "awareness", "name": "Awareness"},
    )
    log_in("editor")
    sent = frames_sent(page)
    page.goto(f"{asgi_server.url}/blueprints/{catalog.pk}/")
    hold_back(page, re.compile(r"/board/stages/awareness/offers/$"))
    eventually(lambda: any(m.get("type") == "sync" for m in sent), page)
    del sent[:]
    settled(page)
    page.locator("#stage-awareness-add button").click()
    settled(page)
    page.locator("#stage-awareness-add-form input[name=name]").fill("Welcome bonus")
    page.locator("#stage-awareness-add-form button[type=submit]").click()
    page.locator("#offer-welcome_bonus").wait_for()
    settled(page)
    page.wait_for_timeout(1000)  # a sync asked for would have been sent by now
    assert [m for m in sent if m.get("type") == "sync"] == [], sent
    expect(page.locator("#board")).to_have_attribute(
        "data-rev", str(Blueprint.objects.get(pk=catalog.pk).rev)
    )
    assert console_errors == []


def test_building_a_stage_and_an_offer_then_dragging_it_to_another_stage(
    asgi_server, log_in, page, console_errors, catalog
):
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{catalog.pk}/")
    page.get_by_text("No stages yet").wait_for()

    for name in ("Awareness", "Onboarding"):
        settled(page)
        page.get_by_role("button", name="+ Add stage").click()
        settled(page)
        page.fill("#stage-new-form input[name=name]", name)
        page.locator("#stage-new-form button[type=submit]").click()
        page.locator(".column-name", has_text=name).wait_for()
    assert page.locator(".column-name").all_inner_texts() == ["Awareness", "Onboarding"]

    # an offer with a condition, written in the condition editor
    settled(page)
    page.locator("#stage-awareness-add button").click()
    settled(page)
    form = page.locator("#stage-awareness-add-form")
    form.locator("input[name=name]").fill("Welcome bonus")
    form.get_by_role("button", name="+ Add condition").click()
    settled(page)
    form.locator("select[aria-label=Attribute]").select_option("segment")
    operator = form.locator("select[aria-label=Operator]")
    operator.wait_for()
    settled(page)
    assert operator.locator(":scope > option").all_inner_texts() == ["is", "is one of"]
    operator.select_option("is_one_of")
    form.get_by_label("Gold").check()
    form.get_by_label("Platinum").check()
    form.get_by_role("button", name="Add offer").click()
    card = page.locator("#offer-welcome_bonus")
    card.wait_for()
    settled(page)
    assert "Segment is one of Gold or Platinum" in card.inner_text()

    # drag it into the other stage: the move goes over the socket; the count changes when its
    # broadcast comes back, so it is committed by then
    drag(page, card, page.locator("#stage-onboarding .offer-list"))
    expect(page.locator("#stage-onboarding-count")).to_have_text(re.compile(r"^1\b"))
    saved(page)
    assert Offer.objects.get(key="welcome_bonus").stage.key == "onboarding"

    page.reload()
    assert page.locator("#stage-onboarding #offer-welcome_bonus").count() == 1
    assert page.locator("#stage-awareness #offer-welcome_bonus").count() == 0
    assert page.locator("#stage-awareness .offer-empty").is_visible()
    assert console_errors == []


def test_a_refused_form_shows_its_error_in_place_and_a_refused_move_restores_the_board(
    asgi_server, log_in, page, console_errors, board
):
    for stage in ("awareness", "onboarding"):
        operation_apply(
            blueprint_id=board.pk,
            actor=None,
            op_type="offer.create",
            payload={
                "stage": stage,
                "key": f"{stage}_fallback",
                "name": f"Everyone in {stage}",
                "fallback": True,
            },
        )
    log_in("owner")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")

    # a nameless offer: the form comes back with the error beside the name, no toast
    page.locator("#stage-onboarding-add button").click()
    settled(page)
    page.locator("#stage-onboarding-add-form button[type=submit]").click()
    page.locator("#stage-onboarding-add-form .field-error").wait_for()
    assert "may not be blank" in page.locator("#stage-onboarding-add-form").inner_text()
    assert page.locator("#toasts .toast").count() == 0

    # a second fallback in a stage is refused: a toast, and the card goes back where it was
    drag(page, page.locator("#offer-awareness_fallback"), page.locator("#stage-onboarding .offer-list"))
    page.locator("#toasts .toast").wait_for()
    assert "already has a fallback" in page.locator("#toasts").inner_text()
    page.locator("#stage-awareness #offer-awareness_fallback").wait_for()
    assert page.locator("#stage-onboarding #offer-awareness_fallback").count() == 0
    saved(page)
    assert Offer.objects.get(key="awareness_fallback").stage.key == "awareness"
    # the form's refusal reaches the console as a failed request (Chromium and htmx log it); nothing else does
    expected = re.compile(r"status of 4(00|22)|Response Status Error Code 400")
    assert [e for e in console_errors if not expected.search(e)] == []


def test_keyboard_move_buttons_reorder_offers_and_stages(asgi_server, log_in, page, console_errors, board):
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator("#offer-gold_card-up").focus()
    page.keyboard.press("Enter")
    assert page.locator("#stage-awareness .card").evaluate_all("els => els.map(e => e.dataset.offerKey)") == [
        "gold_card",
        "welcome",
    ]
    assert page.evaluate("document.activeElement.id") == "offer-gold_card-up"
    page.locator("#stage-onboarding-left").focus()
    page.keyboard.press("Enter")
    # both moves go over the socket: wait until the server has applied them, then load afresh
    eventually(lambda: Operation.objects.filter(blueprint=board, type__in=MOVES).count() == 2, page)
    saved(page)
    page.reload()
    assert page.locator(".column-name").all_inner_texts() == ["Onboarding", "Awareness"]
    assert page.locator("#stage-awareness .card").first.get_attribute("data-offer-key") == "gold_card"
    assert console_errors == []


def boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_card_tools_shown_on_hover_leave_the_offer_name_visible(
    asgi_server, log_in, page, console_errors, board
):
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    card = page.locator("#offer-welcome")
    card.hover()
    tools = card.locator(".card-tools")
    expect(tools).to_have_css("opacity", "1")
    assert not boxes_overlap(tools.bounding_box(), card.locator(".card-name").bounding_box())
    assert console_errors == []


def test_a_move_button_that_cannot_move_says_so_through_the_live_region(
    asgi_server, log_in, page, console_errors, board
):
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator("#offer-welcome-up").focus()  # already the first offer of its stage
    page.keyboard.press("Enter")
    expect(page.locator("#board-status")).to_have_text(re.compile("Welcome bonus.*cannot move further"))
    assert page.locator("#board-status").get_attribute("aria-live") == "polite"
    assert page.locator("#offer-welcome-up").get_attribute("title") == "Higher priority"
    assert console_errors == []


def test_a_viewer_opens_a_clamped_description_in_full(asgi_server, log_in, page, console_errors, board):
    long_text = "A long description of the welcome bonus. " * 8
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "welcome", "description": long_text.strip()},
    )
    log_in("viewer")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    summary = page.locator("#offer-welcome .card-desc summary")
    clamped = summary.bounding_box()["height"]
    summary.click()
    assert page.locator("#offer-welcome .card-desc").evaluate("el => el.open")
    assert summary.bounding_box()["height"] > clamped * 2
    assert console_errors == []


def welcome_form_with_a_range_and_a_date(asgi_server: Any, log_in: Any, page: Any, board: Any) -> Any:
    groups = [
        [
            {"attribute": "age", "operator": "between", "value": [18, 30]},
            {"attribute": "last_login", "operator": "within_last_days", "value": 14},
        ]
    ]
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "welcome", "groups": groups},
    )
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator("#offer-welcome").hover()
    page.get_by_role("button", name="Edit offer Welcome bonus").click()
    form = page.locator("#offer-welcome-edit")
    form.wait_for()
    settled(page)
    return form


def test_every_operator_select_is_as_wide_as_its_label(asgi_server, log_in, page, console_errors, board):
    form = welcome_form_with_a_range_and_a_date(asgi_server, log_in, page, board)
    for select in form.locator("select[aria-label=Operator]").all():
        # CSSOM styles are allowed by the CSP; style attributes are not
        shown, needed = select.evaluate(
            """el => {
                const shown = el.getBoundingClientRect().width;
                el.style.width = "max-content";
                const needed = el.getBoundingClientRect().width;
                el.style.width = "";
                return [shown, needed];
            }"""
        )
        assert shown >= needed - 1
    assert console_errors == []


def test_choosing_not_between_offers_the_exact_positive_form_and_picking_it_saves_two_groups(
    asgi_server, log_in, page, console_errors, board
):
    form = welcome_form_with_a_range_and_a_date(asgi_server, log_in, page, board)
    operator = form.locator("select[aria-label=Operator]").first
    # the negatives people reach for are in the menu, apart from the operators
    assert "is not between …" in operator.locator("optgroup option").all_inner_texts()
    operator.select_option("not_between")
    settled(page)
    hint = form.locator(".cond-hint-box").first
    expect(hint).to_contain_text("Age is not between 18 and 30 years")
    pick = hint.get_by_role("button", name="'Age is below 18 years' or 'Age is above 30 years'")
    pick.click()
    settled(page)
    # two groups, each keeping the other condition, and no negative left
    expect(form.locator(".cond-group")).to_have_count(2)
    assert form.locator(".cond-hint-box").count() == 0
    form.get_by_role("button", name="Save").click()
    card = page.locator("#offer-welcome")
    expect(card).to_contain_text("Age is below 18 years")
    expect(card).to_contain_text("Age is above 30 years")
    groups = Offer.objects.get(blueprint=board, key="welcome").groups
    assert [[c["operator"] for c in g] for g in groups] == [
        ["below", "within_last_days"],
        ["above", "within_last_days"],
    ]
    assert console_errors == []


def test_typing_a_negative_word_before_a_value_shows_what_to_do_instead(
    asgi_server, log_in, page, console_errors, board
):
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator("#offer-welcome").hover()
    page.get_by_role("button", name="Edit offer Welcome bonus").click()
    form = page.locator("#offer-welcome-edit")
    form.wait_for()
    settled(page)
    form.get_by_role("button", name="+ Or …").click()
    settled(page)
    row = form.locator(".cond-row").last
    row.locator("select[aria-label=Attribute]").select_option("segment")
    settled(page)
    row = form.locator(".cond-row").last
    row.locator("select[aria-label=Operator]").select_option("is_not")
    settled(page)
    row = form.locator(".cond-row").last
    expect(row.locator(".cond-hint-box")).to_contain_text("Choose what to leave out")
    row.locator("select[aria-label=Value]").select_option("Bronze")
    expect(row.locator(".cond-pick")).to_have_text("'Segment is one of Silver, Gold or Platinum'")
    row.locator(".cond-pick").click()
    settled(page)
    row = form.locator(".cond-row").last
    expect(row.locator("select[aria-label=Operator]")).to_have_value("is_one_of")
    for choice in ("Silver", "Gold", "Platinum"):
        expect(row.get_by_label(choice)).to_be_checked()
    expect(row.get_by_label("Bronze")).not_to_be_checked()

    # typed: an open text has no exact positive form, and the hint says what to do instead
    form.get_by_role("button", name="+ Or …").click()
    settled(page)
    row = form.locator(".cond-row").last
    row.locator("select[aria-label=Attribute]").select_option("city")
    settled(page)
    row = form.locator(".cond-row").last
    row.locator("input[aria-label=Value]").press_sequentially("not Paris")
    expect(row.locator(".cond-hint-box")).to_contain_text("No positive condition says it exactly")
    expect(row.locator(".cond-hint-box")).to_contain_text("two offers")
    assert console_errors == []


def test_a_refused_save_outlines_only_the_faulty_field(asgi_server, log_in, page, console_errors, board):
    form = welcome_form_with_a_range_and_a_date(asgi_server, log_in, page, board)
    form.locator("input[aria-label=From]").fill("40")  # above the high end
    form.locator("button[type=submit]").click()
    form.locator(".field-error").wait_for()
    danger = form.locator("input[aria-label=From]").evaluate("el => getComputedStyle(el).borderColor")
    assert form.locator("input[aria-label=From]").get_attribute("aria-invalid") == "true"
    for quiet in ("select[aria-label=Attribute]", "select[aria-label=Operator]"):
        for field in form.locator(quiet).all():
            assert field.evaluate("el => getComputedStyle(el).borderColor") != danger
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_the_edit_form_saves_an_offers_dates_reference_and_tags(
    asgi_server, log_in, page, console_errors, board
):
    """Issue 16: date inputs and a tags input on the card's form; the card redraws calmly."""
    log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator("#offer-gold_card").hover()
    page.get_by_role("button", name="Edit offer Gold card").click()
    form = page.locator("#offer-gold_card-edit")
    form.wait_for()
    form.locator("input[name=content_ref]").fill("https://cdn.example.com/gold.png")
    form.locator("input[name=starts_on]").fill("2027-03-01")
    form.locator("input[name=ends_on]").fill("2027-06-30")
    form.locator("input[name=tags]").fill("summer, cards")
    form.locator("button[type=submit]").click()
    card = page.locator("#offer-gold_card")
    expect(card.locator(".card-dates")).to_have_text("1 Mar – 30 Jun 2027")
    expect(card.locator(".card-tags .tag")).to_have_text(["summer", "cards"])
    expect(card.locator(".card-ref")).to_have_text("https://cdn.example.com/gold.png")
    settled(page)
    offer = Offer.objects.get(blueprint=board, key="gold_card")
    assert (offer.content_ref, offer.starts_on, offer.ends_on, offer.tags) == (
        "https://cdn.example.com/gold.png",
        "2027-03-01",
        "2027-06-30",
        ["summer", "cards"],
    )
    assert console_errors == []
