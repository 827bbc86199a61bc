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
from blueprint.models import (
    Approval,
    Attribute,
    Blueprint,
    Notification,
    Offer,
    Operation,
    Role,
    Stage,
    Version,
)
from blueprint.selectors import (
    Board,
    Card,
    Column,
    board_load,
    board_snapshot,
    sentences_for,
    version_get,
    version_live,
)
from blueprint.snapshots import SNAPSHOT_FORMAT, snapshot_hash
from decisioning.lint import LintReport, lint_blueprint
from decisioning.lru import LRU
from decisioning.model import spec_from_json, stage_mode_of

REVIEW_ROLES = frozenset({Role.OWNER, Role.APPROVER})

# --- The badge on the board ------------------------------------------------------------------------


@dataclass
class VersionBadge:
    """What the board shows of its versions: the live one, the one in review, and whether the draft
    has unpublished changes (``unpublished``, the one place that is decided)."""

    blueprint_id: int
    rev: int
    live: int | None
    in_review: int | None
    draft_hash: str
    live_hash: str | None
    in_review_hash: str | None
    has_content: bool  # the draft has a stage or an attribute

    @property
    def draft_is(self) -> int | None:
        """The version the draft is exactly: the one in review, else the live one (None if neither)."""
        if self.in_review is not None and self.draft_hash == self.in_review_hash:
            return self.in_review
        if self.live is not None and self.draft_hash == self.live_hash:
            return self.live
        return None

    @property
    def unpublished(self) -> bool:
        """The draft differs from the live version, or nothing is live and the board has content —
        unless the draft is exactly the version in review (it is published, awaiting approval).
        A rejected or superseded version is no measure: restoring the live version over a
        rejected one leaves nothing to publish."""
        if self.draft_is is not None:
            return False
        return self.live is not None or self.has_content


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
        Version.objects.filter(
            blueprint=blueprint, status__in=[Version.Status.APPROVED, Version.Status.IN_REVIEW]
        )
        .order_by("-number")
        .values_list("number", "status", "content_hash")
    )
    live = next(((n, h) for n, status, h in rows if status == Version.Status.APPROVED), None)
    in_review = next(((n, h) for n, status, h in rows if status == Version.Status.IN_REVIEW), None)
    if board is not None:
        has_content = bool(board.stages or board.attributes)
    else:
        has_content = (
            Stage.objects.filter(blueprint=blueprint).exists()
            or Attribute.objects.filter(blueprint=blueprint).exists()
        )
    return VersionBadge(
        blueprint_id=blueprint.pk,
        rev=blueprint.rev,
        live=live[0] if live else None,
        in_review=in_review[0] if in_review else None,
        draft_hash=draft_hash(blueprint, board),
        live_hash=live[1] if live else None,
        in_review_hash=in_review[1] if in_review else None,
        has_content=has_content,
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
        stage_mode=stage_mode_of(fields),
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
    rev: int | None = None  # the draft's rev it holds; None for nothing live yet


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


MOVES_READ = 2000  # the newest moves of the log read for a diff: enough to tell who was dragged


def moves_between(blueprint_id: int, one: int | None, other: int | None) -> set[str]:
    """The keys of the stages and offers people moved between two revs of the draft (either way
    round), from the operation log: the diff names them where a move reads either way
    (``diff.order_moves``)."""
    if one is None or other is None or one == other:
        return set()
    low, high = sorted((one, other))
    keys = (
        Operation.objects.filter(
            blueprint_id=blueprint_id, rev__gt=low, rev__lte=high, type__in=("stage.move", "offer.move")
        )
        .order_by("-rev")
        .values_list("payload__key", flat=True)[:MOVES_READ]
    )
    return {key for key in keys if isinstance(key, str)}


def comparison_base(blueprint: Blueprint, version: Version, against: str | int) -> DiffSide | None:
    """The side named by ``against`` ("live", "draft" or a version number); None when that version
    does not exist. With no live version, "live" is an empty blueprint: everything reads as new."""
    if against == "draft":
        snapshot = draft_snapshot(blueprint)
        return DiffSide("the draft", "draft", None, snapshot_hash(snapshot), snapshot, blueprint.rev)
    if against == "live":
        live = (
            Version.objects.filter(blueprint=blueprint, status=Version.Status.APPROVED)
            .order_by("-number")
            .first()
        )
        if live is None:
            return DiffSide("nothing live yet", "live", None, None, empty_snapshot(version.snapshot))
        return DiffSide(
            f"the live version {live.number}", "live", live.number, live.content_hash, live.snapshot, live.rev
        )
    other = version_get(blueprint.pk, int(against))
    if other is None:
        return None
    return DiffSide(
        f"version {other.number}",
        str(other.number),
        other.number,
        other.content_hash,
        other.snapshot,
        other.rev,
    )


def version_comparison(
    blueprint: Blueprint, version: Version, against: str | int
) -> VersionComparison | None:
    """Version ``version`` compared with ``against``: what it changes, read from the other side to it."""
    base = comparison_base(blueprint, version, against)
    if base is None:
        return None
    moved = moves_between(blueprint.pk, base.rev, version.rev)
    return VersionComparison(version, base, snapshot_diff(base.snapshot, version.snapshot, moved))


def draft_changes(blueprint: Blueprint) -> tuple[Version | None, SnapshotDiff]:
    """What the draft changes against the live version (everything, when nothing is live): what
    the badge's "Unpublished changes" means (``VersionBadge.unpublished``)."""
    live = version_live(blueprint.pk)
    draft = draft_snapshot(blueprint)
    before = live.snapshot if live is not None else empty_snapshot(draft)
    moved = moves_between(blueprint.pk, live.rev if live is not None else None, blueprint.rev)
    return live, snapshot_diff(before, draft, moved)


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
    """Every version, newest first, each with ``approved`` (how many approvals it has) and
    ``rejection`` (the ``Approval`` that rejected it, with its reviewer and comment, or None)."""
    versions = list(
        Version.objects.filter(blueprint_id=blueprint_id).select_related("author").order_by("-number")
    )
    counts: dict[int, int] = {}
    rejections: dict[int, Approval] = {}
    for approval in Approval.objects.filter(version__blueprint_id=blueprint_id).select_related("user"):
        if approval.decision == Approval.Decision.APPROVE:
            counts[approval.version_id] = counts.get(approval.version_id, 0) + 1
        else:
            rejections.setdefault(approval.version_id, approval)
    for version in versions:
        version.approved = counts.get(version.pk, 0)  # type: ignore[attr-defined]
        version.rejection = rejections.get(version.pk)  # type: ignore[attr-defined]
    return versions


# --- Notifications -----------------------------------------------------------------------------------

NOTIFICATIONS_SHOWN = 100


def _notifications(user: AbstractBaseUser | AnonymousUser) -> Any:
    """The user's notices about blueprints they are still a member of (someone removed from one
    no longer reads about it)."""
    user_id = cast(int, user.pk)
    return Notification.objects.filter(user_id=user_id, blueprint__memberships__user_id=user_id)


# A notice asking for a review, or counting a version's approvals, is done once the version was
# decided (approved, rejected or superseded): it is news no more, whether or not it was read.
DONE_WHEN_DECIDED = (Notification.Kind.REVIEW, Notification.Kind.APPROVAL)
DECIDED = (Version.Status.APPROVED, Version.Status.REJECTED, Version.Status.SUPERSEDED)


def notice_done(notice: Notification) -> bool:
    """Whether the notice's version was decided since (see ``DONE_WHEN_DECIDED``)."""
    return (
        notice.kind in DONE_WHEN_DECIDED and notice.version is not None and notice.version.status in DECIDED
    )


def notifications_for(
    user: AbstractBaseUser | AnonymousUser, *, limit: int = NOTIFICATIONS_SHOWN
) -> list[Notification]:
    """The newest notices first, at most ``limit``; each with ``done`` (``notice_done``)."""
    if not user.is_authenticated:
        return []
    notices = list(
        _notifications(user).select_related("blueprint", "version").order_by("-created_at", "-id")[:limit]
    )
    for notice in notices:
        notice.done = notice_done(notice)  # type: ignore[attr-defined]
    return notices


def unread_count(user: AbstractBaseUser | AnonymousUser) -> int:
    """The bell's count: notices unread and not done."""
    if not user.is_authenticated:
        return 0
    unread = _notifications(user).filter(read_at__isnull=True)
    return int(unread.exclude(kind__in=DONE_WHEN_DECIDED, version__status__in=DECIDED).count())
