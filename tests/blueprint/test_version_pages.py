"""The version pages: history, review page, Publish on the board, the badge (also live over the
board's socket, checked against a page load), restore, the approval policy in the owner's edit form,
and notifications with their bell."""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.models import Blueprint, Notification, Version
from blueprint.services import operation_apply, version_approve, version_publish
from tests.blueprint import live_dom

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def publish(board: Blueprint, users: dict[str, Any], who: str = "editor", note: str = "") -> Version:
    return version_publish(blueprint_id=board.pk, actor=users[who], note=note)


def badge_of(html: bytes | str) -> str:
    return live_dom.normalised(live_dom.by_id(live_dom.page(html), "version-badge"))


def text_of(html: bytes | str, element_id: str) -> str:
    node = live_dom.by_id(live_dom.page(html), element_id)
    assert node is not None, element_id
    return " ".join(node.text_content().split())


def make_twin(board: Blueprint) -> None:
    """An offer matching exactly the customers of 'welcome': a duplicate-offer lint error."""
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={"stage": "awareness", "key": "twin", "name": "Twin",
                 "groups": [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]]},
    )  # fmt: skip


# --- The history and the review page -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_history_lists_versions_with_statuses_and_the_live_marker(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users, note="First cut")
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": "W"}
    )
    publish(board, users)
    page = client_for(users["viewer"]).get(reverse("versions", args=[board.pk]))
    assert page.status_code == 200
    assert "Version 2 In review" in text_of(page.content, "version-2")
    assert text_of(page.content, "version-1").startswith("Version 1 Approved Live First cut")
    assert 'aria-current="page">Versions</a>' in page.content.decode()
    assert live_dom.by_id(live_dom.page(page.content), "publish-form") is None  # a viewer does not publish


