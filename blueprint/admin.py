"""The admin shows published versions and their reviews, read-only: a version is a record that no
one edits (docs/architecture.md, "Versions and approval"), so the admin offers neither add, change
nor delete for them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from blueprint.models import Approval, Version


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    fields = ("user", "decision", "comment", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ("blueprint", "number", "status", "author", "created_at", "decided_at")
    list_filter = ("status",)
    inlines = [ApprovalInline]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("version", "user", "decision", "created_at")
