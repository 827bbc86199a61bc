"""What the OpenAPI schema says beyond the serializers: path parameters, headers, error answers.

The schema is the contract schemathesis fuzzes against, so every status an operation can answer
is listed here, and path parameters carry the same limits as the URL converters.
"""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.plumbing import set_query_parameters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView

from blueprint.api import examples
from blueprint.api.serializers import ErrorOutput
from blueprint.selectors import board_load, version_live
from blueprint.services.access import member_blueprint
from decisioning.errors import BlueprintError

MAX_ID = 999_999_999_999_999_999  # 18 digits: what the id converter matches; fits every database's bigint

BLUEPRINT_ID = OpenApiParameter(
    "blueprint_id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="The blueprint's id.",
)
KEY = OpenApiParameter(
    "key",
    {"type": "string", "pattern": r"^[a-z0-9_-]{1,64}$"},
    OpenApiParameter.PATH,
    description="The key of the stage, offer or attribute.",
)
USERNAME = OpenApiParameter(
    "username",
    {"type": "string", "pattern": r"^[\w.@+-]{1,150}$"},
    OpenApiParameter.PATH,
    description="The member's username.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": 64},
    OpenApiParameter.HEADER,
    required=False,
    description="A client id: an operation retried with the same key applies once and answers the same object.",
)

_ERRORS = {
    400: "Bad input: `errors` names each field and says what would be accepted.",
    401: "Not logged in: send 'Authorization: Token <token>' or a session cookie.",
    403: "Your role does not allow this (viewers and approvers read only; owners manage members).",
    404: "No such blueprint (or you are not a member of it), or no such key.",
    409: "Conflicts with the board's state (a key in use, the last owner, a concurrent change).",
    413: "The body is larger than the server accepts.",
    415: "The body is not application/json.",
    429: "Too many heavy requests (lint, explanations, batches, coverage, SQL, exports, import) from "
    'you: wait the seconds `Retry-After` says (API_HEAVY_RATE, README "Security").',
}
THROTTLED = 429
READ_ERRORS = (401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415)
DELETE_ERRORS = (400, 401, 403, 404, 409)


def answers(ok: dict[int, Any], errors: tuple[int, ...]) -> dict[int, Any]:
    """The ``responses`` of an operation: its successes and the shared error shape."""
    out: dict[int, Any] = dict(ok)
    for code in errors:
        out[code] = OpenApiResponse(ErrorOutput, description=_ERRORS[code])
    return out


SINCE = OpenApiParameter(
    "since",
    {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    OpenApiParameter.QUERY,
    required=False,
    description="List the operations after this rev. Default: the newest 50 (or `limit`, if fewer).",
)
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": 500},
    OpenApiParameter.QUERY,
    required=False,
    description="At most this many operations (the oldest after `since` first). Default 100, at most 500.",
)


# --- What every request body is held to, said in the schema -------------------------------------------

# Any text without NUL (the body parser refuses it everywhere); and with something besides spaces,
# for a text that may not be blank (the services trim texts, then refuse an empty required one).
# Spaces are what Python's str.strip removes; \s covers them but for \x1c-\x1f and \x85.
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000\\u001c-\\u001f\\u0085][^\\u0000]*$"


def request_shapes(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: request bodies (the ``…Request`` components) refuse
    fields they do not declare (``parse_body``) and texts the parser and services refuse; a body
    with required fields is itself required (an empty one is read as ``{}`` and refused)."""
    components = result.get("components", {}).get("schemas", {})
    for name, component in components.items():
        if name.endswith("Request"):
            _tighten(component)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None:
                continue
            for content in body.get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                if components.get(ref.rsplit("/", 1)[-1], {}).get("required"):
                    body["required"] = True
    return result


def _tighten(node: Any) -> None:
    if not isinstance(node, dict) or "$ref" in node:
        return
    kind = node.get("type")
    if kind == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
        for child in node["properties"].values():
            _tighten(child)
    elif kind == "array":
        _tighten(node.get("items"))
    elif kind == "string" and not ({"pattern", "enum", "format"} & set(node)):
        node["pattern"] = NOT_BLANK if node.get("minLength", 0) >= 1 else NO_NUL
    for key in ("oneOf", "anyOf", "allOf"):
        for child in node.get(key, ()):
            _tighten(child)


def real_examples(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the request examples, made from the blueprint the schema
    is asked for (``?blueprint=ID``, a blueprint the requester is a member of) or else the demo's
    (blueprint/api/examples.py), so that "Try it out" sends a request the board accepts."""
    facts = examples.demo_facts()
    wanted = _blueprint_param(request) if request is not None else None
    if wanted is not None:
        try:
            blueprint = member_blueprint(request.user, int(wanted), doing="read its API examples")
        except BlueprintError:
            pass  # not theirs, or gone: the demo's examples, and nothing told about the blueprint
        else:
            live = version_live(blueprint.pk) is not None
            facts = examples.board_facts(board_load(blueprint), live=live)
    examples.into_schema(result, facts, datetime.date.today())
    return result


class DocsView(SpectacularSwaggerSplitView):
    """The Swagger page. ``?blueprint=ID`` is passed on to the schema (and to the page's script, which
    asks for it), so its examples are that blueprint's."""

    def _get_schema_url(self, request: Any) -> str:
        return set_query_parameters(super()._get_schema_url(request), blueprint=_blueprint_param(request))

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().get(request, *args, **kwargs)
        script_url = response.data.get("script_url")
        if script_url:
            response.data["script_url"] = set_query_parameters(
                script_url, blueprint=_blueprint_param(request)
            )
        return response


def _blueprint_param(request: Any) -> str | None:
    wanted = request.GET.get("blueprint", "")
    return wanted if wanted.isdigit() and len(wanted) <= 18 else None
