"""The operator table is the one place the condition language's operators are listed: every backend
translates exactly its operators, and no module picks an operator out by its name."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from blueprint.exports.dmn import FEEL_FORMS
from decisioning import conditions
from decisioning.explain import HOLDS
from decisioning.operators import (
    ATTRIBUTE_TYPES,
    LIST_OPERATORS,
    OPERATOR_NAMES,
    OPERATORS,
    OPERATORS_BY_TYPE,
    VALUE_SHAPES,
    bounds,
    open_ends,
    operator_label,
    require_every_operator,
    value_shape,
)
from decisioning.rephrase import NEGATION
from decisioning.sql import SQL_TESTS

ROOT = Path(__file__).resolve().parents[2]

BACKENDS = {
    "decisioning.rephrase.NEGATION": NEGATION,
    "decisioning.explain.HOLDS": HOLDS,
    "decisioning.sql.SQL_TESTS": SQL_TESTS,
    "blueprint.exports.dmn.FEEL_FORMS": FEEL_FORMS,
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_every_backend_translates_exactly_the_operators_of_the_table(backend: str) -> None:
    assert list(BACKENDS[backend]) == list(OPERATOR_NAMES)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_operator_added_to_the_table_fails_every_backend_without_its_entry(backend: str) -> None:
    with pytest.raises(RuntimeError, match="missing \\['is_after_noon'\\]"):
        require_every_operator(BACKENDS[backend], backend, (*OPERATOR_NAMES, "is_after_noon"))


def test_a_backend_translating_an_operator_the_table_lacks_fails() -> None:
    translations = {**SQL_TESTS, "is_not": SQL_TESTS["is"]}
    with pytest.raises(RuntimeError, match="unknown \\['is_not'\\]"):
        require_every_operator(translations, "a backend")


def test_each_operator_says_its_value_shape_and_types_and_wording() -> None:
    for name, op in OPERATORS.items():
        assert op.name == name
        assert op.value in VALUE_SHAPES
        assert op.types and set(op.types) <= set(ATTRIBUTE_TYPES)
        assert op.label
        if op.value == "list":
            # a one-value list reads as an operator of one value on (at least) the same attributes
            single = OPERATORS[op.singular]
            assert single.value == "one" and set(op.types) <= set(single.types)
        else:
            assert not op.singular


def test_number_and_date_operators_and_only_they_hold_on_a_stretch() -> None:
    for op in OPERATORS.values():
        ordered = set(op.types) <= {"number", "date"}
        assert (op.bounds is not None) is ordered, op.name
        assert not op.on_the_day or op.bounds is not None


def test_the_stretches_of_the_ordered_operators() -> None:
    today = dt.date(2025, 6, 15).toordinal()
    assert bounds("at_least", 18, today) == (18, None)
    assert bounds("at_most", 2.5, today) == (None, 2.5)
    assert bounds("between", [18, 30], today) == (18, 30)
    assert bounds("at_least", "2025-01-01", today) == (dt.date(2025, 1, 1).toordinal(), None)
    assert bounds("within_last_days", 7, today) == (today - 7, today)
    # strict: on a number the value itself, an open end; on a date the day before or after
    assert bounds("below", 18, today) == (None, 18) and open_ends("below", 18) == (False, True)
    assert bounds("above", 2.5, today) == (2.5, None) and open_ends("above", 2.5) == (True, False)
    day = dt.date(2025, 1, 1).toordinal()
    assert bounds("below", "2025-01-01", today) == (None, day - 1)
    assert bounds("above", "2025-01-01", today) == (day + 1, None)
    assert open_ends("below", "2025-01-01") == open_ends("above", "2025-01-01") == (False, False)
    with pytest.raises(ValueError):
        bounds("is", "Gold", today)


def test_the_condition_language_reads_its_operators_from_the_table() -> None:
    assert conditions.ALL_OPERATORS == OPERATOR_NAMES
    assert conditions.TYPES == ATTRIBUTE_TYPES
    assert conditions.OPERATORS_BY_TYPE is OPERATORS_BY_TYPE
    assert conditions.LIST_OPERATORS is LIST_OPERATORS
    assert sorted(LIST_OPERATORS) == ["includes_any_of", "is_one_of"]
    assert OPERATORS_BY_TYPE["date"] == (
        "at_least",
        "at_most",
        "below",
        "above",
        "between",
        "within_last_days",
    )
    assert OPERATORS_BY_TYPE["number"] == ("at_least", "at_most", "below", "above", "between")
    assert all(OPERATORS_BY_TYPE[t] for t in ATTRIBUTE_TYPES)


def test_the_wording_of_an_operator_depends_on_the_attribute_type_only_where_the_table_says() -> None:
    assert operator_label("at_least", "number") == "is at least"
    assert operator_label("at_least", "date") == "is on or after"
    assert operator_label("below", "number") == "is below"
    assert operator_label("above", "number") == "is above"
    assert operator_label("below", "date") == "is before"
    assert operator_label("above", "date") == "is after"
    assert operator_label("is_one_of", "date") == "is one of"
    assert operator_label("is_not", "text") == "is_not"  # unknown: as it is
    assert value_shape("is_not") == "one"


def test_the_sentences_use_the_tables_wording() -> None:
    age = conditions.AttributeSpec(key="age", label="Age", type="number", unit="years")
    segment = conditions.AttributeSpec(
        key="segment", label="Segment", type="choice", choices=("Gold", "Silver")
    )
    assert conditions.condition_sentence(conditions.Condition("age", "between", [18, 26]), age) == (
        "Age is between 18 and 26 years"
    )
    assert conditions.condition_sentence(conditions.Condition("segment", "is_one_of", ["Gold"]), segment) == (
        "Segment is Gold"
    )
    visit = conditions.AttributeSpec(key="visit", label="Last visit", type="date")
    assert (
        conditions.condition_sentence(conditions.Condition("age", "below", 18), age)
        == "Age is below 18 years"
    )
    assert conditions.condition_sentence(conditions.Condition("visit", "above", "2025-03-01"), visit) == (
        "Last visit is after 1 Mar 2025"
    )


def _python_files() -> list[Path]:
    files = sorted((ROOT / "decisioning").glob("*.py")) + sorted((ROOT / "blueprint").rglob("*.py"))
    return [p for p in files if "migrations" not in p.parts and p.name != "demo.py"]


def test_no_module_picks_an_operator_out_by_its_name() -> None:
    """Comparisons like ``operator == "between"`` are what the table replaced: a module that needs an
    operator's facts reads them from the table, or keeps a mapping checked against it."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            for side in [node.left, *node.comparators]:
                items = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                for item in items:
                    if isinstance(item, ast.Constant) and item.value in OPERATORS:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {item.value}")
    assert found == []
