from __future__ import annotations

from django.apps import AppConfig


class DecisioningConfig(AppConfig):
    name = "decisioning"
    verbose_name = "Decisioning: evaluation of versions, lint, decide API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils import timezone

        from decisioning.engine import today_source_set

        # the rules core knows no Django: a decision without a day is decided on the server's
        # day, in its TIME_ZONE
        today_source_set(timezone.localdate)
