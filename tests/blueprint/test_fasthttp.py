"""The decide hot path (``blueprint.fasthttp``) answers exactly as Django's ASGI handler does.

Many requests — every role, token and session auth (with and without the CSRF token), bad tokens,
no credentials, other blueprints, every version choice, explanations, bad bodies and media types,
bodies past the upload limit — are sent through both ASGI applications in process; status, every
header (in order, cookies included) and the body must be identical. Requests the hot path does not
take (other paths and methods) are checked to reach Django's handler.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import signals
from django.core.asgi import get_asgi_application
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import Client

from blueprint.fasthttp import DECIDE_PATH, DecideFastPath
from blueprint.models import Blueprint, Membership, Role
from blueprint.services import version_approve, version_publish
from decisioning.engine import cache_clear
from tests.accounts import api_token

pytestmark = pytest.mark.django_db

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class InlineFastPath(DecideFastPath):
    """Runs the worker's part on the test's thread, inside its database transaction (the worker
    thread would not see the test's uncommitted rows), and freezes nothing in the test process;
    everything else is the real hot path."""

    freeze_after = ()

    async def run(self, fn: Any, *args: Any) -> Any:
        return await sync_to_async(fn, thread_sensitive=True)(*args)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache_clear()


@pytest.fixture(autouse=True)
def _keep_the_connection() -> Any:
    # as Django's test client does: the test's transaction must outlive each request
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.split("?")[0],
        "raw_path": path.split("?")[0].encode(),
        "query_string": path.split("?")[1].encode() if "?" in path else b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    # the body in pieces, as a server hands a large one over
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
    messages = [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1}
        for n, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the client waits for its answer (cancelled with the request)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert not sent[-1].get("more_body", False)
    return start["status"], list(start["headers"]), content


@pytest.fixture
def apps() -> tuple[Any, Any]:
    plain = get_asgi_application()
    return plain, InlineFastPath(plain)


def session_headers(user: Any, *, csrf: bool, origin: bytes | None = None) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    request = type("R", (), {"META": {}, "COOKIES": {}})()
    token = get_token(request)  # type: ignore[arg-type]
    secret = request.META["CSRF_COOKIE"]  # type: ignore[attr-defined]
    headers = [(b"cookie", f"sessionid={session}; csrftoken={secret}".encode())]
    if csrf:
        headers.append((b"x-csrftoken", token.encode()))
    if origin is not None:
        headers.append((b"origin", origin))
    return headers


def test_the_hot_path_takes_only_single_decides() -> None:
    assert DECIDE_PATH.fullmatch("/api/v1/blueprints/12/decide/")
    for path in (
        "/api/v1/blueprints/12/decide",
        "/api/v1/blueprints/12/decide/batch/",
        "/api/v1/blueprints/12/decide/sql/",
        "/api/v1/blueprints/x/decide/",
        "/api/v1/blueprints/12/lint/",
    ):
        assert not DECIDE_PATH.fullmatch(path)


def test_decides_through_both_handlers_are_identical(apps, board: Blueprint, users: dict[str, Any], settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000
    plain, fast = apps
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="test")
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    other = Blueprint.objects.create(name="Not theirs", channels=["web"])
    unpublished = Blueprint.objects.create(name="No live version", channels=["web"])
    for role in ("owner", "viewer"):
        Membership.objects.create(blueprint=unpublished, user=users[role], role=Role(role))
    tokens = {role: api_token(user) for role, user in users.items()}

    credentials: list[list[tuple[bytes, bytes]]] = [
        *([(b"authorization", f"Token {key}".encode())] for key in tokens.values()),
        [(b"authorization", b"Token not-a-token")],
        [(b"authorization", b"Token")],
        [(b"authorization", b"Bearer abc")],
        [],
        session_headers(users["editor"], csrf=True),
        session_headers(users["viewer"], csrf=True, origin=b"http://testserver"),
        session_headers(users["editor"], csrf=False),
        session_headers(users["owner"], csrf=True, origin=b"http://elsewhere.example"),
    ]
    profile = {"segment": "Gold", "visits_30d": 5, "has_app": True, "products": ["savings"]}
    json_bodies: list[Any] = [
        {"profile": profile},
        {"profile": profile, "explain": True},
        {"profile": profile, "stage": "onboarding"},
        {"profile": profile, "stage": "nowhere"},
        {"profile": profile, "version": "draft"},
        {"profile": profile, "version": version.number},
        {"profile": profile, "version": 99},
        {"profile": profile, "version": "seven"},
        {"profile": profile, "at": "2025-06-30"},
        {"profile": profile, "at": "2025-02-30"},
        {"profile": {"segment": "Tin", "age": "old", "last_login": "yesterday"}},
        {"profile": []},
        {},
        [],
        {"profile": profile, "explain": "perhaps"},
        {"profile": {"city": "x" * 300_000}},  # past DATA_UPLOAD_MAX_MEMORY_SIZE
    ]
    bodies: list[tuple[bytes, bytes]] = [
        (b"application/json", json.dumps(body).encode()) for body in json_bodies
    ]
    bodies += [
        (b"application/json", b'{"profile": {'),
        (b"application/json", b"\xff\xfe not utf-8"),
        (b"application/json", b""),
        (b"text/plain", b"profile"),
        (b"application/x-www-form-urlencoded", b"profile=1"),
        (b"application/json; charset=utf-8", json.dumps({"profile": profile}).encode()),
    ]
    paths = [
        f"/api/v1/blueprints/{board.pk}/decide/",
        f"/api/v1/blueprints/{board.pk}/decide/?format=json",
        f"/api/v1/blueprints/{other.pk}/decide/",
        f"/api/v1/blueprints/{unpublished.pk}/decide/",
        "/api/v1/blueprints/999999/decide/",
    ]
    compared = 0
    seen: set[int] = set()
    for path, headers, (media, body) in itertools.product(paths, credentials, bodies):
        if path != paths[0] and body != bodies[0][1] and headers is not credentials[0]:
            continue  # other paths: a few bodies and credentials are enough
        sent = [*headers, (b"content-type", media), (b"content-length", str(len(body)).encode())]
        expected = call(plain, "POST", path, sent, body)
        got = call(fast, "POST", path, sent, body)
        assert got == expected, (path, headers, body[:200])
        seen.add(expected[0])
        compared += 1
    assert compared > 300
    assert {200, 400, 401, 403, 404, 409, 413, 415} <= seen, seen
    # the express lane answered the plain token requests once it had learnt their headers
    assert fast.handler.express.answered > 20


def plain_decide(board: Blueprint, users: dict[str, Any]) -> tuple[str, bytes, list[tuple[bytes, bytes]]]:
    """A live version of ``board``, and the plain decide request a viewer's token makes of it: its
    path, body and headers (the request the express lane takes)."""
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="test")
    version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    key = api_token(users["viewer"])
    body = json.dumps({"profile": {"segment": "Gold"}}).encode()
    headers = [
        (b"authorization", f"Token {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    return f"/api/v1/blueprints/{board.pk}/decide/", body, headers


def test_the_express_lane_answers_only_what_the_whole_stack_would_answer_the_same(
    apps, board: Blueprint, users: dict[str, Any], settings
):
    plain, fast = apps
    path, body, plain_headers = plain_decide(board, users)
    assert call(fast, "POST", path, plain_headers, body)[0] == 200  # learnt from the whole stack
    assert fast.handler.express.answered == 0
    assert call(fast, "POST", path, plain_headers, body) == call(plain, "POST", path, plain_headers, body)
    assert fast.handler.express.answered == 1
    variants = [
        [*plain_headers, (b"cookie", b"sessionid=x")],
        [*plain_headers, (b"accept", b"text/html")],
        [*plain_headers[:2], (b"content-length", b"999999999")],
        [*plain_headers, (b"authorization", b"Token twice")],
        [
            (b"authorization", plain_headers[0][1].replace(b"Token ", b"token  ") + b" extra"),
            *plain_headers[1:],
        ],
        [(b"host", b"evil.example"), *plain_headers],
    ]
    for headers in variants:
        assert call(fast, "POST", path, headers, body) == call(plain, "POST", path, headers, body), headers
    assert call(fast, "POST", path + "?format=json", plain_headers, body) == call(
        plain, "POST", path + "?format=json", plain_headers, body
    )
    assert fast.handler.express.answered == 1  # none of these by the express lane
    # a length shorter than the body: Django reads what came, in both lanes alike
    short = [*plain_headers[:2], (b"content-length", b"3")]
    assert call(fast, "POST", path, short, body) == call(plain, "POST", path, short, body)
    # behind a redirect to HTTPS (the middleware reads it when made: new applications)
    settings.SECURE_SSL_REDIRECT = True
    plain = get_asgi_application()
    fast = InlineFastPath(plain)
    for _ in range(2):
        redirected = call(fast, "POST", path, plain_headers, body)
        assert redirected == call(plain, "POST", path, plain_headers, body) and redirected[0] == 301
    assert fast.handler.express.answered == 0


def test_other_requests_go_to_djangos_handler(apps, board: Blueprint, users: dict[str, Any]):
    plain, fast = apps
    key = api_token(users["viewer"])
    auth = [(b"authorization", f"Token {key}".encode())]
    for method, path in [
        ("GET", f"/api/v1/blueprints/{board.pk}/decide/"),
        ("POST", f"/api/v1/blueprints/{board.pk}/decide/batch/"),
        ("GET", f"/api/v1/blueprints/{board.pk}/lint/"),
        ("GET", "/api/v1/nothing-here/"),
    ]:
        sent = [*auth, (b"content-type", b"application/json")]
        assert call(fast, method, path, sent, b"{}") == call(plain, method, path, sent, b"{}")


def test_after_its_warm_up_the_hot_path_freezes_the_long_lived_objects(apps, board: Blueprint, users):
    import gc

    plain, _ = apps
    fast = InlineFastPath(plain)
    fast.freeze_after = (2,)
    key = api_token(users["viewer"])
    sent = [(b"authorization", f"Token {key}".encode()), (b"content-type", b"application/json")]
    before = gc.get_freeze_count()
    try:
        call(fast, "POST", f"/api/v1/blueprints/{board.pk}/decide/", sent, b"{}")
        assert gc.get_freeze_count() == before
        call(fast, "POST", f"/api/v1/blueprints/{board.pk}/decide/", sent, b"{}")
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_the_express_lane_keeps_the_headers_of_secure_and_plain_requests_apart(
    board: Blueprint, users: dict[str, Any], settings
):
    # behind a proxy that ends TLS: the scheme is http either way, and only Django's reading of the
    # proxy's header tells the requests apart (HSTS goes on secure answers only)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    plain = get_asgi_application()
    fast = InlineFastPath(plain)
    path, body, sent = plain_decide(board, users)
    secure = [*sent, (b"x-forwarded-proto", b"https")]
    for headers in (secure, secure, sent, sent):
        assert call(fast, "POST", path, headers, body) == call(plain, "POST", path, headers, body)
    assert any(
        name.lower() == b"strict-transport-security" for name, _ in call(fast, "POST", path, secure, body)[1]
    )
    assert fast.handler.express.answered == 3  # the second of each kind, and the last secure one
