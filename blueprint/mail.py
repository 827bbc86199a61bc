"""E-mail, a transport of its own: what a notice says by mail (``notification_mails``, from the
text template ``blueprint/notification_email.txt``) and its sending through Django's mail settings
(``EMAIL_BACKEND`` and the rest). People's words reach a header only through ``mail_header``.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string

from blueprint.models import Blueprint

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


def notification_mails(
    recipients: Iterable[Any],
    *,
    blueprint: Blueprint,
    message: str,
    url: str,
    subject: str,
    details: Sequence[str] = (),
) -> list[EmailMessage]:
    """One e-mail per recipient with an address: the notice's sentence, ``details`` and the link."""
    return [
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


def mails_send(mails: list[EmailMessage]) -> None:
    """Send, logging a failure: a committed decision is not undone by a mail server that is down."""
    try:
        get_connection().send_messages(mails)
    except Exception:  # a decision is not undone by a mail server that is down
        logger.warning("sending %s notification e-mail(s) failed", len(mails), exc_info=True)
