"""The board page and its form endpoints: roles, every edit through the form, errors in place.

A saved form is answered 204 with its operation's rev and nothing to swap: the change reaches every
tab, the author's included, as the operation's live frame (tests/blueprint/test_consumers.py). Here
the board as the page would draw it next shows it (``board_html``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from blueprint.models import Blueprint, Offer, Stage
from blueprint.selectors import board_load
from blueprint.services import operation_apply

HX = {"HTTP_HX_REQUEST": "true"}


def url(bp: Blueprint, rest: str = "") -> str:
    return f"/blueprints/{bp.pk}/board/{rest}"


def login(client: Client, users: dict[str, Any], role: str) -> Client:
    client.force_login(users[role])
    return client


def conditions(*groups: list[tuple[str, str, Any]]) -> dict[str, list[str]]:
    """The condition editor's fields for these groups, rows in order, as the browser posts them."""
    data: dict[str, list[str]] = {"cond": []}
    for gi, group in enumerate(groups):
        for ci, (attribute, operator, value) in enumerate(group):
            rid = f"r{gi}x{ci}"
            data["cond"].append(rid)
            data[f"c-{rid}-group"] = [f"g{gi}"]
            data[f"c-{rid}-attribute"] = [attribute]
            data[f"c-{rid}-operator"] = [operator]
            if operator == "between":
                data[f"c-{rid}-low"], data[f"c-{rid}-high"] = [str(value[0])], [str(value[1])]
            elif isinstance(value, list):
                data[f"c-{rid}-value"] = [str(v) for v in value]
            else:
                data[f"c-{rid}-value"] = [str(value)]
    return data


