"""Each API token of DRF's ``rest_framework.authtoken`` (kept in plain text, never expiring) becomes a
hashed, named token that keeps working for DRF_TOKENS_LAST_DAYS more days, so integrations go on
while their owners make new ones; then DRF's table, with the plain-text keys, is dropped.

``rest_framework.authtoken`` is no longer installed, so its table is read with SQL, when it is there
(a database made before this change); a new database has none and nothing happens.
"""

from __future__ import annotations

import datetime as dt

from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS

DRF_TABLE = "authtoken_token"
DRF_TOKENS_LAST_DAYS = 90


def from_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} FROM {quote(DRF_TABLE)}")
        rows = cursor.fetchall()
    now = timezone.now()
    expiry = now + dt.timedelta(days=DRF_TOKENS_LAST_DAYS)
    for key, user_id, created in rows:
        if isinstance(created, str):  # SQLite without converters
            created = dt.datetime.fromisoformat(created)
        if created is not None and timezone.is_naive(created):
            created = timezone.make_aware(created, dt.timezone.utc)
        token = ApiToken(
            user_id=user_id,
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            name=f"Token from before {now:%Y-%m-%d}",
            expiry=expiry,
        )
        token.save()
        if created is not None:  # auto_now_add set it to now
            ApiToken.objects.filter(pk=token.pk).update(created=created)
    schema_editor.execute(f"DROP TABLE {quote(DRF_TABLE)}")
    # as if rest_framework.authtoken had never been installed (installing it again makes a new table)
    schema_editor.execute(
        f"DELETE FROM {quote('django_migrations')} WHERE {quote('app')} = %s", params=["authtoken"]
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(from_drf_tokens, migrations.RunPython.noop)]
