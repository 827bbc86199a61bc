"""Running batches in an embedded DuckDB: ``batch_run(compiled, source, target, …)`` reads a CSV or
Parquet file, runs the batch query of ``decisioning.duckdb_sql`` over it and writes CSV or Parquet;
``coverage_counts`` counts how a sample spreads over the offers. A session stops when the request's
stop event is set (``decisioning.budget``): DuckDB is interrupted.
"""

from __future__ import annotations

import datetime as dt
import mmap
import os
import re
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from decisioning.budget import Cancelled, check_stop, stop_event
from decisioning.csv_dialect import ROW_MAX_CHARS, CsvProblem, Header, read_header
from decisioning.duckdb_sql import ERROR, ROW, batch_sql
from decisioning.engine import CompiledVersion
from decisioning.sql import ident, stage_columns, text

FORMATS = ("csv", "parquet")


class BatchError(Exception):
    """The file as a whole could not be read (not CSV, not Parquet, unreadable)."""


class CsvNotTabular(BatchError):
    """DuckDB could not read a CSV as rows as wide as its header: a row with more cells than the
    header (which DuckDB either refuses the file for, or reads as an unnamed column), a quote left
    open. Python's CSV reader reads such a file row by row, giving the odd rows an error each, which
    is what the callers do instead (the same answers as for a small body)."""


# --- Running a batch ---------------------------------------------------------------------------------


INTERRUPT_EVERY = 0.05  # seconds between a DuckDB session's looks at the stop event


@contextmanager
def connect() -> Iterator[Any]:
    """A DuckDB connection for one piece of work, closed after it. While it is open, the current
    context's stop event (``decisioning.budget``: set when the client of the request left) is
    looked at every ``INTERRUPT_EVERY`` seconds and, once set, interrupts the running statement;
    the work then raises ``Cancelled`` (never a ``BatchError``: the file was not at fault)."""
    import duckdb

    check_stop()
    con = duckdb.connect(config={"threads": max(1, os.cpu_count() or 1)})
    done = threading.Event()
    stop = stop_event()
    if stop is not None:
        threading.Thread(
            target=_interrupt_on, args=(con, stop, done), name="duckdb-stop", daemon=True
        ).start()
    try:
        con.execute("SET preserve_insertion_order = true")
        yield con
    except duckdb.InterruptException:
        raise Cancelled from None
    finally:
        done.set()
        con.close()


def _interrupt_on(con: Any, stop: threading.Event, done: threading.Event) -> None:
    """Interrupt ``con``'s statement whenever ``stop`` is set, until ``done`` (a statement started
    after an interrupt is interrupted in turn)."""
    while not done.wait(INTERRUPT_EVERY):
        if stop.is_set():
            try:
                con.interrupt()
            except Exception:  # closed meanwhile
                return


# A Parquet file is small on the wire and may be huge inside: its metadata is read first, and one
# that would decompress past these is refused before anything is decided.
PARQUET_MAX_ROWS = 10_000_000
PARQUET_MAX_UNCOMPRESSED_BYTES = 2**30

# DuckDB reads a CSV by the dialect of decisioning.csv_dialect: nothing detected, the columns by
# position as Python read the header, strict about quotes, rows at most ROW_MAX_CHARS bytes (never
# fewer than Python's characters), trailing empty cells dropped, a short row padded with NULLs.
# A file it reads otherwise, or refuses, is read row by row (CsvNotTabular).
CSV_OPTIONS = (
    "auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"', comment = '', "
    f"strict_mode = true, null_padding = true, encoding = 'utf-8', max_line_size = {ROW_MAX_CHARS}"
)
# What DuckDB's reader takes otherwise than the dialect: two or more spaces before a quote that opens
# a cell (it then reads the quotes as text; one space it skips, as the dialect does), and quoted
# pieces with spaces between them ("a" "b", which it joins). Looked for anywhere, inside quotes too
# (a false alarm only costs the row-by-row reading), with searches for fixed bytes: a regular
# expression that starts with a class of characters is far slower over a large body.
_QUOTES_APART = re.compile(rb'" +"')


