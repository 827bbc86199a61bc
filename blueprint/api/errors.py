"""One shape for every API error: ``{"detail": summary, "errors": {field path: [messages]}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from blueprint.errors import BlueprintError
from blueprint.limits import over_limit

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
