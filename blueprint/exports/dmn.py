"""The blueprint as DMN 1.3 decision tables (namespace ``https://www.omg.org/spec/DMN/20191111/MODEL/``).

Per stage there is one decision, "<stage>: offer", whose decision table has

- hit policy **FIRST**: the rules are in priority order and the first that matches wins — the
  decision rule (docs/architecture.md, "Decisions") word for word. PRIORITY would rank the *output
  values* instead (the order of the output's allowed values), which says the same only when every
  rule of an offer sits at its offer's place in that list, and breaks as soon as two offers share an
  output or a tool reorders the list; FIRST keeps priority where people see it, in the rule order;
- one input per attribute the stage's offers use, its input expression the attribute's variable
  (an ``inputData`` of the same name: ``a_<key>``, see "Names, ids and literals" below), its
  ``typeRef`` from the catalog type (text and choice → string, number, boolean, date; a set is a
  FEEL list of strings, item definition ``tStringList``), and for choices the allowed values;
- one rule per group of each offer (an offer matches when any group does: OR of ANDs), each input
  entry a FEEL unary test — ``"Gold"``, ``"Gold","Silver"``, ``>= 18``, ``[18..30]``,
  ``>= date("2025-01-01")``, ``? != null and (list contains(?, "savings"))``, and for "within the
  last N days" ``? != null and (? >= decision_date - duration("PND") and ? <= decision_date)``
  against the input ``decision_date`` (the decision day); an attribute the group does not test is ``-``;
- the fallback as the last rule, every entry ``-``;
- two outputs: ``offer`` (the offer's key) and ``fallback`` (true for the fallback's rule).

Entry conditions are a **separate decision**, "<stage>: entry" (named ``stage_<key>_entry``, id
``entry.<key>``; the offer's ``stage_<key>_offer``, ``decision.<key>``), with its own FIRST table (one
rule per entry group giving ``true``, then a last rule giving ``false``), which the stage's decision
requires and reads as its first input column (``true`` in every rule). Entry and offers stay apart
as they are on the board, a tool shows who is in the stage once rather than repeating the entry
in every rule, and OR-groups of entry and offer do not multiply into a cross product of rules.
A customer outside the stage matches no rule: the decision's result is null ("not in the stage").

When each customer is in one stage (``BlueprintSpec.one_stage``), one more decision, "Stage of the
customer" (``customer_stage``), reads every entry decision in a FIRST table, one rule per stage in
journey order, and answers the first stage whose entry holds; every stage's decision reads it
instead of its own entry, its first column ``"<stage key>"`` in every rule.

A missing attribute is null in FEEL and must meet no test, as it meets no condition. The simple
unary tests (``"Gold"``, ``>= 18``, ``[18..30]``) are false for null; a test written as an
expression of ``?`` (sets, "within the last N days", several conditions on one attribute) starts
with ``? != null and``, because FEEL compares an expression that yields null with the input, and
null = null would hold. Pure: no database; ``xml.etree`` builds the document.
"""

from __future__ import annotations

import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from blueprint.exports.subject import ExportSubject
from decisioning.conditions import AttributeSpec, Condition, Group
from decisioning.model import OfferSpec, StageSpec
from decisioning.operators import OPERATORS, require_every_operator

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DC = "http://www.omg.org/spec/DMN/20180521/DC/"
DI = "http://www.omg.org/spec/DMN/20180521/DI/"
FEEL = "https://www.omg.org/spec/DMN/20191111/FEEL/"
DECISION_DATE = "decision_date"  # the exporter's own variable: no attribute or decision name is like it
LIST_TYPE = "tStringList"

TYPE_REFS = {"text": "string", "choice": "string", "number": "number", "boolean": "boolean", "date": "date"}

PREFIXES = {"": DMN, "dmndi": DMNDI, "dc": DC, "di": DI}


def _prefixes() -> None:
    """Register the document's prefixes. ElementTree's registry is global, and WeasyPrint (the PDF
    spec) registers "" and "dc" for its own metadata when it first prints: without this, a DMN
    export after a PDF in the same process writes ns0:, ns1: prefixes."""
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)


