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
``decisioning.engine.check_value`` (same accepted forms, same messages), so a bad row gets an
``error`` naming its fields and no decision, and the good rows are decided exactly as ``decide``
would decide them.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blueprint.conditions import AttributeSpec, Condition, Groups
from decisioning.engine import (
    DATE_FORM,
    FALSE_WORDS,
    NUMBER_FORM,
    SET_SEPARATOR,
    TRUE_WORDS,
    CompiledVersion,
    _expected,
)
from decisioning.model import BlueprintSpec

DIALECT = "PostgreSQL-compatible ANSI SQL (runs as is on DuckDB and PostgreSQL)"
FORMATS = ("csv", "parquet")
ROW = "row"  # the 1-based row number the batch adds
ERROR = "error"


class BatchError(Exception):
    """The file as a whole could not be read (not CSV, not Parquet, unreadable)."""


# --- Literals and names -------------------------------------------------------------------------------


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def number(value: int | float) -> str:
    return repr(value) if isinstance(value, int) else repr(float(value))


def day(value: str | dt.date) -> str:
    iso = value.isoformat() if isinstance(value, dt.date) else value
    return f"DATE '{iso}'"


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
                low = self.at - dt.timedelta(days=int(value))
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
    """The query as a team runs it in its warehouse: a header saying what it is and what it reads."""
    spec = compiled.spec
    columns = "\n".join(
        f"--   {ident(key)}  {_column_type(attr)}  ({attr.label})" for key, attr in spec.catalog.items()
    )
    decided = (
        f"the decision day {at.isoformat()}"
        if at
        else "CURRENT_DATE as the decision day: to decide for another day, replace it with DATE 'YYYY-MM-DD'"
    )
    header = (
        f"-- Blueprint decisions: {title}\n"
        f"-- Dialect: {DIALECT}.\n"
        f"-- Reads a relation named profiles, one row per customer, with these columns (NULL = missing):\n"
        f"{columns}\n"
        f"-- Sets are text with the elements joined by '|' (e.g. 'savings|credit_card').\n"
        f"-- Answers every input column, then per stage: <stage>.entered, <stage>.offer (key or NULL),\n"
        f"-- <stage>.fallback and <stage>.eligible (the matching offers' keys joined by '|').\n"
        f"-- Uses {decided}.\n"
    )
    return header + decision_sql(spec, at=at) + ";\n"


def _column_type(attr: AttributeSpec) -> str:
    return {
        "number": "DOUBLE PRECISION",
        "date": "DATE",
        "boolean": "BOOLEAN",
        "set": "TEXT ('|'-joined)",
    }.get(attr.type, "TEXT")


# --- Checking cells in SQL, exactly as decisioning.engine.check_value does -------------------------------


def _re(pattern: str) -> str:
    return text(pattern)


NUMBER_RE = _re(NUMBER_FORM.pattern)
DATE_RE = _re(DATE_FORM.pattern)


def _short_sql(x: str) -> str:
    """engine._short: at most 40 characters, else 37 and an ellipsis."""
    return f"CASE WHEN length({x}) <= 40 THEN {x} ELSE left({x}, 37) || '…' END"


