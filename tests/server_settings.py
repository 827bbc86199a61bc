"""Settings of the ASGI servers the tests start: the project's own, plus the test process's hasher.

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
