"""A version as one SQL query (decisioning/sql.py), run by DuckDB over CSV and Parquet: the same
answers as the reference evaluator and the compiled engine on random blueprints and profiles, the
same refusals (and messages) for bad cells, bad rows that do not stop good ones, and an exported
query that runs as it is."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisioning import duckdb_sql
from decisioning.batch import coverage_of, csv_profiles, python_answers
from decisioning.duckdb_run import BatchError, CsvNotTabular, batch_rows, batch_run, coverage_counts
from decisioning.engine import compile_snapshot
from decisioning.profiles import ProfileProblems
from decisioning.sql import decision_sql, export_sql, stage_columns
from tests.decisioning.oracle import AT, ATTRIBUTES, profiles, raw, reference_decide, snapshots
from tests.decisioning.test_engine_properties import as_csv_cells

KEYS = [a["key"] for a in ATTRIBUTES]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or KEYS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_answers(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_reference(row: dict[str, Any], snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """A batch answer row read back as the reference's list of entered stages."""
    out = []
    for stage in snapshot["stages"]:
        entered, offer, fallback, eligible = (row[c] for c in stage_columns(stage["key"]))
        if entered in (True, "true"):
            out.append(
                {
                    "stage": stage["key"],
                    "entered": True,
                    "offer": offer or None,
                    "fallback": fallback in (True, "true"),
                    "eligible": eligible.split("|") if eligible else [],
                }
            )
    return out


