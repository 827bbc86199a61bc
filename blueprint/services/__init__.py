"""Writes. Board content changes only through ``operation_apply``."""

# imported for their @handles registrations: HANDLERS holds every operation once the package is loaded
from blueprint.services import blueprint_ops, catalog_ops, offer_ops, stage_ops  # noqa: F401
from blueprint.services.access import member_blueprint, require_role, role_check, role_of
from blueprint.services.blueprints import (
    blueprint_content_operations,
    blueprint_create,
    blueprint_delete,
    blueprint_duplicate,
    membership_remove,
    membership_set,
)
from blueprint.services.imports import blueprint_import
from blueprint.services.notifications import notifications_mark_read
from blueprint.services.operations import HANDLERS, operation_apply, operations_apply
from blueprint.services.undo import UndoResult, undo_step
from blueprint.services.versions import (
    RestoreResult,
    blueprint_policy_set,
    version_approve,
    version_publish,
    version_reject,
    version_restore,
)

__all__ = [
    "HANDLERS",
    "RestoreResult",
    "UndoResult",
    "blueprint_content_operations",
    "blueprint_create",
    "blueprint_delete",
    "blueprint_duplicate",
    "blueprint_import",
    "blueprint_policy_set",
    "member_blueprint",
    "membership_remove",
    "membership_set",
    "notifications_mark_read",
    "operation_apply",
    "operations_apply",
    "require_role",
    "role_check",
    "role_of",
    "undo_step",
    "version_approve",
    "version_publish",
    "version_reject",
    "version_restore",
]
