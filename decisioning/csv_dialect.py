"""The one CSV dialect Blueprint reads, for the row-by-row path and for DuckDB alike.

A CSV body or sample is UTF-8 text (a byte order mark at its start is ignored):

- rows end at a line break (``\\n``, ``\\r\\n`` or ``\\r``); blank lines are skipped and not
  counted; the last row needs no line break;
- cells are separated by commas; a cell may be put in double quotes, and then holds commas and
  line breaks as text, with ``""`` for one quote;
- spaces before an opening quote and after a closing quote are ignored (``, "Premier" ,`` is
  ``Premier``); any other text after a closing quote (``"5" screen``) is an error of that row; a
  quote inside a cell that does not start with one is text (``5" screen``);
- a quote never closed is an error of the row it opens, which then runs to the end of the file;
- a row holds at most ``ROW_MAX_CHARS`` characters, or is an error of its own;
- the first row names the columns: names are trimmed of spaces, a column with an empty name is
  ignored, a name given twice refuses the file;
- every cell is trimmed of spaces (inside quotes too) by the engine's checks, so ``"  34  "`` is
  34, and an empty cell is a missing value;
- a row with fewer cells than the header has the rest missing; surplus cells that are empty (or
  spaces) are ignored (a spreadsheet's trailing separators), any other surplus is an error.

``records`` implements it; ``decisioning.duckdb_run`` reads the same files with DuckDB under options that
make DuckDB refuse (rather than read otherwise) every file whose reading would differ, and a
refused file is then read here, row by row. The tests hold the two to the same cells.

Pure: no Django, no database; memory stays bounded by ``ROW_MAX_CHARS`` whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

# The longest row read (its characters, separators and quotes included, its line break not). One
# place for the number; DuckDB gets it as max_line_size (bytes, which are never fewer).
ROW_MAX_CHARS = 128 * 1024

SEPARATOR = ","
QUOTE = '"'

_SPACES = re.compile(r" *")
_UNQUOTED = re.compile(r"[^,\r\n]*")
# One cell of a whole line with quotes in it, as the dialect reads it when nothing is odd: quoted
# (spaces around ignored) or not (leading spaces dropped; a quote only after its first character).
_CELL = re.compile(r' *"((?:[^"]|"")*)" *(?=,|$)| *((?:[^ ",][^,]*)?)(?=,|$)')


@dataclass(frozen=True)
class BadRecord:
    """A row that cannot be read as cells; ``message`` says why, for the person who wrote it."""

    message: str


class CsvProblem(Exception):
    """The file as a whole cannot be read (no header row, a header that cannot be used)."""


class _Lines:
    """The text's lines, each read whole when it fits a row (counted, for ``Header.first_line``)."""

    LIMIT = ROW_MAX_CHARS + 2  # a row within the limit, with its line break, comes in one read

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.reads = 0

    def read(self) -> str:
        self.reads += 1
        return self.text.readline(self.LIMIT)


def records(text: IO[str]) -> Iterator[list[str] | BadRecord]:
    """Every row of ``text`` (opened with ``newline=""``) as its cells, in order; a row that breaks
    the dialect as a ``BadRecord``. Never raises for any text."""
    return _records(_Lines(text))


def _records(lines: _Lines) -> Iterator[list[str] | BadRecord]:
    read, limit = lines.read, lines.LIMIT
    while line := read():
        body = _without_line_break(line)
        if not body and body is not line:
            continue  # a blank line
        whole = len(body) <= ROW_MAX_CHARS and (body is not line or len(line) < limit)
        if whole and QUOTE not in line:
            yield body.split(SEPARATOR)
            continue
        cells = _quoted_line(body) if whole else None
        yield cells if cells is not None else _record(line, read)


def _quoted_line(body: str) -> list[str] | None:
    """The cells of a whole line with quotes, when every cell is plainly quoted or plainly not (no
    quote left open, no text after a closing one): what ``_record`` would read, many times faster.
    None otherwise, for ``_record`` to read."""
    cells: list[str] = []
    pos, end = 0, len(body)
    while True:
        match = _CELL.match(body, pos)
        if match is None:
            return None
        quoted = match.group(1)
        cells.append(quoted.replace('""', '"') if quoted is not None else match.group(2))
        pos = match.end()
        if pos == end:
            return cells
        pos += 1  # the separator


