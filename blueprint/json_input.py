"""JSON that people send, read one way wherever it arrives: API bodies (``blueprint.api.parsers``),
the simulator's ``?profile=`` and the import page.

The services validate every value, but they assume what ``json.loads`` gives for an ordinary
document. A few documents would still reach them in shapes that fail far from here: nesting deep
enough to exhaust the recursion limit (in the parser, or in any code that walks the value later),
``NaN`` and ``Infinity`` (which Python's parser accepts) or numbers too large for a float, and
strings that SQLite or PostgreSQL cannot store (lone surrogates, NUL). ``loads`` refuses those with
a ``JsonProblem`` naming where in the document the problem is.

Pure: no Django (the limits table is pure too).
"""

from __future__ import annotations

import json
import math
from typing import Any

from decisioning.limits import LIMITS, over_limit

# The deepest nesting accepted (limit json_depth), the document itself being level 1. A board's
# condition sits five levels down ({groups: [[{value: [...]}]]}), an imported blueprint's ten; a
# profile's set two. Anything much deeper is not a board, and a walk over it could exhaust the stack.
MAX_DEPTH = LIMITS.json_depth
TOO_DEEP = over_limit("json_depth", f"The JSON is nested too deeply; at most {MAX_DEPTH} levels")


class JsonProblem(ValueError):
    """A document refused; ``path`` says where (``groups[0][1].value``; "" for the whole of it)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.message = message
        # The path may hold the very characters refused; escape them so an answer can be encoded.
        self.path = path[:200].encode("utf-8", "backslashreplace").decode("utf-8")


def loads(text: str | bytes) -> Any:
    """The document in ``text``, refused with ``JsonProblem`` as the module says."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise JsonProblem("", TOO_DEEP) from None
    except ValueError as exc:  # JSONDecodeError, a constant, a number with too many digits
        raise JsonProblem("", f"This is not valid JSON: {str(exc)[:200]}") from None
    check_storable(data)
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_storable(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH``, strings with NUL or lone surrogates, and numbers that
    are not finite (``1e400`` parses as infinity, which no JSON answer could echo back).

    Walks iteratively, so a hostile document cannot exhaust the stack here either.
    """
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise JsonProblem(path, TOO_DEEP)
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise JsonProblem(path, "Numbers must be finite.")
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                _check_text(key, child)
                pending.append((item, child, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))


def _check_text(text: str, path: str) -> None:
    if "\x00" in text:
        raise JsonProblem(path, "Text may not contain the NUL character (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonProblem(path, "Text may not contain unpaired surrogate characters.") from None
