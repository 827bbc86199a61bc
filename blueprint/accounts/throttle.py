"""Log-in throttling with django-axes (configured in settings: LOGIN_FAILURE_LIMIT failures by account
or by address within LOGIN_COOLOFF_MINUTES lock either out for that long).

Every log-in goes through ``django.contrib.auth.authenticate`` with its request — the log-in page,
the admin's, the API's ``auth/token/`` — so axes counts them all in one store and refuses a locked
account or address before any password is checked. This module holds what the project adds: the
address behind a proxy, a reset on success that forgives only the failures it explains, and when a
lock-out ends (for ``Retry-After`` and the sentence that tells the person).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def _address(text: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((text or "").strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address log-in failures are counted by (``AXES_CLIENT_IP_CALLABLE``).

    The peer's address; behind a reverse proxy (``BEHIND_PROXY``), the one the proxy appended to
    X-Forwarded-For, ``LOGIN_PROXY_COUNT`` entries from the right — whatever a client puts there
    itself stands further left and is never read, or it could choose a fresh address per guess.
    Not an IP address (a malformed header, a Unix socket): None, which counts as one address."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    if not settings.BEHIND_PROXY:
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < settings.LOGIN_PROXY_COUNT:
        return peer
    return _address(hops[-settings.LOGIN_PROXY_COUNT])


class LoginAttempts(AxesDatabaseHandler):
    """Axes' database handler (``AXES_HANDLER``), shared by every worker, with one change."""

    def reset_user_attempts(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """A successful log-in forgives the failures of that account from that address, no others.

        Axes' own reset deletes every attempt that matches any lock-out parameter; with the address
        among them, that is every failure from the address, against whichever account. Someone
        with an account of their own could then guess another person's password nine times, log
        in as themselves, and guess nine times more, for ever."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count


def lockout_ends(request: Any, credentials: dict[str, Any] | None) -> dt.datetime:
    """When the lock-out that refused ``request`` ends: the moment enough of the counted failures
    are older than the cool-off for both the account's and the address's count to be under the
    limit again. Axes keeps one row per account, address and browser with the time of its latest
    failure, and a row stops counting as a whole once that time is older than the cool-off."""
    AxesProxyHandler.update_request(request)
    now = timezone.now()
    cool_off = get_cool_off(request) or dt.timedelta(0)
    limit = get_failure_limit(request, credentials)
    ends = [now]
    for attempts in AxesProxyHandler.get_implementation().get_user_attempts(request, credentials):
        rows = sorted(attempts.values_list("attempt_time", "failures_since_start"))
        counted = sum(failures for _, failures in rows)
        for attempt_time, failures in rows:  # the oldest stop counting first
            if counted < limit:
                break
            counted -= failures
            ends.append(attempt_time + cool_off)
    return max(ends)


def retry_after_seconds(until: dt.datetime) -> int:
    """Whole seconds until ``until``, at least 1 (the value of a Retry-After header)."""
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def try_again_at(until: dt.datetime) -> str:
    """``until`` as a person reads it: "14:32 UTC", with the date when it is not today."""
    local, today = timezone.localtime(until), timezone.localdate()
    clock = f"{local:%H:%M} {local.tzname() or settings.TIME_ZONE}"
    return clock if local.date() == today else f"{local.day} {local:%B %Y}, {clock}"


def lockout_sentence(until: dt.datetime) -> str:
    """What a refused log-in is told, the same on the page and in the API."""
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return (
        "Too many wrong passwords for this account or from this address. "
        f"Try again at {try_again_at(until)} (in {wait}); until then the right password is refused too."
    )
