"""Telling members about versions: an in-app notice (``Notification``) and an e-mail (written by
``blueprint.mail``), for a version that awaits their review or was decided.

The notices are written in the caller's transaction, so they exist exactly when the decision
does; the e-mails go after commit, and a mail server that fails is logged, never raised: a
committed decision stands whether or not the mail got out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from blueprint.mail import mails_send, notification_mails
from blueprint.models import Blueprint, Notification, Version


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
    mails = notification_mails(
        recipients, blueprint=blueprint, message=message, url=url, subject=subject, details=details
    )
    if mails:
        transaction.on_commit(lambda: mails_send(mails))
    return notices


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
