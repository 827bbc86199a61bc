"""The batch query's cells (``decisioning.duckdb_sql``): its constants, and every raw cell read and
checked exactly as ``decisioning.profiles.check_value`` reads and checks a value — the same
accepted forms and the same messages, written as DuckDB expressions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from decisioning.conditions import AttributeSpec
from decisioning.profiles import DATE_FORM, FALSE_WORDS, NUMBER_FORM, SET_SEPARATOR, TRUE_WORDS, expected_form
from decisioning.sql import ident, text

# --- The DuckDB batch: what DuckDB is slow at ----------------------------------------------------------
#
# The batch query below is DuckDB's alone (the portable query above is what a warehouse runs). Four
# things DuckDB is slow at are kept out of the rows' path: a CASE around other work (its branches run
# several times slower than the same expression alone); a list written in the query (made into a vector
# again for every 2,048 rows: the lists live in a one-row table, #k, joined in); an IN list, or a
# list_contains on a written list, of six values or more (planned as a join, which loses the rows'
# order); and the CSV writer's cost per field (the query writes each CSV line itself).

WORD = 64
CHUNK = 8  # offers per lookup: lists of 2^8 answers
MAX_CELLS = 4096  # cells of a number's grid
SET_LOOKUP_ELEMENTS = 10  # up to this many named elements, a set's pieces are every subset of them
EPOCH = dt.date(1970, 1, 1).toordinal()
CONSTANTS = ident("#k")
LIST_SEPARATOR = "\x1f"  # the unit separator: no key has one
CAST_INT = "CAST({} AS INTEGER)"


def ubigint(value: int) -> str:
    return f"CAST({value} AS UBIGINT)"


def sql_list(values: Sequence[Any], kind: str) -> str:
    """A list literal of type ``kind[]`` (None is NULL, an infinite DOUBLE infinity). Long literal
    lists cost DuckDB's parser a millisecond per thousand elements, so a list of numbers, or of
    texts without the separator, is one text split apart."""
    if not values:
        return f"CAST([] AS {kind}[])"
    if kind in ("UBIGINT", "INTEGER", "DOUBLE"):
        cells = [
            ("inf" if not math.isfinite(v) else repr(float(v))) if kind == "DOUBLE" else str(v)
            for v in values
        ]
        return f"CAST(string_split({text(','.join(cells))}, ',') AS {kind}[])"
    nulls = None in values  # written as empty texts, so none may be one
    if len(values) > 8 and not any(
        v is not None and (LIST_SEPARATOR in v or (nulls and v == "")) for v in values
    ):
        joined = LIST_SEPARATOR.join("" if v is None else v for v in values)
        split = f"string_split({text(joined)}, {text(LIST_SEPARATOR)})"
        if nulls:
            split = f"list_transform({split}, lambda e: NULLIF(e, ''))"
        return f"CAST({split} AS {kind}[])"
    return f"CAST([{', '.join('NULL' if v is None else text(v) for v in values)}] AS {kind}[])"


class Constants:
    """The lists the query looks values up in: the columns of the one-row table ``#k``, which each
    projection that reads one joins; and the statements that make it (and the types it uses)."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.setup: list[str] = []

    def add(self, literal: str) -> str:
        self.columns.append(literal)
        return f'k."k:{len(self.columns) - 1}"'

    def statements(self) -> list[str]:
        named = [f"{expression} AS {ident(f'k:{n}')}" for n, expression in enumerate(self.columns)]
        select = ", ".join(named) if named else "NULL AS " + ident("k:none")
        return [*self.setup, f"CREATE TEMP TABLE {CONSTANTS} AS SELECT {select}"]


# --- The DuckDB batch, 1: every cell checked, exactly as decisioning.profiles.check_value does -------------
#
# Each cell is trimmed once, then parsed once, then checked; every step is its own projection, so no
# expression is computed twice for a row (a nested expression that names a sub-expression twice is
# evaluated twice by DuckDB). The common, well-formed cell takes the cheap test; anything else takes
# the exact, slower one, whose answer (and message) is the engine's.


def _re(pattern: str) -> str:
    return text(pattern)


NUMBER_RE = _re(NUMBER_FORM.pattern)
DATE_RE = _re(DATE_FORM.pattern)


