"""One CSV dialect (decisioning/csv_dialect.py) for both batch paths: the row-by-row reader and
DuckDB's, which either reads a file cell for cell as the dialect says or refuses it (and the file is
then read row by row). Examples of each rule, then properties over generated rows: the two readers
agree on every file DuckDB reads, and the batch and coverage answers of a body are the same whichever
path it takes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from decisioning import batch, duckdb_run, sql
from decisioning.batch import csv_problem, csv_profiles
from decisioning.csv_dialect import ROW_MAX_CHARS, BadRecord, CsvProblem, read_header, records
from decisioning.duckdb_run import CsvNotTabular
from decisioning.engine import compile_snapshot
from tests.decisioning.oracle import AT


def read(data: bytes) -> list[Any]:
    """Every row of a body as the engine's path reads it (header included)."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    return [r.message if isinstance(r, BadRecord) else r for r in records(text)]


def profiles_of(data: bytes) -> list[Any]:
    return list(csv_profiles(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")))


def duckdb_cells(path: Path) -> list[dict[str, str | None]]:
    """Every row as DuckDB reads the file (``CsvNotTabular`` when it refuses it), cells trimmed as
    the checks trim them, an empty one None."""
    con = duckdb.connect()
    try:
        relation, _ = duckdb_run._source_relation(con, path, "csv")
        try:
            cursor = con.execute(f"SELECT * EXCLUDE ({sql.ident('#row')}) FROM {relation}")
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise CsvNotTabular(str(exc)) from None
        names = [d[0] for d in cursor.description]
    finally:
        con.close()
    return [
        {
            name: (cell.strip(" ") or None) if cell is not None else None
            for name, cell in zip(names, row, strict=True)
        }
        for row in rows
    ]


def python_cells(data: bytes) -> list[dict[str, str | None]] | None:
    """The same from the engine's reader; None when a row breaks the dialect (DuckDB must refuse)."""
    names = [
        n
        for n in read_header(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")).names
        if n
    ]
    out = []
    for row in profiles_of(data):
        if isinstance(row, str):
            return None
        out.append({name: (row.get(name) or "").strip(" ") or None for name in names})
    return out


# --- The rules, by example ---------------------------------------------------------------------


def test_spaces_around_quotes_are_ignored_and_cells_are_trimmed_by_both_readers(tmp_path):
    # the row: a quoted cell with spaces inside, one with spaces around, a trailing separator
    data = b'age,segment,city\n"  34  ", "Premier" ,\n'
    assert read(data) == [["age", "segment", "city"], ["  34  ", "Premier", ""]]
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    assert duckdb_cells(path) == python_cells(data) == [{"age": "34", "segment": "Premier", "city": None}]


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b"a,b\r\n1,2\r\n3,4", [["a", "b"], ["1", "2"], ["3", "4"]]),  # CRLF, no final line break
        (b"a,b\r1,2\r", [["a", "b"], ["1", "2"]]),  # CR alone
        (b"\xef\xbb\xbfa,b\n1,2\n", [["a", "b"], ["1", "2"]]),  # a BOM at the start
        (b"a,b\n\n1,2\n\r\n\n", [["a", "b"], ["1", "2"]]),  # blank lines are no rows
        (b'a,b\n"x, ""y""\nz",2\n', [["a", "b"], ['x, "y"\nz', "2"]]),  # quotes hold separators, breaks
        (b'a,b\n5" screen,2\n', [["a", "b"], ['5" screen', "2"]]),  # a quote inside a cell is text
        (b"a,b\n1\x002,3\n", [["a", "b"], ["1\x002", "3"]]),  # a NUL is text
        (b"a,b\n,\n", [["a", "b"], ["", ""]]),
    ],
)
def test_line_breaks_quotes_and_blank_lines_read_as_the_dialect_says(data, rows):
    assert read(data) == rows


def test_text_after_a_closing_quote_is_an_error_of_that_row_only():
    assert read(b'a,b\n"5" screen,2\n3,4\n') == [
        ["a", "b"],
        'Cell 1 has text after its closing quote; put the whole cell in quotes, doubling the quotes inside ("5"" screen").',
        ["3", "4"],
    ]


