"""The batch policy, without a request: which engine decides a batch and what it may ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from decisioning import batch


@pytest.mark.parametrize(
    ("body", "answers", "size", "engine"),
    [
        ("json", "json", 10**9, batch.BY_ROWS),
        ("json", "csv", 10**9, batch.BY_ROWS),
        ("csv", "json", 10**9, batch.BY_ROWS),
        ("csv", "csv", 10, batch.BY_ROWS),
        ("csv", "csv", batch.DUCKDB_FROM_BYTES, batch.DUCKDB_FILE),
        ("csv", "parquet", 10, batch.DUCKDB_FILE),
        ("parquet", "csv", 10, batch.DUCKDB_FILE),
        ("parquet", "parquet", 10, batch.DUCKDB_FILE),
        ("parquet", "json", 10, batch.DUCKDB_ANSWERS),
    ],
)
def test_duckdb_decides_files_answered_as_files_and_parquet_bodies(
    body: str, answers: str, size: int, engine: str
) -> None:
    assert batch.batch_engine(body, answers, size) == engine


def test_explanations_come_with_json_answers_from_json_or_csv_bodies_only() -> None:
    assert batch.answers_refusal("json", explain=True) is None
    refused = batch.answers_refusal("csv", explain=True)
    assert refused is not None and refused.field == "explain"
    assert batch.answers_refusal("csv", explain=False) is None
    refused = batch.body_refusal("parquet", "json", explain=True)
    assert refused is not None and refused.field == "explain"
    assert batch.body_refusal("csv", "json", explain=True) is None


def test_parquet_answers_are_for_file_bodies_only() -> None:
    refused = batch.body_refusal("json", "parquet", explain=False)
    assert refused is not None and refused.field == "format"
    assert batch.body_refusal("csv", "parquet", explain=False) is None


def test_a_file_is_parquet_when_it_starts_as_parquet_does(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"PAR1rest")
    (tmp_path / "b").write_bytes(b"age,vip\n")
    assert batch.file_format(tmp_path / "a") == "parquet"
    assert batch.file_format(tmp_path / "b") == "csv"