def _check_text_column(key: str, attr: AttributeSpec, raw: str) -> tuple[str, str]:
    """(checked value, error message or NULL) for a text cell, as SQL expressions."""
    x = f"trim({raw}, ' ')"
    blank = f"({raw} IS NULL OR {x} = '')"
    expected = _expected(attr, True)
    got = f"'Expected {_escape(expected)}; got ''' || {_short_sql(x)} || '''.'"
    if attr.type == "number":
        ok = f"regexp_full_match({x}, {NUMBER_RE})"
        value = f"CASE WHEN {ok} THEN TRY_CAST({x} AS DOUBLE) END"
        range_error = f"'Expected {_escape(expected)}; ''' || {_short_sql(x)} || ''' is out of range.'"
        error = f"CASE WHEN {blank} THEN NULL WHEN NOT {ok} THEN {got} WHEN NOT isfinite({value}) THEN {range_error} END"
        return f"CASE WHEN NOT {blank} AND {ok} AND isfinite({value}) THEN {value} END", error
    if attr.type == "boolean":
        low = f"lower({x})"
        words = ", ".join(text(w) for w in (*TRUE_WORDS, *FALSE_WORDS))
        trues = ", ".join(text(w) for w in TRUE_WORDS)
        error = f"CASE WHEN {blank} THEN NULL WHEN {low} NOT IN ({words}) THEN {got} END"
        return f"CASE WHEN {blank} THEN NULL WHEN {low} IN ({words}) THEN {low} IN ({trues}) END", error
    if attr.type == "date":
        return _check_date(expected, x, blank)
    if attr.type == "set":
        elements = (
            f"list_filter(list_transform(string_split({x}, '|'), lambda e: trim(e, ' ')), lambda e: e <> '')"
        )
        return _check_set(attr, expected, elements, blank)
    if attr.choices:  # a choice, or a text with a list of values: engine.check_value refuses others
        choices = ", ".join(text(c) for c in attr.choices)
        bad = f"'''' || {_short_sql(x)} || ''' is not a choice of {_escape(attr.label)}; expected {_escape(expected)}.'"
        error = f"CASE WHEN {blank} THEN NULL WHEN {x} NOT IN ({choices}) THEN {bad} END"
        return f"CASE WHEN {blank} THEN NULL WHEN {x} IN ({choices}) THEN {x} END", error
    return f"CASE WHEN {blank} THEN NULL ELSE {x} END", "NULL"


def _check_date(expected: str, x: str, blank: str) -> tuple[str, str]:
    ok = f"(regexp_full_match({x}, {DATE_RE}) AND substr({x}, 1, 4) <> '0000' AND TRY_CAST(substr({x}, 1, 10) AS DATE) IS NOT NULL)"
    got = f"'Expected {_escape(expected)}; got ''' || {_short_sql(x)} || '''.'"
    error = f"CASE WHEN {blank} THEN NULL WHEN NOT {ok} THEN {got} END"
    return f"CASE WHEN NOT {blank} AND {ok} THEN CAST(substr({x}, 1, 10) AS DATE) END", error


def _check_set(attr: AttributeSpec, expected: str, elements: str, blank: str) -> tuple[str, str]:
    joined = f"array_to_string({elements}, '|')"
    if not attr.choices:
        return f"CASE WHEN {blank} THEN NULL ELSE {joined} END", "NULL"
    choices = ", ".join(text(c) for c in attr.choices)
    first_bad = f"list_filter({elements}, lambda e: e NOT IN ({choices}))[1]"
    bad = (
        f"'''' || {_short_sql(first_bad)} || ''' is not a choice of {_escape(attr.label)}; "
        f"expected {_escape(expected)}.'"
    )
    error = f"CASE WHEN {blank} THEN NULL WHEN {first_bad} IS NOT NULL THEN {bad} END"
    return f"CASE WHEN {blank} OR {first_bad} IS NOT NULL THEN NULL ELSE {joined} END", error


def _escape(message: str) -> str:
    return message.replace("'", "''")


def _check_typed_column(key: str, attr: AttributeSpec, raw: str, column_type: str) -> tuple[str, str]:
    """A Parquet column of its own type: converted when the type fits the attribute, else refused."""
    upper = column_type.upper()
    if upper == "VARCHAR":
        return _check_text_column(key, attr, raw)
    wrong = f"CASE WHEN {raw} IS NOT NULL THEN 'Expected {_escape(_expected(attr, True))}; the column is {_escape(column_type)}.' END"
    numeric = upper in (
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
    ) or upper.startswith("DECIMAL")
    if attr.type == "number" and numeric:
        value = f"CAST({raw} AS DOUBLE)"
        error = f"CASE WHEN {raw} IS NOT NULL AND NOT isfinite({value}) THEN 'Expected {_escape(_expected(attr, True))}; the number must be finite.' END"
        return f"CASE WHEN isfinite({value}) THEN {value} END", error
    if attr.type == "boolean" and upper == "BOOLEAN":
        return raw, "NULL"
    if attr.type == "date" and (upper == "DATE" or upper.startswith("TIMESTAMP")):
        return f"CAST({raw} AS DATE)", "NULL"
    if attr.type == "set" and upper == "VARCHAR[]":
        elements = (
            f"list_filter(list_transform({raw}, lambda e: trim(e, ' ')), lambda e: e IS NOT NULL AND e <> '')"
        )
        value, error = _check_set(attr, _expected(attr, True), elements, f"({raw} IS NULL)")
        separator = f"CASE WHEN {raw} IS NOT NULL AND len(list_filter({raw}, lambda e: POSITION('|' IN e) > 0)) > 0 THEN 'Set elements may not contain ''|'' here.' END"
        return value, f"COALESCE({error}, {separator})"
    return "NULL", wrong


