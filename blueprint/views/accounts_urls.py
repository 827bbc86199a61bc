"""The person's own pages, beside Django's log-in and password pages under /accounts/."""

from __future__ import annotations

from django.urls import path

from blueprint.views import accounts

urlpatterns = [
    path("accounts/tokens/", accounts.api_tokens, name="api_tokens"),
    path("accounts/tokens/new/", accounts.api_token_create_view, name="api_token_create"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.api_token_revoke_view, name="api_token_revoke"),
]
