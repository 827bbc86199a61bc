"""Options in the query string, read one way by every endpoint that takes them.

An option is absent (its default), or given once with a value: an unknown option, one given twice
or an empty one (``?at=``) is a 400 naming it, never a silent default.
"""

from __future__ import annotations

from collections.abc import Collection

from rest_framework.request import Request

from blueprint.errors import InvalidInput

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