def test_a_quote_never_closed_is_an_error_of_its_row_which_runs_to_the_end():
    rows = read(b'a,b\n1,2\n"open,3\n4,5\n' + b"6,7\n" * 100_000)
    assert rows[:2] == [["a", "b"], ["1", "2"]]
    assert len(rows) == 3 and "never closed" in rows[2]


def test_a_row_longer_than_the_limit_is_an_error_and_the_next_rows_are_read():
    long_cell = b"x" * (ROW_MAX_CHARS + 1)
    quoted = b'"' + b"y\n" * (ROW_MAX_CHARS // 2 + 1) + b'"'
    rows = read(b"a,b\n1," + long_cell + b"\n2,3\n" + quoted + b",4\n5,6")
    assert rows[0] == ["a", "b"]
    assert "longer than 131,072 characters" in rows[1] and "longer than" in rows[3]
    assert rows[2] == ["2", "3"] and rows[4] == ["5", "6"]
    # a row at the limit is read
    assert read(b"a\n" + b"z" * ROW_MAX_CHARS + b"\n") == [["a"], ["z" * ROW_MAX_CHARS]]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The CSV is empty"),
        (b"\n\r\n", "The CSV is empty"),
        (b"age,segment,age\n1,Gold,2\n", "names the column 'age' twice (columns 1 and 3)"),
        (b" age ,age\n", "names the column 'age' twice"),
        (b'"age\n', "cannot be read: Cell 1 opens a quote"),
        (b"\xff\xfeage\n", "not UTF-8"),
    ],
)
def test_a_file_without_a_usable_header_is_refused_as_a_whole(tmp_path, data, problem):
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    found = csv_problem(path)
    assert found is not None and problem in found


def test_header_names_are_trimmed_and_a_column_without_a_name_is_ignored():
    data = b" age , ,segment,\n34,x,Gold,\n"
    assert read_header(io.TextIOWrapper(io.BytesIO(data), newline="")).names == ["age", "", "segment", ""]
    assert profiles_of(data) == [{"age": "34", "segment": "Gold"}]
    assert profiles_of(b"age,segment\n") == []  # a header alone: no rows


def test_surplus_cells_that_are_empty_are_ignored_and_others_are_an_error():
    assert profiles_of(b"a,b\n1,2,, ,\n1,2,x\n1\n") == [
        {"a": "1", "b": "2"},
        "The row has 3 cells; the header has 2.",
        {"a": "1"},
    ]


def test_a_header_problem_cannot_make_the_row_reader_raise():
    with pytest.raises(CsvProblem):
        read_header(io.StringIO("a,a\n"))
    assert profiles_of(b"a,a\n1,2\n") == []


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n" + b"x" * (ROW_MAX_CHARS + 10) + b",1\n",  # too long for DuckDB's max_line_size
        b'a,b\n"x\ny",1\n',  # a line break inside quotes (DuckDB's parallel reader cannot pad then)
        b'a,b\n  "x",1\n',  # two spaces before a quote: DuckDB reads the quotes as text
        b'a,b\n"x" "y",1\n',  # quoted pieces DuckDB would join
        b"\na,b\n1,2\n",  # a blank line before the header: DuckDB would take it for the header
        b"a\n1\n\n2\n",  # one column: DuckDB reads a blank line as a row of it
    ],
)
def test_duckdb_leaves_the_files_it_reads_otherwise_to_the_row_reader(tmp_path, data):
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(CsvNotTabular):
        duckdb_cells(path)


# --- Properties: the same rows through both readers and both batch paths -----------------------------

NAMES = ["segment", "age", "city", "products", "notes"]
CELL_TEXT = st.lists(
    st.sampled_from([*"ab ,\"|'#é\t", "\n", "\r", "\r\n", "\x00", "€", "😀", "\u2028", "\ufeff"]), max_size=8
).map("".join)
CELLS = st.one_of(
    st.sampled_from(
        ["Gold", "Silver", "34", "  34  ", "2.5", "x", "savings|mortgage", " savings | loan ", ""]
    ),
    CELL_TEXT,
)
# how a cell is written: as it is (when it can be), quoted, quoted with a space before or spaces after
STYLES = st.sampled_from(["plain", "quoted", "space-quoted", "quoted-spaces"])
BREAKS = st.sampled_from(["\n", "\r\n"])


