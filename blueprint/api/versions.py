"""Published versions in the JSON API: ``blueprints/{id}/versions/`` and below (docs/architecture.md,
"Versions and approval").

A thin transport over ``blueprint.services.versions`` and ``blueprint.version_selectors``, with the
plumbing of ``blueprint/api/views.py``: the same authentication, the same 404 for a blueprint the
caller is not a member of, the same error shape. Any member reads versions and their diffs; owners
and editors publish and restore; approvers and owners approve and reject, never their own version.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from blueprint.api import serializers as s
from blueprint.api.openapi import BLUEPRINT_ID, READ_ERRORS, WRITE_ERRORS, answers
from blueprint.api.options import query_options
from blueprint.api.views import ApiView, log_entry, parse_body, render
from blueprint.diff import KINDS
from blueprint.models import Approval, Blueprint, Version
from blueprint.selectors import version_get, version_live, versions_of
from blueprint.services import (
    member_blueprint,
    version_approve,
    version_publish,
    version_reject,
    version_restore,
)
from blueprint.version_selectors import version_comparison
from decisioning.errors import InvalidInput, NotFound

MAX_NUMBER = 999_999_999  # what the number converter matches: nine digits

NUMBER = OpenApiParameter(
    "number",
    {"type": "integer", "minimum": 1, "maximum": MAX_NUMBER},
    OpenApiParameter.PATH,
    description="The version's number (1, 2, …): versions are numbered per blueprint.",
)
AGAINST_FORM = re.compile(r"live|draft|[1-9][0-9]{0,8}")
AGAINST = OpenApiParameter(
    "against",
    {"type": "string", "pattern": r"^(live|draft|[1-9][0-9]{0,8})$"},
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "What the version is compared with: `live` (the default; an empty blueprint while nothing is "
        "live), `draft`, or another version's number. The changes read from that side to this version."
    ),
)

# --- Shapes ----------------------------------------------------------------------------------------


class PublishInput(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="What this version is, for its reviewers (at most 5000 characters).",
    )


class DecisionInput(serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="Why; optional for an approval, required for a rejection (at most 5000 characters).",
    )


class RestoreInput(serializers.Serializer):
    pass


class ApprovalOutput(serializers.Serializer):
    user = serializers.CharField(help_text="The reviewer's username.")
    decision = serializers.ChoiceField(choices=Approval.Decision.values)
    comment = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(help_text="When the decision was made.")


class VersionSummaryOutput(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=Version.Status.values,
        help_text="in_review, approved (the live one), rejected, or superseded by a newer live version.",
    )
    live = serializers.BooleanField(help_text="True for the live version: the newest approved one.")
    note = serializers.CharField(allow_blank=True)
    author = serializers.CharField(allow_null=True, help_text="The username of who published it.")
    created_at = serializers.DateTimeField()
    rev = serializers.IntegerField(help_text="The draft's rev it was published from.")
    content_hash = serializers.CharField(help_text="sha256 of the snapshot's canonical JSON.")
    approvals_needed = serializers.IntegerField(help_text="The approval policy when it was published.")
    approvals_count = serializers.IntegerField(help_text="Approvals so far.")
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was approved or rejected.")
    superseded_at = serializers.DateTimeField(allow_null=True, help_text="When a newer version went live.")


class VersionDetailOutput(VersionSummaryOutput):
    approvals = ApprovalOutput(many=True, help_text="Every decision on it, oldest first.")
    snapshot = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The immutable content: format, blueprint, attributes, stages with their offers, in order.",
    )


class DiffSideOutput(serializers.Serializer):
    against = serializers.CharField(help_text="live, draft, or the version's number.")
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="In words: 'the live version 2', 'the draft', 'nothing live yet'."
    )
    version = serializers.IntegerField(allow_null=True, help_text="The version's number; null for the draft.")
    content_hash = serializers.CharField(allow_null=True)


class ChangeOutput(serializers.Serializer):
    # a CharField: a ChoiceField named "kind" would clash in the schema with the attributes' kind
    kind = serializers.CharField(help_text="What changed: " + ", ".join(KINDS) + ".")
    stage = serializers.CharField(allow_null=True, help_text="The key of the stage it is about.")
    offer = serializers.CharField(allow_null=True)
    attribute = serializers.CharField(allow_null=True)
    field = serializers.CharField(allow_null=True, help_text="The field that changed: groups, entry, name, …")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    sentence = serializers.CharField(help_text="The change in plain language.")


class DiffSectionOutput(serializers.Serializer):
    part = serializers.ChoiceField(choices=["blueprint", "catalog", "stage"])
    stage = serializers.CharField(allow_null=True)
    title = serializers.CharField()
    removed = serializers.BooleanField(help_text="A stage the version no longer has.")
    sentences = serializers.ListField(child=serializers.CharField())


class DiffOutput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version the changes lead to.")
    against = DiffSideOutput(help_text="The side the changes lead from.")
    changes = ChangeOutput(many=True, help_text="Structured, grouped by stage in journey order.")
    sentences = serializers.ListField(child=serializers.CharField(), help_text="Every change in words.")
    sections = DiffSectionOutput(
        many=True, help_text="The sentences grouped: blueprint, catalog, each stage."
    )


class RestoreOutput(serializers.Serializer):
    done = serializers.BooleanField(help_text="False when the draft already had the version's content.")
    message = serializers.CharField()
    rev = serializers.IntegerField(help_text="The blueprint's rev after it.")
    operations = s.LogEntryOutput(many=True, help_text="The operations it applied, in order: one undo step.")


# --- Answers ---------------------------------------------------------------------------------------


def _summary(version: Version, live: int | None, approvals: list[Approval] | None = None) -> dict[str, Any]:
    if approvals is None:
        approvals = list(version.approvals.all())
    return {
        "number": version.number,
        "status": version.status,
        "live": version.number == live,
        "note": version.note,
        "author": version.author.get_username() if version.author is not None else None,
        "created_at": version.created_at,
        "rev": version.rev,
        "content_hash": version.content_hash,
        "approvals_needed": version.approvals_needed,
        "approvals_count": sum(1 for a in approvals if a.decision == Approval.Decision.APPROVE),
        "decided_at": version.decided_at,
        "superseded_at": version.superseded_at,
    }


def version_answer(blueprint: Blueprint, number: int) -> dict[str, Any]:
    version = version_get(blueprint.pk, number)
    if version is None:
        raise NotFound(f"This blueprint has no version {number}.", field="number")
    live = version_live(blueprint.pk)
    approvals = list(version.approvals.select_related("user").order_by("created_at", "id"))
    return {
        **_summary(version, live.number if live else None, approvals),
        "approvals": [
            {
                "user": a.user.get_username(),
                "decision": a.decision,
                "comment": a.comment,
                "created_at": a.created_at,
            }
            for a in approvals
        ],
        "snapshot": version.snapshot,
    }


def query_against(request: Request) -> str | int:
    """``?against=`` (the only option of a diff): live when absent; 400 naming it when empty or malformed."""
    raw = query_options(request, ("against",))["against"]
    if raw is None:
        return "live"
    if not AGAINST_FORM.fullmatch(raw):
        raise InvalidInput("Expected live, draft, or a version's number.", field="against")
    return raw if raw in ("live", "draft") else int(raw)


# --- Views -----------------------------------------------------------------------------------------


class VersionListApi(ApiView):
    @extend_schema(
        operation_id="versions_list",
        tags=["versions"],
        parameters=[BLUEPRINT_ID],
        responses=answers({200: VersionSummaryOutput(many=True)}, READ_ERRORS),
        summary="The published versions, newest first; the live one is marked",
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        blueprint = member_blueprint(request.user, blueprint_id)
        live = version_live(blueprint.pk)
        versions = versions_of(blueprint.pk)
        approvals: dict[int, list[Approval]] = {}
        for approval in Approval.objects.filter(version__blueprint=blueprint):
            approvals.setdefault(approval.version_id, []).append(approval)
        rows = [_summary(v, live.number if live else None, approvals.get(v.pk, [])) for v in versions]
        return render(VersionSummaryOutput, rows, many=True)

    @extend_schema(
        operation_id="versions_create",
        tags=["versions"],
        parameters=[BLUEPRINT_ID],
        request=PublishInput,
        responses=answers({201: VersionDetailOutput}, WRITE_ERRORS),
        summary=(
            "Publish the draft as the next version, in review (owner, editor); refused with the lint "
            "errors while it has any"
        ),
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        body = parse_body(request, PublishInput)
        version = version_publish(blueprint_id=blueprint_id, actor=request.user, note=body.get("note", ""))
        blueprint = member_blueprint(request.user, blueprint_id)
        return render(VersionDetailOutput, version_answer(blueprint, version.number), status.HTTP_201_CREATED)


class VersionDetailApi(ApiView):
    @extend_schema(
        operation_id="versions_retrieve",
        tags=["versions"],
        parameters=[BLUEPRINT_ID, NUMBER],
        responses=answers({200: VersionDetailOutput}, READ_ERRORS),
        summary="One version: its immutable snapshot, status, approvals and whether it is live",
    )
    def get(self, request: Request, blueprint_id: int, number: int) -> Response:
        blueprint = member_blueprint(request.user, blueprint_id)
        return render(VersionDetailOutput, version_answer(blueprint, number))


def decision_answer(request: Request, blueprint_id: int, number: int, *, approve: bool) -> Response:
    body = parse_body(request, DecisionInput)
    decide = version_approve if approve else version_reject
    decide(blueprint_id=blueprint_id, number=number, actor=request.user, comment=body.get("comment", ""))
    return render(VersionDetailOutput, version_answer(member_blueprint(request.user, blueprint_id), number))


class VersionApproveApi(ApiView):
    @extend_schema(
        operation_id="versions_approve",
        tags=["versions"],
        parameters=[BLUEPRINT_ID, NUMBER],
        request=DecisionInput,
        responses=answers({200: VersionDetailOutput}, WRITE_ERRORS),
        summary=(
            "Approve a version in review (approver, owner; never its author); with enough approvals "
            "it goes live"
        ),
    )
    def post(self, request: Request, blueprint_id: int, number: int) -> Response:
        return decision_answer(request, blueprint_id, number, approve=True)


class VersionRejectApi(ApiView):
    @extend_schema(
        operation_id="versions_reject",
        tags=["versions"],
        parameters=[BLUEPRINT_ID, NUMBER],
        request=DecisionInput,
        responses=answers({200: VersionDetailOutput}, WRITE_ERRORS),
        summary="Reject a version in review, saying why (approver, owner; never its author)",
    )
    def post(self, request: Request, blueprint_id: int, number: int) -> Response:
        return decision_answer(request, blueprint_id, number, approve=False)


class VersionDiffApi(ApiView):
    @extend_schema(
        operation_id="versions_diff",
        tags=["versions"],
        parameters=[BLUEPRINT_ID, NUMBER, AGAINST],
        responses=answers({200: DiffOutput}, (400, *READ_ERRORS)),
        summary="What a version changes against the live version, the draft or another version",
    )
    def get(self, request: Request, blueprint_id: int, number: int) -> Response:
        blueprint = member_blueprint(request.user, blueprint_id)
        against = query_against(request)
        version = version_get(blueprint.pk, number)
        if version is None:
            raise NotFound(f"This blueprint has no version {number}.", field="number")
        comparison = version_comparison(blueprint, version, against)
        if comparison is None:
            raise NotFound(f"This blueprint has no version {against} to compare with.", field="against")
        base = comparison.base
        answer = {
            "version": version.number,
            "against": {
                "against": base.against,
                "label": base.label,
                "version": base.number,
                "content_hash": base.content_hash,
            },
            **comparison.diff.as_json(),
        }
        return render(DiffOutput, answer)


class VersionRestoreApi(ApiView):
    """An addition to the contract's table: restore a version's content into the draft."""

    @extend_schema(
        operation_id="versions_restore",
        tags=["versions"],
        parameters=[BLUEPRINT_ID, NUMBER],
        request=RestoreInput,
        responses=answers({200: RestoreOutput}, WRITE_ERRORS),
        summary=(
            "Restore a version's content into the draft as ordinary operations (owner, editor); "
            "one undo takes it back"
        ),
    )
    def post(self, request: Request, blueprint_id: int, number: int) -> Response:
        parse_body(request, RestoreInput)
        result = version_restore(blueprint_id=blueprint_id, number=number, actor=request.user)
        answer = {
            "done": result.done,
            "message": result.message,
            "rev": result.rev,
            "operations": [log_entry(record) for record in result.records],
        }
        return render(RestoreOutput, answer)
