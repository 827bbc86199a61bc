"""Shared fixtures: the four roles on one blueprint with a small catalog."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from blueprint.models import Blueprint, Membership, Role
from blueprint.services import operation_apply

ROLES = ("owner", "editor", "approver", "viewer")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On SQLite, the test database is a file, so the server that browser tests start shares it.

    An in-memory database lives inside this process only. PostgreSQL is left as it is (its test
    database already has a name, with pytest-django's xdist suffix). ``tmp_path_factory`` gives
    every xdist worker its own directory.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness costs a second per test that makes users; tests need no such thing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # the live lint follows edits at once (what tests of it wait for)
    settings.LIVE_LINT_SECONDS = 0.01
    # the heavy-request throttle counts in the process's cache across tests; its own tests set it
    settings.API_HEAVY_RATE = None


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    model = get_user_model()
    made = {role: model.objects.create_user(username=role, password="demo") for role in ROLES}
    made["stranger"] = model.objects.create_user(username="stranger", password="demo")
    return made


@pytest.fixture
def blueprint(users: dict[str, Any]) -> Blueprint:
    bp = Blueprint.objects.create(name="Retail banking – web", context="Retail bank", channels=["web"])
    for role in ROLES:
        Membership.objects.create(blueprint=bp, user=users[role], role=Role(role))
    return bp


CATALOG = [
    {
        "key": "segment",
        "label": "Segment",
        "kind": "attribute",
        "type": "choice",
        "choices": ["Bronze", "Silver", "Gold", "Platinum"],
    },
    {"key": "age", "label": "Age", "kind": "attribute", "type": "number", "unit": "years"},
    {"key": "visits_30d", "label": "Visits in the last 30 days", "kind": "behaviour", "type": "number"},
    {"key": "last_login", "label": "Last login", "kind": "behaviour", "type": "date"},
    {"key": "has_app", "label": "Has the mobile app", "kind": "attribute", "type": "boolean"},
    {
        "key": "products",
        "label": "Products held",
        "kind": "attribute",
        "type": "set",
        "choices": ["current_account", "savings", "credit_card", "mortgage"],
    },
    {
        "key": "channel",
        "label": "Channel",
        "kind": "context",
        "type": "choice",
        "choices": ["web", "app", "branch"],
    },
    {"key": "city", "label": "City", "kind": "context", "type": "text"},
]


@pytest.fixture
def catalog(blueprint: Blueprint) -> Blueprint:
    for attribute in CATALOG:
        operation_apply(blueprint_id=blueprint.pk, actor=None, op_type="attribute.create", payload=attribute)
    blueprint.refresh_from_db()
    return blueprint


@pytest.fixture
def board(catalog: Blueprint) -> Blueprint:
    """Two stages with three offers: awareness [welcome, gold_card], onboarding [app_tour]."""
    ops: list[tuple[str, dict[str, Any]]] = [
        ("stage.create", {"key": "awareness", "name": "Awareness"}),
        ("stage.create", {"key": "onboarding", "name": "Onboarding"}),
        (
            "offer.create",
            {
                "stage": "awareness",
                "key": "welcome",
                "name": "Welcome bonus",
                "groups": [[{"attribute": "visits_30d", "operator": "at_least", "value": 3}]],
            },
        ),
        (
            "offer.create",
            {
                "stage": "awareness",
                "key": "gold_card",
                "name": "Gold card",
                "groups": [
                    [{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]}]
                ],
            },
        ),
        (
            "offer.create",
            {
                "stage": "onboarding",
                "key": "app_tour",
                "name": "App tour",
                "groups": [[{"attribute": "has_app", "operator": "is", "value": True}]],
            },
        ),
    ]
    for op_type, payload in ops:
        operation_apply(blueprint_id=catalog.pk, actor=None, op_type=op_type, payload=payload)
    catalog.refresh_from_db()
    return catalog
