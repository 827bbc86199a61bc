"""The decisioning part of the JSON API (docs/architecture.md, "Decisions" and "The API contract"):
lint, decide, batch decide, coverage and the SQL of a version.

Thin transports like ``blueprint/api/views.py``, whose plumbing they share: the same
authentication, the same 404 for a blueprint the caller is not a member of, the same error shape.
Any member may lint and decide with any published version; the draft is for owners and editors
(``decisioning.selectors``). The engine is ``decisioning.engine``; the batch streams are
``decisioning.batch``.

- ``POST decide/``: ``{profile, stage?, at?, version?, explain?}`` → ``{version, at, decisions}``.
- ``POST decide/batch/``: JSON ``{profiles: [...], stage?, at?, version?, explain?}``, or a CSV
  body (``Content-Type: text/csv``, options in the query) or a Parquet file
  (``application/vnd.apache.parquet``) → one answer per profile, in order, streamed as JSON, CSV
  (``Accept: text/csv`` or ``?format=csv``) or Parquet (``?format=parquet``).
- ``POST coverage/``: a CSV (or Parquet) sample → per stage, how many get each offer, the fallback
  or nothing.
- ``GET decide/sql/``: the version as one SQL query, to run in a warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from blueprint.api.openapi import BLUEPRINT_ID, READ_ERRORS, THROTTLED, answers
from blueprint.api.options import AT, query_day, query_options
from blueprint.api.serializers import ErrorOutput
from blueprint.api.views import ApiView, parse_body, render
from blueprint.selectors import board_lint, board_load
from blueprint.services import member_blueprint
from decisioning import batch
from decisioning.api_shapes import (
    AT_INPUT_HELP,
    MOMENT_SCHEMA,
    STAGE_SCHEMA,
    VERSION_INPUT_HELP,
    VERSION_TEXT_SCHEMA,
    CoverageOutput,
    DecideBatchInput,
    DecideBatchOutput,
    DecideInput,
    DecideOutput,
    LintOutput,
)
from decisioning.budget import Cancelled
from decisioning.duckdb_run import BatchError, CsvNotTabular, temporary_path
from decisioning.engine import CompiledVersion
from decisioning.errors import BlueprintError, InvalidInput, LimitExceeded
from decisioning.limits import LIMITS, over_limit
from decisioning.selectors import (
    AT_RANGE,
    DAY_PATTERN,
    batch_max_bytes,
    decision_day,
    decision_target,
    decision_version,
    version_choice,
    version_label,
)
from decisioning.sql import DIALECT_DOC, DIALECTS, dialect_of, export_sql

logger = logging.getLogger(__name__)

CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
SQL = "application/sql"

# --- Shapes: lint ----------------------------------------------------------------------------------


def flag(raw: Any, name: str) -> bool:
    """A yes/no option from a JSON body (true/false; null: no) or a query (true/false/1/0/yes/no)."""
    if raw is None or raw is False:
        return False
    if raw is True:
        return True
    if isinstance(raw, str) and raw.lower() in ("true", "1", "yes", "false", "0", "no"):
        return raw.lower() in ("true", "1", "yes")
    raise InvalidInput("Expected true or false.", field=name)


def stage_option(raw: Any) -> str | None:
    """A ``stage`` as given (None: every stage); the version's stages check the key itself."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        raise InvalidInput("Expected the key of a stage.", field="stage")
    return raw


class CSVRenderer(BaseRenderer):
    """Lets ``Accept: text/csv`` and ``?format=csv`` through content negotiation; the views stream
    CSV themselves."""

    media_type = CSV
    format = "csv"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return b""


class ParquetRenderer(CSVRenderer):
    media_type = PARQUET
    format = "parquet"


