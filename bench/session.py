"""The live socket's session check: the cost of re-reading a tab's session before each of its
operations, the socket's own joined query (``blueprint.live.database.signed_in``) against Django's
session store (``SessionStore(key).load()`` and the user, ``signed_in_by_store``).

A socket outlives the request that opened it, so it asks again before each operation, on the
database thread where every tab's edits queue: what this costs, every edit pays. The ratio decides
which one the socket uses (database sessions: the joined query; any other session engine: the
store). No goal; the bench reports both and the ratio. Writes JSON through bench/report.py to
``bench/results/session.json``.
"""

from __future__ import annotations

import argparse
import sys

from board import django_in_a_fresh_sqlite, summary, timed  # bench/, the script's own folder
from report import report_write


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000, help="timed checks of each kind (default 3000)")
    args = parser.parse_args()

    tmp = django_in_a_fresh_sqlite()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from blueprint.live import database

    user = get_user_model().objects.create_user("bench", password="a long bench password 1")
    client = Client()
    client.force_login(user)
    key = client.session.session_key

    def joined() -> None:
        assert database.signed_in(user.pk, key)

    def store() -> None:
        assert database.signed_in_by_store(user.pk, key)

    results = {}
    for name, check in (("joined_query", joined), ("session_store", store)):
        timed(check, 100)  # warm: connections, the decoding cache
        results[name] = summary(timed(check, args.runs))
    ratio = results["session_store"]["median_ms"] / results["joined_query"]["median_ms"]
    for name, figures in results.items():
        print(
            f"{name:15} median {figures['median_ms'] * 1000:7.0f} µs   p95 {figures['p95_ms'] * 1000:7.0f} µs"
        )
    print(f"Django's session store / the joined query: {ratio:.1f}×")
    report_write("session", {"runs": args.runs, **results, "store_over_joined": ratio})
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
