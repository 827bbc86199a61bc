"""Seeded fuzzing of the live board, in the manner of tldraw's sync fuzz tests.

Three to five simulated tabs (editors, sometimes a viewer) share one board over real sockets
(``WebsocketCommunicator`` against ``blueprint.asgi.application``). Each tab is a small Python model
of static/js/live.js: a page as a fresh load renders it (an lxml tree), its ``rev``, a queue of
unacknowledged operations with client ids, and the client rules — op frames applied in rev order,
a gap answered by one ``sync`` while later frames wait, ``sync``/``reset`` answers applied, a refusal
followed by a full resync, the queue re-sent after a reconnect. A seeded ``random.Random`` picks the
actions: edits (several tabs at the same moment, the same card moved by several at once, stale and
invalid ones), frames delivered late, dropped (as if the channel layer lost them) or swapped,
connections lost (with what was on the wire) and restored, page reloads, undo and redo.

Every ``CHECKPOINT_EVERY`` actions and at the end, every tab reconnects, flushes its queue and
syncs, and every page must then equal a fresh page load for its role (#board; #board-title and the
lint panel too, unless the tab fetched the board over HTTP, which replaces #board only; a ``reset``
brings them). At the end every rev must be the blueprint's, every operation a tab sent must have
been acknowledged (and be in the log exactly once, at the acknowledged rev) or refused (and not be
in the log), and the log's revs must run 1..N without a hole.

The seeds in ``SEEDS`` run with the suite. ``LIVE_FUZZ_SEEDS=200`` runs seeds 0..199 instead,
``LIVE_FUZZ_SEED=17`` (or ``17,42``) exactly those, ``LIVE_FUZZ_STEPS`` changes the actions per seed.
A failure names its seed and prints the actions that led to it. The timing of the server's own
tasks is real, so a seed replays the same actions but not always the same interleaving.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from lxml.html import HtmlElement

from blueprint.asgi import application
from blueprint.live import render as live
from blueprint.live.consumer import frame_cache
from blueprint.models import Blueprint, Membership, Operation, Role
from blueprint.services.operations import HANDLERS
from tests.blueprint import live_dom

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

SEEDS = [3, 11, 29, 47, 71, 97, 113, 131, 157, 173]
STEPS = int(os.environ.get("LIVE_FUZZ_STEPS", "140"))
CHECKPOINT_EVERY = 40  # actions between two comparisons with a page load (and one at the end)
TIMEOUT = 10.0  # seconds to wait for the server when it owes an answer


def _seeds() -> list[int]:
    if os.environ.get("LIVE_FUZZ_SEED"):
        return [int(s) for s in os.environ["LIVE_FUZZ_SEED"].split(",")]
    if os.environ.get("LIVE_FUZZ_SEEDS"):
        return list(range(int(os.environ["LIVE_FUZZ_SEEDS"])))
    return SEEDS


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> None:
    # the in-memory layer's queues belong to the event loop that made them (see test_consumers.py)
    channel_layers.backends.clear()
    frame_cache.clear()


NAMES = [
    "Welcome bonus",
    "Café crème",
    "<b>Bold</b> & brash",
    "Ünïcødé ✓",
    'Say "cheese"',
    "Savings 2%",
    "日本語のオファー",
    "  padded  ",
    "O'Reilly's offer",
]
ATTRIBUTE_LABELS = {"visits_30d": "Visits", "segment": "Segment", "has_app": "Has the app"}


@dataclass
class Sent:
    """An operation a tab sent, and every answer it saw about it."""

    tab: str
    op: str
    payload: dict[str, Any]
    must_fail: bool
    answers: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Tab:
    """One simulated browser tab: the page, and live.js's state."""

    name: str
    user: Any
    can_edit: bool
    http: Client
    cookie: bytes
    doc: HtmlElement | None = None
    rev: int = 0
    queue: list[dict[str, Any]] = field(default_factory=list)
    comm: WebsocketCommunicator | None = None
    connected: bool = False
    inbox: list[dict[str, Any]] = field(default_factory=list)  # on the wire, not yet seen by the page
    syncing: bool = False
    waiting: list[dict[str, Any]] = field(default_factory=list)
    outstanding: int = 0  # answers the server owes on this connection
    lose_next: int = 0  # op frames the channel layer will lose on their way to this tab
    made: int = 0  # client ids and keys made so far
    # a refusal asked for the whole board and it has not come yet (live.js's needsReset)
    needs_reset: bool = False
    lint_rev: int = 0  # the rev of the lint the page shows (live.js's lintRev)
    journal: list[str] = field(default_factory=list)  # what the page went through, for a failure

    def new_id(self) -> str:
        self.made += 1
        return f"{self.name}-{self.made}"

    def mark_rev(self) -> None:
        board = live_dom.by_id(self.doc, "board")
        if board is not None:
            board.set("data-rev", str(self.rev))

    def columns(self) -> list[tuple[str, list[str]]]:
        """The stages as this page shows them, in order, each with its offers in order."""
        columns = live_dom.by_id(self.doc, "columns")
        if columns is None:
            return []
        return [
            (section.get("data-stage-key"), section.xpath("./ol/li/@data-offer-key"))
            for section in columns.xpath("./section[@data-stage-key]")
        ]


