"""Clean the keys stored before keys were matched whole.

The key rule was ``^[a-z0-9_-]+$`` matched with ``re.match``, and ``$`` also matches before a final
line break, so the API, the socket and the import stored keys such as ``"age\\n"``. Pages cannot put
them in a URL: the catalog answered 500 for every member and such an object could not be edited
or deleted. Each such key of an attribute, a stage or an offer becomes what is left of it without
what a key cannot hold (``age``), with ``_2``, ``_3``, … when that is taken in the blueprint, and
every reference to it follows: the conditions of stage entries and offers that name a renamed
attribute, and the operation log (payloads and inverses), so undo still finds its objects.
Published versions are immutable (a trigger refuses any change): they keep what they were
published with, and a restore cleans their keys the same way (``blueprint.snapshots``).

Self-contained on purpose: a migration must do tomorrow what it does today, whatever the code
around it becomes.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations

KEY_LENGTH = 64
WHOLE_KEY = re.compile(rf"[a-z0-9_-]{{1,{KEY_LENGTH}}}")


def key_cleaned(raw: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_-]+", "_", raw.strip().lower())[:KEY_LENGTH] or "key"
    key, number = base, 2
    while key in taken:
        suffix = f"_{number}"
        key, number = base[: KEY_LENGTH - len(suffix)] + suffix, number + 1
    return key


def renamed(stored: list[str], logged: list[str]) -> dict[str, str]:
    """Old key → new key, for the keys of one kind in one blueprint that are not whole: those of
    the objects there (``stored``, oldest first), then those only the log still names (objects
    deleted since, which an undo may bring back)."""
    taken = {key for key in stored if WHOLE_KEY.fullmatch(key)}
    mapping: dict[str, str] = {}
    for key in [*stored, *logged]:
        if key not in mapping and not WHOLE_KEY.fullmatch(key):
            mapping[key] = key_cleaned(key, taken)
            taken.add(mapping[key])
    return mapping


def logged_keys(records: list[Any]) -> dict[str, list[str]]:
    """The keys the log's payloads and inverses name, by kind, in the order they appear."""
    found: dict[str, dict[str, None]] = {"attribute": {}, "stage": {}, "offer": {}}
    for record in records:
        inverse = record.inverse if isinstance(record.inverse, list) else []
        steps = [
            {"type": record.type, "payload": record.payload},
            *(s for s in inverse if isinstance(s, dict)),
        ]
        for step in steps:
            op_type, payload = step.get("type"), step.get("payload")
            if not isinstance(op_type, str) or not isinstance(payload, dict):
                continue
            kind = op_type.split(".", 1)[0]
            for name in ("key", "new_key", "before", "after"):
                if kind in found and isinstance(payload.get(name), str):
                    found[kind][payload[name]] = None
            if kind == "offer" and isinstance(payload.get("stage"), str):
                found["stage"][payload["stage"]] = None
            for name in ("entry", "groups"):
                groups = payload.get(name)
                for group in groups if isinstance(groups, list) else []:
                    for condition in group if isinstance(group, list) else []:
                        if isinstance(condition, dict) and isinstance(condition.get("attribute"), str):
                            found["attribute"][condition["attribute"]] = None
    return {kind: list(keys) for kind, keys in found.items()}


def groups_renamed(groups: Any, attributes: dict[str, str]) -> Any:
    if not isinstance(groups, list):
        return groups
    return [
        [
            {**c, "attribute": attributes.get(c["attribute"], c["attribute"])}
            if isinstance(c, dict) and isinstance(c.get("attribute"), str)
            else c
            for c in group
        ]
        if isinstance(group, list)
        else group
        for group in groups
    ]


def payload_renamed(op_type: Any, payload: Any, maps: dict[str, dict[str, str]]) -> Any:
    """An operation's payload with every key it holds renamed: its own object's (``key``,
    ``new_key``, the ``before``/``after`` neighbours), its ``stage``, and its conditions' attributes."""
    if not isinstance(payload, dict) or not isinstance(op_type, str):
        return payload
    own = maps.get(op_type.split(".", 1)[0], {})
    out = dict(payload)
    for name in ("key", "new_key", "before", "after"):
        if isinstance(out.get(name), str):
            out[name] = own.get(out[name], out[name])
    if op_type.startswith("offer.") and isinstance(out.get("stage"), str):
        out["stage"] = maps["stage"].get(out["stage"], out["stage"])
    for name in ("entry", "groups"):
        if name in out:
            out[name] = groups_renamed(out[name], maps["attribute"])
    return out


def clean_keys(apps: Any, schema_editor: Any) -> None:
    Blueprint = apps.get_model("blueprint", "Blueprint")
    Attribute = apps.get_model("blueprint", "Attribute")
    Stage = apps.get_model("blueprint", "Stage")
    Offer = apps.get_model("blueprint", "Offer")
    Operation = apps.get_model("blueprint", "Operation")
    suspects = (
        set(Attribute.objects.exclude(key__regex=r"^[a-z0-9_-]+\Z").values_list("blueprint_id", flat=True))
        | set(Stage.objects.exclude(key__regex=r"^[a-z0-9_-]+\Z").values_list("blueprint_id", flat=True))
        | set(Offer.objects.exclude(key__regex=r"^[a-z0-9_-]+\Z").values_list("blueprint_id", flat=True))
    )
    for blueprint in Blueprint.objects.filter(pk__in=suspects).order_by("pk"):
        records = list(Operation.objects.filter(blueprint=blueprint).order_by("rev"))
        logged = logged_keys(records)
        maps = {
            kind: renamed(
                list(model.objects.filter(blueprint=blueprint).order_by("pk").values_list("key", flat=True)),
                logged[kind],
            )
            for kind, model in (("attribute", Attribute), ("stage", Stage), ("offer", Offer))
        }
        for kind, model in (("attribute", Attribute), ("stage", Stage), ("offer", Offer)):
            for old, new in maps[kind].items():
                model.objects.filter(blueprint=blueprint, key=old).update(key=new)
        if maps["attribute"]:
            for stage in Stage.objects.filter(blueprint=blueprint):
                entry = groups_renamed(stage.entry, maps["attribute"])
                if entry != stage.entry:
                    Stage.objects.filter(pk=stage.pk).update(entry=entry)
            for offer in Offer.objects.filter(blueprint=blueprint):
                groups = groups_renamed(offer.groups, maps["attribute"])
                if groups != offer.groups:
                    Offer.objects.filter(pk=offer.pk).update(groups=groups)
        for record in records:
            payload = payload_renamed(record.type, record.payload, maps)
            inverse = (
                [
                    {**step, "payload": payload_renamed(step.get("type"), step.get("payload"), maps)}
                    if isinstance(step, dict)
                    else step
                    for step in record.inverse
                ]
                if isinstance(record.inverse, list)
                else record.inverse
            )
            if payload != record.payload or inverse != record.inverse:
                Operation.objects.filter(pk=record.pk).update(payload=payload, inverse=inverse)


class Migration(migrations.Migration):
    dependencies = [("blueprint", "0004_versions_approval")]

    operations = [migrations.RunPython(clean_keys, migrations.RunPython.noop, elidable=False)]
