"""Token authentication for the API: DRF's, with its one query compiled once per thread.

DRF's ``TokenAuthentication`` looks the key up with ``Token.objects.select_related("user").get(key=…)``
on every request; building and compiling that queryset is most of its cost (the query itself is
one indexed join). Here the same query is compiled by the ORM once per thread and database, and
each request only executes it with the key and turns the row into the token and its user with the
ORM's own column converters and ``Model.from_db`` — the same objects, the same checks (inactive
users refused) and the same messages, so nothing a caller sees changes.
"""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

_compiled = threading.local()  # per thread: alias → (connection, sql, converters, token fields, user fields)


def _lookup(model: Any, alias: str) -> tuple[Any, str, Any, Any, list[str], list[str]]:
    connection = connections[alias]
    cached = getattr(_compiled, alias, None)
    if cached is not None and cached[0] is connection:
        return cached
    user_model = get_user_model()
    queryset = model.objects.using(alias).select_related("user").filter(key="")
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if list(params) != [""]:  # the key must be the query's only parameter
        raise AssertionError(f"unexpected token query parameters: {params!r}")
    expressions = [column for column, _, _ in compiler.select]
    converters = compiler.get_converters(expressions)
    token_fields = [f.attname for f in model._meta.concrete_fields]
    user_fields = [f.attname for f in user_model._meta.concrete_fields]
    if len(expressions) != len(token_fields) + len(user_fields):
        raise AssertionError("unexpected columns in the token query")
    cached = (connection, sql, compiler, converters, token_fields, user_fields)
    setattr(_compiled, alias, cached)
    return cached


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        model = self.get_model()
        alias = router.db_for_read(model)
        connection, sql, compiler, converters, token_fields, user_fields = _lookup(model, alias)
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            rows = cursor.fetchall()
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        row = rows[0]
        token: Any = model.from_db(alias, token_fields, row[: len(token_fields)])
        user: Any = get_user_model().from_db(alias, user_fields, row[len(token_fields) :])
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)
