"""A helper for tests that call the API with a token."""

from __future__ import annotations

from typing import Any

from blueprint.services.accounts import api_token_create


def api_token(user: Any, name: str = "Tests") -> str:
    """A new API token's secret for ``user`` (as ``Authorization: Token <secret>`` sends it)."""
    return api_token_create(user=user, name=name)[1]
