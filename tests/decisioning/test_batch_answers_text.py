"""People's words in batch answers (decisioning/batch.py, decisioning/sql.py): they stay data.

- JSON answers to a Parquet body are built from DuckDB's answers: a row's errors come per key from
  the query (``errors_by_key``), so a label or a cell holding " / " or ": " cannot split them
  differently from the engine (it did, when they were read back from the error text);
- CSV answers: the only cell people's words reach is ``error``, and it always starts with a key (or
  "row"), so no label or cell can start a cell with a spreadsheet formula (= + @ tab CR); keys,
  whose alphabet is ``[a-z0-9_-]``, cannot call a function.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisioning import batch
from decisioning.duckdb_run import batch_run
from decisioning.engine import compile_snapshot
from tests.blueprint.export_blueprints import hostile_keys, hostile_texts

AT = dt.date(2025, 6, 15)
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def blueprint(label: str, keys: tuple[str, str] = ("segment", "age")) -> Any:
    segment, age = keys
    return compile_snapshot(
        {
            "attributes": [
                {"key": segment, "label": label, "type": "choice", "choices": ["Gold", "Silver"]},
                {"key": age, "label": label, "type": "number"},
            ],
            "stages": [
                {
                    "key": "s",
                    "name": "S",
                    "entry": [],
                    "offers": [
                        {
                            "key": "-o",
                            "name": "O",
                            "groups": [[{"attribute": age, "operator": "at_least", "value": 18}]],
                        }
                    ],
                }
            ],
        },
        {"number": 1},
    )


def test_json_answers_to_a_parquet_body_name_each_key_whatever_the_words(tmp_path: Path) -> None:
    compiled = blueprint("Tier / level: x")
    source = tmp_path / "profiles.parquet"
    cells = {"segment": "Bronze / age: x", "age": "old / segment: y"}
    duckdb.connect().execute(
        f"COPY (SELECT '{cells['segment']}' AS segment, '{cells['age']}' AS age) TO '{source}' (FORMAT parquet)"
    )
    (duck,) = list(batch.duckdb_answers(compiled, source, at=AT, stage=-1, source_format="parquet"))
    (engine,) = list(batch.python_answers(compiled, [cells], at=AT, stage=-1, explain=False, csv_input=True))
    assert duck[2] is not None and engine[2] is not None
    assert duck[2].problems == engine[2].problems
    assert sorted(duck[2].problems) == ["profile.age", "profile.segment"]


def cells_of(answer: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.decode())))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hostile_texts,
    st.lists(hostile_keys, min_size=2, max_size=2, unique=True),
    st.lists(st.tuples(hostile_texts, hostile_texts), min_size=1, max_size=5),
)
def test_no_label_or_cell_starts_a_cell_of_a_csv_answer(
    label: str, keys: list[str], rows: list[tuple[str, str]]
) -> None:
    compiled = blueprint(label, (keys[0], keys[1]))
    profiles = [{keys[0]: a, keys[1]: b} for a, b in rows]
    answers = batch.python_answers(compiled, profiles, at=AT, stage=-1, explain=False, csv_input=True)
    table = cells_of(b"".join(batch.stream_csv(compiled, answers, stage=-1)))
    assert table[0] == batch.answer_header(compiled, -1)
    starts = (*keys, "row")
    for line in table[1:]:
        row, error, *decisions = line
        assert row.isdigit()
        assert error == "" or error.startswith(tuple(f"{k}: " for k in starts)), error
        assert all(cell in ("", "true", "false", "-o") for cell in decisions), decisions
        assert not [cell for cell in line if cell.startswith(FORMULA_STARTS)]


def test_the_duckdb_csv_answer_starts_its_error_cells_with_a_key(tmp_path: Path) -> None:
    compiled = blueprint('=HYPERLINK("http://evil")', ("segment", "age"))
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("segment,age\n\"=cmd|' /C calc'!A0\",+1\n@SUM(1),-2\nGold,20\n", encoding="utf-8")
    batch_run(compiled, source, target, at=AT, source_format="csv", target_format="csv")
    table = cells_of(target.read_bytes())
    assert [line[1].split(": ", 1)[0] for line in table[1:]] == ["segment", "segment", ""]
    assert not [cell for line in table for cell in line if cell.startswith(FORMULA_STARTS)]
