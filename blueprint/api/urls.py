"""The JSON API under /api/v1/. The paths are the contract (docs/architecture.md, "The API contract")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from blueprint.api import tokens, versions, views
from blueprint.api.exports import ExportApi, ImportApi
from blueprint.conditions import KEY_RE
from decisioning.api import CoverageApi, DecideApi, DecideBatchApi, DecisionSqlApi, LintApi


class BlueprintIdConverter:
    # At most 18 digits, so the id always fits the database's bigint (a longer one is a JSON 404).
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class BoardKeyConverter:
    # Django matches a route whole (\Z), so this is the key rule of blueprint.conditions.KEY_RE
    regex = KEY_RE.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class UsernameConverter:
    # Django's username validator: letters, digits and @.+-_
    regex = r"[\w.@+-]{1,150}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(BlueprintIdConverter, "api_id")
register_converter(BoardKeyConverter, "api_key")
register_converter(UsernameConverter, "api_username")


class VersionNumberConverter:
    # 1 and up, at most nine digits (0 or a longer number is a JSON 404)
    regex = "[1-9][0-9]{0,8}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(VersionNumberConverter, "api_number")

app_name = "api"

BP = "blueprints/<api_id:blueprint_id>"

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", tokens.TokenCreateApi.as_view(), name="token"),
    path("auth/tokens/", tokens.TokenListApi.as_view(), name="tokens"),
    path("auth/tokens/<api_id:token_id>/", tokens.TokenDetailApi.as_view(), name="token-detail"),
    path("limits/", views.LimitsApi.as_view(), name="limits"),
    path("blueprints/", views.BlueprintListApi.as_view(), name="blueprints"),
    path(f"{BP}/", views.BlueprintDetailApi.as_view(), name="blueprint"),
    path(f"{BP}/members/", views.MemberListApi.as_view(), name="members"),
    path(f"{BP}/members/<api_username:username>/", views.MemberDetailApi.as_view(), name="member"),
    path(f"{BP}/attributes/", views.AttributeListApi.as_view(), name="attributes"),
    path(f"{BP}/attributes/<api_key:key>/", views.AttributeDetailApi.as_view(), name="attribute"),
    path(f"{BP}/stages/", views.StageListApi.as_view(), name="stages"),
    path(f"{BP}/stages/<api_key:key>/", views.StageDetailApi.as_view(), name="stage"),
    path(f"{BP}/stages/<api_key:key>/move/", views.StageMoveApi.as_view(), name="stage-move"),
    path(f"{BP}/stages/<api_key:key>/offers/", views.StageOfferListApi.as_view(), name="stage-offers"),
    path(f"{BP}/offers/<api_key:key>/", views.OfferDetailApi.as_view(), name="offer"),
    path(f"{BP}/offers/<api_key:key>/move/", views.OfferMoveApi.as_view(), name="offer-move"),
    path(f"{BP}/operations/", views.OperationLogApi.as_view(), name="operations"),
    path(f"{BP}/lint/", LintApi.as_view(), name="lint"),
    path(f"{BP}/decide/", DecideApi.as_view(), name="decide"),
    path(f"{BP}/decide/batch/", DecideBatchApi.as_view(), name="decide-batch"),
    path(f"{BP}/decide/sql/", DecisionSqlApi.as_view(), name="decide-sql"),
    path(f"{BP}/coverage/", CoverageApi.as_view(), name="coverage"),
    path(f"{BP}/undo/", views.UndoApi.as_view(), name="undo"),
    path(f"{BP}/redo/", views.RedoApi.as_view(), name="redo"),
    path(f"{BP}/versions/", versions.VersionListApi.as_view(), name="versions"),
    path(f"{BP}/versions/<api_number:number>/", versions.VersionDetailApi.as_view(), name="version"),
    path(
        f"{BP}/versions/<api_number:number>/approve/",
        versions.VersionApproveApi.as_view(),
        name="version-approve",
    ),
    path(
        f"{BP}/versions/<api_number:number>/reject/",
        versions.VersionRejectApi.as_view(),
        name="version-reject",
    ),
    path(f"{BP}/versions/<api_number:number>/diff/", versions.VersionDiffApi.as_view(), name="version-diff"),
    path(
        f"{BP}/versions/<api_number:number>/restore/",
        versions.VersionRestoreApi.as_view(),
        name="version-restore",
    ),
    path(f"{BP}/export/", ExportApi.as_view(), name="export"),
    path("blueprints/import/", ImportApi.as_view(), name="import"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Last: anything else under /api/v1/ is a JSON 404, never Django's HTML page.
    re_path(r"^(?P<unmatched>(?s:.*))$", views.api_not_found, name="not-found"),
]
