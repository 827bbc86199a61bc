"""JSON bodies the services can take without surprises: ``blueprint.json_input`` read under DRF.

Every body is bounded in size (413 past ``DATA_UPLOAD_MAX_MEMORY_SIZE``) and read by
``json_input.loads``: nesting at most ``MAX_DEPTH`` levels, no NaN or infinite numbers, only
strings every database can store. A refused body is a 400 naming where in the body the problem is,
so no body can turn into a 500.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from blueprint.json_input import MAX_DEPTH, JsonProblem, loads
from blueprint.json_input import check_storable as check_json
from decisioning.limits import LIMITS, over_limit

__all__ = ["MAX_DEPTH", "BodyProblem", "PayloadTooLarge", "StrictJSONParser", "check_storable"]


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BodyProblem(ParseError):
    """A parse error that knows where in the body it is (``groups[0][1].value``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        # The path may hold the very characters refused; escape them so the answer can be encoded.
        self.path = (path or "body")[:200].encode("utf-8", "backslashreplace").decode("utf-8")


def max_body_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or LIMITS.json_body_bytes)


class StrictJSONParser(JSONParser):
    """JSON only, bounded in size and depth, with strings every database can store."""

    limit_name = "json_body_bytes"  # the limit of decisioning.limits that bounds the body

    def body_limit(self) -> int:
        return max_body_bytes()

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # Django refuses a declared Content-Length above the limit when DRF reads request.body (see
        # api/errors.py); the cap here covers a body whose length was not declared.
        limit = self.body_limit()
        if stream is None:
            return {}
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(
                over_limit(self.limit_name, f"The request body is larger than {limit} bytes")
            )
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(codecs.decode(raw, encoding))
        except (UnicodeDecodeError, LookupError) as exc:
            raise BodyProblem("body", f"The body is not valid JSON: {exc}") from None
        except JsonProblem as exc:
            raise BodyProblem(exc.path, exc.message) from None


def check_storable(data: Any) -> None:
    """``json_input.check_storable`` for a document parsed elsewhere, refused as a ``BodyProblem``."""
    try:
        check_json(data)
    except JsonProblem as exc:
        raise BodyProblem(exc.path, exc.message) from None
