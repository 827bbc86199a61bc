"""Batch decisions as streams: profiles in (a JSON list, CSV rows, a CSV or Parquet file), one
answer per profile out, in order, as JSON or CSV, produced while the client reads them.

A bad profile gets an ``error`` naming its fields and does not stop the others. Small CSV bodies
are decided row by row by the compiled engine; large ones (and Parquet) by DuckDB over the same
rules (``decisioning.duckdb_sql``), which the tests hold to identical answers.

CSV answers have the columns ``row, error`` and, per stage, ``<stage>.entered``,
``<stage>.offer``, ``<stage>.fallback``, ``<stage>.eligible`` (keys joined by ``|``). JSON answers
are ``{"version", "at", "results": [{"row", "decisions"} | {"row", "error": {"detail", "errors"}}]}``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from decisioning.budget import Cancelled, check_stop
from decisioning.csv_dialect import BadRecord, CsvProblem, read_header, records
from decisioning.duckdb_run import (
    ERRORS_LISTED,
    BatchError,
    CsvNotTabular,
    answer_file_rows,
    answers_to_parquet,
    batch_run,
    coverage_answer,
    coverage_counts,
    temporary_path,
)
from decisioning.duckdb_sql import ERROR, ROW
from decisioning.engine import CompiledVersion
from decisioning.outcomes import StageDecision
from decisioning.profiles import ProfileProblems
from decisioning.sql import stage_columns

logger = logging.getLogger(__name__)

# One answer: (row, decisions, problems, explained json); decisions None when problems are given
Answer = tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]

CHUNK = 64 * 1024
# CSV bodies from this size on are decided by DuckDB: its start-up cost outweighs its speed on smaller ones
DUCKDB_FROM_BYTES = 512 * 1024


# --- The policy: what a batch may ask for, and which engine decides it -------------------------------
#
# A body is "json" (a list of profiles), "csv" or "parquet"; the answers are "json", "csv" or
# "parquet". The transports ask these functions and run what they say.

ANSWER_FORMATS = ("json", "csv", "parquet")
# which engine decides a batch (batch_engine)
BY_ROWS = "rows"  # the compiled engine, row by row, while the answer streams
DUCKDB_FILE = "duckdb_file"  # DuckDB decides the whole file into the answer file
DUCKDB_ANSWERS = "duckdb_answers"  # DuckDB decides the whole file, read back as the engine's answers


@dataclass(frozen=True)
class Refusal:
    """An option a batch cannot have, and why."""

    field: str
    message: str


def answers_refusal(answers: str, *, explain: bool) -> Refusal | None:
    """Why these answers cannot be had, or None: explanations come with JSON answers only."""
    if explain and answers != "json":
        return Refusal(
            "explain", "Explanations come with JSON answers only; leave explain out or ask for JSON."
        )
    return None


def body_refusal(body: str, answers: str, *, explain: bool) -> Refusal | None:
    """Why this body cannot give these answers, or None: Parquet answers are written by DuckDB from
    a file, and a Parquet body is decided by DuckDB, which does not explain."""
    if body == "json" and answers == "parquet":
        return Refusal("format", "Parquet answers are for CSV or Parquet bodies; ask for json or csv.")
    if body == "parquet" and explain:
        return Refusal("explain", "Explanations are for JSON or CSV bodies; leave explain out.")
    return None


def batch_engine(body: str, answers: str, size: int) -> str:
    """Which engine decides a batch whose body (of ``size`` bytes) and answers are these: DuckDB
    for a file whose answers are a file (Parquet in or out, or a CSV of ``DUCKDB_FROM_BYTES`` or
    more), or whose body is Parquet; else the compiled engine, row by row. A CSV that DuckDB cannot
    read as a table (``CsvNotTabular``) is read row by row whatever this says."""
    if body == "json":
        return BY_ROWS
    if answers != "json" and (body == "parquet" or answers == "parquet" or size >= DUCKDB_FROM_BYTES):
        return DUCKDB_FILE
    if body == "parquet":
        return DUCKDB_ANSWERS
    return BY_ROWS


def file_format(path: Path) -> str:
    """ "parquet" for a file that starts as Parquet files do, else "csv"."""
    with path.open("rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "csv"


def answer_header(compiled: CompiledVersion, stage: int) -> list[str]:
    return [
        ROW,
        ERROR,
        *(
            c
            for i, s in enumerate(compiled.spec.stages)
            if stage < 0 or i == stage
            for c in stage_columns(s.key)
        ),
    ]


def csv_cells(compiled: CompiledVersion, decisions: Sequence[StageDecision], stage: int) -> list[str]:
    """The stage columns of one answer, as the SQL path writes them."""
    by_key = {d.stage: d for d in decisions}
    cells: list[str] = []
    for i, s in enumerate(compiled.spec.stages):
        if stage >= 0 and i != stage:
            continue
        d = by_key.get(s.key)
        if d is None or not d.entered:
            cells += ["false", "", "false", ""]
        else:
            cells += ["true", d.offer or "", "true" if d.fallback else "false", "|".join(d.eligible)]
    return cells


def error_text(problems: ProfileProblems) -> str:
    """A row's problems in one cell: "age: Expected … / vip: Expected …" (as the SQL path writes them)."""
    return " / ".join(
        f"{path.removeprefix('profile.')}: {' '.join(messages)}"
        for path, messages in problems.problems.items()
    )