class _FormFields(HTMLParser):
    """What a browser would post from a rendered form, untouched: inputs, ticked boxes, selected
    options, textareas (whose first line break the HTML parser drops, as browsers do)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.fields.append((self._textarea, text.replace("\n", "\r\n")))  # as browsers send it
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def form_fields(html: str) -> dict[str, list[str]]:
    parser = _FormFields()
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def offer_keys(bp: Blueprint, stage: str) -> list[str]:
    column = board_load(bp).column(stage)
    assert column is not None
    return [card.offer.key for card in column.offers]


def rev(bp: Blueprint) -> int:
    bp.refresh_from_db()
    return bp.rev


def saved(response: Any, bp: Blueprint) -> None:
    """The answer to a saved form: nothing to swap, and the rev of the operation it made."""
    assert response.status_code == 204, response.content.decode()
    assert response["Blueprint-Saved-Rev"] == str(rev(bp))
    assert not response.content


def board_html(client: Client, bp: Blueprint) -> str:
    """The board page as it is drawn now."""
    response = client.get(f"/blueprints/{bp.pk}/")
    assert response.status_code == 200
    return response.content.decode()


# --- The page and who sees what -------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor", "approver", "viewer"])
def test_every_member_sees_the_board_with_stages_cards_and_chips(client, users, board, role):
    response = login(client, users, role).get(f"/blueprints/{board.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="stage-awareness"' in html and 'id="stage-onboarding"' in html
    assert html.index('id="offer-welcome"') < html.index('id="offer-gold_card"')
    assert '<li class="chip chip-behaviour">Visits in the last 30 days is at least 3</li>' in html
    assert '<li class="chip chip-attribute">Segment is one of Gold or Platinum</li>' in html


@pytest.mark.parametrize(
    "role,editable", [("owner", True), ("editor", True), ("approver", False), ("viewer", False)]
)
def test_edit_controls_are_shown_to_owners_and_editors_only(client, users, board, role, editable):
    html = login(client, users, role).get(f"/blueprints/{board.pk}/").content.decode()
    for control in (
        "data-can-edit",
        "+ Add stage",
        "+ Add offer",
        'data-move="up"',
        "column-handle",
        "/edit/",
    ):
        assert (control in html) is editable, control


def test_a_stranger_gets_404_and_a_visitor_is_sent_to_log_in(client, users, board):
    assert login(client, users, "stranger").get(f"/blueprints/{board.pk}/").status_code == 404
    assert client.get(url(board, "offers/welcome/edit/"), **HX).status_code == 404
    client.logout()
    response = client.get(f"/blueprints/{board.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_empty_board_invites_to_add_a_stage(client, users, blueprint):
    html = login(client, users, "editor").get(f"/blueprints/{blueprint.pk}/").content.decode()
    assert "No stages yet" in html and "+ Add stage" in html
    html = login(client, users, "viewer").get(f"/blueprints/{blueprint.pk}/").content.decode()
    assert "No stages yet" in html and "+ Add stage" not in html


def test_a_stage_without_offers_says_so(client, users, catalog):
    operation_apply(
        blueprint_id=catalog.pk, actor=None, op_type="stage.create", payload={"name": "Retention"}
    )
    html = login(client, users, "owner").get(f"/blueprints/{catalog.pk}/").content.decode()
    assert "No offers yet" in html


def test_rendering_the_board_takes_the_same_few_queries_however_many_offers(client, users, board):
    login(client, users, "owner")
    with CaptureQueriesContext(connection) as small:
        client.get(f"/blueprints/{board.pk}/")
    for i in range(40):
        operation_apply(
            blueprint_id=board.pk,
            actor=None,
            op_type="offer.create",
            payload={
                "stage": "onboarding",
                "name": f"Offer {i}",
                "groups": [[{"attribute": "age", "operator": "at_least", "value": i}]],
            },
        )
    with CaptureQueriesContext(connection) as large:
        response = client.get(f"/blueprints/{board.pk}/")
    assert response.content.decode().count(" data-offer-key=") == 43
    assert len(large.captured_queries) == len(small.captured_queries)


# --- Stages -----------------------------------------------------------------------------------


def test_adding_a_stage_with_entry_conditions_puts_it_on_the_board(client, users, board):
    login(client, users, "editor")
    data = {"name": "Retention", "description": "Keep them happy", **conditions([("segment", "is", "Gold")])}
    saved(client.post(url(board, "stages/"), data, **HX), board)
    stage = Stage.objects.get(blueprint=board, key="retention")
    assert stage.entry == [[{"attribute": "segment", "operator": "is", "value": "Gold"}]]
    html = board_html(client, board)
    assert 'id="stage-retention"' in html and "Segment is Gold" in html
    assert html.index('id="stage-onboarding"') < html.index('id="stage-retention"')


def test_editing_a_stage_renames_it(client, users, board):
    login(client, users, "owner")
    form = client.get(url(board, "stages/awareness/edit/"), **HX)
    assert form.status_code == 200 and 'value="Awareness"' in form.content.decode()
    response = client.post(
        url(board, "stages/awareness/update/"), {"name": "Discover", "description": ""}, **HX
    )
    saved(response, board)
    assert Stage.objects.get(blueprint=board, key="awareness").name == "Discover"
    head = board_html(client, board).split('id="stage-awareness-head"')[1]
    assert "Discover" in head.split("</header>")[0]


def test_deleting_a_stage_removes_it_and_its_offers(client, users, board):
    login(client, users, "owner")
    saved(client.post(url(board, "stages/awareness/delete/"), **HX), board)
    assert 'id="stage-awareness"' not in board_html(client, board)
    assert not Offer.objects.filter(blueprint=board, key__in=["welcome", "gold_card"]).exists()


# --- Offers -----------------------------------------------------------------------------------


def test_adding_an_offer_turns_the_editor_rows_into_condition_groups(client, users, board):
    login(client, users, "editor")
    data = {
        "name": "Premium savings",
        "channel": "web",
        **conditions(
            [("segment", "is_one_of", ["Gold", "Platinum"]), ("age", "between", [30, 55])],
            [
                ("last_login", "within_last_days", 14),
                ("has_app", "is", "true"),
                ("products", "includes_any_of", ["savings", "mortgage"]),
            ],
        ),
    }
    saved(client.post(url(board, "stages/onboarding/offers/"), data, **HX), board)
    offer = Offer.objects.get(blueprint=board, name="Premium savings")
    assert offer.groups == [
        [
            {"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]},
            {"attribute": "age", "operator": "between", "value": [30, 55]},
        ],
        [
            {"attribute": "last_login", "operator": "within_last_days", "value": 14},
            {"attribute": "has_app", "operator": "is", "value": True},
            {"attribute": "products", "operator": "includes_any_of", "value": ["savings", "mortgage"]},
        ],
    ]
    html = board_html(client, board)
    assert f'id="offer-{offer.key}"' in html and "either" in html and "Age is between 30 and 55 years" in html
    assert offer_keys(board, "onboarding")[-1] == offer.key


def test_a_row_left_without_an_attribute_is_ignored(client, users, board):
    login(client, users, "editor")
    data = {"name": "Plain", **conditions([("age", "at_least", 18)])}
    data["cond"].append("blank")
    data["c-blank-group"] = ["g1"]
    data["c-blank-attribute"] = [""]
    saved(client.post(url(board, "stages/awareness/offers/"), data, **HX), board)
    assert Offer.objects.get(blueprint=board, name="Plain").groups == [
        [{"attribute": "age", "operator": "at_least", "value": 18}]
    ]


def test_free_text_lists_are_typed_one_value_per_line_and_commas_stay_in_the_value(client, users, board):
    login(client, users, "editor")
    typed = "Amsterdam\r\nWashington, D.C.\r\n\r\n  Utrecht "
    data = {"name": "City promo", **conditions([("city", "is_one_of", typed)])}
    saved(client.post(url(board, "stages/awareness/offers/"), data, **HX), board)
    assert Offer.objects.get(blueprint=board, name="City promo").groups[0][0]["value"] == [
        "Amsterdam",
        "Washington, D.C.",
        "Utrecht",
    ]


def test_a_choice_holding_a_comma_ticked_alone_is_one_value(client, users, board):
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="attribute.create",
        payload={"key": "region", "label": "Region", "type": "choice", "choices": ["North", "Bonn, Köln"]},
    )
    login(client, users, "editor")
    data = {"name": "Rhine", **conditions([("region", "is_one_of", ["Bonn, Köln"])])}
    saved(client.post(url(board, "stages/awareness/offers/"), data, **HX), board)
    assert Offer.objects.get(blueprint=board, name="Rhine").groups[0][0]["value"] == ["Bonn, Köln"]


EVERY_WIDGET = [
    [
        {"attribute": "segment", "operator": "is", "value": "Gold"},
        {"attribute": "region", "operator": "is_one_of", "value": ["Bonn, Köln", "North"]},
        {"attribute": "city", "operator": "is_one_of", "value": ["Washington, D.C.", "Paris"]},
        {"attribute": "city", "operator": "is", "value": "Rome, Italy"},
        {"attribute": "tags", "operator": "includes_any_of", "value": ["a, b", "c"]},
        {"attribute": "tags", "operator": "includes", "value": "d, e"},
        {"attribute": "products", "operator": "includes_any_of", "value": ["savings", "mortgage"]},
        {"attribute": "age", "operator": "between", "value": [18, 30.5]},
        {"attribute": "visits_30d", "operator": "at_least", "value": 3},
    ],
    [
        {"attribute": "has_app", "operator": "is", "value": False},
        {"attribute": "last_login", "operator": "within_last_days", "value": 30},
        {"attribute": "last_login", "operator": "at_least", "value": "2024-01-31"},
    ],
    [{"attribute": "last_login", "operator": "between", "value": ["2024-01-01", "2024-06-30"]}],
]


def test_opening_an_offer_and_saving_it_unchanged_keeps_every_condition(client, users, board):
    for attribute in (
        {"key": "region", "label": "Region", "type": "choice", "choices": ["North", "Bonn, Köln"]},
        {"key": "tags", "label": "Tags", "type": "set"},
    ):
        operation_apply(blueprint_id=board.pk, actor=None, op_type="attribute.create", payload=attribute)
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.update",
        payload={"key": "welcome", "groups": EVERY_WIDGET, "description": "Two\nlines"},
    )
    before = Offer.objects.get(blueprint=board, key="welcome").groups
    login(client, users, "owner")
    form = client.get(url(board, "offers/welcome/edit/"), **HX).content.decode()
    data = form_fields(form)
    rev_before = rev(board)
    response = client.post(url(board, "offers/welcome/update/"), data, **HX)
    assert response.status_code == 204, response.content.decode()
    assert "Blueprint-Saved-Rev" not in response and rev(board) == rev_before  # nothing differs
    # without ``orig`` the whole form is sent: the same conditions come back (ticked boxes in the
    # catalog's order)
    del data["orig"]
    saved(client.post(url(board, "offers/welcome/update/"), data, **HX), board)
    offer = Offer.objects.get(blueprint=board, key="welcome")
    assert offer.description == "Two\nlines"
    region = {"attribute": "region", "operator": "is_one_of", "value": ["North", "Bonn, Köln"]}
    assert offer.groups == [[*before[0][:1], region, *before[0][2:]], *before[1:]]


def test_saving_an_unchanged_offer_or_stage_writes_no_operation(client, users, board):
    login(client, users, "owner")
    before = rev(board)
    for edit, update in (
        ("offers/gold_card/edit/", "offers/gold_card/update/"),
        ("stages/awareness/edit/", "stages/awareness/update/"),
    ):
        data = form_fields(client.get(url(board, edit), **HX).content.decode())
        response = client.post(url(board, update), data, **HX)
        # closed at once: no operation, so no frame to wait for
        assert response.status_code == 204 and "Blueprint-Saved-Rev" not in response
    assert rev(board) == before


def test_saving_an_offer_form_keeps_what_someone_else_changed_meanwhile(client, users, board):
    login(client, users, "editor")
    data = form_fields(client.get(url(board, "offers/gold_card/edit/"), **HX).content.decode())
    theirs = [[{"attribute": "segment", "operator": "is", "value": "Silver"}]]
    operation_apply(
        blueprint_id=board.pk,
        actor=users["owner"],
        op_type="offer.update",
        payload={"key": "gold_card", "channel": "email", "groups": theirs},
    )
    data["name"] = ["Gold card plus"]
    saved(client.post(url(board, "offers/gold_card/update/"), data, **HX), board)
    offer = Offer.objects.get(blueprint=board, key="gold_card")
    assert (offer.name, offer.channel, offer.groups) == ("Gold card plus", "email", theirs)
    assert board.operations.last().payload == {"key": "gold_card", "name": "Gold card plus"}


def test_saving_a_stage_form_keeps_what_someone_else_changed_meanwhile(client, users, board):
    login(client, users, "editor")
    data = form_fields(client.get(url(board, "stages/awareness/edit/"), **HX).content.decode())
    theirs = [[{"attribute": "age", "operator": "at_least", "value": 18}]]
    operation_apply(
        blueprint_id=board.pk,
        actor=users["owner"],
        op_type="stage.update",
        payload={"key": "awareness", "description": "Theirs", "entry": theirs},
    )
    data["name"] = ["Discovery"]
    saved(client.post(url(board, "stages/awareness/update/"), data, **HX), board)
    stage = Stage.objects.get(blueprint=board, key="awareness")
    assert (stage.name, stage.description, stage.entry) == ("Discovery", "Theirs", theirs)


def test_a_refused_edit_keeps_the_form_as_first_shown_to_diff_against(client, users, board):
    login(client, users, "editor")
    data = form_fields(client.get(url(board, "offers/gold_card/edit/"), **HX).content.decode())
    data["name"] = [""]
    refused = client.post(url(board, "offers/gold_card/update/"), data, **HX)
    assert refused.status_code == 422
    assert form_fields(refused.content.decode())["orig"] == data["orig"]


def test_a_saved_form_answers_its_operations_rev_and_a_refused_one_changes_nothing(client, users, board):
    # the page closes a saved form once its live frames reach that rev (static/js/live.js)
    login(client, users, "editor")
    before = rev(board)
    data = {"name": "Welcome gift", **conditions([("visits_30d", "at_least", 5)])}
    created = client.post(url(board, "stages/awareness/offers/"), data, **HX)
    assert created["Blueprint-Saved-Rev"] == str(rev(board)) == str(before + 1)
    refused = client.post(url(board, "stages/awareness/offers/"), {"name": ""}, **HX)
    assert refused.status_code == 422 and "Blueprint-Saved-Rev" not in refused
    assert rev(board) == before + 1


def test_a_form_posted_without_script_goes_back_to_the_board(client, users, board):
    login(client, users, "editor")
    response = client.post(url(board, "offers/welcome/update/"), {"name": "Plain post"})
    assert response.status_code == 303 and response["Location"] == f"/blueprints/{board.pk}/"
    assert Offer.objects.get(blueprint=board, key="welcome").name == "Plain post"


def test_editing_an_offer_changes_its_card_and_keeps_its_place(client, users, board):
    login(client, users, "owner")
    form = client.get(url(board, "offers/welcome/edit/"), **HX).content.decode()
    assert 'id="offer-welcome-edit"' in form and 'value="Welcome bonus"' in form
    assert re.search(r'<option value="at_least" selected>is at least</option>', form)
    data = {"name": "Welcome gift", "channel": "app", **conditions([("visits_30d", "at_least", 5)])}
    saved(client.post(url(board, "offers/welcome/update/"), data, **HX), board)
    card = board_html(client, board).split('id="offer-welcome"')[1].split("</li>")[0]
    assert "Welcome gift" in card and "is at least 5" in card
    assert offer_keys(board, "awareness") == ["welcome", "gold_card"]


def test_removing_every_condition_makes_an_offer_for_everyone(client, users, board):
    login(client, users, "owner")
    saved(client.post(url(board, "offers/welcome/update/"), {"name": "Welcome bonus"}, **HX), board)
    assert "Everyone" in board_html(client, board).split('id="offer-welcome"')[1].split("</li>")[0]
    assert Offer.objects.get(blueprint=board, key="welcome").groups == []


def test_deleting_an_offer_takes_it_off_its_stage(client, users, board):
    login(client, users, "editor")
    saved(client.post(url(board, "offers/welcome/delete/"), **HX), board)
    assert 'id="offer-welcome"' not in board_html(client, board)
    assert offer_keys(board, "awareness") == ["gold_card"]


def test_deleting_a_vanished_offer_is_refused_as_text_for_a_toast(client, users, board):
    login(client, users, "editor")
    before = rev(board)
    response = client.post(url(board, "offers/gone/delete/"), **HX)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    # people read that it has gone, not its key (the API keeps that)
    assert response.content.decode() == "There is no such offer in this blueprint; it may have been deleted."
    assert rev(board) == before


# --- Errors in place --------------------------------------------------------------------------


def test_a_nameless_stage_is_refused_beside_the_name_and_nothing_changes(client, users, board):
    login(client, users, "editor")
    before = rev(board)
    response = client.post(url(board, "stages/"), {"name": "  ", "description": "kept"}, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="stage-new-form"' in html and "may not be blank" in html
    assert ">kept</textarea>" in html
    assert rev(board) == before


def test_a_bad_value_is_shown_on_its_row_and_the_form_keeps_what_was_typed(client, users, board):
    login(client, users, "editor")
    before = rev(board)
    data = {
        "name": "Big spenders",
        **conditions([("segment", "is", "Gold")], [("age", "at_least", "old"), ("city", "is", "Delft")]),
    }
    response = client.post(url(board, "stages/awareness/offers/"), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    row = html[html.index('id="cond-r1x0"') : html.index('id="cond-r1x1"')]
    assert "&#x27;old&#x27; is not a number" in row or "'old' is not a number" in row
    assert 'value="Big spenders"' in html and 'value="Delft"' in html
    assert html.count('class="field-error') == 1
    assert rev(board) == before


def test_a_fallback_with_conditions_is_refused_beside_the_fallback_box(client, users, board):
    login(client, users, "editor")
    before = rev(board)
    data = {"name": "Catch-all", "fallback": "on", **conditions([("age", "at_least", 18)])}
    response = client.post(url(board, "stages/onboarding/offers/"), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    fallback_field = html[html.index("field-fallback") : html.index('class="cond-editor')]
    assert "A fallback offer has no conditions" in fallback_field
    assert re.search(r'name="fallback"[^>]* checked', html)
    assert rev(board) == before


def test_a_negative_operator_posted_directly_is_refused(client, users, board):
    login(client, users, "editor")
    before = rev(board)
    data = {"name": "Not gold", **conditions([("segment", "is_not", "Gold")])}
    response = client.post(url(board, "stages/awareness/offers/"), data, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "they say who qualifies" in html
    # the row keeps the negative and offers its exact positive form to pick
    assert "&#x27;Segment is one of Bronze, Silver or Platinum&#x27;</button>" in html
    response = client.post(
        url(board, "offers/welcome/update/"),
        {"name": "x", **conditions([("segment", "is_not", "Gold")])},
        **HX,
    )
    assert response.status_code == 422
    assert Offer.objects.get(blueprint=board, key="welcome").name == "Welcome bonus"
    assert rev(board) == before


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_members_who_cannot_edit_get_403_from_every_edit(client, users, board, role):
    login(client, users, role)
    before = rev(board)
    posts = [
        ("stages/", {"name": "X"}),
        ("stages/awareness/update/", {"name": "X"}),
        ("stages/awareness/delete/", {}),
        ("stages/awareness/offers/", {"name": "X"}),
        ("offers/welcome/update/", {"name": "X"}),
        ("offers/welcome/delete/", {}),
    ]
    for path, data in posts:
        assert client.post(url(board, path), data, **HX).status_code == 403, path
    for path in (
        "stages/awareness/edit/",
        "offers/welcome/edit/",
        "new-stage/form/",
        "conditions/row/",
        "conditions/hint/",
        "conditions/pick/",
    ):
        assert client.get(url(board, path), **HX).status_code == 403, path
    assert rev(board) == before


def test_a_logged_out_htmx_request_is_sent_to_log_in(client, board):
    response = client.post(url(board, "stages/"), {"name": "X"}, **HX)
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_edits_only_accept_post(client, users, board):
    login(client, users, "owner")
    assert client.get(url(board, "stages/awareness/delete/"), **HX).status_code == 405


# --- The condition editor -----------------------------------------------------------------------


def operators_in(html: str) -> list[str]:
    """The positive operators of a row's menu (the negative forms follow in their own group)."""
    select = re.search(r'name="c-\w+-operator".*?</select>', html, re.S)
    positive = select.group(0).split("<optgroup")[0] if select else ""
    return re.findall(r'<option value="(\w+)"', positive)


