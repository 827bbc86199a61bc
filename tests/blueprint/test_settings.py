"""The settings module read from the environment, each case in a fresh interpreter.

Settings are read once at import, so every case starts Python anew with exactly the environment
it names (nothing inherited from the developer's shell or the test run).
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARS = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "BEHIND_PROXY",
    "EMAIL_BACKEND",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "DB_CONN_MAX_AGE",
    "LOG_LEVEL",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_COOLOFF_MINUTES",
    "LOGIN_PROXY_COUNT",
    "API_TOKEN_DAYS",
    "API_TOKEN_MAX_DAYS",
    "API_HEAVY_RATE",
)
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE']); print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.DEBUG)"
)


def production_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(60))


def run(code_or_args: str | list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS and not k.startswith("DJANGO_")}
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "blueprint.settings", "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    )
    clean.update(env)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The ImproperlyConfigured line the start ended with."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if "ImproperlyConfigured" in line]
    assert lines, result.stderr
    return lines[-1]


def test_nothing_set_means_sqlite_in_memory_layer_and_debug(tmp_path: Path) -> None:
    result = run(SHOW, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
    ]


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path: Path) -> None:
    result = run(
        SHOW,
        tmp_path,
        DATABASE_URL="postgresql://bp:secret@db.internal:5432/blueprint",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == [
        "django.db.backends.postgresql",
        "channels_redis.core.RedisChannelLayer",
    ]


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_a_debug_value_that_is_not_a_yes_or_no_stops_the_start(tmp_path: Path, value: str) -> None:
    line = refusal(run(SHOW, tmp_path, DEBUG=value))
    assert f"DEBUG={value!r} is not understood" in line
    assert "true/false" in line


def test_production_without_a_secret_key_stops_the_start(tmp_path: Path) -> None:
    line = refusal(run(SHOW, tmp_path, DEBUG="0", ALLOWED_HOSTS="example.com"))
    assert "SECRET_KEY must be set when DEBUG is off" in line


def test_production_with_a_short_secret_key_stops_the_start(tmp_path: Path) -> None:
    line = refusal(run(SHOW, tmp_path, DEBUG="false", SECRET_KEY="short", ALLOWED_HOSTS="example.com"))
    assert "SECRET_KEY is too short" in line


def test_production_without_allowed_hosts_stops_the_start(tmp_path: Path) -> None:
    line = refusal(run(SHOW, tmp_path, DEBUG="off", SECRET_KEY=production_key()))
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in line


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://bp:secret@db:3306/blueprint", "DATABASE_URL must be a PostgreSQL URL"),
        ("postgresql://bp:secret@db:notaport/blueprint", "DATABASE_URL could not be read"),
        ("postgresql://bp:secret@db:5432/", "DATABASE_URL names no database"),
    ],
)
def test_a_bad_database_url_stops_the_start_with_a_message(tmp_path: Path, url: str, message: str) -> None:
    assert message in refusal(run(SHOW, tmp_path, DATABASE_URL=url))


@pytest.mark.parametrize("url", ["http://cache:6379", "localhost:6379"])
def test_a_bad_redis_url_stops_the_start_with_a_message(tmp_path: Path, url: str) -> None:
    assert "REDIS_URL must look like redis://host:6379/0" in refusal(run(SHOW, tmp_path, REDIS_URL=url))


def test_a_bad_number_stops_the_start_with_a_message(tmp_path: Path) -> None:
    line = refusal(run(SHOW, tmp_path, SECURE_HSTS_SECONDS="a year"))
    assert "SECURE_HSTS_SECONDS='a year' is not a whole number" in line


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT=0 must be from 1 to 1000"),
        ({"LOGIN_COOLOFF_MINUTES": "0"}, "LOGIN_COOLOFF_MINUTES=0 must be from 1 to 10080"),
        ({"LOGIN_PROXY_COUNT": "0"}, "LOGIN_PROXY_COUNT=0 must be 1 or more"),
        ({"API_TOKEN_DAYS": "400"}, "API_TOKEN_DAYS=400 must be from 1 to API_TOKEN_MAX_DAYS"),
        ({"API_TOKEN_MAX_DAYS": "0"}, "API_TOKEN_MAX_DAYS=0 must be from 1 to 3650"),
    ],
)
def test_a_log_in_limit_or_token_lifetime_out_of_range_stops_the_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    assert message in refusal(run(SHOW, tmp_path, **env))


def test_log_in_limits_and_token_lifetimes_come_from_the_environment(tmp_path: Path) -> None:
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.REST_KNOX['TOKEN_TTL'].days)"
    )
    assert run(show, tmp_path).stdout.split() == ["10", "900.0", "30"]
    changed = run(show, tmp_path, LOGIN_FAILURE_LIMIT="5", LOGIN_COOLOFF_MINUTES="60", API_TOKEN_DAYS="7")
    assert changed.stdout.split() == ["5", "3600.0", "7"]


def test_the_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        DEBUG="0",
        SECRET_KEY=production_key(),
        ALLOWED_HOSTS="example.com",
        CSRF_TRUSTED_ORIGINS="https://example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_flags_debug_left_on(tmp_path: Path) -> None:
    """The check above can fail: with DEBUG on it reports the insecure settings."""
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr  # DEBUG should not be True in deployment


def test_production_settings_are_secure(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS)"
    )
    result = run(
        code,
        tmp_path,
        DEBUG="0",
        SECRET_KEY=production_key(),
        ALLOWED_HOSTS="example.com",
        BEHIND_PROXY="1",
        CSRF_TRUSTED_ORIGINS="https://example.com, https://www.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True True True ('HTTP_X_FORWARDED_PROTO', 'https') ['https://example.com', 'https://www.example.com']"
    )