_prefixes()


# --- Names, ids and literals: every text the document takes from a blueprint ---------------------------
#
# Keys are ``[a-z0-9_-]+`` and may be anything in it: a FEEL keyword or built-in (``and``, ``in``,
# ``date``, ``for``), a number, ``decision_date``. So no key is ever a FEEL name or an id as it is:
# FEEL names are a prefix no FEEL keyword or built-in has (``a_`` for an attribute, ``stage_`` for a
# stage's decisions) and the key with ``-`` (which FEEL reads as a minus) written ``_D_``, an upper-case
# letter no key holds; ids are words and keys joined by ``.``, which no key holds. Both mappings are
# one-to-one, so two keys never give one name or one id, and none gives the exporter's own.

_KEY = re.compile(r"[a-z0-9_-]+\Z")
_ID = re.compile(r"[A-Za-z0-9_-]+(?:[.][A-Za-z0-9_-]+)*\Z")
_DASH = "_D_"


def _feel_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a key: {key!r}")
    return key.replace("-", _DASH)


def variable_name(key: str) -> str:
    """The FEEL variable of an attribute (its ``inputData``): ``a_<key>``, ``-`` written ``_D_``."""
    return "a_" + _feel_key(key)


def decision_name(stage_key: str, what: str) -> str:
    """The FEEL name of a stage's decision (``what``: entry or offer): ``stage_<key>_<what>``."""
    return f"stage_{_feel_key(stage_key)}_{what}"


def xml_id(*parts: str) -> str:
    """An id: its parts (fixed words, keys, numbers, ids made here) joined by ``.``; the first part
    is always a word."""
    made = ".".join(parts)
    if not _ID.match(made):
        raise ValueError(f"not an id: {made!r}")
    return made


# what XML 1.0 cannot hold: most C0 controls, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """People's text as XML 1.0 character data: a character XML cannot hold (most controls, lone
    surrogates, U+FFFE and U+FFFF) becomes U+FFFD; ElementTree escapes the rest."""
    return _NOT_XML.sub("\ufffd", str(value))


_FEEL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_FEEL_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but " and \: written as it is


def feel_string(value: Any) -> str:
    """A FEEL string literal of exactly ``value``: in double quotes; ``"`` and ``\\`` escaped; line
    breaks, controls, format characters and whatever XML cannot hold written as ``\\uXXXX`` (UTF-16
    units). A hex digit right after such an escape is escaped too, so that no reader can take it
    for a fifth digit of the escape (feelin does)."""
    text = str(value)
    if _FEEL_PLAIN.fullmatch(text):
        return f'"{text}"'
    out = ['"']
    escaped = False
    for ch in text:
        if ch in _FEEL_ESCAPES:
            out.append(_FEEL_ESCAPES[ch])
            escaped = False
        elif (escaped and ch in _HEX) or _feel_hidden(ch):
            units = ch.encode("utf-16-be", "surrogatepass")
            out += [f"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)]
            escaped = True
        else:
            out.append(ch)
            escaped = False
    out.append('"')
    return "".join(out)


def _feel_hidden(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or bool(_NOT_XML.match(ch))


def feel_number(value: int | float) -> str:
    """A FEEL number literal: digits with an optional fraction and sign; FEEL has no exponent."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return str(value)
    written = format(Decimal(repr(value)), "f")
    return written.rstrip("0").rstrip(".") if "." in written else written


def _scalar(value: Any, attr_type: str) -> str:
    if attr_type == "date":
        return f"date({feel_string(value)})"
    if attr_type == "number":
        return feel_number(value)
    if attr_type == "boolean":
        return "true" if value else "false"
    return feel_string(value)


@dataclass(frozen=True)
class FeelForm:
    """An operator in FEEL, from a condition's value and its attribute's type: ``test``, a boolean
    expression of ``?`` in parentheses (so that several can be joined with ``and``; the caller adds
    ``? != null``), and ``unary``, the simple unary test, false for null. Without ``unary`` the
    unary test is ``? != null and`` the boolean one."""

    test: Callable[[Any, str], str]
    unary: Callable[[Any, str], str] | None = None


