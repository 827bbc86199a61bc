"""The README's role table says what the server enforces (roles are enforced on the server:
docs/architecture.md, "Roles"). Renaming a blueprint is an edit like any other — an operation in the
log, undone like one — so owners and editors rename; what is outside the log (members, the approval
policy, deleting) is the owners'. The audit found the table saying "owners rename" while editors
could."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.models import Blueprint
from blueprint.services import operation_apply
from decisioning.errors import Forbidden
from tests.conftest import ROLES

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_role_rows() -> dict[str, str]:
    """The "may" column of the demo logins' role table, by role."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\| `(\w+)` \| (\w+) \| (.*) \|$", line)
        if found and found.group(1) == found.group(2):
            rows[found.group(2)] = found.group(3)
    assert set(rows) == set(ROLES), rows
    return rows


def may_rename(blueprint: Blueprint, user: Any, name: str) -> bool:
    try:
        operation_apply(
            blueprint_id=blueprint.pk, actor=user, op_type="blueprint.update", payload={"name": name}
        )
    except Forbidden:
        return False
    return Blueprint.objects.get(pk=blueprint.pk).name == name


def test_who_may_rename_a_blueprint_is_who_the_readme_says(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    allowed = {role for role in ROLES if may_rename(blueprint, users[role], f"Renamed by {role}")}
    said = {role for role, may in readme_role_rows().items() if "renam" in may.lower()}
    assert allowed == said == {"owner", "editor"}


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("editor", 200), ("approver", 403), ("viewer", 403)]
)
def test_the_api_renames_for_the_same_roles(
    blueprint: Blueprint, users: dict[str, Any], role: str, status: int
) -> None:
    client = APIClient()
    client.force_login(users[role])
    response = client.patch(f"/api/v1/blueprints/{blueprint.pk}/", {"name": "New name"}, format="json")
    assert response.status_code == status
    assert (Blueprint.objects.get(pk=blueprint.pk).name == "New name") is (status == 200)


def test_only_owners_do_what_the_readme_keeps_for_them(blueprint: Blueprint, users: dict[str, Any]) -> None:
    rows = readme_role_rows()
    for role in ("editor", "approver", "viewer"):
        assert not re.search(r"\bmembers\b|\bdelet", rows[role]), rows[role]
    assert re.search(r"\bmembers\b", rows["owner"]) and "delet" in rows["owner"]
    client = APIClient()
    client.force_login(users["editor"])
    assert client.delete(f"/api/v1/blueprints/{blueprint.pk}/").status_code == 403
    assert (
        client.post(
            f"/api/v1/blueprints/{blueprint.pk}/members/",
            {"username": "stranger", "role": "viewer"},
            format="json",
        ).status_code
        == 403
    )
