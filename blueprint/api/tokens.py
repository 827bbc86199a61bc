"""The API's log-in and API tokens, ``auth/token/`` and ``auth/tokens/`` (docs/architecture.md,
"The API contract").

``POST auth/token/`` exchanges a username and password for a new token, through
``django.contrib.auth.authenticate`` with the request, so django-axes counts the attempt with the
log-in page's (one count per account and per address) and refuses a locked-out one before the
password is checked: 429 with Retry-After. ``auth/tokens/`` lists, makes and revokes the caller's
own tokens (blueprint/services/accounts.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blueprint.accounts.models import TOKEN_NAME_MAX, ApiToken
from blueprint.accounts.selectors import api_tokens_of
from blueprint.accounts.throttle import lockout_ends, lockout_sentence, retry_after_seconds
from blueprint.api.openapi import MAX_ID, answers
from blueprint.api.parsers import StrictJSONParser
from blueprint.api.serializers import ErrorOutput
from blueprint.api.views import ApiView, parse_body, render
from blueprint.services.accounts import DEFAULT_LIFETIME, api_token_check, api_token_create, api_token_revoke

LIFETIME_HELP = (
    "Days until the token stops working, from 1 to API_TOKEN_MAX_DAYS (365 unless the operator changed it)."
)


class LogInInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenLogInInput(LogInInput):
    name = serializers.CharField(
        required=False,
        max_length=TOKEN_NAME_MAX,
        help_text="What the token is for, as its list shows it; by default when and how it was made.",
    )
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, help_text=f"{LIFETIME_HELP} Default: API_TOKEN_DAYS (30)."
    )


class TokenLogInOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as 'Authorization: Token <token>'. Shown this once.")
    id = serializers.IntegerField(help_text="The token's id, to revoke it: DELETE auth/tokens/{id}/.")
    name = serializers.CharField()
    expires = serializers.DateTimeField(help_text="When it stops working.")


class ApiTokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=TOKEN_NAME_MAX, help_text="What the token is for.")
    expires_in_days = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=f"{LIFETIME_HELP} Default: API_TOKEN_DAYS (30). A token made with a token ends no later than it.",
    )


class ApiTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField(help_text="When it stops working.")
    last_used = serializers.DateTimeField(allow_null=True, help_text="To the minute; null: never.")


class ApiTokenCreatedOutput(ApiTokenOutput):
    token = serializers.CharField(
        help_text="The secret, shown this once: send it as 'Authorization: Token <token>'."
    )


TOKEN_ID = OpenApiParameter(
    "token_id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="The token's id.",
)
LOCKED_OUT = OpenApiResponse(
    ErrorOutput,
    description="Too many wrong passwords for this account or from this address: the Retry-After header "
    "says in how many seconds to try again; until then the right password is refused too.",
)


class LoginLockedOut(APIException):
    """429 with Retry-After (DRF's exception handler sets it from ``wait``)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    path = "non_field_errors"

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(lockout_sentence(until))
        self.wait = retry_after_seconds(until)


def token_fields(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "created": token.created,
        "expires": token.expiry,
        "last_used": token.last_used,
    }


class TokenCreateApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        auth=[],
        request=TokenLogInInput,
        responses={**answers({200: TokenLogInOutput}, (400, 409, 413, 415)), 429: LOCKED_OUT},
        summary="Exchange a username and password for a new API token",
    )
    def post(self, request: Request) -> Response:
        body = parse_body(request, TokenLogInInput)
        given = LogInInput(data={k: v for k, v in body.items() if k in ("username", "password")})
        given.is_valid(raise_exception=True)
        name = body.get("name", f"Log-in through the API, {timezone.localtime():%Y-%m-%d %H:%M}")
        lifetime = body.get("expires_in_days", DEFAULT_LIFETIME)
        api_token_check(name=name, expires_in_days=lifetime)  # bad input changes nothing, counts nothing
        # DRF's request, not Django's: axes marks a lock-out on it and this view answers it; Django's
        # request stays unmarked, so the log-in page's lock-out middleware leaves this answer alone
        user = authenticate(request, **given.validated_data)  # type: ignore[arg-type]
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut(lockout_ends(request, getattr(request, "axes_credentials", None)))
            raise ValidationError({"password": ["The username and password do not match an active account."]})
        user_logged_in.send(sender=type(user), request=request, user=user)  # resets its failures
        token, secret = api_token_create(user=user, name=name, expires_in_days=lifetime)
        return render(
            TokenLogInOutput, {"token": secret, "id": token.pk, "name": token.name, "expires": token.expiry}
        )


class TokenListApi(ApiView):
    @extend_schema(
        operation_id="auth_tokens_list",
        tags=["auth"],
        responses=answers({200: ApiTokenOutput(many=True)}, (401,)),
        summary="Your API tokens that still work, newest first (their secrets are never shown again)",
    )
    def get(self, request: Request) -> Response:
        return render(ApiTokenOutput, [token_fields(t) for t in api_tokens_of(request.user)], many=True)

    @extend_schema(
        operation_id="auth_tokens_create",
        tags=["auth"],
        request=ApiTokenInput,
        responses=answers({201: ApiTokenCreatedOutput}, (400, 401, 409, 413, 415)),
        summary="Make a named API token that expires; its secret is in this answer only",
    )
    def post(self, request: Request) -> Response:
        body = parse_body(request, ApiTokenInput)
        made_with = request.auth if isinstance(request.auth, ApiToken) else None
        token, secret = api_token_create(
            user=request.user,
            name=body.get("name"),
            expires_in_days=body.get("expires_in_days", DEFAULT_LIFETIME),
            made_with=made_with,
        )
        return render(
            ApiTokenCreatedOutput, {**token_fields(token), "token": secret}, status.HTTP_201_CREATED
        )


class TokenDetailApi(ApiView):
    @extend_schema(
        operation_id="auth_tokens_destroy",
        tags=["auth"],
        parameters=[TOKEN_ID],
        responses=answers({204: None}, (401, 404)),
        summary="Revoke one of your API tokens: it stops working at once",
    )
    def delete(self, request: Request, token_id: int) -> Response:
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
