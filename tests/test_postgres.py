"""The services, the API, the pages and concurrent edits on a real PostgreSQL, started here on loopback.

The rest of the suite runs on the embedded SQLite; this runs the files that matter most for
production again, in a subprocess with DATABASE_URL pointing at a throw-away PostgreSQL server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import postgres_bin, postgres_start, require_installed

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "tests/blueprint/test_services.py",
    "tests/blueprint/test_concurrency.py",
    "tests/blueprint/test_api.py",
    "tests/blueprint/test_undo.py",
    "tests/blueprint/test_api_undo.py",
    "tests/blueprint/test_consumers.py",
    # published versions: the review's lock, the immutability trigger, the API, restore
    "tests/blueprint/test_versions.py",
    "tests/blueprint/test_versions_concurrency.py",
    "tests/blueprint/test_versions_immutable.py",
    "tests/blueprint/test_versions_api.py",
    "tests/blueprint/test_restore.py",
    # keys: the check constraint (PostgreSQL's ~) and migration 0005 on stored keys
    "tests/blueprint/test_keys.py",
    # API tokens: their one query is written by hand (blueprint/api/auth.py)
    "tests/blueprint/test_api_tokens.py",
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    require_installed("PostgreSQL", postgres_bin() is not None, package="postgresql")
    server = postgres_start()
    try:
        yield server.url
    finally:
        server.stop()


def test_services_api_pages_and_concurrent_edits_pass_on_postgresql(postgres_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": postgres_url, "DB_CONN_MAX_AGE": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *FILES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary
