"""Same-origin WebSockets: the board's socket opens only from a page of this site.

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host name with ``ALLOWED_HOSTS``
and nothing else, so a page on another port or scheme of an allowed host (another app on the same
machine, say) could open the board with the visitor's session cookie: cookies are not scoped by
port, and such pages are same-site. Here the Origin must be the very origin the socket was opened
on — scheme, host and port — or one listed in ``CSRF_TRUSTED_ORIGINS``, as Django asks of a form
post; and the Host must be allowed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None when it is not an http(s) origin."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _parse(origin: str) -> tuple[str, str, int] | None:
    scheme, _, rest = origin.partition("://")
    return _origin(scheme.lower(), rest) if rest and "/" not in rest else None


def _allowed_hosts() -> list[str]:
    # as HttpRequest.get_host does: with DEBUG and no ALLOWED_HOSTS, the local names
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def same_origin(scope: dict[str, Any]) -> bool:
    """Whether a WebSocket handshake comes from a page of this site."""
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    try:
        origin = headers[b"origin"].decode("latin-1")
        host = headers[b"host"].decode("latin-1")
    except (KeyError, UnicodeDecodeError):
        return False
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    asked = _parse(origin)
    if asked is None:
        return False
    secure = scope.get("scheme") in ("wss", "https")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        # behind a proxy that terminates TLS, the proxy says which scheme the browser used
        forwarded = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[0].strip()
        secure = secure or forwarded == "https"
    if asked == _origin("https" if secure else "http", host):
        return True
    return any(asked == _parse(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS)


class SameOriginValidator:
    """ASGI middleware: a WebSocket from another origin is refused (HTTP 403) before it is accepted."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not same_origin(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
