"""API tokens: django-rest-knox's hashed token (only a SHA-512 digest of the secret is stored, and the
first characters to find it by), with a name, an expiry that every token has, and when it was last
used. ``settings.KNOX_TOKEN_MODEL`` names this model, so knox's own table is never made."""

from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

TOKEN_NAME_MAX = 100


class ApiToken(AbstractAuthToken):
    # An id of its own for the pages and the API (auth/tokens/{id}/): knox's key, the digest of the
    # secret, is kept unique but never shown.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=TOKEN_NAME_MAX)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ("-created", "-id")
        indexes = [models.Index(fields=["user", "expiry"], name="accounts_token_user_expiry")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
