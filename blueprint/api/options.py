"""Options in the query string, read one way by every endpoint that takes them.

An option is absent (its default), or given once with a value: an unknown option, one given twice
or an empty one (``?at=``) is a 400 naming it, never a silent default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from decisioning.errors import InvalidInput
from decisioning.selectors import AT_RANGE, DAY_PATTERN
from decisioning.selectors import query_day as day_of

EMPTY_OPTION = "Give a value, or leave the option out for its default."


def query_options(request: Request, allowed: Collection[str]) -> dict[str, str | None]:
    """The query's options among ``allowed``, each a text or None when absent."""
    params = request.query_params
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        message = (
            f"Unknown option; expected some of: {', '.join(sorted(allowed))}."
            if allowed
            else "Unknown option; this request takes none."
        )
        raise InvalidInput({name[:80]: [message] for name in unknown})
    options: dict[str, str | None] = {}
    for name in allowed:
        values = params.getlist(name)
        if len(values) > 1:
            raise InvalidInput("Give this option once.", field=name)
        if values and values[0] == "":
            raise InvalidInput(EMPTY_OPTION, field=name)
        options[name] = values[0] if values else None
    return options


AT = OpenApiParameter(
    "at",
    {"type": "string", "pattern": DAY_PATTERN},
    OpenApiParameter.QUERY,
    required=False,
    description=(
        f"The decision day (YYYY-MM-DD, {AT_RANGE}) that places `within_last_days` conditions on the "
        "calendar; nothing else depends on it. Default: today in the server's time zone."
    ),
)


def query_day(request: Request, name: str) -> dt.date | None:
    """A day given as YYYY-MM-DD in the query (``decisioning.selectors.query_day``), None when
    absent; 400 naming it when empty, malformed or out of range."""
    return day_of(request.query_params.get(name), field=name)
