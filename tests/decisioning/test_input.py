"""Bad input to the decisioning API and pages gets a quick, clear 4xx naming what to fix, or, in a
batch, an error of the row it is about: CSV and Parquet files that break the dialect or cannot be
read, decision days out of range, empty or unknown options, JSON nested too deeply, and values at
the edges of what dates and numbers hold. A fault while an answer streams ends it in a well-formed
way that says so; nothing answers 500 or hangs.

The ``board`` fixture: awareness [welcome (visits_30d at least 3), gold_card (segment is one of
Gold, Platinum)], onboarding [app_tour (has_app is true)].
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any
from urllib.parse import quote

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.services import operation_apply
from decisioning import batch, duckdb_run
from decisioning.api import streamed as streamed_answer
from decisioning.engine import CompiledVersion, cache_clear
from decisioning.errors import InvalidInput
from decisioning.selectors import AT_MAX, AT_MIN, MOMENT_PATTERN, decision_day
from tests.decisioning.test_decide_api import assert_error, client_for, publish, streamed, url

pytestmark = pytest.mark.django_db

HEADER = b"segment,visits_30d,city\n"


def csv_answer(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(streamed(response).decode(), newline="")))


def post_csv(client: Any, board: Any, path: str, body: bytes) -> Any:
    return client.generic("POST", url(board, path), body, content_type="text/csv")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache_clear()  # the compiled versions are cached per process; test databases reuse ids


@pytest.fixture
def as_role(users: dict[str, Any]) -> Any:
    return lambda role: client_for(users[role])


@pytest.fixture
def live(board: Any, users: Any) -> Any:
    publish(board, users)
    return board


# --- CSV: every problem a 400 before the answer, or an error of its row -----------------------------


@pytest.mark.parametrize("big", [False, True], ids=["row by row", "duckdb"])
def test_a_cell_over_128_kib_is_an_error_of_its_row_and_the_others_are_answered(
    as_role, live, monkeypatch, big
):
    if big:
        monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    body = HEADER + b"Gold,5,a\n" + b"Gold,5," + b"x" * 140_000 + b"\nSilver,1,b\n"
    client = as_role("viewer")
    rows = csv_answer(post_csv(client, live, "decide/batch/?format=csv&at=2025-06-15", body))
    assert [r[:2] for r in rows[1:]] == [
        ["1", ""],
        ["2", "row: The row is longer than 131,072 characters; split its text."],
        ["3", ""],
    ]
    results = json.loads(streamed(post_csv(client, live, "decide/batch/", body)))["results"]
    assert [("error" in r) for r in results] == [False, True, False]
    counted = post_csv(client, live, "coverage/", body)
    assert counted.status_code == 200 and counted.json()["bad_rows"] == 1


def test_a_big_csv_with_a_quote_left_open_answers_every_row_before_it(as_role, live, monkeypatch):
    # a big body: DuckDB's reader refuses it, the rows are read one by one, and the quote's row runs to the end
    monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    body = HEADER + b"Gold,5,a\n" * 3 + b'Silver,1,"open\n' + b"Gold,5,b\n" * 20_000
    client = as_role("viewer")
    rows = csv_answer(post_csv(client, live, "decide/batch/?format=csv", body))
    assert [r[:2] for r in rows[1:]] == [
        ["1", ""],
        ["2", ""],
        ["3", ""],
        [
            "4",
            'row: Cell 3 opens a quote (") that is never closed, so the row runs to the end of the file; '
            'close it, doubling the quotes inside ("").',
        ],
    ]
    counted = post_csv(client, live, "coverage/", body)
    assert counted.status_code == 200, counted.content
    assert (counted.json()["rows"], counted.json()["bad_rows"]) == (4, 1)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"", "The CSV is empty"),
        (b"segment,segment\nGold,Gold\n", "names the column 'segment' twice"),
        (b"\xef\xbb\xbf\xff", "not UTF-8"),
    ],
)
@pytest.mark.parametrize("path", ["decide/batch/?format=csv", "decide/batch/", "coverage/"])
def test_a_csv_that_cannot_be_read_at_all_is_refused_before_any_answer(as_role, live, body, text, path):
    assert_error(post_csv(as_role("viewer"), live, path, body), 400, "body", text)


def test_a_header_alone_is_a_batch_of_no_rows(as_role, live):
    assert csv_answer(post_csv(as_role("viewer"), live, "decide/batch/?format=csv", HEADER))[1:] == []
    counted = post_csv(as_role("viewer"), live, "coverage/", HEADER)
    assert counted.json()["rows"] == 0


def test_a_csv_duckdb_does_not_read_gets_parquet_answers_row_by_row(as_role, live, monkeypatch, tmp_path):
    # one column (DuckDB would read its blank lines as rows): read row by row, answered as Parquet
    monkeypatch.setattr(batch, "DUCKDB_FROM_BYTES", 1)
    response = post_csv(as_role("viewer"), live, "decide/batch/?format=parquet", b"segment\nGold\n\nTin\n")
    (tmp_path / "a.parquet").write_bytes(streamed(response))
    rows = duckdb.sql(f"SELECT row, error, \"awareness.offer\" FROM '{tmp_path / 'a.parquet'}'").fetchall()
    assert rows == [
        (1, None, "gold_card"),
        (
            2,
            "segment: 'Tin' is not a choice of Segment; expected one of Bronze, Silver, Gold, Platinum.",
            None,
        ),
    ]


# --- Parquet: corrupt, huge, odd columns ---------------------------------------------------------


def parquet(tmp_path: Any, select: str) -> bytes:
    path = tmp_path / "in.parquet"
    duckdb.sql(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


def post_parquet(client: Any, board: Any, path: str, body: bytes) -> Any:
    return client.generic("POST", url(board, path), body, content_type="application/vnd.apache.parquet")


def test_a_parquet_file_whose_data_is_corrupt_is_refused_before_any_json_answer(as_role, live, tmp_path):
    good = parquet(tmp_path, "SELECT 'Gold' || i AS segment, i AS visits_30d FROM range(20000) t(i)")
    # the footer (columns, row counts) intact, the data pages overwritten
    middle = len(good) // 2
    corrupt = (
        good[:100] + bytes(range(256)) * ((middle - 100) // 256) + good[100 + 256 * ((middle - 100) // 256) :]
    )
    for path in ("decide/batch/", "decide/batch/?format=csv", "coverage/"):
        assert_error(post_parquet(as_role("viewer"), live, path, corrupt), 400, "body")


def test_a_parquet_file_too_large_once_uncompressed_is_refused_naming_the_limit(
    as_role, live, tmp_path, monkeypatch
):
    monkeypatch.setattr(duckdb_run, "PARQUET_MAX_ROWS", 1000)
    body = parquet(tmp_path, "SELECT 'Gold' AS segment FROM range(1001)")
    assert_error(
        post_parquet(as_role("viewer"), live, "decide/batch/", body), 400, "body", "at most 1,000 rows"
    )


def test_parquet_columns_of_odd_types_are_errors_of_their_rows(as_role, live, tmp_path):
    body = parquet(
        tmp_path,
        "SELECT {'a': 1} AS segment, 'x'::BLOB AS visits_30d, MAP {'k': 1} AS has_app, [1, 2] AS products",
    )
    results = json.loads(streamed(post_parquet(as_role("viewer"), live, "decide/batch/", body)))["results"]
    errors = results[0]["error"]["errors"]
    assert set(errors) == {"segment", "visits_30d", "has_app", "products"}
    assert "the column is STRUCT(a INTEGER)" in errors["segment"][0]


# --- The decision day ---------------------------------------------------------------------------


@pytest.fixture
def recent_board(live: Any, users: Any) -> Any:
    """The live version with a condition reaching 100 years back from the decision day."""
    operation_apply(
        blueprint_id=live.pk,
        actor=users["editor"],
        op_type="offer.create",
        payload={
            "stage": "onboarding",
            "key": "recent",
            "name": "Recent",
            "groups": [[{"attribute": "last_login", "operator": "within_last_days", "value": 36_500}]],
        },
    )
    publish(live, users)
    return live


@pytest.mark.parametrize(
    "at",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01",
        "3000-01-01",
        "1899-12-31T23:00Z",
    ],
)
def test_a_decision_day_out_of_range_is_refused_naming_at_everywhere(as_role, recent_board, at):
    client = as_role("viewer")
    assert_error(
        client.post(url(recent_board, "decide/"), {"profile": {}, "at": at}, format="json"),
        400,
        "at",
        "1900-01-01 to 2999-12-31",
    )
    batch_body = {"profiles": [{}], "at": at}
    assert_error(client.post(url(recent_board, "decide/batch/"), batch_body, format="json"), 400, "at")
    query = "at=" + quote(at)
    assert_error(post_csv(client, recent_board, f"decide/batch/?{query}", HEADER), 400, "at")
    assert_error(post_csv(client, recent_board, f"coverage/?{query}", HEADER), 400, "at")


@pytest.mark.parametrize("at", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_a_day_out_of_range_is_refused_by_the_sql_export_and_the_lint(as_role, recent_board, at):
    client = as_role("viewer")
    assert_error(client.get(url(recent_board, f"decide/sql/?at={at}")), 400, "at", "1900-01-01 to 2999-12-31")
    assert_error(client.get(url(recent_board, f"lint/?at={at}")), 400, "at", "1900-01-01 to 2999-12-31")


def test_the_days_at_the_ends_of_the_range_decide_export_and_lint(as_role, recent_board, users):
    client = as_role("editor")
    profiles = [{"last_login": "0001-01-01"}, {"last_login": "9999-12-31"}, {"last_login": "1900-01-01"}]
    for at in ("1900-01-01", "2999-12-31", "1900-01-01T00:00:00+05:00", "2999-12-31T23:59:59.999999-12:00"):
        for profile in profiles:
            response = client.post(
                url(recent_board, "decide/"), {"profile": profile, "at": at, "explain": True}, format="json"
            )
            assert response.status_code == 200, (at, profile, response.content)
    for at in ("1900-01-01", "2999-12-31"):
        assert client.get(url(recent_board, f"decide/sql/?at={at}")).status_code == 200
        assert client.get(url(recent_board, f"lint/?at={at}")).status_code == 200
        rows = csv_answer(
            post_csv(
                client,
                recent_board,
                f"decide/batch/?format=csv&at={at}",
                b"last_login\n0001-01-01\n9999-12-31\n",
            )
        )
        assert [r[1] for r in rows[1:]] == ["", ""]


@settings(max_examples=100, deadline=None)
@given(st.from_regex(MOMENT_PATTERN, fullmatch=True))
def test_every_decision_time_the_schema_allows_is_accepted(text):
    day = decision_day(text)
    assert AT_MIN - dt.timedelta(days=1) <= day <= AT_MAX + dt.timedelta(days=1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 2025-06-30",
        "2025-06-30 ",
        "20250630",
        "2025-W26-1",
        "2025-06-30T25:00",
        "2025-06-30T14:05:00.1234567",
        "２０２５-06-30",
    ],
)
def test_a_decision_time_in_another_form_is_refused(text):
    with pytest.raises(InvalidInput):
        decision_day(text)


def test_the_simulator_refuses_a_day_out_of_range_in_the_form(as_role, live):
    response = as_role("viewer").get(f"/blueprints/{live.pk}/simulator/?profile=%7B%7D&at=0001-01-01")
    assert response.status_code == 400
    assert "1900-01-01 to 2999-12-31" in response.content.decode()


# --- Options: empty, unknown, given twice ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("get", "decide/sql/?at=", "at"),
        ("get", "decide/sql/?version=", "version"),
        ("get", "lint/?at=", "at"),
        ("csv", "decide/batch/?at=", "at"),
        ("csv", "decide/batch/?version=", "version"),
        ("csv", "decide/batch/?stage=", "stage"),
        ("csv", "decide/batch/?explain=", "explain"),
        ("csv", "decide/batch/?format=", "format"),
        ("csv", "coverage/?at=", "at"),
        ("csv", "coverage/?version=", "version"),
        ("csv", "coverage/?format=AAA", "format"),
        ("csv", "coverage/?format=json", "format"),
        ("csv", "decide/batch/?at=2025-01-01&at=2025-01-02", "at"),
        ("get", "lint/?colour=red", "colour"),
        ("json", "decide/batch/?at=2025-01-01", "at"),  # in the body too
        ("get", "versions/1/diff/?against=", "against"),
        ("get", "operations/?since=", "since"),
        ("get", "operations/?limit=", "limit"),
        ("get", "export/?format=", "format"),
        ("get", "export/?version=", "version"),
    ],
)
def test_an_empty_unknown_or_repeated_option_is_refused_naming_it(as_role, live, method, path, field):
    client = as_role("viewer")
    if method == "get":
        response = client.get(url(live, path))
    elif method == "csv":
        response = post_csv(client, live, path, HEADER)
    else:
        response = client.post(url(live, path), {"profiles": [], "at": "2025-01-02"}, format="json")
    assert_error(response, 400, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {}, "at": ""}, "at"),
        ({"profile": {}, "version": ""}, "version"),
        ({"profile": {}, "stage": ""}, "stage"),
        ({"profile": {}, "explain": ""}, "explain"),
        ({"profile": {}, "version": "01"}, "version"),
        ({"profile": {}, "explain": None}, "explain"),
        ({"profile": None}, "profile"),
    ],
)
def test_an_empty_value_in_a_body_is_refused_not_read_as_the_default(as_role, live, body, field):
    assert_error(as_role("viewer").post(url(live, "decide/"), body, format="json"), 400, field)


def test_options_a_json_batch_gives_in_the_query_apply(as_role, live):
    response = as_role("viewer").post(
        url(live, "decide/batch/?at=2025-01-02&stage=onboarding"), {"profiles": [{}]}, format="json"
    )
    body = json.loads(streamed(response))
    assert body["at"] == "2025-01-02" and [d["stage"] for d in body["results"][0]["decisions"]] == [
        "onboarding"
    ]


# --- JSON nested too deeply, in the address ----------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "why"),
    [
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
        ('{"a": ' + "[" * 20 + "]" * 20 + "}", "nested too deeply"),
        ('{"age": NaN}', "not a JSON object"),
        ("[1]", "not a JSON object"),
    ],
)
def test_the_simulator_reads_a_profile_in_the_address_with_a_depth_limit(as_role, live, profile, why):
    response = as_role("viewer").get(f"/blueprints/{live.pk}/simulator/?profile={quote(profile)}")
    assert response.status_code == 400
    assert f"cannot be read (it is {why}" in response.content.decode()


# --- Values at the edges -------------------------------------------------------------------------


EDGE_VALUES = st.sampled_from(
    [
        10**300,
        -(10**300),
        10**4000,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        5e-324,
        0,
        -0.0,
        "0001-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "",
        "\u2028",
        True,
        [],
        ["savings"] * 3,
    ]
)
EDGE_PROFILES = st.dictionaries(
    st.sampled_from(["segment", "age", "visits_30d", "last_login", "has_app", "products", "city"]),
    EDGE_VALUES,
    max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profile=EDGE_PROFILES, at=st.sampled_from(["1900-01-01", "2999-12-31", None]))
def test_values_at_the_edges_of_dates_and_numbers_never_make_a_server_error(
    as_role, recent_board, profile, at
):
    body = {"profile": profile, "explain": True, **({"at": at} if at else {})}
    response = as_role("editor").post(url(recent_board, "decide/"), body, format="json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert all(field.startswith("profile.") for field in response.json()["errors"])


# --- A fault while the answer streams -------------------------------------------------------------


def test_a_fault_in_one_row_is_an_error_of_that_row(as_role, live, monkeypatch):
    real = CompiledVersion.decide

    def decide(self: Any, profile: Any, **kwargs: Any) -> Any:
        if profile == {"segment": "Gold", "city": "boom"}:
            raise RuntimeError("a bug")
        return real(self, profile, **kwargs)

    monkeypatch.setattr(CompiledVersion, "decide", decide)
    profiles = [{}, {"segment": "Gold", "city": "boom"}, {"segment": "Gold"}]
    body = json.loads(
        streamed(as_role("viewer").post(url(live, "decide/batch/"), {"profiles": profiles}, format="json"))
    )
    assert [r.get("error", {}).get("errors") for r in body["results"]] == [
        None,
        {"row": [batch.ROW_FAULT]},
        None,
    ]


@pytest.mark.parametrize("answer", ["json", "csv"])
def test_a_fault_that_stops_the_answer_ends_it_well_formed_saying_so(as_role, live, monkeypatch, answer):
    real = batch.python_answers

    def stops(*args: Any, **kwargs: Any) -> Any:
        answers = real(*args, **kwargs)
        yield next(answers)
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(batch, "python_answers", stops)
    response = post_csv(as_role("viewer"), live, f"decide/batch/?format={answer}", HEADER + b"Gold,5,a\n" * 3)
    stopped = batch.STOPPED.format(row=1)
    if answer == "json":
        body = json.loads(streamed(response))
        assert [r["row"] for r in body["results"]] == [1]
        assert body["error"] == {"detail": stopped, "errors": {"results": [stopped]}}
    else:
        rows = csv_answer(response)
        assert [r[:2] for r in rows[1:]] == [["1", ""], ["", stopped]]


def test_an_answer_whose_stream_still_raises_ends_instead_of_hanging():
    def chunks() -> Any:
        yield b"a"
        raise RuntimeError("a bug")

    assert b"".join(streamed_answer(chunks(), "text/plain").streaming_content) == b"a"
