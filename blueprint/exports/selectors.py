"""Reads for the exports: which content a request means, as an ``ExportSubject``.

``version`` absent → the live version if there is one, otherwise the draft; ``"draft"`` → the
board as it is now; a number → that version (404 naming ``version`` when there is none).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from blueprint.exports.subject import ExportSubject, version_label
from blueprint.models import Blueprint, Version
from blueprint.selectors import board_load, board_snapshot, version_get, version_live, versions_of
from blueprint.snapshots import snapshot_hash
from decisioning.errors import InvalidInput, NotFound

VERSION_HELP = "Expected a version number (1, 2, …) or 'draft'; leave it out for the live version."


def version_block(version: Version) -> dict[str, Any]:
    """What an export says of a published version. ``approvals`` stays empty until the approvals
    model lands (issue 5); ``spec.spec_version_block`` is the one place that shows it."""
    return {
        "number": version.number,
        "status": version.status,
        "hash": version.content_hash,
        "rev": version.rev,
        "note": version.note,
        "author": version.author.get_username() if version.author is not None else None,
        "created_at": version.created_at.isoformat(timespec="seconds") if version.created_at else None,
        "decided_at": version.decided_at.isoformat(timespec="seconds") if version.decided_at else None,
        "approvals": [],
    }


def parse_version(raw: Any) -> int | str | None:
    """The ``version`` parameter: None (absent), "draft", or a version number; 400 otherwise."""
    if raw is None or raw == "":
        return None
    if raw == "draft":
        return "draft"
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1:
        return int(raw)
    raise InvalidInput(VERSION_HELP, field="version")


def export_subject(
    blueprint: Blueprint, *, version: int | str | None = None, at: dt.date | None = None
) -> ExportSubject:
    """The content ``version`` names (see the module docstring), for decision day ``at`` (default:
    today in the server's time zone)."""
    day = at or timezone.localdate()
    chosen: Version | None
    if version == "draft":
        chosen = None
    elif version is None:
        chosen = version_live(blueprint.pk)
    else:
        chosen = version_get(blueprint.pk, int(version))
        if chosen is None:
            raise NotFound(f"This blueprint has no version {version}.", field="version")
    if chosen is None:
        snapshot = board_snapshot(board_load(blueprint))
        block: dict[str, Any] = {
            "number": None,
            "status": "draft",
            "hash": snapshot_hash(snapshot),
            "rev": blueprint.rev,
        }
        return ExportSubject(snapshot=snapshot, version=block, at=day)
    return ExportSubject(snapshot=chosen.snapshot, version=version_block(chosen), at=day)


def export_choices(blueprint: Blueprint) -> list[tuple[str, str]]:
    """What the pages offer to export: the draft, then every version, newest first."""
    choices = [("draft", f"Draft — rev {blueprint.rev}")]
    choices += [
        (str(v.number), version_label({"number": v.number, "status": v.status}))
        for v in versions_of(blueprint.pk)
    ]
    return choices
