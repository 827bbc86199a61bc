"""State that must be right (issue 16), in real browsers: the unpublished indicator on every open
tab after an operation, a form open while someone else saves the same card, and the board's layout
at 1,440 and 1,920 pixels."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.services import operation_apply, version_approve, version_publish, version_reject
from tests.accounts import api_token
from tests.browser.actions import settled, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_as(browser: Any, asgi_server: Any) -> Iterator[Callable[..., Any]]:
    """A signed-in page for a user at ``path`` (in a browser context of its own, ``width`` pixels
    wide), its console errors in ``page.errors``."""
    contexts: list[Any] = []

    def open_page(username: str, path: str, width: int = 1400) -> Any:
        errors: list[str] = []
        context, page = signed_in_page(browser, asgi_server.url, username, errors)
        contexts.append(context)
        page.errors = errors
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{asgi_server.url}{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def api_post(server: Any, user: Any, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {api_token(user)}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def api_patch(server: Any, user: Any, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {api_token(user)}", "Content-Type": "application/json"},
        method="PATCH",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


# --- "Unpublished changes" on every open tab -------------------------------------------------------


def test_restoring_the_live_version_clears_unpublished_on_every_open_board(
    open_as: Any, board: Any, users: dict[str, Any], asgi_server: Any
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": "More"}
    )
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_reject(blueprint_id=board.pk, number=2, actor=users["approver"], comment="No")

    editor = open_as("editor", f"/blueprints/{board.pk}/")
    viewer = open_as("viewer", f"/blueprints/{board.pk}/")
    for page in (editor, viewer):
        expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")
        expect(page.locator("#version-badge")).to_contain_text("Unpublished changes")
    publish = editor.locator("#publish > summary")
    expect(publish).not_to_have_attribute("aria-disabled", "true")

    # the owner restores the live version elsewhere (the API of the server the pages talk to)
    assert api_post(asgi_server, users["owner"], f"blueprints/{board.pk}/versions/1/restore/", {}) == 200
    for page in (editor, viewer):
        expect(page.locator("#offer-welcome")).to_contain_text("Welcome bonus")
        expect(page.locator("#version-badge")).to_contain_text("Draft is version 1")
        expect(page.locator("#version-badge")).not_to_contain_text("Unpublished")
    expect(publish).to_have_attribute("aria-disabled", "true")
    publish.click()
    expect(editor.locator("#publish")).not_to_have_attribute("open", "")

    # an edit makes it differ again, on both tabs, and Publish comes back
    assert (
        api_patch(asgi_server, users["owner"], f"blueprints/{board.pk}/offers/welcome/", {"name": "W"}) == 200
    )
    for page in (editor, viewer):
        expect(page.locator("#version-badge")).to_contain_text("Unpublished changes")
    expect(publish).not_to_have_attribute("aria-disabled", "true")
    assert editor.errors == [] and viewer.errors == []


# --- An edit form open while someone else saves the same card ----------------------------------------


def open_edit(page: Any, key: str, name: str) -> Any:
    page.locator(f"#offer-{key}").hover()
    page.get_by_role("button", name=f"Edit offer {name}").click()
    form = page.locator(f"#offer-{key}-edit")
    form.wait_for()
    settled(page)
    return form


def test_a_form_open_while_someone_else_saves_marks_what_changed_and_takes_it_on_request(
    open_as: Any, board: Any, users: dict[str, Any], asgi_server: Any, tmp_path: Any
) -> None:
    editor = open_as("editor", f"/blueprints/{board.pk}/")
    owner = open_as("owner", f"/blueprints/{board.pk}/")
    for page in (editor, owner):
        expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")

    # the editor opens Gold card and starts typing a new name
    mine = open_edit(editor, "gold_card", "Gold card")
    editor.fill("#offer-gold_card-edit-name", "Gold card (mine)")

    # meanwhile the owner saves the same card from their own form: a new name and a description
    theirs = open_edit(owner, "gold_card", "Gold card")
    owner.fill("#offer-gold_card-edit-name", "Gold card plus")
    owner.fill("#offer-gold_card-edit-description", "For our best customers")
    theirs.get_by_role("button", name="Save").click()
    expect(owner.locator("#offer-gold_card")).to_contain_text("Gold card plus")

    # the editor's form marks both fields, says who and what, and keeps what the editor typed
    name_box = mine.locator(".field:has(#offer-gold_card-edit-name)")
    description_box = mine.locator(".field:has(#offer-gold_card-edit-description)")
    expect(name_box.locator(".field-changed")).to_have_text("Changed by owner: “Gold card plus” — Use theirs")
    expect(description_box.locator(".field-changed")).to_contain_text("“For our best customers”")
    expect(mine.locator(".form-changed")).to_contain_text("Saved by owner while you were editing")
    expect(mine.locator("#offer-gold_card-edit-name")).to_have_value("Gold card (mine)")
    expect(mine.locator("#offer-gold_card-edit-description")).to_have_value("")
    expect(mine.locator(".field-changed")).to_have_count(2)  # channel, fallback, conditions: unchanged
    editor.screenshot(path=str(tmp_path / "conflict.png"))

    # the editor takes their description, keeps their own name and saves
    description_box.get_by_role("button", name="Use theirs").click()
    expect(mine.locator("#offer-gold_card-edit-description")).to_have_value("For our best customers")
    expect(mine.locator(".field-changed")).to_have_count(1)
    mine.get_by_role("button", name="Save").click()
    for page in (editor, owner):
        expect(page.locator("#offer-gold_card")).to_contain_text("Gold card (mine)")
        expect(page.locator("#offer-gold_card")).to_contain_text("For our best customers")
    assert editor.errors == [] and owner.errors == []


def test_new_conditions_saved_elsewhere_are_marked_and_taken_with_the_rest(
    open_as: Any, board: Any, users: dict[str, Any], asgi_server: Any
) -> None:
    editor = open_as("editor", f"/blueprints/{board.pk}/")
    expect(editor.locator("#sync-status")).to_have_attribute("data-state", "saved")
    mine = open_edit(editor, "gold_card", "Gold card")
    groups = [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum", "Silver"]}]]
    assert (
        api_patch(
            asgi_server,
            users["owner"],
            f"blueprints/{board.pk}/offers/gold_card/",
            {"groups": groups, "channel": "email"},
        )
        == 200
    )
    conditions = mine.locator("[data-field=groups]")
    expect(conditions.locator(":scope > .field-changed")).to_have_text("Changed by owner — Use theirs")
    expect(mine.locator(".field:has(#offer-gold_card-edit-channel) .field-changed")).to_contain_text(
        "“email”"
    )
    mine.get_by_role("button", name="Take all the new values").click()
    expect(mine.locator(".field-changed")).to_have_count(0)
    expect(mine.locator(".form-changed")).to_have_count(0)
    expect(mine.locator("#offer-gold_card-edit-channel")).to_have_value("email")
    expect(conditions.locator("input[type=checkbox][value=Silver]")).to_be_checked()
    # saving now changes nothing: the form is what the board holds
    rev = board.__class__.objects.get(pk=board.pk).rev
    mine.get_by_role("button", name="Save").click()
    expect(editor.locator("#offer-gold_card-edit")).to_have_count(0)
    assert board.__class__.objects.get(pk=board.pk).rev == rev
    assert editor.errors == []


def test_a_stage_form_open_while_someone_else_renames_the_stage_marks_the_name(
    open_as: Any, board: Any, users: dict[str, Any], asgi_server: Any
) -> None:
    editor = open_as("editor", f"/blueprints/{board.pk}/")
    expect(editor.locator("#sync-status")).to_have_attribute("data-state", "saved")
    editor.locator("#stage-awareness-head").hover()
    editor.get_by_role("button", name="Edit stage Awareness").click()
    form = editor.locator("#stage-awareness-head-edit")
    form.wait_for()
    settled(editor)
    path = f"blueprints/{board.pk}/stages/awareness/"
    assert api_patch(asgi_server, users["owner"], path, {"name": "First look"}) == 200
    name_box = form.locator(".field:has(#stage-awareness-head-edit-name)")
    expect(name_box.locator(".field-changed")).to_have_text("Changed by owner: “First look” — Use theirs")
    name_box.get_by_role("button", name="Use theirs").click()
    expect(form.locator("#stage-awareness-head-edit-name")).to_have_value("First look")
    expect(form.locator(".form-changed")).to_have_count(0)
    assert editor.errors == []


# --- Coverage keeps the file and the whole names ---------------------------------------------------


def test_coverage_keeps_the_chosen_file_and_shows_whole_offer_names(
    open_as: Any, board: Any, users: dict[str, Any], tmp_path: Any
) -> None:
    long_name = "Gold card with premium travel insurance for frequent flyers"
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "gold_card", "name": long_name},
    )
    sample = tmp_path / "sample.csv"
    sample.write_text("segment,visits_30d\nGold,1\nPlatinum,0\nBronze,9\n")
    page = open_as("editor", f"/blueprints/{board.pk}/coverage/")
    page.set_input_files("#cov-sample", str(sample))
    page.get_by_role("button", name="Count").click()
    expect(page.locator(".cov-summary")).to_contain_text("3 customers in sample.csv")
    expect(page.locator("#cov-counted")).to_contain_text("Counted: sample.csv")
    assert page.eval_on_selector("#cov-sample", "input => input.files.length") == 1
    label = page.locator("#cov-stage-awareness .cov-label-offer").nth(1)
    assert " ".join(t.strip() for t in label.locator("tspan").all_text_contents()) == long_name
    # every line of the label stays left of the bars, and the rows do not overlap
    boxes = [page.locator("#cov-stage-awareness .cov-row").nth(i).bounding_box() for i in range(3)]
    for upper, lower in itertools.pairwise(boxes):
        assert upper["y"] + upper["height"] <= lower["y"] + 0.5
    track = page.locator("#cov-stage-awareness .cov-track").nth(1).bounding_box()
    for i in range(label.locator("tspan").count()):
        box = label.locator("tspan").nth(i).bounding_box()
        assert box["x"] + box["width"] <= track["x"]
    # counting again needs no new choice of file
    page.fill("#cov-at", "2026-01-02")
    page.get_by_role("button", name="Count").click()
    expect(page.locator(".cov-summary")).to_contain_text("on 2 Jan 2026")
    assert page.eval_on_selector("#cov-sample", "input => input.files.length") == 1
    page.screenshot(path=str(tmp_path / "coverage.png"), full_page=True)
    assert page.errors == []


# --- Layout at 1,440 and 1,920 pixels ----------------------------------------------------------------


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def toolbar_lines(page: Any) -> int:
    """How many lines the board's toolbar takes: its items' distinct rows."""
    tops = page.evaluate(
        """() => [...document.querySelector('.board-toolbar').children]
            .filter((el) => el.getBoundingClientRect().width > 0 && !el.classList.contains('toolbar-spacer'))
            .map((el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom]; })"""
    )
    rows: list[tuple[float, float]] = []
    for top, bottom in sorted(tops):
        if not any(top < row_bottom and row_top < bottom for row_top, row_bottom in rows):
            rows.append((top, bottom))
    return len(rows)


@pytest.mark.parametrize("width", [1440, 1920])
def test_the_board_s_layout_hides_nothing(
    open_as: Any, board: Any, users: dict[str, Any], width: int, tmp_path: Any
) -> None:
    from blueprint.models import Blueprint, Membership, Role

    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="stage.create",
        payload={"key": "retention", "name": "Retention"},
    )
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={
            "stage": "awareness",
            "key": "young_gold",
            "name": "Young gold",
            "groups": [
                [
                    {"attribute": "segment", "operator": "is", "value": "Gold"},
                    {"attribute": "age", "operator": "at_most", "value": 30},
                ]
            ],
        },
    )
    page = open_as("owner", f"/blueprints/{board.pk}/", width)
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")

    # a card's hover toolbar covers none of its chips, nor its name, nor the card above it
    for key in ("welcome", "gold_card", "young_gold"):
        card = page.locator(f"#offer-{key}")
        card.hover()
        tools = card.locator(".card-tools")
        expect(tools).to_have_css("opacity", "1")
        box = tools.bounding_box()
        covered = [
            chip.text_content()
            for chip in card.locator(".chip, .card-name").all()
            if overlaps(box, chip.bounding_box())
        ]
        assert covered == [], (key, covered)
        above = card.locator("xpath=preceding-sibling::li[1]")
        if above.count():
            for chip in above.locator(".chip").all():
                assert not overlaps(box, chip.bounding_box()), key
        page.screenshot(path=str(tmp_path / f"hover-{key}-{width}.png"))

    # "+ Add stage" beside three stages is whole, left of the checks
    button = page.get_by_role("button", name="+ Add stage")
    add = button.bounding_box()
    side = page.locator(".board-side").bounding_box()
    visible = page.evaluate(
        "() => { const b = document.getElementById('board').getBoundingClientRect();"
        " const el = document.getElementById('board'); return [b.left, b.left + el.clientWidth]; }"
    )
    assert add["x"] >= visible[0] and add["x"] + add["width"] <= min(visible[1], side["x"]), (
        add,
        side,
        visible,
    )
    assert page.evaluate("() => document.getElementById('board').scrollLeft") == 0

    # the toolbar is one line, here and on a new, empty board
    assert toolbar_lines(page) == 1
    page.screenshot(path=str(tmp_path / f"board-{width}.png"))
    fresh = Blueprint.objects.create(name="A new blueprint for the autumn campaign", context="", channels=[])
    Membership.objects.create(blueprint=fresh, user=users["owner"], role=Role.OWNER)
    page.goto(f"{page.url.split('/blueprints/')[0]}/blueprints/{fresh.pk}/")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "saved")
    assert toolbar_lines(page) == 1
    page.screenshot(path=str(tmp_path / f"new-board-{width}.png"))
    assert page.errors == []