Q = "'"  # the quote the messages put around a cell, as decisioning.engine's do


def _not_a_choice(attr: AttributeSpec, expected: str) -> str:
    """The end of a choice's message, after the cell: ``' is not a choice of <label>; expected ….``"""
    return text(f"{Q} is not a choice of {attr.label}; expected {expected}.")


def _short_sql(x: str) -> str:
    """profiles.short_text: at most 40 characters, else 37 and an ellipsis."""
    return f"CASE WHEN length({x}) <= 40 THEN {x} ELSE left({x}, 37) || '…' END"


def _trimmed(raw: str) -> str:
    """The cell without surrounding spaces, NULL when blank (a missing value). ``trim`` is costly
    in DuckDB, so only cells that start or end with a space go through it."""
    return f"CASE WHEN prefix({raw}, ' ') OR suffix({raw}, ' ') THEN NULLIF(trim({raw}, ' '), '') ELSE NULLIF({raw}, '') END"


@dataclass
class _Cell:
    """One attribute's cell through the checking projections: ``first`` reads the raw column (a text
    column is trimmed there, into ``t``); ``parsed`` names what is costly to compute, once, over
    ``t``; then ``value`` is the checked value (used only for rows without errors) and ``error`` the
    message (None when no cell can be wrong), over ``t`` and the parsed columns."""

    first: str
    value: str
    error: str | None
    parsed: dict[str, str] = field(default_factory=dict)


def _text_cell(attr: AttributeSpec, raw: str, t: str, constants: Constants) -> _Cell:
    expected = expected_form(attr, True)
    got = f"{text(f'Expected {expected}; got ' + Q)} || {_short_sql(t)} || '''.'"
    first = _trimmed(raw)
    key = attr.key
    if attr.type == "number":
        n, ok = ident(f"n:{key}"), ident(f"ok:{key}")
        out_of_range = f"{text(f'Expected {expected}; ' + Q)} || {_short_sql(t)} || ''' is out of range.'"
        error = (
            f"CASE WHEN {t} IS NULL THEN NULL WHEN NOT {ok} THEN {got} "
            f"WHEN NOT isfinite({n}) THEN {out_of_range} END"
        )
        parsed = {n: f"TRY_CAST({t} AS DOUBLE)", ok: f"regexp_full_match({t}, {NUMBER_RE})"}
        return _Cell(first, n, error, parsed)
    if attr.type == "boolean":
        words = constants.add(sql_list([*TRUE_WORDS, *FALSE_WORDS], "VARCHAR"))
        trues = constants.add(sql_list(TRUE_WORDS, "VARCHAR"))
        low = ident(f"n:{key}")
        return _Cell(
            first,
            f"list_contains({trues}, {low})",
            f"CASE WHEN NOT list_contains({words}, {low}) THEN {got} END",
            {low: f"lower({t})"},
        )
    if attr.type == "date":
        d, ok = ident(f"n:{key}"), ident(f"ok:{key}")
        parsed = {
            d: f"TRY_CAST(substr({t}, 1, 10) AS DATE)",
            ok: f"regexp_full_match({t}, {DATE_RE}) AND substr({t}, 1, 4) <> '0000'",
        }
        error = f"CASE WHEN {t} IS NULL THEN NULL WHEN NOT ({ok} AND {d} IS NOT NULL) THEN {got} END"
        return _Cell(first, d, error, parsed)
    if attr.type == "set":
        elements = (
            f"list_filter(list_transform(string_split({t}, '|'), lambda e: trim(e, ' ')), lambda e: e <> '')"
        )
        # well formed: no spaces around an element, no empty one between two; in a closed set, each a choice
        if attr.choices:
            one = "|".join(_re_literal(c) for c in _plain_choices(attr))
            fast = f"regexp_full_match({t}, {text(f'(?:{one})(?:[|](?:{one}))*')})" if one else "FALSE"
        else:
            fast = f"regexp_full_match({t}, '[^| ]+(?:[|][^| ]+)*')"
        ok = ident(f"ok:{key}")
        value = f"CASE WHEN {ok} THEN string_split({t}, '|') ELSE {elements} END"
        if not attr.choices:
            return _Cell(first, value, None, {ok: fast})
        error = _set_choice_error(attr, expected, elements, constants)
        return _Cell(first, value, f"CASE WHEN {t} IS NULL OR {ok} THEN NULL ELSE {error} END", {ok: fast})
    if attr.choices:  # a choice, or a text with a list of values: profiles.check_value refuses others
        choices = constants.add(sql_list(attr.choices, "VARCHAR"))
        bad = f"'''' || {_short_sql(t)} || {_not_a_choice(attr, expected)}"
        return _Cell(first, t, f"CASE WHEN NOT list_contains({choices}, {t}) THEN {bad} END")
    return _Cell(first, t, None)


