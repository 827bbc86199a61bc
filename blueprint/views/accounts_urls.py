"""The person's own pages under /accounts/, ahead of Django's (django.contrib.auth.urls), whose
password change they replace."""

from __future__ import annotations

from django.urls import path

from blueprint.views import accounts

urlpatterns = [
    path("accounts/password_change/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/tokens/", accounts.api_tokens, name="api_tokens"),
    path("accounts/tokens/new/", accounts.api_token_create_view, name="api_token_create"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.api_token_revoke_view, name="api_token_revoke"),
]
