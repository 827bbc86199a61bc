"""API tokens in the admin: to see who holds which and revoke one (delete it). A token is made by its
person only, on their page or through the API, so the admin neither adds nor edits them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from blueprint.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created", "expiry", "last_used")
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    fields = ("name", "user", "created", "expiry", "last_used", "token_key")
    readonly_fields = fields
    ordering = ("-created",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
