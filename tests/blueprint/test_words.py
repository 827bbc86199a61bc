"""Words for marketers, read off the pages: names, plurals and values as a person writes them, never
a key or a JSON path (those stay in the API); the diff says the move that was made, and a version's
board marks what it added, changed or moved."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from blueprint.models import Blueprint
from blueprint.services import operation_apply, version_approve, version_publish
from decisioning.errors import NotFound
from decisioning.limits import for_people
from decisioning.words import path_words, plural, value_words, with_unit
from tests.blueprint import live_dom

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# a JSON path, or a key marked for programs, anywhere in a page's text
PATHS = re.compile(r"\w\[\d+\]|\(key: |\(at ")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def apply(board: Blueprint, op_type: str, payload: dict[str, Any], actor: Any = None) -> None:
    operation_apply(blueprint_id=board.pk, actor=actor, op_type=op_type, payload=payload)


def text_of(html: bytes | str, element_id: str) -> str:
    node = live_dom.by_id(live_dom.page(html), element_id)
    assert node is not None, element_id
    return " ".join(node.text_content().split())


def page_text(html: bytes | str) -> str:
    return " ".join(live_dom.page(html).text_content().split())


# --- The activity ------------------------------------------------------------------------------------


def test_the_activity_says_a_stage_move_by_the_stages_names(board: Blueprint, users: dict[str, Any]) -> None:
    apply(board, "stage.create", {"key": "use_stage", "name": "Usage"})
    apply(board, "stage.create", {"key": "loyalty", "name": "Loyalty"})
    apply(board, "stage.move", {"key": "use_stage", "after": "loyalty"}, users["editor"])
    apply(board, "stage.move", {"key": "loyalty", "before": "awareness"}, users["editor"])
    activity = text_of(client_for(users["viewer"]).get(reverse("board", args=[board.pk])).content, "activity")
    assert "moved stage 'Usage' after 'Loyalty'" in activity
    assert "moved stage 'Loyalty' before 'Awareness'" in activity
    assert "'loyalty'" not in activity and "use_stage" not in activity and "'awareness'" not in activity


def test_the_activity_says_an_offer_move_as_the_diff_does(board: Blueprint, users: dict[str, Any]) -> None:
    apply(board, "offer.move", {"key": "gold_card", "before": "welcome"}, users["editor"])
    apply(board, "offer.move", {"key": "gold_card", "stage": "awareness"}, users["editor"])  # to the end
    activity = text_of(client_for(users["viewer"]).get(reverse("board", args=[board.pk])).content, "activity")
    assert "moved offer 'Gold card' up to priority 1 (was 2) in Awareness" in activity
    assert "moved offer 'Gold card' down to priority 2 (was 1) in Awareness" in activity
    assert "reordered" not in activity


# --- Refusals ----------------------------------------------------------------------------------------


def test_a_board_refusal_about_a_deleted_offer_names_no_key(board: Blueprint, users: dict[str, Any]) -> None:
    apply(board, "offer.create", {"stage": "awareness", "key": "thank_you_voucher", "name": "Thank you"})
    apply(board, "offer.delete", {"key": "thank_you_voucher"})
    response = client_for(users["editor"]).post(
        reverse("board_offer_delete", args=[board.pk, "thank_you_voucher"]), **HTMX
    )
    assert response.status_code == 404
    said = response.content.decode()
    assert said == "There is no such offer in this blueprint; it may have been deleted."
    # the API keeps the key, marked for programs
    with pytest.raises(NotFound) as caught:
        apply(board, "offer.delete", {"key": "thank_you_voucher"})
    assert "(key: thank_you_voucher)" in caught.value.problems["key"][0]


def test_the_marks_for_programs_leave_the_words_whole() -> None:
    message = (
        "Offer 'Gold (key: x) card' (key: gold_card) has a condition this change would break, the first "
        "condition of group 1 (at groups[0][0].value): 'Gold' is not a choice (limit text_length)."
    )
    assert for_people(message) == (
        "Offer 'Gold card' has a condition this change would break, the first condition of group 1: "
        "'Gold' is not a choice."
    )


def test_paths_in_words() -> None:
    document = {"stages": [{"name": "Awareness", "offers": [{"name": "Gold card"}]}]}
    assert path_words("groups[0][0].value") == "first condition of group 1"
    assert path_words("entry[1][2].operator") == "third condition of group 2"
    assert path_words("groups[0][10].value") == "11th condition of group 1"
    assert (
        path_words("stages[0].offers[0].groups[1]", document)
        == "stage 'Awareness', offer 'Gold card', group 2"
    )
    assert path_words("stages[3].offers[0].name", document) == "stage 4, offer 1, name"


# --- Values -------------------------------------------------------------------------------------------


def test_one_month_is_a_month_everywhere() -> None:
    from decisioning.conditions import AttributeSpec, condition_sentence

    tenure = AttributeSpec(key="tenure", label="Tenure", type="number", unit="months")
    assert value_words(1, tenure) == with_unit(1, "months") == "1 month"
    assert value_words(1.0, tenure) == "1 month" and value_words(2, tenure) == "2 months"
    assert condition_sentence({"attribute": "tenure", "operator": "at_most", "value": 1}, tenure).endswith(
        "1 month"
    )
    assert (plural(1, "day"), plural(3, "day"), plural(2, "match", "matches")) == (
        "1 day",
        "3 days",
        "2 matches",
    )


def tenure_board(board: Blueprint) -> None:
    apply(
        board,
        "attribute.create",
        {"key": "tenure_months", "label": "Tenure", "type": "number", "unit": "months"},
    )
    apply(board, "stage.create", {"key": "loyal", "name": "Loyal"})
    for key, name, operator in (("short", "New here", "at_most"), ("long", "Been here", "at_least")):
        condition = {"attribute": "tenure_months", "operator": operator, "value": 1}
        apply(board, "offer.create", {"stage": "loyal", "key": key, "name": name, "groups": [[condition]]})


def test_the_checks_example_reads_1_month(board: Blueprint, users: dict[str, Any]) -> None:
    tenure_board(board)  # the two offers meet at exactly one month
    lint = text_of(client_for(users["editor"]).get(reverse("board", args=[board.pk])).content, "lint")
    assert "Example customer Tenure1 month Copy" in lint  # a label and its value, side by side
    assert "1 months" not in lint


def test_why_not_says_any_other_city_as_words(board: Blueprint, users: dict[str, Any]) -> None:
    apply(board, "stage.create", {"key": "local", "name": "Local"})
    dublin = {"attribute": "city", "operator": "is_one_of", "value": ["Dublin", "Cork"]}
    apply(
        board,
        "offer.create",
        {"stage": "local", "key": "evening", "name": "Open evening", "groups": [[dublin]]},
    )
    adult = {"attribute": "age", "operator": "at_least", "value": 18}
    apply(
        board, "offer.create", {"stage": "local", "key": "adult", "name": "Adult offer", "groups": [[adult]]}
    )
    profile = json.dumps({"city": "Dublin", "age": 1})
    page = client_for(users["editor"]).get(
        reverse("simulator", args=[board.pk]), {"profile": profile, "version": "draft"}
    )
    assert page.status_code == 200
    card = text_of(page.content, "sim-offer-adult")
    assert "Would get it with" in card
    assert "City: other than Dublin or Cork" in card
    assert "Age: 18 years" in card
    assert "Age is at least 18 years: is 1 year " in card and "1 years" not in card
    assert "City: other," not in card and not card.endswith("City: other")


# --- The diff and the version's board ----------------------------------------------------------------


def publish_and_approve(board: Blueprint, users: dict[str, Any]) -> int:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="")
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    return version.number


def test_the_draft_changes_name_the_offer_that_was_raised(board: Blueprint, users: dict[str, Any]) -> None:
    """Gold card dragged above Welcome bonus reads as that, not as Welcome bonus going down."""
    publish_and_approve(board, users)
    apply(board, "offer.move", {"key": "gold_card", "before": "welcome"}, users["editor"])
    apply(board, "stage.move", {"key": "onboarding", "before": "awareness"}, users["editor"])
    text = page_text(client_for(users["editor"]).get(reverse("draft_changes", args=[board.pk])).content)
    assert "'Gold card' moved up to priority 1 (was 2)" in text
    assert "Stage 'Onboarding' moved to the start, before 'Awareness'" in text
    assert "Welcome bonus' moved" not in text and "Stage 'Awareness' moved" not in text


def test_the_draft_changes_name_the_offer_that_was_dragged(board: Blueprint, users: dict[str, Any]) -> None:
    """Welcome bonus dragged below Gold card reads as that (the operation log says who moved),
    though Gold card going up would do too."""
    publish_and_approve(board, users)
    apply(board, "offer.move", {"key": "welcome", "after": "gold_card"}, users["editor"])
    text = page_text(client_for(users["editor"]).get(reverse("draft_changes", args=[board.pk])).content)
    assert "'Welcome bonus' moved down to priority 2 (was 1)" in text
    assert "Gold card' moved" not in text


def test_a_version_marks_its_changed_cards_against_the_live_one(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish_and_approve(board, users)
    apply(board, "offer.move", {"key": "gold_card", "before": "welcome"}, users["editor"])
    apply(board, "offer.update", {"key": "app_tour", "name": "App tour, again"})
    apply(board, "offer.create", {"stage": "onboarding", "key": "fresh", "name": "Fresh"})
    number = version_publish(blueprint_id=board.pk, actor=users["editor"], note="").number
    page = client_for(users["approver"]).get(reverse("version", args=[board.pk, number]))
    html = page.content.decode()
    doc = live_dom.page(html)
    assert "'Gold card' moved up to priority 1 (was 2)" in page_text(html)

    def classes(element_id: str) -> set[str]:
        node = live_dom.by_id(doc, element_id)
        assert node is not None, element_id
        return set(node.get("class", "").split())

    assert "is-moved" in classes("offer-gold_card")
    assert "is-changed" in classes("offer-app_tour")
    assert "is-added" in classes("offer-fresh")
    assert not classes("offer-welcome") & {"is-added", "is-changed", "is-moved"}
    assert text_of(html, "offer-gold_card").startswith("Gold card Moved")
    assert text_of(html, "change-legend") == "Marked against the live version 1: New Changed Moved"
    assert not PATHS.search(page_text(html))


def test_a_version_with_nothing_changed_has_no_legend(board: Blueprint, users: dict[str, Any]) -> None:
    number = publish_and_approve(board, users)
    page = client_for(users["viewer"]).get(reverse("version", args=[board.pk, number]))
    assert 'id="change-legend"' not in page.content.decode()
    assert "is-moved" not in page.content.decode()


def test_the_first_version_marks_nothing_as_everything_is_new(
    board: Blueprint, users: dict[str, Any]
) -> None:
    number = version_publish(blueprint_id=board.pk, actor=users["editor"], note="").number
    html = client_for(users["approver"]).get(reverse("version", args=[board.pk, number])).content.decode()
    assert "Nothing is live yet, so everything in this version is new." in html
    assert 'id="change-legend"' not in html and "is-added" not in html


def test_the_simulator_says_nothing_is_live_without_json(board: Blueprint, users: dict[str, Any]) -> None:
    page = client_for(users["viewer"]).get(reverse("simulator", args=[board.pk]), {"version": "live"})
    text = page_text(page.content)
    assert "Nothing is live yet: a version goes live once it is approved." in text
    assert '"version"' not in text


def test_the_catalog_says_which_condition_a_new_type_breaks_in_words(
    board: Blueprint, users: dict[str, Any]
) -> None:
    form = {"label": "Visits in the last 30 days", "key": "", "kind": "behaviour", "type": "text",
            "choices": "", "unit": "", "source": "", "description": ""}  # fmt: skip
    response = client_for(users["owner"]).post(
        reverse("attribute_update", args=[board.pk, "visits_30d"]), form, **HTMX
    )
    assert response.status_code == 422
    text = page_text(response.content)
    assert (
        "Offer 'Welcome bonus' has a condition this change would break, the first condition of group 1: "
        "'is at least' does not apply to Visits in the last 30 days as a text; one of 'is', 'is one of' does. "
        "Change that condition first." in text
    ), text
    assert "at_least" not in text and "welcome" not in text.replace("Welcome", "") and not PATHS.search(text)
    # the API's readers get the key, the path and the operator's key
    api = client_for(users["owner"]).patch(
        f"/api/v1/blueprints/{board.pk}/attributes/visits_30d/",
        {"type": "text"},
        content_type="application/json",
    )
    assert api.status_code == 400
    said = api.json()["errors"]["type"][0]
    assert "(key: welcome)" in said and "(at groups[0][0].operator)" in said and "(key: at_least)" in said
