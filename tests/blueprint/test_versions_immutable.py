"""Nothing changes a version after it is made: not the model, not a queryset, not raw SQL (a
database trigger), not the admin, not the API. Only its status moves, through the review services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from blueprint.models import Approval, Blueprint, Version, VersionImmutable
from blueprint.services import version_approve, version_publish

pytestmark = pytest.mark.django_db

FROZEN = {
    "snapshot": {"format": "blueprint-snapshot/1", "blueprint": {}, "attributes": [], "stages": []},
    "content_hash": "sha256:0000",
    "number": 99,
    "note": "rewritten",
    "rev": 12345,
    "approvals_needed": 7,
}


@pytest.fixture
def version(board: Blueprint, users: dict[str, Any]) -> Version:
    return version_publish(blueprint_id=board.pk, actor=users["editor"], note="As published")


def as_published(version: Version) -> tuple[Any, ...]:
    fresh = Version.objects.get(pk=version.pk)
    return (
        fresh.snapshot,
        fresh.content_hash,
        fresh.number,
        fresh.note,
        fresh.author_id,
        fresh.created_at,
        fresh.rev,
        fresh.status,
    )


@pytest.mark.parametrize("field", sorted(FROZEN))
def test_saving_a_changed_version_is_refused(version: Version, field: str) -> None:
    before = as_published(version)
    setattr(version, field, FROZEN[field])
    with pytest.raises(VersionImmutable):
        version.save()
    with pytest.raises(VersionImmutable, match="immutable"):
        version.save(update_fields=[field])
    assert as_published(version) == before


def test_saving_the_author_or_the_time_is_refused(version: Version, users: dict[str, Any]) -> None:
    before = as_published(version)
    for field, value in (("author", users["owner"]), ("created_at", version.created_at.replace(year=2001))):
        setattr(version, field, value)
        with pytest.raises(VersionImmutable):
            version.save(update_fields=[field if field != "author" else "author"])
    assert as_published(version) == before


@pytest.mark.parametrize("field", sorted(FROZEN))
def test_a_queryset_update_of_a_version_is_refused(version: Version, field: str) -> None:
    before = as_published(version)
    with pytest.raises(VersionImmutable):
        Version.objects.filter(pk=version.pk).update(**{field: FROZEN[field]})
    assert as_published(version) == before


def test_a_status_change_outside_the_review_services_is_refused(version: Version) -> None:
    with pytest.raises(VersionImmutable, match="version_approve"):
        Version.objects.filter(pk=version.pk).update(status="approved")
    version.status = "approved"
    with pytest.raises(VersionImmutable, match="version_approve"):
        version.save(update_fields=["status"])
    with pytest.raises(VersionImmutable), transaction.atomic():  # bulk_update joins the transaction
        Version.objects.bulk_update([version], ["status"])
    assert Version.objects.get(pk=version.pk).status == "in_review"


def test_a_version_is_not_deleted_on_its_own(version: Version) -> None:
    with pytest.raises(VersionImmutable):
        version.delete()
    assert Version.objects.filter(pk=version.pk).exists()


def test_a_version_goes_with_its_blueprint(version: Version, board: Blueprint, users: dict[str, Any]) -> None:
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    board.delete()
    assert not Version.objects.exists() and not Approval.objects.exists()


def _raw_update(sql: str, params: list[Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("snapshot", '{"format": "blueprint-snapshot/1", "stages": []}'),
        ("content_hash", "sha256:0000"),
        ("number", 99),
        ("note", "rewritten"),
        ("rev", 1),
        ("approvals_needed", 5),
        ("blueprint_id", None),
        ("author_id", None),
        ("created_at", "2001-01-01 00:00:00"),
    ],
)
def test_the_database_refuses_raw_sql_that_rewrites_a_version(
    version: Version, users: dict[str, Any], column: str, value: Any
) -> None:
    if column == "blueprint_id":
        value = Blueprint.objects.create(name="Other").pk
    if column == "author_id":
        value = users["owner"].pk
    before = as_published(version)
    with pytest.raises(IntegrityError, match="immutable"):
        _raw_update(f"UPDATE blueprint_version SET {column} = %s WHERE id = %s", [value, version.pk])
    assert as_published(version) == before


def test_the_database_lets_a_status_change_through_but_not_out_of_a_final_status(version: Version) -> None:
    # the trigger guards what a version is; which status comes next is the services' rule
    _raw_update("UPDATE blueprint_version SET status = %s WHERE id = %s", ["rejected", version.pk])
    with pytest.raises(IntegrityError, match="immutable"):
        _raw_update("UPDATE blueprint_version SET status = %s WHERE id = %s", ["approved", version.pk])
    assert Version.objects.get(pk=version.pk).status == "rejected"


def test_the_database_refuses_to_rewrite_a_review_decision(
    version: Version, board: Blueprint, users: dict[str, Any]
) -> None:
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"], comment="Fine")
    approval = Approval.objects.get()
    with pytest.raises(IntegrityError, match="never changed"):
        _raw_update("UPDATE blueprint_approval SET decision = %s WHERE id = %s", ["reject", approval.pk])
    approval.comment = "Actually not"
    with pytest.raises(VersionImmutable):
        approval.save()
    assert Approval.objects.get().comment == "Fine"


def test_the_admin_shows_versions_but_changes_nothing(
    version: Version, admin_client: Any, board: Blueprint
) -> None:
    page = admin_client.get(f"/admin/blueprint/version/{version.pk}/change/")
    assert page.status_code == 200 and b"As published" in page.content
    before = as_published(version)
    response = admin_client.post(
        f"/admin/blueprint/version/{version.pk}/change/", {"note": "rewritten", "number": 5}
    )
    assert response.status_code == 403
    assert admin_client.get("/admin/blueprint/version/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/blueprint/version/{version.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert as_published(version) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_api_offers_no_way_to_change_a_version(
    version: Version, board: Blueprint, users: dict[str, Any], method: str
) -> None:
    client = APIClient()
    client.force_login(users["owner"])
    before = as_published(version)
    response = getattr(client, method)(
        f"/api/v1/blueprints/{board.pk}/versions/{version.number}/", {"note": "rewritten"}, format="json"
    )
    assert response.status_code == 405
    assert "method" in response.json()["errors"]
    assert as_published(version) == before
