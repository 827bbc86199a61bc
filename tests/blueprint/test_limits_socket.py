"""The limits on the board's socket: an operation one past a limit is refused (``refused`` with
status 400 and the errors naming the limit) and changes nothing; one at the limit is acknowledged.
A message past the socket's own limits (its size, its nesting) gets an ``error`` naming them. The
cases are those of test_limits.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blueprint.models import Blueprint
from decisioning.limits import LIMITS
from tests.blueprint.test_consumers import board_socket, next_frame, run, session_cookie
from tests.blueprint.test_limits import (
    COUNTS,
    MOVE,
    SHAPES,
    Case,
    fill_offers,
    named,
    small_counts,
    state,
    words,
)

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["small_counts"]  # a fixture, used by name


def send_op(
    board: Blueprint, cookie: bytes, op: tuple[str, dict[str, Any]], client_id: str
) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, cookie) as socket:
            await socket.send_json_to({"type": "op", "client_id": client_id, "op": op[0], "payload": op[1]})
            return await next_frame(socket, "presence", "beat", "lint", "op")

    return run(body)


def assert_refused(frame: dict[str, Any], case: Case) -> None:
    assert frame["type"] == "refused", frame
    assert frame["status"] == 400
    said = " ".join(frame["errors"][case.field])
    assert words(case) in said and named(case) in said, said


@pytest.mark.parametrize("case", SHAPES, ids=str)
def test_the_socket_takes_a_shape_at_its_limit_and_refuses_one_past_it(
    board: Blueprint, users: dict[str, Any], case: Case
) -> None:
    cookie = session_cookie(users["editor"])
    limit = getattr(LIMITS, case.limit)
    before = state(board)
    assert_refused(send_op(board, cookie, case.make(limit + 1), "over"), case)
    assert state(board) == before
    assert send_op(board, cookie, case.make(limit), "at")["type"] == "ack"


@pytest.mark.parametrize("case", [*COUNTS, MOVE], ids=str)
def test_the_socket_holds_a_count(
    board: Blueprint, users: dict[str, Any], small_counts: None, case: Case
) -> None:
    assert case.fill is not None
    cookie = session_cookie(users["editor"])
    limit = getattr(LIMITS, case.limit)
    case.fill(board, limit - 1)
    assert send_op(board, cookie, case.make(limit), "at")["type"] == "ack"
    if case is MOVE:
        assert (
            send_op(board, cookie, ("offer.move", {"key": "app_tour", "stage": "onboarding"}), "back")["type"]
            == "ack"
        )
        fill_offers(board, "awareness", limit)
    before = state(board)
    assert_refused(send_op(board, cookie, case.make(limit + 1), "over"), case)
    assert state(board) == before


def send_text(board: Blueprint, cookie: bytes, text: str) -> dict[str, Any]:
    async def body() -> dict[str, Any]:
        async with board_socket(board.pk, cookie) as socket:
            await socket.send_to(text_data=text)
            return await next_frame(socket)

    return run(body)


def test_a_message_past_the_socket_frame_limit_is_refused_naming_it(
    board: Blueprint, users: dict[str, Any]
) -> None:
    cookie = session_cookie(users["editor"])
    message = {
        "type": "op",
        "client_id": "big",
        "op": "offer.update",
        "payload": {"key": "welcome", "name": ""},
    }
    padding = LIMITS.socket_frame_bytes - len(json.dumps(message))
    message["payload"]["description"] = "d" * (padding + 1)
    before = state(board)
    frame = send_text(board, cookie, json.dumps(message))
    assert frame["type"] == "error"
    assert "(limit socket_frame_bytes)" in " ".join(frame["errors"]["frame"])
    assert state(board) == before


def test_a_message_nested_past_the_json_depth_limit_is_refused_naming_it(
    board: Blueprint, users: dict[str, Any]
) -> None:
    cookie = session_cookie(users["editor"])
    deep: Any = "Welcome"
    for _ in range(LIMITS.json_depth):
        deep = [deep]
    message = {
        "type": "op",
        "client_id": "deep",
        "op": "offer.update",
        "payload": {"key": "welcome", "name": deep},
    }
    before = state(board)
    frame = send_text(board, cookie, json.dumps(message))
    assert frame["type"] == "error"
    assert any("(limit json_depth)" in m for messages in frame["errors"].values() for m in messages), frame
    assert state(board) == before
    # ten thousand levels: past Python's own recursion, still the same answer
    frame = send_text(board, cookie, "[" * 10_000 + "]" * 10_000)
    assert frame["type"] == "error"
    assert "(limit json_depth)" in " ".join(frame["errors"]["frame"])