def error_json(row: int, problems: ProfileProblems) -> dict[str, Any]:
    errors = {path.removeprefix("profile."): messages for path, messages in problems.problems.items()}
    return {"detail": f"Row {row}: {error_text(problems)}", "errors": errors}


# --- Profiles in ------------------------------------------------------------------------------------


def csv_profiles(text: IO[str]) -> Iterator[dict[str, str] | str]:
    """The data rows of a CSV text (``decisioning.csv_dialect``) as column name → cell; a row the
    dialect cannot read, or with more cells than the header (other than empty ones: a spreadsheet's
    trailing separators, which DuckDB drops too), is a message instead. Never raises: a text whose
    header ``csv_problem`` would refuse has no rows."""
    try:
        names = read_header(text).names
    except CsvProblem:
        return
    width = len(names)
    named = [(i, name) for i, name in enumerate(names) if name]
    for cells in records(text):
        if isinstance(cells, BadRecord):
            yield cells.message
            continue
        if len(cells) > width and any(cell.strip(" ") for cell in cells[width:]):
            yield f"The row has {len(cells)} cells; the header has {width}."
            continue
        yield {name: cells[i] for i, name in named if i < len(cells)}


def csv_problem(path: Path) -> str | None:
    """Why a CSV file cannot be read at all (not UTF-8, no usable header), or None; checked before
    an answer starts, so that nothing later can refuse the whole file."""
    problem = utf8_problem(path)
    if problem:
        return problem
    with path.open(encoding="utf-8-sig", newline="") as text:
        try:
            read_header(text)
        except CsvProblem as exc:
            return str(exc)
    return None


