"""The blueprint's own fields: ``blueprint.update``, and the check ``blueprint_create`` shares."""

from __future__ import annotations

from typing import Any

from blueprint.payloads import BLUEPRINT_CREATE, BLUEPRINT_UPDATE
from blueprint.services.fields import Problems, only_fields, read_values
from blueprint.services.operations import Applied, OpContext, handles


def validate_blueprint_fields(payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The fields given, checked (``InvalidInput`` names every problem); a new blueprint's name is
    required."""
    described = BLUEPRINT_CREATE if creating else BLUEPRINT_UPDATE
    problems = Problems()
    only_fields(payload, described.names, problems)
    values = read_values(payload, described, problems)
    problems.raise_if_any()
    return values


@handles("blueprint.update")
def _blueprint_update(ctx: OpContext, payload: dict[str, Any]) -> Applied:
    changes = validate_blueprint_fields(payload, creating=False)
    before = {k: getattr(ctx.blueprint, k) for k in changes}
    for name, value in changes.items():
        setattr(ctx.blueprint, name, value)
    ctx.blueprint.save(update_fields=[*changes, "updated_at"])
    what = ", ".join("way stages relate" if name == "stage_mode" else name for name in changes) or "nothing"
    return Applied(
        changes, [{"type": "blueprint.update", "payload": before}], f"changed the blueprint's {what}"
    )
