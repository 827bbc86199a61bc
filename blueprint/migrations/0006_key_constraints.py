"""Keys are whole strings underneath too: the validator ends in \\Z, and a check constraint holds
each kind of key, after 0005 cleaned the stored ones (in a migration of its own, so no table is
altered in the transaction that updated its rows)."""

import django.core.validators
from django.db import migrations, models

KEY = "^[a-z0-9_-]{1,64}\\Z"


def key_field() -> models.CharField:
    return models.CharField(
        max_length=64,
        validators=[
            django.core.validators.RegexValidator(KEY, "Use lower-case letters, digits, '-' and '_' only.")
        ],
    )


class Migration(migrations.Migration):
    dependencies = [("blueprint", "0005_keys_whole")]

    operations = [
        *(
            migrations.AlterField(model_name=model, name="key", field=key_field())
            for model in ("attribute", "offer", "stage")
        ),
        *(
            migrations.AddConstraint(
                model_name=model,
                constraint=models.CheckConstraint(
                    condition=models.Q(key__regex=KEY), name=f"{model}_key_whole"
                ),
            )
            for model in ("attribute", "stage", "offer")
        ),
    ]
