from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_save


def refuse_writes_outside_operations(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Board objects are saved by ``operation_apply`` only (DESIGN.md §5): anything else is a bug."""
    from blueprint.services.operations import applying_operation

    if not raw and not applying_operation.get():
        raise RuntimeError(
            f"{sender.__name__} saved outside operation_apply; every board change must be an operation."
        )


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "Blueprint board"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from blueprint.models import Attribute, Offer, Operation, Stage

        for model in (Attribute, Stage, Offer, Operation):
            pre_save.connect(
                refuse_writes_outside_operations, sender=model, dispatch_uid=f"edit-path-{model.__name__}"
            )
