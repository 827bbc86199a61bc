"""Publishing the draft as a version, and its review: every transition and every refusal.

The ``board`` fixture (tests/conftest.py): stages awareness [welcome, gold_card] and onboarding
[app_tour], and the users owner, editor, approver, viewer (members) and stranger (not one).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from blueprint.models import Approval, Blueprint, Membership, Notification, Role, Version
from blueprint.selectors import board_load, board_snapshot, version_get, version_live, versions_of
from blueprint.services import (
    blueprint_policy_set,
    operation_apply,
    version_approve,
    version_publish,
    version_reject,
)
from blueprint.snapshots import snapshot_hash
from decisioning.errors import Conflict, Forbidden, InvalidInput, NotFound
from decisioning.model import spec_from_json

pytestmark = pytest.mark.django_db


def publish(board: Blueprint, users: dict[str, Any], who: str = "editor", note: str = "") -> Version:
    return version_publish(blueprint_id=board.pk, actor=users[who], note=note)


def approve(
    board: Blueprint, users: dict[str, Any], number: int, who: str = "approver", comment: str = ""
) -> Version:
    return version_approve(blueprint_id=board.pk, number=number, actor=users[who], comment=comment)


def reject(
    board: Blueprint, users: dict[str, Any], number: int, who: str = "approver", comment: str = "No."
) -> Version:
    return version_reject(blueprint_id=board.pk, number=number, actor=users[who], comment=comment)


def rename_welcome(board: Blueprint, name: str) -> None:
    operation_apply(
        blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": "welcome", "name": name}
    )


def status_of(board: Blueprint) -> dict[int, str]:
    return {v.number: v.status for v in Version.objects.filter(blueprint=board)}


# --- Publishing --------------------------------------------------------------------------------------


def test_publishing_snapshots_the_draft_as_the_next_version(board: Blueprint, users: dict[str, Any]) -> None:
    first = version_publish(blueprint_id=board.pk, actor=users["editor"], note="  First cut ")
    assert (first.number, first.status, first.note, first.rev) == (1, "in_review", "First cut", board.rev)
    assert first.author == users["editor"]
    assert first.snapshot == board_snapshot(board_load(board))
    assert first.content_hash == snapshot_hash(first.snapshot)
    assert first.approvals_needed == 1
    second = version_publish(blueprint_id=board.pk, actor=users["owner"])
    assert second.number == 2
    assert [v.number for v in versions_of(board.pk)] == [2, 1]
    assert version_get(board.pk, 1) == first and version_get(board.pk, 3) is None
    assert version_live(board.pk) is None  # nothing approved yet


def test_a_version_keeps_its_snapshot_while_the_draft_moves_on(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version = publish(board, users)
    rename_welcome(board, "Welcome gift")
    kept = version_get(board.pk, version.number)
    assert kept is not None
    names = [o["name"] for s in kept.snapshot["stages"] for o in s["offers"]]
    assert "Welcome bonus" in names and "Welcome gift" not in names
    assert (
        kept.content_hash == snapshot_hash(kept.snapshot) != snapshot_hash(board_snapshot(board_load(board)))
    )


@pytest.mark.parametrize("role", ["approver", "viewer", "stranger"])
def test_only_editors_and_owners_publish(board: Blueprint, users: dict[str, Any], role: str) -> None:
    with pytest.raises(NotFound if role == "stranger" else Forbidden):
        version_publish(blueprint_id=board.pk, actor=users[role])
    assert not Version.objects.exists()


def test_publishing_is_refused_while_lint_has_errors(board: Blueprint, users: dict[str, Any]) -> None:
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="offer.create",
        payload={
            "stage": "awareness",
            "key": "never",
            "name": "Never",
            "groups": [
                [
                    {"attribute": "age", "operator": "at_least", "value": 50},
                    {"attribute": "age", "operator": "at_most", "value": 30},
                ]
            ],
        },
    )
    with pytest.raises(InvalidInput) as refused:
        version_publish(blueprint_id=board.pk, actor=users["editor"])
    assert any("Never" in message for message in refused.value.problems["lint"])
    assert "lint error" in refused.value.problems["non_field_errors"][0]
    assert not Version.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("note", ["x" * 5001, "nul \x00 inside", 42, ["a list"]])
def test_a_bad_note_is_refused(board: Blueprint, users: dict[str, Any], note: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        version_publish(blueprint_id=board.pk, actor=users["editor"], note=note)
    assert "note" in refused.value.problems
    assert not Version.objects.exists()


def test_publishing_is_not_an_operation(board: Blueprint, users: dict[str, Any]) -> None:
    rev = board.rev
    publish(board, users)
    board.refresh_from_db()
    assert board.rev == rev
    assert not board.operations.filter(rev__gt=rev).exists()
    assert not board.undo_steps.filter(user=users["editor"]).exists()


def test_a_version_needs_the_approvals_the_policy_asked_for_when_it_was_published(
    board: Blueprint, users: dict[str, Any]
) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    two = publish(board, users)
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=1)
    approve(board, users, two.number)
    assert status_of(board) == {1: "in_review"}  # still needs its second approval
    approve(board, users, two.number, who="owner")
    assert status_of(board) == {1: "approved"}
    assert publish(board, users).approvals_needed == 1


# --- Approval ----------------------------------------------------------------------------------------


def test_an_approval_makes_the_version_live_and_records_who_and_when(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version = publish(board, users)
    approved = approve(board, users, version.number, comment="Ship it")
    assert approved.status == "approved" and approved.decided_at is not None
    assert version_live(board.pk) == approved
    [approval] = Approval.objects.filter(version=version)
    assert (approval.user, approval.decision, approval.comment) == (users["approver"], "approve", "Ship it")
    assert approval.created_at is not None


def test_an_owner_approves_too(board: Blueprint, users: dict[str, Any]) -> None:
    version = publish(board, users)
    assert approve(board, users, version.number, who="owner").status == "approved"


def test_the_newest_approved_version_is_live_and_the_previous_one_superseded(
    board: Blueprint, users: dict[str, Any]
) -> None:
    one = publish(board, users)
    approve(board, users, one.number)
    rename_welcome(board, "Welcome gift")
    two = publish(board, users)
    assert version_live(board.pk) == one  # a version in review is not live
    approve(board, users, two.number)
    assert status_of(board) == {1: "superseded", 2: "approved"}
    assert version_live(board.pk) == version_get(board.pk, 2)
    one.refresh_from_db()
    assert one.superseded_at is not None and one.decided_at is not None  # when it was approved stays
    assert Version.objects.filter(blueprint=board, status="approved").count() == 1


def test_an_older_version_still_in_review_is_superseded_when_a_newer_one_goes_live(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    rename_welcome(board, "Welcome gift")
    publish(board, users)
    approve(board, users, 2)
    assert status_of(board) == {1: "superseded", 2: "approved"}
    with pytest.raises(Conflict, match="already superseded"):
        approve(board, users, 1)


def test_a_newer_version_in_review_stays_in_review_when_an_older_one_goes_live(
    board: Blueprint, users: dict[str, Any]
) -> None:
    publish(board, users)
    rename_welcome(board, "Welcome gift")
    publish(board, users)
    approve(board, users, 1)
    assert status_of(board) == {1: "approved", 2: "in_review"}
    approve(board, users, 2)
    assert status_of(board) == {1: "superseded", 2: "approved"}


def test_the_live_version_is_what_the_decision_engine_reads(board: Blueprint, users: dict[str, Any]) -> None:
    one = publish(board, users)
    approve(board, users, one.number)
    rename_welcome(board, "Welcome gift")  # the draft moves on; the engine must not see it
    publish(board, users)  # in review: not live either
    live = version_live(board.pk)
    assert live is not None and live.number == 1
    spec = spec_from_json(live.snapshot)
    names = [offer.name for stage in spec.stages for offer in stage.offers]
    assert "Welcome bonus" in names and "Welcome gift" not in names
    assert [stage.key for stage in spec.stages] == ["awareness", "onboarding"]


# --- Refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_approve_or_reject(
    board: Blueprint, users: dict[str, Any], role: str
) -> None:
    version = publish(board, users, who="owner")
    with pytest.raises(Forbidden, match="approver or owner"):
        approve(board, users, version.number, who=role)
    with pytest.raises(Forbidden):
        reject(board, users, version.number, who=role)
    assert status_of(board) == {1: "in_review"} and not Approval.objects.exists()


def test_a_stranger_is_told_there_is_no_such_blueprint(board: Blueprint, users: dict[str, Any]) -> None:
    version = publish(board, users)
    with pytest.raises(NotFound) as refused:
        approve(board, users, version.number, who="stranger")
    assert "blueprint" in refused.value.problems


def test_the_author_never_approves_or_rejects_their_own_version(
    board: Blueprint, users: dict[str, Any]
) -> None:
    version = publish(board, users, who="owner")
    with pytest.raises(Forbidden, match="four eyes"):
        approve(board, users, version.number, who="owner")
    with pytest.raises(Forbidden, match="four eyes"):
        reject(board, users, version.number, who="owner")
    assert status_of(board) == {1: "in_review"} and not Approval.objects.exists()


def test_an_approver_who_published_cannot_approve_it_either(board: Blueprint, users: dict[str, Any]) -> None:
    # roles change: an editor who published and is approver now is still the author
    version = publish(board, users, who="editor")
    Membership.objects.filter(blueprint=board, user=users["editor"]).update(role=Role.APPROVER)
    with pytest.raises(Forbidden, match="four eyes"):
        approve(board, users, version.number, who="editor")


def test_a_decided_version_cannot_be_decided_again(board: Blueprint, users: dict[str, Any]) -> None:
    approved = publish(board, users)
    approve(board, users, approved.number)
    with pytest.raises(Conflict, match="already approved"):
        approve(board, users, approved.number, who="owner")
    with pytest.raises(Conflict, match="already approved"):
        reject(board, users, approved.number, who="owner")
    rename_welcome(board, "Welcome gift")
    rejected = publish(board, users)
    reject(board, users, rejected.number)
    with pytest.raises(Conflict, match="already rejected"):
        approve(board, users, rejected.number, who="owner")
    assert Approval.objects.count() == 2


def test_a_reviewer_decides_once(board: Blueprint, users: dict[str, Any]) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    version = publish(board, users)
    approve(board, users, version.number)
    with pytest.raises(Conflict, match="already approved version 1"):
        approve(board, users, version.number)
    with pytest.raises(Conflict, match="already approved version 1"):
        reject(board, users, version.number)
    assert status_of(board) == {1: "in_review"} and Approval.objects.count() == 1


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_a_rejection_needs_a_comment(board: Blueprint, users: dict[str, Any], comment: Any) -> None:
    version = publish(board, users)
    with pytest.raises(InvalidInput) as refused:
        version_reject(blueprint_id=board.pk, number=version.number, actor=users["approver"], comment=comment)
    assert "comment" in refused.value.problems
    assert status_of(board) == {1: "in_review"} and not Approval.objects.exists()


@pytest.mark.parametrize("comment", ["x" * 5001, "a\x00b", 7])
def test_a_bad_comment_is_refused(board: Blueprint, users: dict[str, Any], comment: Any) -> None:
    version = publish(board, users)
    with pytest.raises(InvalidInput) as refused:
        version_approve(
            blueprint_id=board.pk, number=version.number, actor=users["approver"], comment=comment
        )
    assert "comment" in refused.value.problems
    assert not Approval.objects.exists()


@pytest.mark.parametrize("number", [2, 0, -1, "1", True, None])
def test_an_unknown_or_malformed_version_number_is_refused(
    board: Blueprint, users: dict[str, Any], number: Any
) -> None:
    publish(board, users)
    with pytest.raises((NotFound, InvalidInput)) as refused:
        version_approve(blueprint_id=board.pk, number=number, actor=users["approver"])
    assert "number" in refused.value.problems


def test_a_rejection_ends_the_review(board: Blueprint, users: dict[str, Any]) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    version = publish(board, users)
    approve(board, users, version.number)
    rejected = reject(board, users, version.number, who="owner", comment="The gold card misses Platinum.")
    assert rejected.status == "rejected" and rejected.decided_at is not None
    assert version_live(board.pk) is None
    assert [a.decision for a in Approval.objects.filter(version=version)] == ["approve", "reject"]


# --- The approval policy -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 11, -1, "2", 2.0, True, None])
def test_the_policy_is_a_whole_number_from_1_to_10(
    board: Blueprint, users: dict[str, Any], value: Any
) -> None:
    with pytest.raises(InvalidInput) as refused:
        blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=value)
    assert "approval_policy" in refused.value.problems
    board.refresh_from_db()
    assert board.approval_policy == 1


@pytest.mark.parametrize("role", ["editor", "approver", "viewer"])
def test_only_owners_set_the_policy(board: Blueprint, users: dict[str, Any], role: str) -> None:
    with pytest.raises(Forbidden):
        blueprint_policy_set(actor=users[role], blueprint_id=board.pk, approvals_needed=3)
    board.refresh_from_db()
    assert board.approval_policy == 1


def test_the_database_refuses_a_policy_out_of_range(board: Blueprint) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Blueprint.objects.filter(pk=board.pk).update(approval_policy=0)


# --- Notifications -----------------------------------------------------------------------------------


@pytest.fixture
def with_email(users: dict[str, Any]) -> dict[str, Any]:
    for name, user in users.items():
        user.email = f"{name}@example.com"
        user.save(update_fields=["email"])
    return users


def test_reviewers_are_told_when_a_version_awaits_them(
    board: Blueprint, with_email: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        version = publish(board, with_email, who="editor", note="Gold for Platinum too")
    told = Notification.objects.filter(version=version, kind="review")
    assert sorted(n.user.username for n in told) == ["approver", "owner"]
    assert all(n.url == f"/blueprints/{board.pk}/versions/1/" and n.read_at is None for n in told)
    assert sorted(m.to[0] for m in mail.outbox) == ["approver@example.com", "owner@example.com"]
    message = mail.outbox[0]
    assert "awaits your review" in message.subject
    assert "Gold for Platinum too" in message.body and "/blueprints/" in message.body


def test_the_author_and_the_members_are_told_of_the_decision(
    board: Blueprint, with_email: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    version = publish(board, with_email, who="editor")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reject(board, with_email, version.number, comment="Missing the Platinum segment")
    told = Notification.objects.filter(version=version, kind="rejected")
    assert sorted(n.user.username for n in told) == ["editor", "owner", "viewer"]  # not the one deciding
    assert all("Missing the Platinum segment" in n.message for n in told)
    assert {m.to[0] for m in mail.outbox} == {"editor@example.com", "owner@example.com", "viewer@example.com"}


def test_the_author_hears_of_each_approval_and_everyone_of_the_one_that_makes_it_live(
    board: Blueprint, users: dict[str, Any]
) -> None:
    blueprint_policy_set(actor=users["owner"], blueprint_id=board.pk, approvals_needed=2)
    version = publish(board, users)
    approve(board, users, version.number)
    [partial] = Notification.objects.filter(kind="approval")
    assert partial.user == users["editor"] and "1 of 2" in partial.message
    approve(board, users, version.number, who="owner")
    live = Notification.objects.filter(kind="approved")
    assert sorted(n.user.username for n in live) == ["approver", "editor", "viewer"]


def test_a_mail_server_that_fails_does_not_undo_a_decision(
    board: Blueprint, with_email: dict[str, Any], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens
    with django_capture_on_commit_callbacks(execute=True):
        version = publish(board, with_email)
    assert Version.objects.filter(pk=version.pk).exists()
    assert Notification.objects.filter(version=version).count() == 2


def test_users_without_an_address_get_only_the_notice(
    board: Blueprint, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        publish(board, users)
    assert Notification.objects.count() == 2 and mail.outbox == []


def test_a_user_who_published_a_version_cannot_be_deleted(board: Blueprint, users: dict[str, Any]) -> None:
    from django.db.models import ProtectedError

    publish(board, users)
    with pytest.raises(ProtectedError):
        get_user_model().objects.filter(pk=users["editor"].pk).delete()
    assert version_get(board.pk, 1) is not None
