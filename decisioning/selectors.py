"""Reads for decisioning: which version a request decides with, compiled and cached.

- ``version`` absent (or "live"): the live version, the newest approved (``selectors.version_live``);
  409 naming ``version`` when there is none;
- a number: that published version, whatever its status (any member); 404 naming ``version``;
- "draft": the board as it is now (owners and editors only, 403 otherwise).

A version is compiled once per (blueprint, number, content hash), the draft once per (blueprint,
rev); the snapshot itself is only read from the database on a miss.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from blueprint.models import EDIT_ROLES, Blueprint, Membership, Version
from blueprint.selectors import board_load, board_snapshot, versions_of
from decisioning.engine import CompiledVersion, compile_snapshot, compiled_for
from decisioning.errors import Conflict, Forbidden, InvalidInput, NotFound
from decisioning.limits import LIMITS
from decisioning.profiles import DATE_FORM

DRAFT = "draft"
LIVE = "live"
VERSION_HELP = 'Expected a version number (1, 2, …), "draft" (owners and editors) or "live" (the default).'
# What the OpenAPI schema says too (decisioning.api): a number as JSON or as text, "live" or "draft"
VERSION_MAX = 2_147_483_647
VERSION_TEXT = re.compile(r"live|draft|[1-9][0-9]{0,8}")


def version_choice(raw: Any) -> int | str:
    """A ``version`` as given in a body or query: a number, "draft" or "live" (None: live); 400
    naming it otherwise, an empty text included."""
    if raw is None or raw == LIVE:
        return LIVE
    if raw == DRAFT:
        return DRAFT
    if isinstance(raw, bool):
        raise InvalidInput(VERSION_HELP, field="version")
    if isinstance(raw, int) and 1 <= raw <= VERSION_MAX:
        return raw
    if isinstance(raw, str) and VERSION_TEXT.fullmatch(raw):
        return int(raw)
    raise InvalidInput(VERSION_HELP, field="version")


def decision_version(blueprint: Blueprint, choice: int | str) -> CompiledVersion:
    """The compiled version ``choice`` of a blueprint the caller is a member of (``blueprint.role``)."""
    if choice == DRAFT:
        if blueprint.role not in EDIT_ROLES:  # type: ignore[attr-defined]
            raise Forbidden(
                "Only owners and editors may decide with the draft; ask for a published version.",
                field="version",
            )
        return compiled_for(
            # created_at too: a deleted blueprint's id may be taken again, its rev counted from 1
            ("draft", blueprint.pk, blueprint.created_at.timestamp(), blueprint.rev),
            lambda: compile_snapshot(
                board_snapshot(board_load(blueprint)), {"draft": True, "rev": blueprint.rev}
            ),
        )
    versions = Version.objects.filter(blueprint_id=blueprint.pk).defer("snapshot")
    if choice == LIVE:
        # selectors.version_live without reading the snapshot: the newest approved version
        found = versions.filter(status=Version.Status.APPROVED).order_by("-number").first()
        if found is None:
            raise Conflict(
                "This blueprint has no live version yet: approve a published version, or name one "
                '("version": 2) or the draft ("version": "draft").',
                field="version",
            )
    else:
        found = versions.filter(number=choice).first()
        if found is None:
            raise NotFound(f"There is no version {choice} of this blueprint.", field="version")
    version = found
    return compiled_for(
        ("version", blueprint.pk, version.number, version.content_hash),
        lambda: compile_snapshot(
            Version.objects.values_list("snapshot", flat=True).get(pk=version.pk),
            {"number": version.number},
        ),
    )


# The decision days accepted: within_last_days reaches at most 100 years (36,500 days) back and a
# date-time moves at most a day into the server's time zone, so every date computed from them stays
# far inside what Python, DuckDB and PostgreSQL can hold. The range is of the day as written.
AT_MIN = dt.date(1900, 1, 1)
AT_MAX = dt.date(2999, 12, 31)
AT_RANGE = f"from {AT_MIN.isoformat()} to {AT_MAX.isoformat()}"
DAY_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAY_HELP = f"Expected a day as YYYY-MM-DD ({AT_RANGE}), e.g. 2025-06-30."
MOMENT_HELP = f"Expected a day as YYYY-MM-DD or an ISO date-time such as 2025-06-30T14:05:00Z ({AT_RANGE})."
# The same, as the OpenAPI schema says it: every day of the range but 29 February (a regular
# expression that knows leap years is not worth reading), then an optional time and offset, the
# forms of DATE_FORM (``decisioning.engine``). tests/decisioning/test_input.py holds every text it
# matches to being accepted.
_SCHEMA_DAY = (
    r"(?:19[0-9]{2}|2[0-9]{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_SCHEMA_TIME = (
    r"(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
DAY_PATTERN = f"^{_SCHEMA_DAY}$"
MOMENT_PATTERN = f"^{_SCHEMA_DAY}{_SCHEMA_TIME}$"


def decision_day(raw: Any, *, field: str = "at") -> dt.date:
    """``at`` as given: a day (YYYY-MM-DD) or an ISO date-time (its day in the server's time zone)
    in the forms of profile dates (``engine.DATE_FORM``), written within ``AT_MIN``..``AT_MAX``;
    absent (None): today in the server's time zone. 400 naming the field otherwise, an empty text
    included."""
    if raw is None:
        return timezone.localdate()
    if not isinstance(raw, str) or DATE_FORM.fullmatch(raw) is None:
        shown = f" Got '{raw[:40]}'." if isinstance(raw, str) and raw else ""
        raise InvalidInput(MOMENT_HELP + shown, field=field)
    try:
        day = dt.date.fromisoformat(raw[:10])
        moment = dt.datetime.fromisoformat(raw) if len(raw) > 10 else None
    except ValueError:
        raise InvalidInput(f"{MOMENT_HELP} Got '{raw}'.", field=field) from None
    _in_range(day, field, MOMENT_HELP)
    if moment is None or timezone.is_naive(moment):
        return day
    return timezone.localtime(moment).date()


def query_day(raw: str | None, *, field: str = "at") -> dt.date | None:
    """A day given as YYYY-MM-DD in a query, within ``AT_MIN``..``AT_MAX``; None when absent; 400
    naming the field otherwise, an empty value included."""
    if raw is None:
        return None
    if not DAY_FORM.fullmatch(raw):
        raise InvalidInput(DAY_HELP, field=field)
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"No such day: {raw}. {DAY_HELP}", field=field) from None
    return _in_range(day, field, DAY_HELP)


def _in_range(day: dt.date, field: str, help_text: str) -> dt.date:
    if not AT_MIN <= day <= AT_MAX:
        raise InvalidInput(f"{help_text} Got {day.isoformat()}.", field=field)
    return day


def version_options(blueprint: Blueprint) -> list[dict[str, Any]]:
    """What the pages offer to choose from: live (when there is one), every published version and,
    for editors, the draft."""
    versions = versions_of(blueprint.pk)
    options: list[dict[str, Any]] = []
    live = next((v for v in versions if v.status == Version.Status.APPROVED), None)
    if live is not None:
        options.append({"value": LIVE, "label": f"Live (version {live.number})"})
    for v in versions:
        options.append({"value": str(v.number), "label": f"Version {v.number} · {v.get_status_display()}"})
    if blueprint.role in EDIT_ROLES:  # type: ignore[attr-defined]
        options.append({"value": DRAFT, "label": f"Draft (rev {blueprint.rev})"})
    return options


def version_label(version: dict[str, Any]) -> str:
    if version.get("draft"):
        return f"the draft (rev {version.get('rev')})"
    return f"version {version.get('number')}"


def decision_target(user: Any, blueprint_id: int, raw_version: Any) -> CompiledVersion:
    """What ``POST decide/`` decides with, in one query on the common path (the compiled version
    cached): the caller's role on the blueprint, its rev, and the version asked for (the live one
    by default). The same answers and refusals as ``member_blueprint`` + ``decision_version``: 404
    naming ``blueprint`` for a non-member, then 403/404/409 naming ``version``.

    Raw SQL because building three ORM queries costs more than the decision itself, many times
    over, on the API's busiest path.
    """
    choice = version_choice(raw_version)
    if not getattr(user, "is_authenticated", False):
        raise NotFound("No such blueprint.", field="blueprint")
    blueprints, memberships = Blueprint._meta.db_table, Membership._meta.db_table
    versions = Version._meta.db_table
    params: list[Any]
    if choice == LIVE:
        wanted, params = "v.status = %s ORDER BY v.number DESC", [str(Version.Status.APPROVED)]
    elif choice == DRAFT:
        wanted, params = "1 = 0", []
    else:
        wanted, params = "v.number = %s", [choice]
    # table names come from the models, values go as parameters
    sql = (
        f"SELECT b.id, b.rev, b.created_at, m.role, "
        f"(SELECT v.number FROM {versions} v WHERE v.blueprint_id = b.id AND {wanted} LIMIT 1), "
        f"(SELECT v.content_hash FROM {versions} v WHERE v.blueprint_id = b.id AND {wanted} LIMIT 1) "
        f"FROM {blueprints} b JOIN {memberships} m ON m.blueprint_id = b.id AND m.user_id = %s WHERE b.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *params, user.pk, blueprint_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such blueprint.", field="blueprint")
    pk, rev, created_at, role, number, content_hash = row
    if choice == DRAFT:
        if role not in EDIT_ROLES:
            raise Forbidden(
                "Only owners and editors may decide with the draft; ask for a published version.",
                field="version",
            )

        def load_draft() -> CompiledVersion:
            blueprint = Blueprint.objects.get(pk=pk)
            return compile_snapshot(
                board_snapshot(board_load(blueprint)), {"draft": True, "rev": blueprint.rev}
            )

        # created_at too: a deleted blueprint's id may be taken again, its rev counted from 1
        return compiled_for(("draft", pk, str(created_at), rev), load_draft)
    if number is None:
        if choice == LIVE:
            raise Conflict(
                "This blueprint has no live version yet: approve a published version, or name one "
                '("version": 2) or the draft ("version": "draft").',
                field="version",
            )
        raise NotFound(f"There is no version {choice} of this blueprint.", field="version")
    return compiled_for(
        ("version", pk, number, content_hash),
        lambda: compile_snapshot(
            Version.objects.values_list("snapshot", flat=True).get(blueprint_id=pk, number=number),
            {"number": number},
        ),
    )


def batch_max_bytes() -> int:
    """The largest CSV or Parquet body a batch or coverage request may send (the limit
    ``batch_body_bytes``, 64 MiB; the setting ``DECIDE_BATCH_MAX_BYTES`` holds it)."""
    return int(getattr(settings, "DECIDE_BATCH_MAX_BYTES", LIMITS.batch_body_bytes))
