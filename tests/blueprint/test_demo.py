"""The demo that `make run` loads: realistic, valid, built through the services, loaded once."""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import Client

from blueprint.demo import DEMO_NAME, DEMO_USERS
from blueprint.models import Attribute, Blueprint, Membership, Offer, Operation, Stage
from decisioning.conditions import ALL_OPERATORS, groups_as_json, parse_groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any) -> Blueprint:
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    return Blueprint.objects.get(name=DEMO_NAME)


def conditions(blueprint: Blueprint) -> list[dict[str, Any]]:
    found = [c for s in Stage.objects.filter(blueprint=blueprint) for g in s.entry for c in g]
    return found + [c for o in Offer.objects.filter(blueprint=blueprint) for g in o.groups for c in g]


def test_loading_the_demo_twice_makes_one_blueprint_and_four_users(settings: Any) -> None:
    settings.DEBUG = True
    first, second = StringIO(), StringIO()
    call_command("load_demo", stdout=first)
    rev = Blueprint.objects.get().rev
    call_command("load_demo", stdout=second)
    assert "Loaded the demo blueprint" in first.getvalue()
    assert "loaded before" in second.getvalue()
    assert Blueprint.objects.count() == 1
    assert Blueprint.objects.get().rev == rev
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == sorted(DEMO_USERS)


def test_loading_again_keeps_the_edits_made_since(demo: Blueprint) -> None:
    Offer.objects.filter(blueprint=demo).first().delete()
    count = Offer.objects.filter(blueprint=demo).count()
    call_command("load_demo", stdout=StringIO())
    assert Offer.objects.filter(blueprint=demo).count() == count


def test_each_demo_user_is_a_member_in_the_role_of_their_name(demo: Blueprint) -> None:
    roles = dict(Membership.objects.filter(blueprint=demo).values_list("user__username", "role"))
    assert roles == {name: name for name in DEMO_USERS}
    assert demo.created_by.username == "owner"


@pytest.mark.parametrize("username", DEMO_USERS)
def test_each_demo_user_logs_in_with_password_demo(demo: Blueprint, username: str) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": "demo"})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(get_user_model().objects.get(username=username).pk)


def test_a_wrong_password_does_not_log_in(demo: Blueprint) -> None:
    # with its request, as every log-in must give one (django-axes counts failures by address)
    assert not Client().login(request=HttpRequest(), username="owner", password="not-demo")