ANSWERS = ("ack", "refused", "sync", "reset", "undo", "redo", "error")


class Fuzz:
    def __init__(self, seed: int, blueprint: Blueprint, users: dict[str, Any]) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.blueprint_id = blueprint.pk
        self.trace: list[str] = []
        self.step = 0
        self.sent: dict[str, Sent] = {}
        self.undos: dict[str, list[dict[str, Any]]] = {}
        self.problems: list[str] = []
        self.tabs = self._make_tabs(users)

    # --- Set-up ---------------------------------------------------------------------------------

    def _make_tabs(self, users: dict[str, Any]) -> list[Tab]:
        rng = self.rng
        viewer = rng.random() < 0.5
        editors = rng.randint(3, 5) - viewer
        people = [users["owner"], users["editor"]]
        model = get_user_model()
        for n in range(2, editors):
            person = model.objects.create_user(username=f"editor{n}", password="demo")
            Membership.objects.create(blueprint_id=self.blueprint_id, user=person, role=Role.EDITOR)
            people.append(person)
        roles = [(person, True) for person in people[:editors]]
        if viewer:
            roles.append((users["viewer"], False))
        tabs = []
        for person, can_edit in roles:
            http = Client()
            http.force_login(person)
            cookie = f"sessionid={http.cookies['sessionid'].value}".encode()
            tabs.append(Tab(person.username, person, can_edit, http, cookie))
        return tabs

    def log(self, tab: Tab | None, text: str) -> None:
        self.trace.append(f"{self.step:4} {tab.name if tab else '':8} {text}")
        if tab is not None:
            tab.journal.append(f"{self.step:4} {text}")

    # --- Network --------------------------------------------------------------------------------

    async def load_page(self, tab: Tab) -> None:
        response = await sync_to_async(tab.http.get)(reverse("board", args=[self.blueprint_id]))
        assert response.status_code == 200, response.status_code
        tab.doc = live_dom.page(response.content)
        board = live_dom.by_id(tab.doc, "board")
        assert board is not None
        tab.rev = tab.lint_rev = int(board.get("data-rev"))
        tab.syncing, tab.waiting, tab.needs_reset = False, [], False
        self.log(tab, f"page load at rev {tab.rev}")

    async def connect(self, tab: Tab) -> None:
        comm = WebsocketCommunicator(
            application,
            f"/ws/blueprints/{self.blueprint_id}/",
            headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", tab.cookie)],
        )
        connected, code = await comm.connect(timeout=TIMEOUT)
        assert connected, f"{tab.name} could not connect: {code}"
        tab.comm, tab.outstanding = comm, 0
        while True:
            first = await comm.receive_json_from(timeout=TIMEOUT)
            if first["type"] == "welcome":
                break
            assert first["type"] == "presence", first
        self.log(tab, f"connected (server at rev {first['rev']}), queue {len(tab.queue)}")
        # live.js welcomed(): ask for what was missed (the whole board, when a refusal asked for it
        # and the answer was lost with the connection), then send the queue again
        tab.connected = True
        await self.request_sync(tab, 0 if tab.needs_reset else tab.rev)
        for item in tab.queue:
            await self.send(tab, item)

    async def disconnect(self, tab: Tab, *, lose_unsent: bool) -> None:
        comm = tab.comm
        assert comm is not None
        lost = 0
        if lose_unsent:
            # messages the tab sent that never reached the server
            while not comm.input_queue.empty():
                comm.input_queue.get_nowait()
                lost += 1
        await comm.disconnect(timeout=TIMEOUT)
        # whatever was on the wire to the tab is gone with the connection
        dropped = len(tab.inbox) + comm.output_queue.qsize()
        tab.inbox = []
        tab.comm, tab.connected, tab.syncing, tab.outstanding, tab.lose_next = None, False, False, 0, 0
        self.log(tab, f"disconnected: {lost} sent frames and {dropped} received frames lost")

    async def send(self, tab: Tab, message: dict[str, Any]) -> None:
        assert tab.comm is not None and tab.connected
        await tab.comm.send_json_to(message)
        if message["type"] in ("op", "sync", "undo", "redo"):
            tab.outstanding += 1

    async def pull(self, tab: Tab) -> None:
        """Frames the server has sent go onto the wire (the tab's inbox)."""
        comm = tab.comm
        if comm is None:
            return
        while not await comm.receive_nothing(timeout=0):
            output = await comm.receive_output(timeout=TIMEOUT)
            if output["type"] == "websocket.close":
                self.problems.append(f"{tab.name}: the server closed the socket ({output.get('code')})")
                tab.comm, tab.connected, tab.syncing, tab.outstanding = None, False, False, 0
                return
            frame = json.loads(output["text"])
            if frame["type"] in ANSWERS:
                tab.outstanding -= 1
            if frame["type"] == "op" and tab.lose_next:
                tab.lose_next -= 1
                self.log(tab, f"frame rev {frame['rev']} lost by the channel layer")
                continue
            if frame["type"] not in ("presence", "pong", "beat"):
                tab.inbox.append(frame)

    async def settle(self) -> None:
        """Wait until the server has answered every message every tab sent."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for tab in self.tabs:
                await self.pull(tab)
            if all(tab.outstanding <= 0 for tab in self.tabs):
                return
            if time.monotonic() > deadline:
                owed = {tab.name: tab.outstanding for tab in self.tabs if tab.outstanding}
                raise AssertionError(f"the server did not answer: {owed}")
            await asyncio.sleep(0.002)

    # --- live.js, frame by frame ----------------------------------------------------------------

    async def receive(self, tab: Tab, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "op":
            await self.op_arrived(tab, frame)
        elif kind == "sync":
            await self.sync_arrived(tab, frame)
        elif kind == "reset":
            await self.reset_arrived(tab, frame)
        elif kind == "lint":
            self.lint_arrived(tab, frame)
        elif kind == "ack":
            self.answer(frame["client_id"], ("ack", frame["rev"], frame["id"]))
            self.settle_op(tab, frame["client_id"])
        elif kind == "refused":
            self.answer(frame["client_id"], ("refused", frame["status"], frame["detail"]))
            self.settle_op(tab, frame["client_id"])
            self.log(tab, f"refused {frame['client_id']} {frame['status']}: {frame['detail'][:80]}")
            await self.resync_fully(tab)
        elif kind in ("undo", "redo"):
            self.undos.setdefault(frame["client_id"], []).append(frame)
            self.log(tab, f"{kind} {frame['client_id']}: {frame['message'][:80]}")
        else:
            self.problems.append(f"{tab.name} got {frame}")

    def answer(self, client_id: str, answer: tuple[Any, ...]) -> None:
        sent = self.sent.get(client_id)
        if sent is None:
            self.problems.append(f"an answer for a client id nobody sent: {client_id} {answer}")
        else:
            sent.answers.append(answer)

    def settle_op(self, tab: Tab, client_id: str) -> None:
        tab.queue = [item for item in tab.queue if item["client_id"] != client_id]

    async def op_arrived(self, tab: Tab, frame: dict[str, Any]) -> None:
        if tab.syncing:
            tab.waiting.append(frame)
            return
        if frame["rev"] <= tab.rev:
            return
        if frame["rev"] > tab.rev + 1:
            # a gap: ask once, keep this frame until the answer
            self.log(tab, f"gap: at {tab.rev}, got {frame['rev']}")
            tab.waiting.append(frame)
            await self.request_sync(tab, tab.rev)
            return
        await self.apply_op(tab, frame)

    async def apply_op(self, tab: Tab, frame: dict[str, Any]) -> None:
        tab.journal.append(
            f"{self.step:4} rev {frame['rev']} {frame['op']}: "
            + "; ".join(
                " ".join(str(fragment.get(k)) for k in ("do", "id", "parent", "before") if fragment.get(k))
                for fragment in frame["fragments"]
                if fragment["do"] != "prepend"
            )
        )
        live_dom.apply_frame(tab.doc, frame)
        tab.rev = frame["rev"]
        if frame["client_id"]:
            if any(item["client_id"] == frame["client_id"] for item in tab.queue):
                self.answer(frame["client_id"], ("frame", frame["rev"], frame["id"]))
            self.settle_op(tab, frame["client_id"])
        tab.mark_rev()

    def lint_arrived(self, tab: Tab, frame: dict[str, Any]) -> None:
        """live.js's lintArrived: a lint older than the one shown is dropped."""
        if frame["rev"] < tab.lint_rev:
            self.log(tab, f"lint of rev {frame['rev']} dropped: shows {tab.lint_rev}'s")
            return
        tab.lint_rev = frame["rev"]
        live_dom.apply_fragments(tab.doc, frame["fragments"])

    async def sync_arrived(self, tab: Tab, frame: dict[str, Any]) -> None:
        tab.syncing = False
        missed = [op for op in frame["frames"] if op["rev"] > tab.rev]
        for op in missed:
            await self.apply_op(tab, op)
        tab.rev = max(tab.rev, frame["rev"])
        self.lint_arrived(tab, frame)
        tab.mark_rev()
        await self.drain_waiting(tab)

    async def reset_arrived(self, tab: Tab, frame: dict[str, Any]) -> None:
        tab.syncing, tab.needs_reset = False, False
        # the board, then the title and the activity panel, as live.js does
        live_dom.apply_fragments(tab.doc, [{"do": "board", "html": frame["html"]}, *frame["fragments"]])
        tab.rev = frame["rev"]
        tab.lint_rev = max(tab.lint_rev, tab.rev)
        tab.mark_rev()
        self.log(tab, f"reset to rev {tab.rev}")
        await self.drain_waiting(tab)

    async def drain_waiting(self, tab: Tab) -> None:
        frames, tab.waiting = sorted(tab.waiting, key=lambda f: f["rev"]), []
        for frame in frames:
            await self.op_arrived(tab, frame)

    async def request_sync(self, tab: Tab, since: int) -> None:
        if not tab.connected:
            return
        tab.syncing = True
        await self.send(tab, {"type": "sync", "since": since})

    async def resync_fully(self, tab: Tab) -> None:
        # offline, the next connection's sync asks for the whole board (needs_reset): frames are
        # the one way the board reaches a page
        tab.needs_reset = True
        if tab.connected:
            await self.request_sync(tab, 0)

    async def deliver(self, tab: Tab, count: int) -> None:
        while tab.inbox and count > 0:
            count -= 1
            await self.receive(tab, tab.inbox.pop(0))

    # --- What people do -------------------------------------------------------------------------

    def operation(self, tab: Tab) -> tuple[str, dict[str, Any], bool]:
        """A random operation, picked from what this tab's page shows; the flag says it must fail."""
        rng = self.rng
        columns = tab.columns()
        stages = [key for key, _ in columns]
        offers = [(key, stage) for stage, keys in columns for key in keys]
        kind = rng.choices(
            [
                "offer.move",
                "offer.update",
                "offer.create",
                "offer.delete",
                "stage.create",
                "stage.move",
                "stage.update",
                "stage.delete",
                "blueprint.update",
                "attribute.update",
                "invalid",
            ],
            [30, 12, 12, 2, 5, 5, 4, 1, 2, 0.5, 3],
        )[0]
        if not stages and kind != "invalid":
            kind = "stage.create"
        elif not offers and kind.startswith("offer."):
            kind = "offer.create"
        if kind == "stage.delete" and len(stages) < 2 and rng.random() < 0.7:
            kind = "stage.create"
        name = f"{rng.choice(NAMES)} {tab.made + 1}"
        if kind == "offer.move":
            key, _ = rng.choice(offers)
            stage = rng.choice(stages)
            return kind, {"key": key, "stage": stage, **self.position(dict(columns)[stage], key)}, False
        if kind == "offer.update":
            key, _ = rng.choice(offers)
            field_name = rng.choice(["name", "description", "channel"])
            return kind, {"key": key, field_name: name}, False
        if kind == "offer.create":
            stage = rng.choice(stages)
            key = tab.new_id()
            payload: dict[str, Any] = {
                "key": key,
                "stage": stage,
                "name": name,
                **self.position(dict(columns)[stage], key),
            }
            if rng.random() < 0.3:
                payload["groups"] = [
                    [{"attribute": "visits_30d", "operator": "at_least", "value": rng.randint(1, 9)}]
                ]
            return kind, payload, False
        if kind == "offer.delete":
            return kind, {"key": rng.choice(offers)[0]}, False
        if kind == "stage.create":
            key = tab.new_id()
            return kind, {"key": key, "name": name, **self.position(stages, key)}, False
        if kind == "stage.move":
            key = rng.choice(stages)
            return kind, {"key": key, **self.position(stages, key)}, False
        if kind == "stage.update":
            return kind, {"key": rng.choice(stages), rng.choice(["name", "description"]): name}, False
        if kind == "stage.delete":
            return kind, {"key": rng.choice(stages)}, False
        if kind == "blueprint.update":
            return kind, {"name": name}, False
        if kind == "attribute.update":
            key = rng.choice(sorted(ATTRIBUTE_LABELS))
            return kind, {"key": key, "label": f"{ATTRIBUTE_LABELS[key]} {tab.made + 1}"}, False
        # invalid: each of these is refused whatever the board looks like
        some_offer = rng.choice(offers)[0] if offers else "welcome"
        return rng.choice(
            [
                ("offer.update", {"key": some_offer, "name": "   "}, True),
                ("offer.move", {"key": some_offer, "stage": "no-such-stage"}, True),
                ("offer.move", {"key": some_offer, "before": some_offer}, True),
                ("offer.create", {"stage": stages[0] if stages else "x", "name": ""}, True),
                ("stage.update", {"key": "no-such-stage", "name": "Ghost"}, True),
                ("offer.delete", {"key": "no-such-offer"}, True),
                ("offer.dance", {"key": some_offer}, True),
            ]
        )

    def position(self, keys: list[str], moving: str) -> dict[str, str]:
        others = [k for k in keys if k != moving]
        roll = self.rng.random()
        if not others or roll < 0.5:
            return {}
        return {"before" if roll < 0.75 else "after": self.rng.choice(others)}

    async def edit(self, tab: Tab, op: str, payload: dict[str, Any], must_fail: bool) -> None:
        client_id = tab.new_id()
        if not tab.can_edit:
            must_fail = True  # a viewer's every edit is refused
        item = {"type": "op", "client_id": client_id, "op": op, "payload": payload}
        self.sent[client_id] = Sent(tab.name, op, payload, must_fail)
        if tab.can_edit and op in ("offer.move", "stage.move"):
            self.move_on_the_page(tab, op, payload)
        tab.queue.append(item)
        self.log(
            tab, f"op {client_id} {op} {json.dumps(payload, ensure_ascii=False)}{' (must fail)' * must_fail}"
        )
        if tab.connected:
            await self.send(tab, item)

    def move_on_the_page(self, tab: Tab, op: str, payload: dict[str, Any]) -> None:
        """The page moves the card or column at once, before the operation is sent (dragdrop.js's
        drop and move buttons): until its frame comes back, frames of others arrive on a page that
        already shows this move."""
        kind = "offer" if op == "offer.move" else "stage"
        moving = live_dom.by_id(tab.doc, f"{kind}-{payload['key']}")
        parent_id = f"stage-{payload.get('stage')}-offers" if kind == "offer" else "columns"
        if kind == "offer" and not payload.get("stage") and moving is not None:
            parent_id = moving.getparent().get("id")
        parent = live_dom.by_id(tab.doc, parent_id)
        if moving is None or parent is None:
            return
        neighbour_key = payload.get("before") or payload.get("after")
        neighbour = live_dom.by_id(tab.doc, f"{kind}-{neighbour_key}") if neighbour_key else None
        if neighbour is moving or (neighbour is not None and neighbour.getparent() is not parent):
            return  # a move the server refuses: the page would not have made it
        moving.getparent().remove(moving)
        if neighbour is not None and payload.get("before"):
            neighbour.addprevious(moving)
        elif neighbour is not None:
            neighbour.addnext(moving)
        else:
            end = next((child for child in parent if child.get("data-end") is not None), None)
            if end is not None:
                end.addprevious(moving)
            else:
                parent.append(moving)

    async def act(self) -> None:
        rng = self.rng
        action = rng.choices(
            [
                "edit",
                "race",
                "deliver",
                "settle",
                "drop",
                "swap",
                "disconnect",
                "reconnect",
                "reload",
                "undo",
                "catch-up",
            ],
            [30, 5, 40, 8, 8, 8, 3, 5, 1.5, 4, 5],
        )[0]
        editors = [tab for tab in self.tabs if tab.can_edit]
        if action == "edit":
            # several tabs edit at the same moment: all sent before anyone hears of the others
            for tab in rng.sample(self.tabs, rng.randint(1, min(3, len(self.tabs)))):
                if not tab.can_edit and rng.random() < 0.9:
                    continue
                await self.edit(tab, *self.operation(tab))
        elif action == "race":
            # the same card dragged by several people at once
            racers = rng.sample(editors, rng.randint(2, min(3, len(editors))))
            offers = [key for _, keys in racers[0].columns() for key in keys]
            if offers:
                key = rng.choice(offers)
                for tab in racers:
                    columns = tab.columns()
                    if not columns:
                        continue
                    stage, keys = rng.choice(columns)
                    await self.edit(
                        tab, "offer.move", {"key": key, "stage": stage, **self.position(keys, key)}, False
                    )
        elif action == "deliver":
            tab = rng.choice(self.tabs)
            await self.pull(tab)
            await self.deliver(tab, rng.randint(1, max(1, len(tab.inbox))))
        elif action == "settle":
            await self.settle()
        elif action == "catch-up":
            # a quiet moment: everything on the wire arrives everywhere
            await self.settle()
            for tab in self.tabs:
                await self.pull(tab)
                await self.deliver(tab, len(tab.inbox))
        elif action in ("drop", "swap"):
            tab = rng.choice(self.tabs)
            await self.pull(tab)
            ops = [i for i, frame in enumerate(tab.inbox) if frame["type"] == "op"]
            if action == "drop":
                if ops:
                    frame = tab.inbox.pop(ops[0])
                    self.log(tab, f"frame rev {frame['rev']} lost by the channel layer")
                else:
                    tab.lose_next += 1  # the next one to come
            elif ops and ops[0] + 1 < len(tab.inbox):
                # hold a frame and deliver it after the next one
                i = ops[0]
                held = tab.inbox.pop(i)
                await self.receive(tab, tab.inbox.pop(i))
                await self.receive(tab, held)
                self.log(tab, f"frame rev {held['rev']} delivered late")
        elif action == "disconnect":
            online = [tab for tab in self.tabs if tab.comm is not None]
            if online:
                tab = rng.choice(online)
                await self.pull(tab)
                await self.deliver(tab, rng.randint(0, len(tab.inbox)))
                await self.disconnect(tab, lose_unsent=rng.random() < 0.5)
        elif action == "reconnect":
            offline = [tab for tab in self.tabs if tab.comm is None]
            if offline:
                tab = rng.choice(offline)
                await self.deliver(tab, len(tab.inbox))  # board fetches that were still on their way
                await self.connect(tab)
        elif action == "reload":
            tab = rng.choice(self.tabs)
            if tab.comm is not None:
                await self.disconnect(tab, lose_unsent=False)
            tab.inbox = []
            await self.load_page(tab)  # the queue survives in sessionStorage
            await self.connect(tab)
        elif action == "undo":
            tab = rng.choice(editors)
            if tab.connected:
                kind = "undo" if rng.random() < 0.75 else "redo"
                client_id = tab.new_id()
                self.log(tab, f"{kind} {client_id}")
                self.undos[client_id] = []
                await self.send(tab, {"type": kind, "client_id": client_id})

    # --- The run --------------------------------------------------------------------------------

    async def play(self) -> None:
        try:
            for tab in self.tabs:
                await self.load_page(tab)
                await self.connect(tab)
            for self.step in range(1, STEPS + 1):
                await self.act()
                await asyncio.sleep(0)
                if self.step % CHECKPOINT_EVERY == 0 and STEPS - self.step >= CHECKPOINT_EVERY // 2:
                    await self.checkpoint()
            self.step += 1
            await self.checkpoint()
        finally:
            for tab in self.tabs:
                if tab.comm is not None:
                    await tab.comm.disconnect(timeout=TIMEOUT)
                    tab.comm = None

    async def checkpoint(self) -> None:
        """Every tab comes back, flushes its queue and syncs, everything on the wire arrives; then
        every page must show what a page load shows."""
        self.log(None, "--- checkpoint: reconnect, flush, sync")
        for tab in self.tabs:
            if tab.comm is None:
                await self.deliver(tab, len(tab.inbox))
                await self.connect(tab)
        await self.quiet(lambda tab: not tab.queue)
        for tab in self.tabs:
            await self.request_sync(tab, tab.rev)
        rev = await sync_to_async(lambda: Blueprint.objects.get(pk=self.blueprint_id).rev)()
        await self.quiet(lambda tab: tab.rev == rev)
        for tab in self.tabs:
            response = await sync_to_async(tab.http.get)(reverse("board", args=[self.blueprint_id]))
            shown, fresh = (
                live_dom.board_parts(tab.doc),
                live_dom.board_parts(live_dom.page(response.content)),
            )
            for part in ("board", "board-title", "lint", "lint-summary"):
                if shown[part] != fresh[part]:
                    raise AssertionError(
                        f"{tab.name}'s {part} differs from a page load:\n"
                        + live_dom.difference({part: shown[part]}, {part: fresh[part]})
                        + f"\n{tab.name} went through:\n"
                        + "\n".join(tab.journal)
                    )

    async def quiet(self, done: Any) -> None:
        deadline = time.monotonic() + TIMEOUT * 2
        while True:
            for tab in self.tabs:
                await self.pull(tab)
                await self.deliver(tab, len(tab.inbox))
            if all(
                tab.outstanding <= 0 and not tab.syncing and not tab.waiting and not tab.inbox and done(tab)
                for tab in self.tabs
            ):
                return
            if time.monotonic() > deadline:
                state = {
                    tab.name: (tab.rev, len(tab.queue), tab.outstanding, tab.syncing, len(tab.waiting))
                    for tab in self.tabs
                }
                raise AssertionError(f"the tabs did not settle (rev, queue, owed, syncing, waiting): {state}")
            await asyncio.sleep(0.002)

    # --- The verdict ----------------------------------------------------------------------------

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)
        rev = Blueprint.objects.get(pk=self.blueprint_id).rev
        log = list(Operation.objects.filter(blueprint_id=self.blueprint_id).order_by("rev"))
        assert [record.rev for record in log] == list(range(1, rev + 1)), "the log's revs have a hole"
        by_client: dict[str, list[Operation]] = {}
        for record in log:
            if record.client_id:
                by_client.setdefault(record.client_id, []).append(record)
        assert all(len(records) == 1 for records in by_client.values()), "a client id applied twice"

        viewers = {tab.name for tab in self.tabs if not tab.can_edit}
        for client_id, sent in self.sent.items():
            seen = {answer[0] for answer in sent.answers}
            records = by_client.get(client_id, [])
            assert seen, f"{client_id} ({sent.op}) was never answered: silently dropped"
            if "refused" in seen and not ({"ack", "frame"} & seen):
                assert not records, f"{client_id} was refused but is in the log"
                if sent.tab in viewers and sent.op in HANDLERS:  # an unknown type is refused first
                    assert {a[1] for a in sent.answers} == {403}, f"{client_id}: {sent.answers}"
                continue
            assert not sent.must_fail, f"{client_id} {sent.op} {sent.payload} should have been refused"
            assert len(records) == 1, f"{client_id} was acknowledged but is not in the log"
            for answer in sent.answers:
                if answer[0] in ("ack", "frame"):
                    assert answer[1:] == (records[0].rev, records[0].pk), f"{client_id}: {answer} vs the log"
        for client_id, answers in self.undos.items():
            records = by_client.get(client_id, [])
            if answers and answers[0]["done"]:
                assert len(records) == 1, f"undo {client_id} was done but is not in the log"
            elif answers:
                assert not records, f"undo {client_id} was not done but is in the log"
        assert {tab.name: tab.queue for tab in self.tabs} == {tab.name: [] for tab in self.tabs}
        for tab in self.tabs:
            assert tab.rev == rev, f"{tab.name} is at rev {tab.rev}, the blueprint at {rev}"
            board = live_dom.by_id(tab.doc, "board")
            assert board is not None and board.get("data-rev") == str(rev), f"{tab.name}'s #board[data-rev]"

    def summary(self) -> str:
        def count(words: str) -> int:
            return sum(1 for line in self.trace if words in line)

        outcomes = [{a[0] for a in sent.answers} for sent in self.sent.values()]
        resent = sum(int(line.rsplit(" ", 1)[1]) for line in self.trace if "), queue " in line)
        tabs = ", ".join(tab.name for tab in self.tabs)
        return (
            f"seed {self.seed}: sync limit {live.SYNC_LIMIT}, {len(self.tabs)} tabs ({tabs}), "
            f"{self.step} actions, checkpoints every {CHECKPOINT_EVERY}; {len(self.sent)} ops sent, "
            f"{sum(1 for o in outcomes if o & {'ack', 'frame'})} applied, "
            f"{sum(1 for o in outcomes if not o & {'ack', 'frame'})} refused, {resent} re-sent; "
            f"{len(self.undos)} undo/redo; {count('lost by the channel layer')} frames lost, "
            f"{count('delivered late')} late; {count('gap:')} gaps; {count('reset to')} resets, "
            f"{count('board fetched')} board fetches; {count('disconnected:')} disconnects, "
            f"{count('page load') - len(self.tabs)} reloads"
        )

    def report(self, exc: BaseException) -> str:
        return (
            f"live board fuzz, seed {self.seed}, failed at action {self.step}: {exc}\n"
            f"reproduce: LIVE_FUZZ_SEED={self.seed} .venv/bin/pytest tests/blueprint/test_live_fuzz.py "
            "(the server's timing is real: a seed replays its first actions, not always every one)\n"
            f"{self.summary()}\nactions:\n" + "\n".join(self.trace)
        )


@pytest.mark.parametrize("seed", _seeds())
def test_every_tab_converges_on_the_board_a_page_load_shows(
    seed: int, board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fuzz = Fuzz(seed, board, users)
    # a tab this far behind gets the whole board (a `reset`); small limits make resets common
    monkeypatch.setattr(live, "SYNC_LIMIT", fuzz.rng.choice([30, live.SYNC_LIMIT, live.SYNC_LIMIT]))
    try:
        async_to_sync(fuzz.play)()
        fuzz.check()
    except Exception as exc:
        raise AssertionError(fuzz.report(exc)) from exc
    print(fuzz.summary())  # shown with -rP: how much each seed exercised
