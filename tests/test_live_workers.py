"""Two server processes sharing PostgreSQL and Redis, as in production: one board, sockets on both.

Starts a throw-away PostgreSQL and redis-server on loopback, migrates, makes the board through the
services, starts two workers with DATABASE_URL and REDIS_URL, logs in through the login form and
opens a socket on each worker with the ``websockets`` client. Each socket keeps its own copy of the
page, updated from the frames it receives with the fragment rules of live.js
(tests/blueprint/live_dom.py), so the test checks what a browser on each worker would show.

One test, in steps: its servers take most of its time, and pytest-xdist would start them twice
for two tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.blueprint import live_dom
from tests.servers import (
    ROOT,
    AppServer,
    log_in,
    postgres_bin,
    postgres_start,
    redis_server_path,
    redis_start,
    require_installed,
    server_env,
)

TIMEOUT = 15.0

# Board content goes through operation_apply, like every other edit; users and the membership
# through their own services.
SET_UP = """
import json
from django.contrib.auth import get_user_model
from blueprint.services import blueprint_create, membership_set, operation_apply
users = get_user_model().objects
owner = users.create_user(username="owner", password="demo")
users.create_user(username="editor", password="demo")
bp = blueprint_create(actor=owner, name="Live workers", channels=["web"])
membership_set(actor=owner, blueprint_id=bp.pk, username="editor", role="editor")
ops = [("stage.create", {"key": "s1", "name": "First"}), ("stage.create", {"key": "s2", "name": "Second"})]
ops += [("offer.create", {"stage": "s1", "key": key, "name": key.title()}) for key in ("a", "b", "c", "d", "e")]
ops += [("offer.create", {"stage": "s2", "key": "f", "name": "F"})]
for op_type, payload in ops:
    operation_apply(blueprint_id=bp.pk, actor=owner, op_type=op_type, payload=payload)
