"""A person's access ends, however their password changes or their account is deactivated.

The password-change page, the admin, ``changepassword``, a password reset and code calling
``set_password()`` all end in the user's ``save()`` (and so does ``set_unusable_password()``, which
the admin uses to turn password log-ins off); Django keeps the new raw password on the user
from ``set_password()`` until that save (to tell password validators), which is how a new password
is told from the hash being upgraded at log-in (which saves the password field too, but is no
change). A bulk ``QuerySet.update`` sends no signal: the token authentication and the board's
sockets refuse an inactive account on their own, and a session whose password hash is stale.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from blueprint.services.accounts import account_access_end, account_sockets_close

ACCESS_FIELDS = frozenset({"password", "is_active"})


def end_access_when_credentials_change(
    sender: type, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or kwargs.get("raw"):
        return
    if update_fields is not None and not ACCESS_FIELDS & set(update_fields):
        return  # last_login at every log-in, and other fields: nothing about access
    new_password = getattr(instance, "_password", None) is not None
    if new_password or not instance.is_active or not instance.has_usable_password():
        account_access_end(user_id=instance.pk)


def close_sockets_of_a_deleted_user(sender: type, instance: Any, **kwargs: Any) -> None:
    user_id = instance.pk  # the tokens go by cascade
    transaction.on_commit(lambda: account_sockets_close(user_id=user_id))


def close_sockets_of_the_session_logged_out(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    """A log-out ends one session: its board sockets close now (the person's others stay)."""
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if user is not None and session_key:
        transaction.on_commit(lambda: account_sockets_close(user_id=user.pk, session_key=session_key))


def connect() -> None:
    post_save.connect(
        end_access_when_credentials_change, sender=settings.AUTH_USER_MODEL, dispatch_uid="access-end"
    )
    post_delete.connect(
        close_sockets_of_a_deleted_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="access-end-deleted"
    )
    user_logged_out.connect(close_sockets_of_the_session_logged_out, dispatch_uid="access-end-logout")
