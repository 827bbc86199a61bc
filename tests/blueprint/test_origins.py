"""The board's socket opens only from a page of this site (blueprint/origins.py)."""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.origins import same_origin


def scope(
    origin: str | None, host: str | None = "blueprint.example.com", scheme: str = "wss", **headers: str
) -> dict[str, Any]:
    sent = [(b"origin", origin.encode())] if origin is not None else []
    if host is not None:
        sent.append((b"host", host.encode()))
    sent += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": sent}


@pytest.fixture(autouse=True)
def _production_hosts(settings: Any) -> None:
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["blueprint.example.com", "[::1]"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://blueprint.example.com", "blueprint.example.com", "wss"),
        ("https://blueprint.example.com:443", "blueprint.example.com", "wss"),  # the default port named
        ("HTTPS://Blueprint.Example.com", "blueprint.example.com", "wss"),
        ("http://blueprint.example.com:8000", "blueprint.example.com:8000", "ws"),
        ("http://[::1]:8000", "[::1]:8000", "ws"),
    ],
)
def test_a_page_of_the_same_origin_may_open_the_socket(origin: str, host: str, scheme: str) -> None:
    assert same_origin(scope(origin, host, scheme))


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("https://evil.example", "blueprint.example.com", "wss"),  # another site
        ("https://blueprint.example.com:4443", "blueprint.example.com", "wss"),  # another port
        ("http://blueprint.example.com", "blueprint.example.com", "wss"),  # another scheme
        ("https://blueprint.example.com", "blueprint.example.com", "ws"),  # an https page on plain ws
        ("https://sub.blueprint.example.com", "sub.blueprint.example.com", "wss"),  # a host not allowed
        ("null", "blueprint.example.com", "wss"),  # a sandboxed frame or a file
        ("https://blueprint.example.com/board", "blueprint.example.com", "wss"),  # not an origin
        ("https://blueprint.example.com:99999", "blueprint.example.com", "wss"),  # no such port
    ],
)
def test_a_page_of_another_origin_may_not(origin: str, host: str, scheme: str) -> None:
    assert not same_origin(scope(origin, host, scheme))


def test_without_an_origin_or_a_host_nothing_opens() -> None:
    assert not same_origin(scope(None))
    assert not same_origin(scope("https://blueprint.example.com", host=None))


def test_behind_a_tls_proxy_the_forwarded_scheme_counts_only_when_the_proxy_is_trusted(settings: Any) -> None:
    proxied = scope("https://blueprint.example.com", scheme="ws", x_forwarded_proto="https")
    assert not same_origin(proxied)  # BEHIND_PROXY off: the header could come from anyone
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert same_origin(proxied)


def test_a_trusted_origin_may_open_it_too(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://blueprint.example.com"]
    # the proxy speaks plain ws to the server and says nothing of the scheme
    assert same_origin(scope("https://blueprint.example.com", scheme="ws"))
    assert not same_origin(scope("https://other.example.com", scheme="ws"))