def negatives_in(html: str) -> list[str]:
    select = re.search(r'name="c-\w+-operator".*?</select>', html, re.S)
    group = re.search(r"<optgroup.*?</optgroup>", select.group(0), re.S) if select else None
    return re.findall(r'<option value="(\w+)"', group.group(0)) if group else []


@pytest.mark.parametrize(
    "attribute,operators",
    [
        ("segment", ["is", "is_one_of"]),
        ("age", ["at_least", "at_most", "below", "above", "between"]),
        ("last_login", ["at_least", "at_most", "below", "above", "between", "within_last_days"]),
        ("has_app", ["is"]),
        ("products", ["includes", "includes_any_of"]),
    ],
)
def test_choosing_an_attribute_offers_only_its_positive_operators(client, users, board, attribute, operators):
    login(client, users, "editor")
    query = {"cond": "abc", "c-abc-group": "g", "c-abc-attribute": attribute, "changed": "attribute"}
    html = client.get(url(board, "conditions/row/"), query, **HX).content.decode()
    assert operators_in(html) == operators
    assert 'id="cond-abc"' in html


@pytest.mark.parametrize(
    "attribute,operator,widget",
    [
        ("segment", "is", '<select id="cond-abc-value"'),
        ("segment", "is_one_of", 'type="checkbox" name="c-abc-value" value="Platinum"'),
        ("age", "between", 'name="c-abc-high"'),
        ("last_login", "at_least", 'type="date"'),
        ("last_login", "within_last_days", 'min="0" step="1"'),
        ("has_app", "is", '<option value="false"'),
        ("city", "is", 'type="text" id="cond-abc-value"'),
    ],
)
def test_the_value_widget_suits_the_attribute_and_operator(client, users, board, attribute, operator, widget):
    login(client, users, "editor")
    query = {"cond": "abc", "c-abc-group": "g", "c-abc-attribute": attribute, "c-abc-operator": operator}
    html = client.get(url(board, "conditions/row/"), query, **HX).content.decode()
    assert widget in html


