"""The single-decide endpoint's hot path under ASGI: the same Django view, without the thread churn.

Under daphne every HTTP request goes through Django's ``ASGIHandler``, which wraps each request in
asgiref's ``ThreadSensitiveContext``: the request's sync code — every ``MiddlewareMixin`` middleware,
the DRF view, its database reads — runs on a thread started for that request (and a second one for
the adapters), so each request pays for starting threads, for a new database connection on each of
them (connections are per thread; SQLite's is opened with its PRAGMAs), and for waiting in epoll
for them. Measured in process, a JSON 404 costs 0.6 ms through Django's sync handler and 5 to 6 ms
through its ASGI handler; a decide request several times that.

``DecideFastPath`` sits in front of it. ``POST /api/v1/blueprints/<id>/decide/`` — the endpoint a
website calls once per page view — is read by the same ``read_body`` as Django's (spooled to disk
past ``FILE_UPLOAD_MAX_MEMORY_SIZE``), then handed whole to one long-lived worker thread that runs
Django's *sync* handler: the very middleware list of ``settings.MIDDLEWARE`` (security headers, CSP,
sessions, CSRF, authentication, …), URL resolution, the DRF view with its authentication classes
(token and session, CSRF for session auth), permissions, error shapes and renderers — the same
code, so the same answers, status codes and headers (``tests/blueprint/test_fasthttp.py`` sends
many requests through both and compares them byte for byte). One hop per request to a thread that
stays, and keeps its database connection (``CONN_MAX_AGE``), instead of two threads started per
request. Every other request — other paths, other methods, WebSockets — goes to Django's
``ASGIHandler`` unchanged.

The collector. A full collection scans every object the process holds, and after the first requests
that is tens of thousands — Django's lazily built URL resolvers, DRF's fields, the compiled
versions: measured here, 33 to 51 ms a time, every few seconds under load, which alone put the p99 of
decides at 300/s near 90 ms. After the 1st, the 100th and the 1,000th decide a process has
answered (its warm-up), the hot path collects once and then ``gc.freeze()``s what is left, moving
those long-lived objects out of the collector's sight; a full collection then scans only what
requests leave behind (a few milliseconds). Only live objects are frozen, three times, so at most a
few cycles that die later are never reclaimed.

Why one thread: the work is CPU-bound Python under the GIL, and daphne runs one process per core
(the README's deployment), so more threads per process would only interleave requests and lengthen
each one; one thread answers them first come, first served, which keeps the tail short. It is also
what Django's own sync code under ASGI assumes: asgiref runs thread-sensitive code on one thread.
"""

from __future__ import annotations

import asyncio
import gc
import io
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted, RequestDataTooBig
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.urls import set_script_prefix
from rest_framework.renderers import JSONRenderer

