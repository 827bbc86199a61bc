from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from blueprint.api import urls as blueprint_api
from blueprint.views.health import healthz
from decisioning import api_urls as decisioning_api

# The JSON API: the blueprint's routes, the decision routes, then its schema and catch-all 404.
API = [*blueprint_api.urlpatterns, *decisioning_api.urlpatterns, *blueprint_api.closing]

urlpatterns = [
    path("", RedirectView.as_view(url="/blueprints/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("", include("blueprint.views.accounts_urls")),  # first: it replaces the password change
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((API, "api"))),
    path("", include("blueprint.web_urls")),
]

# Under /api/ Django's own errors answer the API's JSON shape, elsewhere its pages (api/errors.py)
handler400 = "blueprint.api.errors.bad_request"
handler403 = "blueprint.api.errors.permission_denied"
handler404 = "blueprint.api.errors.page_not_found"
handler500 = "blueprint.api.errors.server_error"
