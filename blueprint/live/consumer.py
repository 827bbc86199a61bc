"""The live board's socket: one ``BoardConsumer`` per open tab (the live-board protocol).

Thin by design: every change goes through ``operation_apply`` (or ``undo_step``), every frame is
rendered by ``blueprint.live.render``; this module only checks who is asking, validates the shape of
what arrives, and routes messages between the browser and the board's group. Presence lives in
memory only: each tab announces itself to the group and the others answer, so every worker process
knows every tab without a database, and a crashed worker's tabs simply stop being refreshed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

from channels.consumer import get_handler_name
from channels.exceptions import AcceptConnection, DenyConnection, StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from blueprint.live.database import (
    access_async,
    apply_as_member_async,
    board_reset_frame_async,
    rev_async,
    role_and_rev_async,
    sync_frame_async,
    undo_step_async,
    version_text_async,
)
from blueprint.live.frames import frame_cache, frame_text_async
from blueprint.live.hub import lint_push, operation_hub
from blueprint.models import EDIT_ROLES
from blueprint.selectors import member_face
from blueprint.services.accounts import account_group_name
from blueprint.services.broadcast import board_group_name
from decisioning.conditions import KEY_RE
from decisioning.errors import BlueprintError
from decisioning.limits import LIMITS, json_too_deep, over_limit

logger = logging.getLogger(__name__)
# the type of the message being answered (a task's own), which error frames name as ``about``
ANSWERING: ContextVar[str | None] = ContextVar("answering", default=None)
T = TypeVar("T")

MAX_FRAME_BYTES = LIMITS.socket_frame_bytes
MESSAGE_TYPES = ("op", "sync", "presence", "undo", "redo", "ping")
EDITING_RE = re.compile(rf"(?:offer|stage)-{KEY_RE.pattern}")  # fullmatch: the whole string

MAX_ID = 2**63 - 1
# A tab may send this many messages at once, and this many a second after that: far more than a
# person dragging, typing and undoing does; a runaway script is answered with errors instead of
# flooding everyone on the board with presence.
BURST_MESSAGES = 60
MESSAGES_PER_SECOND = 20.0
CLOSE_ANONYMOUS = 4401
CLOSE_REMOVED = 4403
CLOSE_NOT_MEMBER = 4404


class FrameProblem(Exception):
    """A client message that cannot be taken as it is: answered with an ``error`` frame."""

    def __init__(self, field: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.errors = {field: [message]}
        self.detail = detail or message


class BoardConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/blueprints/<id>/``: the board's operations, presence and undo for one tab."""

    # seconds (settings.LIVE_HEARTBEAT_SECONDS, LIVE_PRESENCE_EXPIRES_SECONDS); class attributes so
    # a test can make them short
    heartbeat_seconds = float(settings.LIVE_HEARTBEAT_SECONDS)
    presence_expires_seconds = float(settings.LIVE_PRESENCE_EXPIRES_SECONDS)

    blueprint_id: int
    group: str
    role: str
    me: dict[str, Any]

    # --- Lifecycle --------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """No message may crash the socket: what fails unexpectedly is logged, and the tab goes on
        (it recovers anything it missed from ``rev``)."""
        try:
            # Not super().dispatch: since Channels 4.2 it first hops to the database thread to close
            # stale connections, for every message — with thirty tabs, thirty hops per operation,
            # queued ahead of the edits themselves. Every database call here goes through
            # database_sync_to_async, which closes stale connections on that thread anyway.
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message.get('type')}")
            await handler(message)
        except (StopConsumer, AcceptConnection, DenyConnection):
            raise
        except Exception:
            logger.exception("%s on blueprint socket failed", message.get("type"))
            if message.get("type") == "websocket.connect":
                await self.close(code=1011)

    async def connect(self) -> None:
        self.joined = False
        self.heartbeat: asyncio.Task[None] | None = None
        self.server: asyncio.Task[None] | None = None
        self.requests: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.allowance, self.allowance_at = float(BURST_MESSAGES), time.monotonic()
        # the digest of the lint this socket last sent (None: none yet, so a sync brings it)
        self.lint_digest: str | None = None
        self.members: dict[str, tuple[dict[str, Any], float]] = {}
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        self.blueprint_id = int(self.scope["url_route"]["kwargs"]["blueprint_id"])
        if self.blueprint_id > MAX_ID:  # the route takes any digits; the database does not
            await self.close(code=CLOSE_NOT_MEMBER)
            return
        self.group = board_group_name(self.blueprint_id)
        # The person's group: a password change, a deactivation or a log-out closes the socket
        # at once (blueprint.services.accounts.account_sockets_close), not at the next heartbeat.
        self.account_group = account_group_name(user.pk)
        await self.channel_layer.group_add(self.account_group, self.channel_name)
        # Join before reading rev: an operation committed after the read is then broadcast to us.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await operation_hub.join(self)
        role, rev = await role_and_rev_async(user, self.blueprint_id)
        if role is None:
            operation_hub.leave(self)
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.account_group, self.channel_name)
            await self.close(code=CLOSE_NOT_MEMBER)
            return
        self.joined = True
        self.role = role
        self.me = {"tab": self.channel_name, **member_face(user), "editing": None}
        await self.accept()
        lint_push.join(self)
        await self.send_json({"type": "welcome", "rev": rev, "you": self.me, "role": role})
        self.members[self.channel_name] = (self.me, time.monotonic())
        await self.channel_layer.group_send(self.group, {"type": "presence.join", "member": self.me})
        await self._send_presence()
        self.heartbeat = asyncio.get_running_loop().create_task(self._beat())
        self.server = asyncio.get_running_loop().create_task(self._serve())

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            self.heartbeat = None
        if self.server is not None:
            # not from within: a request that ends the socket (signed out, removed) goes on to close it
            if self.server is not asyncio.current_task():
                self.server.cancel()
            self.server = None
        if not self.joined:
            return
        self.joined = False
        operation_hub.leave(self)
        lint_push.leave(self)
        try:
            await self.channel_layer.group_send(
                self.group, {"type": "presence.leave", "tab": self.channel_name}
            )
        finally:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(self.account_group, self.channel_name)

    async def _beat(self) -> None:
        """Re-announce this tab and forget tabs nobody has heard of lately (a crashed worker's)."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                # also renews the group memberships, which channels_redis expires after a day
                await self.channel_layer.group_add(self.group, self.channel_name)
                await self.channel_layer.group_add(self.account_group, self.channel_name)
                await operation_hub.renew(self)
                await self.channel_layer.group_send(
                    self.group, {"type": "presence.update", "member": self.me}
                )
                now = time.monotonic()
                self.members[self.channel_name] = (self.me, now)
                stale = [
                    tab
                    for tab, (_, seen) in self.members.items()
                    if now - seen > self.presence_expires_seconds
                ]
                for tab in stale:
                    del self.members[tab]
                if stale:
                    await self._send_presence()
                # signed out, deactivated, deleted or removed without a broadcast reaching us
                if not await self._role_still_held():
                    return
                # the rev, so a tab that lost the last frame (and sees no gap, since nothing came
                # after it) notices within a beat
                await self.send_json({"type": "beat", "rev": await rev_async(self.blueprint_id)})
            except Exception:
                logger.exception("presence heartbeat failed on blueprint %s", self.blueprint_id)

    # --- From the browser -------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        ANSWERING.set(None)
        await self._answering(self._receive(text_data, spend=True))

    async def _answering(self, handling: Coroutine[Any, Any, None]) -> None:
        """Run a message's handler: what it cannot take is answered with an error frame."""
        try:
            await handling
        except FrameProblem as problem:
            await self._send_error(problem.detail, problem.errors)
        except Exception:
            logger.exception("socket message on blueprint %s failed", getattr(self, "blueprint_id", "?"))
            await self._send_error(
                "The server could not handle that message; try again later.", {"frame": ["Server error."]}
            )

    async def _serve(self) -> None:
        """The tab's operations, undos and syncs, one after another in the order it sent them.

        They wait on the database, and a consumer handles one message at a time: awaited in
        ``receive`` they would hold back the broadcasts to this tab (everyone's edits) for as long
        as its own edit is queued for the database. Here they do not."""
        while self.joined:
            message_type, content = await self.requests.get()
            ANSWERING.set(message_type)
            await self._answering(self._handle(message_type, content))

    def _spend_allowance(self) -> None:
        """A token bucket: ``BURST_MESSAGES`` at once, ``MESSAGES_PER_SECOND`` after that."""
        now = time.monotonic()
        self.allowance = min(
            float(BURST_MESSAGES), self.allowance + (now - self.allowance_at) * MESSAGES_PER_SECOND
        )
        self.allowance_at = now
        if self.allowance < 1:
            raise FrameProblem("frame", "Too many messages; wait a moment and send again.")
        self.allowance -= 1

    async def _receive(self, text_data: str | None, *, spend: bool) -> None:
        if spend:
            self._spend_allowance()
        if text_data is None:
            raise FrameProblem("frame", "Binary frames are not accepted; send JSON text.")
        if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode("utf-8", "replace")) > MAX_FRAME_BYTES:
            raise FrameProblem(
                "frame",
                over_limit("socket_frame_bytes", f"A message may be at most {MAX_FRAME_BYTES} bytes"),
            )
        try:
            content = json.loads(text_data, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            raise FrameProblem("frame", _too_deep()) from None
        except ValueError:
            raise FrameProblem("frame", "Not valid JSON.") from None
        deep = json_too_deep(content)
        if deep is not None:
            raise FrameProblem(deep[:200], _too_deep())
        if not isinstance(content, dict):
            raise FrameProblem("frame", "Expected a JSON object.")
        message_type = content.get("type")
        if not isinstance(message_type, str) or message_type not in MESSAGE_TYPES:
            raise FrameProblem(
                "type", f"Expected one of: {', '.join(MESSAGE_TYPES)}.", "Unknown message type."
            )
        ANSWERING.set(message_type)
        if message_type == "presence":
            await self._on_presence(content)
        elif message_type == "ping":
            await self.send_json({"type": "pong"})
        else:
            self.requests.put_nowait((message_type, content))  # bounded by the allowance

    async def _handle(self, message_type: str, content: dict[str, Any]) -> None:
        # handlers are _on_<type>: AsyncConsumer keeps a flag of its own called _sync
        if message_type == "op":
            await self._on_op(content)
        elif message_type == "sync":
            await self._on_sync(content)
        else:
            await self._on_undo(content, redo=message_type == "redo")

    async def _on_op(self, content: dict[str, Any]) -> None:
        client_id = _client_id(content)
        op_type = content.get("op")
        if not isinstance(op_type, str) or not op_type:
            raise FrameProblem("op", "Name the operation, e.g. offer.move.")
        payload = content.get("payload")
        if not isinstance(payload, dict):
            raise FrameProblem("payload", "The payload must be an object.")
        session = self.scope.get("session")
        try:
            attempt = await apply_as_member_async(
                self.scope["user"],
                getattr(session, "session_key", None),
                self.blueprint_id,
                op_type=op_type,
                payload=payload,
                client_id=client_id,
            )
        except Exception:
            # nothing was committed (the service commits last); the client id makes a retry safe
            logger.exception("%s on blueprint %s failed", op_type, self.blueprint_id)
            await self._send_refused(client_id, SERVER_FAILED)
            return
        if attempt.record is None and not await self._access_held(attempt.signed_in, attempt.role):
            return
        if attempt.refusal is not None:
            await self._send_refused(client_id, attempt.refusal)
            return
        record = attempt.record
        await self.send_json({"type": "ack", "client_id": client_id, "rev": record.rev, "id": record.pk})

    async def _on_sync(self, content: dict[str, Any]) -> None:
        since = content.get("since")
        if not isinstance(since, int) or isinstance(since, bool):
            raise FrameProblem("since", "Expected the whole-number rev the page was rendered at.")
        # The channel layer may have lost a membership message: a sync is a good moment to look.
        if not await self._role_still_held():
            return
        try:
            frame = await sync_frame_async(
                self.blueprint_id, since, can_edit=self._can_edit(), lint_shown=self.lint_digest
            )
        except BlueprintError as exc:
            await self._send_error(exc.message, exc.problems)
            return
        self.lint_digest = str(frame["lint_digest"])  # brought, or what it showed already
        await self.send_json(frame)

    async def _on_presence(self, content: dict[str, Any]) -> None:
        editing = content.get("editing")
        if editing is not None and not (isinstance(editing, str) and EDITING_RE.fullmatch(editing)):
            raise FrameProblem(
                "editing", "Expected null, or the id of an offer or stage (offer-<key>, stage-<key>)."
            )
        if editing == self.me["editing"]:
            return
        self.me = {**self.me, "editing": editing}
        self.members[self.channel_name] = (self.me, time.monotonic())
        await self._send_presence()
        await self.channel_layer.group_send(self.group, {"type": "presence.update", "member": self.me})

    async def _on_undo(self, content: dict[str, Any], *, redo: bool) -> None:
        client_id = _client_id(content)
        if not await self._role_still_held():
            return
        try:
            result = await undo_step_async(
                # the client id makes a re-sent undo (after a reconnect) apply once
                blueprint_id=self.blueprint_id,
                actor=self.scope["user"],
                redo=redo,
                client_id=client_id,
            )
        except BlueprintError as exc:
            await self._send_refused(client_id, exc)
            return
        except Exception:
            logger.exception("%s on blueprint %s failed", "redo" if redo else "undo", self.blueprint_id)
            await self._send_refused(client_id, SERVER_FAILED)
            return
        await self.send_json(
            {
                "type": "redo" if redo else "undo",
                "client_id": client_id,
                "done": bool(result.done),
                "message": str(result.message),
            }
        )

    # --- From the group ---------------------------------------------------------------------

    async def board_operation(self, message: dict[str, Any]) -> None:
        """An operation, from this process's OperationHub."""
        if not self.joined:
            return
        lint_push.changed(self.blueprint_id)  # the lint follows, once for a burst of operations
        try:
            operation_id, can_edit = int(message["operation_id"]), self._can_edit()
            carried = message.get("frame")
            if can_edit and isinstance(carried, str):
                await self.send(text_data=carried)  # rendered at commit (frame_at_commit)
                return
            # ``committed_at`` (the same for every socket) replaces the log's time, so a receiver
            # can measure commit-to-screen latency
            text = await frame_cache.frame(
                ("op", self.blueprint_id, operation_id, can_edit),
                lambda: frame_text_async(
                    self.blueprint_id, operation_id, can_edit, message.get("committed_at")
                ),
            )
        except Exception:
            # the client sees the gap in rev with the next operation (or the heartbeat) and syncs
            logger.exception("rendering operation %s failed", message.get("operation_id"))
            return
        if text is not None:
            await self.send(text_data=text)

    async def send_lint(self, text: str, digest: str) -> None:
        """A ``lint`` frame from the process's LintPush."""
        self.lint_digest = digest
        await self.send(text_data=text)

    async def board_version(self, message: dict[str, Any]) -> None:
        """A version was published or decided: the badge, redrawn (published versions are no part
        of the operation log, so this frame carries no rev)."""
        try:
            # once per broadcast in this process: the badge is the same for every role
            text = await frame_cache.frame(
                ("version", self.blueprint_id, message.get("sent")),
                lambda: version_text_async(self.blueprint_id),
            )
        except Exception:
            logger.exception("rendering the version badge of blueprint %s failed", self.blueprint_id)
            return
        if text is not None:
            await self.send(text_data=text)

    async def board_membership(self, message: dict[str, Any]) -> None:
        user_id = message.get("user_id")
        if user_id is not None and user_id != self.scope["user"].pk:
            return
        try:
            await self._role_still_held()
        except Exception:
            logger.exception("re-reading a role on blueprint %s failed", self.blueprint_id)

    async def account_ended(self, message: dict[str, Any]) -> None:
        """The person's access ended (password changed, deactivated, deleted) or, with a
        ``session_key``, that session logged out: say so and close 4401, as a stale session would."""
        session_key = message.get("session_key")
        if session_key and session_key != getattr(self.scope.get("session"), "session_key", None):
            return
        if not self.joined:
            return
        ANSWERING.set(None)  # it answers no message of the tab's
        text = "You are signed out; sign in again to go on."
        await self._send_error(text, {"session": [text]})
        await self._leave()
        await self.close(code=CLOSE_ANONYMOUS)

    async def presence_join(self, message: dict[str, Any]) -> None:
        member = message["member"]
        if member["tab"] == self.channel_name:
            return
        self.members[member["tab"]] = (member, time.monotonic())
        await self.channel_layer.send(member["tab"], {"type": "presence.here", "member": self.me})
        await self._send_presence()

    async def presence_here(self, message: dict[str, Any]) -> None:
        await self._remember(message["member"])

    async def presence_update(self, message: dict[str, Any]) -> None:
        await self._remember(message["member"])

    async def presence_leave(self, message: dict[str, Any]) -> None:
        if self.members.pop(message["tab"], None) is not None:
            await self._send_presence()

    # --- Helpers ----------------------------------------------------------------------------

    def _can_edit(self) -> bool:
        return self.role in EDIT_ROLES

    async def _role_still_held(self) -> bool:
        """Re-read whether this tab may still be here: signed out (logged out, password changed,
        account deactivated or deleted) → close 4401; no longer a member → say so and close 4403;
        another role → redraw the board for it (the ``reset`` names the role, and the page reloads
        when what it may do changed). False when the socket was closed."""
        session = self.scope.get("session")
        signed_in, role = await access_async(
            self.scope["user"], getattr(session, "session_key", None), self.blueprint_id
        )
        return await self._access_held(signed_in, role)

    async def _access_held(self, signed_in: bool, role: str | None) -> bool:
        """Act on a tab's access as re-read (see ``_role_still_held``)."""
        if not signed_in or role is None:
            message = (
                "You are no longer a member of this blueprint."
                if signed_in
                else "You are signed out; sign in again to go on."
            )
            await self._send_error(message, {"blueprint" if signed_in else "session": [message]})
            await self._leave()
            await self.close(code=CLOSE_REMOVED if signed_in else CLOSE_ANONYMOUS)
            return False
        if role != self.role:
            self.role = role
            try:
                frame = await board_reset_frame_async(self.blueprint_id, can_edit=self._can_edit())
            except BlueprintError:
                return True  # the blueprint went meanwhile; its own broadcast closes the socket
            self.lint_digest = str(frame["lint_digest"])
            await self.send_json({**frame, "role": role})
        return True

    async def _remember(self, member: dict[str, Any]) -> None:
        tab = member["tab"]
        if tab == self.channel_name:
            return
        known = self.members.get(tab)
        self.members[tab] = (member, time.monotonic())
        if known is None or known[0] != member:
            await self._send_presence()

    async def _send_presence(self) -> None:
        if not self.joined:
            return  # closed: the presence it sent on leaving comes back to it too
        members = sorted((m for m, _ in self.members.values()), key=lambda m: (m["name"], m["tab"]))
        await self.send_json({"type": "presence", "members": members})

    async def _send_error(self, detail: str, errors: dict[str, list[str]]) -> None:
        # ``about``: the type of the message this answers, when it answers one (a failed sync
        # must not leave the client waiting for its answer)
        frame: dict[str, Any] = {"type": "error", "detail": detail, "errors": errors}
        about = ANSWERING.get()
        if about:
            frame["about"] = about
        await self.send_json(frame)

    async def _send_refused(self, client_id: str, exc: BlueprintError) -> None:
        await self.send_json(
            {
                "type": "refused",
                "client_id": client_id,
                "status": exc.status,
                "detail": exc.message,
                "errors": exc.problems,
            }
        )


class _ServerFailed(BlueprintError):
    status = 500


SERVER_FAILED = _ServerFailed(
    "The server could not save this change just now; it was not saved. Trying again.", field="server"
)


def _client_id(content: dict[str, Any]) -> str:
    client_id = content.get("client_id")
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= LIMITS.client_id_length:
        raise FrameProblem(
            "client_id",
            over_limit(
                "client_id_length",
                f"A client id is a string of 1 to {LIMITS.client_id_length} characters",
            ),
        )
    return client_id


def _too_deep() -> str:
    return over_limit("json_depth", f"The message is nested too deeply; at most {LIMITS.json_depth} levels")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large")
    return value