def reads_otherwise(data: bytes | mmap.mmap) -> bool:
    """``data`` holds quoting DuckDB reads otherwise than the dialect."""
    if _QUOTES_APART.search(data):
        return True
    at = data.find(b'  "')
    while at >= 0:
        start = at
        while start > 0 and data[start - 1] == 0x20:
            start -= 1
        if start > 0 and data[start - 1] in b",\r\n":  # a cell's start (the header's first: DuckDB skips it)
            return True
        at = data.find(b'  "', at + 3)
    return False


def _source_relation(
    con: Any, path: Path, fmt: str, wanted: Collection[str] | None = None
) -> tuple[str, dict[str, str]]:
    """The file as a relation of ``#row`` (from 1; NULL for a CSV, whose reader numbers no rows:
    ``_prepared`` numbers its answers) and its columns (those in ``wanted``, if given), and the
    columns' types. ``CsvNotTabular`` for a CSV DuckDB would not read as the dialect says."""
    quoted = text(str(path))
    if fmt == "csv":
        return _csv_relation(path, quoted, wanted)
    if fmt != "parquet":
        raise BatchError(f"Unknown format '{fmt}'; use csv or parquet.")
    reader = f"read_parquet({quoted}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        rows, size = con.execute(
            f"SELECT (SELECT sum(num_rows) FROM parquet_file_metadata({quoted})), "
            f"(SELECT sum(total_uncompressed_size) FROM parquet_metadata({quoted}))"
        ).fetchone() or (0, 0)
    except Exception as exc:  # duckdb raises many kinds for an unreadable file
        check_stop()
        raise BatchError(f"The Parquet file could not be read: {str(exc).splitlines()[0][:300]}") from None
    if (rows or 0) > PARQUET_MAX_ROWS or (size or 0) > PARQUET_MAX_UNCOMPRESSED_BYTES:
        raise BatchError(
            f"The Parquet file is too large once uncompressed: at most {PARQUET_MAX_ROWS:,} rows and "
            f"{PARQUET_MAX_UNCOMPRESSED_BYTES // 2**20:,} MiB of data are decided at once "
            f"(here {rows or 0:,} rows, {(size or 0) // 2**20:,} MiB); split it."
        )
    columns = {str(row[0]): str(row[1]) for row in described}
    # read in parallel and in order, its row numbers with it
    return f"(SELECT file_row_number + 1 AS {ident('#row')}, * FROM {reader})", columns


def _csv_relation(path: Path, quoted: str, wanted: Collection[str] | None) -> tuple[str, dict[str, str]]:
    header = _csv_header(path)
    names = header.names
    if not header.first_line or len(names) < 2 or _read_otherwise(path):
        # a blank line before the header or a line break in it (DuckDB takes the first line), one
        # column (DuckDB reads a blank line as a row of it), or quoting it reads its own way
        raise CsvNotTabular("The CSV is read row by row.")
    positions = ", ".join(f"{text(f'#{i}')}: 'VARCHAR'" for i in range(len(names)))
    reader = f"read_csv({quoted}, columns = {{{positions}}}, {CSV_OPTIONS})"
    kept = {name: i for i, name in enumerate(names) if name and (wanted is None or name in wanted)}
    selected = ", ".join(f"{ident(f'#{i}')} AS {ident(name)}" for name, i in kept.items())
    nothing = f"NULL AS {ident('#none')}"
    relation = f"(SELECT CAST(NULL AS BIGINT) AS {ident('#row')}, {selected or nothing} FROM {reader})"
    return relation, dict.fromkeys(kept, "VARCHAR")


def _read_otherwise(path: Path) -> bool:
    """The file holds quoting DuckDB reads otherwise than the dialect (``reads_otherwise``)."""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return reads_otherwise(data)