def test_the_demo_is_refused_when_debug_is_off(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo", stdout=StringIO())
    assert not Blueprint.objects.exists()
    assert not get_user_model().objects.exists()


def test_force_loads_the_demo_even_when_debug_is_off(settings: Any) -> None:
    settings.DEBUG = False
    call_command("load_demo", "--force", stdout=StringIO())
    assert Blueprint.objects.filter(name=DEMO_NAME).count() == 1


def test_the_demo_has_the_size_of_a_real_workshop_board(demo: Blueprint) -> None:
    assert 5 <= Stage.objects.filter(blueprint=demo).count() <= 6
    assert 15 <= Offer.objects.filter(blueprint=demo).count() <= 25
    assert 8 <= Attribute.objects.filter(blueprint=demo).count() <= 14
    kinds = set(Attribute.objects.filter(blueprint=demo).values_list("kind", flat=True))
    assert kinds == {"attribute", "behaviour", "context"}
    assert set(Attribute.objects.filter(blueprint=demo).values_list("type", flat=True)) == {
        "text",
        "choice",
        "number",
        "boolean",
        "date",
        "set",
    }


def test_the_demo_uses_every_operator(demo: Blueprint) -> None:
    used = Counter(c["operator"] for c in conditions(demo))
    assert set(used) == set(ALL_OPERATORS)


def test_most_stages_have_entry_conditions_and_every_offer_a_name_description_and_channel(
    demo: Blueprint,
) -> None:
    stages = list(Stage.objects.filter(blueprint=demo))
    assert sum(1 for s in stages if s.entry) >= len(stages) - 1
    for offer in Offer.objects.filter(blueprint=demo):
        assert offer.name and offer.description and offer.channel, offer.key


def test_fallbacks_have_no_conditions_and_are_at_most_one_per_stage(demo: Blueprint) -> None:
    fallbacks = Offer.objects.filter(blueprint=demo, fallback=True)
    assert fallbacks.count() >= 2
    assert all(o.groups == [] for o in fallbacks)
    per_stage = Counter(o.stage_id for o in fallbacks)
    assert max(per_stage.values()) == 1
    for offer in Offer.objects.filter(blueprint=demo, fallback=False):
        assert offer.groups, f"{offer.key} has no conditions and is not a fallback"


def test_fallbacks_come_last_in_their_stage(demo: Blueprint) -> None:
    for stage in Stage.objects.filter(blueprint=demo):
        offers = sorted(stage.offers.all(), key=lambda o: (o.rank, o.pk))
        assert all(not o.fallback for o in offers[:-1]), stage.key


def test_no_two_offers_in_a_stage_have_the_same_conditions(demo: Blueprint) -> None:
    for stage in Stage.objects.filter(blueprint=demo):
        seen = [sorted(sorted(map(repr, group)) for group in o.groups) for o in stage.offers.all()]
        assert len({repr(s) for s in seen}) == len(seen), stage.key


def test_every_demo_condition_is_valid_against_the_catalog(demo: Blueprint) -> None:
    catalog = {a.key: a.spec() for a in Attribute.objects.filter(blueprint=demo)}
    stored = [s.entry for s in Stage.objects.filter(blueprint=demo)]
    stored += [o.groups for o in Offer.objects.filter(blueprint=demo)]
    # parse_groups raises on any invalid condition; a valid one normalises to itself
    assert all(groups_as_json(parse_groups(groups, catalog)) == groups for groups in stored)


def test_the_demo_was_built_through_the_operation_log(demo: Blueprint) -> None:
    operations = Operation.objects.filter(blueprint=demo)
    content = (
        Attribute.objects.filter(blueprint=demo).count()
        + Stage.objects.filter(blueprint=demo).count()
        + Offer.objects.filter(blueprint=demo).count()
    )
    assert operations.count() == content == demo.rev
    assert set(operations.values_list("type", flat=True)) == {
        "attribute.create",
        "stage.create",
        "offer.create",
    }


def test_the_demo_has_a_live_first_version_published_by_the_editor_and_approved_by_the_approver(
    demo: Blueprint,
) -> None:
    from blueprint.selectors import board_load, board_snapshot, version_live

    live = version_live(demo.pk)
    assert live is not None and live.number == 1
    assert live.author.username == "editor"
    assert [a.user.username for a in live.approvals.all()] == ["approver"]
    assert live.snapshot == board_snapshot(board_load(demo))  # the draft has no unpublished changes


def test_the_demos_stages_overlap_and_its_checks_say_so_with_a_customer_in_both(demo: Blueprint) -> None:
    # several stages at once: an active customer of two years is in Engagement, Retention and Advocacy
    from blueprint.selectors import board_lint, board_load

    assert demo.stage_mode == "several"
    overlaps = {f.stages: f for f in board_lint(board_load(demo)).findings if f.code == "stage-overlap"}
    assert {("engagement", "retention"), ("engagement", "advocacy"), ("retention", "advocacy")} <= set(
        overlaps
    )
    example = overlaps[("retention", "advocacy")].example
    assert example is not None and example["customer_status"] == "Active" and example["tenure_months"] >= 12
    assert all(f.level == "warning" for f in overlaps.values())


def test_the_demo_shows_content_references_tags_and_a_date_window(demo: Blueprint) -> None:
    """Issue 16: a few demo offers carry what they show and when, so the features show."""
    from blueprint.models import Offer

    offers = Offer.objects.filter(blueprint=demo)
    assert sum(1 for o in offers if o.content_ref) >= 3
    assert sum(1 for o in offers if o.tags) >= 3
    dated = [o for o in offers if o.starts_on or o.ends_on]
    assert [(o.key, o.dates_label) for o in dated] == [("branch_open_evening", "1 Sep 2026 – 30 Nov 2027")]
