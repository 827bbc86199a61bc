"""Batch decisions as streams: profiles in (a JSON list, CSV rows, a CSV or Parquet file), one
answer per profile out, in order, as JSON or CSV, produced while the client reads them.

A bad profile gets an ``error`` naming its fields and does not stop the others. Small CSV bodies
are decided row by row by the compiled engine; large ones (and Parquet) by DuckDB over the same
rules (``decisioning.sql``), which the tests hold to identical answers.

CSV answers have the columns ``row, error`` and, per stage, ``<stage>.entered``,
``<stage>.offer``, ``<stage>.fallback``, ``<stage>.eligible`` (keys joined by ``|``). JSON answers
are ``{"version", "at", "results": [{"row", "decisions"} | {"row", "error": {"detail", "errors"}}]}``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from decisioning.engine import CompiledVersion, ProfileProblems, StageDecision
from decisioning.sql import (
    ERROR,
    ERRORS_LISTED,
    ROW,
    CsvNotTabular,
    batch_rows,
    batch_run,
    coverage_answer,
    coverage_counts,
    stage_columns,
    temporary_path,
)

CHUNK = 64 * 1024
# CSV bodies from this size on are decided by DuckDB (its start-up costs ~20 ms; it then runs far faster)
DUCKDB_FROM_BYTES = 512 * 1024


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
    """The data rows of a CSV text as header → cell; a row with more cells than the header is a
    message instead, unless the surplus cells are all empty (a spreadsheet's trailing separators:
    DuckDB reads such a row as its first cells, and so does this). Empty lines are skipped."""
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    width = len(header)
    for cells in reader:
        if not cells:
            continue
        if len(cells) > width:
            if any(cells[width:]):
                yield f"The row has {len(cells)} cells; the header has {width}."
                continue
            del cells[width:]
        yield dict(zip(header, cells, strict=False))


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


def _csv_line(cells: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode()


def python_answers(
    compiled: CompiledVersion,
    rows: Iterable[Any],
    *,
    at: dt.date,
    stage: int,
    explain: bool,
    csv_input: bool,
) -> Iterator[tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]]:
    """(row, decisions, problems, explained json) per profile, by the compiled engine."""
    key = compiled.stage_keys[stage] if stage >= 0 else None
    for number, profile in enumerate(rows, start=1):
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


def stream_json(
    compiled: CompiledVersion,
    answers: Iterable[tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]],
    *,
    at: dt.date,
) -> Iterator[bytes]:
    head = {"version": compiled.version, "at": at.isoformat()}
    yield (json.dumps(head)[:-1] + ', "results": [\n').encode()
    first = True
    for row, decisions, problems, explained in answers:
        if problems is not None:
            item: dict[str, Any] = {"row": row, "error": error_json(row, problems)}
        elif explained is not None:
            item = {"row": row, "decisions": explained["decisions"], "skipped": explained["skipped"]}
        else:
            item = {"row": row, "decisions": [d.as_json() for d in decisions or ()]}
        yield (("" if first else ",\n") + json.dumps(item, ensure_ascii=False)).encode()
        first = False
    yield b"\n]}\n"


def stream_csv(
    compiled: CompiledVersion,
    answers: Iterable[tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]],
    *,
    stage: int,
) -> Iterator[bytes]:
    header = answer_header(compiled, stage)
    yield _csv_line(header)
    blank = [""] * (len(header) - 2)
    batch: list[bytes] = []
    for row, decisions, problems, _ in answers:
        if problems is not None:
            batch.append(_csv_line([row, error_text(problems), *blank]))
        else:
            batch.append(_csv_line([row, "", *csv_cells(compiled, decisions or [], stage)]))
        if len(batch) >= 500:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


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
) -> Path:
    """Decide a whole file with DuckDB into a temporary file (the caller streams and removes it)."""
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
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    return target


def duckdb_answers(
    compiled: CompiledVersion, source: Path, *, at: dt.date, stage: int, source_format: str
) -> Iterator[tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]]:
    """The DuckDB answers of a file as the engine's decisions (for JSON answers)."""
    keys = [s.key for i, s in enumerate(compiled.spec.stages) if stage < 0 or i == stage]
    for values in batch_rows(compiled, source, at=at, stage=stage, source_format=source_format):
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


# --- Coverage ---------------------------------------------------------------------------------------


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
    answers: Iterable[tuple[int, list[StageDecision] | None, ProfileProblems | None, dict[str, Any] | None]],
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