@pytest.mark.parametrize(
    "attribute,negatives",
    [
        ("segment", ["is_not", "none_of"]),
        ("age", ["not_between", "is_not"]),
        ("last_login", ["not_between", "not_within_last_days"]),
        ("has_app", ["is_not"]),
        ("products", ["excludes", "none_of"]),
        ("city", ["is_not", "none_of"]),
    ],
)
def test_the_operator_menu_offers_the_negatives_people_reach_for_apart(
    client, users, board, attribute, negatives
):
    login(client, users, "editor")
    query = {"cond": "abc", "c-abc-group": "g", "c-abc-attribute": attribute, "changed": "attribute"}
    html = client.get(url(board, "conditions/row/"), query, **HX).content.decode()
    assert negatives_in(html) == negatives
    assert "Everyone except" in html


def test_choosing_a_negative_asks_what_to_leave_out_then_offers_the_exact_positive_forms(
    client, users, board
):
    login(client, users, "editor")
    query = {"cond": "abc", "c-abc-group": "g", "c-abc-attribute": "segment", "c-abc-operator": "is_not"}
    html = client.get(url(board, "conditions/row/"), query | {"changed": "operator"}, **HX).content.decode()
    assert '<select id="cond-abc-value"' in html  # the value of "is", to leave out
    assert "Choose what to leave out" in html
    html = client.get(url(board, "conditions/hint/"), query | {"c-abc-value": "Gold"}, **HX).content.decode()
    assert "Segment is not Gold" in html
    picks = re.findall(r'class="btn btn-small cond-pick"[^>]*>([^<]*)<', html)
    assert picks == ["&#x27;Segment is one of Bronze, Silver or Platinum&#x27;"]


