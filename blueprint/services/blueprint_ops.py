"""The blueprint's own fields: ``blueprint.update``, and the check ``blueprint_create`` shares."""

from __future__ import annotations

from typing import Any

from blueprint.services.fields import Problems, only_fields, string_list_field, text_field
from blueprint.services.operations import Applied, OpContext, handles

BLUEPRINT_FIELDS = ("name", "context", "channels", "description")


def validate_blueprint_fields(payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    problems = Problems()
    only_fields(payload, set(BLUEPRINT_FIELDS), problems)
    values = {
        "name": text_field(
            payload, "name", problems, required=creating or "name" in payload, limit="name_length"
        ),
        "context": text_field(payload, "context", problems, required=False, limit="context_length"),
        "channels": string_list_field(payload, "channels", problems, limit="channels_per_blueprint"),
        "description": text_field(
            payload, "description", problems, required=False, limit="description_length"
        ),
    }
    problems.raise_if_any()
    return {k: v for k, v in values.items() if v is not None}


@handles("blueprint.update")
def _blueprint_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    changes = validate_blueprint_fields(payload, creating=False)
    before = {k: getattr(ctx.blueprint, k) for k in changes}
    for name, value in changes.items():
        setattr(ctx.blueprint, name, value)
    ctx.blueprint.save(update_fields=[*changes, "updated_at"])
    what = ", ".join(changes) or "nothing"
    return Applied(
        changes, [{"type": "blueprint.update", "payload": before}], f"changed the blueprint's {what}"
    )
