"""Reads about published versions: the board's version badge, a version as a read-only board, its
lint, its differences from another version or the draft, where its review stands, and members'
notifications. ``selectors.version_get``, ``version_live`` and ``versions_of`` are the basic reads
other modules code against; these build on them for the version pages and the API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from blueprint.diff import SnapshotDiff, snapshot_diff
from blueprint.models import Approval, Attribute, Blueprint, Notification, Offer, Role, Stage, Version
from blueprint.selectors import Board, Card, Column, board_load, board_snapshot, sentences_for, version_get
from blueprint.snapshots import SNAPSHOT_FORMAT, snapshot_hash
from decisioning.lint import LintReport, lint_blueprint
from decisioning.lru import LRU
from decisioning.model import spec_from_json

REVIEW_ROLES = frozenset({Role.OWNER, Role.APPROVER})

# --- The badge on the board ------------------------------------------------------------------------


@dataclass
class VersionBadge:
    """What the board shows of its versions: the live one, the newest in review, and whether the
    draft differs from the newest version (its snapshot hash is another)."""

    blueprint_id: int
    rev: int
    live: int | None
    in_review: int | None
    newest: int | None
    draft_hash: str
    newest_hash: str | None

    @property
    def unpublished(self) -> bool:
        """The draft has changes no version holds yet (or nothing was ever published)."""
        return self.draft_hash != self.newest_hash


# The draft's snapshot hash by (blueprint, created_at, rev): every change of the draft moves rev
# (the one edit path), so the hash of a rev never changes and each process computes it once — the
# badge is drawn on every board page and fetched by every open tab after an edit.
DRAFT_HASHES_KEPT = 512
_DRAFT_HASHES: LRU[tuple[int, float, int], str] = LRU(DRAFT_HASHES_KEPT)


def draft_hash(blueprint: Blueprint, board: Board | None = None) -> str:
    """The content hash the draft would have as a version, at ``blueprint.rev``; ``board`` is the
    board loaded with that blueprint row, if the caller has it (otherwise it is loaded on a miss)."""
    key = (blueprint.pk, blueprint.created_at.timestamp(), blueprint.rev)
    return _DRAFT_HASHES.get_or_make(
        key, lambda: snapshot_hash(board_snapshot(board if board is not None else board_load(blueprint)))
    )


def version_badge(board: Board) -> VersionBadge:
    """The badge for a loaded board (two small queries, and the draft's hash once per rev)."""
    return _badge(board.blueprint, board)


def version_badge_of(blueprint: Blueprint) -> VersionBadge:
    """The badge for a blueprint row: the board is loaded only if its rev's hash is not known yet."""
    return _badge(blueprint, None)


def _badge(blueprint: Blueprint, board: Board | None) -> VersionBadge:
    rows = list(
        Version.objects.filter(blueprint=blueprint)
        .exclude(status__in=[Version.Status.REJECTED, Version.Status.SUPERSEDED])
        .order_by("-number")
        .values_list("number", "status")
    )
    newest = (
        Version.objects.filter(blueprint=blueprint)
        .order_by("-number")
        .values_list("number", "content_hash")
        .first()
    )
    return VersionBadge(
        blueprint_id=blueprint.pk,
        rev=blueprint.rev,
        live=next((n for n, status in rows if status == Version.Status.APPROVED), None),
        in_review=next((n for n, status in rows if status == Version.Status.IN_REVIEW), None),
        newest=newest[0] if newest else None,
        draft_hash=draft_hash(blueprint, board),
        newest_hash=newest[1] if newest else None,
    )


# --- A version as a board ---------------------------------------------------------------------------


def snapshot_board(snapshot: dict[str, Any], *, blueprint_id: int | None = None) -> Board:
    """A snapshot as a ``Board`` of unsaved objects, so the board's own partials draw it read-only
    (nothing here is ever saved: the objects have no primary keys)."""
    fields = snapshot.get("blueprint") or {}
    blueprint = Blueprint(
        pk=blueprint_id,
        name=fields.get("name", ""),
        context=fields.get("context", ""),
        channels=list(fields.get("channels") or []),
        description=fields.get("description", ""),
    )
    attributes = [
        Attribute(
            key=a["key"],
            label=a.get("label") or a["key"],
            kind=a.get("kind") or "attribute",
            type=a.get("type") or "text",
            choices=list(a.get("choices") or []),
            unit=a.get("unit") or "",
            description=a.get("description") or "",
            source=a.get("source") or "",
        )
        for a in snapshot.get("attributes") or []
    ]
    catalog = {a.key: a.spec() for a in attributes}
    columns = []
    for raw_stage in snapshot.get("stages") or []:
        stage = Stage(
            key=raw_stage["key"],
            name=raw_stage.get("name") or raw_stage["key"],
            description=raw_stage.get("description") or "",
            entry=list(raw_stage.get("entry") or []),
        )
        column = Column(stage=stage, entry_sentences=sentences_for(stage.entry, catalog))
        for raw_offer in raw_stage.get("offers") or []:
            offer = Offer(
                key=raw_offer["key"],
                name=raw_offer.get("name") or raw_offer["key"],
                description=raw_offer.get("description") or "",
                channel=raw_offer.get("channel") or "",
                fallback=bool(raw_offer.get("fallback")),
                groups=list(raw_offer.get("groups") or []),
                content_ref=raw_offer.get("content_ref") or "",
                starts_on=raw_offer.get("starts_on") or "",
                ends_on=raw_offer.get("ends_on") or "",
                tags=list(raw_offer.get("tags") or []),
            )
            offer.stage = stage
            column.offers.append(Card(offer=offer, sentences=sentences_for(offer.groups, catalog)))
        columns.append(column)
    return Board(blueprint=blueprint, attributes=attributes, catalog=catalog, stages=columns)


def snapshot_lint(snapshot: dict[str, Any], *, at: dt.date | None = None) -> LintReport:
    """The lint of a version's content, for decision day ``at`` (default: today, as the board's)."""
    return lint_blueprint(spec_from_json(snapshot), at=at or timezone.localdate())


def draft_snapshot(blueprint: Blueprint) -> dict[str, Any]:
    return board_snapshot(board_load(blueprint))


# --- Differences ------------------------------------------------------------------------------------


@dataclass
class DiffSide:
    """One side of a comparison: a version, the live one, the draft, or nothing (no live version)."""

    label: str  # "version 3", "the live version 2", "the draft", "nothing live yet"
    against: str  # how the API names it: "live", "draft" or the number
    number: int | None
    content_hash: str | None
    snapshot: dict[str, Any]


@dataclass
class VersionComparison:
    version: Version
    base: DiffSide  # what the version is compared with: the diff reads from base to version
    diff: SnapshotDiff


def empty_snapshot(like: dict[str, Any]) -> dict[str, Any]:
    """A blueprint with nothing on it (what is live before any version is approved), with the same
    name and fields as ``like`` so that only the content reads as new."""
    return {
        "format": SNAPSHOT_FORMAT,
        "blueprint": dict(like.get("blueprint") or {}),
        "attributes": [],
        "stages": [],
    }


def comparison_base(blueprint: Blueprint, version: Version, against: str | int) -> DiffSide | None:
    """The side named by ``against`` ("live", "draft" or a version number); None when that version
    does not exist. With no live version, "live" is an empty blueprint: everything reads as new."""
    if against == "draft":
        snapshot = draft_snapshot(blueprint)
        return DiffSide("the draft", "draft", None, snapshot_hash(snapshot), snapshot)
    if against == "live":
        live = (
            Version.objects.filter(blueprint=blueprint, status=Version.Status.APPROVED)
            .order_by("-number")
            .first()
        )
        if live is None:
            return DiffSide("nothing live yet", "live", None, None, empty_snapshot(version.snapshot))
        return DiffSide(
            f"the live version {live.number}", "live", live.number, live.content_hash, live.snapshot
        )
    other = version_get(blueprint.pk, int(against))
    if other is None:
        return None
    return DiffSide(
        f"version {other.number}", str(other.number), other.number, other.content_hash, other.snapshot
    )


def version_comparison(
    blueprint: Blueprint, version: Version, against: str | int
) -> VersionComparison | None:
    """Version ``version`` compared with ``against``: what it changes, read from the other side to it."""
    base = comparison_base(blueprint, version, against)
    if base is None:
        return None
    return VersionComparison(version, base, snapshot_diff(base.snapshot, version.snapshot))


def draft_changes(blueprint: Blueprint) -> tuple[Version | None, SnapshotDiff]:
    """What the draft changes against the newest version (everything, when none was published)."""
    newest = Version.objects.filter(blueprint=blueprint).order_by("-number").first()
    draft = draft_snapshot(blueprint)
    before = newest.snapshot if newest is not None else empty_snapshot(draft)
    return newest, snapshot_diff(before, draft)


# --- Where a review stands ---------------------------------------------------------------------------


@dataclass
class ReviewState:
    approvals: list[Approval]
    approved: int  # approvals so far
    needed: int
    mine: Approval | None  # the viewer's own decision
    can_decide: bool
    why_not: str  # for a viewer who cannot decide, why (empty when they can)


def review_state(version: Version, user: AbstractBaseUser | AnonymousUser, role: str | None) -> ReviewState:
    approvals = list(
        Approval.objects.filter(version=version).select_related("user").order_by("created_at", "id")
    )
    mine = next((a for a in approvals if a.user_id == user.pk), None)
    approved = sum(1 for a in approvals if a.decision == Approval.Decision.APPROVE)
    if version.status != Version.Status.IN_REVIEW:
        why = f"This version is {version.get_status_display().lower()}; its review is over."
    elif version.author_id is not None and version.author_id == user.pk:
        why = "You published this version: someone else approves it (four eyes)."
    elif role not in REVIEW_ROLES:
        why = f"Your role is {role}: approvers and owners approve or reject versions."
    elif mine is not None:
        why = f"You have {mine.get_decision_display().lower()} this version."
    else:
        why = ""
    return ReviewState(approvals, approved, version.approvals_needed, mine, can_decide=not why, why_not=why)


def versions_with_approvals(blueprint_id: int) -> list[Version]:
    """Every version, newest first, each with ``approved`` (how many approvals it has)."""
    versions = list(
        Version.objects.filter(blueprint_id=blueprint_id).select_related("author").order_by("-number")
    )
    counts: dict[int, int] = {}
    for version_id in Approval.objects.filter(
        version__blueprint_id=blueprint_id, decision=Approval.Decision.APPROVE
    ).values_list("version_id", flat=True):
        counts[version_id] = counts.get(version_id, 0) + 1
    for version in versions:
        version.approved = counts.get(version.pk, 0)  # type: ignore[attr-defined]
    return versions


# --- Notifications -----------------------------------------------------------------------------------

NOTIFICATIONS_SHOWN = 100


def _notifications(user: AbstractBaseUser | AnonymousUser) -> Any:
    """The user's notices about blueprints they are still a member of (someone removed from one
    no longer reads about it)."""
    user_id = cast(int, user.pk)
    return Notification.objects.filter(user_id=user_id, blueprint__memberships__user_id=user_id)


def notifications_for(
    user: AbstractBaseUser | AnonymousUser, *, limit: int = NOTIFICATIONS_SHOWN
) -> list[Notification]:
    """The newest notices first, at most ``limit``."""
    if not user.is_authenticated:
        return []
    return list(_notifications(user).select_related("blueprint").order_by("-created_at", "-id")[:limit])


def unread_count(user: AbstractBaseUser | AnonymousUser) -> int:
    if not user.is_authenticated:
        return 0
    return int(_notifications(user).filter(read_at__isnull=True).count())
