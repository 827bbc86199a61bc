"""Telling members about versions: an in-app notice (``Notification``) and an e-mail through Django's
mail settings (``EMAIL_BACKEND`` and the rest), for a version that awaits their review or was decided.

The notices are written in the caller's transaction, so they exist exactly when the decision
does; the e-mails go after commit, and a mail server that fails is logged, never raised: a
committed decision stands whether or not the mail got out.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from blueprint.models import Blueprint, Notification, Version

logger = logging.getLogger(__name__)

SUBJECT_CAP = 200
# the bidirectional controls, which make a line read in another order than it is written
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def mail_header(text: str, *, cap: int = SUBJECT_CAP) -> str:
    """A header value (the subject) of people's words: one line — any line break or run of white
    space one space; any other control, lone surrogate or direction mark left out — of at most
    ``cap`` characters. (Django refuses a header with a line break, which would fail the send.)"""
    shown = "".join(
        ch
        for ch in text
        if ch.isspace() or (ch not in _BIDI and unicodedata.category(ch) not in ("Cc", "Cs"))
    )
    one_line = " ".join(shown.split())
    return one_line if len(one_line) <= cap else one_line[: cap - 1].rstrip() + "…"


def site_url() -> str:
    """Where the app is, for links in e-mails: ``SITE_URL`` if set, else the first of
    ``CSRF_TRUSTED_ORIGINS`` (a production deployment sets it); empty gives site-relative links."""
    configured = getattr(settings, "SITE_URL", "") or next(iter(settings.CSRF_TRUSTED_ORIGINS), "")
    return str(configured).rstrip("/")


def notify(
    *,
    users: Iterable[Any],
    blueprint: Blueprint,
    version: Version,
    kind: str,
    message: str,
    url: str,
    subject: str,
    details: Sequence[str] = (),
) -> list[Notification]:
    """A notice for each user (each once), and after commit an e-mail to those with an address.

    ``message`` is the notice's sentence; the e-mail says it too, with ``details`` (a note, a
    comment) and the link. The caller holds the transaction that makes the decision."""
    recipients = list({user.pk: user for user in users if user is not None}.values())
    notices = Notification.objects.bulk_create(
        [
            Notification(
                user=user, blueprint=blueprint, version=version, kind=kind, message=message[:300], url=url
            )
            for user in recipients
        ]
    )
    mails = [
        EmailMessage(
            subject=mail_header(f"[Blueprint] {subject}"),
            body=render_to_string(
                "blueprint/notification_email.txt",
                {
                    "user": user,
                    "message": message,
                    "details": details,
                    "link": site_url() + url,
                    "blueprint": blueprint,
                },
            ),
            to=[user.email],
        )
        for user in recipients
        if getattr(user, "email", "")
    ]
    if mails:
        transaction.on_commit(lambda: _send(mails))
    return notices


def _send(mails: list[EmailMessage]) -> None:
    try:
        get_connection().send_messages(mails)
    except Exception:  # a decision is not undone by a mail server that is down
        logger.warning("sending %s notification e-mail(s) failed", len(mails), exc_info=True)


def notifications_mark_read(
    *, user: Any, ids: Iterable[int] | None = None, version: Version | None = None
) -> int:
    """Mark the user's unread notices read: those listed (``ids``), or all about ``version``, or,
    with neither, all of them. Returns how many were marked."""
    if user is None or not user.is_authenticated:
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    if version is not None:
        unread = unread.filter(version=version)
    return unread.update(read_at=timezone.now())
