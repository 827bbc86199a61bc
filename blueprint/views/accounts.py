"""The person's own pages: API tokens, the password change, and the answer to a lock-out.

The log-in and password pages are Django's (django.contrib.auth.urls) with the templates in
templates/registration/; the password change checks the old password through ``authenticate``, so
django-axes counts a wrong one like a failed log-in (Django's form checks it directly, and a stolen
session could guess the password there without limit). The tokens page follows the pages' pattern (blueprint/views/pages.py): an
htmx request gets the ``tokens`` partial, a plain one the whole page, a refusal keeps the form as
typed beside its errors. A new token's secret is shown once and never again: in the htmx answer
that made it, or — a plain form post — on the page the post redirects to, which takes it out of the
session as it shows it (so reloading that page neither shows it again nor makes a second token).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from blueprint.accounts.models import TOKEN_NAME_MAX, ApiToken
from blueprint.accounts.selectors import api_tokens_of
from blueprint.accounts.throttle import lockout_ends, lockout_sentence, retry_after_seconds, try_again_at
from blueprint.services.accounts import DEFAULT_LIFETIME, api_token_create, api_token_revoke
from blueprint.views import HtmxHttpRequest
from blueprint.views.pages import FormState
from decisioning.errors import BlueprintError, NotFound

TOKEN_FORM_FIELDS = ("name", "expires_in_days")
NEW_TOKEN_SESSION_KEY = "new_api_token"  # the id and secret of a token just made, until shown


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, with the old password checked by ``authenticate`` (counted by django-axes)."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        who = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if who is None or who.pk != self.user.pk:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}


def login_locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    """django-axes' answer to a refused password (``AXES_LOCKOUT_CALLABLE``): the page that asked
    for it again — the log-in page, or the password change — 429 with Retry-After, saying when to
    try again. (Axes' middleware passes other arguments, differently in sync and async code; the
    request carries all it needs.)"""
    until = lockout_ends(request, getattr(request, "axes_credentials", None))
    context: dict[str, Any] = {"locked_out": lockout_sentence(until), "try_again_at": try_again_at(until)}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == "password_change" and request.user.is_authenticated:
        context["form"] = PasswordChangeForm(request.user, request=request)
        template = "registration/password_change_form.html"
    else:
        username = request.POST.get("username", "") if request.method == "POST" else ""
        context["form"] = auth_forms.AuthenticationForm(request, initial={"username": username[:150]})
        context["next"] = request.POST.get("next", "") or request.GET.get("next", "")
        template = "registration/login.html"
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after_seconds(until))
    return response


def _tokens_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "tokens": list(api_tokens_of(request.user)),
        "form": FormState(
            {"name": "", "expires_in_days": str(settings.API_TOKEN_DAYS)}, fields=TOKEN_FORM_FIELDS
        ),
        "name_max": TOKEN_NAME_MAX,
        "days_default": settings.API_TOKEN_DAYS,
        "days_max": settings.API_TOKEN_MAX_DAYS,
    }
    context.update(extra)
    return context


def _tokens(request: HtmxHttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = _tokens_context(request, **extra)
    if request.htmx:
        response = render(
            request, "accounts/tokens.html#tokens", context, status=422 if status >= 400 else status
        )
    else:
        response = render(request, "accounts/tokens.html", context, status=status)
    if context.get("secret"):  # never from a cache or the browser's history
        add_never_cache_headers(response)
    return response


@login_required
@require_GET
def api_tokens(request: HtmxHttpRequest) -> HttpResponse:
    new = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    if isinstance(new, dict):
        created = next((t for t in api_tokens_of(request.user) if t.pk == new.get("id")), None)
        if created is not None:  # (revoked meanwhile, in another tab: nothing to show)
            return _tokens(request, created=created, secret=new.get("secret"))
    return _tokens(request)


def _days(raw: str) -> Any:
    """The lifetime as typed: a whole number when it is one, the default when left empty, else the
    text (which the service refuses, naming the field)."""
    raw = raw.strip()
    if not raw:
        return DEFAULT_LIFETIME
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else raw


@login_required
@require_POST
def api_token_create_view(request: HtmxHttpRequest) -> HttpResponse:
    typed = {f: request.POST.get(f, "") for f in TOKEN_FORM_FIELDS}
    try:
        token, secret = api_token_create(
            user=request.user, name=typed["name"], expires_in_days=_days(typed["expires_in_days"])
        )
    except BlueprintError as exc:
        form = FormState(typed, exc.problems, TOKEN_FORM_FIELDS)
        return _tokens(request, status=exc.status, form=form)
    if request.htmx:  # the answer replaces the list in place: the secret exists in it only
        return _tokens(request, created=token, secret=secret)
    # a plain post: redirected, so that reloading the page cannot post (and make a token) again
    request.session[NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "secret": secret}
    return HttpResponseRedirect(reverse("api_tokens"), status=303)


@login_required
@require_POST
def api_token_revoke_view(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    try:
        token: ApiToken = api_token_revoke(user=request.user, token_id=token_id)
    except NotFound as exc:  # someone else's, or revoked already (in another tab)
        raise Http404(exc.message) from None
    note = f"Revoked “{token.name}”: it no longer works."
    if not request.htmx:
        messages.success(request, note)
        return HttpResponseRedirect(reverse("api_tokens"))
    return _tokens(request, tokens_note=note)
