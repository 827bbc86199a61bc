"""The blueprint's routes of the JSON API under /api/v1/: boards, members, catalog, stages and
offers, operations, versions, tokens, export and import. The paths are the contract
(docs/architecture.md, "The API contract"). The decision routes are decisioning's
(decisioning/api_urls.py); ``blueprint.urls`` puts them together."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView

from blueprint.api import tokens, versions, views
from blueprint.api.converters import BP
from blueprint.api.exports import ExportApi, ImportApi
from blueprint.api.openapi import DocsView

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
]

# After every route of the API (blueprint.urls puts the decision routes between): the schema, its
# pages, and last, anything else under /api/v1/ as a JSON 404, never Django's HTML page.
closing: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^(?P<unmatched>(?s:.*))$", views.api_not_found, name="not-found"),
]
