"""State that must be right (issue 16): whether the draft has unpublished changes, everywhere it is
shown, and the Publish button that follows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from blueprint.models import Blueprint, Membership, Role
from blueprint.services import (
    operation_apply,
    version_approve,
    version_publish,
    version_reject,
    version_restore,
)
from blueprint.version_selectors import version_badge_of
from tests.blueprint import live_dom

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def badge_text(html: bytes | str) -> str:
    node = live_dom.by_id(live_dom.page(html), "version-badge")
    assert node is not None
    return " ".join(node.text_content().split())


def publish_disabled(html: bytes | str) -> bool:
    node = live_dom.by_id(live_dom.page(html), "publish")
    assert node is not None
    summary = node.find("summary")
    return summary is not None and summary.get("aria-disabled") == "true"


def rename(board: Blueprint, name: str) -> None:
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": name}
    )


@pytest.mark.django_db
def test_restoring_the_live_version_over_a_rejected_one_leaves_nothing_unpublished(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    rename(board, "Welcome bonus plus")
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_reject(blueprint_id=board.pk, number=2, actor=users["approver"], comment="Too generous")
    assert version_badge_of(board).unpublished  # the draft is the rejected version 2, not the live 1
    version_restore(blueprint_id=board.pk, number=1, actor=users["editor"])
    board.refresh_from_db()
    assert not version_badge_of(board).unpublished
    for role in ("editor", "viewer"):
        page = client_for(users[role]).get(reverse("board", args=[board.pk])).content
        assert badge_text(page) == "Live: version 1 Draft is version 1", role
    for page in ("board", "versions", "draft_changes"):
        html = client_for(users["editor"]).get(reverse(page, args=[board.pk])).content
        assert publish_disabled(html), page
    fetched = client_for(users["viewer"]).get(reverse("version_badge", args=[board.pk]), **HTMX)
    assert 'data-unpublished="false"' in fetched.content.decode()
    # what "Unpublished changes" links to compares with the live version too
    html = client_for(users["viewer"]).get(reverse("draft_changes", args=[board.pk])).content.decode()
    assert "No differences" in html and "the live one" in html


@pytest.mark.django_db
def test_a_new_empty_blueprint_has_nothing_to_publish(users: dict[str, Any]) -> None:
    empty = Blueprint.objects.create(name="Fresh", context="", channels=[])
    for role in ("owner", "viewer"):
        Membership.objects.create(blueprint=empty, user=users[role], role=Role(role))
    page = client_for(users["owner"]).get(reverse("board", args=[empty.pk])).content
    assert badge_text(page) == "Nothing live yet Nothing to publish yet"
    assert publish_disabled(page)
    assert "Unpublished" not in badge_text(
        client_for(users["viewer"]).get(reverse("board", args=[empty.pk])).content
    )
    operation_apply(
        blueprint_id=empty.pk, actor=None, op_type="stage.create", payload={"key": "s", "name": "S"}
    )
    page = client_for(users["owner"]).get(reverse("board", args=[empty.pk])).content
    assert badge_text(page) == "Nothing live yet Unpublished changes"
    assert not publish_disabled(page)


@pytest.mark.django_db
def test_the_draft_differs_from_the_live_version_until_it_is_published_again(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    assert not version_badge_of(board).unpublished
    rename(board, "W")
    board.refresh_from_db()
    assert version_badge_of(board).unpublished
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    # published and awaiting review: nothing more to publish
    badge = version_badge_of(board)
    assert not badge.unpublished and badge.draft_is == 2
    rename(board, "Welcome bonus")  # back to exactly the live version
    board.refresh_from_db()
    badge = version_badge_of(board)
    assert not badge.unpublished and badge.draft_is == 1


# --- Notifications: done once decided; "just now" --------------------------------------------------


def notices_html(user: Any) -> str:
    return client_for(user).get(reverse("notifications")).content.decode()


@pytest.mark.django_db
def test_a_review_notice_is_done_once_its_version_was_decided(
    board: Blueprint, users: dict[str, Any]
) -> None:
    from blueprint.version_selectors import unread_count

    version_publish(blueprint_id=board.pk, actor=users["editor"])
    assert unread_count(users["owner"]) == 1 and unread_count(users["approver"]) == 1
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    # the owner's "awaits your review" is done; what is new is that version 1 is live
    assert unread_count(users["owner"]) == 1
    html = notices_html(users["owner"])
    page = live_dom.page(html)
    review = [n for n in page.find_class("notice-review")]
    assert len(review) == 1 and "is-new" not in review[0].get("class", "")
    assert "Done: approved" in review[0].text_content()
    assert "is-new" in page.find_class("notice-approved")[0].get("class", "")
    # the approver decided it: their review notice is done, and the bell has nothing for them
    assert unread_count(users["approver"]) == 0
    page = live_dom.page(notices_html(users["approver"]))
    assert not page.find_class("is-new") and "bell-count" not in notices_html(users["approver"])
    assert "Done: approved" in page.find_class("notice-review")[0].text_content()


@pytest.mark.django_db
def test_a_superseded_or_rejected_version_s_notices_are_done(board: Blueprint, users: dict[str, Any]) -> None:
    from blueprint.version_selectors import unread_count

    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_reject(blueprint_id=board.pk, number=1, actor=users["approver"], comment="Not yet")
    page = live_dom.page(notices_html(users["owner"]))
    assert "Done: rejected" in page.find_class("notice-review")[0].text_content()
    assert unread_count(users["owner"]) == 0  # the rejection notice was read with the page


@pytest.mark.django_db
def test_something_that_happened_under_a_minute_ago_reads_just_now(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    html = notices_html(users["owner"])
    assert "just now" in html and "0 minutes" not in html
    for name in ("versions", "version"):
        args = [board.pk] if name == "versions" else [board.pk, 1]
        page = client_for(users["owner"]).get(reverse(name, args=args)).content.decode()
        assert "just now" in page and "0 minutes" not in page, name
    board_page = client_for(users["owner"]).get(reverse("board", args=[board.pk])).content.decode()
    assert "0 minutes" not in board_page and "just now" in board_page


def test_ago_says_minutes_and_days_after_the_first_minute() -> None:
    import datetime as dt

    from django.utils import timezone

    from blueprint.templatetags.when import ago

    now = timezone.now()
    assert ago(now) == "just now"
    assert ago(now - dt.timedelta(seconds=59)) == "just now"
    assert ago(now - dt.timedelta(minutes=5, seconds=3)) == "5\xa0minutes ago"
    assert ago(None) == ""


# --- The versions list, coverage, the Export menu -------------------------------------------------


@pytest.mark.django_db
def test_the_versions_list_shows_who_rejected_a_version_and_why(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version_publish(blueprint_id=board.pk, actor=users["editor"], note="First cut")
    version_reject(
        blueprint_id=board.pk, number=1, actor=users["approver"], comment="Gold card <b>must</b> wait"
    )
    html = client_for(users["viewer"]).get(reverse("versions", args=[board.pk])).content.decode()
    row = live_dom.by_id(live_dom.page(html), "version-1")
    assert row is not None
    text = " ".join(row.text_content().split())
    assert "First cut" in text and "Rejected by approver: “Gold card <b>must</b> wait”" in text
    assert "<b>must</b>" not in html  # people's words stay text


def test_coverage_bars_keep_whole_offer_names() -> None:
    from decisioning.views import LABEL_CHARS, coverage_charts

    name = "Premium travel insurance upsell for frequent flyers abroad"
    counts = {
        "stages": [
            {
                "stage": "s",
                "name": "S",
                "entered": 4,
                "not_entered": 0,
                "none": 1,
                "offers": [
                    {"name": name, "count": 3, "fallback": False},
                    {"name": "Short", "count": 0, "fallback": False},
                ],
            }
        ]
    }
    (chart,) = coverage_charts(counts)
    long_bar, short_bar, gap = chart.bars
    assert " ".join(long_bar.lines) == name and long_bar.label == name
    assert all(len(line) <= LABEL_CHARS for line in long_bar.lines) and len(long_bar.lines) > 1
    # the rows below move down by the lines the long name takes
    assert short_bar.y == long_bar.height > 30 and gap.y == short_bar.y + short_bar.height
    assert chart.height == long_bar.height + short_bar.height + gap.height + 6


def export_summary(html: bytes | str) -> tuple[str, list[str]]:
    menu = live_dom.page(html).find_class("export-menu")[0]
    summary = " ".join(menu.find("summary").text_content().split())
    return summary, [a.get("href") for a in menu.iter("a")]


@pytest.mark.django_db
def test_the_board_s_export_menu_is_the_live_version_for_those_who_cannot_edit(
    board: Blueprint, users: dict[str, Any]
) -> None:
    # nothing live: everyone exports the draft, said as such
    for role in ("editor", "viewer"):
        summary, links = export_summary(
            client_for(users[role]).get(reverse("board", args=[board.pk])).content
        )
        assert summary == "Export draft ▾" and all("version=draft" in link for link in links)
    version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    for role in ("viewer", "approver"):
        summary, links = export_summary(
            client_for(users[role]).get(reverse("board", args=[board.pk])).content
        )
        assert summary == "Export live version ▾", role
        assert links and all("version=" not in link for link in links)  # the API's default: live
    summary, links = export_summary(
        client_for(users["editor"]).get(reverse("board", args=[board.pk])).content
    )
    assert summary == "Export draft ▾" and all("version=draft" in link for link in links)
