"""The board's HTML forms: posted fields in, operation payloads out, service problems back in place.

The condition editor posts one row per condition. Each row has a random id ``rid`` and sends
``cond=<rid>`` (so rows keep their on-screen order), ``c-<rid>-group`` (the "or" group it belongs
to), ``c-<rid>-attribute``, ``c-<rid>-operator`` and its value fields: ``c-<rid>-value`` (repeated
for lists), or ``c-<rid>-low`` / ``c-<rid>-high`` for ``between``. Groups are ordered by where their
first row stands. A row whose attribute is still unchosen is an unfinished thought and is left out.

Nothing here validates conditions: that is ``parse_groups``' job inside ``operation_apply``. These
classes only shape input, and put the service's problems (``groups[0][1].value``) back beside the
field the person typed into.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.http import QueryDict

from decisioning.conditions import AttributeSpec, operator_label, operators_for
from decisioning.conditions import value_shape as _operator_shape
from decisioning.limits import for_people
from decisioning.rephrase import NEGATIVE_CHOICES, Rephrasing, negated_operator, rephrase

# Both are matched whole (fullmatch): "$" would also match before a final line break.
_PATH_RE = re.compile(
    r"(?P<field>groups|entry)(?:\[(?P<group>[0-9]+)\](?:\[(?P<cond>[0-9]+)\])?)?(?:\.(?P<part>[a-z_]+))?"
)
ROW_ID_RE = re.compile(r"[a-z0-9]{1,16}")


def value_shape(operator: str) -> str:
    """The value an operator takes; a negative form (``is_not``) the value of the one it negates, so
    that a person can say what to leave out before picking how to say it positively."""
    return _operator_shape(negated_operator(operator) or operator)


# Words that, typed before a value, say what to leave out: "not Paris", "except Lyon".
NEGATIVE_WORDS = re.compile(
    r"^\s*(?:is\s+not|isn't|not|except|excluding|without|excludes|none\s+of|no)\b\s*", re.I
)


def new_id() -> str:
    return secrets.token_hex(4)


def clean_id(value: str | None) -> str:
    return value if value and ROW_ID_RE.fullmatch(value) else new_id()


@dataclass
class Choice:
    value: str
    label: str
    selected: bool = False


# --- One condition row ------------------------------------------------------------------------


@dataclass
class ConditionRow:
    """One row of the condition editor, as the person left it (valid or not)."""

    rid: str
    group: str
    attribute: str = ""
    operator: str = ""
    values: list[str] = field(default_factory=list)
    low: str = ""
    high: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    # What drawing the row needs, filled in by ``bind`` from the catalog.
    spec: AttributeSpec | None = field(default=None, repr=False)
    widget: str = "none"
    operator_options: list[Choice] = field(default_factory=list, repr=False)
    negative_options: list[Choice] = field(default_factory=list, repr=False)
    value_options: list[Choice] = field(default_factory=list, repr=False)
    # a negative form chosen or typed: how to say it positively (None: the row says no negative)
    rephrasing: Rephrasing | None = field(default=None, repr=False)

    def bind(self, catalog: Mapping[str, AttributeSpec]) -> None:
        self.spec = catalog.get(self.attribute)
        self.widget = row_widget(self, self.spec)
        self.operator_options = operator_choices(self, self.spec)
        self.negative_options = negative_choices(self, self.spec)
        self.rephrasing = row_rephrasing(self, self.spec)
        if self.widget == "checkboxes" and self.spec is not None:
            # the boxes post their values in the catalog's order: hold them in that order too, so a
            # form saved untouched posts what it showed (``orig``)
            self.values = [c for c in self.spec.choices if c in self.values]
        self.value_options = value_choices(self, self.spec)

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""

    @property
    def is_negative(self) -> bool:
        """Whether the row's operator is a negative form (``is_not``), to be said positively."""
        return bool(self.operator) and negated_operator(self.operator) is not None

    @property
    def values_text(self) -> str:
        """A free text list as its textarea shows it: one value per line."""
        return "\n".join(self.values)

    @property
    def text_rows(self) -> int:
        return min(max(len(self.values_text.splitlines()), 2), 8)

    @classmethod
    def from_query(cls, data: QueryDict, rid: str, group: str | None = None) -> ConditionRow:
        prefix = f"c-{rid}-"
        values = [v.strip() for v in data.getlist(prefix + "value")]
        return cls(
            rid=rid,
            group=clean_id(group or data.get(prefix + "group")),
            attribute=data.get(prefix + "attribute", "").strip(),
            operator=data.get(prefix + "operator", "").strip(),
            values=[v for v in values if v],
            low=data.get(prefix + "low", "").strip(),
            high=data.get(prefix + "high", "").strip(),
        )

    @classmethod
    def from_condition(cls, condition: Mapping[str, Any], group: str) -> ConditionRow:
        value = condition.get("value")
        row = cls(
            rid=new_id(),
            group=group,
            attribute=str(condition.get("attribute", "")),
            operator=str(condition.get("operator", "")),
        )
        if value_shape(row.operator) == "pair" and isinstance(value, list) and len(value) == 2:
            row.low, row.high = _as_text(value[0]), _as_text(value[1])
        elif isinstance(value, list):
            row.values = [_as_text(v) for v in value]
        elif value is not None:
            row.values = [_as_text(value)]
        return row

    def adapt_to(self, spec: AttributeSpec | None, *, attribute_changed: bool) -> None:
        """Keep the row sensible after the person picked another attribute or operator."""
        if spec is None:
            self.operator, self.values, self.low, self.high = "", [], "", ""
            return
        if attribute_changed:
            self.values, self.low, self.high = [], "", ""
        self.values = [line for value in self.values for line in value_lines(value)]
        negatives = [name for name, _ in NEGATIVE_CHOICES.get(spec.type, ())]
        if self.operator not in operators_for(spec.type) and self.operator not in negatives:
            self.operator = operators_for(spec.type)[0] if operators_for(spec.type) else ""
        shape = value_shape(self.operator)
        if shape != "list":
            self.values = self.values[:1]
        if shape == "pair" and not (self.low or self.high) and self.values:
            self.low, self.values = self.values[0], []
        if spec.choices:
            self.values = [v for v in self.values if v in spec.choices]

    def raw_value(self) -> tuple[bool, Any]:
        """(present, value) for the JSON condition; an empty field is left out so the service says
        what it expects there rather than complaining about an empty string."""
        shape = value_shape(self.operator)
        if shape == "pair":
            if not self.low and not self.high:
                return False, None
            return True, [self.low, self.high]
        if shape == "list":
            # A free text list is a textarea, one value per line; a ticked checkbox is one value that
            # holds no line break. Commas are never separators: "Washington, D.C." is one city.
            return True, [line for value in self.values for line in value_lines(value)]
        if not self.values:
            return False, None
        return True, self.values[0]

    def as_condition(self) -> dict[str, Any]:
        condition: dict[str, Any] = {"attribute": self.attribute, "operator": self.operator}
        present, value = self.raw_value()
        if present:
            condition["value"] = value
        return condition


