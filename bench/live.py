"""``make bench``: the live board under 30 open tabs, one edit per tab per second.

Thirty WebSocket clients open one board; each owns one card and sends one operation a second on
it (an ``offer.update`` of its description or an ``offer.move`` within its stage, next to cards
that never leave that stage, so every operation succeeds). Two set-ups, one after the other:

(a) one server process, the in-memory channel layer, SQLite (a temporary file);
(b) two server processes, channels_redis and PostgreSQL, 15 clients on each worker.

The servers run with DEBUG off, as in production, on loopback; the clients run in this process, whose
collector is off while they measure (its pauses would count as latency).
Measured, for every ``op`` frame every client receives: commit-to-receive latency = the time it
arrives - the frame's ``committed_at`` (the same machine's clock). Baseline, in the same run and
under the same load: each client's ``ping`` → ``pong`` round trip, sent half-way between its
operations. Goals: p95 < 50 ms and p99 < 150 ms; no acknowledged operation lost — "missed live"
counts (client, operation) pairs never received as an ``op`` frame, "lost after sync" those still
missing once each client has asked for a ``sync`` since the last rev it holds without a gap;
nothing over capacity (``ChannelFull`` / "over capacity" in the servers' logs; the in-memory layer
drops silently, which then shows as missed live).

The machine's CPU pressure during each run is reported with it: on a shared two-core machine the
neighbours' work shows up in every figure. ``--settings`` runs the servers with another settings
module (on PYTHONPATH), to try a change before making it.

Prints a table and writes ``bench/results/live.json``. Exit status: 0 when every goal is met, 1
when one is missed, 2 when a set-up could not run (redis-server or PostgreSQL missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from report import collector_off, report_write  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import (  # noqa: E402
    AppServer,
    postgres_bin,
    postgres_start,
    redis_server_path,
    redis_start,
    server_env,
)

GOAL_P95_MS = 50.0
GOAL_P99_MS = 150.0
STAGES = 3

# Users, their sessions and the board, made through the services in the servers' own settings.
SET_UP = """
import json, os
from django.contrib.auth import get_user_model
from django.test import Client
from blueprint.services import blueprint_create, membership_set, operation_apply
clients, stages = int(os.environ["BENCH_CLIENTS"]), int(os.environ["BENCH_STAGES"])
users = get_user_model().objects
owner = users.create_user(username="bench-owner")
bp = blueprint_create(actor=owner, name="Live bench", channels=["web"])
for s in range(stages):
    operation_apply(blueprint_id=bp.pk, actor=owner, op_type="stage.create", payload={"key": f"s{s}", "name": f"Stage {s}"})
made = []
for n in range(clients):
    user = users.create_user(username=f"bench{n:02d}")
    membership_set(actor=owner, blueprint_id=bp.pk, username=user.username, role="editor")
    stage = f"s{n % stages}"
    operation_apply(blueprint_id=bp.pk, actor=owner, op_type="offer.create",
                    payload={"stage": stage, "key": f"card{n:02d}", "name": f"Card {n}"})
    browser = Client()
    browser.force_login(user)
    made.append({"cookie": "sessionid=" + browser.cookies["sessionid"].value, "card": f"card{n:02d}", "stage": stage})
