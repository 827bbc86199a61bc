"""The settings of the servers tests/test_serving.py starts: the tests' server settings and one more
page, ``/test/work/``, that works until its request is cancelled (tests/serving_urls.py)."""

from __future__ import annotations

from tests.server_settings import *  # noqa: F403

ROOT_URLCONF = "tests.serving_urls"
