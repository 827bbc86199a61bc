"""The decisioning part of the JSON API (DESIGN.md §6): ``GET blueprints/{id}/lint/``.

A thin transport like ``blueprint/api/views.py``, whose plumbing it shares: the same
authentication, the same 404 for a blueprint the caller is not a member of, the same error shape.
Any member may read the lint, viewers included; the analysis itself is ``decisioning.lint`` over
the board as ``selectors.board_lint`` loads it.
"""

from __future__ import annotations

import datetime as dt
import re

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from blueprint.api.openapi import BLUEPRINT_ID, READ_ERRORS, answers
from blueprint.api.views import ApiView, member_blueprint, render
from blueprint.errors import InvalidInput
from blueprint.selectors import board_lint, board_load
from decisioning.lint import LEVELS

DAY_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_HELP = "Expected a day as YYYY-MM-DD, e.g. 2025-06-30."

AT = OpenApiParameter(
    "at",
    {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "The decision day (YYYY-MM-DD) that places `within_last_days` conditions on the calendar; "
        "nothing else depends on it. Default: today in the server's time zone."
    ),
)

# --- Shapes ----------------------------------------------------------------------------------------


class FindingOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(LEVELS), help_text="What was found (DESIGN.md §3).")
    level = serializers.ChoiceField(
        choices=["error", "warning", "info"], help_text="Publishing is refused while an error stands."
    )
    message = serializers.CharField(help_text="The finding in plain language, naming stages and offers.")
    stage = serializers.CharField(allow_null=True, help_text="The key of the stage it is about.")
    offers = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "The keys of the offers it is about. duplicate-offer: the lower one, then its twin; "
            "shadowed-offer: the hidden one, then the offers above it that take its customers; "
            "overlap: the higher one first."
        ),
    )
    example = serializers.DictField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text=(
            "For gap, overlap, duplicate-offer and shadowed-offer: a customer profile (attribute key → "
            "value) that shows it on the decision day; attributes left out are missing. Otherwise null."
        ),
    )
    part = serializers.ChoiceField(
        choices=["entry", "offer"],
        allow_null=True,
        help_text="Where on the board: the stage's entry conditions, an offer, or null for the stage.",
    )
    group = serializers.IntegerField(
        allow_null=True, help_text="contradiction, redundant-condition: the index of the group (from 0)."
    )
    condition = serializers.IntegerField(
        allow_null=True, help_text="redundant-condition: the index of the condition in the group (from 0)."
    )


class LintOutput(serializers.Serializer):
    at = serializers.DateField(help_text="The decision day the lint was made for.")
    rev = serializers.IntegerField(
        help_text="The blueprint's rev when it was read: the lint covers that board."
    )
    # Named like Serializer.errors; the metaclass moves declared fields aside, so only mypy minds.
    errors = FindingOutput(many=True, help_text="Publishing is refused while any stands.")  # type: ignore[assignment]
    warnings = FindingOutput(many=True, help_text="Gaps, empty stages, redundant conditions.")
    infos = FindingOutput(many=True, help_text="Overlaps: two offers can meet one customer; the higher wins.")


# --- The view --------------------------------------------------------------------------------------


def query_day(request: Request, name: str) -> dt.date | None:
    """A day given as YYYY-MM-DD in the query, None when absent or empty, or a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not DAY_FORM.fullmatch(raw):
        raise InvalidInput(DAY_HELP, field=name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"No such day: {raw}. {DAY_HELP}", field=name) from None


class LintApi(ApiView):
    @extend_schema(
        operation_id="blueprints_lint",
        tags=["lint"],
        parameters=[BLUEPRINT_ID, AT],
        responses=answers({200: LintOutput}, (400, *READ_ERRORS)),
        summary=(
            "The lint of the board (any member): contradictions, duplicate and shadowed offers, "
            "invalid fallbacks, redundant conditions, gaps, empty stages and overlaps"
        ),
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        blueprint = member_blueprint(request, blueprint_id)
        at = query_day(request, "at")
        report = board_lint(board_load(blueprint), at=at)
        return render(LintOutput, {**report.as_json(), "rev": blueprint.rev})
