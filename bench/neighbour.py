"""``make bench``: the noisy neighbour — one member's heaviest work against another member's decides.

Issue 14 §2: one person's heavy request must never stall everyone else. Two members on one
deployment (``manage.py serve`` x one process per core, SQLite, DEBUG off, token auth; as
bench/decide.py's HTTP part):

- member B decides, open loop, ``--rate`` requests a second on schedule, spread over the processes
  as a proxy would (bench/decide.py's ``open_loop``: latency from the scheduled time to the end of
  the answer), with bench/decide.py's blueprint and customers, against its published version;
- member A, on a blueprint of their own at the limits (bench/lint.py's ``worst_case_blueprint``: a
  stage of 100 offers of 10 groups of 20 conditions over 200 attributes), asks, one after the
  other without pause, as fast as the answers come, its heaviest questions: ``decide`` with
  ``explain`` for ``worst_case_profile`` on the draft, and the ``lint`` (each on another decision
  day, so that no cache answers it).

B's decides are measured alone, then with A at work, then alone again, in the same run; the figure
is B's p99 with A against the mean of B's two p99s alone (goal: under 2 times). A's own answer
times are reported beside.

Prints the figures and writes them as JSON through bench/report.py to
``bench/results/neighbour.json``. Exit status: 0 when the goal is met, 1 when not.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import report_write  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from decide import (  # noqa: E402  (bench/decide.py: the same blueprint, customers and load)
    AT,
    SET_UP,
    generate_profiles,
    generate_snapshot,
    http_request,
    migrated_env,
    open_loop,
    percentile,
    settled,
)
from lint import worst_case_blueprint, worst_case_profile  # noqa: E402

from tests.servers import AppServer  # noqa: E402

GOAL_RATIO = 2.0


class Neighbour(multiprocessing.Process):
    """Member A: the heaviest explain and lint, one after the other, until stopped. A process of its
    own, so that reading its answers never slows the load generator measuring member B."""

    def __init__(self, port: int, blueprint: int, token: str, profile: dict[str, Any]) -> None:
        super().__init__(name="neighbour", daemon=True)
        self.port, self.blueprint, self.token, self.profile = port, blueprint, token, profile
        self.stop = multiprocessing.Event()
        self.results: multiprocessing.Queue[Any] = multiprocessing.Queue()
        self.times: dict[str, list[float]] = {"explain": [], "lint": []}
        self.failures: dict[str, int] = {}
        self.sizes: dict[str, int] = {}
        self.day = 0

    def ask(self, connection: http.client.HTTPConnection, what: str) -> None:
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        base = f"/api/v1/blueprints/{self.blueprint}/"
        self.day += 1
        at = (AT + dt.timedelta(days=self.day)).isoformat()
        started = time.monotonic()
        if what == "explain":
            body = json.dumps({"profile": self.profile, "version": "draft", "explain": True, "at": at})
            connection.request("POST", base + "decide/", body=body, headers=headers)
        else:
            connection.request("GET", f"{base}lint/?at={at}", headers=headers)
        answer = connection.getresponse()
        self.sizes[what] = len(answer.read())
        if answer.status != 200:
            self.failures[f"{what} {answer.status}"] = self.failures.get(f"{what} {answer.status}", 0) + 1
        self.times[what].append(time.monotonic() - started)

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            while not self.stop.is_set():
                for what in ("explain", "lint"):
                    if self.stop.is_set():
                        break
                    self.ask(connection, what)
        finally:
            connection.close()
            self.results.put((self.times, self.failures, self.sizes))

    def collect(self) -> None:
        """After ``stop``: the answer times the process measured."""
        self.times, self.failures, self.sizes = self.results.get(timeout=600)
        self.join(timeout=60)

    def summary(self) -> dict[str, Any]:
        return {
            what: {
                "answers": len(times),
                "median_s": round(percentile(times, 50), 2) if times else None,
                "max_s": round(max(times), 2) if times else None,
                "answer_bytes": self.sizes.get(what),
            }
            for what, times in self.times.items()
        } | {"failures": self.failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="member B's decides a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="each measured run")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server processes (default: one per core)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-neighbour-") as tmp:
        work = Path(tmp)
        env = migrated_env(work / "db.sqlite3")
        snapshot, heavy = generate_snapshot(), worst_case_blueprint()
        (work / "snapshot.json").write_text(json.dumps(snapshot))
        (work / "heavy.json").write_text(json.dumps(heavy))
        manage = [sys.executable, "manage.py"]

        def set_up(script: str, extra: dict[str, str]) -> dict[str, Any]:
            made = subprocess.run(
                [*manage, "shell", "-c", script],
                cwd=ROOT,
                env={**env, **extra},
                check=True,
                capture_output=True,
                text=True,
            )
            return dict(json.loads(made.stdout.strip().splitlines()[-1]))

        b = set_up(SET_UP, {"BENCH_SNAPSHOT": str(work / "snapshot.json")})
        # member A: the heavy blueprint as a draft of their own (made as an import makes it), a token
        a = set_up(
            SET_UP,
            {
                "BENCH_SNAPSHOT": str(work / "heavy.json"),
                "BENCH_USER": "bench-neighbour",
                "BENCH_NAME": "The heaviest",
                "BENCH_PUBLISH": "0",
            },
        )
        profiles = generate_profiles(1000)
        path = f"/api/v1/blueprints/{b['blueprint']}/decide/"
        bodies = [
            http_request(path, b["token"], {"profile": p, "version": b["version"], "at": AT.isoformat()})
            for p in profiles
        ]
        servers = [AppServer(env=env, log=work / f"server-{n}.log") for n in range(args.workers)]
        for server in servers:
            server.launch()
        try:
            for server in servers:
                server.wait_ready()
            ports = [server.port for server in servers]
            asyncio.run(open_loop(ports, bodies, args.rate, 2400 / args.rate))  # warm: compiled, threads up
            alone = asyncio.run(open_loop(ports, bodies, args.rate, args.seconds))
            neighbour = Neighbour(ports[0], a["blueprint"], a["token"], worst_case_profile(heavy))
            neighbour.start()
            time.sleep(1.0)  # A's first question under way
            beside = asyncio.run(open_loop(ports, bodies, args.rate, args.seconds))
            neighbour.stop.set()
            neighbour.collect()
            for port in ports:
                asyncio.run(settled(port, bodies))
            again = asyncio.run(open_loop(ports, bodies, args.rate, args.seconds))
        finally:
            for server in servers:
                server.close()

    # alone: before and after, in the same run (on a shared 2-core machine the p99 of the same
    # decides alone varies widely from one half-minute to the next; their mean is the baseline)
    alone_p99 = (alone["p99_ms"] + again["p99_ms"]) / 2
    ratio = beside["p99_ms"] / alone_p99 if alone_p99 else float("inf")
    results = {
        "server": f"manage.py serve (uvicorn) × {args.workers}, DEBUG off, SQLite, token auth",
        "member_b_rate_per_s": args.rate,
        "alone": alone,
        "with_neighbour": beside,
        "alone_again": again,
        "neighbour": neighbour.summary(),
        "alone_p99_ms": round(alone_p99, 2),
        "p99_ratio": round(ratio, 2),
        "goal": f"member B's decide p99 with member A at work < {GOAL_RATIO:g}× alone",
        "goal_met": ratio < GOAL_RATIO and not beside["failures"],
    }
    report_write("neighbour", results)
    print(f"Noisy neighbour: member B decides at {args.rate:g}/s over {args.workers} processes")
    for name, run in (("alone", alone), ("with A at work", beside), ("alone again", again)):
        print(
            f"   {name:<16} p50 {run['p50_ms']} ms  p95 {run['p95_ms']} ms  p99 {run['p99_ms']} ms  "
            f"max {run['max_ms']} ms  failures {run['failures']}  p99 by server {run['p99_ms_by_server']} "
            "(A asks the first)"
        )
    summary = neighbour.summary()
    print(
        f"   member A: {summary['explain']['answers']} explanations (median {summary['explain']['median_s']} s), "
        f"{summary['lint']['answers']} lints (median {summary['lint']['median_s']} s); failures {summary['failures']}; "
        f"answers of {summary['explain']['answer_bytes']:,} and {summary['lint']['answer_bytes']:,} bytes"
    )
    print(
        f"   B's p99 with A / alone (the mean of both runs, {alone_p99:.1f} ms): {results['p99_ratio']}×  (goal < {GOAL_RATIO:g}×)  goal met: {results['goal_met']}"
    )
    return 0 if results["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
