"""Settings of the ASGI servers the tests start: the project's own, plus the test process's hasher
and short clocks for the live board.

The test process hashes the passwords of the users it makes with MD5 (tests/conftest.py), so a
server that logs them in through the real login form must know that hasher — and prefer it, or
every login would re-hash the password with PBKDF2 and cost a second.
"""

from __future__ import annotations

from blueprint.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# A silent connection is noticed in seconds, a lost last frame within a heartbeat: what the
# browser tests wait for (the production clocks are in blueprint/settings.py).
LIVE_TIMINGS = {"ping": 2_000, "pongWait": 1_500}
LIVE_HEARTBEAT_SECONDS = 2.0
LIVE_PRESENCE_EXPIRES_SECONDS = 8.0