print(json.dumps({"blueprint": bp.pk, "clients": made}))
"""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def figures(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else math.nan,
    }


def cpu_stall_seconds() -> float | None:
    """Seconds some task on this machine waited for a CPU so far (Linux PSI), None without PSI."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return None
    return int(some.rsplit("total=", 1)[1]) / 1e6


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Tab:
    """One bench client: a socket on one worker, its card, and what it saw."""

    n: int
    worker: AppServer
    cookie: str
    card: str
    stage: str
    anchors: list[str]
    latencies: list[float] = field(default_factory=list)  # receive - committed_at, seconds
    live_revs: set[int] = field(default_factory=set)
    duplicates: int = 0
    acks: dict[str, int] = field(default_factory=dict)
    ack_times: list[float] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    pings: list[float] = field(default_factory=list)
    ping_sent: float | None = None
    start_rev: int = 0
    sync_revs: set[int] = field(default_factory=set)
    sync_reset: bool = False
    sync_answered: asyncio.Event = field(default_factory=asyncio.Event)
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, blueprint_id: int) -> None:
        from websockets.asyncio.client import connect

        self.socket = await connect(
            f"ws://127.0.0.1:{self.worker.port}/ws/blueprints/{blueprint_id}/",
            origin=self.worker.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": self.cookie},
            max_size=2**24,
        )
        self.reader = asyncio.create_task(self.read())
        await asyncio.wait_for(self.welcomed.wait(), 30)

    async def read(self) -> None:
        async for raw in self.socket:
            now = time.time()
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "op":
                self.latencies.append(now - frame["committed_at"])
                if frame["rev"] in self.live_revs:
                    self.duplicates += 1
                self.live_revs.add(frame["rev"])
            elif kind == "pong":
                if self.ping_sent is not None:
                    self.pings.append(time.monotonic() - self.ping_sent)
                    self.ping_sent = None
            elif kind == "ack":
                self.acks[frame["client_id"]] = frame["rev"]
                self.ack_times.append(time.monotonic() - self.sent.pop(frame["client_id"]))
            elif kind == "refused":
                self.refused.append(frame)
                self.sent.pop(frame["client_id"], None)
            elif kind == "welcome":
                self.start_rev = frame["rev"]
                self.welcomed.set()
            elif kind == "sync":
                self.sync_revs.update(f["rev"] for f in frame["frames"])
                self.sync_answered.set()
            elif kind == "reset":
                self.sync_reset = True
                self.sync_answered.set()
            elif kind == "error":
                self.errors.append(frame)

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def edit(self, rng: random.Random, k: int) -> None:
        client_id = f"t{self.n}-{k}"
        if rng.random() < 0.5:
            payload: dict[str, Any] = {"key": self.card, "description": f"Edit {k} by tab {self.n}"}
            op = "offer.update"
        else:
            payload = {"key": self.card, "stage": self.stage}
            others = [a for a in self.anchors if a != self.card]
            if others and rng.random() < 0.8:
                payload[rng.choice(["before", "after"])] = rng.choice(others)
            op = "offer.move"
        self.sent[client_id] = time.monotonic()
        await self.send({"type": "op", "client_id": client_id, "op": op, "payload": payload})

    async def ping(self) -> None:
        if self.ping_sent is None:  # a pong carries no id: one ping in flight at a time
            self.ping_sent = time.monotonic()
            await self.send({"type": "ping"})

    def contiguous_rev(self) -> int:
        rev = self.start_rev
        while rev + 1 in self.live_revs:
            rev += 1
        return rev


async def drive(tabs: list[Tab], blueprint_id: int, seconds: float, rate: float) -> dict[str, Any]:
    """Connect every tab, run the load for ``seconds``, then drain, sync and close."""
    await asyncio.gather(*(tab.connect(blueprint_id) for tab in tabs))
    await asyncio.sleep(2)  # presence settles: every tab has announced itself to the others
    with collector_off() as pauses:
        period = 1 / rate
        began = time.monotonic()

        async def run(tab: Tab) -> None:
            rng = random.Random(tab.n)
            offset = tab.n / len(tabs) * period  # the tabs' edits spread evenly over each second
            k = 0
            while True:
                at = began + offset + k * period
                if at - began >= seconds:
                    return
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                await tab.edit(rng, k)
                await asyncio.sleep(max(0.0, at + period / 2 - time.monotonic()))
                await tab.ping()
                k += 1

        await asyncio.gather(*(run(tab) for tab in tabs))
        sending_s = time.monotonic() - began
        # answers to everything sent, then every acknowledged rev on every tab (or a time-out)
        deadline = time.monotonic() + 30
        while any(tab.sent for tab in tabs) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        acked = {rev for tab in tabs for rev in tab.acks.values()}
        while time.monotonic() < deadline and not all(acked <= tab.live_revs for tab in tabs):
            await asyncio.sleep(0.1)
    missed_live = {tab.n: sorted(acked - tab.live_revs) for tab in tabs}
    for tab in tabs:
        await tab.send({"type": "sync", "since": tab.contiguous_rev()})
    await asyncio.gather(*(asyncio.wait_for(tab.sync_answered.wait(), 30) for tab in tabs))
    lost_after_sync = {
        tab.n: [] if tab.sync_reset else sorted(acked - tab.live_revs - tab.sync_revs) for tab in tabs
    }
    for tab in tabs:
        await tab.socket.close()
        tab.reader.cancel()
    return {
        "sending_s": sending_s,
        "acked": acked,
        "missed_live": missed_live,
        "lost_after_sync": lost_after_sync,
        "client_gc_ms": pauses,
    }


def over_capacity(workers: list[AppServer]) -> int:
    count = 0
    for worker in workers:
        for line in worker.log.read_text(errors="replace").splitlines():
            if "ChannelFull" in line or "over capacity" in line:
                count += 1
    return count


