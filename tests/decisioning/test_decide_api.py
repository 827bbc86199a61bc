"""The decide API (docs/architecture.md, "Decisions"): ``decide/``, ``decide/batch/`` (JSON, CSV,
Parquet; streamed), ``coverage/`` and ``decide/sql/`` — version selection, roles, every bad input
named, and bad rows that do not stop the good ones.

The ``board`` fixture: awareness [welcome (visits_30d at least 3), gold_card (segment is one of
Gold, Platinum)], onboarding [app_tour (has_app is true)].
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Version
from blueprint.services import operation_apply, version_approve, version_publish
from decisioning import batch
from decisioning.engine import cache_clear

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # the compiled versions are cached per process; test databases reuse ids
    cache_clear()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


def url(board: Blueprint, rest: str) -> str:
    return f"/api/v1/blueprints/{board.pk}/{rest}"


def publish(board: Blueprint, users: dict[str, Any], *, live: bool = True) -> Version:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="test")
    if live:
        version = version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    return version


def decide(client: APIClient, board: Blueprint, body: dict[str, Any]) -> Any:
    return client.post(url(board, "decide/"), body, format="json")


def assert_error(response: Any, status: int, field: str, text: str = "") -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert field in body["errors"], body
    assert text in " ".join(body["errors"][field]), body


GOLD_VISITOR = {"segment": "Gold", "visits_30d": 5, "has_app": True}


# --- decide: versions and roles -------------------------------------------------------------------


def test_without_a_live_version_decide_is_a_conflict_naming_version(as_role, board):
    assert_error(decide(as_role("viewer"), board, {"profile": {}}), 409, "version", "no live version")


def test_the_live_version_decides_by_default_and_the_answer_names_it(as_role, board, users):
    publish(board, users)
    response = decide(as_role("viewer"), board, {"profile": GOLD_VISITOR, "at": "2025-06-15"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "version": {"number": 1},
        "at": "2025-06-15",
        "decisions": [
            {
                "stage": "awareness",
                "entered": True,
                "offer": "welcome",
                "fallback": False,
                "eligible": ["welcome", "gold_card"],
            },
            {
                "stage": "onboarding",
                "entered": True,
                "offer": "app_tour",
                "fallback": False,
                "eligible": ["app_tour"],
            },
        ],
    }


def test_a_published_version_keeps_its_rules_while_the_draft_changes(as_role, board, users):
    publish(board, users)
    operation_apply(
        blueprint_id=board.pk,
        actor=users["editor"],
        op_type="offer.move",
        payload={"key": "gold_card", "stage": "awareness", "before": "welcome"},
    )
    viewer, editor = as_role("viewer"), as_role("editor")
    live = decide(viewer, board, {"profile": GOLD_VISITOR, "stage": "awareness"}).json()
    assert live["decisions"][0]["offer"] == "welcome"
    draft = decide(editor, board, {"profile": GOLD_VISITOR, "stage": "awareness", "version": "draft"}).json()
    assert draft["decisions"][0]["offer"] == "gold_card"
    board.refresh_from_db()
    assert draft["version"] == {"draft": True, "rev": board.rev}


def test_any_member_may_name_a_published_version_whatever_its_status(as_role, board, users):
    publish(board, users, live=False)
    for role in ("owner", "editor", "approver", "viewer"):
        response = decide(as_role(role), board, {"profile": {}, "version": 1})
        assert response.status_code == 200, (role, response.content)
        assert response.json()["version"] == {"number": 1}
    assert_error(
        decide(as_role("viewer"), board, {"profile": {}, "version": 7}), 404, "version", "no version 7"
    )


def test_only_owners_and_editors_may_decide_with_the_draft(as_role, board):
    for role in ("owner", "editor"):
        assert decide(as_role(role), board, {"profile": {}, "version": "draft"}).status_code == 200
    for role in ("approver", "viewer"):
        assert_error(decide(as_role(role), board, {"profile": {}, "version": "draft"}), 403, "version")


def test_strangers_get_404_and_the_anonymous_401(as_role, board, users):
    publish(board, users)
    assert_error(decide(as_role("stranger"), board, {"profile": {}}), 404, "blueprint")
    response = APIClient().post(url(board, "decide/"), {"profile": {}}, format="json")
    assert response.status_code == 401


def test_a_drafts_edit_is_seen_by_the_next_draft_decision(as_role, board, users):
    editor = as_role("editor")
    assert (
        decide(editor, board, {"profile": {"has_app": True}, "version": "draft"}).json()["decisions"][1][
            "offer"
        ]
        == "app_tour"
    )
    operation_apply(
        blueprint_id=board.pk, actor=users["editor"], op_type="offer.delete", payload={"key": "app_tour"}
    )
    assert (
        decide(editor, board, {"profile": {"has_app": True}, "version": "draft"}).json()["decisions"][1][
            "offer"
        ]
        is None
    )


# --- decide: bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({}, "profile", "profile"),
        ({"profile": []}, "profile", ""),
        ({"profile": {"visits_30d": "many"}}, "profile.visits_30d", "JSON number"),
        ({"profile": {"segment": "Tin"}}, "profile.segment", "not a choice"),
        ({"profile": {"last_login": "yesterday"}}, "profile.last_login", "YYYY-MM-DD"),
        ({"profile": {"products": "savings"}}, "profile.products", "list"),
        ({"profile": {}, "stage": "nowhere"}, "stage", "awareness, onboarding"),
        ({"profile": {}, "stage": 3}, "stage", ""),
        ({"profile": {}, "at": "30/06/2025"}, "at", "YYYY-MM-DD"),
        ({"profile": {}, "at": 20250630}, "at", ""),
        ({"profile": {}, "version": "latest"}, "version", "draft"),
        ({"profile": {}, "version": 0}, "version", ""),
        ({"profile": {}, "version": True}, "version", ""),
        ({"profile": {}, "explain": "sure"}, "explain", "true or false"),
        ({"profile": {}, "shoe": 1}, "shoe", "Unknown field"),
    ],
)
def test_bad_input_is_refused_naming_the_field(as_role, board, users, body, field, text):
    publish(board, users)
    assert_error(decide(as_role("viewer"), board, body), 400, field, text)


def test_every_bad_profile_field_is_named_at_once(as_role, board, users):
    publish(board, users)
    response = decide(as_role("viewer"), board, {"profile": {"visits_30d": "x", "has_app": "yes", "age": 30}})
    assert_error(response, 400, "profile.visits_30d")
    assert set(response.json()["errors"]) == {"profile.visits_30d", "profile.has_app"}


def test_an_at_with_a_time_is_its_day_in_the_servers_time_zone(as_role, board, users, settings):
    publish(board, users)
    response = decide(as_role("viewer"), board, {"profile": {}, "at": "2025-06-30T23:30:00-02:00"})
    assert response.json()["at"] == "2025-07-01"  # TIME_ZONE is UTC


def test_explain_gives_every_offer_and_why_not(as_role, board, users):
    publish(board, users)
    body = decide(
        as_role("viewer"), board, {"profile": {"segment": "Gold", "visits_30d": 1}, "explain": True}
    ).json()
    awareness = body["decisions"][0]
    assert awareness["offer"] == "gold_card"
    welcome = awareness["explain"]["offers"][0]
    assert welcome["why_not"]["change"] == {"visits_30d": 3}
    assert welcome["groups"][0]["conditions"][0]["actual"] == 1
    onboarding = body["decisions"][1]["explain"]["offers"][0]
    assert onboarding["why_not"]["failed"][0]["missing"] is True
    assert body["skipped"] == []


# --- batch -----------------------------------------------------------------------------------------------


def streamed(response: Any) -> bytes:
    assert response.status_code == 200, response.content if not response.streaming else response.status_code
    return b"".join(response.streaming_content)


PROFILES = [GOLD_VISITOR, {"visits_30d": "x"}, {"segment": "Silver"}, {"has_app": True, "segment": "Tin"}, {}]


def test_a_json_batch_answers_every_profile_in_order_and_bad_rows_do_not_stop_the_others(
    as_role, board, users
):
    publish(board, users)
    response = as_role("viewer").post(
        url(board, "decide/batch/"), {"profiles": PROFILES, "at": "2025-06-15"}, format="json"
    )
    body = json.loads(streamed(response))
    assert body["version"] == {"number": 1} and body["at"] == "2025-06-15"
    results = body["results"]
    assert [r["row"] for r in results] == [1, 2, 3, 4, 5]
    assert [d["offer"] for d in results[0]["decisions"]] == ["welcome", "app_tour"]
    assert results[1]["error"]["errors"] == {
        "visits_30d": ["Expected a JSON number such as 42 or 2.5; got the text 'x'."]
    }
    assert results[1]["error"]["detail"].startswith("Row 2: visits_30d:")
    assert [d["offer"] for d in results[2]["decisions"]] == [None, None]
    assert set(results[3]["error"]["errors"]) == {"segment"}
    # each answer is the single decide's
    single = decide(as_role("viewer"), board, {"profile": PROFILES[0], "at": "2025-06-15"}).json()
    assert results[0]["decisions"] == single["decisions"]


def write_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["segment", "visits_30d", "has_app", "products", "last_login"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


CSV_ROWS = [
    {"segment": "Gold", "visits_30d": "5", "has_app": "yes"},
    {"visits_30d": "many"},
    {"segment": "Platinum", "products": "savings|mortgage", "has_app": "0"},
    {"last_login": "2025-06-01T10:00:00Z"},
]
EXPECTED_CSV = [
    [
        "row",
        "error",
        "awareness.entered",
        "awareness.offer",
        "awareness.fallback",
        "awareness.eligible",
        "onboarding.entered",
        "onboarding.offer",
        "onboarding.fallback",
        "onboarding.eligible",
    ],
    ["1", "", "true", "welcome", "false", "welcome|gold_card", "true", "app_tour", "false", "app_tour"],
    ["2", "visits_30d: Expected a number such as 42 or 2.5; got 'many'.", "", "", "", "", "", "", "", ""],
    ["3", "", "true", "gold_card", "false", "gold_card", "true", "", "false", ""],
    ["4", "", "true", "", "false", "", "true", "", "false", ""],
]


def test_a_csv_batch_answers_csv_row_by_row(as_role, board, users):
    publish(board, users)
    client = as_role("viewer")
    response = client.generic(
        "POST", url(board, "decide/batch/?format=csv"), write_csv(CSV_ROWS), content_type="text/csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(streamed(response).decode()))) == EXPECTED_CSV
    # the Accept header asks the same
    again = client.generic(
        "POST",
        url(board, "decide/batch/"),
        write_csv(CSV_ROWS),
        content_type="text/csv",
        HTTP_ACCEPT="text/csv",
    )
    assert list(csv.reader(io.StringIO(streamed(again).decode()))) == EXPECTED_CSV


def test_a_big_csv_goes_through_duckdb_with_the_same_answers(as_role, board, users, monkeypatch):
    publish(board, users)
    monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    called = []
    real = batch.duckdb_file
    monkeypatch.setattr(batch, "duckdb_file", lambda *a, **k: called.append(1) or real(*a, **k))
    response = as_role("viewer").generic(
        "POST", url(board, "decide/batch/?format=csv"), write_csv(CSV_ROWS), content_type="text/csv"
    )
    assert list(csv.reader(io.StringIO(streamed(response).decode()))) == EXPECTED_CSV
    assert called == [1]


def test_a_csv_batch_can_answer_json_with_explanations_and_options_in_the_query(as_role, board, users):
    publish(board, users)
    response = as_role("viewer").generic(
        "POST",
        url(board, "decide/batch/?stage=onboarding&explain=true&at=2025-06-15"),
        write_csv(CSV_ROWS),
        content_type="text/csv",
    )
    body = json.loads(streamed(response))
    assert [r["row"] for r in body["results"]] == [1, 2, 3, 4]
    assert body["results"][0]["decisions"][0]["offer"] == "app_tour"
    assert "explain" in body["results"][0]["decisions"][0]
    assert "error" in body["results"][1]


def test_a_parquet_batch_answers_parquet(as_role, board, users, tmp_path):
    publish(board, users)
    con = duckdb.connect()
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('Gold', 5, true), (NULL, 1, NULL)) t(segment, visits_30d, has_app)) TO '{source}' (FORMAT parquet)"
    )
    response = as_role("viewer").generic(
        "POST",
        url(board, "decide/batch/?format=parquet"),
        source.read_bytes(),
        content_type="application/vnd.apache.parquet",
    )
    target.write_bytes(streamed(response))
    rows = con.execute(
        f'SELECT row, "awareness.offer", "onboarding.offer" FROM \'{target}\' ORDER BY row'
    ).fetchall()
    assert rows == [(1, "welcome", "app_tour"), (2, None, None)]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "field"),
    [
        ("decide/batch/", {"profiles": "all of them"}, "application/json", "profiles"),
        ("decide/batch/", {"profiles": [], "explain": True}, "application/json", None),
        ("decide/batch/?format=xml", b"a\n", "text/csv", "format"),
        ("decide/batch/?format=csv&explain=true", b"a\n", "text/csv", "explain"),
        ("decide/batch/?colour=red", b"a\n", "text/csv", "colour"),
        ("decide/batch/?stage=nowhere", b"a\n", "text/csv", "stage"),
        ("decide/batch/?format=csv", b"\xff\xfe\x00bad", "text/csv", "body"),
        ("decide/batch/", b"not parquet", "application/vnd.apache.parquet", "body"),
        ("coverage/", {"profiles": []}, "application/json", "Content-Type"),
    ],
)
def test_bad_batch_requests_are_refused_naming_the_field(
    as_role, board, users, path, body, content_type, field
):
    publish(board, users)
    client = as_role("viewer")
    if isinstance(body, dict):
        response = client.post(url(board, path), body, format="json")
    else:
        response = client.generic("POST", url(board, path), body, content_type=content_type)
    if field is None:
        assert json.loads(streamed(response))["results"] == []
        return
    assert_error(response, 400, field)


def test_a_body_over_the_cap_is_refused_saying_the_limit(as_role, board, users, settings):
    publish(board, users)
    settings.DECIDE_BATCH_MAX_BYTES = 100
    response = as_role("viewer").generic(
        "POST", url(board, "decide/batch/"), b"segment\n" + b"Gold\n" * 50, content_type="text/csv"
    )
    assert_error(response, 413, "body", "at most 100 bytes")


# --- coverage and the SQL export -----------------------------------------------------------------------------


def test_coverage_counts_each_offer_the_gaps_and_the_bad_rows(as_role, board, users):
    publish(board, users)
    rows = [
        {"visits_30d": "5"},
        {"visits_30d": "5", "has_app": "true"},
        {"segment": "Gold"},
        {"segment": "Silver"},
        {"visits_30d": "oops"},
    ]
    response = as_role("viewer").generic(
        "POST", url(board, "coverage/"), write_csv(rows), content_type="text/csv"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["bad_rows"]) == (5, 1)
    assert body["errors"] == [
        {"row": 5, "error": "visits_30d: Expected a number such as 42 or 2.5; got 'oops'."}
    ]
    awareness, onboarding = body["stages"]
    assert {o["offer"]: o["count"] for o in awareness["offers"]} == {"welcome": 2, "gold_card": 1}
    assert (awareness["entered"], awareness["none"], awareness["not_entered"]) == (4, 1, 0)
    assert {o["offer"]: o["count"] for o in onboarding["offers"]} == {"app_tour": 1}
    assert onboarding["none"] == 3


def test_the_sql_of_a_version_is_exported_with_its_dialect(as_role, board, users):
    publish(board, users)
    response = as_role("viewer").get(url(board, "decide/sql/?at=2025-06-15"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/sql")
    text = response.content.decode()
    assert "-- Dialect: " in text and "version 1" in text and "the decision day 2025-06-15" in text
    assert "CASE WHEN" in text
    assert_error(as_role("viewer").get(url(board, "decide/sql/?version=draft")), 403, "version")
    assert_error(as_role("viewer").get(url(board, "decide/sql/?at=soon")), 400, "at")


def test_profiles_that_are_not_objects_and_ragged_csv_rows_get_row_errors(as_role, board, users):
    publish(board, users)
    client = as_role("viewer")
    body = json.loads(
        streamed(
            client.post(url(board, "decide/batch/"), {"profiles": [1, "x", None, [], {}]}, format="json")
        )
    )
    assert [("error" in r) for r in body["results"]] == [True, True, True, True, False]
    assert body["results"][0]["error"]["errors"] == {
        "profile": ["Expected an object: attribute key → value."]
    }
    ragged = b"segment,visits_30d\nGold,5,extra\nGold\n"
    response = client.generic("POST", url(board, "decide/batch/?format=csv"), ragged, content_type="text/csv")
    rows = list(csv.reader(io.StringIO(streamed(response).decode())))
    assert rows[1][:2] == ["1", "row: The row has 3 cells; the header has 2."]
    assert rows[2][:4] == ["2", "", "true", "gold_card"]  # a short row: the rest is missing


def test_a_row_with_trailing_empty_cells_is_decided_alike_by_both_paths(as_role, board, users, monkeypatch):
    # a spreadsheet's export often ends rows with separators: DuckDB reads such a row as its first
    # cells, and so does the row-by-row path; a surplus cell with anything in it is still an error
    publish(board, users)
    client = as_role("viewer")
    body = b"segment,visits_30d\n" + b"Silver,2\n" * 30_000 + b'Gold,5\nGold,5,\nGold,5,,""\nGold,5,,x\n'

    def decided() -> list[list[str]]:
        response = client.generic(
            "POST", url(board, "decide/batch/?format=csv"), body, content_type="text/csv"
        )
        return list(csv.reader(io.StringIO(streamed(response).decode())))

    by_rows = decided()
    plain = by_rows[-4]
    assert plain[:2] == ["30001", ""] and "true" in plain
    assert by_rows[-3] == ["30002", *plain[1:]]
    assert by_rows[-2] == ["30003", *plain[1:]]
    assert by_rows[-1][:2] == ["30004", "row: The row has 4 cells; the header has 2."]
    monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    assert decided() == by_rows
    trailing_only = body.rsplit(b"Gold,5,,x\n", 1)[0]  # DuckDB itself reads this one
    response = client.generic(
        "POST", url(board, "decide/batch/?format=csv"), trailing_only, content_type="text/csv"
    )
    assert list(csv.reader(io.StringIO(streamed(response).decode()))) == by_rows[:-1]
    counted = client.generic("POST", url(board, "coverage/"), trailing_only, content_type="text/csv")
    assert (counted.json()["rows"], counted.json()["bad_rows"]) == (30_003, 0)


def test_a_big_csv_with_ragged_rows_gets_the_same_row_errors_as_a_small_one(
    as_role, board, users, monkeypatch, tmp_path
):
    # DuckDB refuses a file with a row wider than its header; the batch (Parquet answers included)
    # and the coverage then read it row by row, as they read a small body
    publish(board, users)
    client = as_role("viewer")
    ragged = b"segment,visits_30d\nGold,5,extra\nGold\n" + b"Silver,2\n" * 30_000 + b"Gold,1,2,3\n"
    small = client.generic("POST", url(board, "decide/batch/?format=csv"), ragged, content_type="text/csv")
    expected = list(csv.reader(io.StringIO(streamed(small).decode())))
    monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    big = client.generic("POST", url(board, "decide/batch/?format=csv"), ragged, content_type="text/csv")
    assert list(csv.reader(io.StringIO(streamed(big).decode()))) == expected
    assert expected[1][:2] == ["1", "row: The row has 3 cells; the header has 2."]
    assert expected[-1][:2] == ["30003", "row: The row has 4 cells; the header has 2."]
    assert expected[2][:4] == ["2", "", "true", "gold_card"]
    as_parquet = client.generic(
        "POST", url(board, "decide/batch/?format=parquet"), ragged, content_type="text/csv"
    )
    (tmp_path / "answers.parquet").write_bytes(streamed(as_parquet))
    read_back = duckdb.sql(f"SELECT * FROM '{tmp_path / 'answers.parquet'}'").fetchall()
    as_text = [
        ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in r] for r in read_back
    ]
    assert as_text == expected[1:]
    counted = client.generic("POST", url(board, "coverage/"), ragged, content_type="text/csv")
    assert counted.status_code == 200, counted.content
    body = counted.json()
    assert (body["rows"], body["bad_rows"]) == (30_003, 2)
    assert [e["row"] for e in body["errors"]] == [1, 30_003]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["Gold", "2025-06-15", "2025-06-15T10:00:00Z", "savings", "draft", "live"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["segment", "age", "visits_30d", "last_login", "has_app", "products", "channel", "city", "other"]
)
ANY_PROFILES = st.dictionaries(KEYS, JSON_VALUES, max_size=6) | JSON_VALUES


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    profile=ANY_PROFILES,
    extra=st.dictionaries(st.sampled_from(["stage", "at", "version", "explain"]), JSON_VALUES, max_size=4),
)
def test_no_decide_body_is_a_server_error(as_role, board, users, profile, extra):
    if not Version.objects.filter(blueprint=board).exists():
        publish(board, users)
    for role in ("editor", "viewer"):
        response = decide(as_role(role), board, {"profile": profile, **extra})
        assert response.status_code in (200, 400, 403, 404, 409), response.content
        body = response.json()
        if response.status_code == 200:
            assert set(body) >= {"version", "at", "decisions"}
        else:
            assert set(body) == {"detail", "errors"} and body["errors"], body


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ANY_PROFILES, max_size=5), csv_text=st.text(max_size=200))
def test_no_batch_body_is_a_server_error(as_role, board, users, rows, csv_text):
    if not Version.objects.filter(blueprint=board).exists():
        publish(board, users)
    client = as_role("viewer")
    response = client.post(url(board, "decide/batch/"), {"profiles": rows}, format="json")
    if response.status_code == 400:  # text the parser refuses (a NUL, a lone surrogate)
        assert set(response.json()) == {"detail", "errors"}
    else:
        assert len(json.loads(streamed(response))["results"]) == len(rows)
    response = client.generic(
        "POST", url(board, "decide/batch/?format=csv"), csv_text.encode(), content_type="text/csv"
    )
    assert response.status_code in (200, 400), response
    if response.status_code == 200:
        b"".join(response.streaming_content)
