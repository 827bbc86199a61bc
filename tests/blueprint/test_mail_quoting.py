"""E-mail the project writes from people's words (blueprint/mail.py): a header
holds one line whatever a blueprint is called, so the mail goes out (issue 14 §1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from hypothesis import given
from hypothesis import strategies as st

from blueprint.mail import SUBJECT_CAP, mail_header
from blueprint.models import Blueprint
from blueprint.services import version_publish


@given(st.text())
def test_a_header_is_one_line_of_the_words_it_was_given(words: str) -> None:
    header = mail_header(words)
    assert len(header) <= SUBJECT_CAP and header == header.strip()
    assert not any(ch in header for ch in "\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u202e")
    assert header.split() == header.split(" ") or not header  # single spaces only


@pytest.mark.django_db
def test_a_blueprint_name_with_line_breaks_is_mailed_on_one_line(
    board: Blueprint, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    for name, user in users.items():
        user.email = f"{name}@example.com"
        user.save(update_fields=["email"])
    Blueprint.objects.filter(pk=board.pk).update(name="Retail\r\nBcc: everyone@example.com\n\nHello")
    with django_capture_on_commit_callbacks(execute=True):
        version_publish(blueprint_id=board.pk, actor=users["editor"], note="Line\nbreaks")
    assert sorted(m.to[0] for m in mail.outbox) == ["approver@example.com", "owner@example.com"]
    for message in mail.outbox:
        assert (
            message.subject
            == "[Blueprint] Version 1 of 'Retail Bcc: everyone@example.com Hello' awaits your review"
        )
        assert message.bcc == [] and "Bcc" not in message.message()