@st.composite
def csv_bodies(draw: Any) -> tuple[bytes, bool]:
    """A body, and whether DuckDB must read it itself (no line break inside quotes, and none of the
    quoting ``duckdb_run.reads_otherwise`` finds, left to the row reader)."""
    width = draw(st.integers(2, len(NAMES)))
    names = NAMES[:width]
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 1), min_size=0, max_size=8))
    newline = draw(BREAKS)

    def written(cell: str) -> str:
        style = draw(STYLES)
        if style == "plain" and not any(c in cell for c in ',"\r\n') and cell.strip(" ") == cell:
            return cell
        quoted = '"' + cell.replace('"', '""') + '"'
        return {"space-quoted": " " + quoted, "quoted-spaces": quoted + "  "}.get(style, quoted)

    lines = [",".join(names)]
    for row in rows:
        cells = [written(c) for c in row]
        if draw(st.booleans()) and len(cells) <= width:
            cells += [""] * draw(st.integers(0, 2))  # a spreadsheet's trailing separators
        lines.append(",".join(cells))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()
    breaks = any("\r" in c or "\n" in c for row in rows for c in row)
    return data, not breaks and not duckdb_run.reads_otherwise(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=csv_bodies())
def test_duckdb_reads_every_body_it_accepts_cell_for_cell_as_the_row_reader(tmp_path, body):
    data, fast = body
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    expected = python_cells(data)
    try:
        got = duckdb_cells(path)
    except CsvNotTabular:
        # refused: a row that breaks the dialect, or a body it is kept from
        assert expected is None or not fast, data
        return
    assert got == expected, data


SNAPSHOT = {
    "attributes": [
        {"key": "segment", "label": "Segment", "type": "choice", "choices": ["Gold", "Silver", "x"]},
        {"key": "age", "label": "Age", "type": "number"},
        {"key": "city", "label": "City", "type": "text"},
        {"key": "products", "label": "Products", "type": "set", "choices": ["savings", "mortgage", "loan"]},
    ],
    "stages": [
        {
            "key": "s",
            "name": "S",
            "entry": [],
            "offers": [
                {
                    "key": "gold",
                    "name": "Gold",
                    "groups": [[{"attribute": "segment", "operator": "is", "value": "Gold"}]],
                },
                {
                    "key": "old",
                    "name": "Old",
                    "groups": [[{"attribute": "age", "operator": "at_least", "value": 30}]],
                },
                {
                    "key": "city",
                    "name": "City",
                    "groups": [[{"attribute": "city", "operator": "is", "value": "ab"}]],
                },
                {
                    "key": "saver",
                    "name": "Saver",
                    "groups": [[{"attribute": "products", "operator": "includes", "value": "savings"}]],
                },
            ],
        }
    ],
}
ENGINE = compile_snapshot(SNAPSHOT, {"number": 1})


def answered(path: Path, *, duckdb_first: bool) -> tuple[list[list[str]], dict[str, Any]]:
    """The CSV answers and the coverage of a file, by DuckDB (falling back as the API does) or row by row."""
    if duckdb_first:
        try:
            target = batch.duckdb_file(
                ENGINE, path, at=AT, stage=-1, source_format="csv", target_format="csv"
            )
        except CsvNotTabular:
            pass
        else:
            text = target.read_bytes().decode()
            target.unlink()
            return list(csv.reader(io.StringIO(text, newline=""))), batch.sample_coverage(
                ENGINE, path, at=AT, source_format="csv"
            )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        answers = batch.python_answers(
            ENGINE, csv_profiles(handle), at=AT, stage=-1, explain=False, csv_input=True
        )
        text = b"".join(batch.stream_csv(ENGINE, answers, stage=-1)).decode()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        answers = batch.python_answers(
            ENGINE, csv_profiles(handle), at=AT, stage=-1, explain=False, csv_input=True
        )
        coverage = batch.coverage_of(ENGINE, answers)
    return list(csv.reader(io.StringIO(text, newline=""))), coverage


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=csv_bodies())
def test_a_body_gets_the_same_answers_and_errors_by_either_path(tmp_path, body):
    data, _ = body
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    assume(csv_problem(path) is None)
    assert answered(path, duckdb_first=True) == answered(path, duckdb_first=False), data
