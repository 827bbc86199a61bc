"""The batch query: a version as one DuckDB query over a relation of raw cells (CSV or Parquet).

A view first checks every cell by the rules of ``decisioning.profiles.check_value`` (same accepted
forms, same messages), so a bad row gets an ``error`` naming its fields and no decision; the good
rows are decided with bitmasks exactly as ``decide`` would decide them. ``batch_sql`` writes it;
``decisioning.duckdb_run`` runs it over files. Every text in it is quoted by ``decisioning.sql``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from decisioning.codegen import ordered_fails
from decisioning.conditions import AttributeSpec, Condition
from decisioning.duckdb_cells import (
    CAST_INT,
    CHUNK,
    CONSTANTS,
    EPOCH,
    MAX_CELLS,
    SET_LOOKUP_ELEMENTS,
    WORD,
    Constants,
    sql_list,
    typed_cell,
    ubigint,
)
from decisioning.engine import CompiledVersion
from decisioning.explain import condition_holds
from decisioning.model import BlueprintSpec, StageSpec, spec_on
from decisioning.profiles import SET_SEPARATOR
from decisioning.sql import ident, stage_columns, text

ROW = "row"  # the 1-based row number the batch adds
ERROR = "error"


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
    # each customer in one stage: the entry masks of the stages before it (None: everyone enters)
    before: list[int | None] | None = None


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
    if spec.one_stage:
        # the earlier stages' entries decide who is in a stage too: theirs are read as well
        entries: dict[int, int | None] = {bits.index: bits.entry for bits in stages}
        for index, st in enumerate(spec.stages[: max((b.index for b in stages), default=0)]):
            if index not in entries:
                entries[index] = sum(take(group) for group in st.entry) if st.entry else None
        for bits in stages:
            bits.before = [entries[index] for index in range(bits.index)]
    by_attribute = {k: v for k, v in by_attribute.items() if k in spec.catalog}
    return _Layout(stages, direct, folds, by_attribute, WORD * len(fill))


def _fails(conditions: Sequence[tuple[Condition, int]], value: Any) -> int:
    return sum({bit for c, bit in conditions if not condition_holds(c, value, 0)})


def _grid(x: str, p: str, bounds: Sequence[float], integral: bool, constants: Constants) -> tuple[str, str]:
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
    twice_before = constants.add(sql_list([0, *before], "INTEGER"))
    inside = [
        constants.add(
            sql_list([math.inf, *(b[j] if j < len(b) else math.inf for b in by_cell), math.inf], "DOUBLE")
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
    constants: Constants,
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
        index = f"COALESCE(list_position({constants.add(sql_list(ordered, 'VARCHAR'))}, {v}), 0)"
        table = [everything, *(_fails(conditions, value) for value in ordered)]
    words = [layout.split(mask) for mask in table]
    fails: list[str | None] = []
    for k, touched in enumerate(layout.split(everything)):
        fails.append(
            f"{constants.add(sql_list([w[k] for w in words], 'UBIGINT'))}[{name}]" if touched else None
        )
    # the piece as a list position (from 1, a BIGINT), computed once for the lookups of every word
    return _Lookup(cells, {name: f"CAST({index} AS BIGINT) + 1"}, fails)


def _set_terms(
    key: str, v: str, conditions: Sequence[tuple[Condition, int]], layout: _Layout, constants: Constants
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
            f"list_has_any({v}, {constants.add(sql_list(elements, 'VARCHAR'))}) IS TRUE"
            if elements
            else "FALSE"
        )
        for k, word in enumerate(layout.split(bit)):
            if word:
                terms[k].append(f"CASE WHEN {name} THEN {ubigint(0)} ELSE {ubigint(word)} END")
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
    are made once per version and arguments (too slow to make per call), over ``SOURCE``; the relation is put
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
    spec = spec_on(compiled.spec, at)  # offers outside their days are not eligible that day
    layout = _layout(spec, stage)
    constants = Constants()
    row = ident("#row")
    error = ident(ERROR)
    good = ident("#good")
    firsts, parsed, checked, errors, error_columns, by_key = [row], [row], [row], [], [], []
    for key, attr in spec.catalog.items():
        t, v, e = (ident(f"{p}:{key}") for p in ("t", "v", "e"))
        if key not in columns:
            checked.append(f"NULL AS {v}")
            continue
        cell = typed_cell(attr, "r." + ident(key), columns[key], t, constants)
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
    placed = [row, *error_columns, f"CASE WHEN {no_error} THEN {ubigint(0)} END AS {good}"]
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
        held = f"{ubigint(direct)} & ~({' | '.join(failed)})" if failed else ubigint(direct)
        words.append(f"({held}) | {good} AS {w[k]}")

    def any_of(mask: int) -> str:
        return " OR ".join(f"({w[k]} & {ubigint(m)}) <> 0" for k, m in enumerate(layout.split(mask)) if m)

    folded = [row, error, *w]
    if layout.folds:  # an offer of many groups holds when one of its groups does
        folded = [row, error]
        for k in range(layout.words):
            adds = [
                f"CASE WHEN {any_of(groups)} THEN {ubigint(layout.split(bit)[k])} ELSE {ubigint(0)} END"
                for groups, bit in layout.folds
                if layout.split(bit)[k]
            ]
            folded.append(f"{' | '.join([w[k], *adds])} AS {w[k]}")
    entered = [row, error, *w]
    coded = [row, error]
    answers = [f"{row} AS {ident(ROW)}", error]
    # CSV lines: the row's fields written out here, each stage's from two or three lookups, so that
    # the CSV writer writes one ready text a row (each field it writes itself has a cost)
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
        if bits.before:  # one stage each: in it when no earlier stage's entry holds
            if any(mask is None for mask in bits.before):
                earlier = "TRUE"
            else:
                earlier = " OR ".join(f"({any_of(mask)})" for mask in bits.before if mask)
            own = f"({any_of(bits.entry)})" if bits.entry else "TRUE"
            entered.append(f"CASE WHEN {w[0]} IS NOT NULL THEN NOT ({earlier}) AND {own} END AS {inside}")
        else:
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
                sql_list(
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
                parts.append(f"{constants.add(sql_list(alone, 'VARCHAR'))}[{code} + 1]")
                continue
            listed = constants.add(sql_list(_joined(keys, True) + alone, "VARCHAR"))
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
            line.append(f"COALESCE({constants.add(sql_list(heads, 'VARCHAR'))}[{place} * {one} + 1], ',,,')")
            line += parts
            continue
        chosen = constants.add(sql_list(first_keys, offer_type))
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
