from __future__ import annotations

from django.apps import AppConfig


class DecisioningConfig(AppConfig):
    name = "decisioning"
    verbose_name = "Decisioning: evaluation of versions, lint, decide API"
    default_auto_field = "django.db.models.BigAutoField"