# --- Running a batch ---------------------------------------------------------------------------------


def _connect() -> Any:
    import duckdb

    con = duckdb.connect(config={"threads": max(1, os.cpu_count() or 1)})
    con.execute("SET preserve_insertion_order = true")
    return con


def _source_relation(con: Any, path: Path, fmt: str) -> tuple[str, dict[str, str]]:
    """The raw table function for the file and its columns' types."""
    quoted = text(str(path))
    if fmt == "csv":
        relation = (
            f"read_csv({quoted}, header = true, all_varchar = true, delim = ',', quote = '\"', "
            f"escape = '\"', null_padding = true)"
        )
        number = "row_number() OVER ()"
    elif fmt == "parquet":
        relation = f"read_parquet({quoted}, file_row_number = true)"
        number = "file_row_number + 1"
    else:
        raise BatchError(f"Unknown format '{fmt}'; use csv or parquet.")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except Exception as exc:  # duckdb raises many kinds for an unreadable file
        raise BatchError(
            f"The {fmt.upper()} file could not be read: {str(exc).splitlines()[0][:300]}"
        ) from None
    columns = {str(row[0]): str(row[1]) for row in described}
    return f"(SELECT {number} AS {ident(ROW)}, * FROM {relation})", columns


def checked_view_sql(compiled: CompiledVersion, relation: str, columns: Mapping[str, str]) -> str:
    """A SELECT of ``row``, ``error`` (NULL when the row is good) and every attribute checked."""
    values: list[str] = []
    errors: list[str] = []
    for key, attr in compiled.spec.catalog.items():
        if key not in columns:
            values.append(f"NULL AS {ident(key)}")
            continue
        raw = "r." + ident(key)
        value, error = _check_typed_column(key, attr, raw, columns[key])
        values.append(f"{value} AS {ident(key)}")
        if error != "NULL":
            errors.append(f"CASE WHEN ({error}) IS NOT NULL THEN {text(key + ': ')} || ({error}) END")
    error_sql = f"CONCAT_WS(' / ', {', '.join(errors)})" if errors else "''"
    select = ",\n  ".join(values) if values else "NULL AS " + ident("_")
    return (
        f"SELECT r.{ident(ROW)}, NULLIF({error_sql}, '') AS {ident(ERROR)},\n  {select}\nFROM {relation} AS r"
    )


def batch_sql(
    compiled: CompiledVersion,
    relation: str,
    columns: Mapping[str, str],
    *,
    at: dt.date,
    stage: int = -1,
    ordered: bool = True,
) -> str:
    """Check, then decide; a row with an error gets no decision (NULL answers)."""
    checked = checked_view_sql(compiled, relation, columns)
    decided = decision_sql(compiled.spec, at=at, source=f"({checked})", keep=[ROW, ERROR], stage=stage)
    answer_columns = [
        name
        for i, st in enumerate(compiled.spec.stages)
        if stage < 0 or i == stage
        for name in stage_columns(st.key)
    ]
    shown = ", ".join(
        f"CASE WHEN {ident(ERROR)} IS NULL THEN {ident(name)} END AS {ident(name)}" for name in answer_columns
    )
    shown = f", {shown}" if shown else ""
    # A Parquet file is read in order (its row numbers come with it); CSV rows are numbered by a
    # window, whose output order DuckDB does not promise, so they are sorted back.
    order = f"\nORDER BY {ident(ROW)}" if ordered else ""
    return f"SELECT {ident(ROW)}, {ident(ERROR)}{shown}\nFROM ({decided}) AS decided{order}"


