"""The exports part of the JSON API: ``GET blueprints/{id}/export/`` and ``POST blueprints/import/``
(docs/architecture.md, "Exports").

``export/?format=…&version=n|draft&at=YYYY-MM-DD`` answers the file itself (with a download
name): any member may export; ``format=sql`` also takes ``dialect`` (``decisioning.sql.DIALECTS``). ``version`` absent means the live version, the draft while none is
approved. The drawn formats answer 503 with a JSON message when Graphviz is not installed, the PDF
spec when WeasyPrint's Pango is missing. ``import/`` takes a ``json`` export and answers the new
blueprint, owned by the caller. Errors have the shape of ``api/errors.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from blueprint.api import serializers as s
from blueprint.api.openapi import BLUEPRINT_ID, THROTTLED, answers
from blueprint.api.options import AT, query_day, query_options
from blueprint.api.parsers import StrictJSONParser
from blueprint.api.serializers import ErrorOutput
from blueprint.api.views import ApiView, blueprint_answer, parse_body, render
from blueprint.exports.formats import FORMATS, export_render
from blueprint.exports.selectors import export_subject, parse_version
from blueprint.services import blueprint_import, member_blueprint
from decisioning.errors import InvalidInput
from decisioning.limits import LIMITS
from decisioning.sql import DIALECT_DOC, DIALECTS, dialect_of

FORMAT_HELP = f"Expected one of: {', '.join(FORMATS)}."

FORMAT = OpenApiParameter(
    "format",
    {"type": "string", "enum": list(FORMATS)},
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "What to export (default json). The spec: `html` (a whole document), `md`, `pdf`. The diagram: "
        "`svg`, `png`, `diagram-pdf`, `dot` (Graphviz source). Machine-readable: `json` (the canonical "
        "snapshot with a `version` block; `blueprints/import/` takes it), `dmn` (DMN 1.3), `cases` "
        "(acceptance test cases: decide API requests and the answers expected), `sql` (the decision query "
        "for a warehouse; see `dialect`)."
    ),
)
DIALECT = OpenApiParameter(
    "dialect",
    {"type": "string", "enum": list(DIALECTS)},
    OpenApiParameter.QUERY,
    required=False,
    description=f"With `format=sql` only. {DIALECT_DOC}",
)
VERSION = OpenApiParameter(
    "version",
    {"type": "string", "pattern": r"^([1-9][0-9]{0,8}|draft)$"},
    OpenApiParameter.QUERY,
    required=False,
    description="A version number, or `draft` for the board as it is now. Default: the live version, "
    "or the draft while no version is approved.",
)


# --- Shapes ----------------------------------------------------------------------------------------


class ConditionShape(serializers.Serializer):
    attribute = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField()


def _groups() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ListField(child=ConditionShape()),
        help_text="Groups of conditions: any group matches when all its conditions hold.",
    )


class SnapshotBlueprint(serializers.Serializer):
    name = serializers.CharField()
    context = serializers.CharField(allow_blank=True, required=False)  # type: ignore[assignment]
    channels = serializers.ListField(child=serializers.CharField(), required=False)
    description = serializers.CharField(allow_blank=True, required=False)


class SnapshotAttribute(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    kind = serializers.CharField(required=False)
    type = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    unit = serializers.CharField(allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    source = serializers.CharField(allow_blank=True, required=False)  # type: ignore[assignment]


class SnapshotOffer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True, required=False)
    channel = serializers.CharField(allow_blank=True, required=False)
    fallback = serializers.BooleanField(required=False)
    groups = _groups()


class SnapshotStage(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True, required=False)
    entry = _groups()
    offers = SnapshotOffer(many=True, help_text="In priority order.")


class VersionBlock(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True, help_text="null for the draft.")
    status = serializers.ChoiceField(choices=["draft", "in_review", "approved", "rejected", "superseded"])
    hash = serializers.CharField(help_text="sha256 of the canonical snapshot.")
    rev = serializers.IntegerField(help_text="The draft's rev (when it was published, for a version).")


class ExportJsonOutput(serializers.Serializer):
    format = serializers.CharField(help_text="blueprint-snapshot/1")
    blueprint = SnapshotBlueprint()
    attributes = SnapshotAttribute(many=True)
    stages = SnapshotStage(many=True, help_text="In journey order.")
    version = VersionBlock(help_text="What this export is of; an import ignores it.")


class CaseRequest(serializers.Serializer):
    profile = serializers.DictField(child=serializers.JSONField())
    stage = serializers.CharField()
    at = serializers.DateField()
    version = serializers.JSONField(help_text='A version number or "draft".')


class CaseExpect(serializers.Serializer):
    stage = serializers.CharField()
    offer = serializers.CharField(allow_null=True)
    fallback = serializers.BooleanField()


class CaseOutput(serializers.Serializer):
    name = serializers.CharField()
    request = CaseRequest(help_text="The body to POST to blueprints/{id}/decide/.")
    expect = CaseExpect(help_text="The decision expected for the request's stage.")


class SkippedOutput(serializers.Serializer):
    stage = serializers.CharField()
    offer = serializers.CharField()
    name = serializers.CharField()
    reason = serializers.CharField()


class CasesOutput(serializers.Serializer):
    blueprint = serializers.CharField(help_text="The blueprint's name.")
    version = VersionBlock()
    at = serializers.DateField(help_text="The decision day of every case.")
    cases = CaseOutput(many=True)
    skipped = SkippedOutput(many=True, help_text="Offers that get no case (never shown), and why.")


class ImportInput(serializers.Serializer):
    format = serializers.CharField(help_text="blueprint-snapshot/1")
    blueprint = SnapshotBlueprint()
    attributes = SnapshotAttribute(many=True)
    stages = SnapshotStage(many=True)
    version = serializers.JSONField(required=False, help_text="Ignored: the import is a new draft.")


TEXT = {"type": "string"}
BINARY = OpenApiTypes.BINARY
BINARY_MEDIA_TYPES = frozenset({"application/pdf", "image/png"})
EXPORT_RESPONSES: dict[Any, Any] = {
    (200, "application/json"): PolymorphicProxySerializer(
        component_name="ExportJson",
        serializers=[ExportJsonOutput, CasesOutput],
        resource_type_field_name=None,
    ),
}
# every other format's media type, from the one table the export answers by, so the schema cannot
# fall behind a new format
for _media_type, _suffix in FORMATS.values():
    _bare = _media_type.split(";")[0]
    if _bare != "application/json":
        EXPORT_RESPONSES[(200, _bare)] = BINARY if _bare in BINARY_MEDIA_TYPES else TEXT
for _code, _what in (
    (400, "Bad input: `errors` names the parameter (format, version, at) and what is accepted."),
    (401, "Not logged in: send 'Authorization: Token <token>' or a session cookie."),
    (404, "No such blueprint (or you are not a member of it), or no such version."),
    (
        503,
        "The server cannot draw this format: Graphviz's dot is missing (svg, png, diagram-pdf) or "
        "WeasyPrint's Pango is (pdf). The message says what to install; dot and the other forms still work.",
    ),
    (THROTTLED, "Too many heavy requests from you: wait the seconds `Retry-After` says."),
):
    EXPORT_RESPONSES[(_code, "application/json")] = OpenApiResponse(ErrorOutput, description=_what)


class JsonOnly(DefaultContentNegotiation):
    """Errors are JSON whatever is asked; the ``format`` query parameter names the export, not a
    renderer (DRF would otherwise read it as its URL format override and answer 404)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


