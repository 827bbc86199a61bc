"""The simulator and coverage pages (decisioning/views.py): who may see them, the form built from the
catalog, the answer drawn on the board, a profile from the address, bad input as 422 with the field's
error, and the board's lint examples linking here.

The ``board`` fixture: awareness [welcome (visits_30d at least 3), gold_card (segment is one of
Gold, Platinum)], onboarding [app_tour (has_app is true)].
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from lxml import html

from blueprint.models import Blueprint, Version
from blueprint.services import version_approve, version_publish
from decisioning.engine import cache_clear

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache_clear()


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    def client(role: str) -> Client:
        c = Client()
        c.force_login(users[role])
        return c

    return client


def live(board: Blueprint, users: dict[str, Any]) -> Version:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"])
    return version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])


def page_of(response: Any) -> Any:
    return html.fromstring(response.content.decode())


def sim_url(board: Blueprint, query: str = "") -> str:
    return f"/blueprints/{board.pk}/simulator/{query}"


def test_the_form_has_a_widget_per_catalog_type(as_role, board):
    response = as_role("editor").get(sim_url(board, "?version=draft"))
    assert response.status_code == 200
    doc = page_of(response)
    assert doc.xpath("//select[@name='p-segment']/option/@value") == [
        "",
        "Bronze",
        "Silver",
        "Gold",
        "Platinum",
    ]
    assert doc.xpath("//input[@name='p-age']") and doc.xpath("//*[@class='sim-unit']/text()") == ["years"]
    assert doc.xpath("//input[@name='p-last_login']/@type") == ["date"]
    assert doc.xpath("//input[@name='p-has_app']/@value") == ["yes", "no", ""]
    assert doc.xpath("//input[@name='p-products']/@type") == ["checkbox"] * 4
    assert doc.xpath("//input[@name='p-city']/@type") == ["text"]
    # the version choice offers the draft to an editor; nothing is published yet
    assert doc.xpath("//select[@name='version']/option/@value") == ["draft"]


def test_posting_a_profile_shows_the_chosen_offers_and_why_not(as_role, board, users):
    live(board, users)
    response = as_role("viewer").post(
        f"/blueprints/{board.pk}/simulator/decide/",
        {
            "version": "live",
            "at": "2025-06-15",
            "p-segment": "Gold",
            "p-visits_30d": "1",
            "p-products": ["savings"],
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    doc = page_of(response)
    assert doc.get("id") == "simulator"
    assert "with version 1" in doc.xpath("string(//h2[@id='sim-result-heading'])").lower()
    chosen = doc.xpath("//li[contains(@class, 'sim-chosen')]/@data-offer-key")
    assert chosen == ["gold_card"]
    welcome = doc.xpath("//li[@id='sim-offer-welcome']")[0]
    assert "is 1" in welcome.text_content()
    change = " ".join(welcome.xpath("string(.//p[@class='sim-change'])").split())
    assert change.startswith("Would get it with Visits in the last 30 days: 3")
    # the missing app flag is marked as missing on the onboarding card
    tour = doc.xpath("//li[@id='sim-offer-app_tour']")[0]
    assert tour.xpath(".//li[contains(@class, 'sim-chip-missing')]")
    # the address now carries the customer, for a link
    assert "profile=" in response["HX-Replace-Url"]


def test_the_form_posted_without_htmx_leads_to_the_page_that_names_the_customer(as_role, board, users):
    # a click before the page's scripts have run posts the form plainly: the answer is then the
    # page itself, whose address names the customer, not the fragment htmx would swap in
    live(board, users)
    viewer = as_role("viewer")
    posted = viewer.post(
        f"/blueprints/{board.pk}/simulator/decide/",
        {"version": "live", "at": "2025-06-15", "p-segment": "Gold"},
    )
    assert posted.status_code == 303
    assert (
        posted["Location"].startswith(f"/blueprints/{board.pk}/simulator/?")
        and "profile=" in posted["Location"]
    )
    page = viewer.get(posted["Location"])
    assert page.status_code == 200
    doc = page_of(page)
    assert doc.xpath("//li[contains(@class, 'sim-chosen')]/@data-offer-key") == ["gold_card"]
    assert doc.xpath("//select[@name='p-segment']/option[@selected]/@value") == ["Gold"]
    refused = viewer.post(
        f"/blueprints/{board.pk}/simulator/decide/", {"version": "live", "p-visits_30d": "lots"}
    )
    assert refused.status_code == 422
    whole = page_of(refused)
    assert whole.xpath("//title") and whole.xpath("//*[@id='simulator']")
    assert "Expected a number" in whole.text_content()


def test_a_bad_value_comes_back_as_422_with_the_fields_error_and_its_value_kept(as_role, board):
    response = as_role("editor").post(
        f"/blueprints/{board.pk}/simulator/decide/",
        {"version": "draft", "p-visits_30d": "lots", "p-segment": "Gold"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    doc = page_of(response)
    field = doc.xpath(
        "//input[@name='p-visits_30d']/ancestor::div[contains(concat(' ', @class, ' '), ' sim-field ')]"
    )[0]
    assert "has-error" in field.get("class")
    assert "Expected a number" in field.text_content()
    assert doc.xpath("//input[@name='p-visits_30d']/@value") == ["lots"]
    assert not doc.xpath("//*[@id='sim-result']")


def test_a_profile_in_the_address_is_filled_in_and_decided(as_role, board):
    profile = {"segment": "Platinum", "has_app": True, "products": ["savings"], "shoe": 44}
    response = as_role("editor").get(sim_url(board, f"?version=draft&profile={quote(json.dumps(profile))}"))
    assert response.status_code == 200
    doc = page_of(response)
    assert doc.xpath("//select[@name='p-segment']/option[@selected]/@value") == ["Platinum"]
    assert doc.xpath("//input[@name='p-has_app'][@checked]/@value") == ["yes"]
    assert doc.xpath("//input[@name='p-products'][@checked]/@value") == ["savings"]
    assert doc.xpath("//li[contains(@class, 'sim-chosen')]/@data-offer-key") == ["gold_card", "app_tour"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"Gold"'])
def test_a_profile_in_the_address_that_is_not_an_object_is_refused_kindly(as_role, board, raw):
    response = as_role("editor").get(sim_url(board, f"?version=draft&profile={quote(raw)}"))
    assert response.status_code == 400
    assert "not a JSON object" in response.content.decode()


def test_a_bad_value_in_the_address_shows_the_fields_error(as_role, board):
    response = as_role("editor").get(
        sim_url(board, f"?version=draft&profile={quote(json.dumps({'segment': 'Tin'}))}")
    )
    assert response.status_code == 400
    doc = page_of(response)
    assert "not a choice of Segment" in doc.text_content()
    assert doc.xpath("//select[@name='p-segment']/option[@selected]/@value") == ["Tin"]


def test_viewers_cannot_use_the_draft_and_without_a_version_are_told_so(as_role, board):
    response = as_role("viewer").get(sim_url(board))
    assert response.status_code == 200
    assert "Nothing is live yet: a version goes live once it is approved." in response.content.decode()
    refused = as_role("viewer").post(
        f"/blueprints/{board.pk}/simulator/decide/", {"version": "draft"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403


def test_strangers_get_404_and_the_anonymous_the_login_page(as_role, board, client):
    assert as_role("stranger").get(sim_url(board)).status_code == 404
    assert as_role("stranger").get(f"/blueprints/{board.pk}/coverage/").status_code == 404
    assert client.get(sim_url(board)).status_code == 302


def test_each_lint_example_on_the_board_opens_in_the_simulator(as_role, board):
    doc = page_of(as_role("editor").get(f"/blueprints/{board.pk}/"))
    links = doc.xpath("//a[contains(@class, 'lint-simulate')]/@href")
    assert links, "the board's gaps and overlap come with examples"
    for link in links:
        assert link.startswith(sim_url(board, "?profile="))
        response = as_role("editor").get(link)
        assert response.status_code == 200, link
        assert page_of(response).xpath("//*[@id='sim-result']")


def test_the_coverage_page_counts_an_uploaded_sample(as_role, board, users):
    live(board, users)
    sample = b"segment,visits_30d,has_app\nGold,,yes\n,5,\nSilver,x,\n"
    response = as_role("viewer").post(
        f"/blueprints/{board.pk}/coverage/",
        {"version": "live", "sample": SimpleUploadedFile("sample.csv", sample, "text/csv")},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    doc = page_of(response)
    assert "3 customers in sample.csv" in " ".join(doc.xpath("string(//p[@class='cov-summary'])").split())
    assert "Row 3: visits_30d" in doc.xpath("string(//*[@id='cov-errors'])")
    rows = doc.xpath("//section[@id='cov-stage-awareness']//g[@class='cov-row']")
    counts = {r.xpath("string(text[1])"): r.xpath("string(text[2])") for r in rows}
    assert counts == {"Welcome bonus": "1 · 50.0 %", "Gold card": "1 · 50.0 %", "No offer (gap)": "0 · 0.0 %"}


def test_coverage_without_a_file_or_with_a_bad_one_is_a_422_naming_it(as_role, board, users):
    live(board, users)
    viewer = as_role("viewer")
    missing = viewer.post(f"/blueprints/{board.pk}/coverage/", {"version": "live"}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 422 and "Choose a CSV" in missing.content.decode()
    bad = viewer.post(
        f"/blueprints/{board.pk}/coverage/",
        {"version": "live", "sample": SimpleUploadedFile("s.csv", b"\xff\xfe\x00\x01", "text/csv")},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422 and "not UTF-8" in bad.content.decode()
    draft = viewer.post(
        f"/blueprints/{board.pk}/coverage/",
        {"version": "draft", "sample": SimpleUploadedFile("s.csv", b"a\n1\n")},
        HTTP_HX_REQUEST="true",
    )
    assert draft.status_code == 422 and "owners and editors" in draft.content.decode()


def test_a_viewer_following_a_lint_example_sees_the_live_version_instead_of_the_draft(as_role, board, users):
    live(board, users)
    doc = page_of(as_role("viewer").get(f"/blueprints/{board.pk}/"))
    link = doc.xpath("//a[contains(@class, 'lint-simulate')]/@href")[0]
    response = as_role("viewer").get(link)
    assert response.status_code == 200
    text = response.content.decode()
    assert "The draft is for owners and editors; showing live (version 1)." in text
    assert "With version 1" in text


def test_a_bad_version_or_day_is_refused_without_a_server_error(as_role, board):
    editor = as_role("editor")
    page = editor.get(sim_url(board, "?version=latest"))
    assert page.status_code == 400 and "version number" in page.content.decode()
    post = editor.post(
        f"/blueprints/{board.pk}/simulator/decide/",
        {"version": "draft", "at": "someday"},
        HTTP_HX_REQUEST="true",
    )
    assert post.status_code == 422 and "YYYY-MM-DD" in post.content.decode()
    bad = editor.post(f"/blueprints/{board.pk}/simulator/decide/", {"version": "x"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400


def test_when_the_search_for_the_smallest_change_ran_out_the_simulator_says_so_in_words(
    as_role, board, monkeypatch
):
    from decisioning import engine

    monkeypatch.setattr(engine, "EXPLAIN_STEPS", 0)
    profile = {"segment": "Gold", "visits_30d": 1}
    response = as_role("editor").get(sim_url(board, f"?version=draft&profile={quote(json.dumps(profile))}"))
    assert response.status_code == 200
    welcome = page_of(response).xpath("//li[@id='sim-offer-welcome']")[0]
    said = " ".join(welcome.xpath("string(.//div[@class='sim-why'])").split())
    assert "Not settled: whether any customer can get this offer" in said
    assert "No customer can get this offer" not in said  # an unsettled answer is not a "no"
    assert not welcome.xpath(".//a[@class='sim-try']")
    assert "is 1" in said  # the failed condition, exact all the same


def test_an_offer_outside_its_days_says_so_in_the_simulator(as_role, board, users):
    """Issue 16: the simulator's why-not says the day is outside the offer's days."""
    from blueprint.services import operation_apply

    operation_apply(
        blueprint_id=board.pk,
        actor=users["editor"],
        op_type="offer.update",
        payload={"key": "gold_card", "ends_on": "2025-06-14"},
    )
    response = as_role("editor").post(
        f"/blueprints/{board.pk}/simulator/decide/",
        {"version": "draft", "at": "2025-06-15", "p-segment": "Gold"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    card = page_of(response).xpath("//li[@id='sim-offer-gold_card']")[0]
    assert "Not on this day: ended on 14 June 2025." in " ".join(card.text_content().split())
