"""A version as one SQL query, and batch decisions over CSV or Parquet with DuckDB.

``decision_sql(spec, at=…)`` compiles a version into one ``SELECT`` over a relation ``profiles``
with one column per catalog attribute — number: a numeric type, date: DATE, boolean: BOOLEAN,
text and choice: text, set: text with the elements joined by ``|`` — and answers, per stage,
four columns: ``<stage>.entered``, ``<stage>.offer`` (the key, or NULL), ``<stage>.fallback`` and
``<stage>.eligible`` (the matching offers' keys joined by ``|``). Each stage is a CASE expression
over the offers in priority order. NULL is a missing value; because conditions are positive
(only AND and OR, never NOT), SQL's three-valued logic then gives exactly "a condition on a
missing attribute is not met".

The query is PostgreSQL-compatible ANSI SQL (CASE, COALESCE, POSITION, CONCAT_WS, DATE literals
and ``date - INTERVAL 'n' DAY``), which DuckDB, PostgreSQL and most warehouses run as is; it is
what a team exports with a version (``?at`` fixes the decision day, otherwise ``CURRENT_DATE``).

``batch_run(compiled, source, target, …)`` runs the same query in an embedded DuckDB over a CSV or
Parquet file and writes CSV or Parquet: a view first checks every cell by the rules of
``decisioning.profiles.check_value`` (same accepted forms, same messages), so a bad row gets an
``error`` naming its fields and no decision, and the good rows are decided exactly as ``decide``
would decide them.
"""

from __future__ import annotations

import datetime as dt
import math
import mmap
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueprint.conditions import AttributeSpec, Condition, Groups
from decisioning.budget import Cancelled, check_stop, stop_event
from decisioning.codegen import ordered_fails
from decisioning.csv_dialect import ROW_MAX_CHARS, CsvProblem, Header, read_header
from decisioning.engine import CompiledVersion
from decisioning.explain import condition_holds
from decisioning.model import BlueprintSpec, StageSpec
from decisioning.profiles import DATE_FORM, FALSE_WORDS, NUMBER_FORM, SET_SEPARATOR, TRUE_WORDS, expected_form

DIALECT = "PostgreSQL-compatible ANSI SQL (runs as is on DuckDB and PostgreSQL)"
FORMATS = ("csv", "parquet")
ROW = "row"  # the 1-based row number the batch adds
ERROR = "error"


class BatchError(Exception):
    """The file as a whole could not be read (not CSV, not Parquet, unreadable)."""


class CsvNotTabular(BatchError):
    """DuckDB could not read a CSV as rows as wide as its header: a row with more cells than the
    header (which DuckDB either refuses the file for, or reads as an unnamed column), a quote left
    open. Python's CSV reader reads such a file row by row, giving the odd rows an error each, which
    is what the callers do instead (the same answers as for a small body)."""


# --- Literals, names and comments: every text that enters generated SQL ---------------------------------
#
# People's words reach a query as names (``ident``), values (``text``; numbers and dates, ``number`` and
# ``day``, are written from the values the engine holds) and the export's header lines (``comment``).
# Nothing else is interpolated into SQL, so a query is always the statement its generator wrote.