def test_a_negative_word_typed_before_a_text_value_brings_the_hint(client, users, board):
    login(client, users, "editor")
    query = {
        "cond": "abc",
        "c-abc-group": "g",
        "c-abc-attribute": "city",
        "c-abc-operator": "is",
        "c-abc-value": "except Paris",
    }
    html = client.get(url(board, "conditions/hint/"), query, **HX).content.decode()
    assert "City is not Paris" in html and "No positive condition says it exactly" in html
    assert "cond-pick" not in html  # an open text: nothing to pick, and the words say what to do
    plain = client.get(url(board, "conditions/hint/"), query | {"c-abc-value": "Paris"}, **HX)
    assert plain.content.decode().strip() == ""
    hostile = client.get(url(board, "conditions/hint/"), query | {"c-abc-value": "without <b>x</b>"}, **HX)
    assert "&lt;b&gt;x&lt;/b&gt;" in hostile.content.decode() and "<b>" not in hostile.content.decode()
    nothing = client.get(
        url(board, "conditions/pick/"), {"field": "groups", "pick_row": "zzz", "pick": "0"}, **HX
    )
    assert nothing.status_code == 400


def test_picking_a_positive_form_of_two_groups_copies_the_rest_of_the_group_into_each(client, users, board):
    login(client, users, "editor")
    query = {
        "field": "groups",
        "cond": ["aaa", "bbb"],
        "c-aaa-group": "g1",
        "c-aaa-attribute": "segment",
        "c-aaa-operator": "is",
        "c-aaa-value": "Gold",
        "c-bbb-group": "g1",
        "c-bbb-attribute": "age",
        "c-bbb-operator": "not_between",
        "c-bbb-low": "20",
        "c-bbb-high": "30",
        "pick_row": "bbb",
        "pick": "0",
    }
    html = client.get(url(board, "conditions/pick/"), query, **HX).content.decode()
    groups = re.findall(r'class="cond-group" id="g-(\w+)"', html)
    assert len(groups) == 2 and groups[0] == "g1"
    operators = re.findall(r'<option value="(\w+)" selected>', html)
    # each group: Segment is Gold, and one side of the range
    assert operators.count("is") == 2 and operators.count("below") == 1 and operators.count("above") == 1
    assert 'value="20"' in html and 'value="30"' in html and "cond-pick" not in html
    gone = client.get(url(board, "conditions/pick/"), query | {"pick": "5"}, **HX)
    assert gone.status_code == 400