def value_lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- The editor: groups of rows ---------------------------------------------------------------


@dataclass
class ConditionGroup:
    gid: str
    rows: list[ConditionRow]
    errors: list[str] = field(default_factory=list)


@dataclass
class ConditionEditor:
    """The rows of one offer's ``groups`` or one stage's ``entry``, grouped as on screen."""

    name: str  # "groups" or "entry": the payload field and the root of the problem paths
    rows: list[ConditionRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (group index, condition index) in the posted JSON → the row it came from
    _positions: dict[tuple[int, int], ConditionRow] = field(default_factory=dict, repr=False)
    _group_ids: list[str] = field(default_factory=list, repr=False)
    _group_errors: dict[int, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_groups(cls, name: str, groups: Sequence[Sequence[Mapping[str, Any]]]) -> ConditionEditor:
        rows = []
        for group in groups:
            gid = new_id()
            rows += [ConditionRow.from_condition(c, gid) for c in group]
        return cls(name=name, rows=rows)

    @classmethod
    def from_query(cls, name: str, data: QueryDict) -> ConditionEditor:
        # No cut-off here: rows past the limits are refused by the service, naming the limit; the
        # loop is bounded by the fields Django parses at all (form_fields)
        rids = [rid for rid in data.getlist("cond") if ROW_ID_RE.fullmatch(rid)]
        return cls(name=name, rows=[ConditionRow.from_query(data, rid) for rid in dict.fromkeys(rids)])

    def bind(self, catalog: Mapping[str, AttributeSpec]) -> None:
        for row in self.rows:
            row.bind(catalog)

    @property
    def groups(self) -> list[ConditionGroup]:
        by_id: dict[str, ConditionGroup] = {}
        for row in self.rows:
            by_id.setdefault(row.group, ConditionGroup(gid=row.group, rows=[])).rows.append(row)
        for index, gid in enumerate(self._group_ids):
            if gid in by_id:
                by_id[gid].errors = self._group_errors.get(index, [])
        return list(by_id.values())

    def as_groups(self) -> list[list[dict[str, Any]]]:
        """The JSON groups for the service; remembers which row each condition came from."""
        grouped: dict[str, list[ConditionRow]] = {}
        for row in self.rows:
            if row.attribute:
                grouped.setdefault(row.group, []).append(row)
        self._group_ids = list(grouped)
        self._positions = {
            (gi, ci): row for gi, rows in enumerate(grouped.values()) for ci, row in enumerate(rows)
        }
        return [[row.as_condition() for row in rows] for rows in grouped.values()]

    def take_problem(self, path: str, messages: list[str]) -> bool:
        """Put a problem under the row or group it names; False if the path is not ours."""
        match = _PATH_RE.fullmatch(path)
        if match is None or match["field"] != self.name:
            return False
        if match["group"] is None:
            self.errors += messages
            return True
        gi = int(match["group"])
        if match["cond"] is None:
            self._group_errors.setdefault(gi, []).extend(messages)
            return True
        row = self._positions.get((gi, int(match["cond"])))
        if row is None:
            self.errors += messages
            return True
        part = match["part"] if match["part"] in ("attribute", "operator", "value") else "row"
        row.errors.setdefault(part, []).extend(messages)
        return True


# --- What the templates need to draw a row ----------------------------------------------------


def row_widget(row: ConditionRow, spec: AttributeSpec | None) -> str:
    """Which value input suits the attribute's type and the operator."""
    if spec is None or not row.operator:
        return "none"
    shape = value_shape(row.operator)
    if shape == "pair":
        return "date_range" if spec.type == "date" else "number_range"
    if shape == "days":
        return "days"
    if spec.type == "boolean":
        return "boolean"
    if spec.type == "number":
        return "number"
    if spec.type == "date":
        return "date"
    if shape == "list":
        return "checkboxes" if spec.choices else "text_list"
    return "select" if spec.choices else "text"


def operator_choices(row: ConditionRow, spec: AttributeSpec | None) -> list[Choice]:
    if spec is None:
        return []
    return [Choice(op, operator_label(op, spec.type), op == row.operator) for op in operators_for(spec.type)]


def negative_choices(row: ConditionRow, spec: AttributeSpec | None) -> list[Choice]:
    """The negative forms people reach for on this type: picking one asks what to leave out, then
    offers the positive ways to say it (``row_rephrasing``)."""
    if spec is None:
        return []
    return [Choice(op, label, op == row.operator) for op, label in NEGATIVE_CHOICES.get(spec.type, ())]


@dataclass(frozen=True)
class Negative:
    """A negative the row says: the positive operator it negates and the value it leaves out."""

    negates: str
    value: Any
    typed: bool  # typed before the value ("not Paris"), rather than chosen as the operator


def row_negative(row: ConditionRow) -> Negative | None:
    """What the row leaves out, if it says a negative: a negative operator chosen, or a negative
    word typed before a text value; None otherwise, or while no value is given yet."""
    negates = negated_operator(row.operator) if row.operator else None
    present, value = row.raw_value()
    if negates is not None:
        return Negative(negates, value, typed=False) if present and value not in ("", []) else None
    if not present or row.widget not in ("text", "text_list"):
        return None  # a word can come first only where the value is typed
    values = value if isinstance(value, list) else [value]
    if not values or not isinstance(values[0], str) or not NEGATIVE_WORDS.match(values[0]):
        return None
    left = [NEGATIVE_WORDS.sub("", v, count=1).strip() for v in values]
    left = [v for v in left if v]
    if not left:
        return None
    return Negative(row.operator, left if isinstance(value, list) else left[0], typed=True)


def row_rephrasing(row: ConditionRow, spec: AttributeSpec | None) -> Rephrasing | None:
    """The exact positive ways to say the row's negative (``decisioning.rephrase``), or why none."""
    if spec is None:
        return None
    negative = row_negative(row)
    if negative is None:
        return None
    return rephrase(spec, negative.negates, negative.value)


def replaced_groups(
    rows: Sequence[ConditionRow], row: ConditionRow, groups: Sequence[Sequence[Mapping[str, Any]]]
) -> list[ConditionGroup]:
    """``row``'s group with ``row`` replaced by the conditions of ``groups[0]``, then for each further
    group a copy of that group (new ids) with ``row`` replaced by that group's conditions: groups are
    "or", so the row's group holds exactly when one of the copies does."""
    mine = [r for r in rows if r.group == row.group]
    found: list[ConditionGroup] = []
    for index, conditions in enumerate(groups):
        gid = row.group if index == 0 else new_id()
        copied: list[ConditionRow] = []
        for other in mine:
            if other is row:
                copied += [ConditionRow.from_condition(c, gid) for c in conditions]
            else:
                copied.append(
                    dataclasses.replace(
                        other, rid=other.rid if index == 0 else new_id(), group=gid, errors={}
                    )
                )
        found.append(ConditionGroup(gid=gid, rows=copied))
    return found


def value_choices(row: ConditionRow, spec: AttributeSpec | None) -> list[Choice]:
    if spec is None:
        return []
    if spec.type == "boolean":
        return [Choice("true", "yes", row.value == "true"), Choice("false", "no", row.value == "false")]
    return [Choice(c, c, c in row.values) for c in spec.choices]


# --- What an edit changed ---------------------------------------------------------------------
#
# Two people may edit one thing at once, and the promise is last writer wins *per field*. So an
# edit form carries, in a hidden ``orig`` field, its own payload as it first showed it; saving sends
# only the fields whose posted value differs from that, and a field someone else changed meanwhile
# survives unless this person changed it too. Both sides come out of the same payload code, so an
# untouched field compares equal however the database spells it.


def shown_json(payload: Mapping[str, Any]) -> str:
    """The ``orig`` hidden field of an edit form: its payload as shown."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def form_as_shown(orig: str | None) -> dict[str, Any] | None:
    """The payload an edit form showed, from its ``orig`` field; None if missing or garbled."""
    if not orig:
        return None
    try:
        shown = json.loads(orig)
    except (ValueError, RecursionError):
        return None
    return shown if isinstance(shown, dict) else None


def changed_fields(payload: Mapping[str, Any], shown: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of ``payload`` that differ from the form as shown; all of them without ``shown``."""
    if shown is None:
        return dict(payload)
    as_json = json.loads(json.dumps(payload))  # compare like with like: tuples become lists, …
    return {name: payload[name] for name in payload if name not in shown or shown[name] != as_json[name]}


def _textarea(data: QueryDict, name: str) -> str:
    # browsers send a textarea's line breaks as CRLF; the database holds what the form showed, LF
    return data.get(name, "").replace("\r\n", "\n")


# --- Stage and offer forms --------------------------------------------------------------------


def _field_errors(
    problems: Mapping[str, list[str]], editor: ConditionEditor, own: Sequence[str]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for path, messages in problems.items():
        if editor.take_problem(path, list(messages)):
            continue
        errors.setdefault(path if path in own else "form", []).extend(messages)
    return errors


class _EditForm:
    """What the stage and offer forms share: the values they showed (``orig``), the fields the
    person changed since, and the service's problems put back beside those fields."""

    editor: ConditionEditor
    errors: dict[str, list[str]]
    orig: str
    OWN: ClassVar[tuple[str, ...]]

    def payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def remember_as_shown(self, catalog: Mapping[str, AttributeSpec]) -> None:
        self.editor.bind(catalog)  # as drawn, so ``orig`` is what the untouched form posts
        self.orig = shown_json(self.payload())

    def changes(self) -> dict[str, Any]:
        return changed_fields(self.payload(), form_as_shown(self.orig))

    def show_problems(self, problems: Mapping[str, list[str]]) -> None:
        """Put the service's problems beside the fields, in words for people (a limit by what it
        counts, not by its name)."""
        plain = {path: [for_people(m) for m in messages] for path, messages in problems.items()}
        self.errors = _field_errors(plain, self.editor, self.OWN)


@dataclass
class StageForm(_EditForm):
    name: str = ""
    description: str = ""
    editor: ConditionEditor = field(default_factory=lambda: ConditionEditor(name="entry"))
    errors: dict[str, list[str]] = field(default_factory=dict)
    orig: str = ""  # the payload as the edit form first showed it (``shown_json``)
    OWN: ClassVar[tuple[str, ...]] = ("name", "description")

    @classmethod
    def from_stage(cls, stage: Any, catalog: Mapping[str, AttributeSpec]) -> StageForm:
        form = cls(
            name=stage.name,
            description=stage.description,
            editor=ConditionEditor.from_groups("entry", stage.entry),
        )
        form.remember_as_shown(catalog)
        return form

    @classmethod
    def from_post(cls, data: QueryDict) -> StageForm:
        return cls(
            name=data.get("name", ""),
            description=_textarea(data, "description"),
            editor=ConditionEditor.from_query("entry", data),
            orig=data.get("orig", ""),
        )

    def payload(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "entry": self.editor.as_groups()}


@dataclass
class OfferForm(_EditForm):
    name: str = ""
    description: str = ""
    channel: str = ""
    fallback: bool = False
    content_ref: str = ""
    starts_on: str = ""  # YYYY-MM-DD (a date input's value), "" when open
    ends_on: str = ""
    tags: str = ""  # as typed: comma-separated
    editor: ConditionEditor = field(default_factory=lambda: ConditionEditor(name="groups"))
    errors: dict[str, list[str]] = field(default_factory=dict)
    orig: str = ""  # the payload as the edit form first showed it (``shown_json``)
    OWN: ClassVar[tuple[str, ...]] = (
        "name",
        "description",
        "channel",
        "fallback",
        "content_ref",
        "starts_on",
        "ends_on",
        "tags",
    )

    @classmethod
    def from_offer(cls, offer: Any, catalog: Mapping[str, AttributeSpec]) -> OfferForm:
        form = cls(
            name=offer.name,
            description=offer.description,
            channel=offer.channel,
            fallback=offer.fallback,
            content_ref=offer.content_ref,
            starts_on=offer.starts_on or "",
            ends_on=offer.ends_on or "",
            tags=", ".join(offer.tags),
            editor=ConditionEditor.from_groups("groups", offer.groups),
        )
        form.remember_as_shown(catalog)
        return form

    @classmethod
    def from_post(cls, data: QueryDict) -> OfferForm:
        return cls(
            name=data.get("name", ""),
            description=_textarea(data, "description"),
            channel=data.get("channel", ""),
            fallback=data.get("fallback") in ("on", "true", "1"),
            content_ref=data.get("content_ref", ""),
            starts_on=data.get("starts_on", ""),
            ends_on=data.get("ends_on", ""),
            tags=data.get("tags", ""),
            editor=ConditionEditor.from_query("groups", data),
            orig=data.get("orig", ""),
        )

    def payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "channel": self.channel,
            "fallback": self.fallback,
            "groups": self.editor.as_groups(),
            "content_ref": self.content_ref,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            # the service strips and folds repeats; a comma separates tags as typed
            "tags": [t for t in self.tags.split(",") if t.strip()],
        }
