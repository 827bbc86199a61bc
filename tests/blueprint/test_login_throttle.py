"""Log-in throttling (django-axes, blueprint/accounts/throttle.py): failures are counted by account
and by address, the log-in page and the API's ``auth/token/`` together; past the limit every
log-in for that account or from that address is refused with 429 and Retry-After until the cool-off
has passed since the last counted failure, the right password included."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.test import AsyncClient, Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.blueprint.test_api import assert_error

pytestmark = pytest.mark.django_db

LIMIT = 3
COOL_OFF = dt.timedelta(minutes=15)


@pytest.fixture(autouse=True)
def _small_limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF


def form_log_in(username: str, password: str, address: str = "127.0.0.1", **headers: str) -> Any:
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    response.signed_in = "_auth_user_id" in client.session
    return response


def api_log_in(username: str, password: str, address: str = "127.0.0.1") -> Any:
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def cool_off_passes(by: dt.timedelta = COOL_OFF + dt.timedelta(seconds=1)) -> None:
    """As if ``by`` had passed since every counted failure."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= by
        attempt.save(update_fields=["attempt_time"])


def retry_after(response: Any) -> int:
    return int(response["Retry-After"])


def test_wrong_passwords_on_the_log_in_page_end_in_429_saying_when_to_try_again(
    users: dict[str, Any],
) -> None:
    answers = [form_log_in("owner", f"wrong {n}") for n in range(LIMIT)]
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429]
    locked = answers[-1]
    assert COOL_OFF.total_seconds() - 5 <= retry_after(locked) <= COOL_OFF.total_seconds()
    text = locked.content.decode()
    until = timezone.localtime(timezone.now() + COOL_OFF)
    said = re.search(r"Try again at (\d\d:\d\d) UTC \(in (\d+) minutes\)", text)
    assert said, text
    shown = dt.datetime.combine(until.date(), dt.time.fromisoformat(said.group(1)), until.tzinfo)
    assert abs(shown - until) <= dt.timedelta(minutes=1)
    assert said.group(2) == "15"
    assert 'name="password"' in text  # the form stays, for later


def test_the_right_password_is_refused_during_the_cool_off_and_works_after_it(users: dict[str, Any]) -> None:
    for n in range(LIMIT):
        form_log_in("owner", f"wrong {n}")
    refused = form_log_in("owner", "demo")
    assert refused.status_code == 429 and not refused.signed_in
    assert retry_after(refused) > 0
    cool_off_passes()
    allowed = form_log_in("owner", "demo")
    assert allowed.status_code == 302 and allowed.signed_in


def test_wrong_passwords_on_the_api_end_in_429_with_retry_after(users: dict[str, Any]) -> None:
    answers = [api_log_in("owner", f"wrong {n}") for n in range(LIMIT)]
    assert [a.status_code for a in answers] == [400] * (LIMIT - 1) + [429]
    message = assert_error(answers[-1], 429, "non_field_errors", "Too many wrong passwords")
    assert "Try again at" in message
    assert COOL_OFF.total_seconds() - 5 <= retry_after(answers[-1]) <= COOL_OFF.total_seconds()

    right = api_log_in("owner", "demo")
    assert right.status_code == 429 and "token" not in right.json()
    assert retry_after(right) > 0
    cool_off_passes()
    assert api_log_in("owner", "demo").status_code == 200


def test_the_page_and_the_api_share_one_count(users: dict[str, Any]) -> None:
    for n in range(LIMIT - 1):
        form_log_in("owner", f"wrong {n}")
    assert api_log_in("owner", "wrong again").status_code == 429
    assert form_log_in("owner", "demo").status_code == 429


def test_an_account_is_locked_whichever_addresses_the_guesses_come_from(users: dict[str, Any]) -> None:
    for n in range(LIMIT):
        api_log_in("owner", f"wrong {n}", address=f"198.51.100.{n + 1}")
    assert form_log_in("owner", "demo", address="203.0.113.50").status_code == 429
    # the address of the guesses is not, for another account, when it has not reached the limit
    assert form_log_in("editor", "demo", address="203.0.113.50").status_code == 302