def _elements_test(value: Any, attr_type: str) -> str:
    elements = value if isinstance(value, list) else [value]
    return "(" + " or ".join(f"list contains(?, {feel_string(e)})" for e in elements) + ")"


FEEL_FORMS: dict[str, FeelForm] = {
    "is": FeelForm(
        test=lambda value, attr_type: f"(? = {_scalar(value, attr_type)})",
        unary=lambda value, attr_type: _scalar(value, attr_type),
    ),
    "is_one_of": FeelForm(
        test=lambda value, attr_type: f"(? in [{', '.join(_scalar(v, attr_type) for v in value)}])",
        unary=lambda value, attr_type: ",".join(_scalar(v, attr_type) for v in value),
    ),
    "at_least": FeelForm(
        test=lambda value, attr_type: f"(? >= {_scalar(value, attr_type)})",
        unary=lambda value, attr_type: f">= {_scalar(value, attr_type)}",
    ),
    "at_most": FeelForm(
        test=lambda value, attr_type: f"(? <= {_scalar(value, attr_type)})",
        unary=lambda value, attr_type: f"<= {_scalar(value, attr_type)}",
    ),
    "below": FeelForm(
        test=lambda value, attr_type: f"(? < {_scalar(value, attr_type)})",
        unary=lambda value, attr_type: f"< {_scalar(value, attr_type)}",
    ),
    "above": FeelForm(
        test=lambda value, attr_type: f"(? > {_scalar(value, attr_type)})",
        unary=lambda value, attr_type: f"> {_scalar(value, attr_type)}",
    ),
    "between": FeelForm(
        test=lambda value, attr_type: (
            f"(? >= {_scalar(value[0], attr_type)} and ? <= {_scalar(value[1], attr_type)})"
        ),
        unary=lambda value, attr_type: f"[{_scalar(value[0], attr_type)}..{_scalar(value[1], attr_type)}]",
    ),
    "within_last_days": FeelForm(
        test=lambda value, attr_type: (
            f'(? >= {DECISION_DATE} - duration("P{int(value)}D") and ? <= {DECISION_DATE})'
        ),
    ),
    "includes": FeelForm(test=_elements_test),
    "includes_any_of": FeelForm(test=_elements_test),
}
require_every_operator(FEEL_FORMS, "blueprint.exports.dmn.FEEL_FORMS")


def _feel_form(condition: Condition, attr_type: str) -> FeelForm:
    form = FEEL_FORMS.get(condition.operator)
    if form is None:
        raise ValueError(f"no FEEL form for operator {condition.operator}")
    return form


def window_test(offer: OfferSpec) -> str:
    """An offer's days as a FEEL unary test on the decision day ("-" when it is not dated): outside
    them it is not eligible (docs/architecture.md, "Decisions")."""
    first = _scalar(offer.starts_on.isoformat(), "date") if offer.starts_on else ""
    last = _scalar(offer.ends_on.isoformat(), "date") if offer.ends_on else ""
    if first and last:
        return f"[{first}..{last}]"
    if first:
        return f">= {first}"
    if last:
        return f"<= {last}"
    return "-"


def unary_test(condition: Condition, attr_type: str) -> str:
    """One condition as a FEEL unary test on its attribute's input."""
    form = _feel_form(condition, attr_type)
    if form.unary is None:
        return f"? != null and {form.test(condition.value, attr_type)}"
    return form.unary(condition.value, attr_type)


def boolean_test(condition: Condition, attr_type: str) -> str:
    """One condition as a FEEL boolean expression of ``?`` (so that several can be joined with
    ``and``), in parentheses; the caller adds ``? != null``."""
    return _feel_form(condition, attr_type).test(condition.value, attr_type)