def batch_run(
    compiled: CompiledVersion,
    source: Path,
    target: Path,
    *,
    at: dt.date,
    stage: int = -1,
    source_format: str = "csv",
    target_format: str = "csv",
) -> int:
    """Decide every row of ``source`` into ``target``; returns the number of rows.

    Raises ``BatchError`` when the file cannot be read at all; bad rows only get an error.
    """
    if target_format not in FORMATS:
        raise BatchError(f"Unknown format '{target_format}'; use csv or parquet.")
    con = _connect()
    try:
        relation, columns = _source_relation(con, source, source_format)
        query = batch_sql(compiled, relation, columns, at=at, stage=stage, ordered=source_format == "csv")
        options = "FORMAT parquet" if target_format == "parquet" else "FORMAT csv, HEADER true"
        try:
            con.execute(f"COPY ({query}) TO {text(str(target))} ({options})")
            counted = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
        except Exception as exc:
            raise BatchError(f"The file could not be decided: {str(exc).splitlines()[0][:300]}") from None
        return int(counted[0]) if counted else 0
    finally:
        con.close()


def batch_rows(
    compiled: CompiledVersion, source: Path, *, at: dt.date, stage: int = -1, source_format: str = "csv"
) -> Iterator[tuple[Any, ...]]:
    """The batch's answer rows (``row``, ``error``, then the stage columns), read in chunks."""
    con = _connect()
    try:
        relation, columns = _source_relation(con, source, source_format)
        cursor = con.execute(batch_sql(compiled, relation, columns, at=at, stage=stage))
        while True:
            chunk = cursor.fetchmany(10_000)
            if not chunk:
                break
            yield from chunk
    finally:
        con.close()


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
    con = _connect()
    try:
        relation, columns = _source_relation(con, source, source_format)
        query = batch_sql(compiled, relation, columns, at=at)
        try:
            con.execute(f"CREATE TEMP TABLE answers AS {query}")
            total, bad = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {ident(ERROR)} IS NOT NULL) FROM answers"
            ).fetchone() or (0, 0)
            errors = con.execute(
                f"SELECT {ident(ROW)}, {ident(ERROR)} FROM answers WHERE {ident(ERROR)} IS NOT NULL "
                f"ORDER BY {ident(ROW)} LIMIT {ERRORS_LISTED}"
            ).fetchall()
            stages = []
            for st in compiled.spec.stages:
                entered, offer, _, _ = (ident(c) for c in stage_columns(st.key))
                counted = dict(
                    con.execute(
                        f"SELECT {offer}, count(*) FROM answers WHERE {ident(ERROR)} IS NULL AND {entered} "
                        f"GROUP BY {offer}"
                    ).fetchall()
                )
                in_stage = sum(counted.values())
                fallback_key = next((o.key for o in st.offers if o.fallback), None)
                stages.append(
                    {
                        "stage": st.key,
                        "name": st.name,
                        "entered": in_stage,
                        "not_entered": int(total) - int(bad) - in_stage,
                        "offers": [
                            {
                                "offer": o.key,
                                "name": o.name,
                                "fallback": o.fallback,
                                "count": int(counted.get(o.key, 0))
                                if (not o.fallback or o.key == fallback_key)
                                else 0,
                            }
                            for o in st.offers
                        ],
                        "none": int(counted.get(None, 0)),
                    }
                )
        except Exception as exc:
            raise BatchError(f"The file could not be decided: {str(exc).splitlines()[0][:300]}") from None
        return {
            "rows": int(total),
            "bad_rows": int(bad),
            "errors": [{"row": int(r), "error": str(e)} for r, e in errors],
            "stages": stages,
        }
    finally:
        con.close()


def file_check(source: Path, source_format: str) -> None:
    """Raise ``BatchError`` unless DuckDB can read the file's columns."""
    con = _connect()
    try:
        _source_relation(con, source, source_format)
    finally:
        con.close()
