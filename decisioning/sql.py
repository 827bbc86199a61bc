"""A version as one SQL query, and the one place that quotes text for generated SQL.

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

The same decisions, with every cell checked first, run over files in DuckDB:
``decisioning.duckdb_sql`` writes that query and ``decisioning.duckdb_run`` runs it. Both quote every
text they write with this module's ``ident``, ``text``, ``number``, ``day`` and ``comment``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from decisioning.conditions import AttributeSpec, Condition, Groups
from decisioning.engine import CompiledVersion
from decisioning.model import BlueprintSpec, OfferSpec, spec_on
from decisioning.operators import require_every_operator
from decisioning.profiles import SET_SEPARATOR

DIALECT = "PostgreSQL-compatible ANSI SQL (runs as is on DuckDB and PostgreSQL)"


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


# --- Conditions -------------------------------------------------------------------------------------
#
# Per operator, a condition as an SQL test of its column: (decision day or None for CURRENT_DATE,
# the column, the attribute's type, the condition's value) -> the test.


def _literal(attr_type: str) -> Callable[[Any], str]:
    return day if attr_type == "date" else number if attr_type == "number" else text


def _is(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    if attr_type == "boolean":
        return f"{col} = {'TRUE' if value else 'FALSE'}"
    return f"{col} = {_literal(attr_type)(value)}"


def _is_one_of(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    literal = _literal(attr_type)
    return f"{col} IN ({', '.join(literal(v) for v in value)})"


def _at_least(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    return f"{col} >= {_literal(attr_type)(value)}"


def _at_most(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    return f"{col} <= {_literal(attr_type)(value)}"


def _between(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    literal = _literal(attr_type)
    return f"{col} BETWEEN {literal(value[0])} AND {literal(value[1])}"


def _within_last_days(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    if at is None:
        return f"{col} BETWEEN CURRENT_DATE - INTERVAL '{int(value)}' DAY AND CURRENT_DATE"
    days = int(value)
    # no date lies before the calendar's first day: the window starts there at the latest
    low = at - dt.timedelta(days=days) if days < at.toordinal() else dt.date.min
    return f"{col} BETWEEN {day(low)} AND {day(at)}"


def _includes_any_of(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    """A set holds one of the elements (``includes``: the one)."""
    elements = value if isinstance(value, list) else [value]
    # an element holding the separator cannot be told apart in the joined text: no profile
    # read from CSV or Parquet has one (the batch refuses them), so it never holds
    usable = [e for e in elements if SET_SEPARATOR not in e]
    if not usable:
        return "FALSE"
    tests = [f"POSITION({text('|' + e + '|')} IN '|' || {col} || '|') > 0" for e in usable]
    return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"


SQL_TESTS: dict[str, Callable[[dt.date | None, str, str, Any], str]] = {
    "is": _is,
    "is_one_of": _is_one_of,
    "at_least": _at_least,
    "at_most": _at_most,
    "between": _between,
    "within_last_days": _within_last_days,
    "includes": _includes_any_of,
    "includes_any_of": _includes_any_of,
}
require_every_operator(SQL_TESTS, "decisioning.sql.SQL_TESTS")


# --- The decision query -----------------------------------------------------------------------------


@dataclass
class _Query:
    spec: BlueprintSpec
    at: dt.date | None  # None: CURRENT_DATE, where the query runs

    def condition(self, c: Condition) -> str:
        attr = self.spec.catalog[c.attribute]
        return SQL_TESTS[c.operator](self.at, "p." + ident(c.attribute), attr.type, c.value)

    def groups(self, groups: Groups) -> str:
        if not groups:
            return "TRUE"
        parts = [" AND ".join(self.condition(c) for c in group) for group in groups]
        if len(parts) == 1:
            return parts[0]
        return " OR ".join(f"({p})" for p in parts)

    def window(self, offer: OfferSpec) -> str:
        """The test of an offer's days on the decision day ("" when it is not dated): outside them
        it is not eligible (docs/architecture.md, "Decisions"). A known day settles it here
        (``spec_on``); ``CURRENT_DATE`` is compared where the query runs."""
        if not offer.dated or self.at is not None:
            return ""
        tests = []
        if offer.starts_on is not None:
            tests.append(f"CURRENT_DATE >= {day(offer.starts_on)}")
        if offer.ends_on is not None:
            tests.append(f"CURRENT_DATE <= {day(offer.ends_on)}")
        return " AND ".join(tests)

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
            fallback_offer = next((o for o in st.offers if o.fallback), None)
            fallback = fallback_offer.key if fallback_offer is not None else None
            for o in offers:
                open_on = self.window(o)
                matched_cols.append(
                    # NULL (a missing value) is as good as false to every CASE that reads it, and
                    # leaving out COALESCE halves DuckDB's time
                    f"CASE WHEN p.{entered}{' AND ' + open_on if open_on else ''} THEN {self.groups(o.groups)} "
                    f"END AS {ident('m:' + o.key)}"
                )
            whens = "".join(f" WHEN {ident('m:' + o.key)} THEN {text(o.key)}" for o in offers)
            fallback_sql = text(fallback) if fallback is not None else "NULL"
            no_offer = "TRUE" if fallback is not None else "FALSE"
            fallback_open = self.window(fallback_offer) if fallback_offer is not None else ""
            if fallback_open:
                fallback_sql = f"CASE WHEN {fallback_open} THEN {fallback_sql} END"
                no_offer = f"({fallback_open})"
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
    return _Query(spec_on(spec, at) if at is not None else spec, at).sql(
        source=source, keep=keep, stage=stage
    )


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
