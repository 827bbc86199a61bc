"""One shape for every API error: ``{"detail": summary, "errors": {field path: [messages]}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from decisioning.errors import BlueprintError
from decisioning.limits import over_limit

# Errors about the request as a whole still name what to fix: the body, or its Content-Type.
_FIELD_OF = {
    exceptions.ParseError: "body",
    exceptions.UnsupportedMediaType: "Content-Type",
    exceptions.NotAcceptable: "Accept",
    exceptions.NotAuthenticated: "Authorization",
    exceptions.AuthenticationFailed: "Authorization",
}


def _flatten(data: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(data, dict):
        out: dict[str, list[str]] = {}
        for key, value in data.items():
            name = "non_field_errors" if key in ("non_field_errors", "detail") and not prefix else str(key)
            path = f"{prefix}.{name}" if prefix else name
            for sub, messages in _flatten(value, path).items():
                out.setdefault(sub, []).extend(messages)
        return out
    if isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            return {prefix or "non_field_errors": [str(item) for item in data]}
        out = {}
        for index, item in enumerate(data):
            for sub, messages in _flatten(item, f"{prefix}[{index}]").items():
                out.setdefault(sub, []).extend(messages)
        return out
    return {prefix or "non_field_errors": [str(data)]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BlueprintError):
        return Response(exc.as_json(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = over_limit(
            "json_body_bytes", f"The request body is too large; at most {limit} bytes are accepted"
        )
        return Response(
            {"detail": detail, "errors": {"body": [detail]}}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(response.data)
        detail = " ".join(
            f"{path}: {msg}" if path != "non_field_errors" else msg
            for path, msgs in errors.items()
            for msg in msgs
        )
        response.data = {"detail": detail, "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = str(response.data["detail"])
        field = getattr(exc, "path", None) or next(
            (f for t, f in _FIELD_OF.items() if isinstance(exc, t)), None
        )
        if field is None and response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
            field = "body"
        response.data = {"detail": detail, "errors": {field: [detail]} if field else {}}
    if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        response.data["errors"] = {"method": [str(response.data["detail"])]}
    return response


# --- Errors Django answers itself --------------------------------------------------------------------
#
# Some failures never reach a DRF view, or leave it unhandled: a Host header not allowed, a body
# Django cannot read (malformed multipart, too many fields), a path nothing matches, an exception in
# a middleware, in URL resolution or in a view (DRF's handler answers None for those). Django answers
# them with handler400/403/404/500 (``blueprint/urls.py``); under /api/ these answer the JSON shape
# above, elsewhere Django's pages as before.

API_PREFIX = "/api/"
SERVER_ERROR = (
    "Something went wrong on our side; it has been logged. Try again, and tell us if it keeps happening."
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(code: int, detail: str, field: str | None) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": {field: [detail]} if field else {}}, status=code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: SuspiciousOperation (DisallowedHost, RequestDataTooBig, …), BadRequest and a body
    Django's multipart parser cannot read."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _json_error(413, f"The request body is too large; at most {limit} bytes are accepted.", "body")
    if isinstance(exception, MultiPartParserError):
        return _json_error(400, f"The multipart body cannot be read: {str(exception)[:200]}", "body")
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return _json_error(400, "The body has too many fields or files.", "body")
    if isinstance(exception, DisallowedHost):
        return _json_error(400, "This server does not answer for that host name.", "Host")
    return _json_error(400, "The request cannot be read.", "request")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: PermissionDenied raised outside a DRF view."""
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(403, "You may not do this.", None)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: Http404 raised outside a DRF view, or a path under /api/ outside /api/v1/."""
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    detail = f"Nothing at {request.path[:200]}."
    return _json_error(404, detail, "path")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: any exception nothing else answered (logged by Django before this runs)."""
    if not _is_api(request):
        return defaults.server_error(request)
    return _json_error(500, SERVER_ERROR, None)
