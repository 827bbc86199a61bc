"""Reads about people's access."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from blueprint.accounts.models import ApiToken


def api_tokens_of(user: Any) -> QuerySet[ApiToken]:
    """The person's tokens that still work, newest first (one indexed query: user and expiry)."""
    return ApiToken.objects.filter(user_id=user.pk, expiry__gt=timezone.now()).order_by("-created", "-id")