DECIDE_PATH = re.compile(r"/api/v1/blueprints/([0-9]+)/decide/")
FREEZE_AFTER = (1, 100, 1000)  # decides answered, after which the long-lived objects are frozen

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class _SyncHandler(BaseHandler):
    """Django's request handling in its sync mode (as ``WSGIHandler`` runs it), for ASGI scopes."""

    request_class = ASGIHandler.request_class

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware(is_async=False)
        self.express = _Express(self.request_class)

    def respond(self, scope: Scope, body: IO[bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The response to one request: status, headers (cookies included) and content. By the
        express lane when it can answer, else by Django's whole stack."""
        lane = self.express.lane(scope, body)
        if lane is not None:
            answer = self.express.answer(lane)
            if answer is not None:
                return answer
            body = lane.rest(body)
        status, headers, content = self.respond_in_full(scope, body)
        if lane is not None and status == 200:
            self.express.learn(lane, headers)
        return status, headers, content

    def respond_in_full(self, scope: Scope, body: IO[bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The response of Django's stack; it is closed here, which sends ``request_finished``
        on this thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=ASGIHandler, scope=scope)
        response: HttpResponseBase
        try:
            request = self.request_class(scope, body)
        except UnicodeDecodeError:  # as ASGIHandler.create_request answers them
            response = HttpResponseBadRequest()
        except RequestDataTooBig:
            response = HttpResponse("413 Payload too large", status=413)
        else:
            response = self.get_response(request)
            response._handler_class = ASGIHandler  # type: ignore[attr-defined]
        try:
            # a decide answer is never streamed; were one, it is read whole here
            content = b"".join(response) if response.streaming else response.content  # type: ignore[attr-defined]
            headers = _headers(response)
            return response.status_code, headers, content
        finally:
            response.close()


# --- The express lane -------------------------------------------------------------------------------
#
# Most of a decide's time in Django's stack is not the decision: the middleware, DRF's request,
# negotiation, authentication and permission classes, and the response's own handling are about
# three quarters of it. The express lane answers the common request — a token, a JSON body, nothing
# else that could change the answer — with the same steps the view takes (the token lookup of
# blueprint.api.auth, the strict JSON parser, decisioning.api.decide_answer, DRF's JSON renderer)
# and the headers Django's stack gave the last such answer (security headers, CSP, Vary, Allow…),
# learnt from it, for secure requests and plain ones. Anything else, and any request it cannot answer with a 200 — a bad
# token, a bad body, a refusal — goes through the whole stack, which answers it as always (a
# decide changes nothing, so trying first costs only the time tried). The byte-for-byte comparison
# in tests/blueprint/test_fasthttp.py covers both lanes.

EXPRESS_MEDIA = frozenset({b"application/json", b"application/json; charset=utf-8"})
EXPRESS_ACCEPT = (None, b"*/*", b"application/json")


def _express_key(scope: Scope) -> str | None:
    """The token of a request the express lane may answer, by its headers; None for any other."""
    if scope.get("query_string"):
        return None
    seen: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name in seen or name == b"cookie":
            return None  # a session could sign in as someone else; a header twice is not plain
        seen[name] = value
    if seen.get(b"content-type") not in EXPRESS_MEDIA or seen.get(b"accept") not in EXPRESS_ACCEPT:
        return None
    words = seen.get(b"authorization", b"").split()
    if len(words) != 2 or words[0].lower() != b"token" or not words[1].isascii():
        return None
    return words[1].decode("ascii")


@dataclass
class _Lane:
    """A request the express lane may answer: its token and Django's request for it."""

    key: str
    request: HttpRequest
    body: bytes | None = None  # as Django read it (which closes the file it came in)

    def rest(self, body: IO[bytes]) -> IO[bytes]:
        """The body again, for the whole stack."""
        if self.body is not None:
            return io.BytesIO(self.body)
        body.seek(0)
        return body

    @property
    def secure(self) -> bool:
        return self.request.is_secure()


class _Express:
    """Answers of the express lane, and the headers learnt for them."""

    def __init__(self, request_class: type[HttpRequest]) -> None:
        self.request_class = request_class
        # secure or not → (the headers, the place of Content-Length among them)
        self.headers: dict[bool, tuple[list[tuple[bytes, bytes]], int]] = {}
        self.answered = 0

    def lane(self, scope: Scope, body: IO[bytes]) -> _Lane | None:
        """The request, when the express lane may answer it. Its host, scheme and body are Django's
        own reading of it (ALLOWED_HOSTS, proxy headers, the upload limit)."""
        key = _express_key(scope)
        if key is None:
            return None
        try:
            request = self.request_class(scope, body)  # type: ignore[call-arg]
            request.get_host()  # DisallowedHost: the whole stack answers 400
        except Exception:
            return None
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return None  # the whole stack redirects it
        return _Lane(key, request)

    def learn(self, lane: _Lane, headers: list[tuple[bytes, bytes]]) -> None:
        """Keep the headers of a 200 the whole stack gave an express-lane request."""
        places = [n for n, (name, _) in enumerate(headers) if name.lower() == b"content-length"]
        if len(places) == 1 and not any(name.lower() == b"set-cookie" for name, _ in headers):
            self.headers[lane.secure] = (list(headers), places[0])

    def answer(self, lane: _Lane) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        learnt = self.headers.get(lane.secure)
        if learnt is None:
            return None
        from blueprint.api.auth import TokenAuthentication
        from blueprint.api.parsers import StrictJSONParser
        from blueprint.api.views import field_names
        from decisioning.api import DecideInput, decide_answer

        request = lane.request
        signals.request_started.send(sender=ASGIHandler, scope=request.scope)  # type: ignore[attr-defined]
        try:
            user, _ = TokenAuthentication().authenticate_credentials(lane.key)
            # the body as Django reads it (RequestDataTooBig past the limit), parsed as DRF would
            lane.body = request.body
            data = StrictJSONParser().parse(io.BytesIO(lane.body), "application/json", {"encoding": "utf-8"})
            if not isinstance(data, dict) or not set(data) <= field_names(DecideInput):
                return None
            match = DECIDE_PATH.fullmatch(request.path_info)
            if match is None:
                return None
            answer = decide_answer(user, int(match.group(1)), data)
            content = JSONRenderer().render(answer, "application/json", {})
        except Exception:  # the whole stack answers it, as it answers every refusal
            return None
        finally:
            signals.request_finished.send(sender=ASGIHandler)
        headers, place = learnt
        headers = list(headers)
        headers[place] = (headers[place][0], str(len(content)).encode("ascii"))
        self.answered += 1
        return 200, headers, content


def _headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The response's headers as ``ASGIHandler.send_response`` encodes them."""
    out = []
    for header, value in response.items():
        out.append(
            (
                header.encode("ascii") if isinstance(header, str) else bytes(header),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
        )
    for cookie in response.cookies.values():
        out.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
    return out


class DecideFastPath:
    """The ASGI application for HTTP: decide requests to one worker thread running Django's sync
    handler, everything else to ``django_app`` (Django's ``ASGIHandler``)."""

    freeze_after: tuple[int, ...] = FREEZE_AFTER

    def __init__(self, django_app: ASGIHandler) -> None:
        self.django_app = django_app
        self.handler = _SyncHandler()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decide")
        self.answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not DECIDE_PATH.fullmatch(scope["path"])
        ):
            await self.django_app(scope, receive, send)
            return
        try:
            body = await self.django_app.read_body(receive)
        except RequestAborted:  # the client went away before the body was whole
            return
        try:
            status, headers, content = await self.run(self.handler.respond, scope, body)
        finally:
            body.close()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        chunk = ASGIHandler.chunk_size
        if not content:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        for start in range(0, len(content), chunk):
            await send(
                {
                    "type": "http.response.body",
                    "body": content[start : start + chunk],
                    "more_body": start + chunk < len(content),
                }
            )
        self.answered += 1
        if self.answered in self.freeze_after:
            # after the answer is sent: the one collection blocks this process for tens of ms
            gc.collect()
            gc.freeze()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