def _without_line_break(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


_START, _UNQUOTED_CELL, _QUOTED, _QUOTE_SEEN, _AFTER_QUOTE = range(5)


def _record(chunk: str, read: Callable[[], str]) -> list[str] | BadRecord:
    """One row read cell by cell from ``chunk`` on (reading more while it goes on)."""
    cells: list[str] = []
    cell: list[str] = []
    kept = 0  # characters held in cells: past the limit nothing more is kept
    length = 0  # the row's characters so far
    problem = ""
    state = _START
    pos = 0

    def keep(part: str) -> None:
        nonlocal kept
        if kept <= ROW_MAX_CHARS:
            cell.append(part)
            kept += len(part)

    def close_cell() -> None:
        cells.append("".join(cell))
        cell.clear()

    while True:
        if pos >= len(chunk):
            length += len(chunk)
            chunk, pos = read(), 0
            if not chunk:  # the end of the file ends the row
                if state == _QUOTED:
                    problem = problem or (
                        f'Cell {len(cells) + 1} opens a quote (") that is never closed, so the row '
                        'runs to the end of the file; close it, doubling the quotes inside ("").'
                    )
                close_cell()
                break
            if state == _QUOTE_SEEN:
                if chunk.startswith(QUOTE):
                    keep(QUOTE)
                    state, pos = _QUOTED, 1
                else:
                    state = _AFTER_QUOTE
            continue
        if state == _START:
            pos = _SPACES.match(chunk, pos).end()  # type: ignore[union-attr]
            if pos >= len(chunk):
                continue
            if chunk[pos] == QUOTE:
                state, pos = _QUOTED, pos + 1
            else:
                state = _UNQUOTED_CELL
            continue
        if state == _QUOTED:
            end = chunk.find(QUOTE, pos)
            if end < 0:
                keep(chunk[pos:])  # line breaks inside quotes are text
                pos = len(chunk)
            elif end + 1 < len(chunk) and chunk[end + 1] == QUOTE:
                keep(chunk[pos : end + 1])
                pos = end + 2
            else:
                keep(chunk[pos:end])
                state, pos = (_QUOTE_SEEN if end + 1 == len(chunk) else _AFTER_QUOTE), end + 1
            continue
        if state == _AFTER_QUOTE:
            pos = _SPACES.match(chunk, pos).end()  # type: ignore[union-attr]
            if pos >= len(chunk):
                continue
            if chunk[pos] not in ",\r\n":
                problem = problem or (
                    f"Cell {len(cells) + 1} has text after its closing quote; put the whole cell in "
                    'quotes, doubling the quotes inside ("5"" screen").'
                )
                state = _UNQUOTED_CELL
                continue
        else:  # an unquoted cell: up to the next separator or line break
            stop = _UNQUOTED.match(chunk, pos).end()  # type: ignore[union-attr]
            keep(chunk[pos:stop])
            pos = stop
            if pos >= len(chunk):
                continue
        # at a separator or a line break
        close_cell()
        if chunk[pos] == SEPARATOR:
            state, pos = _START, pos + 1
            continue
        length += pos  # the line break ends the row and does not count
        break
    if problem:  # the cause first: an unclosed quote also makes the row too long
        return BadRecord(problem)
    if length > ROW_MAX_CHARS:
        return BadRecord(f"The row is longer than {ROW_MAX_CHARS:,} characters; split its text.")
    return cells


@dataclass(frozen=True)
class Header:
    names: list[str]  # trimmed of spaces; "" for a column to ignore
    first_line: bool  # the header is the text's first line, whole (no blank line before, no line break in it)


def read_header(text: IO[str]) -> Header:
    """The first row of ``text`` as column names, the text left at the next row; ``CsvProblem`` when
    there is no usable header."""
    lines = _Lines(text)
    first = next(_records(lines), None)
    if first is None:
        raise CsvProblem("The CSV is empty: its first row must name the columns (attribute keys).")
    if isinstance(first, BadRecord):
        raise CsvProblem(f"The CSV's first row (the column names) cannot be read: {first.message}")
    names = [name.strip(" ") for name in first]
    seen: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if not name:
            continue
        if name in seen:
            shown = name if len(name) <= 40 else name[:37] + "…"
            raise CsvProblem(
                f"The CSV names the column '{shown}' twice (columns {seen[name]} and {column}); "
                "each column needs a name of its own."
            )
        seen[name] = column
    return Header(names, lines.reads == 1)
