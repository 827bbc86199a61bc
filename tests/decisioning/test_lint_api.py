"""``GET /api/v1/blueprints/{id}/lint/``: the lint of the board over the API (docs/architecture.md,
"The lint").

The ``board`` fixture: stages awareness [welcome (visits_30d at least 3), gold_card (segment is one
of Gold, Platinum)] and onboarding [app_tour (has_app is true)], no fallbacks, so it lints to an
overlap in awareness and a gap in each stage. The analysis itself is tested in test_lint_properties;
here: the shape, that findings and their examples reach the caller, roles, auth, the decision day,
and that an edit through the API changes the answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from blueprint.models import Blueprint
from blueprint.services import operation_apply
from tests.accounts import api_token

pytestmark = pytest.mark.django_db

READERS = ("owner", "editor", "approver", "viewer")
FINDING_KEYS = {
    "day",
    "code",
    "level",
    "message",
    "stage",
    "offers",
    "example",
    "part",
    "group",
    "condition",
    "check",
    "stages",
}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def url(board: Blueprint, rest: str = "") -> str:
    return f"/api/v1/blueprints/{board.pk}/{rest}"


def lint_of(client: APIClient, board: Blueprint, query: str = "") -> dict[str, Any]:
    response = client.get(url(board, "lint/") + query)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def findings(body: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for level in ("errors", "warnings", "infos") for f in body[level] if f["code"] == code]


def assert_error(response: Any, status: int, field: str, text: str = "") -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert field in body["errors"], body
    messages = " ".join(body["errors"][field])
    assert text in messages, messages
    return messages


def holds(condition: dict[str, Any], profile: dict[str, Any], at: dt.date) -> bool:
    """The condition language for the operators these tests use; a missing attribute meets no condition."""
    if condition["attribute"] not in profile:
        return False
    value, wanted, operator = profile[condition["attribute"]], condition["value"], condition["operator"]
    if operator == "within_last_days":
        day = dt.date.fromisoformat(value)
        return at - dt.timedelta(days=wanted) <= day <= at
    if isinstance(wanted, str) and operator in ("at_least", "at_most"):
        value, wanted = dt.date.fromisoformat(value), dt.date.fromisoformat(wanted)
    return {
        "is": lambda: value == wanted,
        "is_one_of": lambda: value in wanted,
        "at_least": lambda: value >= wanted,
        "at_most": lambda: value <= wanted,
    }[operator]()


def matches(groups: list[list[dict[str, Any]]], profile: dict[str, Any], at: dt.date) -> bool:
    return any(all(holds(c, profile, at) for c in group) for group in groups)


def offer_groups(client: APIClient, board: Blueprint, key: str) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = client.get(url(board, f"offers/{key}/")).json()["groups"]
    return groups


# --- Shape -----------------------------------------------------------------------------------------


def test_the_lint_names_the_decision_day_the_rev_and_its_findings_by_level(
    board: Blueprint, as_role: Any
) -> None:
    before = timezone.localdate()
    body = lint_of(as_role("viewer"), board)
    assert set(body) == {"at", "rev", "errors", "warnings", "infos", "complete", "not_listed", "steps"}
    assert body["complete"] is True and body["not_listed"] == [] and body["steps"] >= 0
    assert body["at"] in {before.isoformat(), timezone.localdate().isoformat()}
    assert body["rev"] == board.rev
    assert body["errors"] == []
    assert [(f["code"], f["stage"]) for f in body["warnings"]] == [
        ("gap", "awareness"),
        ("stage-overlap", "onboarding"),  # both stages let everyone in
        ("gap", "onboarding"),
    ]
    assert [(f["code"], f["stage"], f["offers"]) for f in body["infos"]] == [
        ("overlap", "awareness", ["welcome", "gold_card"])
    ]
    for level, listed in (("warning", body["warnings"]), ("info", body["infos"])):
        for finding in listed:
            assert set(finding) == FINDING_KEYS
            assert finding["level"] == level
            assert finding["message"]


def test_an_overlap_comes_with_a_customer_both_offers_match(board: Blueprint, as_role: Any) -> None:
    client = as_role("viewer")
    body = lint_of(client, board, "?at=2025-03-01")
    (overlap,) = findings(body, "overlap")
    assert "“Welcome bonus” and “Gold card” can both match" in overlap["message"]
    assert overlap["part"] == "offer"
    example = overlap["example"]
    at = dt.date(2025, 3, 1)
    assert matches(offer_groups(client, board, "welcome"), example, at)
    assert matches(offer_groups(client, board, "gold_card"), example, at)


def test_a_gap_comes_with_a_customer_no_offer_of_the_stage_matches(board: Blueprint, as_role: Any) -> None:
    client = as_role("viewer")
    body = lint_of(client, board, "?at=2025-03-01")
    gaps = {f["stage"]: f for f in findings(body, "gap")}
    at = dt.date(2025, 3, 1)
    for stage, offers in (("awareness", ["welcome", "gold_card"]), ("onboarding", ["app_tour"])):
        gap = gaps[stage]
        assert gap["level"] == "warning" and gap["offers"] == [] and gap["example"] is not None
        assert "no fallback" in gap["message"]
        for offer in offers:
            assert not matches(offer_groups(client, board, offer), gap["example"], at)


# --- Edits change the answer -------------------------------------------------------------------------


def test_a_contradiction_made_through_the_api_is_an_error_until_it_is_mended(
    board: Blueprint, as_role: Any
) -> None:
    editor, viewer = as_role("editor"), as_role("viewer")
    rev = lint_of(viewer, board)["rev"]
    clash = [
        [
            {"attribute": "age", "operator": "at_least", "value": 50},
            {"attribute": "age", "operator": "at_most", "value": 30},
        ]
    ]
    created = editor.post(
        url(board, "stages/onboarding/offers/"),
        {"key": "pension", "name": "Pension check", "groups": clash},
        format="json",
    )
    assert created.status_code == 201, created.content

    body = lint_of(viewer, board)
    assert body["rev"] == created.json()["rev"] > rev
    (contradiction,) = body["errors"]
    assert contradiction["code"] == "contradiction" and contradiction["level"] == "error"
    assert contradiction["stage"] == "onboarding" and contradiction["offers"] == ["pension"]
    assert (contradiction["part"], contradiction["group"], contradiction["example"]) == ("offer", 0, None)
    assert "Age is at least 50" in contradiction["message"]
    assert "Age is at most 30" in contradiction["message"]

    mended = editor.patch(
        url(board, "offers/pension/"),
        {"groups": [[{"attribute": "age", "operator": "at_least", "value": 50}]]},
        format="json",
    )
    assert mended.status_code == 200, mended.content
    body = lint_of(viewer, board)
    assert body["rev"] == mended.json()["rev"] > created.json()["rev"]
    assert body["errors"] == []
    assert ["app_tour", "pension"] in [f["offers"] for f in findings(body, "overlap")]


def test_a_duplicate_offer_names_both_and_shows_a_customer_they_share(board: Blueprint, as_role: Any) -> None:
    editor = as_role("editor")
    groups = [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]]
    response = editor.post(
        url(board, "stages/awareness/offers/"),
        {"key": "welcome_again", "name": "Hello", "groups": groups},
        format="json",
    )
    assert response.status_code == 201, response.content
    (duplicate,) = lint_of(editor, board, "?at=2025-03-01")["errors"]
    assert duplicate["code"] == "duplicate-offer"
    assert duplicate["offers"] == ["welcome_again", "welcome"]
    assert matches(groups, duplicate["example"], dt.date(2025, 3, 1))


def test_a_fallback_closes_the_gap_of_its_stage(board: Blueprint, as_role: Any) -> None:
    editor = as_role("editor")
    response = editor.post(
        url(board, "stages/onboarding/offers/"),
        {"key": "hello", "name": "Hello", "fallback": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert [f["stage"] for f in findings(lint_of(editor, board), "gap")] == ["awareness"]


def test_reading_the_lint_changes_nothing(board: Blueprint, as_role: Any) -> None:
    client = as_role("owner")
    lint_of(client, board)
    assert Blueprint.objects.get(pk=board.pk).rev == board.rev
    assert_error(client.post(url(board, "lint/"), {}, format="json"), 405, "method")


# --- The decision day --------------------------------------------------------------------------------


@pytest.fixture
def logins(board: Blueprint, as_role: Any) -> Blueprint:
    """A stage "retention" with recent (last login within 30 days) above lapsed (on or before 2024-06-01)."""
    editor = as_role("editor")
    assert (
        editor.post(
            url(board, "stages/"), {"key": "retention", "name": "Retention"}, format="json"
        ).status_code
        == 201
    )
    for key, condition in (
        ("recent", {"attribute": "last_login", "operator": "within_last_days", "value": 30}),
        ("lapsed", {"attribute": "last_login", "operator": "at_most", "value": "2024-06-01"}),
    ):
        body = {"key": key, "name": key.title(), "groups": [[condition]]}
        assert editor.post(url(board, "stages/retention/offers/"), body, format="json").status_code == 201
    return board


def test_the_decision_day_places_within_last_days_on_the_calendar(logins: Blueprint, as_role: Any) -> None:
    client = as_role("viewer")
    body = lint_of(client, logins, "?at=2024-06-15")
    assert body["at"] == "2024-06-15"
    (overlap,) = [f for f in findings(body, "overlap") if f["stage"] == "retention"]
    assert overlap["offers"] == ["recent", "lapsed"]
    last_login = dt.date.fromisoformat(overlap["example"]["last_login"])
    assert dt.date(2024, 5, 16) <= last_login <= dt.date(2024, 6, 1)

    later = lint_of(client, logins, "?at=2024-08-01")
    assert later["at"] == "2024-08-01"
    assert [f for f in findings(later, "overlap") if f["stage"] == "retention"] == []


@pytest.mark.parametrize("day", ["1900-01-01", "1970-01-01", "2024-02-29", "2999-12-31"])
def test_any_day_of_the_range_is_a_decision_day(logins: Blueprint, as_role: Any, day: str) -> None:
    body = lint_of(as_role("viewer"), logins, f"?at={day}")
    assert body["at"] == day
    assert {f["stage"] for f in findings(body, "gap")} >= {"awareness", "onboarding"}


def test_no_decision_day_means_today(board: Blueprint, as_role: Any) -> None:
    body = lint_of(as_role("viewer"), board, "")
    assert body["at"] in {
        timezone.localdate().isoformat(),
        (timezone.localdate() - dt.timedelta(1)).isoformat(),
    }


OUT_OF_RANGE = "YYYY-MM-DD (from 1900-01-01 to 2999-12-31)"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        ("", "Give a value, or leave the option out for its default."),
        ("0001-01-01", OUT_OF_RANGE),
        ("1899-12-31", OUT_OF_RANGE),
        ("3000-01-01", OUT_OF_RANGE),
        ("9999-12-31", OUT_OF_RANGE),
    ],
)
def test_an_empty_decision_day_or_one_out_of_range_is_refused(
    board: Blueprint, as_role: Any, day: str, text: str
) -> None:
    assert_error(as_role("viewer").get(url(board, "lint/"), {"at": day}), 400, "at", text)


@pytest.mark.parametrize(
    "day",
    [
        "yesterday",
        "2024-6-1",
        "20240601",
        "2024-06-01T10:00",
        "2024-13-01",
        "2023-02-29",
        "0000-01-01",
        "٢٠٢٤-٠١-٠١",
    ],
)
def test_a_bad_decision_day_is_refused_naming_at_and_the_form(
    board: Blueprint, as_role: Any, day: str
) -> None:
    response = as_role("viewer").get(url(board, "lint/"), {"at": day})
    assert_error(response, 400, "at", "YYYY-MM-DD")


# --- Who may read it -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_every_member_reads_the_same_lint(board: Blueprint, as_role: Any, role: str) -> None:
    assert lint_of(as_role(role), board, "?at=2025-03-01") == lint_of(
        as_role("owner"), board, "?at=2025-03-01"
    )


def test_a_stranger_gets_the_same_404_as_for_the_blueprint(board: Blueprint, as_role: Any) -> None:
    stranger = as_role("stranger")
    response = stranger.get(url(board, "lint/"))
    assert_error(response, 404, "blueprint")
    assert response.json() == stranger.get(url(board)).json()


def test_an_unknown_blueprint_is_404(board: Blueprint, as_role: Any) -> None:
    assert_error(as_role("owner").get(f"/api/v1/blueprints/{board.pk + 1000}/lint/"), 404, "blueprint")
    assert_error(as_role("owner").get("/api/v1/blueprints/abc/lint/"), 404, "path")


def test_an_anonymous_caller_is_asked_to_log_in(board: Blueprint) -> None:
    response = APIClient().get(url(board, "lint/"))
    assert_error(response, 401, "Authorization")
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_is_enough_to_read_the_lint(board: Blueprint, users: dict[str, Any]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(users['viewer'])}")
    body = lint_of(client, board)
    assert body["rev"] == board.rev and len(body["warnings"]) == 3


def test_the_schema_documents_the_path_and_its_decision_day(board: Blueprint, as_role: Any) -> None:
    schema = as_role("viewer").get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/blueprints/{blueprint_id}/lint/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"blueprint_id", "at"}
    assert set(operation["responses"]) == {"200", "400", "401", "404", "429"}


def test_the_lint_api_gives_a_gap_example_the_catalog_allows(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    # the same through the one edit path and GET …/lint/
    ops: list[tuple[str, dict[str, Any]]] = [
        (
            "attribute.create",
            {"key": "channel", "label": "Channel", "type": "text", "choices": ["web", "app", "email"]},
        ),
        ("stage.create", {"key": "s", "name": "Stage"}),
        (
            "offer.create",
            {
                "stage": "s",
                "key": "web_offer",
                "name": "Web offer",
                "groups": [[{"attribute": "channel", "operator": "is", "value": "web"}]],
            },
        ),
    ]
    for op_type, payload in ops:
        operation_apply(blueprint_id=blueprint.pk, actor=users["editor"], op_type=op_type, payload=payload)
    client = APIClient()
    client.force_login(users["viewer"])
    body = client.get(f"/api/v1/blueprints/{blueprint.pk}/lint/?at=2025-06-15").json()
    (gap,) = [f for f in body["warnings"] if f["code"] == "gap"]
    assert gap["example"].get("channel") in (None, "app", "email"), gap["example"]


# --- What the lint's budget leaves (issue 14 §2) ---------------------------------------------------


def lint_cache_clear() -> None:
    from blueprint.selectors import lint_cache

    lint_cache.clear()


@pytest.fixture
def fresh_lint() -> Any:
    """The lint cache keyed by content and day: emptied, so a changed budget is used."""
    lint_cache_clear()
    yield
    lint_cache_clear()


def test_a_check_the_budget_stopped_is_an_unchecked_finding_and_the_lint_says_it_is_not_complete(
    board: Blueprint, as_role: Any, monkeypatch: pytest.MonkeyPatch, fresh_lint: Any
) -> None:
    from decisioning import lint as lint_core

    monkeypatch.setattr(lint_core, "LINT_STEPS", 0)
    body = lint_of(as_role("viewer"), board)
    assert body["complete"] is False and body["steps"] == 0
    errors = [(f["code"], f["check"], f["stage"], f["offers"]) for f in body["errors"]]
    assert errors == [
        ("unchecked", "shadowed-offer", "awareness", ["welcome", "gold_card"]),
        ("unchecked", "shadowed-offer", "onboarding", ["app_tour"]),
    ]
    assert [(f["code"], f["check"]) for f in body["warnings"]] == [
        ("unchecked", "gap"),
        ("stage-overlap", None),  # the stages' overlap needs no budget: both let everyone in
        ("unchecked", "gap"),
    ]
    unchecked = [f for f in body["errors"] + body["warnings"] if f["code"] == "unchecked"]
    assert len(unchecked) == 4 and all(f["example"] is None for f in unchecked)


def test_publishing_is_refused_while_a_check_for_errors_did_not_finish(
    board: Blueprint, as_role: Any, monkeypatch: pytest.MonkeyPatch, fresh_lint: Any
) -> None:
    from decisioning import lint as lint_core

    editor = as_role("editor")
    monkeypatch.setattr(lint_core, "LINT_STEPS", 0)
    refused = editor.post(url(board, "versions/"), {"note": "now"}, format="json")
    assert refused.status_code == 400, refused.content
    problems = refused.json()["errors"]
    assert any("too complex to check in full" in message for message in problems["lint"])
    assert any("Publishing is refused until it is" in message for message in problems["lint"])
    # with the budget back, the same board publishes (it has only warnings)
    monkeypatch.setattr(lint_core, "LINT_STEPS", 3_000_000)
    lint_cache_clear()
    published = editor.post(url(board, "versions/"), {"note": "now"}, format="json")
    assert published.status_code == 201, published.content


def test_overlaps_beyond_the_listed_ones_are_counted_per_stage(
    board: Blueprint, as_role: Any, monkeypatch: pytest.MonkeyPatch, fresh_lint: Any
) -> None:
    from decisioning import lint as lint_core

    monkeypatch.setattr(lint_core, "OVERLAPS_LISTED", 0)
    body = lint_of(as_role("viewer"), board)
    assert body["infos"] == [] and body["complete"] is True
    assert body["not_listed"] == [
        {
            "stage": "awareness",
            "code": "overlap",
            "level": "info",
            "found": 1,
            "listed": 0,
            "message": "Overlaps in “Awareness”: 1 pair of offers can meet the same customer; "
            "none is listed, 1 more is not.",
        }
    ]
