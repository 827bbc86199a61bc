"""JSON bodies the services can take without surprises.

The services validate every value, but they assume what ``json.loads`` gives for an ordinary
document. A few bodies would still reach them in shapes that fail far from here: nesting deep
enough to exhaust the recursion limit, strings that SQLite or PostgreSQL cannot store (lone
surrogates, NUL), and bodies too large to hold in memory. The parser refuses those with a 400 or
413 naming where in the body the problem is, so no body can turn into a 500.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from blueprint.limits import LIMITS, over_limit

# A condition sits five levels down ({groups: [[{value: [...]}]]}); anything much deeper is not a board.
MAX_DEPTH = LIMITS.json_depth


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

    limit_name = "json_body_bytes"  # the limit of blueprint.limits that bounds the body

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
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise BodyProblem("body", _too_deep()) from None
        except (ValueError, LookupError) as exc:
            raise BodyProblem("body", f"The body is not valid JSON: {exc}") from None
        check_storable(data)
        return data


def _too_deep() -> str:
    return over_limit("json_depth", f"The JSON is nested too deeply; at most {MAX_DEPTH} levels")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_storable(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH``, strings with NUL or lone surrogates, and infinite numbers.

    Walks iteratively, so a hostile document cannot exhaust the stack here either.
    """
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BodyProblem(path, _too_deep())
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            # 1e400 parses as infinity, which no JSON answer could echo back.
            raise BodyProblem(path, "Numbers must be finite.")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                _check_text(key, child)
                pending.append((item, child, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))


def _check_text(text: str, path: str) -> None:
    if "\x00" in text:
        raise BodyProblem(path, "Text may not contain the NUL character (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyProblem(path, "Text may not contain unpaired surrogate characters.") from None