def utf8_problem(path: Path) -> str | None:
    """None when the file is UTF-8, else where it stops being."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return f"The CSV is not UTF-8 text (byte {offset + exc.start + 1} cannot be read)."
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "The CSV is not UTF-8 text (it ends in the middle of a character)."
    return None


# --- Answers out ------------------------------------------------------------------------------------


_CSV_QUOTED = re.compile(r'[,"#\r\n]')


def _csv_cell(value: Any) -> str:
    """A value as a CSV cell, quoted as DuckDB's writer (``sql._csv_field``) quotes it: when it holds
    a separator, a quote, a # or a line break (Python's writer, told lines end in \\n, leaves a
    lone \\r bare, which ends the row for most readers)."""
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if _CSV_QUOTED.search(text) else text


def _csv_line(cells: Sequence[Any]) -> bytes:
    return (",".join(_csv_cell(cell) for cell in cells) + "\n").encode()


# A fault while an answer streams cannot change its status any more: the answer ends in a
# well-formed way that says so (JSON: an "error" beside the results; CSV: a last row without a
# number), the fault is logged, and the client knows the rows after the last one are missing.
STOPPED = (
    "The answer stops here, after row {row}: the rows after it could not be decided (a fault on our "
    "side, which has been logged). Send them again."
)
ROW_FAULT = "This row could not be decided (a fault on our side, which has been logged)."


def python_answers(
    compiled: CompiledVersion,
    rows: Iterable[Any],
    *,
    at: dt.date,
    stage: int,
    explain: bool,
    csv_input: bool,
) -> Iterator[Answer]:
    """(row, decisions, problems, explained json) per profile, by the compiled engine."""
    key = compiled.stage_keys[stage] if stage >= 0 else None
    for number, profile in enumerate(rows, start=1):
        check_stop()  # the client left: a long batch stops at its next row
        if isinstance(profile, str):
            yield number, None, ProfileProblems(profile, field="row"), None
            continue
        try:
            if explain:
                body = compiled.decide(profile, stage=key, at=at, explain=True, csv=csv_input)
                yield number, body.decisions, None, body.as_json()
            elif csv_input:
                checked = compiled.check(profile, csv=True)
                yield number, compiled.decide_checked(checked, at, stage), None, None
            else:
                yield number, compiled.decide(profile, stage=key, at=at).decisions, None, None
        except ProfileProblems as problems:
            yield number, None, problems, None
        except Cancelled:  # the client left: no answer for anyone
            raise
        except Exception:  # one odd row must not end the others' answers
            logger.exception("Batch row %s could not be decided", number)
            yield number, None, ProfileProblems(ROW_FAULT, field="row"), None


def stream_json(
    compiled: CompiledVersion,
    answers: Iterable[Answer],
    *,
    at: dt.date,
) -> Iterator[bytes]:
    head = {"version": compiled.version, "at": at.isoformat()}
    yield (json.dumps(head)[:-1] + ', "results": [\n').encode()
    first = True
    last = 0
    try:
        for row, decisions, problems, explained in answers:
            if problems is not None:
                item: dict[str, Any] = {"row": row, "error": error_json(row, problems)}
            elif explained is not None:
                item = {"row": row, "decisions": explained["decisions"], "skipped": explained["skipped"]}
            else:
                item = {"row": row, "decisions": [d.as_json() for d in decisions or ()]}
            chunk = (("" if first else ",\n") + json.dumps(item, ensure_ascii=False)).encode()
            yield chunk
            first, last = False, row
    except Cancelled:
        return  # the client left: there is no one to tell
    except Exception:
        logger.exception("A JSON batch answer stopped after row %s", last)
        message = STOPPED.format(row=last)
        stopped = {"detail": message, "errors": {"results": [message]}}
        yield f'\n], "error": {json.dumps(stopped, ensure_ascii=False)}}}\n'.encode()
        return
    yield b"\n]}\n"


def stream_csv(
    compiled: CompiledVersion,
    answers: Iterable[Answer],
    *,
    stage: int,
) -> Iterator[bytes]:
    header = answer_header(compiled, stage)
    yield _csv_line(header)
    blank = [""] * (len(header) - 2)
    batch: list[bytes] = []
    last = 0
    try:
        for row, decisions, problems, _ in answers:
            if problems is not None:
                batch.append(_csv_line([row, error_text(problems), *blank]))
            else:
                batch.append(_csv_line([row, "", *csv_cells(compiled, decisions or [], stage)]))
            last = row
            if len(batch) >= 500:
                yield b"".join(batch)
                batch = []
    except Cancelled:
        return
    except Exception:
        logger.exception("A CSV batch answer stopped after row %s", last)
        batch.append(_csv_line(["", STOPPED.format(row=last), *blank]))
    if batch:
        yield b"".join(batch)


def python_parquet(compiled: CompiledVersion, answers: Iterable[Answer], *, stage: int) -> Path:
    """The engine's answers as the Parquet file DuckDB writes for them, in a temporary file (the
    caller streams and removes it): for a CSV DuckDB does not read, asked for Parquet answers."""
    header = answer_header(compiled, stage)
    lines = temporary_path(".jsonl")
    target = temporary_path(".parquet")
    try:
        with lines.open("w", encoding="utf-8") as out:
            for row, decisions, problems, _ in answers:
                values: list[Any] = [row, error_text(problems)] if problems is not None else [row, None]
                if problems is not None:
                    values += [None] * (len(header) - 2)
                else:
                    values += _parquet_cells(compiled, decisions or [], stage)
                out.write(json.dumps(dict(enumerate(values)), ensure_ascii=False) + "\n")
        answers_to_parquet(lines, target, header)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        lines.unlink(missing_ok=True)
    return target


def _parquet_cells(compiled: CompiledVersion, decisions: Sequence[StageDecision], stage: int) -> list[Any]:
    """The stage columns of one answer as DuckDB types them (``csv_cells``, typed)."""
    by_key = {d.stage: d for d in decisions}
    cells: list[Any] = []
    for i, s in enumerate(compiled.spec.stages):
        if stage >= 0 and i != stage:
            continue
        d = by_key.get(s.key)
        if d is None or not d.entered:
            cells += [False, None, False, ""]
        else:
            cells += [True, d.offer, d.fallback, "|".join(d.eligible)]
    return cells


def stream_file(path: Path, *, cleanup: Sequence[Path] = ()) -> Iterator[bytes]:
    """A file's bytes in chunks; the files in ``cleanup`` are removed once it has been read (or the
    client went away)."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        for leftover in cleanup:
            leftover.unlink(missing_ok=True)