def test_switching_is_to_is_one_of_keeps_the_chosen_value(client, users, board):
    login(client, users, "editor")
    query = {
        "cond": "abc",
        "c-abc-attribute": "segment",
        "c-abc-operator": "is_one_of",
        "c-abc-value": "Gold",
        "changed": "operator",
    }
    html = client.get(url(board, "conditions/row/"), query, **HX).content.decode()
    assert 'value="Gold" checked' in html


def test_adding_a_row_and_an_or_group(client, users, board):
    login(client, users, "editor")
    row = client.get(url(board, "conditions/row/"), {"group": "g1"}, **HX).content.decode()
    assert 'name="c-' in row and 'value="g1"' in row and "Choose an attribute" in row
    group = client.get(url(board, "conditions/group/"), {"field": "groups"}, **HX).content.decode()
    assert 'class="cond-group"' in group and len(re.findall(r'class="cond-row[ "]', group)) == 1


def test_the_card_shows_an_offers_dates_reference_and_tags_and_its_form_edits_them(client, users, board):
    """Issue 16: dates as "1 Mar - 30 Jun 2027" (an en dash), the content reference as a quiet line (text, never a
    link), tags as chips; the edit form shows them and saves what changed."""
    login(client, users, "editor")
    data = form_fields(client.get(url(board, "offers/gold_card/edit/"), **HX).content.decode())
    for name in ("content_ref", "starts_on", "ends_on", "tags"):
        assert data[name] == [""], name
    data.update(
        content_ref=["javascript:alert(1)"],
        starts_on=["2027-03-01"],
        ends_on=["2027-06-30"],
        tags=["summer, cards,summer"],
    )
    saved(client.post(url(board, "offers/gold_card/update/"), data, **HX), board)
    offer = Offer.objects.get(blueprint=board, key="gold_card")
    assert (offer.content_ref, offer.starts_on, offer.ends_on, offer.tags) == (
        "javascript:alert(1)",
        "2027-03-01",
        "2027-06-30",
        ["summer", "cards"],
    )
    card = board_html(client, board).split('id="offer-gold_card"')[1].split('<div class="card-tools')[0]
    assert '<p class="card-dates" title="Shown on these days only">1 Mar – 30 Jun 2027</p>' in card
    assert ">javascript:alert(1)</p>" in card and "href" not in card
    assert '<li class="tag">summer</li><li class="tag">cards</li>' in card

    again = form_fields(client.get(url(board, "offers/gold_card/edit/"), **HX).content.decode())
    assert (again["starts_on"], again["ends_on"], again["tags"]) == (
        ["2027-03-01"],
        ["2027-06-30"],
        ["summer, cards"],
    )
    again.update(starts_on=[""], ends_on=["2027-06-30"])
    saved(client.post(url(board, "offers/gold_card/update/"), again, **HX), board)
    card = board_html(client, board).split('id="offer-gold_card"')[1].split('<div class="card-tools')[0]
    assert ">until 30 Jun 2027</p>" in card


def test_an_end_before_the_start_is_refused_beside_the_end_date(client, users, board):
    login(client, users, "editor")
    data = form_fields(client.get(url(board, "offers/gold_card/edit/"), **HX).content.decode())
    data.update(starts_on=["2027-07-01"], ends_on=["2027-06-30"])
    refused = client.post(url(board, "offers/gold_card/update/"), data, **HX)
    assert refused.status_code == 422
    page = refused.content.decode()
    end_field = page.split('name="ends_on"')[1].split("</div>")[0]
    assert "is before the start date" in end_field
    assert Offer.objects.get(blueprint=board, key="gold_card").starts_on == ""
