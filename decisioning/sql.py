"""A version as one SQL query, and the one place that quotes text for generated SQL.

``decision_sql(spec, at=…)`` compiles a version into one ``SELECT`` over a relation ``profiles``
with one column per catalog attribute — number: a numeric type, date: DATE, boolean: BOOLEAN,
text and choice: text, set: text with the elements joined by ``|`` — and answers, per stage,
four columns: ``<stage>.entered``, ``<stage>.offer`` (the key, or NULL), ``<stage>.fallback`` and
``<stage>.eligible`` (the matching offers' keys joined by ``|``). Each stage is a CASE expression
over the offers in priority order. NULL is a missing value; because conditions are positive
(only AND and OR, never NOT), SQL's three-valued logic then gives exactly "a condition on a
missing attribute is not met".

The query is ANSI SQL (CASE, COALESCE, POSITION, CONCAT_WS, CHR, DATE literals and
``date - INTERVAL 'n' DAY``) that PostgreSQL, DuckDB and Spark SQL run unchanged; it is what a
team exports with a version (``?at`` fixes the decision day, otherwise ``CURRENT_DATE``). Where
an engine reads something its own way, the text is written so that every reading is the same
(``text`` spells a quote and a backslash as ``CHR(39)`` and ``CHR(92)``; ``comment`` never ends a
line with a backslash). What cannot be one text is a ``Dialect`` (``DIALECTS``): only how names
are quoted — double quotes in the standard (``portable``, also named ``postgresql`` and
``duckdb``), backticks in ``spark``, which Spark reads under its default settings (Spark reads
double-quoted names only with ``spark.sql.ansi.doubleQuotedIdentifiers`` on, which needs
``spark.sql.ansi.enabled``, the default since Spark 4) — and the column types the header names.

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

from decisioning.conditions import Condition, Groups
from decisioning.engine import CompiledVersion
from decisioning.errors import InvalidInput
from decisioning.model import BlueprintSpec, OfferSpec, spec_on
from decisioning.operators import require_every_operator
from decisioning.profiles import SET_SEPARATOR

# PostgreSQL cuts a name longer than this many bytes (NAMEDATALEN - 1): the names the query makes
# for itself stay within it, and the header says when an answer column's name does not
NAME_BYTES = 63


# --- Literals, names and comments: every text that enters generated SQL ---------------------------------
#
# People's words reach a query as names (``ident``), values (``text``; numbers and dates, ``number`` and
# ``day``, are written from the values the engine holds) and the export's header lines (``comment``).
# Nothing else is interpolated into SQL, so a query is always the statement its generator wrote.

# a backslash, which BigQuery, Spark, Snowflake and MySQL read as an escape (it could end a literal
# early there); a single quote, whose standard doubling Spark before 4.1 reads as two literals
# written side by side (``'O''Brien'`` is ``OBrien`` there); NUL, which C-based tokenizers read as
# the end of the text
_LITERAL_SPECIAL = re.compile(r"([\\\x00'])")
# what ends a line for some reader (Python's str.splitlines, editors, SQL tokenizers)
_LINE_BREAKS = frozenset("\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
_JOINERS = frozenset("\u200c\u200d")  # format characters that scripts and emoji need


def ident(name: str) -> str:
    """A quoted identifier: the name in double quotes, a double quote doubled. The queries name
    only keys (``[a-z0-9_-]``) and names the module makes from them (``m:<key>``, ``#row``)."""
    return '"' + name.replace('"', '""') + '"'


def spark_ident(name: str) -> str:
    """A quoted identifier as Spark SQL reads it under its default settings: in backticks, a
    backtick doubled."""
    return "`" + name.replace("`", "``") + "`"


def text(value: str) -> str:
    """A string value as a literal every dialect reads as the same text: the characters some
    dialect reads its own way — a backslash, a single quote, NUL — are written as ``CHR(92)``,
    ``CHR(39)`` or ``CHR(0)`` joined to the literal's pieces with ``||``, in parentheses (one
    operand wherever it stands); what is left is the standard literal in single quotes, holding
    no character that could end it early."""
    pieces = _LITERAL_SPECIAL.split(value)
    if len(pieces) == 1:
        return "'" + value + "'"
    parts = [
        f"CHR({ord(piece)})" if _LITERAL_SPECIAL.fullmatch(piece) else f"'{piece}'"
        for piece in pieces
        if piece
    ]
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"


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
    nothing ends the comment before its line does, or hides what the line says; and a line that
    would end in a backslash ends in a space after it, so the comment ends with its line in Spark
    too."""
    shown = []
    for ch in line:
        if ch in _LINE_BREAKS or ch == "\t":
            shown.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch not in _JOINERS:
            shown.append("\ufffd")
        else:
            shown.append(ch)
    line = ("-- " + "".join(shown)).rstrip()
    # Spark reads a backslash that ends a comment line as joining the next line to the comment
    return line + (" \n" if line.endswith("\\") else "\n")


def stage_columns(key: str) -> list[str]:
    return [f"{key}.entered", f"{key}.offer", f"{key}.fallback", f"{key}.eligible"]


def _made(prefix: str, key: str, index: int) -> str:
    """A name the query makes for itself (``in:<stage>``, ``m:<offer>``); past ``NAME_BYTES`` (a
    key may have 64 characters), ``<prefix>#<index>:<key>`` cut to fit, which the index keeps apart
    from every other (no key holds ``#``)."""
    name = f"{prefix}:{key}"
    return name if len(name.encode()) <= NAME_BYTES else f"{prefix}#{index}:{key}"[:NAME_BYTES]


# --- Dialects ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines that run the export: how a name is quoted, and the column
    types the header asks for. Everything else is the same text (module doc)."""

    says: str  # the header's "Dialect:" line
    ident: Callable[[str], str]
    types: dict[str, str]  # attribute type -> the column's type, in the header ("text": any other)


_STANDARD_TYPES = {
    "number": "DOUBLE PRECISION",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "set": "TEXT ('|'-joined)",
    "text": "TEXT",
}
_PORTABLE = (
    "ANSI SQL; runs unchanged on PostgreSQL, DuckDB and Spark SQL (Spark with "
    "spark.sql.ansi.doubleQuotedIdentifiers=true, and ANSI mode on, Spark 4's default; or ask for dialect=spark)"
)
DIALECTS: dict[str, Dialect] = {
    "portable": Dialect(_PORTABLE, ident, _STANDARD_TYPES),
    # the same text as portable, under the name of the engine a team runs it on
    "postgresql": Dialect(_PORTABLE, ident, _STANDARD_TYPES),
    "duckdb": Dialect(_PORTABLE, ident, _STANDARD_TYPES),
    "spark": Dialect(
        "Spark SQL: names in backticks; runs under Spark's default settings, ANSI mode on or off",
        spark_ident,
        {
            "number": "DOUBLE",
            "date": "DATE",
            "boolean": "BOOLEAN",
            "set": "STRING ('|'-joined)",
            "text": "STRING",
        },
    ),
}
DIALECT_HELP = f"Expected one of: {', '.join(DIALECTS)} (default portable)."
# what the API's documentation says of ``?dialect=``
DIALECT_DOC = (
    "Where the query runs. `portable` (default; also named `postgresql` and `duckdb`, the same text) "
    "runs unchanged on PostgreSQL, DuckDB and Spark SQL, Spark with "
    "`spark.sql.ansi.doubleQuotedIdentifiers=true` (ANSI mode on, Spark 4's default). `spark` quotes "
    "names in backticks, for Spark under its default settings, ANSI mode on or off."
)


def dialect_of(asked: str | None) -> str:
    """The dialect a request asks for (None: portable), or ``InvalidInput`` naming ``dialect``."""
    if asked is None:
        return "portable"
    if asked not in DIALECTS:
        raise InvalidInput(DIALECT_HELP, field="dialect")
    return asked


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


def _below(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    return f"{col} < {_literal(attr_type)(value)}"


def _above(at: dt.date | None, col: str, attr_type: str, value: Any) -> str:
    return f"{col} > {_literal(attr_type)(value)}"


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
    "below": _below,
    "above": _above,
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
    dialect: Dialect = DIALECTS["portable"]

    def condition(self, c: Condition) -> str:
        ident = self.dialect.ident  # every name of the query, quoted as its dialect reads names
        attr = self.spec.catalog[c.attribute]
        return SQL_TESTS[c.operator](self.at, "p." + ident(c.attribute), attr.type, c.value)

    def groups(self, groups: Groups) -> str:
        if not groups:
            return "TRUE"
        parts = [" AND ".join(self.condition(c) for c in group) for group in groups]
        if len(parts) == 1:
            return parts[0]
        return " OR ".join(f"({p})" for p in parts)

    def entry(self, si: int) -> str:
        """Whether the customer is in stage ``si``: its entry holds and, each customer in one stage,
        no earlier stage's does (the first that holds takes them)."""
        own = f"COALESCE({self.groups(self.spec.stages[si].entry)}, FALSE)"
        if not self.spec.one_stage or si == 0:
            return own
        earlier = "".join(f" WHEN {self.groups(st.entry)} THEN FALSE" for st in self.spec.stages[:si])
        return f"CASE{earlier} ELSE {own} END"

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
        ident = self.dialect.ident  # every name of the query, quoted as its dialect reads names
        entered_cols: list[str] = []
        matched_cols: list[str] = []
        answers: list[str] = []
        every_offer = (o for st in self.spec.stages for o in st.offers)
        made = {o.key: _made("m", o.key, n) for n, o in enumerate(every_offer)}
        for si, st in enumerate(self.spec.stages):
            if stage >= 0 and si != stage:
                continue
            entered = ident(_made("in", st.key, si))
            entered_cols.append(f"{self.entry(si)} AS {entered}")
            offers = [o for o in st.offers if not o.fallback]
            fallback_offer = next((o for o in st.offers if o.fallback), None)
            fallback = fallback_offer.key if fallback_offer is not None else None
            for o in offers:
                open_on = self.window(o)
                matched_cols.append(
                    # NULL (a missing value) is as good as false to every CASE that reads it, and
                    # leaving out COALESCE halves DuckDB's time
                    f"CASE WHEN p.{entered}{' AND ' + open_on if open_on else ''} THEN {self.groups(o.groups)} "
                    f"END AS {ident(made[o.key])}"
                )
            whens = "".join(f" WHEN {ident(made[o.key])} THEN {text(o.key)}" for o in offers)
            fallback_sql = text(fallback) if fallback is not None else "NULL"
            no_offer = "TRUE" if fallback is not None else "FALSE"
            fallback_open = self.window(fallback_offer) if fallback_offer is not None else ""
            if fallback_open:
                fallback_sql = f"CASE WHEN {fallback_open} THEN {fallback_sql} END"
                no_offer = f"({fallback_open})"
            taken = "".join(f" WHEN {ident(made[o.key])} THEN FALSE" for o in offers)
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
                listed = ", ".join(f"CASE WHEN {ident(made[o.key])} THEN {text(o.key)} END" for o in offers)
                answers.append(f"CONCAT_WS('|', {listed}) AS {ident(names[3])}")
            else:
                answers.append(f"'' AS {ident(names[3])}")
        entered_names = [
            ident(_made("in", st.key, si))
            for si, st in enumerate(self.spec.stages)
            if stage < 0 or si == stage
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
    dialect: str = "portable",
) -> str:
    """The decision query of a version (all stages, or stage index ``stage``); see the module doc.

    ``keep``: the input columns carried to the answer (default all, ``p.*``); ``dialect``: a key of
    ``DIALECTS``.
    """
    return _Query(spec_on(spec, at) if at is not None else spec, at, DIALECTS[dialect]).sql(
        source=source, keep=keep, stage=stage
    )


# How stages relate, as the export's header says it.
STAGE_MODE_SQL = {
    "several": "A customer can be in several stages at once: every stage whose entry holds answers its offer.",
    "one": "Each customer is in one stage: the first, in journey order, whose entry holds; the others "
    "answer <stage>.entered false.",
}


def export_sql(
    compiled: CompiledVersion, *, at: dt.date | None, title: str, dialect: str = "portable"
) -> str:
    """The query as a team runs it in its warehouse: a header of comment lines saying what it is and
    what it reads, then the one statement. Every line of the header is made by ``comment``, so no
    name or label can end its line, and the text is always exactly one statement. ``dialect``: a
    key of ``DIALECTS`` (``DIALECT_HELP`` says them)."""
    spec = compiled.spec
    written = DIALECTS[dialect]
    decided = (
        f"the decision day {at.isoformat()}"
        if at
        else "CURRENT_DATE as the decision day: to decide for another day, replace it with DATE 'YYYY-MM-DD'"
    )
    lines = [
        f"Blueprint decisions: {title}",
        f"Dialect: {written.says}.",
        "Reads a relation named profiles, one row per customer, with these columns (NULL = missing):",
        *(
            f"  {written.ident(key)}  {written.types.get(attr.type, written.types['text'])}  ({attr.label})"
            for key, attr in spec.catalog.items()
        ),
        "Sets are text with the elements joined by '|' (e.g. 'savings|credit_card').",
        "Answers every input column, then per stage: <stage>.entered, <stage>.offer (key or NULL),",
        "<stage>.fallback and <stage>.eligible (the matching offers' keys joined by '|').",
        f"Uses {decided}.",
        STAGE_MODE_SQL[spec.stage_mode],
    ]
    cut = [st.key for st in spec.stages if any(len(c) > NAME_BYTES for c in stage_columns(st.key))]
    if cut and written.ident is ident:  # a text PostgreSQL runs
        lines.append(
            f"PostgreSQL cuts names at {NAME_BYTES} bytes: the answer columns of "
            f"{'stages' if len(cut) > 1 else 'stage'} {', '.join(cut)} "
            "lose their ends there (their order is as above)."
        )
    return "".join(comment(line) for line in lines) + decision_sql(spec, at=at, dialect=dialect) + ";\n"
