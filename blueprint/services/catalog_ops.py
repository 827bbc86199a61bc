"""The attribute catalog: ``attribute.create``, ``attribute.update`` and ``attribute.delete``.

A change of an attribute's type or choices, and its removal, are refused while a condition of a
stage or an offer would no longer hold with it."""

from __future__ import annotations

import re
from typing import Any

from blueprint.models import Attribute, Offer, Stage
from blueprint.payloads import ATTRIBUTE_CREATE, ATTRIBUTE_UPDATE
from blueprint.selectors import attribute_fields
from blueprint.services.board_counts import count_check
from blueprint.services.fields import (
    Problems,
    new_key,
    only_fields,
    read_values,
    refuse_key_change,
)
from blueprint.services.operations import Applied, OpContext, handles
from decisioning.conditions import ConditionProblems, attributes_used, parse_groups
from decisioning.errors import Conflict, InvalidInput, NotFound
from decisioning.limits import LIMITS
from decisioning.operators import operator_label, operators_for
from decisioning.words import key_mark, path_mark, path_words


def _check_choices(attr_type: str, choices: list[str], problems: Problems) -> None:
    if attr_type == "choice" and not choices:
        problems.add("choices", "A choice attribute needs its list of allowed values.")
    if attr_type in ("number", "boolean", "date") and choices:
        problems.add("choices", f"A {attr_type} attribute has no list of choices; leave it empty.")


def _usages(ctx: OpContext, attribute_key: str) -> list[tuple[str, str, str, list[Any]]]:
    """Where an attribute is used: (what, key, name, groups) for stage entries and offers."""
    found: list[tuple[str, str, str, list[Any]]] = []
    for stage in Stage.objects.filter(blueprint=ctx.blueprint).only("key", "name", "entry"):
        if attribute_key in attributes_used(stage.entry):
            found.append(("stage", stage.key, stage.name, stage.entry))
    for offer in Offer.objects.filter(blueprint=ctx.blueprint).only("key", "name", "groups"):
        if attribute_key in attributes_used(offer.groups):
            found.append(("offer", offer.key, offer.name, offer.groups))
    return found


def _why_broken(groups: Any, path: str, messages: list[str], attribute: Attribute, old_type: str) -> str:
    """Why a stored condition no longer holds with the attribute's new type, in the editor's words:
    an operator by its label ("is at least"), its key marked for the API's readers."""
    found = re.fullmatch(r"[a-z]+\[(\d+)\]\[(\d+)\]\.operator", path)
    if found is None:
        return " ".join(messages)
    try:
        operator = str(groups[int(found[1])][int(found[2])]["operator"])
    except (IndexError, KeyError, TypeError):
        return " ".join(messages)
    fits = ", ".join(f"'{operator_label(o, attribute.type)}'" for o in operators_for(attribute.type))
    return (
        f"'{operator_label(operator, old_type)}'{key_mark(operator)} does not apply to {attribute.label} "
        f"as a {attribute.type}; one of {fits} does."
    )


def attribute_by_key(ctx: OpContext, key: Any) -> Attribute:
    if not isinstance(key, str):
        raise InvalidInput("Name the attribute by its key.", field="key")
    attribute = Attribute.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if attribute is None:
        raise NotFound(f"There is no such attribute{key_mark(key)} in the catalog.", field="key")
    return attribute


@handles("attribute.create")
def _attribute_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, ATTRIBUTE_CREATE.names, problems)
    values = read_values(payload, ATTRIBUTE_CREATE, problems)
    taken = set(ctx.catalog)
    if not ctx.replay:
        count_check(
            len(taken),
            "attributes_per_blueprint",
            "attributes",
            f"A blueprint's catalog holds at most {LIMITS.attributes_per_blueprint} attributes",
        )
    key = new_key(payload, values.get("label"), taken, problems, "attribute")
    values.setdefault("kind", "attribute")
    values.setdefault("choices", [])
    if "type" in values:
        _check_choices(values["type"], values["choices"], problems)
    problems.raise_if_any()
    assert key is not None
    attribute = Attribute.objects.create(blueprint=ctx.blueprint, key=key, **values)
    ctx.forget_catalog()
    return Applied(
        attribute_fields(attribute),
        [{"type": "attribute.delete", "payload": {"key": attribute.key}}],
        f"added attribute '{attribute.label}' to the catalog",
    )


@handles("attribute.update")
def _attribute_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    attribute = attribute_by_key(ctx, payload.get("key"))
    problems = Problems()
    only_fields(payload, ATTRIBUTE_UPDATE.names, problems)
    refuse_key_change(payload, attribute.key, problems)
    changes = read_values(payload, ATTRIBUTE_UPDATE, problems)
    problems.raise_if_any()
    before = {k: getattr(attribute, k) for k in changes}
    for name, value in changes.items():
        setattr(attribute, name, value)
    _check_choices(attribute.type, attribute.choices, problems)
    problems.raise_if_any()
    if {"type", "choices"} & set(changes):
        catalog = {**ctx.catalog, attribute.key: attribute.spec()}
        for what, key, name, groups in _usages(ctx, attribute.key):
            where = "entry" if what == "stage" else "groups"
            try:
                # stored: only the new type counts
                parse_groups(groups, catalog, path=where, bounded=False)
            except ConditionProblems as exc:
                # by names and places in words, for the catalog page; the key and the path for
                # the API's readers (marked: the page leaves them out)
                for path, messages in exc.problems.items():
                    why = _why_broken(groups, path, messages, attribute, before.get("type", attribute.type))
                    problems.add(
                        "type" if "type" in changes else "choices",
                        f"{what.capitalize()} '{name}'{key_mark(key)} has a condition this change "
                        f"would break, the {path_words(path)}{path_mark(path)}: {why} "
                        "Change that condition first.",
                    )
        problems.raise_if_any()
    attribute.save(update_fields=list(changes))
    ctx.forget_catalog()
    return Applied(
        {"key": attribute.key, **changes},
        [{"type": "attribute.update", "payload": {"key": attribute.key, **before}}],
        f"changed attribute '{attribute.label}'",
    )


@handles("attribute.delete")
def _attribute_delete(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    attribute = attribute_by_key(ctx, payload.get("key"))
    usages = _usages(ctx, attribute.key)
    if usages:
        listed = ", ".join(f"{what} '{name}'{key_mark(key)}" for what, key, name, _ in usages[:10])
        raise Conflict(
            f"'{attribute.label}' is used by conditions of {listed}; remove those conditions first.",
            field="key",
        )
    snapshot = attribute_fields(attribute)
    attribute.delete()
    ctx.forget_catalog()
    return Applied(
        {"key": snapshot["key"]},
        [{"type": "attribute.create", "payload": snapshot}],
        f"removed attribute '{snapshot['label']}' from the catalog",
    )
