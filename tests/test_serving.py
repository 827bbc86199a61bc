"""How requests are served (blueprint/serving.py): one slow request holds one thread, not the process;
the client leaving or the server stopping tells the work to stop; bodies have a ceiling.

The first tests drive ``HttpThreads`` in this process with small WSGI apps of their own, so they can
hold a request exactly as long as they like; the last ones start the real server (``manage.py
serve``, uvicorn) and stop it with SIGTERM while a request is working.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from blueprint.lane import is_heavy, lane_candidate
from blueprint.serving import HttpThreads, request_cancelled
from tests.servers import AppServer, server_env
from tests.serving_urls import LANE_PATH

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def scope(
    path: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


class Exchange:
    """One request through the app: the messages it sent back, and a way to leave early."""

    def __init__(self, body: list[bytes] | None = None) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for n, chunk in enumerate(body or [b""]):
            self.incoming.put_nowait(
                {"type": "http.request", "body": chunk, "more_body": n < len(body or [b""]) - 1}
            )
        self.sent: list[dict[str, Any]] = []
        self.done = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()

    def leave(self) -> None:
        self.incoming.put_nowait({"type": "http.disconnect"})

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def content(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def answer(start_response: Callable[..., Any], text: str, status: str = "200 OK") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain")])
    return [text.encode()]


def wait_for(event: threading.Event, seconds: float = 10) -> bool:
    return event.wait(seconds)


def test_a_slow_request_holds_one_thread_while_the_next_is_answered() -> None:
    release = threading.Event()
    started = threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            started.set()
            release.wait(10)
            return answer(start_response, "slow")
        return answer(start_response, "fast")

    served = HttpThreads(app, threads=2, max_body=1000)

    async def run() -> tuple[bool, Exchange, Exchange]:
        slow, fast = Exchange(), Exchange()
        slow_task = asyncio.create_task(served(scope("/slow"), slow.receive, slow.send))
        await asyncio.to_thread(started.wait, 10)
        await asyncio.wait_for(served(scope("/fast"), fast.receive, fast.send), 10)
        slow_still_working = not slow.done.is_set()
        release.set()
        await asyncio.wait_for(slow_task, 10)
        return slow_still_working, slow, fast

    slow_still_working, slow, fast = asyncio.run(run())
    assert slow_still_working
    assert (fast.status, fast.content) == (200, b"fast")
    assert (slow.status, slow.content) == (200, b"slow")


def test_requests_beyond_the_threads_wait_their_turn_in_order() -> None:
    release = threading.Event()
    order: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == "/first":
            release.wait(10)
        order.append(environ["PATH_INFO"])
        return answer(start_response, "ok")

    served = HttpThreads(app, threads=1, max_body=1000)

    async def run() -> None:
        first, second = Exchange(), Exchange()
        tasks = [
            asyncio.create_task(served(scope("/first"), first.receive, first.send)),
            asyncio.create_task(served(scope("/second"), second.receive, second.send)),
        ]
        await asyncio.sleep(0.2)
        assert order == []  # the one thread is busy with the first; the second waits
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    asyncio.run(run())
    assert order == ["/first", "/second"]


def test_each_request_runs_on_a_thread_that_lives_on() -> None:
    threads: list[int] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        threads.append(threading.get_ident())
        return answer(start_response, "ok")

    served = HttpThreads(app, threads=1, max_body=1000)

    async def run() -> None:
        for _ in range(3):
            exchange = Exchange()
            await served(scope("/"), exchange.receive, exchange.send)

    asyncio.run(run())
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


def test_async_code_called_from_a_request_runs_on_the_servers_loop() -> None:
    # The operation broadcast and /healthz reach the channel layer with async_to_sync: it must run on
    # the loop the layer (and the sockets) live on, not on a loop of its own.
    loops: list[Any] = []

    async def which_loop() -> Any:
        return asyncio.get_running_loop()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        loops.append(async_to_sync(which_loop)())
        return answer(start_response, "ok")

    served = HttpThreads(app, threads=2, max_body=1000)

    async def run() -> Any:
        exchange = Exchange()
        await served(scope("/"), exchange.receive, exchange.send)
        return asyncio.get_running_loop()

    server_loop = asyncio.run(run())
    assert loops == [server_loop]


class WaitsToBeStopped:
    """A WSGI app that says when it is working, then waits for its request's stop event."""

    def __init__(self) -> None:
        self.working = threading.Event()
        self.stopped = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.working.set()
        if wait_for(request_cancelled()):
            self.stopped.set()
        return answer(start_response, "never read")