@pytest.mark.django_db
def test_strangers_get_404_and_visitors_log_in(board: Blueprint, users: dict[str, Any]) -> None:
    publish(board, users)
    for name in ("versions", "draft_changes"):
        assert client_for(users["stranger"]).get(reverse(name, args=[board.pk])).status_code == 404
    assert client_for(users["stranger"]).get(reverse("version", args=[board.pk, 1])).status_code == 404
    assert client_for(users["viewer"]).get(reverse("version", args=[board.pk, 9])).status_code == 404
    response = Client().get(reverse("version", args=[board.pk, 1]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_the_review_page_shows_the_diff_against_live_the_checks_and_the_versions_board(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "gold_card", "groups": [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum", "Silver"]}]]},
    )  # fmt: skip
    publish(board, users, note="Silver too")
    page = client_for(users["approver"]).get(reverse("version", args=[board.pk, 2]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "What it changes against the live version 1" in html
    assert "&#x27;Gold card&#x27; now also reaches customers whose segment is Silver" in html
    assert "Silver too" in html
    # the version's board, read-only: its cards, no edit controls
    doc = live_dom.page(page.content)
    assert doc.xpath('//*[@id="offer-gold_card"]//li[contains(@class, "chip")]')
    assert not doc.xpath('//*[contains(@class, "card-tools")]')
    assert "Checks" in html and "Overlap" in html
    # against the draft and another version, from the selector
    assert (
        "No differences"
        in client_for(users["viewer"])
        .get(reverse("version", args=[board.pk, 2]) + "?against=draft")
        .content.decode()
    )
    assert (
        "now also reaches"
        in client_for(users["viewer"])
        .get(reverse("version", args=[board.pk, 2]) + "?against=1")
        .content.decode()
    )
    # a nonsense comparison falls back to the live one
    assert (
        client_for(users["viewer"]).get(reverse("version", args=[board.pk, 2]) + "?against=%00x").status_code
        == 200
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "why"),
    [("editor", "You published this version"), ("viewer", "approvers and owners approve")],
)
def test_only_reviewers_other_than_the_author_get_the_review_form(
    board: Blueprint, users: dict[str, Any], role: str, why: str
) -> None:
    publish(board, users, who="editor")
    html = client_for(users[role]).get(reverse("version", args=[board.pk, 1])).content.decode()
    assert 'id="review-form"' not in html and why in html
    for reviewer in ("approver", "owner"):
        assert (
            'id="review-form"'
            in client_for(users[reviewer]).get(reverse("version", args=[board.pk, 1])).content.decode()
        )


@pytest.mark.django_db
def test_approving_on_the_page_makes_it_live_and_reloads_the_page(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    client = client_for(users["approver"])
    response = client.post(reverse("version_approve", args=[board.pk, 1]), {"comment": "Ship it"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("version", args=[board.pk, 1])
    assert Version.objects.get(blueprint=board, number=1).status == "approved"
    page = client.get(reverse("version", args=[board.pk, 1])).content.decode()
    assert "You approved version 1: it is live now." in page and "Ship it" in page
    assert "its review is over" in page


@pytest.mark.django_db
def test_a_rejection_without_a_comment_is_refused_in_the_form(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    response = client_for(users["approver"]).post(
        reverse("version_reject", args=[board.pk, 1]), {"comment": " "}, **HTMX
    )
    assert response.status_code == 422
    assert 'id="review"' in response.content.decode() and "Say why you reject it" in response.content.decode()
    assert Version.objects.get(blueprint=board, number=1).status == "in_review"
    plain = client_for(users["approver"]).post(
        reverse("version_reject", args=[board.pk, 1]), {"comment": "Too broad"}
    )
    assert plain.status_code == 302
    assert Version.objects.get(blueprint=board, number=1).status == "rejected"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_others_cannot_decide_through_the_page(board: Blueprint, users: dict[str, Any], role: str) -> None:
    publish(board, users, who="owner")
    for name in ("version_approve", "version_reject"):
        response = client_for(users[role]).post(reverse(name, args=[board.pk, 1]), {"comment": "x"}, **HTMX)
        assert response.status_code == 403
    # the author, though an owner, is refused like a role (four eyes)
    author = client_for(users["owner"]).post(reverse("version_approve", args=[board.pk, 1]), {}, **HTMX)
    assert author.status_code == 403
    assert Version.objects.get(blueprint=board, number=1).status == "in_review"


@pytest.mark.django_db
def test_opening_the_version_marks_its_notice_read(board: Blueprint, users: dict[str, Any]) -> None:
    publish(board, users)
    client = client_for(users["approver"])
    assert 'class="bell-count">1' in client.get(reverse("versions", args=[board.pk])).content.decode()
    client.get(reverse("version", args=[board.pk, 1]))
    assert Notification.objects.get(user=users["approver"]).read_at is not None
    assert "bell-count" not in client.get(reverse("versions", args=[board.pk])).content.decode()


@pytest.mark.django_db
def test_the_notifications_page_shows_new_ones_once(board: Blueprint, users: dict[str, Any]) -> None:
    publish(board, users, note="Please look")
    client = client_for(users["owner"])
    first = client.get(reverse("notifications")).content.decode()
    assert "editor published version 1 of" in first and "notice-new" in first
    assert f'href="/blueprints/{board.pk}/versions/1/"' in first
    again = client.get(reverse("notifications")).content.decode()
    assert "editor published version 1 of" in again and "notice-new" not in again
    assert "No notifications" in client_for(users["viewer"]).get(reverse("notifications")).content.decode()


@pytest.mark.django_db
def test_someone_removed_from_a_blueprint_no_longer_reads_its_notices(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    board.memberships.filter(user=users["approver"]).delete()
    html = client_for(users["approver"]).get(reverse("notifications")).content.decode()
    assert "No notifications" in html and "bell-count" not in html


# --- Publishing from the board, the badge --------------------------------------------------------------


@pytest.mark.django_db
def test_the_board_shows_the_badge_and_editors_get_the_publish_form(
    board: Blueprint, users: dict[str, Any]
) -> None:
    page = client_for(users["editor"]).get(reverse("board", args=[board.pk]))
    assert text_of(page.content, "version-badge") == "Nothing live yet Unpublished changes"
    assert live_dom.by_id(live_dom.page(page.content), "publish-form") is not None
    viewer = client_for(users["viewer"]).get(reverse("board", args=[board.pk]))
    assert live_dom.by_id(live_dom.page(viewer.content), "publish-form") is None
    assert text_of(viewer.content, "version-badge") == "Nothing live yet Unpublished changes"


@pytest.mark.django_db
def test_publishing_from_the_board_answers_the_form_and_the_badge(
    board: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["editor"])
    response = client.post(reverse("version_publish", args=[board.pk]), {"note": "First cut"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Published" in html and "version 1" in html and "by owner, approver" in html
    assert 'id="version-badge"' in html and 'hx-swap-oob="true"' in html
    assert Version.objects.get(blueprint=board).note == "First cut"
    page = client.get(reverse("board", args=[board.pk]))
    assert text_of(page.content, "version-badge") == "Nothing live yet Version 1 in review Draft is version 1"
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": "W"}
    )
    page = client.get(reverse("board", args=[board.pk]))
    assert text_of(page.content, "version-badge") == "Live: version 1 Unpublished changes"
    # the badge endpoint (static/js/versions.js) answers what the page shows
    fetched = client.get(reverse("version_badge", args=[board.pk]), **HTMX)
    assert live_dom.normalised(live_dom.element(fetched.content.decode())) == badge_of(page.content)


@pytest.mark.django_db
def test_publishing_with_lint_errors_is_refused_with_the_errors(
    board: Blueprint, users: dict[str, Any]
) -> None:
    make_twin(board)
    response = client_for(users["editor"]).post(
        reverse("version_publish", args=[board.pk]), {"note": "Keep me"}, **HTMX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Publishing is refused while the checks find errors" in html and "Twin" in html
    assert "Keep me" in html  # what was typed stays
    assert not Version.objects.exists()
    plain = client_for(users["editor"]).post(reverse("version_publish", args=[board.pk]), {"note": "x"})
    assert plain.status_code == 302 and plain["Location"] == reverse("board", args=[board.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["approver", "viewer"])
def test_readers_cannot_publish_from_the_page(board: Blueprint, users: dict[str, Any], role: str) -> None:
    assert (
        client_for(users[role]).post(reverse("version_publish", args=[board.pk]), {}, **HTMX).status_code
        == 403
    )
    assert (
        client_for(users["stranger"])
        .post(reverse("version_publish", args=[board.pk]), {}, **HTMX)
        .status_code
        == 404
    )
    assert not Version.objects.exists()


@pytest.mark.django_db
def test_the_draft_changes_page(board: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["viewer"])
    assert (
        "everything on the board is new"
        in client.get(reverse("draft_changes", args=[board.pk])).content.decode()
    )
    publish(board, users)
    version_approve(blueprint_id=board.pk, number=1, actor=users["approver"])  # compared with the live one
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": "W"}
    )
    html = client.get(reverse("draft_changes", args=[board.pk])).content.decode()
    assert "against <a" in html and "&#x27;Welcome bonus&#x27; renamed to &#x27;W&#x27;" in html


# --- Restore on the page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_restoring_from_the_page_goes_back_to_the_board_with_a_message(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    operation_apply(blueprint_id=board.pk, actor=None, op_type="offer.delete", payload={"key": "welcome"})
    assert (
        client_for(users["viewer"]).post(reverse("version_restore", args=[board.pk, 1]), **HTMX).status_code
        == 403
    )
    client = client_for(users["editor"])
    response = client.post(reverse("version_restore", args=[board.pk, 1]), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("board", args=[board.pk])
    page = client.get(reverse("board", args=[board.pk])).content.decode()
    assert "Restored version 1 into the draft" in page and 'id="offer-welcome"' in page
    again = client.post(reverse("version_restore", args=[board.pk, 1]))
    assert again.status_code == 302
    assert "nothing to restore" in client.get(reverse("board", args=[board.pk])).content.decode()


# --- The approval policy in the owner's edit form ------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_sets_the_approval_policy_in_the_blueprint_form(
    board: Blueprint, users: dict[str, Any]
) -> None:
    owner, editor = client_for(users["owner"]), client_for(users["editor"])
    assert (
        'name="approval_policy"'
        in owner.get(reverse("blueprint_edit", args=[board.pk]), **HTMX).content.decode()
    )
    assert (
        'name="approval_policy"'
        not in editor.get(reverse("blueprint_edit", args=[board.pk]), **HTMX).content.decode()
    )
    form = {"name": board.name, "context": board.context, "channels": "web", "description": ""}
    bad = owner.post(reverse("blueprint_update", args=[board.pk]), {**form, "approval_policy": "11"}, **HTMX)
    assert bad.status_code == 422 and "from 1 to 10" in bad.content.decode()
    assert (
        owner.post(
            reverse("blueprint_update", args=[board.pk]), {**form, "approval_policy": "2"}, **HTMX
        ).status_code
        == 200
    )
    board.refresh_from_db()
    assert board.approval_policy == 2
    sneaky = editor.post(
        reverse("blueprint_update", args=[board.pk]), {**form, "approval_policy": "1"}, **HTMX
    )
    assert sneaky.status_code == 403
    board.refresh_from_db()
    assert board.approval_policy == 2


# --- Live: the badge on open boards ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_publishing_and_deciding_redraw_the_badge_on_open_boards_as_a_page_load_shows_it(
    board: Blueprint, users: dict[str, Any]
) -> None:
    from tests.blueprint.test_consumers import board_socket, next_frame, run, session_cookie

    channel_layers.backends.clear()
    viewer = client_for(users["viewer"])
    shown = live_dom.page(viewer.get(reverse("board", args=[board.pk])).content)
    cookie = session_cookie(users["viewer"])
    publish_async = sync_to_async(version_publish)
    approve_async = sync_to_async(version_approve)

    async def body() -> list[dict[str, Any]]:
        async with board_socket(board.pk, cookie) as socket:
            await publish_async(blueprint_id=board.pk, actor=users["editor"], note="")
            published = await next_frame(socket)
            await approve_async(blueprint_id=board.pk, number=1, actor=users["approver"])
            return [published, await next_frame(socket)]

    published, approved = run(body)
    for frame in (published, approved):
        assert frame["type"] == "version" and "rev" not in frame
        assert [f["do"] for f in frame["fragments"]] == ["replace"]
    live_dom.apply_fragments(shown, approved["fragments"])
    fresh = viewer.get(reverse("board", args=[board.pk])).content
    assert live_dom.normalised(live_dom.by_id(shown, "version-badge")) == badge_of(fresh)
    assert re.sub(r"\s+", " ", live_dom.by_id(shown, "version-badge").text_content()).strip() == (
        "Live: version 1 Draft is version 1"
    )


# --- No input causes a server error ---------------------------------------------------------------------

VERSION_ROUTES = [
    "versions/",
    "versions/publish/",
    "versions/badge/",
    "versions/draft/",
    "versions/{n}/",
    "versions/{n}/approve/",
    "versions/{n}/reject/",
    "versions/{n}/restore/",
    "update/",
]
JUNK = st.one_of(
    st.sampled_from(
        ["", "1", "2", "0", "-1", "11", "live", "draft", "9" * 12, "x" * 6000, "a\nb", "\x00", "é"]
    ),
    st.text(max_size=20),
)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "approver", "viewer"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(VERSION_ROUTES),
    number=st.sampled_from(["1", "2", "999999999999"]),
    form=st.lists(
        st.tuples(st.sampled_from(["note", "comment", "against", "approval_policy", "name"]), JUNK),
        max_size=6,
    ),
    htmx=st.booleans(),
    method=st.sampled_from(["get", "post"]),
)
def test_no_input_to_the_version_pages_causes_a_server_error(
    published: Blueprint,
    users: dict[str, Any],
    role: str,
    route: str,
    number: str,
    form: list[tuple[str, str]],
    htmx: bool,
    method: str,
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(users[role])
    url = f"/blueprints/{published.pk}/" + route.replace("{n}", number)
    data: dict[str, list[str]] = {}
    for name, value in form:
        data.setdefault(name, []).append(value.replace("\x00", "") if method == "get" else value)
    with transaction.atomic():
        response = getattr(client, method)(url, data, headers={"HX-Request": "true"} if htmx else {})
        transaction.set_rollback(True)
    assert response.status_code < 500, (method, url, data, response.content[:500])


@pytest.fixture
def published(board: Blueprint, users: dict[str, Any]) -> Blueprint:
    publish(board, users)
    return board
