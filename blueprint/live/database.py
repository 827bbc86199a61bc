"""The live board's database calls: who is asking (the session still signed in, the role on the
board) and the edits and renders a socket asks for, each run on the database thread
(``blueprint.live.board_thread``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from blueprint.live.board_thread import editing, rendering
from blueprint.live.frames import version_text
from blueprint.live.render import (
    board_reset_frame,
    sync_frame,
)
from blueprint.models import Blueprint
from blueprint.services.access import member_blueprint
from blueprint.services.operations import (
    operation_apply,
)
from blueprint.services.undo import undo_step
from decisioning.errors import BlueprintError, NotFound

# --- Database calls (sync, run in the database thread) ----------------------------------------


def _role_and_rev(user: Any, blueprint_id: int) -> tuple[str | None, int]:
    """The user's role on the blueprint and its rev; (None, 0) for a non-member (one query)."""
    try:
        blueprint = member_blueprint(user, blueprint_id)
    except NotFound:
        return None, 0
    return blueprint.role, blueprint.rev  # type: ignore[attr-defined]


def _role(user: Any, blueprint_id: int) -> str | None:
    return _role_and_rev(user, blueprint_id)[0]


def _rev(blueprint_id: int) -> int | None:
    return Blueprint.objects.filter(pk=blueprint_id).values_list("rev", flat=True).first()


def signed_in(user_id: int, session_key: str | None) -> bool:
    """Whether the tab's session still signs this user in, as a page request would find: not
    logged out or expired, the password not changed since (the session's auth hash), the account
    still there and active. A socket outlives the request that opened it, so it asks again, with
    every operation, on the database thread where every tab's edits queue.

    With database sessions this is one joined query (``_session_query``) and the session is
    decoded once per content, rather than Django's ``SessionStore(key).load()`` and a user read
    (``signed_in_by_store``, used for every other session engine): bench/session.py measures the
    two, and the store costs many times the query (bench/history.md). The rules are Django's own:
    the same session table, auth hash and ``is_active``."""
    if not session_key:
        return False
    if settings.SESSION_ENGINE != DATABASE_SESSIONS:
        return signed_in_by_store(user_id, session_key)
    alias = router.db_for_read(Session) or "default"
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(
            _session_query(alias),
            [session_key, connection.ops.adapt_datetimefield_value(timezone.now()), user_id, True],
        )
        row = cursor.fetchone()
    return row is not None and row[0] is not None and _session_holds(row[0], user_id, row[1])


DATABASE_SESSIONS = "django.contrib.sessions.backends.db"


@functools.cache
def _session_query(alias: str) -> str:
    """The session's data (NULL when there is no such live session) and the password of the user,
    when they exist and are active: the two rows a page request reads to know who is signed in.
    One per database alias (its quoting), not per connection: a connection is per thread."""
    q: Any = connections[alias].ops.quote_name
    users = get_user_model()._meta
    sessions = Session._meta
    column = {f.name: q(f.column) for f in [*users.concrete_fields, *sessions.concrete_fields]}
    return (
        f"SELECT s.{column['session_data']}, u.{column['password']} FROM {q(users.db_table)} u "
        f"LEFT JOIN {q(sessions.db_table)} s ON s.{column['session_key']} = %s AND s.{column['expire_date']} > %s "
        f"WHERE u.{q(users.pk.column)} = %s AND u.{column['is_active']} = %s"
    )


@functools.lru_cache(maxsize=4096)
def _session_holds(session_data: str, user_id: int, password: str) -> bool:
    """Whether a session's stored data signs ``user_id`` in while their password is ``password``
    (the auth hash of the session is the password's, keyed with the secret). Pure: cached."""
    data = import_module(DATABASE_SESSIONS).SessionStore().decode(session_data)
    if str(data.get(SESSION_KEY)) != str(user_id):
        return False
    stored = data.get(HASH_SESSION_KEY)
    user = get_user_model()(pk=user_id, password=password)
    return bool(stored) and constant_time_compare(stored, user.get_session_auth_hash())


def signed_in_by_store(user_id: int, session_key: str) -> bool:
    """``signed_in`` through the configured session engine's own store (not database sessions)."""
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if str(data.get(SESSION_KEY)) != str(user_id):
        return False
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    stored = data.get(HASH_SESSION_KEY)
    return user is not None and bool(stored) and constant_time_compare(stored, user.get_session_auth_hash())


def _access(user: Any, session_key: str | None, blueprint_id: int) -> tuple[bool, str | None]:
    """(still signed in, role on the blueprint)."""
    if not signed_in(user.pk, session_key):
        return False, None
    return True, _role(user, blueprint_id)


@dataclass
class Attempt:
    """An operation tried for a tab: its access as re-read, and the record or the refusal."""

    signed_in: bool
    role: str | None
    record: Any = None
    refusal: BlueprintError | None = None


def _apply_as_member(user: Any, session_key: str | None, blueprint_id: int, **operation: Any) -> Attempt:
    """The tab's session re-read and, while it holds, the operation applied: one trip to the
    database thread, where the edits of every tab queue. The service checks the role, under the
    board's lock; only a refusal re-reads it here, to tell a refused edit from a member removed
    or given another role (``role`` is None after an applied operation: an editing role)."""
    if not signed_in(user.pk, session_key):
        return Attempt(False, None)
    try:
        return Attempt(True, None, record=operation_apply(blueprint_id=blueprint_id, actor=user, **operation))
    except BlueprintError as exc:
        return Attempt(True, _role(user, blueprint_id), refusal=exc)


access_async = editing(_access)
apply_as_member_async = editing(_apply_as_member)
rev_async = editing(_rev)
role_and_rev_async = editing(_role_and_rev)
sync_frame_async = rendering(sync_frame)
board_reset_frame_async = rendering(board_reset_frame)
undo_step_async = editing(undo_step)
version_text_async = rendering(version_text)