# a backslash, which BigQuery, Spark, Snowflake and MySQL read as an escape (it could end a literal
# early there), and NUL, which C-based tokenizers read as the end of the text
_LITERAL_SPECIAL = re.compile(r"([\\\x00])")
# what ends a line for some reader (Python's str.splitlines, editors, SQL tokenizers)
_LINE_BREAKS = frozenset("\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
_JOINERS = frozenset("\u200c\u200d")  # format characters that scripts and emoji need


def ident(name: str) -> str:
    """A quoted identifier: the name in double quotes, a double quote doubled. The queries name
    only keys (``[a-z0-9_-]``) and names the module makes from them (``m:<key>``, ``#row``)."""
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    """A string value: the standard literal (in single quotes, a single quote doubled), which ends
    where the standard says in every dialect. A backslash or a NUL in the value is written as
    ``CHR(92)`` or ``CHR(0)`` joined to the literal's pieces with ``||``, in parentheses (one
    operand wherever it stands), so a dialect that reads backslash escapes cannot end it early."""
    pieces = _LITERAL_SPECIAL.split(value)
    if len(pieces) == 1:
        return "'" + value.replace("'", "''") + "'"
    parts = [
        f"CHR({ord(piece)})" if _LITERAL_SPECIAL.fullmatch(piece) else "'" + piece.replace("'", "''") + "'"
        for piece in pieces
        if piece
    ]
    return "(" + " || ".join(parts) + ")"


def number(value: int | float) -> str:
    """A numeric literal: an integer as it is, a float as Python writes it (``1e-07`` is SQL too); a
    value that is not finite, which no literal spells, as a cast of its name."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return str(value)
    as_float = float(value)
    if math.isfinite(as_float):
        return repr(as_float)
    name = "NaN" if math.isnan(as_float) else "Infinity" if as_float > 0 else "-Infinity"
    return f"CAST({text(name)} AS DOUBLE PRECISION)"


def day(value: str | dt.date) -> str:
    """A DATE literal of a date, or of a text the engine reads as one (``YYYY-MM-DD``)."""
    date = value if isinstance(value, dt.date) else dt.date.fromisoformat(value.strip())
    return f"DATE {text(date.isoformat())}"


def comment(line: str) -> str:
    """One ``--`` comment line (with its line break) of any text: a line break of any convention or a
    tab becomes a space, and every other control, format character (the direction marks that make
    a line read in another order than it runs among them) and lone surrogate becomes U+FFFD, so
    nothing ends the comment before its line does, or hides what the line says."""
    shown = []
    for ch in line:
        if ch in _LINE_BREAKS or ch == "\t":
            shown.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch not in _JOINERS:
            shown.append("\ufffd")
        else:
            shown.append(ch)
    return ("-- " + "".join(shown)).rstrip() + "\n"


def stage_columns(key: str) -> list[str]:
    return [f"{key}.entered", f"{key}.offer", f"{key}.fallback", f"{key}.eligible"]


# --- The decision query -----------------------------------------------------------------------------


@dataclass
class _Query:
    spec: BlueprintSpec
    at: dt.date | None  # None: CURRENT_DATE, where the query runs

    def condition(self, c: Condition) -> str:
        attr = self.spec.catalog[c.attribute]
        col = "p." + ident(c.attribute)
        op, value = c.operator, c.value
        if attr.type == "set":
            elements = value if isinstance(value, list) else [value]
            # an element holding the separator cannot be told apart in the joined text: no profile
            # read from CSV or Parquet has one (the batch refuses them), so it never holds
            usable = [e for e in elements if SET_SEPARATOR not in e]
            if not usable:
                return "FALSE"
            tests = [f"POSITION({text('|' + e + '|')} IN '|' || {col} || '|') > 0" for e in usable]
            return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
        if attr.type == "date":
            if op == "within_last_days":
                if self.at is None:
                    return f"{col} BETWEEN CURRENT_DATE - INTERVAL '{int(value)}' DAY AND CURRENT_DATE"
                days = int(value)
                # no date lies before the calendar's first day: the window starts there at the latest
                low = self.at - dt.timedelta(days=days) if days < self.at.toordinal() else dt.date.min
                return f"{col} BETWEEN {day(low)} AND {day(self.at)}"
            literal = day
        elif attr.type == "number":
            literal = number  # type: ignore[assignment]
        else:
            literal = text  # type: ignore[assignment]
        if op == "at_least":
            return f"{col} >= {literal(value)}"
        if op == "at_most":
            return f"{col} <= {literal(value)}"
        if op == "between":
            return f"{col} BETWEEN {literal(value[0])} AND {literal(value[1])}"
        if op == "is":
            if attr.type == "boolean":
                return f"{col} = {'TRUE' if value else 'FALSE'}"
            return f"{col} = {literal(value)}"
        if op == "is_one_of":
            return f"{col} IN ({', '.join(literal(v) for v in value)})"
        raise AssertionError(f"unknown operator {op}")

    def groups(self, groups: Groups) -> str:
        if not groups:
            return "TRUE"
        parts = [" AND ".join(self.condition(c) for c in group) for group in groups]
        if len(parts) == 1:
            return parts[0]
        return " OR ".join(f"({p})" for p in parts)

    def sql(self, *, source: str, keep: Sequence[str] | None, stage: int) -> str:
        # Three projections, innermost first: who is in each stage; which offers match, asked only
        # of the customers in the stage; the answers. Derived tables rather than CTEs, which some
        # engines (DuckDB among them) materialize.
        entered_cols: list[str] = []
        matched_cols: list[str] = []
        answers: list[str] = []
        for si, st in enumerate(self.spec.stages):
            if stage >= 0 and si != stage:
                continue
            entered = ident(f"in:{st.key}")
            entered_cols.append(f"COALESCE({self.groups(st.entry)}, FALSE) AS {entered}")
            offers = [o for o in st.offers if not o.fallback]
            fallback = next((o.key for o in st.offers if o.fallback), None)
            for o in offers:
                matched_cols.append(
                    # NULL (a missing value) is as good as false to every CASE that reads it, and
                    # leaving out COALESCE halves DuckDB's time
                    f"CASE WHEN p.{entered} THEN {self.groups(o.groups)} END AS {ident('m:' + o.key)}"
                )
            whens = "".join(f" WHEN {ident('m:' + o.key)} THEN {text(o.key)}" for o in offers)
            fallback_sql = text(fallback) if fallback is not None else "NULL"
            no_offer = "TRUE" if fallback is not None else "FALSE"
            taken = "".join(f" WHEN {ident('m:' + o.key)} THEN FALSE" for o in offers)
            names = stage_columns(st.key)
            answers.append(f"{entered} AS {ident(names[0])}")
            answers.append(
                f"CASE WHEN {entered} THEN CASE{whens} ELSE {fallback_sql} END END AS {ident(names[1])}"
                if offers
                else f"CASE WHEN {entered} THEN {fallback_sql} END AS {ident(names[1])}"
            )
            answers.append(
                f"CASE WHEN {entered} THEN CASE{taken} ELSE {no_offer} END ELSE FALSE END AS {ident(names[2])}"
                if offers
                else f"CASE WHEN {entered} THEN {no_offer} ELSE FALSE END AS {ident(names[2])}"
            )
            if offers:
                listed = ", ".join(f"CASE WHEN {ident('m:' + o.key)} THEN {text(o.key)} END" for o in offers)
                answers.append(f"CONCAT_WS('|', {listed}) AS {ident(names[3])}")
            else:
                answers.append(f"'' AS {ident(names[3])}")
        entered_names = [
            ident(f"in:{st.key}") for si, st in enumerate(self.spec.stages) if stage < 0 or si == stage
        ]
        kept = (
            ["p.*"] if keep is None else ["p." + ident(k) for k in keep] + ["p." + e for e in entered_names]
        )
        outer = "m.*" if keep is None else ", ".join("m." + ident(k) for k in keep)
        inner = ",\n    ".join(["p.*", *entered_cols])
        middle = ",\n  ".join([*kept, *matched_cols])
        final = ",\n".join([outer, *answers])
        return (
            f"SELECT {final}\n"
            f"FROM (\n  SELECT {middle}\n  FROM (\n    SELECT {inner}\n    FROM {source} AS p\n  ) AS p\n) AS m"
        )


def decision_sql(
    spec: BlueprintSpec,
    *,
    at: dt.date | None = None,
    source: str = "profiles",
    keep: Sequence[str] | None = None,
    stage: int = -1,
) -> str:
    """The decision query of a version (all stages, or stage index ``stage``); see the module doc.

    ``keep``: the input columns carried to the answer (default all, ``p.*``).
    """
    return _Query(spec, at).sql(source=source, keep=keep, stage=stage)


def export_sql(compiled: CompiledVersion, *, at: dt.date | None, title: str) -> str:
    """The query as a team runs it in its warehouse: a header of comment lines saying what it is and
    what it reads, then the one statement. Every line of the header is made by ``comment``, so no
    name or label can end its line, and the text is always exactly one statement."""
    spec = compiled.spec
    decided = (
        f"the decision day {at.isoformat()}"
        if at
        else "CURRENT_DATE as the decision day: to decide for another day, replace it with DATE 'YYYY-MM-DD'"
    )
    lines = [
        f"Blueprint decisions: {title}",
        f"Dialect: {DIALECT}.",
        "Reads a relation named profiles, one row per customer, with these columns (NULL = missing):",
        *(f"  {ident(key)}  {_column_type(attr)}  ({attr.label})" for key, attr in spec.catalog.items()),
        "Sets are text with the elements joined by '|' (e.g. 'savings|credit_card').",
        "Answers every input column, then per stage: <stage>.entered, <stage>.offer (key or NULL),",
        "<stage>.fallback and <stage>.eligible (the matching offers' keys joined by '|').",
        f"Uses {decided}.",
    ]
    return "".join(comment(line) for line in lines) + decision_sql(spec, at=at) + ";\n"


def _column_type(attr: AttributeSpec) -> str:
    return {
        "number": "DOUBLE PRECISION",
        "date": "DATE",
        "boolean": "BOOLEAN",
        "set": "TEXT ('|'-joined)",
    }.get(attr.type, "TEXT")


# --- The DuckDB batch: what DuckDB is slow at ----------------------------------------------------------
#
# The batch query below is DuckDB's alone (the portable query above is what a warehouse runs). Four
# things DuckDB is slow at are kept out of the rows' path: a CASE around other work (its branches run
# several times slower than the same expression alone); a list written in the query (made into a vector
# again for every 2,048 rows: the lists live in a one-row table, #k, joined in); an IN list, or a
# list_contains on a written list, of six values or more (planned as a join, which loses the rows'
# order); and the CSV writer's ~40 ns a field (the query writes each CSV line itself).

WORD = 64
CHUNK = 8  # offers per lookup: lists of 2^8 answers
MAX_CELLS = 4096  # cells of a number's grid
SET_LOOKUP_ELEMENTS = 10  # up to this many named elements, a set's pieces are every subset of them
EPOCH = dt.date(1970, 1, 1).toordinal()
CONSTANTS = ident("#k")
LIST_SEPARATOR = "\x1f"  # the unit separator: no key has one
CAST_INT = "CAST({} AS INTEGER)"


def _ubigint(value: int) -> str:
    return f"CAST({value} AS UBIGINT)"


def _list(values: Sequence[Any], kind: str) -> str:
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


class _Constants:
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


def _text_cell(attr: AttributeSpec, raw: str, t: str, constants: _Constants) -> _Cell:
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
        words = constants.add(_list([*TRUE_WORDS, *FALSE_WORDS], "VARCHAR"))
        trues = constants.add(_list(TRUE_WORDS, "VARCHAR"))
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
        choices = constants.add(_list(attr.choices, "VARCHAR"))
        bad = f"'''' || {_short_sql(t)} || {_not_a_choice(attr, expected)}"
        return _Cell(first, t, f"CASE WHEN NOT list_contains({choices}, {t}) THEN {bad} END")
    return _Cell(first, t, None)


def _set_choice_error(attr: AttributeSpec, expected: str, elements: str, constants: _Constants) -> str:
    """The message for the first element that is not a choice, NULL when there is none."""
    choices = constants.add(_list(attr.choices, "VARCHAR"))
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


def _typed_cell(attr: AttributeSpec, raw: str, column_type: str, t: str, constants: _Constants) -> _Cell:
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
                f"coalesce(list_contains({constants.add(_list(plain, 'VARCHAR'))}, e), FALSE)"
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


# --- The DuckDB batch, 2: every row decided with bitmasks, as the compiled engine decides ------------------
#
# The portable query evaluates every condition for every row and builds each eligible list from a
# CASE per offer: for the bench's version (12 stages of 15 offers of 3 conditions) 540 conditions and
# 180 CASEs a row. Here, as in decisioning.engine (_Codegen), every condition group gets a bit; each
# attribute's values are cut where some condition starts or stops holding, and each piece maps to the
# mask of the groups it fails. A row then costs one piece per attribute (a cell of a grid and a
# comparison or two for numbers and dates, a list position for texts, element tests for sets), one
# lookup per attribute and 64-bit word of the mask it fails, and per stage two lookups: the chosen
# offer and the eligible list, by the bits of the stage's offers that hold.


@dataclass
class _StageBits:
    index: int
    stage: StageSpec
    entry: int | None  # the mask of its entry groups; None: everyone enters
    offers: list[tuple[int, str]]  # (bit, key) in priority order: consecutive bits
    fallback: str | None


@dataclass
class _Layout:
    """Which bit stands for which condition group, for the stages decided."""

    stages: list[_StageBits]
    direct: int  # bits that hold unless some attribute fails them
    folds: list[tuple[int, int]]  # (the groups of a many-group offer, its offer bit)
    by_attribute: dict[str, list[tuple[Condition, int]]]
    size: int

    @property
    def words(self) -> int:
        return max(1, -(-self.size // WORD))

    def split(self, mask: int) -> list[int]:
        return [(mask >> (WORD * k)) & (2**WORD - 1) for k in range(self.words)]


def _layout(spec: BlueprintSpec, stage: int) -> _Layout:
    # Each stage's offers take consecutive bits, in one word when they fit one, so that its answers
    # read them in a few runs; entry groups and the groups of many-group offers fill the gaps. Words
    # are filled first come, first served: every word costs a lookup per attribute and row.
    fill: list[int] = []  # the bits taken at the start of each word

    def place(n: int) -> int:
        """The first of ``n`` consecutive free bits."""
        if n <= WORD:
            for k, used in enumerate(fill):
                if used + n <= WORD:
                    fill[k] += n
                    return k * WORD + used
        first = len(fill)
        fill.extend([WORD] * (n // WORD) + ([n % WORD] if n % WORD else []))
        return first * WORD

    stages: list[_StageBits] = []
    for index, st in enumerate(spec.stages):
        if stage >= 0 and index != stage:
            continue
        keys = [o.key for o in st.offers if not o.fallback]
        first = place(len(keys))
        offers = [(1 << (first + n), key) for n, key in enumerate(keys)]
        fallback = next((o.key for o in st.offers if o.fallback), None)
        stages.append(_StageBits(index, st, None, offers, fallback))
    direct = 0
    folds: list[tuple[int, int]] = []
    by_attribute: dict[str, list[tuple[Condition, int]]] = {}

    def take(group: Sequence[Condition]) -> int:
        nonlocal direct
        bit = 1 << place(1)
        direct |= bit
        for c in group:
            by_attribute.setdefault(c.attribute, []).append((c, bit))
        return bit

    for bits in stages:
        if bits.stage.entry:
            bits.entry = 0
            for group in bits.stage.entry:
                bits.entry |= take(group)
        specs = [o for o in bits.stage.offers if not o.fallback]
        for (bit, _), offer in zip(bits.offers, specs, strict=True):
            if len(offer.groups) <= 1:
                direct |= bit  # no groups: everyone; one group: the offer's bit is the group's
                for c in offer.groups[0] if offer.groups else ():
                    by_attribute.setdefault(c.attribute, []).append((c, bit))
            else:
                folds.append((sum(take(group) for group in offer.groups), bit))
    by_attribute = {k: v for k, v in by_attribute.items() if k in spec.catalog}
    return _Layout(stages, direct, folds, by_attribute, WORD * len(fill))


def _fails(conditions: Sequence[tuple[Condition, int]], value: Any) -> int:
    return sum({bit for c, bit in conditions if not condition_holds(c, value, 0)})


def _grid(x: str, p: str, bounds: Sequence[float], integral: bool, constants: _Constants) -> tuple[str, str]:
    """Where ``x`` (a DOUBLE, or whole days) lies among the sorted ``bounds``: piece 2i below bound
    i, 2i + 1 at bound i. Returns the expression of x's cell (a list position, for column ``p``) and
    the piece's, over ``x`` and ``p``.

    The line is cut into cells of width 2^-k, ``floor(x * 2^k)``; per cell the lists hold twice the
    number of bounds in the cells before it and the bounds inside it (padded with infinity), which x
    is compared with. Exact whatever the rounding: the cell is a non-decreasing function of x,
    computed alike here and in DuckDB (one IEEE multiplication, then floor), so every bound in a cell
    before x's is below x and every bound in a cell after it is above.
    """
    k = 0 if integral else 40
    while True:
        scale = 2.0**k
        low, high = math.floor(bounds[0] * scale), math.floor(bounds[-1] * scale)
        if high - low + 1 <= MAX_CELLS or k < -1000:
            break
        k -= 1
    by_cell: list[list[float]] = [[] for _ in range(high - low + 1)]
    for bound in bounds:
        by_cell[math.floor(bound * scale) - low].append(bound)
    before = [0]
    for found in by_cell:
        before.append(before[-1] + 2 * len(found))
    # list positions: 1 below every cell, then the cells, then above every cell
    twice_before = constants.add(_list([0, *before], "INTEGER"))
    inside = [
        constants.add(
            _list([math.inf, *(b[j] if j < len(b) else math.inf for b in by_cell), math.inf], "DOUBLE")
        )
        for j in range(max(len(b) for b in by_cell))
    ]
    # a BIGINT: what list positions are (an INTEGER would be cast at each of the lookups below)
    cell = f"CAST(least(greatest(floor({x} * CAST({scale!r} AS DOUBLE)), {low - 1}), {high + 1}) - {low} AS BIGINT) + 2"
    piece = " + ".join(
        [f"{twice_before}[{p}]"]
        + [f"CAST({x} >= {c}[{p}] AS INTEGER) + CAST({x} > {c}[{p}] AS INTEGER)" for c in inside]
    )
    return cell, piece


@dataclass
class _Lookup:
    """An attribute's part in the decision: the columns of the projection that places its value
    (``cells``, then ``pieces``, both over the checked value ``v:key``), and per word the expression
    of the groups it fails (None: it has no condition there)."""

    cells: dict[str, str]
    pieces: dict[str, str]
    fails: list[str | None]


def _lookup(
    key: str,
    attr: AttributeSpec,
    conditions: Sequence[tuple[Condition, int]],
    layout: _Layout,
    at: dt.date,
    constants: _Constants,
) -> _Lookup:
    v = ident("v:" + key)
    name = ident("i:" + key)
    everything = sum({bit for _, bit in conditions})
    cells: dict[str, str] = {}
    if attr.type in ("number", "date"):
        bounds, table, _ = ordered_fails(conditions, at.toordinal() if attr.type == "date" else 0)
        table = [*table, everything]  # then the missing value
        if bounds:
            x, p = ident("x:" + key), ident("p:" + key)
            if attr.type == "date":
                cells[x] = f"({v} - DATE '1970-01-01')"
                bounds = [b - EPOCH for b in bounds]
            else:
                cells[x] = v
            integral = attr.type == "date" or all(float(b).is_integer() for b in bounds)
            cells[p], piece = _grid(x, p, bounds, integral, constants)
            index = f"COALESCE({piece}, {len(table) - 1})"
        else:
            index = f"CASE WHEN {v} IS NULL THEN 1 ELSE 0 END"
    elif attr.type == "set":
        named = sorted(
            {
                e
                for c, _ in conditions
                for e in (c.value if isinstance(c.value, list) else [c.value])
                if SET_SEPARATOR not in e
            }
        )
        if len(named) > SET_LOOKUP_ELEMENTS:
            return _set_terms(key, v, conditions, layout, constants)
        # the piece is the subset of the named elements the set holds (missing: none of them)
        index = (
            " + ".join(
                f"CAST(list_contains({v}, {text(e)}) IS TRUE AS INTEGER) * {1 << j}"
                for j, e in enumerate(named)
            )
            or "0"
        )
        table = [
            _fails(conditions, frozenset(e for j, e in enumerate(named) if code >> j & 1))
            for code in range(1 << len(named))
        ]
    elif attr.type == "boolean":
        index = f"CASE WHEN {v} THEN 2 WHEN NOT {v} THEN 1 ELSE 0 END"
        table = [everything, _fails(conditions, False), _fails(conditions, True)]
    else:
        values: set[str] = set(attr.choices) if attr.type == "choice" else set()
        for c, _ in conditions:
            values.update(c.value if isinstance(c.value, list) else [c.value])
        ordered = sorted(values)
        # 0: missing, or a text no condition names
        index = f"COALESCE(list_position({constants.add(_list(ordered, 'VARCHAR'))}, {v}), 0)"
        table = [everything, *(_fails(conditions, value) for value in ordered)]
    words = [layout.split(mask) for mask in table]
    fails: list[str | None] = []
    for k, touched in enumerate(layout.split(everything)):
        fails.append(f"{constants.add(_list([w[k] for w in words], 'UBIGINT'))}[{name}]" if touched else None)
    # the piece as a list position (from 1, a BIGINT), computed once for the lookups of every word
    return _Lookup(cells, {name: f"CAST({index} AS BIGINT) + 1"}, fails)


def _set_terms(
    key: str, v: str, conditions: Sequence[tuple[Condition, int]], layout: _Layout, constants: _Constants
) -> _Lookup:
    """A set with many named elements: a test per condition (does the set hold one of its elements?)."""
    pieces: dict[str, str] = {}
    terms: list[list[str]] = [[] for _ in range(layout.words)]
    for j, (c, bit) in enumerate(conditions):
        elements = [
            e for e in (c.value if isinstance(c.value, list) else [c.value]) if SET_SEPARATOR not in e
        ]
        name = ident(f"h:{key}:{j}")
        pieces[name] = (
            f"list_has_any({v}, {constants.add(_list(elements, 'VARCHAR'))}) IS TRUE" if elements else "FALSE"
        )
        for k, word in enumerate(layout.split(bit)):
            if word:
                terms[k].append(f"CASE WHEN {name} THEN {_ubigint(0)} ELSE {_ubigint(word)} END")
    return _Lookup({}, pieces, [" | ".join(t) if t else None for t in terms])


def _runs(bits: _StageBits, size: int) -> list[tuple[int, int, list[str]]]:
    """A stage's offers as (word, shift, keys) runs of at most ``size`` offers within one word."""
    out: list[tuple[int, int, list[str]]] = []
    for bit, key in bits.offers:
        word, shift = divmod(bit.bit_length() - 1, WORD)
        if out and out[-1][0] == word and len(out[-1][2]) < size:
            out[-1][2].append(key)
        else:
            out.append((word, shift, [key]))
    return out


def _joined(keys: Sequence[str], lead: bool) -> list[str]:
    """Per code (a bit per key), the keys held joined by | (after a | when ``lead`` and any)."""
    out = []
    for code in range(1 << len(keys)):
        held = "|".join(k for j, k in enumerate(keys) if code >> j & 1)
        out.append("|" + held if lead and held else held)
    return out


SOURCE = ident("#source")  # the relation, in a batch query kept for the next batch
FROM_SOURCE = f"FROM {SOURCE} AS r"
SQL_KEPT = 16  # batch queries kept per compiled version (one per file layout, day and stage)


def batch_sql(
    compiled: CompiledVersion,
    relation: str,
    columns: Mapping[str, str],
    *,
    at: dt.date,
    stage: int = -1,
    lines: bool = False,
    numbered: bool = True,
    errors_by_key: bool = False,
) -> tuple[list[str], str]:
    """Check, then decide, every row of ``relation`` (a row number ``#row``, then the file's columns
    of the ``columns`` types): ``row``, ``error`` (NULL when the row is good), then per stage its
    four columns, NULL for a row with an error; the rows come out in order. DuckDB only. With
    ``lines``, one column instead, named by the CSV header: each row as its CSV line (from the comma
    after its number, when not ``numbered``). With ``errors_by_key``, ``error`` is a list of
    ``{k: key, m: message}`` instead of their text ("age: … / vip: …"), which people's words in a
    label or a cell could make ambiguous.

    Returns the statements that make the lookup table ``#k`` (and its types), and the query. Both
    are made once per version and arguments (it takes ~20 ms), over ``SOURCE``; the relation is put
    in per call.
    """
    key = ("batch_sql", tuple(columns.items()), at, stage, lines, numbered, errors_by_key)
    made = compiled.derived.get(key)
    if made is None:
        if len(compiled.derived) >= SQL_KEPT:
            compiled.derived.clear()
        made = compiled.derived[key] = _batch_sql(
            compiled, columns, at=at, stage=stage, lines=lines, numbered=numbered, errors_by_key=errors_by_key
        )
    setup, query = made
    # the source is the innermost relation, so the last text of the query that names it
    head, _, tail = query.rpartition(FROM_SOURCE)
    return list(setup), f"{head}FROM {relation} AS r{tail}"


def _batch_sql(
    compiled: CompiledVersion,
    columns: Mapping[str, str],
    *,
    at: dt.date,
    stage: int,
    lines: bool,
    numbered: bool,
    errors_by_key: bool = False,
) -> tuple[list[str], str]:
    """``batch_sql``'s statements and query, over ``SOURCE``."""
    spec = compiled.spec
    layout = _layout(spec, stage)
    constants = _Constants()
    row = ident("#row")
    error = ident(ERROR)
    good = ident("#good")
    firsts, parsed, checked, errors, error_columns, by_key = [row], [row], [row], [], [], []
    for key, attr in spec.catalog.items():
        t, v, e = (ident(f"{p}:{key}") for p in ("t", "v", "e"))
        if key not in columns:
            checked.append(f"NULL AS {v}")
            continue
        cell = _typed_cell(attr, "r." + ident(key), columns[key], t, constants)
        firsts.append(f"{cell.first} AS {t}")
        parsed += [t, *(f"{expression} AS {name}" for name, expression in cell.parsed.items())]
        checked.append(f"{cell.value} AS {v}")
        if cell.error is not None:
            checked.append(f"{cell.error} AS {e}")
            errors.append(f"{text(key + ': ')} || {e}")
            by_key.append(f"{{'k': {text(key)}, 'm': {e}}}")
            error_columns.append(e)
    lookups = [
        _lookup(key, spec.catalog[key], conditions, layout, at, constants)
        for key, conditions in layout.by_attribute.items()
    ]
    # the error text only where there is one; #good: NULL for a row with an error, else 0, OR-ed into
    # each word, so that every answer of the row is NULL
    no_error = " AND ".join(f"{e} IS NULL" for e in error_columns) or "TRUE"
    placed = [row, *error_columns, f"CASE WHEN {no_error} THEN {_ubigint(0)} END AS {good}"]
    placed += [ident("v:" + key) for key in layout.by_attribute]
    placed += [f"{expression} AS {name}" for lookup in lookups for name, expression in lookup.cells.items()]
    if errors_by_key:
        error_sql = (
            f"CASE WHEN {good} IS NULL THEN list_filter([{', '.join(by_key)}], lambda e: e.m IS NOT NULL) END"
            if by_key
            else "CAST(NULL AS STRUCT(k VARCHAR, m VARCHAR)[])"
        )
    else:
        error_sql = (
            f"CASE WHEN {good} IS NULL THEN NULLIF(CONCAT_WS(' / ', {', '.join(errors)}), '') END"
            if errors
            else "CAST(NULL AS VARCHAR)"
        )
    indexed = [row, f"{error_sql} AS {error}", good]
    indexed += [f"{expression} AS {name}" for lookup in lookups for name, expression in lookup.pieces.items()]
    w = [ident(f"w:{k}") for k in range(layout.words)]
    words = [row, error]
    for k, direct in enumerate(layout.split(layout.direct)):
        failed = [fail for lookup in lookups if (fail := lookup.fails[k]) is not None]
        held = f"{_ubigint(direct)} & ~({' | '.join(failed)})" if failed else _ubigint(direct)
        words.append(f"({held}) | {good} AS {w[k]}")

    def any_of(mask: int) -> str:
        return " OR ".join(f"({w[k]} & {_ubigint(m)}) <> 0" for k, m in enumerate(layout.split(mask)) if m)

    folded = [row, error, *w]
    if layout.folds:  # an offer of many groups holds when one of its groups does
        folded = [row, error]
        for k in range(layout.words):
            adds = [
                f"CASE WHEN {any_of(groups)} THEN {_ubigint(layout.split(bit)[k])} ELSE {_ubigint(0)} END"
                for groups, bit in layout.folds
                if layout.split(bit)[k]
            ]
            folded.append(f"{' | '.join([w[k], *adds])} AS {w[k]}")
    entered = [row, error, *w]
    coded = [row, error]
    answers = [f"{row} AS {ident(ROW)}", error]
    # CSV lines: the row's fields written out here, each stage's from two or three lookups, so that
    # the CSV writer writes one ready text a row (it spends ~40 ns on each field otherwise)
    line = [f"CAST({row} AS VARCHAR)" if numbered else "''", "','", f"COALESCE({_csv_field(error)}, '')"]
    offer_type = ident("#offer")
    offer_keys = [key for bits in layout.stages for _, key in bits.offers]
    offer_keys += [bits.fallback for bits in layout.stages if bits.fallback is not None]
    if offer_keys and not lines:
        # the offer columns are an ENUM of the keys: the Parquet writer then writes a small
        # dictionary's index, not a text, per row (a third of the time), and readers see texts
        constants.setup.append(
            f"CREATE TYPE {offer_type} AS ENUM ({', '.join(text(k) for k in dict.fromkeys(offer_keys))})"
        )
    for bits in layout.stages:
        # entered: NULL for a row with an error; the offers of the stage that hold, as codes of runs
        # of CHUNK offers (0 outside the stage) and, when they all lie in one word, as one number
        inside = ident(f"in:{bits.index}")
        one = CAST_INT.format(inside)
        entered.append(
            f"({any_of(bits.entry)}) AS {inside}"
            if bits.entry
            else f"CASE WHEN {w[0]} IS NOT NULL THEN TRUE END AS {inside}"
        )
        coded.append(inside)
        runs = _runs(bits, CHUNK)
        held_all = ident(f"h:{bits.index}")
        single = len({word for word, _, _ in runs}) == 1 and len(bits.offers) < WORD - 1
        codes = []
        if single:
            word, first_shift, _ = runs[0]
            mask = (1 << len(bits.offers)) - 1
            coded.append(f"CAST(({w[word]} >> {first_shift}) & {mask} AS BIGINT) AS {held_all}")
            for _, shift, keys in runs:
                codes.append(f"(({held_all} >> {shift - first_shift}) & {(1 << len(keys)) - 1}) * {one}")
        else:
            for n, (word, shift, keys) in enumerate(runs):
                code = ident(f"c:{bits.index}:{n}")
                codes.append(code)
                held = f"CAST(({w[word]} >> {shift}) & {(1 << len(keys)) - 1} AS INTEGER)"
                coded.append(f"{held} * {one} AS {code}")
        names = [ident(c) for c in stage_columns(bits.stage.key)]
        line.append("','")
        if not bits.offers:
            fallback = text(bits.fallback) if bits.fallback is not None else "NULL"
            answers.append(f"{inside} AS {names[0]}")
            answers.append(f"CASE WHEN {inside} THEN {fallback} END AS {names[1]}")
            answers.append(
                f"CASE WHEN {inside} IS NOT NULL THEN {'TRUE' if bits.fallback else 'FALSE'} AND {inside} END AS {names[2]}"
            )
            answers.append(f"CASE WHEN {inside} IS NOT NULL THEN '' END AS {names[3]}")
            ends = constants.add(
                _list(
                    [
                        'false,,false,""',
                        f'true,{bits.fallback or ""},{"true" if bits.fallback else "false"},""',
                    ],
                    "VARCHAR",
                )
            )
            line.append(f"COALESCE({ends}[{one} + 1], ',,,')")
            continue
        # the chosen offer: its place in a list of keys, then the fallback's (when none holds);
        # 0 (NULL) outside the stage. For offers in one word, the lowest bit that holds: bit_count of
        # h XOR h - 1 is its place + 1, and 64 when none does. Else, one list of every run's codes end
        # to end, the index the first run with an offer held.
        if single:
            keys = [key for _, key in bits.offers]
            first_keys: list[str | None] = [*keys, *([None] * (WORD - 1 - len(keys))), bits.fallback]
            place = f"bit_count(xor({held_all}, {held_all} - 1))"
            nothing = f"{held_all} = 0"
        else:
            sizes = [1 << len(keys) for _, _, keys in runs]
            first_keys = []
            for (_, _, keys), size in zip(runs, sizes, strict=True):
                first_keys += [None] + [keys[(c & -c).bit_length() - 1] for c in range(1, size)]
            first_keys.append(bits.fallback)
            place = ""
            for code, size in reversed(list(zip(codes, sizes, strict=True))):
                place = (
                    f"{code} + {CAST_INT.format(f'{code} = 0')} * ({size}{' + ' + place if place else ''})"
                )
            place = f"({place}) + 1"
            nothing = " AND ".join(f"{c} = 0" for c in codes)
        # the eligible list: per run, the keys held joined by |; a run after one with offers held
        # reads them after a | (the first half of its list), so that the runs' texts joined are the list
        parts = []
        for n, ((_, _, keys), code) in enumerate(zip(runs, codes, strict=True)):
            last = n == len(runs) - 1
            alone = _joined(keys, False)
            if lines and last:  # an empty list is written "" in CSV
                alone[0] = '""'
            if n == 0:
                parts.append(f"{constants.add(_list(alone, 'VARCHAR'))}[{code} + 1]")
                continue
            listed = constants.add(_list(_joined(keys, True) + alone, "VARCHAR"))
            none_before = " AND ".join(f"{c} = 0" for c in codes[:n])
            parts.append(f"{listed}[{code} + 1 + {1 << len(keys)} * {CAST_INT.format(none_before)}]")
        if len(parts) > 1:
            # most rows hold no offer of a stage, or only offers of its first run: those skip the
            # other runs' lookups and the joining of texts (a CASE computes a branch only for the
            # rows that take it); a row with an error has NULL codes and takes the last branch
            if single:
                held_none = f"{held_all} * {one} = 0"
                first_only = f"{held_all} < {1 << len(runs[0][2])}"
            else:
                held_none = nothing
                first_only = " AND ".join(f"{c} = 0" for c in codes[1:])
            empty = "'\"\"'" if lines else "''"
            parts = [
                f"CASE WHEN {held_none} THEN {empty} WHEN {first_only} THEN {parts[0]} ELSE {' || '.join(parts)} END"
            ]
        if lines:
            heads: list[str | None] = [
                "false,,false,"
                if n == 0
                else None
                if k is None
                else f"true,{k},{'true' if k == bits.fallback and n == len(first_keys) - 1 else 'false'},"
                for n, k in enumerate([None, *first_keys])
            ]
            heads[-1] = f"true,{bits.fallback or ''},{'true' if bits.fallback else 'false'},"
            line.append(f"COALESCE({constants.add(_list(heads, 'VARCHAR'))}[{place} * {one} + 1], ',,,')")
            line += parts
            continue
        chosen = constants.add(_list(first_keys, offer_type))
        answers.append(f"{inside} AS {names[0]}")
        answers.append(f"{chosen}[{place} * {one}] AS {names[1]}")
        answers.append(
            f"{inside} AND {nothing} AS {names[2]}"
            if bits.fallback is not None
            else f"CASE WHEN {inside} IS NOT NULL THEN FALSE END AS {names[2]}"
        )
        answers.append(f"{' || '.join(parts)} AS {names[3]}")
    if lines:
        header = ",".join([ROW, ERROR, *(c for bits in layout.stages for c in stage_columns(bits.stage.key))])
        answers = [f"concat({', '.join(line)}) AS {ident(header)}"]
    query = f"SELECT {', '.join(firsts)} {FROM_SOURCE}"
    for projection in (parsed, checked, placed, indexed, words, folded, entered, coded, answers):
        listed = ", ".join(projection)
        joined = f" CROSS JOIN {CONSTANTS} AS k" if 'k."k:' in listed else ""
        query = f"SELECT {listed}\nFROM ({query}) AS q{joined}"
    return constants.statements(), query


def _csv_field(value: str) -> str:
    """A text as DuckDB's CSV writer writes it: in quotes (doubled inside) when it is empty or holds a
    comma, a quote, a # or a line break."""
    return (
        f"CASE WHEN {value} = '' OR regexp_matches({value}, '[,\"#\\n\\r]') "
        f"THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END"
    )


# --- Running a batch ---------------------------------------------------------------------------------


INTERRUPT_EVERY = 0.05  # seconds between a DuckDB session's looks at the stop event


@contextmanager
def _connect() -> Iterator[Any]:
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
# expression that starts with a class of characters takes ~1 s over 20 MB, these ~40 ms.
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
    # there made a batch a tenth slower. So the answers are decided as the file is read, in
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
    with _connect() as con:
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
    with _connect() as con:
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
    with _connect() as con:
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
    with _connect() as con:
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
    with _connect() as con:
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