class StreamingApiView(ApiView):
    """Errors are always JSON, whatever the client accepts for the answer itself."""

    renderer_classes = [JSONRenderer, CSVRenderer, ParquetRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        return JSONRenderer(), "application/json"


def answer_format(request: Request, asked: str | None) -> str:
    """json, csv or parquet: ``?format=`` (``asked``) first, then the Accept header; JSON by default."""
    if asked is not None:
        if asked not in batch.ANSWER_FORMATS:
            raise InvalidInput("Expected json, csv or parquet.", field="format")
        return asked
    accept = request.headers.get("Accept", "")
    if CSV in accept and "application/json" not in accept:
        return "csv"
    if PARQUET in accept and "application/json" not in accept:
        return "parquet"
    return "json"


def body_kind(request: Request) -> str:
    media = (request.content_type or "").split(";")[0].strip().lower()
    if media == CSV:
        return "csv"
    if media == PARQUET:
        return "parquet"
    return "json"


class PayloadTooLarge(BlueprintError):
    status = 413


def spool_body(request: Request) -> Path:
    """The raw body in a temporary file, refusing more than ``batch_max_bytes`` (413, saying so)."""
    limit = batch_max_bytes()
    too_large = over_limit(
        "batch_body_bytes",
        f"The body is too large: at most {limit} bytes (here {limit // (1024 * 1024)} MiB) are accepted",
    )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(too_large, field="body")
    path = temporary_path(".upload")
    received = 0
    try:
        with path.open("wb") as handle:
            while chunk := request._request.read(batch.CHUNK):
                received += len(chunk)
                if received > limit:
                    raise PayloadTooLarge(too_large, field="body")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# The options of a batch in the query. A JSON body may carry all but the format itself: each once,
# in the body or in the query (a CSV or Parquet body only in the query).
BATCH_OPTIONS = ("stage", "at", "version", "explain", "format")
IN_BODY_OR_QUERY = "Give it in the body or in the query, not in both."
BOTH_WAYS = "For a JSON body, here or in the body (not both). "


def streamed(
    chunks: Iterator[bytes], content_type: str, filename: str | None = None
) -> StreamingHttpResponse:
    """A streamed answer. The batch's streams end a fault themselves, saying so (``batch.STOPPED``);
    should anything still raise once the answer has started, it is logged and the answer ends there:
    an exception escaping a streamed answer leaves Daphne's client waiting for ever."""
    response = StreamingHttpResponse(_ended_on_fault(chunks), content_type=content_type)
    if filename:
        response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response


def _ended_on_fault(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except Cancelled:
        return  # the client left
    except Exception:
        logger.exception("A streamed answer stopped")


BAD_BATCH = (400, 401, 403, 404, 409, 413, 415, THROTTLED)

# --- The views ---------------------------------------------------------------------------------------


class LintApi(ApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py

    @extend_schema(
        operation_id="blueprints_lint",
        tags=["lint"],
        parameters=[BLUEPRINT_ID, AT],
        responses=answers({200: LintOutput}, (400, *READ_ERRORS, THROTTLED)),
        summary=(
            "The lint of the board (any member): contradictions, duplicate and shadowed offers, "
            "invalid fallbacks, redundant conditions, gaps, empty stages and overlaps"
        ),
    )
    def get(self, request: Request, blueprint_id: int) -> Response:
        blueprint = member_blueprint(request.user, blueprint_id)
        query_options(request, ("at",))
        at = query_day(request, "at")
        report = board_lint(board_load(blueprint), at=at)
        return render(LintOutput, {**report.as_json(), "rev": blueprint.rev})


class DecideApi(ApiView):
    heavy_when_explained = True  # rationed per person: blueprint/api/throttles.py

    @extend_schema(
        operation_id="blueprints_decide",
        tags=["decisions"],
        parameters=[BLUEPRINT_ID],
        request=DecideInput,
        responses=answers({200: DecideOutput}, (400, 401, 403, 404, 409, 413, 415, THROTTLED)),
        summary=(
            "Which stage(s) a customer is in and which offer each gives, with the live version (or a "
            "number, or the draft); with explain, every condition's result and why not"
        ),
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        return Response(decide_answer(request.user, blueprint_id, parse_body(request, DecideInput)))


def decide_answer(user: Any, blueprint_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The answer of ``POST decide/`` to ``body`` (a JSON object of DecideInput's fields) from
    ``user``; raises ``BlueprintError`` as the endpoint refuses."""
    version = body.get("version")
    version_choice(version)  # a malformed version is a 400 whoever asks
    compiled = decision_target(user, blueprint_id, version)
    if "profile" not in body:
        raise InvalidInput("Give the customer's profile: attribute key → value.", field="profile")
    stage = stage_option(body.get("stage"))
    at = decision_day(body.get("at"))
    explain = flag(body.get("explain"), "explain")
    return compiled.decide(body["profile"], stage=stage, at=at, explain=explain).as_json()


class DecideBatchApi(StreamingApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py

    @extend_schema(
        operation_id="blueprints_decide_batch",
        tags=["decisions"],
        parameters=[
            BLUEPRINT_ID,
            OpenApiParameter(
                "format",
                {"type": "string", "enum": ["json", "csv", "parquet"]},
                required=False,
                description="The answers' format (else the Accept header; default JSON).",
            ),
            OpenApiParameter(
                "stage",
                STAGE_SCHEMA,
                required=False,
                description=BOTH_WAYS + "Decide this stage only.",
            ),
            OpenApiParameter("at", MOMENT_SCHEMA, required=False, description=BOTH_WAYS + AT_INPUT_HELP),
            OpenApiParameter(
                "version",
                VERSION_TEXT_SCHEMA,
                required=False,
                description=BOTH_WAYS + VERSION_INPUT_HELP,
            ),
            OpenApiParameter(
                "explain",
                bool,
                required=False,
                description=BOTH_WAYS + "Explain each answer (JSON answers; not for Parquet bodies).",
            ),
        ],
        request={"application/json": DecideBatchInput, CSV: OpenApiTypes.STR, PARQUET: OpenApiTypes.BINARY},
        responses={
            (200, "application/json"): OpenApiResponse(
                DecideBatchOutput, description="JSON answers, streamed."
            ),
            (200, CSV): OpenApiResponse(
                OpenApiTypes.STR,
                description="row, error, then per stage <stage>.entered, .offer, .fallback, .eligible ('|'-joined).",
            ),
            (200, PARQUET): OpenApiResponse(
                OpenApiTypes.BINARY, description="The same columns as CSV, as Parquet."
            ),
            **{code: OpenApiResponse(ErrorOutput) for code in BAD_BATCH},
        },
        summary=(
            "Decide many profiles at once: a JSON list, or a CSV (one column per attribute; sets "
            "'|'-separated) or Parquet body; one answer per profile in order, bad rows answered with "
            "an error naming the field"
        ),
    )
    def post(self, request: Request, blueprint_id: int) -> HttpResponse | StreamingHttpResponse:
        kind = body_kind(request)
        rows: list[Any] = []
        options: dict[str, Any] = dict(query_options(request, BATCH_OPTIONS))
        out = answer_format(request, options["format"])
        if kind == "json":
            body = parse_body(request, DecideBatchInput)
            for key in ("stage", "at", "version", "explain"):
                if key in body:
                    if options[key] is not None:
                        raise InvalidInput(IN_BODY_OR_QUERY, field=key)
                    options[key] = body[key]
            given = body.get("profiles")
            if not isinstance(given, list):
                raise InvalidInput("Give a list of profiles: [{attribute key: value}, …].", field="profiles")
            if len(given) > LIMITS.batch_profiles:
                raise LimitExceeded(
                    over_limit(
                        "batch_profiles",
                        f"At most {LIMITS.batch_profiles} profiles in one JSON batch; here are {len(given)}. "
                        "Send more in several batches, or as a CSV or Parquet file",
                    ),
                    field="profiles",
                )
            rows = given
        blueprint = member_blueprint(request.user, blueprint_id)
        stage = stage_option(options["stage"])
        at = decision_day(options["at"])
        explain = flag(options["explain"], "explain")
        if refused := batch.answers_refusal(out, explain=explain):
            raise InvalidInput(refused.message, field=refused.field)
        compiled = decision_version(blueprint, version_choice(options["version"]))
        index = compiled.stage_of(stage)
        if refused := batch.body_refusal(kind, out, explain=explain):
            raise InvalidInput(refused.message, field=refused.field)
        if kind == "json":
            answers_ = batch.python_answers(
                compiled, rows, at=at, stage=index, explain=explain, csv_input=False
            )
            return self._answer(compiled, answers_, out, at, index)
        return self._file(request, compiled, kind, out, at, index, explain)

    def _answer(
        self, compiled: CompiledVersion, answers_: Any, out: str, at: dt.date, index: int
    ) -> StreamingHttpResponse:
        if out == "csv":
            return streamed(
                batch.stream_csv(compiled, answers_, stage=index), f"{CSV}; charset=utf-8", "decisions.csv"
            )
        return streamed(batch.stream_json(compiled, answers_, at=at), "application/json")

    def _file(
        self,
        request: Request,
        compiled: CompiledVersion,
        kind: str,
        out: str,
        at: dt.date,
        index: int,
        explain: bool,
    ) -> StreamingHttpResponse:
        source = spool_body(request)
        answers_: Iterator[Any] | None = None
        try:
            if kind == "csv" and (problem := batch.csv_problem(source)):
                raise InvalidInput(problem, field="body")
            engine = batch.batch_engine(kind, out, source.stat().st_size)
            if engine == batch.DUCKDB_FILE:
                # DuckDB decides the whole file first, so an unreadable one is still a clean 400
                try:
                    target = batch.duckdb_file(
                        compiled, source, at=at, stage=index, source_format=kind, target_format=out
                    )
                except CsvNotTabular:
                    # read row by row, as a small body is: each odd row an error of its own
                    if out == "parquet":
                        target = batch.python_parquet(
                            compiled, self._csv_rows(compiled, source, at, index, False), stage=index
                        )
                        return streamed(
                            batch.stream_file(target, cleanup=[target]), PARQUET, "decisions.parquet"
                        )
                else:
                    content_type = f"{CSV}; charset=utf-8" if out == "csv" else PARQUET
                    return streamed(
                        batch.stream_file(target, cleanup=[target, source]), content_type, f"decisions.{out}"
                    )
            if engine == batch.DUCKDB_ANSWERS:
                # decided before the answer starts: a file DuckDB cannot read to its end is a 400
                answers_ = batch.duckdb_answers(compiled, source, at=at, stage=index, source_format=kind)
                source.unlink(missing_ok=True)
        except BatchError as exc:
            source.unlink(missing_ok=True)
            raise InvalidInput(str(exc), field="body") from None
        except BaseException:
            source.unlink(missing_ok=True)
            raise
        if answers_ is None:
            answers_ = self._csv_rows(compiled, source, at, index, explain)
        return self._answer(compiled, answers_, out, at, index)

    @staticmethod
    def _csv_rows(
        compiled: CompiledVersion, source: Path, at: dt.date, index: int, explain: bool
    ) -> Iterator[Any]:
        try:
            with source.open(encoding="utf-8-sig", newline="") as text:
                yield from batch.python_answers(
                    compiled, batch.csv_profiles(text), at=at, stage=index, explain=explain, csv_input=True
                )
        finally:
            source.unlink(missing_ok=True)


class CoverageApi(StreamingApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py

    @extend_schema(
        operation_id="blueprints_coverage",
        tags=["decisions"],
        parameters=[
            BLUEPRINT_ID,
            OpenApiParameter("at", MOMENT_SCHEMA, required=False, description=AT_INPUT_HELP),
            OpenApiParameter("version", VERSION_TEXT_SCHEMA, required=False, description=VERSION_INPUT_HELP),
        ],
        request={CSV: OpenApiTypes.STR, PARQUET: OpenApiTypes.BINARY},
        responses=answers({200: CoverageOutput}, BAD_BATCH),
        summary=(
            "Coverage of a sample of customers (CSV or Parquet, one column per attribute): per stage, "
            "how many get each offer, the fallback or nothing; bad rows counted, not fatal"
        ),
    )
    def post(self, request: Request, blueprint_id: int) -> Response:
        kind = body_kind(request)
        if kind == "json":
            raise InvalidInput(
                f"Send the sample as CSV (Content-Type: {CSV}) or Parquet ({PARQUET}).", field="Content-Type"
            )
        options = query_options(request, ("at", "version"))
        blueprint = member_blueprint(request.user, blueprint_id)
        at = decision_day(options["at"])
        compiled = decision_version(blueprint, version_choice(options["version"]))
        source = spool_body(request)
        try:
            counts = batch.file_coverage(compiled, source, at=at, source_format=kind)
        except BatchError as exc:
            raise InvalidInput(str(exc), field="body") from None
        finally:
            source.unlink(missing_ok=True)
        return Response({"version": compiled.version, "at": at.isoformat(), **counts})


class DecisionSqlApi(ApiView):
    heavy = True  # rationed per person: blueprint/api/throttles.py
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="blueprints_decide_sql",
        tags=["decisions"],
        parameters=[
            BLUEPRINT_ID,
            OpenApiParameter("version", VERSION_TEXT_SCHEMA, required=False, description=VERSION_INPUT_HELP),
            OpenApiParameter(
                "at",
                {"type": "string", "pattern": DAY_PATTERN},
                required=False,
                description=f"Fix the decision day in the query (YYYY-MM-DD, {AT_RANGE}); default CURRENT_DATE.",
            ),
            OpenApiParameter(
                "dialect", {"type": "string", "enum": list(DIALECTS)}, required=False, description=DIALECT_DOC
            ),
        ],
        responses={
            (200, SQL): OpenApiResponse(
                OpenApiTypes.STR, description="One SELECT over a relation named profiles."
            ),
            **{code: OpenApiResponse(ErrorOutput) for code in (400, 401, 403, 404, 409, THROTTLED)},
        },
        summary="The version as one SQL query (CASE per stage) to run in a warehouse",
    )
    def get(self, request: Request, blueprint_id: int) -> HttpResponse:
        blueprint = member_blueprint(request.user, blueprint_id)
        options = query_options(request, ("version", "at", "dialect"))
        at = query_day(request, "at")
        dialect = dialect_of(options["dialect"])
        compiled = decision_version(blueprint, version_choice(options["version"]))
        title = f"{blueprint.name} — {version_label(compiled.version)}"
        response = HttpResponse(
            export_sql(compiled, at=at, title=title, dialect=dialect), content_type=f"{SQL}; charset=utf-8"
        )
        number = compiled.version.get("number")
        stem = f"blueprint-{blueprint.pk}-v{number}" if number else f"blueprint-{blueprint.pk}-draft"
        name = f"{stem}.sql" if dialect == "portable" else f"{stem}.{dialect}.sql"
        response["Content-Disposition"] = content_disposition_header(False, name) or "inline"
        return response
