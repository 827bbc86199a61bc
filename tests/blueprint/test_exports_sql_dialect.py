"""``?dialect=`` of the SQL export, on ``decide/sql/`` and ``export/?format=sql``, and the Export
menu's links to it (decisioning/sql.py ``DIALECTS``; the engines run each text in
tests/decisioning/test_sql_engines.py).

The ``board`` fixture: stages awareness [welcome, gold_card] and onboarding [app_tour].
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from blueprint.models import Blueprint
from blueprint.services import version_approve, version_publish
from decisioning.engine import cache_clear
from tests.blueprint.test_api import assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache_clear()  # the compiled versions are cached per process; test databases reuse ids


@pytest.fixture
def live(board: Blueprint, users: dict[str, Any]) -> Blueprint:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="For the warehouse")
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    return board


def sql_of(board: Blueprint, users: dict[str, Any], query: str) -> Any:
    return client_for(users["viewer"]).get(f"/api/v1/blueprints/{board.pk}/decide/sql/{query}")


def export_of(board: Blueprint, users: dict[str, Any], **params: str) -> Any:
    return client_for(users["viewer"]).get(f"/api/v1/blueprints/{board.pk}/export/", params)


def test_decide_sql_writes_each_dialect_and_names_the_file_after_it(
    live: Blueprint, users: dict[str, Any]
) -> None:
    portable = sql_of(live, users, "?at=2025-06-15")
    assert portable.status_code == 200, portable.content
    text = portable.content.decode()
    assert 'AS "awareness.offer"' in text and "`" not in text
    assert "-- Dialect: ANSI SQL; runs unchanged on PostgreSQL, DuckDB and Spark SQL" in text
    assert portable["Content-Disposition"].endswith(f'filename="blueprint-{live.pk}-v1.sql"')
    for name in ("portable", "postgresql", "duckdb"):
        same = sql_of(live, users, f"?at=2025-06-15&dialect={name}")
        assert same.content.decode() == text, name
    spark = sql_of(live, users, "?at=2025-06-15&dialect=spark")
    assert spark.status_code == 200, spark.content
    body = spark.content.decode()
    assert "AS `awareness.offer`" in body and 'AS "awareness.offer"' not in body
    assert "-- Dialect: Spark SQL: names in backticks" in body and "`visits_30d`  DOUBLE  (" in body
    assert "`segment`  STRING  (" in body and "TEXT" not in body
    assert spark["Content-Disposition"].endswith(f'filename="blueprint-{live.pk}-v1.spark.sql"')


def test_decide_sql_refuses_an_unknown_or_empty_dialect_naming_the_accepted_ones(
    live: Blueprint, users: dict[str, Any]
) -> None:
    for asked in ("mysql", "Spark", "spark;drop"):
        assert_error(
            sql_of(live, users, f"?dialect={asked}"), 400, "dialect", "portable, postgresql, duckdb, spark"
        )
    assert_error(sql_of(live, users, "?dialect="), 400, "dialect")
    assert_error(sql_of(live, users, "?dialect=spark&dialect=duckdb"), 400, "dialect")


def test_the_sql_export_takes_a_dialect_and_other_formats_refuse_one(
    board: Blueprint, users: dict[str, Any]
) -> None:
    spark = export_of(board, users, format="sql", version="draft", dialect="spark")
    assert spark.status_code == 200, spark.content
    assert "AS `awareness.entered`" in spark.content.decode()
    assert spark["Content-Disposition"].startswith('attachment; filename="retail-banking-web-draft-rev')
    assert spark["Content-Disposition"].endswith('.spark.sql"')
    portable = export_of(board, users, format="sql", version="draft", dialect="postgresql")
    assert portable.content == export_of(board, users, format="sql", version="draft").content
    assert portable["Content-Disposition"].endswith('.postgresql.sql"')  # named as asked
    assert_error(
        export_of(board, users, format="sql", dialect="oracle"), 400, "dialect", "Expected one of: portable"
    )
    assert_error(export_of(board, users, format="json", dialect="spark"), 400, "dialect", "format=sql")
    assert_error(export_of(board, users, dialect="portable"), 400, "dialect", "format=sql")


def test_the_export_menu_offers_the_sql_for_spark(board: Blueprint, users: dict[str, Any]) -> None:
    client = Client()
    client.force_login(users["viewer"])
    text = client.get(f"/blueprints/{board.pk}/").content.decode()
    assert f"/api/v1/blueprints/{board.pk}/export/?format=sql&amp;dialect=spark" in text
    assert ">SQL for Spark</a>" in text and ">SQL for a warehouse</a>" in text
