"""``manage.py load_demo``: the demo blueprint and its four users, once, never in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from blueprint.demo import DEMO_PASSWORD, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo blueprint 'Retail banking – web' and the users owner, editor, approver and viewer "
        "(password 'demo'). Does nothing when the demo was loaded before. Refuses when DEBUG is off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even though DEBUG is off. The demo users have a well-known password: never on a "
            "server that others can reach.",
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this looks like production: the demo users have a well-known password and "
                "are not loaded there. Use --force if this really is a throw-away installation."
            )
        result = demo_load()
        if result.created:
            assert result.blueprint is not None
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded the demo blueprint '{result.blueprint.name}' at /blueprints/{result.blueprint.pk}/ "
                    f"and the users {', '.join(DEMO_USERS)} (password '{DEMO_PASSWORD}')."
                )
            )
        elif result.blueprint is not None:
            self.stdout.write(
                f"The demo was loaded before: '{result.blueprint.name}' at /blueprints/{result.blueprint.pk}/; "
                "nothing changed."
            )
        else:
            self.stdout.write(
                "The demo was loaded before (its blueprint has since been deleted); nothing changed."
            )