def _csv_header(path: Path) -> Header:
    """The CSV's header as the dialect reads it; ``BatchError`` when the file has no usable one."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            return read_header(handle)
        except CsvProblem as exc:
            raise BatchError(str(exc)) from None


def _undecided(source_format: str, exc: Exception) -> BatchError:
    """What a failure while deciding a file is: for a CSV, one DuckDB could not read as a table (it
    is read as it goes); else the file could not be decided. ``Cancelled`` when it was stopped."""
    check_stop()  # interrupted because the client left: no one to answer
    refused = CsvNotTabular if source_format == "csv" else BatchError
    return refused(f"The file could not be decided: {str(exc).splitlines()[0][:300]}")


def _prepared(
    con: Any,
    compiled: CompiledVersion,
    source: Path,
    source_format: str,
    *,
    at: dt.date,
    stage: int = -1,
    lines: bool = False,
    errors_by_key: bool = False,
) -> str:
    """The batch query over ``source``, its answers in order and numbered from 1, its tables made
    on ``con``."""
    relation, columns = _source_relation(con, source, source_format, compiled.spec.catalog)
    numbered = source_format != "csv"
    setup, query = batch_sql(
        compiled,
        relation,
        columns,
        at=at,
        stage=stage,
        lines=lines,
        numbered=numbered,
        errors_by_key=errors_by_key,
    )
    for statement in setup:
        con.execute(statement)
    if numbered:
        return query
    # DuckDB's CSV reader gives no row numbers, and numbering its rows as they are read (a window)
    # would make the whole query one thread; reading the file into a table first to number them
    # there made a batch slower. So the answers are decided as the file is read, in
    # parallel, into a table in their order, and numbered by its row ids
    decided = ident("#decided")
    try:
        con.execute(f"CREATE TEMP TABLE {decided} AS {query}")
    except Exception as exc:
        raise _undecided(source_format, exc) from None
    first = ident(con.execute(f"DESCRIBE {decided}").fetchall()[0][0])  # the row, or the line
    if lines:
        return f"SELECT CAST(rowid + 1 AS VARCHAR) || {first} AS {first} FROM {decided}"
    return f"SELECT rowid + 1 AS {first}, * EXCLUDE ({first}) FROM {decided}"


def batch_run(
    compiled: CompiledVersion,
    source: Path,
    target: Path,
    *,
    at: dt.date,
    stage: int = -1,
    source_format: str = "csv",
    target_format: str = "csv",
    errors_by_key: bool = False,
) -> int:
    """Decide every row of ``source`` into ``target``; returns the number of rows. With
    ``errors_by_key`` (Parquet only), ``error`` is a list of ``{k: key, m: message}``.

    Raises ``BatchError`` when the file cannot be read at all; bad rows only get an error.
    """
    if target_format not in FORMATS:
        raise BatchError(f"Unknown format '{target_format}'; use csv or parquet.")
    with connect() as con:
        to_csv = target_format == "csv"
        query = _prepared(
            con,
            compiled,
            source,
            source_format,
            at=at,
            stage=stage,
            lines=to_csv,
            errors_by_key=errors_by_key and not to_csv,
        )
        # CSV: the query writes each line itself (batch_sql), so the writer must not quote it again
        options = "FORMAT csv, HEADER true, QUOTE '', ESCAPE ''" if to_csv else "FORMAT parquet"
        try:
            written = con.execute(f"COPY ({query}) TO {text(str(target))} ({options})").fetchone()
        except Exception as exc:
            raise _undecided(source_format, exc) from None
        return int(written[0]) if written else 0


def batch_rows(
    compiled: CompiledVersion, source: Path, *, at: dt.date, stage: int = -1, source_format: str = "csv"
) -> Iterator[tuple[Any, ...]]:
    """The batch's answer rows (``row``, ``error``, then the stage columns), in order, read in chunks;
    ``error`` is None or a list of ``{"k": key, "m": message}`` (``batch_sql``'s ``errors_by_key``)."""
    with connect() as con:
        cursor = con.execute(
            _prepared(con, compiled, source, source_format, at=at, stage=stage, errors_by_key=True)
        )
        while True:
            chunk = cursor.fetchmany(10_000)
            if not chunk:
                break
            yield from chunk


def answer_file_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The rows of an answer file ``batch_run`` wrote as Parquet, in order, read in chunks."""
    with connect() as con:
        cursor = con.execute(f"SELECT * FROM read_parquet({text(str(path))})")
        while chunk := cursor.fetchmany(10_000):
            yield from chunk


def answers_to_parquet(lines: Path, target: Path, header: Sequence[str]) -> None:
    """Write answers given as JSON lines (one object per row, its values under "0", "1", … in
    ``header``'s order: the row, the error, then four per stage) as ``batch_run`` writes Parquet."""
    kinds = ["BIGINT", "VARCHAR"] + ["BOOLEAN", "VARCHAR", "BOOLEAN", "VARCHAR"] * ((len(header) - 2) // 4)
    columns = ", ".join(f"{text(str(i))}: '{kind}'" for i, kind in enumerate(kinds))
    named = ", ".join(f"{ident(str(i))} AS {ident(name)}" for i, name in enumerate(header))
    reader = f"read_json({text(str(lines))}, format = 'newline_delimited', columns = {{{columns}}})"
    with connect() as con:
        con.execute(f"COPY (SELECT {named} FROM {reader}) TO {text(str(target))} (FORMAT parquet)")


def temporary_path(suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix="blueprint-batch-", suffix=suffix)
    os.close(handle)
    return Path(name)


# --- Coverage: how a sample of customers spreads over the offers --------------------------------------

ERRORS_LISTED = 20


def coverage_counts(
    compiled: CompiledVersion, source: Path, *, at: dt.date, source_format: str = "csv"
) -> dict[str, Any]:
    """Per stage: how many rows of the sample are not in it, get each offer, the fallback, or
    nothing; how many rows are bad (not counted in any stage), with the first few errors."""
    with connect() as con:
        query = _prepared(con, compiled, source, source_format, at=at)
        try:
            con.execute(f"CREATE TEMP TABLE answers AS {query}")
            total, bad = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {ident(ERROR)} IS NOT NULL) FROM answers"
            ).fetchone() or (0, 0)
            errors = con.execute(
                f"SELECT {ident(ROW)}, {ident(ERROR)} FROM answers WHERE {ident(ERROR)} IS NOT NULL "
                f"ORDER BY {ident(ROW)} LIMIT {ERRORS_LISTED}"
            ).fetchall()
            counted = {}
            for st in compiled.spec.stages:
                entered, offer, _, _ = (ident(c) for c in stage_columns(st.key))
                counted[st.key] = dict(
                    con.execute(
                        f"SELECT {offer}, count(*) FROM answers WHERE {ident(ERROR)} IS NULL AND {entered} "
                        f"GROUP BY {offer}"
                    ).fetchall()
                )
        except Exception as exc:
            raise _undecided(source_format, exc) from None
        return coverage_answer(
            compiled, int(total), int(bad), [{"row": int(r), "error": str(e)} for r, e in errors], counted
        )


def coverage_answer(
    compiled: CompiledVersion,
    total: int,
    bad: int,
    errors: list[dict[str, Any]],
    counted: Mapping[str, Mapping[str | None, int]],
) -> dict[str, Any]:
    """The coverage of a sample of ``total`` rows, ``bad`` of them with errors (the first few
    ``errors``), from how many good rows entered each stage with each offer (None: no offer)."""
    stages = []
    for st in compiled.spec.stages:
        by_offer = counted.get(st.key, {})
        in_stage = sum(by_offer.values())
        fallback_key = next((o.key for o in st.offers if o.fallback), None)
        stages.append(
            {
                "stage": st.key,
                "name": st.name,
                "entered": in_stage,
                "not_entered": total - bad - in_stage,
                "offers": [
                    {
                        "offer": o.key,
                        "name": o.name,
                        "fallback": o.fallback,
                        "count": int(by_offer.get(o.key, 0))
                        if (not o.fallback or o.key == fallback_key)
                        else 0,
                    }
                    for o in st.offers
                ],
                "none": int(by_offer.get(None, 0)),
            }
        )
    return {"rows": total, "bad_rows": bad, "errors": errors, "stages": stages}