def _set_choice_error(attr: AttributeSpec, expected: str, elements: str, constants: Constants) -> str:
    """The message for the first element that is not a choice, NULL when there is none."""
    choices = constants.add(sql_list(attr.choices, "VARCHAR"))
    first_bad = f"list_filter({elements}, lambda e: NOT list_contains({choices}, e))[1]"
    message = f"'''' || {_short_sql(first_bad)} || {_not_a_choice(attr, expected)}"
    return f"CASE WHEN {first_bad} IS NOT NULL THEN {message} END"


def _plain_choices(attr: AttributeSpec) -> list[str]:
    """The choices a well-formed element is as it stands: not empty, no separator, no spaces around."""
    return [c for c in attr.choices if c and SET_SEPARATOR not in c and c == c.strip(" ")]


def _re_literal(value: str) -> str:
    """A regular expression (RE2) that matches exactly ``value``."""
    return "".join(ch if ch.isalnum() else f"\\x{{{ord(ch):x}}}" for ch in value)


NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)


def typed_cell(attr: AttributeSpec, raw: str, column_type: str, t: str, constants: Constants) -> _Cell:
    """A Parquet column of its own type: taken as it is when the type fits the attribute, else refused."""
    upper = column_type.upper()
    if upper == "VARCHAR":
        return _text_cell(attr, raw, t, constants)
    expected = expected_form(attr, True)
    if attr.type == "number" and (upper in NUMERIC_TYPES or upper.startswith("DECIMAL")):
        value = f"CAST({t} AS DOUBLE)"
        finite = f"CASE WHEN NOT isfinite({value}) THEN {text(f'Expected {expected}; the number must be finite.')} END"
        return _Cell(raw, value, finite)
    if attr.type == "boolean" and upper == "BOOLEAN":
        return _Cell(raw, t, None)
    if attr.type == "date" and (upper == "DATE" or upper.startswith("TIMESTAMP")):
        return _Cell(raw, f"CAST({t} AS DATE)", None)
    if attr.type == "set" and upper == "VARCHAR[]":
        elements = (
            f"list_filter(list_transform({t}, lambda e: trim(e, ' ')), lambda e: e IS NOT NULL AND e <> '')"
        )
        if attr.choices:
            plain = _plain_choices(attr)
            fits = (
                f"coalesce(list_contains({constants.add(sql_list(plain, 'VARCHAR'))}, e), FALSE)"
                if plain
                else "FALSE"
            )
        else:
            fits = "coalesce(e <> '' AND NOT contains(e, '|') AND NOT prefix(e, ' ') AND NOT suffix(e, ' '), FALSE)"
        # every element as it should be (an empty list takes the exact path, which keeps it empty)
        ok = ident(f"ok:{attr.key}")
        value = f"CASE WHEN {ok} THEN {t} ELSE {elements} END"
        separator = (
            f"CASE WHEN len(list_filter({t}, lambda e: POSITION('|' IN e) > 0)) > 0 "
            "THEN 'Set elements may not contain ''|'' here.' END"
        )
        if attr.choices:
            separator = f"COALESCE({_set_choice_error(attr, expected_form(attr, True), elements, constants)}, {separator})"
        error = f"CASE WHEN {t} IS NULL OR {ok} THEN NULL ELSE {separator} END"
        return _Cell(raw, value, error, {ok: f"list_bool_and(list_transform({t}, lambda e: {fits}))"})
    wrong = f"CASE WHEN {t} IS NOT NULL THEN {text(f'Expected {expected}; the column is {column_type}.')} END"
    return _Cell(raw, "NULL", wrong)