def duckdb_file(
    compiled: CompiledVersion,
    source: Path,
    *,
    at: dt.date,
    stage: int,
    source_format: str,
    target_format: str,
    errors_by_key: bool = False,
) -> Path:
    """Decide a whole file with DuckDB into a temporary file (the caller streams and removes it);
    with ``errors_by_key`` (Parquet only) each row's ``error`` is a list of ``{k, m}``."""
    target = temporary_path("." + target_format)
    try:
        batch_run(
            compiled,
            source,
            target,
            at=at,
            stage=stage,
            source_format=source_format,
            target_format=target_format,
            errors_by_key=errors_by_key,
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    return target


def duckdb_answers(
    compiled: CompiledVersion, source: Path, *, at: dt.date, stage: int, source_format: str
) -> Iterator[Answer]:
    """The DuckDB answers of a file as the engine's decisions (for JSON answers). The whole file is
    decided when this is called (``BatchError`` then, before any answer starts); the answers are
    read back as they are iterated."""
    decided = duckdb_file(
        compiled,
        source,
        at=at,
        stage=stage,
        source_format=source_format,
        target_format="parquet",
        errors_by_key=True,
    )
    return _decided_answers(compiled, decided, stage)


def _decided_answers(compiled: CompiledVersion, decided: Path, stage: int) -> Iterator[Answer]:
    keys = [s.key for i, s in enumerate(compiled.spec.stages) if stage < 0 or i == stage]
    try:
        for values in answer_file_rows(decided):
            row, error = int(values[0]), values[1]
            if error is not None:
                problems = ProfileProblems({f"profile.{e['k']}": [e["m"]] for e in error})
                yield row, None, problems, None
                continue
            decisions: list[StageDecision] = []
            for i, key in enumerate(keys):
                entered, offer, fallback, eligible = values[2 + 4 * i : 6 + 4 * i]
                if entered or stage >= 0:
                    decisions.append(
                        StageDecision(
                            key,
                            bool(entered),
                            offer,
                            bool(fallback),
                            tuple(eligible.split("|")) if eligible else (),
                        )
                    )
            yield row, decisions, None, None
    finally:
        decided.unlink(missing_ok=True)


# --- Coverage ---------------------------------------------------------------------------------------


def file_coverage(
    compiled: CompiledVersion, source: Path, *, at: dt.date, source_format: str
) -> dict[str, Any]:
    """``sample_coverage`` of an uploaded sample, whose CSV is checked first: ``BatchError`` for a
    file that cannot be read at all."""
    if source_format == "csv" and (problem := csv_problem(source)):
        raise BatchError(problem)
    return sample_coverage(compiled, source, at=at, source_format=source_format)


def sample_coverage(
    compiled: CompiledVersion, source: Path, *, at: dt.date, source_format: str
) -> dict[str, Any]:
    """How a sample spreads over the offers (``sql.coverage_counts``): by DuckDB, or, for a CSV it
    cannot read as a table, row by row by the engine, with the same counts and messages."""
    try:
        return coverage_counts(compiled, source, at=at, source_format=source_format)
    except CsvNotTabular:
        with source.open(encoding="utf-8-sig", newline="") as text:
            answers = python_answers(
                compiled, csv_profiles(text), at=at, stage=-1, explain=False, csv_input=True
            )
            return coverage_of(compiled, answers)


def coverage_of(
    compiled: CompiledVersion,
    answers: Iterable[Answer],
) -> dict[str, Any]:
    """``sql.coverage_counts``'s answer, counted from the engine's answers."""
    total = bad = 0
    errors: list[dict[str, Any]] = []
    entered: dict[str, dict[str | None, int]] = {st.key: {} for st in compiled.spec.stages}
    for row, decisions, problems, _ in answers:
        total += 1
        if problems is not None:
            bad += 1
            if len(errors) < ERRORS_LISTED:
                errors.append({"row": row, "error": error_text(problems)})
            continue
        for d in decisions or ():
            if d.entered:
                counts = entered[d.stage]
                counts[d.offer] = counts.get(d.offer, 0) + 1
    return coverage_answer(compiled, total, bad, errors, entered)
