"""Throw-away servers on loopback for the tests and the benches: PostgreSQL, Redis and the app itself.

Each is started on a free port of 127.0.0.1 with its files in a temporary directory, waited for
until it really answers, and stopped with SIGTERM (then SIGKILL). Nothing here imports Django, so
the bench and the tests' subprocess set-ups can use it before settings are configured.
"""

from __future__ import annotations

import ctypes
import glob
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]

# Variables of the caller's shell that would point a server at the wrong database or channel layer.
_SERVER_ENV_DROPPED = ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DJANGO_ALLOW_ASYNC_UNSAFE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # A test run killed outright (SIGKILL, a crashed xdist worker) must not leave servers behind.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    preexec = _die_with_parent if sys.platform == "linux" else None
    # (the signal follows the thread that started the child: start servers from the main thread)
    return subprocess.Popen(args, preexec_fn=preexec, **kwargs)


def _stop(process: subprocess.Popen[bytes], timeout: float = 10, how: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def require_installed(what: str, installed: bool, *, package: str) -> None:
    """Skip the test when a server program is missing, but fail in CI, where .ci/run installs it."""
    if installed:
        return
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed; .ci/run installs the {package!r} package")
    pytest.skip(f"{what} is not installed (apt-get install {package})")


# --- PostgreSQL -----------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres() -> dict[str, Any]:
    # initdb and postgres refuse to run as root. Popen switches user itself (no runuser in
    # between), so the signals that stop the server reach it.
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


@dataclass
class Postgres:
    url: str  # postgresql://postgres@127.0.0.1:<port>/postgres, trust authentication
    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to leave
        _stop(self.process, timeout=30, how=signal.SIGINT)
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_start(*, fsync: bool = False, max_connections: int = 100) -> Postgres:
    """A fresh PostgreSQL cluster on a free loopback port, accepting connections when this returns.

    ``fsync`` is off by default: the tests throw the cluster away, and a commit then costs no disk
    flush. Raises RuntimeError when the server does not come up (its log is in the message).
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed")
    directory = Path(tempfile.mkdtemp(prefix="blueprint-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    port = free_port()
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(directory / "db"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        cwd=directory,
        **_as_postgres(),
    )
    log = directory / "postgres.log"
    process = _popen(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(directory / "db"),
            "-p",
            str(port),
            "-k",
            str(directory),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"fsync={'on' if fsync else 'off'}",
            "-c",
            f"max_connections={max_connections}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        cwd=directory,
        **_as_postgres(),
    )
    server = Postgres(
        url=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        port=port,
        process=process,
        directory=directory,
    )
    deadline = time.monotonic() + 30
    # pg_isready says "accepting connections" only once recovery is over, unlike an open socket.
    while subprocess.run(
        [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
    ).returncode:
        if time.monotonic() > deadline or process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"PostgreSQL did not start:\n{text}")
        time.sleep(0.1)
    return server


# --- Redis ----------------------------------------------------------------------------------


def redis_server_path() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Redis:
    url: str  # redis://127.0.0.1:<port>/0
    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        _stop(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)


def redis_start() -> Redis:
    """A memory-only redis-server (no snapshots, no append-only file) on a free loopback port."""
    program = redis_server_path()
    if program is None:
        raise RuntimeError("redis-server is not installed")
    directory = Path(tempfile.mkdtemp(prefix="blueprint-redis-"))
    port = free_port()
    log = directory / "redis.log"
    process = _popen(
        [
            program,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--daemonize",
            "no",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Redis(url=f"redis://127.0.0.1:{port}/0", port=port, process=process, directory=directory)
    deadline = time.monotonic() + 15
    while not _redis_ping(port):
        if time.monotonic() > deadline or process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"redis-server did not start:\n{text}")
        time.sleep(0.05)
    return server


# --- The app ---------------------------------------------------------------------------------


def server_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its database and channel-layer choice, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROPPED}
    env.update(overrides)
    return env


@dataclass
class AppServer:
    """The app served as ``make run`` serves it (``manage.py serve``: uvicorn) on 127.0.0.1.

    ``env`` is its whole environment (build it with ``server_env``); its output goes to ``log``.
    ``workers`` is the number of processes (more than one needs ``REDIS_URL`` in ``env``).
    ``restart()`` stops it and starts a new process on the same port.
    """

    env: dict[str, str] = field(repr=False)
    log: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log_file: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process and return at once (``wait_ready`` then waits for it)."""
        if self._log_file is None:
            self._log_file = self.log.open("ab")
        self.process = _popen(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait until /healthz answers 200: the app, its database and its channel layer are up."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not answer {self.url}/healthz:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        if self._log_file is not None:
            self._log_file.flush()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_tail(self, since: int = 0, lines: int = 80) -> str:
        if not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


# --- Clients --------------------------------------------------------------------------------


def log_in(base_url: str, username: str, password: str) -> str:
    """Log in through the real login form; the ``Cookie`` header value of the session it opens."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base_url}/accounts/login/", timeout=10) as response:
        form = response.read().decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    if found is None:
        raise RuntimeError("the login page has no CSRF token")
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": found.group(1), "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/accounts/login/",
        data=data,
        headers={"Origin": base_url, "Referer": f"{base_url}/accounts/login/"},
    )
    with opener.open(request, timeout=10):
        pass
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise RuntimeError(f"logging in as {username!r} did not open a session")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())