def examples(n: int) -> Any:
    """Hypothesis settings for a test that writes and decides files: ``n`` examples, no deadline."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# profiles, each with the CSV flavour its cells are written in (as_csv_cells)
CSV_BATCHES = st.lists(st.tuples(profiles(), st.integers(0, 11)), min_size=1, max_size=25)


@examples(40)
@given(snapshot=snapshots(), batch=CSV_BATCHES)
def test_duckdb_over_csv_decides_as_the_reference_and_the_engine(tmp_path, snapshot, batch):
    engine = compile_snapshot(snapshot, {"number": 1})
    source = write_csv(tmp_path / "in.csv", [as_csv_cells(p, flavour) for p, flavour in batch])
    target = tmp_path / "out.csv"
    assert batch_run(engine, source, target, at=AT) == len(batch)
    rows = read_answers(target)
    assert [int(r["row"]) for r in rows] == list(range(1, len(batch) + 1))
    for (profile, _), row in zip(batch, rows, strict=True):
        assert row["error"] == ""
        expected = reference_decide(snapshot, profile, AT)
        assert as_reference(row, snapshot) == expected
        assert [d.as_json() for d in engine.decide(profile, at=AT).decisions] == expected


@examples(15)
@given(snapshot=snapshots(), batch=st.lists(profiles(), min_size=1, max_size=20))
def test_duckdb_over_parquet_decides_as_the_reference(tmp_path, snapshot, batch):
    engine = compile_snapshot(snapshot, {"number": 1})
    # a typed Parquet file: numbers as DOUBLE, dates as DATE, booleans, sets as lists of text
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (age DOUBLE, segment VARCHAR, city VARCHAR, vip BOOLEAN, last_visit DATE, products VARCHAR[])"
    )
    for p in batch:
        con.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
            [
                p.get("age"),
                p.get("segment"),
                p.get("city"),
                p.get("vip"),
                p.get("last_visit"),
                p.get("products"),
            ],
        )
    source = tmp_path / "in.parquet"
    con.execute(f"COPY t TO '{source}' (FORMAT parquet)")
    target = tmp_path / "out.parquet"
    batch_run(engine, source, target, at=AT, source_format="parquet", target_format="parquet")
    cursor = con.execute(f"SELECT * FROM read_parquet('{target}') ORDER BY row")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for profile, row in zip(batch, rows, strict=True):
        assert row["error"] is None
        assert as_reference(row, snapshot) == reference_decide(snapshot, profile, AT)


BAD_CELLS = [
    {"age": "x"},
    {"age": "1e400"},
    {"age": "1_000"},
    {"segment": "Tin"},
    {"vip": "maybe"},
    {"last_visit": "2025-02-30"},
    {"last_visit": "0000-01-01"},
    {"last_visit": "2025-06-15T25:00"},
    {"age": "nan", "vip": "2", "last_visit": "yesterday", "segment": "x" * 60},
]


def test_bad_cells_get_the_engines_own_messages_and_the_good_rows_their_answers(tmp_path):
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {"key": "s", "name": "S", "offers": [{"key": "adult", "groups": [[raw("age", "at_least", 18)]]}]}
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    rows = [{"age": "30"}, *BAD_CELLS, {"age": "12"}]
    target = tmp_path / "out.csv"
    batch_run(engine, write_csv(tmp_path / "in.csv", rows), target, at=AT)
    answers = read_answers(target)
    assert answers[0]["s.offer"] == "adult" and answers[-1]["s.offer"] == "" and answers[-1]["error"] == ""
    for cells, answer in zip(BAD_CELLS, answers[1:-1], strict=True):
        with pytest.raises(ProfileProblems) as refused:
            engine.check(cells, csv=True)
        expected = " / ".join(
            f"{path.removeprefix('profile.')}: {m[0]}" for path, m in refused.value.problems.items()
        )
        assert answer["error"] == expected
        assert answer["s.offer"] == "" and answer["s.entered"] == ""


def test_a_large_csv_is_decided_in_parallel_and_each_answer_keeps_its_rows_number(tmp_path):
    # big enough for DuckDB to read it in parallel chunks (the CSV to CSV path numbers the lines as
    # they were written into a table, in order): each row's number, error and answer must be its own
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "offers": [
                    {"key": "old", "groups": [[raw("age", "at_least", 60)]]},
                    {"key": "even", "groups": [[raw("city", "is", "Even")]]},
                ],
            }
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    rows = 400_000
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    duckdb.execute(
        f"""COPY (SELECT i % 100 AS age,
                         CASE WHEN i % 1000 = 7 THEN 'x' || i ELSE 'Gold' END AS segment,
                         CASE WHEN i % 2 = 0 THEN 'Even' ELSE 'Odd' END AS city,
                         'padding to make the file larger than a few of the reader''s buffers' AS note
                  FROM range(1, {rows + 1}) AS r(i))
            TO '{source}' (FORMAT csv, HEADER true)"""
    )
    assert source.stat().st_size > 30_000_000
    assert batch_run(engine, source, target, at=AT) == rows
    with target.open(newline="", encoding="utf-8") as handle:
        for n, answer in enumerate(csv.DictReader(handle), start=1):
            assert int(answer["row"]) == n
            if n % 1000 == 7:
                assert answer["error"].startswith(f"segment: 'x{n}' is not a choice")
                continue
            eligible = [key for key, holds in (("old", n % 100 >= 60), ("even", n % 2 == 0)) if holds]
            assert (answer["error"], answer["s.eligible"]) == ("", "|".join(eligible)), n
            assert answer["s.offer"] == (eligible[0] if eligible else "")


def test_a_csv_duckdb_cannot_read_as_a_table_is_said_so_for_the_row_by_row_reader(tmp_path):
    engine = compile_snapshot({"attributes": ATTRIBUTES, "stages": []}, {"number": 1})
    sniffed = tmp_path / "sniffed.csv"  # the wide row among those DuckDB samples: an extra column
    sniffed.write_text("age,segment\n61,Gold,extra\n12,Gold\n")
    deep = tmp_path / "deep.csv"  # far past them: DuckDB refuses the file while reading it
    deep.write_text("age,segment\n" + "30,Gold\n" * 50_000 + "61,Gold,extra\n")
    for source in (sniffed, deep):
        with pytest.raises(CsvNotTabular):
            batch_run(engine, source, tmp_path / "out.csv", at=AT)
        with pytest.raises(CsvNotTabular):
            coverage_counts(engine, source, at=AT)
    short = tmp_path / "short.csv"  # short rows are only missing values
    short.write_text("age,segment\n61\n")
    assert batch_run(engine, short, tmp_path / "out.csv", at=AT) == 1


@examples(15)
@given(snapshot=snapshots(), batch=CSV_BATCHES, bad=st.sets(st.integers(0, 24)))
def test_coverage_counted_row_by_row_is_duckdbs(tmp_path, snapshot, batch, bad):
    engine = compile_snapshot(snapshot, {"number": 1})
    rows = [as_csv_cells(p, flavour) for p, flavour in batch]
    for n in bad & set(range(len(rows))):
        rows[n] = {**rows[n], "age": "not a number"}
    source = write_csv(tmp_path / "in.csv", rows)
    with source.open(encoding="utf-8", newline="") as text:
        answers = python_answers(engine, csv_profiles(text), at=AT, stage=-1, explain=False, csv_input=True)
        assert coverage_of(engine, answers) == coverage_counts(engine, source, at=AT)


def test_columns_the_catalog_lacks_are_ignored_and_absent_ones_are_missing(tmp_path):
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {"key": "s", "name": "S", "offers": [{"key": "gold", "groups": [[raw("segment", "is", "Gold")]]}]}
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    source = write_csv(
        tmp_path / "in.csv", [{"segment": "Gold", "shoe": "44"}, {"shoe": "41"}], header=["shoe", "segment"]
    )
    assert [r[2:] for r in batch_rows(engine, source, at=AT)] == [
        (True, "gold", False, "gold"),
        (True, None, False, ""),
    ]


def test_the_batch_query_is_made_once_per_layout_and_each_file_gets_its_own_answers(tmp_path, monkeypatch):
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {"key": "s", "name": "S", "offers": [{"key": "gold", "groups": [[raw("segment", "is", "Gold")]]}]}
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    made, original = [], duckdb_sql._batch_sql
    monkeypatch.setattr(duckdb_sql, "_batch_sql", lambda *a, **k: made.append(a) or original(*a, **k))
    gold = write_csv(tmp_path / "gold.csv", [{"segment": "Gold"}])
    silver = write_csv(tmp_path / "silver.csv", [{"segment": "Silver"}, {"segment": "Gold"}])
    assert [r[3] for r in batch_rows(engine, gold, at=AT)] == ["gold"]
    assert [r[3] for r in batch_rows(engine, silver, at=AT)] == [None, "gold"]
    assert len(made) == 1
    # another day, another layout of columns: a query of their own
    assert [r[3] for r in batch_rows(engine, silver, at=AT + dt.timedelta(days=1))] == [None, "gold"]
    other = write_csv(tmp_path / "other.csv", [{"segment": "Gold", "age": "3"}], header=["age", "segment"])
    assert [r[3] for r in batch_rows(engine, other, at=AT)] == ["gold"]
    assert len(made) == 3


def test_one_stage_alone_answers_only_its_columns(tmp_path):
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {"key": "a", "name": "A", "offers": [{"key": "o"}]},
            {"key": "b", "name": "B", "offers": [{"key": "p"}]},
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    target = tmp_path / "out.csv"
    batch_run(engine, write_csv(tmp_path / "in.csv", [{}]), target, at=AT, stage=1)
    assert read_answers(target) == [
        {
            "row": "1",
            "error": "",
            "b.entered": "true",
            "b.offer": "p",
            "b.fallback": "false",
            "b.eligible": "p",
        }
    ]


def test_a_file_that_is_not_what_it_claims_is_refused_as_a_whole(tmp_path):
    engine = compile_snapshot({"attributes": ATTRIBUTES, "stages": []}, {"number": 1})
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not a parquet file at all")
    with pytest.raises(BatchError):
        batch_run(engine, junk, tmp_path / "out.csv", at=AT, source_format="parquet")


def test_a_set_element_with_the_separator_never_matches_in_sql():
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "offers": [{"key": "odd", "groups": [[raw("products", "includes", "a|b")]]}],
            }
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    assert "FALSE" in decision_sql(engine.spec, at=AT)


def test_the_exported_query_runs_as_is_over_a_table_named_profiles():
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "entry": [[raw("last_visit", "within_last_days", 30)]],
                "offers": [
                    {"key": "loan", "groups": [[raw("products", "includes_any_of", ["loan", "card"])]]},
                    {"key": "fb", "fallback": True},
                ],
            }
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 3})
    exported = export_sql(engine, at=None, title="Test v3")
    assert exported.startswith("-- Blueprint decisions: Test v3\n-- Dialect: ")
    today = dt.date.today()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE profiles (id INTEGER, age DOUBLE, segment TEXT, city TEXT, vip BOOLEAN, last_visit DATE, products TEXT)"
    )
    con.execute(
        "INSERT INTO profiles VALUES (1, NULL, NULL, NULL, NULL, ?, 'savings|card'), (2, NULL, NULL, NULL, NULL, ?, NULL),"
        " (3, NULL, NULL, NULL, NULL, NULL, 'loan')",
        [today - dt.timedelta(days=3), today],
    )
    cursor = con.execute(exported.rstrip().rstrip(";") + " ORDER BY id")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    assert [(r["id"], r["s.entered"], r["s.offer"], r["s.fallback"]) for r in rows] == [
        (1, True, "loan", False),
        (2, True, "fb", True),
        (3, False, None, False),
    ]


@examples(10)
@given(snapshot=snapshots(), batch=st.lists(profiles(), min_size=1, max_size=12))
def test_duckdb_deciding_each_stage_alone_answers_as_the_reference(tmp_path, snapshot, batch):
    # each customer in one stage (drawn half the time): a stage alone still reads the earlier entries
    engine = compile_snapshot(snapshot, {"number": 1})
    source = write_csv(tmp_path / "in.csv", [as_csv_cells(p, 0) for p in batch])
    for si, stage in enumerate(snapshot["stages"]):
        rows = list(batch_rows(engine, source, at=AT, stage=si))
        for profile, row in zip(batch, rows, strict=True):
            (expected,) = reference_decide(snapshot, profile, AT, stage=stage["key"])
            entered, offer, fallback, eligible = row[2:]
            assert (entered, offer, fallback, eligible.split("|") if eligible else []) == (
                expected["entered"],
                expected["offer"],
                expected["fallback"],
                expected["eligible"],
            ), (stage["key"], profile)


def test_an_offer_outside_its_days_is_not_chosen_by_the_exported_query_on_either_day_source():
    """Issue 16: the window is checked against the decision day the export uses, CURRENT_DATE or ``at``."""
    today = dt.date.today()
    snapshot = {
        "attributes": ATTRIBUTES,
        "stages": [
            {
                "key": "s",
                "name": "S",
                "offers": [
                    {"key": "later", "starts_on": (today + dt.timedelta(days=1)).isoformat()},
                    {"key": "ended", "ends_on": (today - dt.timedelta(days=1)).isoformat()},
                    {
                        "key": "now",
                        "starts_on": today.isoformat(),
                        "ends_on": today.isoformat(),
                        "groups": [[raw("segment", "is", "Gold")]],
                    },
                    {"key": "fb", "fallback": True, "ends_on": today.isoformat()},
                ],
            }
        ],
    }
    engine = compile_snapshot(snapshot, {"number": 1})
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE profiles (id INTEGER, age DOUBLE, segment TEXT, city TEXT, vip BOOLEAN, last_visit DATE, products TEXT)"
    )
    con.execute(
        "INSERT INTO profiles VALUES (1, NULL, 'Gold', NULL, NULL, NULL, NULL), (2, NULL, NULL, NULL, NULL, NULL, NULL)"
    )

    def run(query: str) -> list[tuple[Any, ...]]:
        cursor = con.execute(query.rstrip().rstrip(";") + " ORDER BY id")
        names = [d[0] for d in cursor.description]
        return [
            (r["id"], r["s.offer"], r["s.fallback"], r["s.eligible"])
            for r in (dict(zip(names, row, strict=True)) for row in cursor.fetchall())
        ]

    assert "CURRENT_DATE >= DATE" in export_sql(engine, at=None, title="t")
    assert run(export_sql(engine, at=None, title="t")) == [(1, "now", False, "now"), (2, "fb", True, "")]
    assert run(export_sql(engine, at=today, title="t")) == [(1, "now", False, "now"), (2, "fb", True, "")]
    tomorrow = today + dt.timedelta(days=1)
    assert run(export_sql(engine, at=tomorrow, title="t")) == [
        (1, "later", False, "later"),
        (2, "later", False, "later"),
    ]
    yesterday = today - dt.timedelta(days=1)
    assert run(export_sql(engine, at=yesterday, title="t")) == [
        (1, "ended", False, "ended"),
        (2, "ended", False, "ended"),
    ]
    for day, profile in [(today, {"segment": "Gold"}), (tomorrow, {}), (yesterday, {})]:
        assert [(d.offer, d.fallback) for d in engine.decide(profile, at=day).decisions] == [
            ("now" if profile else "fb", not profile)
            if day == today
            else ("later" if day > today else "ended", False)
        ]