# --- The views -------------------------------------------------------------------------------------


class ExportApi(ApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py
    content_negotiation_class = JsonOnly

    @extend_schema(
        operation_id="blueprints_export",
        tags=["exports"],
        parameters=[BLUEPRINT_ID, FORMAT, VERSION, AT, DIALECT],
        responses=EXPORT_RESPONSES,
        summary=(
            "Export a version or the draft (any member): the requirements spec, the diagram, JSON, DMN 1.3 "
            "or the acceptance test cases"
        ),
    )
    def get(self, request: Request, blueprint_id: int) -> HttpResponse:
        blueprint = member_blueprint(request.user, blueprint_id)
        options = query_options(request, ("format", "version", "at", "dialect"))  # empty or unknown: a 400
        fmt = options["format"] or "json"
        if fmt not in FORMATS:
            raise InvalidInput(FORMAT_HELP, field="format")
        if options["dialect"] is not None and fmt != "sql":
            raise InvalidInput(
                "Only format=sql takes a dialect; leave it out for this format.", field="dialect"
            )
        dialect = dialect_of(options["dialect"])
        version = parse_version(options["version"])
        at = query_day(request, "at")
        rendered = export_render(export_subject(blueprint, version=version, at=at), fmt, dialect=dialect)
        response = HttpResponse(rendered.body, content_type=rendered.media_type)
        response["Content-Disposition"] = content_disposition_header(True, rendered.filename) or "attachment"
        return response


class _ImportBody(StrictJSONParser):
    limit_name = "import_body_bytes"

    def body_limit(self) -> int:
        return LIMITS.import_body_bytes


class ImportJSONParser(BaseParser):
    """JSON read as ``StrictJSONParser`` reads it, up to ``import_body_bytes``: an export of a
    blueprint at the limits is bigger than an ordinary body. Not a ``JSONParser``, which DRF feeds
    from ``request.body``, where Django holds every body to ``json_body_bytes``."""

    media_type = "application/json"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        return _ImportBody().parse(stream, media_type, parser_context)


class ImportApi(ApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py
    parser_classes = [ImportJSONParser]

    @extend_schema(
        operation_id="blueprints_import",
        tags=["exports"],
        request=ImportInput,
        responses=answers({201: s.BlueprintDetailOutput}, (400, 401, 413, 415, THROTTLED)),
        summary=(
            "Make a new blueprint from a json export (you become its owner); refused, creating nothing, "
            "with every problem named by its JSON path"
        ),
    )
    def post(self, request: Request) -> Response:
        data = parse_body(request, ImportInput)
        created = blueprint_import(actor=request.user, data=data)
        return render(
            s.BlueprintDetailOutput, blueprint_answer(member_blueprint(request.user, created.pk)), 201
        )
