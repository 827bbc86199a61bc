"""The attribute catalog: ``attribute.create``, ``attribute.update`` and ``attribute.delete``.

A change of an attribute's type or choices, and its removal, are refused while a condition of a
stage or an offer would no longer hold with it."""

from __future__ import annotations

from typing import Any

from blueprint.conditions import KINDS, TYPES, ConditionProblems, attributes_used, parse_groups
from blueprint.errors import Conflict, InvalidInput, NotFound
from blueprint.limits import LIMITS
from blueprint.models import Attribute, Offer, Stage
from blueprint.selectors import attribute_fields
from blueprint.services.board_counts import count_check
from blueprint.services.fields import (
    Problems,
    new_key,
    only_fields,
    refuse_key_change,
    string_list_field,
    text_field,
)
from blueprint.services.operations import Applied, OpContext, handles

ATTRIBUTE_FIELDS = ("key", "label", "kind", "type", "choices", "unit", "description", "source")


def _attribute_values(payload: dict[str, Any], problems: Problems, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "label": text_field(
            payload, "label", problems, required=creating or "label" in payload, limit="label_length"
        ),
        "unit": text_field(payload, "unit", problems, required=False, limit="unit_length"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
        "source": text_field(payload, "source", problems, required=False, limit="source_length"),
        "choices": string_list_field(payload, "choices", problems, limit="choices_per_attribute"),
    }
    for name, allowed in (("kind", KINDS), ("type", TYPES)):
        if name in payload and payload[name] is not None:
            if payload[name] not in allowed:
                problems.add(name, f"Expected one of: {', '.join(allowed)}.")
            else:
                values[name] = payload[name]
        elif creating and name == "type":
            problems.add("type", f"This field is required; one of: {', '.join(TYPES)}.")
    return {k: v for k, v in values.items() if v is not None}


def _check_choices(attr_type: str, choices: list[str], problems: Problems) -> None:
    if attr_type == "choice" and not choices:
        problems.add("choices", "A choice attribute needs its list of allowed values.")
    if attr_type in ("number", "boolean", "date") and choices:
        problems.add("choices", f"A {attr_type} attribute has no list of choices; leave it empty.")


def _usages(ctx: OpContext, attribute_key: str) -> list[tuple[str, str, list[Any]]]:
    """Where an attribute is used: (what, key, groups) for stage entries and offers."""
    found: list[tuple[str, str, list[Any]]] = []
    for stage in Stage.objects.filter(blueprint=ctx.blueprint).only("key", "entry"):
        if attribute_key in attributes_used(stage.entry):
            found.append(("stage", stage.key, stage.entry))
    for offer in Offer.objects.filter(blueprint=ctx.blueprint).only("key", "groups"):
        if attribute_key in attributes_used(offer.groups):
            found.append(("offer", offer.key, offer.groups))
    return found


def attribute_by_key(ctx: OpContext, key: Any) -> Attribute:
    if not isinstance(key, str):
        raise InvalidInput("Name the attribute by its key.", field="key")
    attribute = Attribute.objects.filter(blueprint=ctx.blueprint, key=key).first()
    if attribute is None:
        raise NotFound(f"There is no attribute '{key[:80]}' in the catalog.", field="key")
    return attribute


@handles("attribute.create")
def _attribute_create(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    problems = Problems()
    only_fields(payload, set(ATTRIBUTE_FIELDS), problems)
    values = _attribute_values(payload, problems, creating=True)
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
    only_fields(payload, {*ATTRIBUTE_FIELDS, "new_key"}, problems)
    refuse_key_change(payload, attribute.key, problems)
    changes = _attribute_values(payload, problems, creating=False)
    problems.raise_if_any()
    before = {k: getattr(attribute, k) for k in changes}
    for name, value in changes.items():
        setattr(attribute, name, value)
    _check_choices(attribute.type, attribute.choices, problems)
    problems.raise_if_any()
    if {"type", "choices"} & set(changes):
        catalog = {**ctx.catalog, attribute.key: attribute.spec()}
        for what, key, groups in _usages(ctx, attribute.key):
            try:
                parse_groups(groups, catalog, bounded=False)  # stored: only the new type counts
            except ConditionProblems as exc:
                problems.add(
                    "type" if "type" in changes else "choices",
                    f"The {what} '{key}' has a condition this change would break ({exc}); change that "
                    f"condition first.",
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
        listed = ", ".join(f"{what} '{key}'" for what, key, _ in usages[:10])
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