def production_env(settings: str, extra: dict[str, str]) -> dict[str, str]:
    """DEBUG off as in production, on plain HTTP over loopback."""
    return server_env(
        {
            "DJANGO_SETTINGS_MODULE": settings,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "INFO",
            **extra,
        }
    )


def run_setup(
    name: str, env: dict[str, str], workers: int, args: argparse.Namespace, logs: Path
) -> dict[str, Any]:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    made = subprocess.run(
        [*manage, "shell", "-c", SET_UP],
        cwd=ROOT,
        env={**env, "BENCH_CLIENTS": str(args.clients), "BENCH_STAGES": str(STAGES)},
        check=True,
        capture_output=True,
        text=True,
    )
    board = json.loads(made.stdout.strip().splitlines()[-1])
    servers = [AppServer(env=env, log=logs / f"{name}-worker{n + 1}.log") for n in range(workers)]
    for server in servers:
        server.launch()
    try:
        for server in servers:
            server.wait_ready()
        anchors: dict[str, list[str]] = {}
        for made_tab in board["clients"]:
            anchors.setdefault(made_tab["stage"], []).append(made_tab["card"])
        tabs = [
            Tab(n, servers[n % workers], c["cookie"], c["card"], c["stage"], anchors[c["stage"]])
            for n, c in enumerate(board["clients"])
        ]
        cpu_before = [cpu_seconds(s.process.pid) for s in servers if s.process]
        me_before = time.process_time()
        stall_before = cpu_stall_seconds()
        wall_before = time.monotonic()
        outcome = asyncio.run(drive(tabs, board["blueprint"], args.seconds, args.rate))
        wall = time.monotonic() - wall_before
        cpu = [cpu_seconds(s.process.pid) - b for s, b in zip(servers, cpu_before, strict=True) if s.process]
        me = time.process_time() - me_before
        stall_after = cpu_stall_seconds()
        load = os.getloadavg()[0]
    finally:
        for server in servers:
            server.close()
    latencies = [lat for tab in tabs for lat in tab.latencies]
    missed_pairs = sum(len(v) for v in outcome["missed_live"].values())
    lost_pairs = sum(len(v) for v in outcome["lost_after_sync"].values())
    row = {
        "setup": name,
        "workers": workers,
        "clients": len(tabs),
        "seconds": args.seconds,
        "ops_sent": sum(len(t.acks) + len(t.refused) + len(t.sent) for t in tabs),
        "ops_acked": len(outcome["acked"]),
        "ops_refused": sum(len(t.refused) for t in tabs),
        "ops_unanswered": sum(len(t.sent) for t in tabs),
        "error_frames": sum(len(t.errors) for t in tabs),
        "ops_per_s": len(outcome["acked"]) / outcome["sending_s"],
        "latency": figures(latencies),
        "ack": figures([a for t in tabs for a in t.ack_times]),
        "baseline_ping": figures([p for t in tabs for p in t.pings]),
        "missed_live": missed_pairs,
        "missed_live_ops": len({rev for v in outcome["missed_live"].values() for rev in v}),
        "lost_after_sync": lost_pairs,
        "duplicates": sum(t.duplicates for t in tabs),
        "over_capacity": over_capacity(servers),
        "server_cpu_percent": [100 * c / wall for c in cpu],
        "bench_client_cpu_percent": 100 * me / wall,
        # the clients' own collector is off while they measure (report.collector_off)
        "bench_client_collections": len(outcome["client_gc_ms"]),
        # how busy the machine was with everything else: other work inflates every figure
        "cpu_pressure_percent": (
            None if stall_before is None or stall_after is None else 100 * (stall_after - stall_before) / wall
        ),
        "load_average_1min": load,
        "logs": [str(s.log) for s in servers],
    }
    row["ratio_p50"] = row["latency"]["p50_ms"] / row["baseline_ping"]["p50_ms"]
    row["ratio_p95"] = row["latency"]["p95_ms"] / row["baseline_ping"]["p95_ms"]
    row["goal_met"] = (
        row["latency"]["p95_ms"] < GOAL_P95_MS
        and row["latency"]["p99_ms"] < GOAL_P99_MS
        and row["lost_after_sync"] == 0
        and row["over_capacity"] == 0
        and row["ops_refused"] == 0
        and row["ops_unanswered"] == 0
    )
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print()
    head = (
        f"{'set-up':<34}{'ops/s':>7}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        f"{'ping p50/p95':>15}{'×p50':>6}{'×p95':>6}{'missed':>8}{'lost':>6}{'full':>6}"
    )
    print(head + "   goal")
    for row in rows:
        lat, ping = row["latency"], row["baseline_ping"]
        print(
            f"{row['setup']:<34}{row['ops_per_s']:>7.1f}{lat['p50_ms']:>6.1f}ms{lat['p95_ms']:>6.1f}ms"
            f"{lat['p99_ms']:>6.1f}ms{lat['max_ms']:>6.0f}ms"
            f"{ping['p50_ms']:>7.1f}/{ping['p95_ms']:>5.1f}ms{row['ratio_p50']:>5.1f}×{row['ratio_p95']:>5.1f}×"
            f"{row['missed_live']:>8}{row['lost_after_sync']:>6}{row['over_capacity']:>6}"
            f"   {'met' if row['goal_met'] else 'MISSED'}"
        )
    print(
        f"\nlatency: commit → op frame received, every frame every client received; goal p95 < {GOAL_P95_MS:.0f} ms, "
        f"p99 < {GOAL_P99_MS:.0f} ms.\nping: ping → pong round trip on the same sockets in the same run (the baseline); "
        "×: latency / ping.\nmissed: (client, acked op) pairs never received live; lost: still missing after each "
        "client's sync; full: ChannelFull / over-capacity lines in the servers' logs."
    )
    for row in rows:
        print(
            f"{row['setup']}: {row['ops_acked']} ops acked of {row['ops_sent']} sent "
            f"({row['ops_refused']} refused, {row['ops_unanswered']} unanswered, {row['error_frames']} error frames), "
            f"{row['latency']['count']} op frames received, ack p50 {row['ack']['p50_ms']:.1f} ms / "
            f"p95 {row['ack']['p95_ms']:.1f} ms; server CPU "
            + " + ".join(f"{c:.0f}%" for c in row["server_cpu_percent"])
            + f", bench clients {row['bench_client_cpu_percent']:.0f}% (of one core)"
        )
        pressure = row["cpu_pressure_percent"]
        print(
            f"    machine: load average {row['load_average_1min']:.1f} on {os.cpu_count()} CPUs"
            + ("" if pressure is None else f", some task waiting for a CPU {pressure:.0f}% of the time")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the clients edit (default 60)")
    parser.add_argument("--clients", type=int, default=30, help="WebSocket clients on the board (default 30)")
    parser.add_argument(
        "--rate", type=float, default=1.0, help="operations per client per second (default 1)"
    )
    parser.add_argument("--only", choices=["memory", "redis"], help="run one set-up only")
    parser.add_argument(
        "--settings",
        default="blueprint.settings",
        help="the servers' settings module (default blueprint.settings), e.g. to try a change",
    )
    args = parser.parse_args()

    rows: list[dict[str, Any]] = []
    not_run: list[str] = []
    with tempfile.TemporaryDirectory(prefix="blueprint-live-bench-") as tmp:
        logs = Path(tmp)
        if args.only in (None, "memory"):
            env = production_env(args.settings, {"SQLITE_PATH": str(logs / "bench.sqlite3")})
            print(
                f"(a) one worker, in-memory channel layer, SQLite: {args.clients} clients for {args.seconds:.0f} s"
            )
            rows.append(run_setup("(a) 1 worker, in-memory, SQLite", env, 1, args, logs))
        if args.only in (None, "redis"):
            if redis_server_path() is None or postgres_bin() is None:
                not_run.append(
                    "(b) needs redis-server and PostgreSQL (apt-get install redis-server postgresql)"
                )
            else:
                print(
                    f"(b) two workers, Redis, PostgreSQL: {args.clients // 2} clients on each for {args.seconds:.0f} s"
                )
                postgres = postgres_start(fsync=True)
                redis = redis_start()
                try:
                    env = production_env(
                        args.settings, {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url}
                    )
                    rows.append(run_setup("(b) 2 workers, Redis, PostgreSQL", env, 2, args, logs))
                finally:
                    redis.stop()
                    postgres.stop()
        for row in rows:
            row["logs"] = [Path(p).name for p in row["logs"]]

    print_table(rows)
    for reason in not_run:
        print(f"NOT RUN: {reason}")
    report_write(
        "live",
        {
            "goals": {"p95_ms": GOAL_P95_MS, "p99_ms": GOAL_P99_MS, "lost": 0, "over_capacity": 0},
            "settings": args.settings,
            "rate_per_client_per_s": args.rate,
            "results": rows,
            "not_run": not_run,
        },
    )
    if not_run:
        return 2
    return 0 if all(row["goal_met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
