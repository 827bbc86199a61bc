"""Import: a JSON export (``blueprint.snapshots`` plus a ``version`` block) as a new blueprint.

``blueprint_import`` checks the document's shape, creates the blueprint with the actor as owner
(``blueprint_create``) and builds its content with the operations a duplicate uses
(``snapshot_steps``), each through ``operations_apply``, all in one transaction. Every
value is validated by the operation that takes it, as when a person types it on the board; a
problem is reported under its JSON path (``stages[2].offers[0].groups[0][1].operator``), every
problem found is reported, and then nothing at all is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from blueprint.models import Blueprint
from blueprint.services.blueprints import blueprint_create
from blueprint.services.operations import User, operations_apply
from blueprint.snapshots import OFFER_CONTENT_FIELDS, SNAPSHOT_FORMAT, snapshot_steps
from decisioning.errors import BlueprintError, Forbidden, InvalidInput, LimitExceeded
from decisioning.limits import LIMITS, over_limit

TOP_FIELDS = {"format", "blueprint", "attributes", "stages", "version"}
BLUEPRINT_FIELDS = {"name", "context", "channels", "description", "stage_mode"}
ATTRIBUTE_FIELDS = {"key", "label", "kind", "type", "choices", "unit", "description", "source"}
STAGE_FIELDS = {"key", "name", "description", "entry", "offers"}
OFFER_FIELDS = {"key", "name", "description", "channel", "fallback", "groups", *OFFER_CONTENT_FIELDS}


class _Problems:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.found.setdefault(path, []).append(message)

    def merge(self, prefix: str, exc: BlueprintError) -> None:
        for field, messages in exc.problems.items():
            path = prefix if field in ("non_field_errors", "payload") else f"{prefix}.{field}"
            for message in messages:
                self.add(path, message)


def _object(value: Any, path: str, allowed: set[str], required: set[str], problems: _Problems) -> bool:
    """Whether ``value`` is an object with only ``allowed`` and every ``required`` field."""
    if not isinstance(value, Mapping):
        problems.add(path, f"Expected an object with the fields {', '.join(sorted(allowed))}.")
        return False
    ok = True
    for name in sorted(set(value) - allowed):
        problems.add(
            f"{path}.{name}"[:200], f"Unknown field; expected some of: {', '.join(sorted(allowed))}."
        )
        ok = False
    for name in sorted(required - set(value)):
        problems.add(f"{path}.{name}", "This field is required.")
        ok = False
    return ok


def _list(value: Any, path: str, what: str, problems: _Problems) -> list[Any]:
    if not isinstance(value, list):
        problems.add(path, f"Expected a list of {what}.")
        return []
    return value


def snapshot_shape_problems(data: Any) -> dict[str, list[str]]:
    """The problems of the document's shape (types of its parts, unknown or missing fields, and
    how many attributes, stages and offers it holds against the limits), by JSON path; the values
    themselves are left to the operations."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        problems.add(
            "body",
            "Expected a JSON export of a blueprint: an object with format, blueprint, attributes and stages.",
        )
        return problems.found
    _object(data, "", TOP_FIELDS, {"format", "blueprint", "attributes", "stages"}, problems)
    problems.found = {k.lstrip("."): v for k, v in problems.found.items()}
    if "format" in data and data.get("format") != SNAPSHOT_FORMAT:
        problems.add("format", f'Expected "{SNAPSHOT_FORMAT}", the format of Blueprint\'s JSON export.')
    if "blueprint" in data:
        _object(data["blueprint"], "blueprint", BLUEPRINT_FIELDS, {"name"}, problems)
    attributes = _list(data.get("attributes", []), "attributes", "attributes", problems)
    _at_most(
        attributes,
        "attributes",
        "attributes_per_blueprint",
        "A blueprint's catalog holds",
        "attributes",
        problems,
    )
    for ai, attribute in enumerate(attributes[: LIMITS.attributes_per_blueprint]):
        _object(attribute, f"attributes[{ai}]", ATTRIBUTE_FIELDS, {"key", "type"}, problems)
    stages = _list(data.get("stages", []), "stages", "stages", problems)
    _at_most(stages, "stages", "stages_per_blueprint", "A blueprint holds", "stages", problems)
    offers_in_all = 0
    for si, stage in enumerate(stages[: LIMITS.stages_per_blueprint]):
        if _object(stage, f"stages[{si}]", STAGE_FIELDS, {"key", "name"}, problems):
            offers = _list(stage.get("offers", []), f"stages[{si}].offers", "offers", problems)
            offers_in_all += len(offers)
            _at_most(offers, f"stages[{si}].offers", "offers_per_stage", "A stage holds", "offers", problems)
            for oi, offer in enumerate(offers[: LIMITS.offers_per_stage]):
                _object(offer, f"stages[{si}].offers[{oi}]", OFFER_FIELDS, {"key", "name"}, problems)
    if offers_in_all > LIMITS.offers_per_blueprint:
        problems.add(
            "stages",
            over_limit(
                "offers_per_blueprint",
                f"A blueprint holds at most {LIMITS.offers_per_blueprint} offers; this one has {offers_in_all}",
            ),
        )
    return problems.found


def _at_most(items: list[Any], path: str, limit: str, holds: str, what: str, problems: _Problems) -> None:
    most = getattr(LIMITS, limit)
    if len(items) > most:
        problems.add(path, over_limit(limit, f"{holds} at most {most} {what}; this one has {len(items)}"))


def blueprint_import(*, actor: User, data: Any) -> Blueprint:
    """Create a blueprint owned by ``actor`` with the content of a JSON export ``data``.

    Guarantees: the new blueprint's snapshot equals ``data`` without its ``version`` block (the
    order of stages and offers, every field and condition); the ``version`` block is ignored; on
    any problem ``InvalidInput`` names each by its JSON path and nothing is created. Raises
    ``Forbidden`` for an anonymous actor.
    """
    if actor is None or not actor.is_authenticated:
        raise Forbidden("Log in to import a blueprint.")
    shape = snapshot_shape_problems(data)
    if shape:
        raise InvalidInput(shape)
    problems = _Problems()
    with transaction.atomic():
        fields = data["blueprint"]
        try:
            blueprint = blueprint_create(
                actor=actor,
                name=fields.get("name"),
                context=fields.get("context", ""),
                channels=fields.get("channels"),
                description=fields.get("description", ""),
                stage_mode=fields.get("stage_mode"),
            )
        except LimitExceeded:
            raise  # the person's blueprints, not the document
        except InvalidInput as exc:
            problems.merge("blueprint", exc)
            raise InvalidInput(problems.found) from None

        failed: list[str] = []
        for path, op_type, payload in snapshot_steps(data):
            if any(path.startswith(f"{stage}.") for stage in failed):
                continue  # an offer of a stage that could not be made would only repeat that
            try:
                operations_apply(blueprint_id=blueprint.pk, actor=actor, operations=[(op_type, payload)])
            except BlueprintError as exc:
                problems.merge(path, exc)
                failed.append(path)
        if problems.found:
            # leaving the block by an exception rolls back the blueprint and whatever was built
            raise InvalidInput(problems.found)
    return blueprint
