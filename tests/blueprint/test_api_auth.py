"""The API's token authentication (``blueprint.api.auth``) gives what DRF's does: the same token and
user objects, the same refusals and messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from blueprint.api.auth import TokenAuthentication

pytestmark = pytest.mark.django_db


def fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_token_gives_the_same_user_and_token_as_drf(users: dict[str, Any]) -> None:
    user = users["editor"]
    user.first_name, user.email = "Édith", "edith@example.com"
    user.save()
    key = Token.objects.create(user=user).key
    ours, theirs = TokenAuthentication(), authentication.TokenAuthentication()
    for _ in range(2):  # compiled, then reused
        got_user, got_token = ours.authenticate_credentials(key)
        want_user, want_token = theirs.authenticate_credentials(key)
        assert fields(got_user) == fields(want_user)
        assert fields(got_token) == fields(want_token)
        assert got_token.user is got_user and got_user.pk == user.pk
        assert not got_user._state.adding and got_user._state.db == connection.alias


@pytest.mark.parametrize("inactive", [False, True])
def test_unknown_and_inactive_are_refused_with_drfs_messages(users: dict[str, Any], inactive: bool) -> None:
    user = users["viewer"]
    key = Token.objects.create(user=user).key
    if inactive:
        user.is_active = False
        user.save()
    else:
        key = key[::-1]
    messages = []
    for auth in (TokenAuthentication(), authentication.TokenAuthentication()):
        with pytest.raises(exceptions.AuthenticationFailed) as refused:
            auth.authenticate_credentials(key)
        messages.append(str(refused.value.detail))
    assert messages[0] == messages[1] == ("User inactive or deleted." if inactive else "Invalid token.")
