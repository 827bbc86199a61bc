"""The decision routes of the JSON API under /api/v1/: lint, decide (one, batch, SQL) and coverage.
``blueprint.urls`` puts them beside the blueprint's own routes (blueprint/api/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from blueprint.api.converters import BP
from decisioning.api import CoverageApi, DecideApi, DecideBatchApi, DecisionSqlApi, LintApi

urlpatterns: list[URLPattern] = [
    path(f"{BP}/lint/", LintApi.as_view(), name="lint"),
    path(f"{BP}/decide/", DecideApi.as_view(), name="decide"),
    path(f"{BP}/decide/batch/", DecideBatchApi.as_view(), name="decide-batch"),
    path(f"{BP}/decide/sql/", DecisionSqlApi.as_view(), name="decide-sql"),
    path(f"{BP}/coverage/", CoverageApi.as_view(), name="coverage"),
]
