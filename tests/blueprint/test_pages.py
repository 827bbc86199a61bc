"""The pages around the board: blueprints list, catalog, members, log-in — for every role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from blueprint.models import Attribute, Blueprint, Membership, Role
from blueprint.services import operation_apply
from tests.blueprint.test_board_views import form_fields

HTMX = {"HTTP_HX_REQUEST": "true"}
MEMBER_ROLES = ("owner", "editor", "approver", "viewer")


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rev_of(bp: Blueprint) -> int:
    bp.refresh_from_db()
    return bp.rev


def attribute_form(**overrides: str) -> dict[str, str]:
    form = {
        "label": "Loyalty tier",
        "key": "",
        "kind": "attribute",
        "type": "choice",
        "choices": "Blue\nSilver\nGold",
        "unit": "",
        "source": "Loyalty platform",
        "description": "The customer's tier in the loyalty programme.",
    }
    form.update(overrides)
    return form


# --- Access per role --------------------------------------------------------------------------


def test_logged_out_visitors_are_sent_to_log_in(blueprint: Blueprint) -> None:
    for url in (
        reverse("blueprint_list"),
        reverse("catalog", args=[blueprint.pk]),
        reverse("members", args=[blueprint.pk]),
    ):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_sees_the_blueprint_in_their_list_with_their_role(
    role: str, board: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users[role]).get(reverse("blueprint_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Retail banking – web" in html
    assert reverse("board", args=[board.pk]) in html
    assert f'class="role role-{role}"' in html
    # two stages and three offers, counted
    assert "<dt>Stages</dt><dd>2</dd>" in html
    assert "<dt>Offers</dt><dd>3</dd>" in html
    assert (f'href="/blueprints/{board.pk}/edit/"' in html) == (role in ("owner", "editor"))
    assert ("Delete…" in html) == (role == "owner")
    assert "Duplicate" in html


def test_a_new_user_sees_an_empty_state_and_an_open_create_form(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    html = client_for(users["stranger"]).get(reverse("blueprint_list")).content.decode()
    assert "You have no blueprints yet." in html
    assert reverse("board", args=[blueprint.pk]) not in html
    assert 'class="bp-card' not in html
    assert '<details id="blueprint-new" class="create" open>' in html


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_can_read_the_catalog_but_only_editors_get_the_controls(
    role: str, board: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users[role]).get(reverse("catalog", args=[board.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Visits in the last 30 days" in html
    assert '<code class="attr-key">visits_30d</code>' in html
    assert ('id="new-attribute"' in html) == (role in ("owner", "editor"))
    assert (reverse("attribute_edit", args=[board.pk, "age"]) in html) == (role in ("owner", "editor"))


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_can_read_the_members_but_only_owners_manage_them(
    role: str, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users[role]).get(reverse("members", args=[blueprint.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for name in MEMBER_ROLES:
        assert name in html
    assert ("Add a member" in html) == (role == "owner")
    assert ("Change role" in html) == (role == "owner")


@pytest.mark.parametrize(
    "name", ["catalog", "members", "blueprint_row", "blueprint_edit", "blueprint_delete_confirm"]
)
def test_a_stranger_gets_404_for_a_blueprint_they_are_not_in(
    name: str, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users["stranger"]).get(reverse(name, args=[blueprint.pk]))
    assert response.status_code == 404


def test_the_nav_links_board_catalog_and_members_and_marks_the_current_page(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    html = client_for(users["viewer"]).get(reverse("members", args=[blueprint.pk])).content.decode()
    assert f'href="{reverse("board", args=[blueprint.pk])}">Board</a>' in html
    assert f'href="{reverse("catalog", args=[blueprint.pk])}">Catalog</a>' in html
    assert f'href="{reverse("members", args=[blueprint.pk])}" aria-current="page">Members</a>' in html


# --- Blueprints: create, edit, duplicate, delete ----------------------------------------------


def test_creating_a_blueprint_makes_the_creator_owner_and_opens_its_board(users: dict[str, Any]) -> None:
    response = client_for(users["stranger"]).post(
        reverse("blueprint_create"),
        {"name": "Mobile app onboarding", "context": "New app users", "channels": "app, push ,, email"},
    )
    bp = Blueprint.objects.get(name="Mobile app onboarding")
    assert response.status_code == 302
    assert response["Location"] == reverse("board", args=[bp.pk])
    assert bp.channels == ["app", "push", "email"]
    assert Membership.objects.get(blueprint=bp).role == Role.OWNER


def test_creating_over_htmx_redirects_the_browser_to_the_board(users: dict[str, Any]) -> None:
    response = client_for(users["owner"]).post(reverse("blueprint_create"), {"name": "Branch"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("board", args=[Blueprint.objects.get(name="Branch").pk])


def test_creating_without_a_name_shows_the_error_and_keeps_what_was_typed(users: dict[str, Any]) -> None:
    response = client_for(users["owner"]).post(
        reverse("blueprint_create"), {"name": "  ", "context": "Kept context"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<details id="blueprint-new"')
    assert "This field may not be blank." in html
    assert 'value="Kept context"' in html
    assert not Blueprint.objects.exists()


def test_creating_without_a_name_without_htmx_renders_the_page_with_the_error(
    users: dict[str, Any],
) -> None:
    response = client_for(users["owner"]).post(reverse("blueprint_create"), {"name": ""})
    assert response.status_code == 400
    assert "This field may not be blank." in response.content.decode()
    assert "<html" in response.content.decode()


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_owners_and_editors_rename_a_blueprint_through_an_operation(
    role: str, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(blueprint)
    client = client_for(users[role])
    form = client.get(reverse("blueprint_edit", args=[blueprint.pk]), **HTMX).content.decode()
    assert 'value="Retail banking – web"' in form
    response = client.post(
        reverse("blueprint_update", args=[blueprint.pk]),
        {"name": "Retail – web", "context": "Retail bank", "channels": "web, email", "description": "Hi"},
        **HTMX,
    )
    assert response.status_code == 200
    assert f'id="blueprint-{blueprint.pk}"' in response.content.decode()
    blueprint.refresh_from_db()
    assert (blueprint.name, blueprint.channels, blueprint.description) == (
        "Retail – web",
        ["web", "email"],
        "Hi",
    )
    assert blueprint.rev == before + 1
    assert blueprint.operations.last().type == "blueprint.update"


def test_saving_the_details_form_keeps_what_someone_else_changed_meanwhile(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["editor"])
    form = client.get(reverse("blueprint_edit", args=[blueprint.pk]), **HTMX).content.decode()
    data = form_fields(form)
    operation_apply(
        blueprint_id=blueprint.pk,
        actor=users["owner"],
        op_type="blueprint.update",
        payload={"context": "Private bank", "channels": ["web", "app"], "description": "Line one\nLine two"},
    )
    data["name"] = ["Retail – web"]
    response = client.post(reverse("blueprint_update", args=[blueprint.pk]), data, **HTMX)
    assert response.status_code == 200
    blueprint.refresh_from_db()
    assert (blueprint.name, blueprint.context, blueprint.channels, blueprint.description) == (
        "Retail – web",
        "Private bank",
        ["web", "app"],
        "Line one\nLine two",
    )
    assert blueprint.operations.last().payload == {"name": "Retail – web"}


def test_saving_the_attribute_form_keeps_what_someone_else_changed_meanwhile(
    catalog: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["editor"])
    form = client.get(reverse("attribute_edit", args=[catalog.pk, "segment"]), **HTMX).content.decode()
    data = form_fields(form)
    operation_apply(
        blueprint_id=catalog.pk,
        actor=users["owner"],
        op_type="attribute.update",
        payload={
            "key": "segment",
            "choices": ["Bronze", "Silver", "Gold", "Platinum", "Diamond"],
            "source": "CRM",
        },
    )
    data["label"] = ["Customer segment"]
    response = client.post(reverse("attribute_update", args=[catalog.pk, "segment"]), data, **HTMX)
    assert "Saved &#x27;Customer segment&#x27;." in response.content.decode()
    segment = Attribute.objects.get(blueprint=catalog, key="segment")
    assert (segment.label, segment.choices[-1], segment.source) == ("Customer segment", "Diamond", "CRM")


def test_a_refused_details_form_keeps_the_form_as_first_shown_to_diff_against(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["editor"])
    data = form_fields(client.get(reverse("blueprint_edit", args=[blueprint.pk]), **HTMX).content.decode())
    data["name"] = [""]
    refused = client.post(reverse("blueprint_update", args=[blueprint.pk]), data, **HTMX)
    assert refused.status_code == 422
    assert form_fields(refused.content.decode())["orig"] == data["orig"]


def test_saving_unchanged_details_writes_no_operation(blueprint: Blueprint, users: dict[str, Any]) -> None:
    before = rev_of(blueprint)
    client_for(users["owner"]).post(
        reverse("blueprint_update", args=[blueprint.pk]),
        {"name": blueprint.name, "context": blueprint.context, "channels": "web", "description": ""},
        **HTMX,
    )
    assert rev_of(blueprint) == before


def test_renaming_to_a_blank_name_is_refused_inline_and_changes_nothing(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(blueprint)
    response = client_for(users["editor"]).post(
        reverse("blueprint_update", args=[blueprint.pk]), {"name": "", "context": "Changed"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "This field may not be blank." in html
    assert 'value="Changed"' in html
    assert rev_of(blueprint) == before
    assert blueprint.name == "Retail banking – web"


@pytest.mark.parametrize(("role", "status"), [("approver", 403), ("viewer", 403), ("stranger", 404)])
def test_others_cannot_rename_a_blueprint(
    role: str, status: int, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users[role]).post(
        reverse("blueprint_update", args=[blueprint.pk]), {"name": "Mine now"}, **HTMX
    )
    assert response.status_code == status
    blueprint.refresh_from_db()
    assert blueprint.name == "Retail banking – web"


def test_any_member_may_duplicate_and_owns_the_copy(board: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["viewer"]).post(reverse("blueprint_duplicate", args=[board.pk]), **HTMX)
    copy = Blueprint.objects.get(name="Copy of Retail banking – web")
    html = response.content.decode()
    assert "Copied" in html
    assert f'id="blueprint-{copy.pk}" class="bp-card is-new"' in html
    assert Membership.objects.get(blueprint=copy).user == users["viewer"]
    assert copy.attributes.count() == board.attributes.count()
    assert copy.offers.count() == 3


def test_a_stranger_cannot_duplicate(blueprint: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["stranger"]).post(reverse("blueprint_duplicate", args=[blueprint.pk]))
    assert response.status_code == 404
    assert Blueprint.objects.count() == 1


def test_deleting_asks_first_then_removes_the_blueprint(blueprint: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["owner"])
    confirm = client.get(reverse("blueprint_delete_confirm", args=[blueprint.pk]), **HTMX).content.decode()
    assert "This cannot be undone." in confirm
    assert "Delete for good" in confirm
    assert Blueprint.objects.filter(pk=blueprint.pk).exists()
    response = client.post(reverse("blueprint_delete", args=[blueprint.pk]), **HTMX)
    assert "Deleted" in response.content.decode()
    assert not Blueprint.objects.filter(pk=blueprint.pk).exists()


def test_deleting_without_htmx_redirects_to_the_list(blueprint: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["owner"]).post(reverse("blueprint_delete", args=[blueprint.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("blueprint_list")
    assert not Blueprint.objects.exists()


@pytest.mark.parametrize("role", ["editor", "approver", "viewer"])
def test_only_owners_may_delete(role: str, blueprint: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users[role])
    assert client.get(reverse("blueprint_delete_confirm", args=[blueprint.pk])).status_code == 403
    assert client.post(reverse("blueprint_delete", args=[blueprint.pk])).status_code == 403
    assert Blueprint.objects.filter(pk=blueprint.pk).exists()


# --- Catalog ----------------------------------------------------------------------------------


def test_the_catalog_is_grouped_by_kind_and_shows_where_each_attribute_is_used(
    board: Blueprint, users: dict[str, Any]
) -> None:
    html = client_for(users["viewer"]).get(reverse("catalog", args=[board.pk])).content.decode()
    attribute, behaviour, context = (
        html.index(f'id="kind-{k}"') for k in ("attribute", "behaviour", "context")
    )
    assert attribute < html.index('id="attribute-segment"') < behaviour
    assert (
        behaviour < html.index('id="attribute-visits_30d"') < context < html.index('id="attribute-channel"')
    )
    segment = html[
        html.index('id="attribute-segment"') : html.index("</tbody>", html.index('id="attribute-segment"'))
    ]
    assert "Gold card" in segment
    assert "Awareness" in segment
    assert '<li class="tag">Platinum</li>' in segment
    city = html[html.index('id="attribute-city"') : html.index("</tbody>", html.index('id="attribute-city"'))]
    assert "Not used yet" in city


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_adding_an_attribute_derives_its_key_from_the_label(
    role: str, catalog: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(catalog)
    response = client_for(users[role]).post(
        reverse("attribute_add", args=[catalog.pk]), attribute_form(), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="catalog"')
    assert "Added &#x27;Loyalty tier&#x27; (loyalty_tier)." in html
    attribute = Attribute.objects.get(blueprint=catalog, key="loyalty_tier")
    assert attribute.choices == ["Blue", "Silver", "Gold"]
    assert attribute.source == "Loyalty platform"
    assert rev_of(catalog) == before + 1


def test_choices_may_be_comma_separated(catalog: Blueprint, users: dict[str, Any]) -> None:
    client_for(users["owner"]).post(
        reverse("attribute_add", args=[catalog.pk]),
        attribute_form(key="tier", choices="Blue, Silver ,Gold"),
        **HTMX,
    )
    assert Attribute.objects.get(blueprint=catalog, key="tier").choices == ["Blue", "Silver", "Gold"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"choices": ""}, "A choice attribute needs its list of allowed values."),
        ({"label": ""}, "This field may not be blank."),
        ({"key": "Visits 30d"}, "is not a key"),
        ({"key": "segment"}, "already used"),
        ({"type": "number", "choices": "1, 2"}, "has no list of choices"),
        ({"kind": "mood"}, "Expected one of: attribute, behaviour, context."),
        ({"type": "colour"}, "Expected one of: text, choice"),
    ],
)
def test_a_bad_attribute_is_refused_inline_and_nothing_changes(
    overrides: dict[str, str], message: str, catalog: Blueprint, users: dict[str, Any]
) -> None:
    before, count = rev_of(catalog), catalog.attributes.count()
    form = attribute_form(**overrides)
    response = client_for(users["editor"]).post(reverse("attribute_add", args=[catalog.pk]), form, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert message in html.replace("&#x27;", "'")
    assert '<details id="new-attribute" class="create" open>' in html
    if form["label"]:
        assert f'value="{form["label"]}"' in html
    assert rev_of(catalog) == before
    assert catalog.attributes.count() == count


def test_a_bad_attribute_without_htmx_renders_the_whole_page_with_the_error(
    catalog: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users["owner"]).post(
        reverse("attribute_add", args=[catalog.pk]), attribute_form(choices="")
    )
    assert response.status_code == 400
    assert "A choice attribute needs its list of allowed values." in response.content.decode()


def test_adding_without_htmx_redirects_back_to_the_catalog(catalog: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["owner"]).post(reverse("attribute_add", args=[catalog.pk]), attribute_form())
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog", args=[catalog.pk])


@pytest.mark.parametrize(("role", "status"), [("approver", 403), ("viewer", 403), ("stranger", 404)])
def test_others_cannot_change_the_catalog(
    role: str, status: int, catalog: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(catalog)
    client = client_for(users[role])
    assert client.post(reverse("attribute_add", args=[catalog.pk]), attribute_form()).status_code == status
    assert (
        client.post(reverse("attribute_update", args=[catalog.pk, "age"]), attribute_form()).status_code
        == status
    )
    assert client.post(reverse("attribute_delete", args=[catalog.pk, "city"])).status_code == status
    assert client.get(reverse("attribute_edit", args=[catalog.pk, "age"])).status_code == status
    assert rev_of(catalog) == before


def test_editing_an_attribute_shows_its_key_read_only_and_saves_changes(
    catalog: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["editor"])
    form = client.get(reverse("attribute_edit", args=[catalog.pk, "age"]), **HTMX).content.decode()
    assert form.lstrip().startswith('<tbody id="attribute-age"')
    assert 'name="key"' not in form
    assert '<code class="key-fixed"' in form
    assert 'value="Age"' in form
    before = rev_of(catalog)
    response = client.post(
        reverse("attribute_update", args=[catalog.pk, "age"]),
        attribute_form(label="Age of the customer", type="number", choices="", unit="years", key="ignored"),
        **HTMX,
    )
    assert "Saved &#x27;Age of the customer&#x27;." in response.content.decode()
    age = Attribute.objects.get(blueprint=catalog, key="age")
    assert (age.label, age.source, age.unit) == ("Age of the customer", "Loyalty platform", "years")
    assert rev_of(catalog) == before + 1


def test_cancelling_an_edit_brings_back_the_plain_row(catalog: Blueprint, users: dict[str, Any]) -> None:
    html = client_for(users["editor"]).get(reverse("attribute_row", args=[catalog.pk, "age"]), **HTMX)
    assert html.content.decode().lstrip().startswith('<tbody id="attribute-age"')
    assert "Not used yet" in html.content.decode()


def test_a_bad_edit_keeps_the_form_open_with_the_error_and_changes_nothing(
    catalog: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(catalog)
    response = client_for(users["owner"]).post(
        reverse("attribute_update", args=[catalog.pk, "segment"]),
        attribute_form(label="Customer segment", choices=""),
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "A choice attribute needs its list of allowed values." in html
    assert 'value="Customer segment"' in html
    assert f'hx-post="{reverse("attribute_update", args=[catalog.pk, "segment"])}"' in html
    assert rev_of(catalog) == before
    assert Attribute.objects.get(blueprint=catalog, key="segment").label == "Segment"


def test_saving_an_unchanged_attribute_writes_no_operation(catalog: Blueprint, users: dict[str, Any]) -> None:
    before = rev_of(catalog)
    response = client_for(users["owner"]).post(
        reverse("attribute_update", args=[catalog.pk, "city"]),
        {
            "label": "City",
            "kind": "context",
            "type": "text",
            "choices": "",
            "unit": "",
            "source": "",
            "description": "",
        },
        **HTMX,
    )
    assert "No changes to &#x27;City&#x27;." in response.content.decode()
    assert rev_of(catalog) == before


def test_changing_a_used_attribute_so_a_condition_breaks_is_refused(
    board: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(board)
    response = client_for(users["owner"]).post(
        reverse("attribute_update", args=[board.pk, "segment"]),
        attribute_form(label="Segment", choices="Bronze\nSilver"),
        **HTMX,
    )
    html = response.content.decode()
    assert (
        "Offer &#x27;Gold card&#x27; has a condition this change would break, the first condition of "
        "group 1: &#x27;Gold&#x27; is not a choice of Segment; choose from Bronze, Silver. "
        "Change that condition first." in html
    )
    assert "gold_card" not in html and "groups[0]" not in html and "(key:" not in html
    assert rev_of(board) == before


def test_deleting_an_unused_attribute(catalog: Blueprint, users: dict[str, Any]) -> None:
    before = rev_of(catalog)
    response = client_for(users["editor"]).post(
        reverse("attribute_delete", args=[catalog.pk, "city"]), **HTMX
    )
    assert "Deleted &#x27;City&#x27;." in response.content.decode()
    assert not Attribute.objects.filter(blueprint=catalog, key="city").exists()
    assert rev_of(catalog) == before + 1


def test_deleting_a_used_attribute_is_refused_with_the_services_message(
    board: Blueprint, users: dict[str, Any]
) -> None:
    before = rev_of(board)
    response = client_for(users["owner"]).post(
        reverse("attribute_delete", args=[board.pk, "segment"]), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'role="alert"' in html
    assert "is used by conditions of offer &#x27;Gold card&#x27;; remove those" in html
    assert "gold_card" not in html
    assert Attribute.objects.filter(blueprint=board, key="segment").exists()
    assert rev_of(board) == before


def test_deleting_a_used_attribute_without_htmx_redirects_with_the_message(
    board: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["owner"])
    response = client.post(reverse("attribute_delete", args=[board.pk, "segment"]), follow=True)
    assert "remove those conditions first" in response.content.decode()
    assert Attribute.objects.filter(blueprint=board, key="segment").exists()


def test_an_attribute_that_no_longer_exists_is_reported_not_crashed_on(
    catalog: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["owner"])
    assert client.get(reverse("attribute_edit", args=[catalog.pk, "gone"]), **HTMX).status_code == 404
    update = client.post(reverse("attribute_update", args=[catalog.pk, "gone"]), attribute_form(), **HTMX)
    assert update.status_code == 422
    assert "This attribute is no longer in the catalog" in update.content.decode()
    delete = client.post(reverse("attribute_delete", args=[catalog.pk, "gone"]), **HTMX)
    assert delete.status_code == 422
    assert "There is no such attribute in the catalog" in delete.content.decode()
    assert "&#x27;gone&#x27;" not in delete.content.decode() and "(key:" not in delete.content.decode()


# --- Members ----------------------------------------------------------------------------------


def test_an_owner_adds_a_member_changes_their_role_and_removes_them(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["owner"])
    added = client.post(
        reverse("member_add", args=[blueprint.pk]), {"username": " stranger ", "role": "editor"}, **HTMX
    )
    assert "stranger is now editor of this blueprint." in added.content.decode()
    membership = Membership.objects.get(blueprint=blueprint, user=users["stranger"])
    assert membership.role == Role.EDITOR

    changed = client.post(
        reverse("member_role", args=[blueprint.pk, membership.pk]), {"role": "approver"}, **HTMX
    )
    assert "stranger is now approver." in changed.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER

    removed = client.post(reverse("member_remove", args=[blueprint.pk, membership.pk]), **HTMX)
    assert "Removed stranger from this blueprint." in removed.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "nobody", "role": "editor"}, "There is no user &#x27;nobody&#x27;."),
        ({"username": "", "role": "editor"}, "Name a user by their username."),
        ({"username": "stranger", "role": "boss"}, "Expected one of: owner, editor, approver, viewer."),
    ],
)
def test_adding_a_member_with_bad_input_shows_the_error_inline(
    form: dict[str, str], message: str, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    response = client_for(users["owner"]).post(reverse("member_add", args=[blueprint.pk]), form, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<div id="members"')
    assert message in html
    assert Membership.objects.filter(blueprint=blueprint).count() == 4


def test_the_last_owner_can_neither_step_down_nor_leave(blueprint: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["owner"])
    own = Membership.objects.get(blueprint=blueprint, user=users["owner"])
    for response in (
        client.post(reverse("member_role", args=[blueprint.pk, own.pk]), {"role": "viewer"}, **HTMX),
        client.post(reverse("member_remove", args=[blueprint.pk, own.pk]), **HTMX),
    ):
        html = response.content.decode()
        assert response.status_code == 422
        assert "A blueprint needs at least one owner; make someone else owner first." in html
        assert 'role="alert"' in html
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_an_owner_who_leaves_is_sent_back_to_their_list(blueprint: Blueprint, users: dict[str, Any]) -> None:
    Membership.objects.filter(blueprint=blueprint, user=users["editor"]).update(role=Role.OWNER)
    own = Membership.objects.get(blueprint=blueprint, user=users["owner"])
    response = client_for(users["owner"]).post(reverse("member_remove", args=[blueprint.pk, own.pk]), **HTMX)
    assert response["HX-Redirect"] == reverse("blueprint_list")
    assert not Membership.objects.filter(pk=own.pk).exists()


@pytest.mark.parametrize(
    ("role", "status"), [("editor", 403), ("approver", 403), ("viewer", 403), ("stranger", 404)]
)
def test_only_owners_manage_members(
    role: str, status: int, blueprint: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users[role])
    viewer = Membership.objects.get(blueprint=blueprint, user=users["viewer"])
    add = client.post(reverse("member_add", args=[blueprint.pk]), {"username": "stranger", "role": "owner"})
    change = client.post(reverse("member_role", args=[blueprint.pk, viewer.pk]), {"role": "owner"})
    remove = client.post(reverse("member_remove", args=[blueprint.pk, viewer.pk]))
    assert (add.status_code, change.status_code, remove.status_code) == (status, status, status)
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER
    assert not Membership.objects.filter(blueprint=blueprint, user=users["stranger"]).exists()


def test_members_changes_without_htmx_redirect_back(blueprint: Blueprint, users: dict[str, Any]) -> None:
    response = client_for(users["owner"]).post(
        reverse("member_add", args=[blueprint.pk]), {"username": "stranger", "role": "viewer"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("members", args=[blueprint.pk])
    assert "stranger is now viewer of this blueprint." in response.content.decode()


# --- Log-in -----------------------------------------------------------------------------------


def test_the_login_page_renders_and_logs_in(users: dict[str, Any]) -> None:
    client = Client()
    page = client.get("/accounts/login/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="username"' in html
    assert 'name="password"' in html
    response = client.post("/accounts/login/", {"username": "owner", "password": "demo"})
    assert response.status_code == 302
    assert response["Location"] == "/blueprints/"
    assert client.get("/blueprints/").status_code == 200


def test_a_wrong_password_is_reported_on_the_login_page(users: dict[str, Any]) -> None:
    response = Client().post("/accounts/login/", {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert 'class="errorlist login-error" role="alert"' in response.content.decode()


# --- Never a 500 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": "x" * 5000, "channels": ",".join(str(n) for n in range(100))},
        {"label": "\x00", "kind": "", "type": ""},
        {"role": "owner", "username": "x" * 500},
    ],
)
def test_no_form_input_causes_a_server_error(
    data: dict[str, str], board: Blueprint, users: dict[str, Any]
) -> None:
    client = client_for(users["owner"])
    membership = Membership.objects.get(blueprint=board, user=users["viewer"])
    urls = [
        reverse("blueprint_create"),
        reverse("blueprint_update", args=[board.pk]),
        reverse("attribute_add", args=[board.pk]),
        reverse("attribute_update", args=[board.pk, "age"]),
        reverse("member_add", args=[board.pk]),
        reverse("member_role", args=[board.pk, membership.pk]),
    ]
    for url in urls:
        for extra in ({}, HTMX):
            response = client.post(url, data, **extra)
            assert response.status_code < 500, url


@pytest.mark.parametrize("action", ["", "edit/"])
def test_an_attribute_row_loads_the_board_once(
    client: Client, catalog: Blueprint, users: dict[str, Any], django_assert_max_num_queries: Any, action: str
) -> None:
    client.force_login(users["owner"])
    # session, user, membership, then the board's three queries: attributes, stages, offers
    with django_assert_max_num_queries(6):
        response = client.get(
            f"/blueprints/{catalog.pk}/catalog/attributes/segment/{action}", headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    assert 'id="attribute-segment"' in response.content.decode()
