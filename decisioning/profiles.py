"""Checking a profile against a version's catalog (docs/architecture.md, "Decisions"): every bad
value named (``profile.age``) with what would be accepted, nothing decided for a bad profile,
unknown keys ignored. Values come as JSON (numbers, true/false, "YYYY-MM-DD" or an ISO date-time,
whose date is used, lists for sets) or as CSV cells (text: "42", "true"/"yes"/"1", "a|b|c" for a
set, an empty cell for missing). Both engines — ``decisioning.engine`` and the DuckDB batch of
``decisioning.duckdb_cells`` — accept exactly these forms and say exactly these messages."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from decisioning.conditions import AttributeSpec
from decisioning.errors import InvalidInput

SET_SEPARATOR = "|"

# What a profile value may look like. Both engines (this one and decisioning.duckdb_cells) accept exactly these.
NUMBER_FORM = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DATE_FORM = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


class ProfileProblems(InvalidInput):
    """A profile with values that do not fit the catalog; ``problems`` names each field."""


def expected_form(attr: AttributeSpec, csv: bool) -> str:
    choices = f" from {', '.join(attr.choices)}" if attr.choices else ""
    if attr.type == "number":
        return "a number such as 42 or 2.5" if csv else "a JSON number such as 42 or 2.5"
    if attr.type == "boolean":
        return "true, false, yes, no, 1 or 0" if csv else "true or false"
    if attr.type == "date":
        return "a date as YYYY-MM-DD (or an ISO date-time such as 2025-06-30T14:05:00Z, whose date is used)"
    if attr.type == "set":
        sep = f"values separated by '{SET_SEPARATOR}'" if csv else "a list of texts"
        return f"{sep}{choices}"
    if attr.type == "choice" and attr.choices:
        return f"one of {', '.join(attr.choices)}"
    return "a text"


def _day_of(text: str) -> dt.date | None:
    match = DATE_FORM.fullmatch(text)
    if match is None:
        return None
    try:
        day = dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return day


def check_value(attr: AttributeSpec, value: Any, *, csv: bool = False) -> Any:
    """One value in its checked form, ``None`` for missing, or ``ValueError`` saying what is expected.

    Checked forms: number → int or float; date → ``datetime.date``; boolean → bool; text and
    choice → str; set → frozenset of str.
    """
    if value is None or (csv and isinstance(value, str) and value.strip(" ") == ""):
        return None
    kind = attr.type
    if csv:
        if not isinstance(value, str):
            raise ValueError(f"Expected {expected_form(attr, csv)}.")
        text = value.strip(" ")
        if kind == "number":
            if NUMBER_FORM.fullmatch(text) is None:
                raise ValueError(f"Expected {expected_form(attr, csv)}; got '{short_text(text)}'.")
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(
                    f"Expected {expected_form(attr, csv)}; '{short_text(text)}' is out of range."
                )
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        if kind == "boolean":
            lowered = text.lower()
            if lowered in TRUE_WORDS:
                return True
            if lowered in FALSE_WORDS:
                return False
            raise ValueError(f"Expected {expected_form(attr, csv)}; got '{short_text(text)}'.")
        if kind == "set":
            elements = [e.strip(" ") for e in text.split(SET_SEPARATOR)]
            return _check_elements(attr, [e for e in elements if e], csv)
        value = text
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"Expected {expected_form(attr, csv)}; got {_json_kind(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"Expected {expected_form(attr, csv)}; the number must be finite.")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"Expected {expected_form(attr, csv)}; got {_json_kind(value)}.")
        return value
    if kind == "date":
        day = _day_of(value) if isinstance(value, str) else None
        if day is None:
            shown = f"'{short_text(value)}'" if isinstance(value, str) else _json_kind(value)
            raise ValueError(f"Expected {expected_form(attr, csv)}; got {shown}.")
        return day
    if kind == "set":
        if not isinstance(value, list):
            raise ValueError(f"Expected {expected_form(attr, csv)}; got {_json_kind(value)}.")
        return _check_elements(attr, value, csv)
    if not isinstance(value, str):
        raise ValueError(f"Expected {expected_form(attr, csv)}; got {_json_kind(value)}.")
    if attr.choices and value not in attr.choices:
        raise ValueError(
            f"'{short_text(value)}' is not a choice of {attr.label}; expected {expected_form(attr, csv)}."
        )
    return value


def _check_elements(attr: AttributeSpec, elements: list[Any], csv: bool) -> frozenset[str]:
    for element in elements:
        if not isinstance(element, str):
            raise ValueError(f"Expected {expected_form(attr, csv)}; an element is {_json_kind(element)}.")
        if attr.choices and element not in attr.choices:
            raise ValueError(
                f"'{short_text(element)}' is not a choice of {attr.label}; expected {expected_form(attr, csv)}."
            )
    return frozenset(elements)


def short_text(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "…"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{short_text(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def profile_check(
    profile: Any, catalog: Mapping[str, AttributeSpec], *, csv: bool = False, path: str = "profile"
) -> dict[str, Any]:
    """The profile's catalog attributes in their checked forms (missing ones left out).

    Raises ``ProfileProblems`` naming every bad field (``profile.age``) and what it expects.
    Keys outside the catalog are ignored.
    """
    if not isinstance(profile, Mapping):
        raise ProfileProblems("Expected an object: attribute key → value.", field=path)
    checked: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key, attr in catalog.items():
        try:
            value = check_value(attr, profile.get(key), csv=csv)
        except ValueError as exc:
            problems[f"{path}.{key}"] = [str(exc)]
            continue
        if value is not None:
            checked[key] = value
    if problems:
        raise ProfileProblems(problems)
    return checked