print(json.dumps({"blueprint": bp.pk}))
"""


class Cluster:
    def __init__(self, postgres_url: str, workers: list[AppServer], blueprint_id: int) -> None:
        self.postgres_url = postgres_url
        self.workers = workers
        self.blueprint_id = blueprint_id


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_installed("redis-server", redis_server_path() is not None, package="redis-server")
    require_installed("PostgreSQL", postgres_bin() is not None, package="postgresql")
    postgres = postgres_start()
    redis = redis_start()
    workers: list[AppServer] = []
    try:
        env = server_env(
            {
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                "DJANGO_SETTINGS_MODULE": "tests.server_settings",
                "DEBUG": "1",
            }
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        made = subprocess.run(
            [*manage, "shell", "-c", SET_UP], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        blueprint_id = json.loads(made.stdout.strip().splitlines()[-1])["blueprint"]
        logs = tmp_path_factory.mktemp("workers")
        workers = [AppServer(env=env, log=logs / f"worker{n}.log") for n in (1, 2)]
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        yield Cluster(postgres.url, workers, blueprint_id)
    finally:
        for worker in workers:
            worker.close()
        redis.stop()
        postgres.stop()


class Tab:
    """One open board page on one worker: its socket, and its page as live.js would keep it.

    Frames are read in the background; ``catch_up`` then handles the op and sync frames in the
    order they arrived, by the client rules: rev == mine + 1 is applied, a gap asks for a sync
    and holds later frames until its answer.
    """

    def __init__(self, name: str, worker: AppServer, cookie: str, blueprint_id: int) -> None:
        self.name, self.worker, self.cookie, self.blueprint_id = name, worker, cookie, blueprint_id
        self.frames: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()
        self.ops_seen: list[int] = []  # revs of every op frame received live, in arrival order
        self.applied: list[int] = []  # revs applied to the page, in order
        self._next = 0  # index into frames of the next frame catch_up handles
        self._held: list[dict[str, Any]] = []
        self._syncing = False

    async def open(self) -> Tab:
        from websockets.asyncio.client import connect

        self.doc = live_dom.page(self.load_page())
        self.rev = int(live_dom.by_id(self.doc, "board").get("data-rev"))
        self.socket = await connect(
            f"ws://127.0.0.1:{self.worker.port}/ws/blueprints/{self.blueprint_id}/",
            origin=self.worker.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": self.cookie},
        )
        self.reader = asyncio.create_task(self._read())
        self.welcome = await self.wait_for(lambda f: f["type"] == "welcome")
        await self.send({"type": "sync", "since": self.rev})
        self._syncing = True
        return self

    def load_page(self) -> str:
        request = urllib.request.Request(
            f"{self.worker.url}/blueprints/{self.blueprint_id}/", headers={"Cookie": self.cookie}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    async def _read(self) -> None:
        async for raw in self.socket:
            frame = json.loads(raw)
            if frame["type"] == "op":
                self.ops_seen.append(frame["rev"])
            async with self.changed:
                self.frames.append(frame)
                self.changed.notify_all()

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], since: int = 0) -> dict[str, Any]:
        """The first frame from index ``since`` on that ``match``es, waiting for it if need be."""

        def found() -> dict[str, Any] | None:
            return next((f for f in self.frames[since:] if match(f)), None)

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: found() is not None), TIMEOUT)
        frame = found()
        assert frame is not None
        return frame

    async def catch_up(self, rev: int) -> None:
        """Handle arrived frames as live.js does until the page is at ``rev``."""
        deadline = time.monotonic() + TIMEOUT
        while self.rev < rev or self._syncing:
            async with self.changed:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self._next < len(self.frames)), deadline - time.monotonic()
                )
            frame = self.frames[self._next]
            self._next += 1
            if frame["type"] == "op":
                if self._syncing:
                    self._held.append(frame)
                else:
                    await self._take(frame)
            elif frame["type"] == "sync" and self._syncing:
                self._syncing = False
                for missed in frame["frames"]:
                    self._apply(missed)
                self.rev = max(self.rev, frame["rev"])
                held, self._held = self._held, []
                for waiting in held:
                    await self._take(waiting)
            elif frame["type"] == "reset":
                raise AssertionError(f"{self.name}: unexpected reset at rev {frame['rev']}")

    async def _take(self, frame: dict[str, Any]) -> None:
        if self._syncing:
            self._held.append(frame)
        elif frame["rev"] == self.rev + 1:
            self._apply(frame)
        elif frame["rev"] > self.rev + 1:
            self._held.append(frame)
            self._syncing = True
            await self.send({"type": "sync", "since": self.rev})

    def show_lint(self) -> None:
        """The lint panel as live.js leaves it after every frame that arrived: the newest of the
        ``lint`` frames that follow operations and the lint each sync brings."""
        lint_rev = 0
        for frame in self.frames:
            if frame["type"] in ("lint", "sync") and frame.get("fragments") and frame["rev"] >= lint_rev:
                lint_rev = frame["rev"]
                live_dom.apply_fragments(self.doc, frame["fragments"])

    def _apply(self, frame: dict[str, Any]) -> None:
        if frame["rev"] <= self.rev:
            return
        assert frame["rev"] == self.rev + 1, (self.name, self.rev, frame["rev"])
        live_dom.apply_frame(self.doc, frame)
        self.rev = frame["rev"]
        self.applied.append(frame["rev"])

    def order(self) -> list[list[str]]:
        board = live_dom.by_id(self.doc, "board")
        return [
            [
                column.get("data-stage-key"),
                *(card.get("data-offer-key") for card in column.xpath(".//*[@data-offer-key]")),
            ]
            for column in board.xpath(".//*[contains(concat(' ', @class, ' '), ' column ')][@data-stage-key]")
        ]

    async def close(self) -> None:
        await self.socket.close()
        self.reader.cancel()


def database_order(postgres_url: str, blueprint_id: int) -> list[list[str]]:
    import psycopg

    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute(
            "SELECT s.key, o.key FROM blueprint_stage s LEFT JOIN blueprint_offer o ON o.stage_id = s.id "
            'WHERE s.blueprint_id = %s ORDER BY s.rank COLLATE "C", s.id, o.rank COLLATE "C", o.id',
            [blueprint_id],
        ).fetchall()
    order: dict[str, list[str]] = {}
    for stage, offer in rows:
        order.setdefault(stage, [])
        if offer is not None:
            order[stage].append(offer)
    return [[stage, *offers] for stage, offers in order.items()]


def api_token(worker: AppServer, username: str) -> str:
    request = urllib.request.Request(
        f"{worker.url}/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": "demo"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["token"])


def api_patch(worker: AppServer, token: str, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{worker.url}/api/v1/{path}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


async def acks(tab: Tab, client_ids: set[str]) -> dict[str, int]:
    """Wait for an answer to each client id; every one must be an ``ack``. Their revs by id."""
    answered: dict[str, int] = {}
    for client_id in client_ids:
        frame = await tab.wait_for(lambda f, c=client_id: f.get("client_id") == c and f["type"] != "op")
        assert frame["type"] == "ack", frame
        answered[client_id] = frame["rev"]
    return answered


async def one_operation_reaches_both_workers(a: Tab, b: Tab) -> None:
    start = a.rev
    await a.send(
        {
            "type": "op",
            "client_id": "one",
            "op": "offer.update",
            "payload": {"key": "a", "description": "Once"},
        }
    )
    (rev,) = (await acks(a, {"one"})).values()
    assert rev == start + 1
    for tab in (a, b):
        frame = await tab.wait_for(lambda f: f["type"] == "op" and f["rev"] == rev)
        assert frame["client_id"] == "one" and frame["op"] == "offer.update"
        assert frame["committed_at"] <= time.time()
        await tab.catch_up(rev)
        assert tab.rev == rev


async def concurrent_moves_and_creates_get_consecutive_revs(a: Tab, b: Tab, cluster: Cluster) -> None:
    start = max(a.rev, b.rev)
    rng = random.Random(3)
    anchors = {"s1": ["a", "b", "d", "e"], "s2": ["f"]}  # "c" moves; these never do

    def operations(side: str) -> list[dict[str, Any]]:
        ops = []
        for n in range(20):
            stage = rng.choice(["s1", "s2"])
            payload: dict[str, Any] = {
                "key": "c",
                "stage": stage,
                rng.choice(["before", "after"]): rng.choice(anchors[stage]),
            }
            ops.append(
                {"type": "op", "client_id": f"{side}-move-{n}", "op": "offer.move", "payload": payload}
            )
            if n % 4 == 0:
                key = f"{side}_new_{n}"
                create = {"stage": rng.choice(["s1", "s2"]), "key": key, "name": f"New {side} {n}"}
                ops.append(
                    {"type": "op", "client_id": f"{side}-create-{n}", "op": "offer.create", "payload": create}
                )
        return ops

    sent = {"a": operations("a"), "b": operations("b")}

    async def send_all(tab: Tab, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            await tab.send(message)

    await asyncio.gather(send_all(a, sent["a"]), send_all(b, sent["b"]))
    revs = {
        **await acks(a, {m["client_id"] for m in sent["a"]}),
        **await acks(b, {m["client_id"] for m in sent["b"]}),
    }
    total = len(sent["a"]) + len(sent["b"])
    assert sorted(revs.values()) == list(range(start + 1, start + total + 1)), (
        "revs are not distinct and consecutive"
    )
    last = start + total

    for tab in (a, b):
        await tab.catch_up(last)
        # every operation arrived live on both workers, exactly once
        await tab.wait_for(lambda f: f["type"] == "op" and f["rev"] == last)
        counts = Counter(r for r in tab.ops_seen if r > start)
        assert sorted(counts) == list(range(start + 1, last + 1)), f"{tab.name} missed some live"
        assert set(counts.values()) == {1}, f"{tab.name} got an op frame twice"
        # and the page took every rev once, in order (after syncs where frames overtook others)
        assert tab.applied[-total:] == list(range(start + 1, last + 1))
        index = len(tab.frames)
        await tab.send({"type": "sync", "since": last})
        answer = await tab.wait_for(lambda f: f["type"] == "sync", since=index)
        assert (answer["rev"], answer["frames"]) == (last, [])
        tab.show_lint()

    database = database_order(cluster.postgres_url, cluster.blueprint_id)
    assert a.order() == b.order() == database
    assert sum(len(stage) - 1 for stage in database) == 6 + 10
    # what each page shows is what a fresh page load shows
    for tab in (a, b):
        fresh = live_dom.board_parts(live_dom.page(tab.load_page()))
        shown = live_dom.board_parts(tab.doc)
        assert shown == fresh, live_dom.difference(shown, fresh)


async def presence_crosses_workers(a: Tab, b: Tab) -> None:
    tab_b = b.welcome["you"]["tab"]
    await a.wait_for(lambda f: f["type"] == "presence" and any(m["tab"] == tab_b for m in f["members"]))
    index = len(a.frames)
    await b.send({"type": "presence", "editing": "offer-a"})
    frame = await a.wait_for(
        lambda f: (
            f["type"] == "presence"
            and any(m["tab"] == tab_b and m["editing"] == "offer-a" for m in f["members"])
        ),
        since=index,
    )
    assert {m["name"] for m in frame["members"]} >= {"owner", "editor"}


async def a_rest_edit_on_worker_2_reaches_worker_1(a: Tab, cluster: Cluster) -> None:
    await a.catch_up(a.rev)
    start = a.rev
    token = api_token(cluster.workers[1], "editor")
    status = api_patch(
        cluster.workers[1],
        token,
        f"blueprints/{cluster.blueprint_id}/offers/b/",
        {"description": "Edited through the API on worker 2"},
    )
    assert status == 200
    frame = await a.wait_for(lambda f: f["type"] == "op" and f["rev"] == start + 1)
    assert frame["op"] == "offer.update" and frame["actor"]["name"] == "editor"
    await a.catch_up(start + 1)
    card = live_dom.by_id(a.doc, "offer-b")
    assert "Edited through the API on worker 2" in card.text_content()


def test_two_workers_share_operations_presence_and_rest_edits_through_redis(cluster: Cluster) -> None:
    worker1, worker2 = cluster.workers
    owner = log_in(worker1.url, "owner", "demo")
    editor = log_in(worker2.url, "editor", "demo")

    async def scenario() -> None:
        a = await Tab("A on worker 1", worker1, owner, cluster.blueprint_id).open()
        b = await Tab("B on worker 2", worker2, editor, cluster.blueprint_id).open()
        try:
            for tab in (a, b):
                await tab.catch_up(tab.welcome["rev"])
            await one_operation_reaches_both_workers(a, b)
            await concurrent_moves_and_creates_get_consecutive_revs(a, b, cluster)
            await presence_crosses_workers(a, b)
            await a_rest_edit_on_worker_2_reaches_worker_1(a, cluster)
        finally:
            await a.close()
            await b.close()

    try:
        # in a thread of its own: a Playwright test earlier in this xdist worker leaves an event
        # loop running in the main thread, where asyncio.run refuses to start another
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(scenario())).result()
    except BaseException:
        for worker in cluster.workers:  # shown by pytest with the failure, as captured output
            print(f"--- {worker.log}\n{worker.log_tail()}")
        raise
    over_capacity = [w.log for w in cluster.workers if "ChannelFull" in w.log.read_text(errors="replace")]
    assert over_capacity == []