def test_an_address_is_locked_whichever_accounts_it_guesses(users: dict[str, Any]) -> None:
    for n, username in enumerate(["owner", "editor", "approver"]):
        form_log_in(username, f"wrong {n}", address="198.51.100.7")
    assert form_log_in("viewer", "demo", address="198.51.100.7").status_code == 429
    assert api_log_in("viewer", "demo", address="198.51.100.7").status_code == 429
    assert form_log_in("viewer", "demo", address="198.51.100.8").status_code == 302


def test_logging_in_as_yourself_does_not_forgive_guesses_at_someone_else(users: dict[str, Any]) -> None:
    # an attacker with an account of their own, from one address
    for n in range(LIMIT - 1):
        api_log_in("owner", f"guess {n}")
    assert api_log_in("stranger", "demo").status_code == 200
    assert api_log_in("owner", "one guess more").status_code == 429


def test_a_successful_log_in_forgives_its_own_typos(users: dict[str, Any]) -> None:
    for n in range(LIMIT - 1):
        form_log_in("owner", f"typo {n}")
    assert form_log_in("owner", "demo").signed_in
    for n in range(LIMIT - 1):
        assert form_log_in("owner", f"typo again {n}").status_code == 200
    assert form_log_in("owner", "demo").signed_in


def test_tries_during_a_lock_out_do_not_extend_it(users: dict[str, Any]) -> None:
    for n in range(LIMIT):
        form_log_in("owner", f"wrong {n}")
    cool_off_passes(dt.timedelta(minutes=10))
    again = form_log_in("owner", "wrong during the lock-out")
    assert again.status_code == 429
    assert 4 * 60 <= retry_after(again) <= 5 * 60
    cool_off_passes(dt.timedelta(minutes=5, seconds=1))
    assert form_log_in("owner", "demo").signed_in


def test_an_address_the_client_writes_itself_is_not_believed(users: dict[str, Any]) -> None:
    for n in range(LIMIT):
        form_log_in(f"nobody{n}", "x", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert form_log_in("viewer", "demo", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_behind_a_proxy_the_address_it_appended_is_counted(users: dict[str, Any], settings: Any) -> None:
    settings.BEHIND_PROXY = True
    proxy = "10.0.0.2"
    for n in range(LIMIT):  # whatever the client put first, the proxy appended the real address
        form_log_in(f"nobody{n}", "x", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")
    assert form_log_in("viewer", "demo", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert form_log_in("viewer", "demo", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.10").signed_in
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_the_asgi_handler_answers_a_lock_out_the_same(users: dict[str, Any]) -> None:
    """Under ASGI the middleware runs async, where django-axes calls its lock-out answer with other
    arguments than in sync code; the page must not depend on them."""

    async def body() -> list[Any]:
        client = AsyncClient(REMOTE_ADDR="127.0.0.1")
        return [
            await client.post("/accounts/login/", {"username": "owner", "password": password})
            for password in [f"wrong {n}" for n in range(LIMIT)] + ["demo"]
        ]

    *_, locked, right = async_to_sync(body)()
    for response in (locked, right):
        assert response.status_code == 429
        assert 0 < retry_after(response) <= COOL_OFF.total_seconds()
        assert "Try again at" in response.content.decode()


def test_wrong_old_passwords_on_the_password_change_page_count_as_failed_log_ins(
    users: dict[str, Any],
) -> None:
    """A stolen session must not be a way to guess the password without limit."""
    session = Client()
    session.force_login(users["owner"])

    def change(old: str) -> Any:
        new = "a much longer new password 42"
        return session.post(
            "/accounts/password_change/", {"old_password": old, "new_password1": new, "new_password2": new}
        )

    answers = [change(f"guess {n}") for n in range(LIMIT - 1)]
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1)
    assert "Your old password was entered incorrectly" in answers[0].content.decode()
    assert form_log_in("owner", "one more guess").status_code == 429  # one count with the log-in page
    refused = change("demo")
    assert refused.status_code == 429 and retry_after(refused) > 0
    assert "Try again at" in refused.content.decode() and 'name="old_password"' in refused.content.decode()
    users["owner"].refresh_from_db()
    assert users["owner"].check_password("demo")  # unchanged
    cool_off_passes()
    assert change("demo").status_code == 302
