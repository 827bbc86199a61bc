"""Token authentication for the API: django-rest-knox's, in one indexed query.

``Authorization: Token <secret>``. Knox stores a SHA-512 digest of each secret and its first
characters (``token_key``, indexed) to find it by; its own class also loads every other token of
the person on every request to delete the expired ones. Here one query finds the token and its
user by ``token_key``; the digest is compared in constant time; an expired token, or an inactive
person's, is refused. When the token was last used is written at most once a minute.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from blueprint.accounts.models import ApiToken
from blueprint.services.accounts import api_token_touch


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate_credentials(self, token: bytes | str) -> tuple[Any, ApiToken]:
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        try:
            digest = hash_token(token)
        except (TypeError, ValueError, binascii.Error):
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        now = timezone.now()
        for found in ApiToken.objects.select_related("user").filter(
            token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]
        ):
            if not compare_digest(digest, found.digest):
                continue
            if found.expiry is not None and found.expiry <= now:
                raise exceptions.AuthenticationFailed(
                    _("This token expired; make a new one (auth/token/ or the API tokens page).")
                )
            if not found.user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            api_token_touch(found, now=now)
            return found.user, found
        raise exceptions.AuthenticationFailed(_("Invalid token."))


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme (drf-spectacular): the name DRF's token scheme had."""

    target_class = "blueprint.api.auth.TokenAuthentication"
    name = "tokenAuth"
