"""People's access outside the board: their API tokens, and the end of all of it.

A token is django-rest-knox's (only a digest of the secret is kept), named by its owner, and always
expires: ``API_TOKEN_DAYS`` unless asked otherwise, at most ``API_TOKEN_MAX_DAYS``, and never later
than the token that asked for it. ``account_access_end`` is what a password change or a
deactivation calls, however it happens (blueprint/accounts/signals.py).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from blueprint.accounts.models import TOKEN_NAME_MAX, ApiToken
from blueprint.services.broadcast import board_group_send
from decisioning.errors import Conflict, InvalidInput, NotFound

# Tokens a person may hold at once: the page lists them all, and each is a way in.
API_TOKENS_PER_PERSON = 100
# ``expires_in_days`` not given: API_TOKEN_DAYS (an explicit null is refused like any non-number)
DEFAULT_LIFETIME: Any = object()


def account_group_name(user_id: int) -> str:
    """The channel-layer group of a person's open board sockets (blueprint.live.consumer)."""
    return f"account-{user_id}"


def _token_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("Give the token a name that says where it is used.", field="name")
    name = name.strip()
    if len(name) > TOKEN_NAME_MAX:
        raise InvalidInput(f"A token's name is at most {TOKEN_NAME_MAX} characters.", field="name")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in name):
        raise InvalidInput("A token's name is one line of visible characters.", field="name")
    return name


def _token_days(days: Any, *, made_with: ApiToken | None, now: dt.datetime) -> dt.timedelta:
    most = settings.API_TOKEN_MAX_DAYS
    if days is DEFAULT_LIFETIME:
        days = settings.API_TOKEN_DAYS
    elif isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= most:
        raise InvalidInput(
            f"Expected a whole number of days from 1 to {most}; the default is {settings.API_TOKEN_DAYS}.",
            field="expires_in_days",
        )
    lifetime = dt.timedelta(days=days)
    if made_with is not None and made_with.expiry is not None and now + lifetime > made_with.expiry:
        left = (made_with.expiry - now).days
        raise InvalidInput(
            "A token cannot make one that outlives it: "
            + (
                f"this one ends in {left} day{'s' if left != 1 else ''}, so ask for at most {left}. "
                if left >= 1
                else "this one ends within a day. "
            )
            + "Log in with your password (auth/token/) or on the API tokens page for a longer one.",
            field="expires_in_days",
        )
    return lifetime


def api_token_check(*, name: Any, expires_in_days: Any = DEFAULT_LIFETIME) -> None:
    """Refuse, as ``api_token_create`` would, a name or lifetime it would refuse (400 naming the
    field): for a caller that must know before it does anything else (a log-in)."""
    _token_name(name)
    _token_days(expires_in_days, made_with=None, now=timezone.now())


def api_token_create(
    *, user: Any, name: Any, expires_in_days: Any = DEFAULT_LIFETIME, made_with: ApiToken | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its secret, which is shown this once and stored only as a digest.

    ``made_with``: the token the request came with, if any; the new one ends no later than it, so a
    stolen token cannot renew itself. Refuses (400, naming the field) a name that is empty, longer
    than ``TOKEN_NAME_MAX`` or not one line, and a lifetime outside 1..API_TOKEN_MAX_DAYS days;
    refuses (409) a person who holds ``API_TOKENS_PER_PERSON`` live tokens already. The person's
    expired tokens are deleted on the way."""
    now = timezone.now()
    clean_name = _token_name(name)
    lifetime = _token_days(expires_in_days, made_with=made_with, now=now)
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expiry__lte=now).delete()
        if ApiToken.objects.filter(user=user).count() >= API_TOKENS_PER_PERSON:
            raise Conflict(
                f"You hold {API_TOKENS_PER_PERSON} API tokens, the most one person may; "
                "revoke one you no longer use first.",
                field="tokens",
            )
        token, secret = ApiToken.objects.create(user=user, expiry=lifetime, name=clean_name)
    return token, secret


def api_token_revoke(*, user: Any, token_id: Any) -> ApiToken:
    """Delete one of ``user``'s tokens: it stops working at once. Anyone else's, or one that is gone,
    is a 404 (whether it exists is nobody else's business)."""
    if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 < token_id < 2**63:
        raise NotFound("No such token.", field="id")
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token; it may have been revoked already.", field="id")
    token.delete()
    return token


def account_access_end(*, user_id: int) -> int:
    """End everything that keeps a person in, other than a fresh log-in: delete all their API tokens
    now (in the caller's transaction) and, after commit, close their open board sockets, wherever
    they are served. Their sessions end by themselves: Django refuses a session whose password
    hash is not the account's, and an inactive account's. Returns the number of tokens ended."""
    count, _ = ApiToken.objects.filter(user_id=user_id).delete()
    transaction.on_commit(lambda: account_sockets_close(user_id=user_id))
    return count


def account_sockets_close(*, user_id: int, session_key: str | None = None) -> None:
    """Close a person's open board sockets (only those of ``session_key``, when given: a log-out
    ends one session, not the person's others). Call after commit."""
    board_group_send(
        account_group_name(user_id),
        {"type": "account.ended", "session_key": session_key},
        f"closing the sockets of user {user_id}",
    )


def api_token_touch(token: ApiToken, *, now: dt.datetime) -> None:
    """Note that ``token`` was used, at most once a minute (a write per request would cost more
    than the request)."""
    if token.last_used is None or now - token.last_used > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
