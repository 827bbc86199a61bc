"""Token authentication for the API: django-rest-knox's, in one indexed query.

``Authorization: Token <secret>``. Knox stores a SHA-512 digest of each secret and its first
characters (``token_key``, indexed) to find it by; its own class also loads every other token of
the person on every request to delete the expired ones. Here one query, written once
(``tokens_by_key``), finds the token and its user by ``token_key``; the digest is compared in constant time; an expired token, or an inactive
person's, is refused. When the token was last used is written at most once a minute.
"""

from __future__ import annotations

import binascii
import functools
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models.expressions import Col
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
        for found in tokens_by_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
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


def tokens_by_key(key: str) -> list[ApiToken]:
    """The tokens whose secret starts with ``key``, each with its person loaded: one indexed query
    whose SQL and value converters are made once per database (building the query with the ORM on
    every request was a large part of a decide's time: bench/decide.py)."""
    connection = connections[ApiToken.objects.db]
    sql, converters = _token_query(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        rows = cursor.fetchall()
    split = len(_TOKEN_FIELDS)
    found = []
    for raw in rows:
        row = list(raw)
        for index, expression, functions in converters:
            for convert in functions:
                row[index] = convert(row[index], expression, connection)
        token = ApiToken.from_db(connection.alias, _TOKEN_FIELDS, row[:split])
        token.user = _USER.from_db(connection.alias, _USER_FIELDS, row[split:])
        found.append(token)
    return found


_USER: Any = get_user_model()
_TOKEN_FIELDS = [f.attname for f in ApiToken._meta.concrete_fields]
_USER_FIELDS = [f.attname for f in _USER._meta.concrete_fields]


@functools.cache
def _token_query(alias: str) -> tuple[str, list[tuple[int, Col, list[Any]]]]:
    """The SQL, and per column the converters the ORM would apply (the database's, then the
    field's: SQLite's text dates become aware datetimes, as a queryset would give them)."""
    connection = connections[alias]
    name = connection.ops.quote_name
    fields = [("t", f) for f in ApiToken._meta.concrete_fields] + [
        ("u", f) for f in _USER._meta.concrete_fields
    ]
    converters = []
    for index, (table, field) in enumerate(fields):
        expression = Col(table, field)
        functions = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
        if functions:
            converters.append((index, expression, functions))
    user_id = ApiToken._meta.get_field("user").column
    sql = (
        f"SELECT {', '.join(f'{table}.{name(field.column)}' for table, field in fields)} "
        f"FROM {name(ApiToken._meta.db_table)} t "
        f"JOIN {name(_USER._meta.db_table)} u ON u.{name(_USER._meta.pk.column)} = t.{name(user_id)} "
        f"WHERE t.{name(ApiToken._meta.get_field('token_key').column)} = %s"
    )
    return sql, converters


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme (drf-spectacular): the name DRF's token scheme had."""

    target_class = "blueprint.api.auth.TokenAuthentication"
    name = "tokenAuth"