def test_the_client_leaving_tells_the_request_to_stop() -> None:
    app = WaitsToBeStopped()
    working, stopped = app.working, app.stopped
    served = HttpThreads(app, threads=1, max_body=1000)

    async def run() -> None:
        exchange = Exchange()
        task = asyncio.create_task(served(scope("/"), exchange.receive, exchange.send))
        await asyncio.to_thread(working.wait, 10)
        exchange.leave()
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    assert stopped.is_set()


def test_a_streamed_answer_stops_once_the_client_has_left() -> None:
    made: list[int] = []
    closed = threading.Event()
    left = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            for n in range(10_000):
                made.append(n)
                if n == 3:
                    left.wait(10)  # the client leaves while the fourth chunk is made
                    time.sleep(0.2)  # (and the server notices)
                yield b"x" * 10
        finally:
            closed.set()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return chunks()

    served = HttpThreads(app, threads=1, max_body=1000)

    async def run() -> None:
        exchange = Exchange()
        task = asyncio.create_task(served(scope("/"), exchange.receive, exchange.send))
        while len(made) < 4:
            await asyncio.sleep(0.01)
        exchange.leave()
        left.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(run())
    assert len(made) < 10 and closed.is_set()


def test_the_server_cancelling_a_request_tells_it_to_stop() -> None:
    # uvicorn cancels the requests still working when its graceful shutdown runs out
    app = WaitsToBeStopped()
    working, stopped = app.working, app.stopped
    served = HttpThreads(app, threads=1, max_body=1000)

    async def run() -> None:
        exchange = Exchange()
        task = asyncio.create_task(served(scope("/"), exchange.receive, exchange.send))
        await asyncio.to_thread(working.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.to_thread(stopped.wait, 10)

    asyncio.run(run())
    assert stopped.is_set()


def test_outside_a_served_request_nothing_is_ever_cancelled() -> None:
    assert not request_cancelled().is_set()


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_ceiling_is_refused_with_a_json_413_before_the_app_sees_it(declared: bool) -> None:
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        return answer(start_response, "ok")

    served = HttpThreads(app, threads=1, max_body=100)
    headers = [(b"content-length", b"150")] if declared else []  # else: sent in chunks, no length

    async def run() -> Exchange:
        exchange = Exchange([b"x" * 60, b"x" * 60, b"x" * 30])
        await served(scope("/", method="POST", headers=headers), exchange.receive, exchange.send)
        return exchange

    exchange = asyncio.run(run())
    assert exchange.status == 413
    assert json.loads(exchange.content)["errors"] == {"body": ["At most 100 bytes are accepted."]}
    assert seen == []


def test_a_body_at_the_ceiling_is_read_whole() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        return answer(start_response, str(len(environ["wsgi.input"].read())))

    served = HttpThreads(app, threads=1, max_body=100)

    async def run() -> Exchange:
        exchange = Exchange([b"x" * 60, b"x" * 40])
        await served(scope("/", method="POST"), exchange.receive, exchange.send)
        return exchange

    exchange = asyncio.run(run())
    assert (exchange.status, exchange.content) == (200, b"100")


def test_django_closes_every_answer() -> None:
    # closing the answer is what sends request_finished: the database connection's age check, and
    # a streamed answer's clean-up (asgiref's WsgiToAsgi alone never calls close())
    closed = threading.Event()

    class Answer(list[bytes]):
        def close(self) -> None:
            closed.set()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Answer:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Answer([b"ok"])

    served = HttpThreads(app, threads=1, max_body=100)

    async def run() -> None:
        exchange = Exchange()
        await served(scope("/"), exchange.receive, exchange.send)

    asyncio.run(run())
    assert closed.is_set()


# --- The real server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One server for the module's tests; the last one stops it."""
    tmp_path = tmp_path_factory.mktemp("serving")
    env = server_env(
        {
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "DJANGO_SETTINGS_MODULE": "tests.serving_settings",
            "DEBUG": "1",
        }
    )
    import subprocess
    import sys

    from tests.servers import ROOT

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    app = AppServer(env=env, log=tmp_path / "server.log")
    app.start()
    yield app
    app.close()


def http_get(port: int, path: str) -> socket.socket:
    """Send a GET and return the open connection, without waiting for the answer."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=15)
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return connection


def read_answer(connection: socket.socket) -> bytes:
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                None,
            )
            if length is not None and len(rest) >= length:
                break
    return data


def test_the_server_answers_others_while_one_request_works_and_stops_it_when_its_client_leaves(
    server: AppServer,
) -> None:
    working = http_get(server.port, "/test/work/")
    time.sleep(0.5)  # it is working
    start = time.monotonic()
    answer_ = read_answer(http_get(server.port, "/healthz"))
    assert answer_.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - start < 10
    working.close()  # the client leaves
    deadline = time.monotonic() + 10
    while b"work stopped" not in server.log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b"work stopped: cancelled" in server.log.read_bytes()


def test_heavy_requests_are_answered_by_a_lane_process_and_others_by_the_server(server: AppServer) -> None:
    lane = read_answer(http_get(server.port, f"/{LANE_PATH}"))
    assert lane.startswith(b"HTTP/1.1 200"), lane
    pid = int(lane.rsplit(b"answered by ", 1)[1])
    assert server.process is not None and pid != server.process.pid
    # the same lane process answers the next one (it lives on)
    assert read_answer(http_get(server.port, f"/{LANE_PATH}")).endswith(f"answered by {pid}".encode())


def test_a_lane_request_leaves_the_server_free_and_stops_when_its_client_leaves(server: AppServer) -> None:
    working = http_get(server.port, f"/{LANE_PATH}?busy")
    time.sleep(0.5)  # a core is busy in the lane
    start = time.monotonic()
    for _ in range(20):
        assert read_answer(http_get(server.port, "/healthz")).startswith(b"HTTP/1.1 200")
    assert time.monotonic() - start < 10
    working.close()  # the client leaves: the lane is told through its slot's flag
    deadline = time.monotonic() + 10
    while b"lane work stopped" not in server.log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b"lane work stopped: cancelled" in server.log.read_bytes()


def test_sigterm_stops_the_server_within_ten_seconds_while_a_request_works(server: AppServer) -> None:
    working = http_get(server.port, "/test/work/")
    in_lane = http_get(server.port, f"/{LANE_PATH}?busy")
    time.sleep(0.5)
    assert server.process is not None
    start = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=15)
    assert time.monotonic() - start < 10
    # a clean stop: uvicorn waited for the request, cancelled it (which tells the work to stop:
    # test_the_server_cancelling_a_request_tells_it_to_stop), finished its shutdown, and then ended
    # with the signal it was sent
    assert server.process.returncode == -signal.SIGTERM
    working.close()
    in_lane.close()
    assert b"Finished server process" in server.log.read_bytes()


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "heavy"),
    [
        ("GET", "/blueprints/3/", b"", b"", True),  # the board page lints
        ("GET", "/blueprints/3/simulator/", b"profile=%7B%7D", b"", True),
        ("GET", "/blueprints/3/spec/", b"", b"", True),
        ("GET", "/blueprints/3/versions/2/", b"", b"", True),
        ("GET", "/api/v1/blueprints/3/lint/", b"", b"", True),
        ("GET", "/api/v1/blueprints/3/export/", b"format=pdf", b"", True),
        ("POST", "/api/v1/blueprints/3/decide/", b"", b'{"profile": {}, "explain": true}', True),
        ("POST", "/api/v1/blueprints/3/decide/", b"explain=true", b'{"profile": {}}', True),
        ("POST", "/blueprints/3/simulator/decide/", b"", b"segment=Gold", True),
        # the decide hot path, edits and everything else stay in the serving process
        ("POST", "/api/v1/blueprints/3/decide/", b"", b'{"profile": {}}', False),
        ("POST", "/api/v1/blueprints/3/decide/", b"", b'{"profile": {"explain": "true"}}', False),
        ("POST", "/api/v1/blueprints/3/stages/", b"", b"{}", False),
        ("POST", "/blueprints/3/", b"", b"", False),
        ("GET", "/blueprints/3/catalog/", b"", b"", False),
        ("GET", "/api/v1/blueprints/3/", b"", b"", False),
        ("GET", "/healthz", b"", b"", False),
    ],
)
def test_the_heavy_lane_takes_safe_requests_that_analyse_a_whole_board(
    method: str, path: str, query: bytes, body: bytes, heavy: bool
) -> None:
    scope = {"method": method, "path": path, "query_string": query}
    assert (lane_candidate(scope) and is_heavy(scope, body)) is heavy