def group_entries(group: Group, attributes: Sequence[str], catalog: Mapping[str, AttributeSpec]) -> list[str]:
    """The input entries of one rule: per attribute, its conditions joined (all must hold), or ``-``."""
    entries = []
    for key in attributes:
        tests = [c for c in group if c.attribute == key]
        attr_type = catalog[key].type if key in catalog else "text"
        if not tests:
            entries.append("-")
        elif len(tests) == 1:
            entries.append(unary_test(tests[0], attr_type))
        else:
            # several conditions on one attribute: each as a boolean of ?, all of them
            joined = " and ".join(boolean_test(c, attr_type) for c in tests)
            entries.append(f"? != null and {joined}")
    return entries


def _used(groups: Iterable[Group]) -> list[str]:
    keys: list[str] = []
    for group in groups:
        for c in group:
            if c.attribute not in keys:
                keys.append(c.attribute)
    return keys


def _needs_day(groups: Iterable[Group]) -> bool:
    return any(OPERATORS[c.operator].on_the_day for group in groups for c in group)


WHICH_ID = "customer_stage"  # one stage each: name and id of the decision of which; no key makes it
DAY_ID = "day"  # the inputData of the decision day: a word no id made from a key is


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A DMN element; every attribute value and text passes through ``xml_text``."""
    element = ET.SubElement(parent, f"{{{DMN}}}{tag}", {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


class _Builder:
    def __init__(self, subject: ExportSubject) -> None:
        self.subject = subject
        self.spec = subject.spec
        self.catalog = self.spec.catalog
        self.root = ET.Element(
            f"{{{DMN}}}definitions",
            {
                "id": "blueprint",
                "name": xml_text(subject.title),
                "namespace": "https://blueprint.example/dmn/"
                + (re.sub(r"[^a-z0-9]+", "-", subject.title.lower()).strip("-") or "blueprint"),
                "expressionLanguage": FEEL,
                "typeLanguage": FEEL,
                "exporter": "Blueprint",
                "exporterVersion": xml_text(subject.label),
            },
        )
        _sub(
            self.root, "description", f"{subject.title} — {subject.label} — {subject.version.get('hash', '')}"
        )
        self.inputs: list[str] = []  # inputData ids, in order
        # id, required inputs, required decisions; and which ids are stage decisions and entry decisions
        self.decisions: list[tuple[str, list[str], list[str]]] = []
        self.stage_ids: list[str] = []
        self.entry_ids: set[str] = set()
        self.which_id: str | None = None  # each customer in one stage: the decision of which one

    def build(self) -> ET.Element:
        stages = self.spec.stages
        used_sets = any(
            self.catalog.get(k) is not None and self.catalog[k].type == "set"
            for stage in stages
            for k in _used([*stage.entry, *(g for o in stage.offers for g in o.groups)])
        )
        if used_sets:
            item = _sub(self.root, "itemDefinition", name=LIST_TYPE, id=LIST_TYPE, isCollection="true")
            _sub(item, "typeRef", "string")
        everything = [g for s in stages for g in (*s.entry, *(g for o in s.offers for g in o.groups))]
        for key in _used(everything):
            self.input_data(key)
        if _needs_day(everything) or any(o.dated for stage in stages for o in stage.offers):
            data = _sub(self.root, "inputData", id=DAY_ID, name=DECISION_DATE, label="Decision day")
            _sub(data, "variable", id=xml_id(DAY_ID, "var"), name=DECISION_DATE, typeRef="date")
            self.inputs.append(DAY_ID)
        if self.spec.one_stage:
            entries = [self.entry_decision(stage) if stage.entry else None for stage in stages]
            self.which_id = self.stage_of_customer(entries)
            for stage in stages:
                self.stage_decision(stage, None)
        else:
            for stage in stages:
                entry_id = self.entry_decision(stage) if stage.entry else None
                self.stage_decision(stage, entry_id)
        self.diagram()
        return self.root

    # --- inputs ---------------------------------------------------------------------------------

    def input_data(self, key: str) -> None:
        attr = self.catalog.get(key)
        name = variable_name(key)
        iid = xml_id("input", key)
        data = _sub(self.root, "inputData", id=iid, name=name, label=attr.label if attr else key)
        _sub(data, "variable", id=xml_id(iid, "var"), name=name, typeRef=self.type_ref(key))
        self.inputs.append(iid)

    def type_ref(self, key: str) -> str:
        attr = self.catalog.get(key)
        if attr is not None and attr.type == "set":
            return LIST_TYPE
        return TYPE_REFS.get(attr.type if attr else "text", "string")

    def input_column(self, table: ET.Element, did: str, key: str) -> None:
        attr = self.catalog.get(key)
        cid = xml_id(did, "in", key)
        column = _sub(table, "input", id=cid, label=attr.label if attr else key)
        expression = _sub(column, "inputExpression", id=xml_id(cid, "expr"), typeRef=self.type_ref(key))
        _sub(expression, "text", variable_name(key))
        if attr is not None and attr.type == "choice" and attr.choices:
            values = _sub(column, "inputValues", id=xml_id(cid, "values"))
            _sub(values, "text", ",".join(feel_string(c) for c in attr.choices))

    def requirements(
        self, decision: ET.Element, did: str, keys: Iterable[str], day: bool, decisions: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        inputs = [xml_id("input", k) for k in keys] + ([DAY_ID] if day else [])
        for required in decisions:
            req = _sub(decision, "informationRequirement", id=xml_id("req", did, required))
            _sub(req, "requiredDecision", href=f"#{required}")
        for required in inputs:
            req = _sub(decision, "informationRequirement", id=xml_id("req", did, required))
            _sub(req, "requiredInput", href=f"#{required}")
        return inputs, list(decisions)

    # --- decisions ------------------------------------------------------------------------------

    def entry_decision(self, stage: StageSpec) -> str:
        did = xml_id("entry", stage.key)
        name = decision_name(stage.key, "entry")
        decision = _sub(self.root, "decision", id=did, name=name, label=f"{stage.name}: entry")
        _sub(decision, "description", f"Who is in stage “{stage.name}”: true when any entry group holds.")
        _sub(decision, "variable", id=xml_id(did, "var"), name=name, typeRef="boolean")
        keys = _used(stage.entry)
        inputs, _ = self.requirements(decision, did, keys, _needs_day(stage.entry), [])
        table = _sub(decision, "decisionTable", id=xml_id(did, "table"), hitPolicy="FIRST")
        for key in keys:
            self.input_column(table, did, key)
        _sub(table, "output", id=xml_id(did, "out"), name="in_stage", label="in the stage", typeRef="boolean")
        for gi, group in enumerate(stage.entry):
            self.rule(
                table,
                xml_id(did, "rule", str(gi)),
                group_entries(group, keys, self.catalog),
                ["true"],
                f"entry group {gi + 1}",
            )
        self.rule(table, xml_id(did, "rule", "otherwise"), ["-"] * len(keys), ["false"], "not in the stage")
        self.decisions.append((did, inputs, []))
        self.entry_ids.add(did)
        return did

    def stage_of_customer(self, entries: Sequence[str | None]) -> str:
        """Each customer in one stage: the decision "Stage of the customer", a FIRST table over the
        entry decisions with one rule per stage in journey order, so the first stage whose entry
        holds is the answer (a stage without entry conditions takes everyone left); null when none
        does. Every stage's offer decision reads it."""
        did = WHICH_ID
        decision = _sub(self.root, "decision", id=did, name=WHICH_ID, label="Stage of the customer")
        _sub(
            decision,
            "description",
            "Each customer is in one stage: the first, in journey order, whose entry holds.",
        )
        _sub(decision, "variable", id=xml_id(did, "var"), name=WHICH_ID, typeRef="string")
        required = [e for e in entries if e is not None]
        inputs, _ = self.requirements(decision, did, [], False, required)
        table = _sub(decision, "decisionTable", id=xml_id(did, "table"), hitPolicy="FIRST")
        for stage, entry in zip(self.spec.stages, entries, strict=True):
            if entry is None:
                continue
            column = _sub(table, "input", id=xml_id(did, "in", stage.key), label=f"In “{stage.name}”")
            expression = _sub(
                column, "inputExpression", id=xml_id(did, "in", stage.key, "expr"), typeRef="boolean"
            )
            _sub(expression, "text", decision_name(stage.key, "entry"))
        out = _sub(table, "output", id=xml_id(did, "out"), name="stage", label="Stage", typeRef="string")
        if self.spec.stages:
            values = _sub(out, "outputValues", id=xml_id(did, "out", "values"))
            _sub(values, "text", ",".join(feel_string(st.key) for st in self.spec.stages))
        for stage, entry in zip(self.spec.stages, entries, strict=True):
            row = ["true" if e == entry and entry is not None else "-" for e in required]
            self.rule(table, xml_id(did, "rule", stage.key), row, [feel_string(stage.key)], stage.name)
            if entry is None:
                break  # everyone left is in this stage: no stage after it is ever reached
        self.decisions.append((did, inputs, required))
        return did

    def stage_decision(self, stage: StageSpec, entry_id: str | None) -> None:
        did = xml_id("decision", stage.key)
        name = decision_name(stage.key, "offer")
        decision = _sub(self.root, "decision", id=did, name=name, label=f"{stage.name}: offer")
        _sub(
            decision,
            "description",
            f"The offer of stage “{stage.name}” for a customer in it: the first rule that matches, "
            "in priority order; the fallback last.",
        )
        _sub(decision, "variable", id=xml_id(did, "var"), name=name)
        offers = [o for o in stage.offers if not o.fallback]
        fallbacks = [o for o in stage.offers if o.fallback]
        keys = _used(g for o in offers for g in o.groups)
        # offers with dates: a column on the decision day, each rule its offer's days
        dated = any(o.dated for o in stage.offers)
        inputs, required = self.requirements(
            decision,
            did,
            keys,
            _needs_day(g for o in offers for g in o.groups) or dated,
            [self.which_id] if self.which_id else [entry_id] if entry_id else [],
        )
        table = _sub(decision, "decisionTable", id=xml_id(did, "table"), hitPolicy="FIRST")
        lead: list[str] = []
        if self.which_id is not None:
            column = _sub(table, "input", id=xml_id(did, "entered"), label="Stage of the customer")
            expression = _sub(column, "inputExpression", id=xml_id(did, "entered", "expr"), typeRef="string")
            _sub(expression, "text", WHICH_ID)
            lead = [feel_string(stage.key)]
        elif entry_id is not None:
            column = _sub(table, "input", id=xml_id(did, "entered"), label="In the stage")
            expression = _sub(column, "inputExpression", id=xml_id(did, "entered", "expr"), typeRef="boolean")
            _sub(expression, "text", decision_name(stage.key, "entry"))
            lead = ["true"]
        for key in keys:
            self.input_column(table, did, key)
        days: Callable[[OfferSpec], list[str]] = lambda offer: [window_test(offer)] if dated else []  # noqa: E731
        if dated:
            column = _sub(table, "input", id=xml_id(did, "day"), label="Decision day")
            expression = _sub(column, "inputExpression", id=xml_id(did, "day", "expr"), typeRef="date")
            _sub(expression, "text", DECISION_DATE)
        out = _sub(
            table, "output", id=xml_id(did, "out", "offer"), name="offer", label="Offer", typeRef="string"
        )
        if stage.offers:
            values = _sub(out, "outputValues", id=xml_id(did, "out", "offer", "values"))
            _sub(values, "text", ",".join(feel_string(o.key) for o in stage.offers))
        _sub(
            table,
            "output",
            id=xml_id(did, "out", "fallback"),
            name="fallback",
            label="Fallback",
            typeRef="boolean",
        )
        for priority, offer in enumerate(offers, start=1):
            for gi, group in enumerate(offer.groups or ((),)):
                note = f"{priority}. {offer.name}" + (
                    f" (group {gi + 1} of {len(offer.groups)})" if len(offer.groups) > 1 else ""
                )
                self.rule(
                    table,
                    xml_id(did, "rule", offer.key, str(gi)),
                    lead + group_entries(group, keys, self.catalog) + days(offer),
                    [feel_string(offer.key), "false"],
                    note,
                )
        if fallbacks:
            fallback: OfferSpec = fallbacks[0]
            self.rule(
                table,
                xml_id(did, "rule", fallback.key, "fallback"),
                lead + ["-"] * len(keys) + days(fallback),
                [feel_string(fallback.key), "true"],
                f"Fallback: {fallback.name}",
            )
        self.decisions.append((did, inputs, required))
        self.stage_ids.append(did)

    def rule(
        self, table: ET.Element, rid: str, entries: Sequence[str], outputs: Sequence[str], note: str
    ) -> None:
        rule = _sub(table, "rule", id=rid)
        _sub(rule, "description", note)
        for i, entry in enumerate(entries):
            _sub(_sub(rule, "inputEntry", id=xml_id(rid, "in", str(i))), "text", entry)
        for i, value in enumerate(outputs):
            _sub(_sub(rule, "outputEntry", id=xml_id(rid, "out", str(i))), "text", value)

    # --- the decision requirements diagram ------------------------------------------------------

    def diagram(self) -> None:
        """DMNDI: inputs in a row at the bottom, decisions above them, entry decisions between, so
        tools that draw the DRD (dmn-js, Camunda Modeler) show it without a layout step."""
        dmndi = ET.SubElement(self.root, f"{{{DMNDI}}}DMNDI")
        drd = ET.SubElement(
            dmndi, f"{{{DMNDI}}}DMNDiagram", {"id": "drd", "name": xml_text(self.subject.title)}
        )
        width, height, gap = 180.0, 80.0, 40.0
        places: dict[str, tuple[float, float]] = {}

        def shape(element_id: str, x: float, y: float) -> None:
            places[element_id] = (x, y)
            node = ET.SubElement(
                drd, f"{{{DMNDI}}}DMNShape", {"id": xml_id("shape", element_id), "dmnElementRef": element_id}
            )
            ET.SubElement(
                node,
                f"{{{DC}}}Bounds",
                {"x": f"{x:g}", "y": f"{y:g}", "width": f"{width:g}", "height": f"{height:g}"},
            )

        by_id = {did: required for did, _inputs, required in self.decisions}
        rows = 2
        if self.which_id is not None:
            # each customer in one stage: the stage decisions read "Stage of the customer", which reads the entries
            rows = 3
            shape(self.which_id, 40, 40 + height + gap)
            for i, entry in enumerate(by_id[self.which_id]):
                shape(entry, 40 + i * (width + gap), 40 + 2 * (height + gap))
        for i, did in enumerate(self.stage_ids):
            x = 40 + i * (width + gap)
            shape(did, x, 40)
            for entry in by_id[did]:
                if entry in self.entry_ids:
                    shape(entry, x, 40 + height + gap)
        for i, iid in enumerate(self.inputs):
            shape(iid, 40 + i * (width + gap), 40 + rows * (height + gap) + gap)
        for did, inputs, required in self.decisions:
            for source in [*required, *inputs]:
                if source not in places or did not in places:
                    continue
                sx, sy = places[source]
                tx, ty = places[did]
                requirement = xml_id("req", did, source)
                edge = ET.SubElement(
                    drd,
                    f"{{{DMNDI}}}DMNEdge",
                    {"id": xml_id("edge", requirement), "dmnElementRef": requirement},
                )
                ET.SubElement(edge, f"{{{DI}}}waypoint", {"x": f"{sx + width / 2:g}", "y": f"{sy:g}"})
                ET.SubElement(
                    edge, f"{{{DI}}}waypoint", {"x": f"{tx + width / 2:g}", "y": f"{ty + height:g}"}
                )


def dmn_xml(subject: ExportSubject) -> bytes:
    """The DMN 1.3 document of the subject's blueprint, UTF-8, with an XML declaration."""
    root = _Builder(subject).build()
    ET.indent(root)
    _prefixes()
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
