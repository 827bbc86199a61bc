from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, pre_save


def refuse_writes_outside_operations(sender: type, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Board objects are saved by ``operation_apply`` only (the one edit path): anything else is a bug."""
    from blueprint.services.operations import applying_operation

    if not raw and not applying_operation.get():
        raise RuntimeError(
            f"{sender.__name__} saved outside operation_apply; every board change must be an operation."
        )


def tell_the_board_a_membership_ended(sender: type, instance: Any, **kwargs: Any) -> None:
    """However a membership ends — removed by an owner, or with its user or blueprint deleted — the
    member's open sockets on that board re-check their access after commit (and close)."""
    from blueprint.services.broadcast import membership_broadcast

    blueprint_id, user_id = instance.blueprint_id, instance.user_id
    transaction.on_commit(lambda: membership_broadcast(blueprint_id, user_id))


class BlueprintConfig(AppConfig):
    name = "blueprint"
    verbose_name = "Blueprint board"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from blueprint.models import Attribute, Membership, Offer, Operation, Stage

        post_delete.connect(
            tell_the_board_a_membership_ended, sender=Membership, dispatch_uid="membership-ended"
        )

        for model in (Attribute, Stage, Offer, Operation):
            pre_save.connect(
                refuse_writes_outside_operations, sender=model, dispatch_uid=f"edit-path-{model.__name__}"
            )

        # The live board renders the editors' frame of an operation once, where it was applied,
        # when that process has tabs on the board, and the broadcast carries it to every worker
        # (blueprint.live.hub.frame_for_broadcast). Registered here, so the services that
        # broadcast know nothing of rendering.
        from blueprint.live.hub import frame_for_broadcast
        from blueprint.services.broadcast import broadcast_extra_register

        broadcast_extra_register(frame_for_broadcast)
