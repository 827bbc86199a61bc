"""A request whose client went away stops its heavy work (README "Serving", decisioning/budget.py).

``blueprint.serving`` makes each HTTP request's cancel event the *stop event* of its context
(``decisioning.budget.stopped_by``). Every budget made in that context takes it, so the lint, an
explanation and the simulator stop without each caller handing it down; a DuckDB batch or coverage
is interrupted; the view ends with an empty 499 rather than a logged 500; a streamed answer ends
quietly. Here the event is set as the real server sets it, by the same context variable, around
Django's test client, which runs the view on this thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.models import Blueprint
from blueprint.selectors import lint_cache
from blueprint.serving import CLIENT_CLOSED, request_cancelled
from decisioning.budget import Budget, Cancelled, stop_event, stopped_by
from decisioning.duckdb_run import batch_run, connect
from decisioning.engine import compile_snapshot
from decisioning.lint import lint_blueprint
from decisioning.model import spec_from_json
from tests.decisioning.test_decide_api import CSV_ROWS, publish, write_csv
from tests.decisioning.test_lint_cost import reported_stage

AT = dt.date(2025, 6, 30)


def stopped() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


# --- The context's stop event reaches every budget ---------------------------------------------------


def test_a_budget_takes_the_stop_event_of_its_context_unless_given_one() -> None:
    assert stop_event() is None and Budget(10).cancel is None
    event, own = threading.Event(), threading.Event()
    with stopped_by(event):
        assert stop_event() is event and request_cancelled() is event
        assert Budget(10).cancel is event
        assert Budget(10, cancel=own).cancel is own
        assert Budget(10).share(2).cancel is event
    assert stop_event() is None and not request_cancelled().is_set()


def test_the_lint_and_an_explanation_stop_under_a_set_stop_event_with_their_default_budgets() -> None:
    spec = spec_from_json(reported_stage(40))
    assert lint_blueprint(spec, at=AT).findings is not None  # an answer without the event
    engine = compile_snapshot(reported_stage(40), {"number": 1})
    assert engine.decide({"n0": 50}, at=AT, explain=True).as_json()
    with stopped_by(stopped()):
        with pytest.raises(Cancelled):
            lint_blueprint(spec, at=AT)
        with pytest.raises(Cancelled):
            engine.decide({"n0": 50}, at=AT, explain=True)
        # a plain decision spends no budget: it is bounded by the limits and answers
        assert engine.decide({"n0": 50}, at=AT).decisions is not None


# --- DuckDB --------------------------------------------------------------------------------------------


def test_a_duckdb_statement_is_interrupted_once_the_stop_event_is_set() -> None:
    event = threading.Event()
    timer = threading.Timer(0.2, event.set)
    started = time.monotonic()
    with stopped_by(event), pytest.raises(Cancelled):
        timer.start()
        with connect() as con:
            # minutes of work on two cores, were it not interrupted
            con.execute("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3").fetchone()
    assert event.is_set()
    assert time.monotonic() - started < 60  # not run to its end


def test_a_batch_under_a_set_stop_event_is_cancelled_not_blamed_on_the_file(tmp_path: Any) -> None:
    board_snapshot = reported_stage(5)
    engine = compile_snapshot(board_snapshot, {"number": 1})
    source = tmp_path / "in.csv"
    source.write_text("n0,n1\n1,2\n2,3\n")
    target = tmp_path / "out.csv"
    assert batch_run(engine, source, target, at=AT) == 2
    with stopped_by(stopped()), pytest.raises(Cancelled):
        batch_run(engine, source, target, at=AT)


# --- The transports ------------------------------------------------------------------------------------


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def ask(client: APIClient, board: Blueprint, what: str) -> Any:
    base = f"/api/v1/blueprints/{board.pk}/"
    if what == "lint":
        return client.get(base + "lint/")
    if what == "explain":
        body = {"profile": {"segment": "Gold"}, "explain": True}
        return client.post(base + "decide/", body, format="json")
    return client.generic("POST", base + "coverage/", write_csv(CSV_ROWS), content_type="text/csv")


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["lint", "explain", "coverage"])
def test_a_stopped_request_ends_with_an_unlogged_499_and_leaves_nothing_behind(
    board: Blueprint, users: dict[str, Any], caplog: pytest.LogCaptureFixture, what: str
) -> None:
    publish(board, users)
    lint_cache.clear()  # publishing linted this content: a cached lint is no work to stop
    client = client_for(users["owner"])
    with caplog.at_level(logging.ERROR), stopped_by(stopped()):
        response = ask(client, board, what)
    assert response.status_code == CLIENT_CLOSED
    assert response.content == b""
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    # nothing half-done was kept: the same request, not stopped, answers in full
    answered = ask(client, board, what)
    assert answered.status_code == 200, answered.content


@pytest.mark.django_db
def test_the_board_and_the_simulator_stop_too(board: Blueprint, users: dict[str, Any], client: Any) -> None:
    publish(board, users)
    lint_cache.clear()
    client.force_login(users["owner"])
    pages = [
        f"/blueprints/{board.pk}/",  # the board's Checks: the lint
        f'/blueprints/{board.pk}/simulator/?profile={{"segment":"Gold"}}',  # why not
    ]
    for page in pages:
        with stopped_by(stopped()):
            assert client.get(page).status_code == CLIENT_CLOSED, page
        assert client.get(page).status_code == 200, page


@pytest.mark.django_db
def test_a_streamed_batch_answer_ends_quietly_when_stopped_midway(
    board: Blueprint, users: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    publish(board, users)
    client = client_for(users["owner"])
    profiles = [{"segment": "Gold", "visits_30d": 5}] * 50
    event = threading.Event()
    with caplog.at_level(logging.ERROR), stopped_by(event):
        response = client.post(
            f"/api/v1/blueprints/{board.pk}/decide/batch/",
            {"profiles": profiles, "explain": True},
            format="json",
        )
        assert response.status_code == 200
        chunks = iter(response.streaming_content)
        first = next(chunks)
        event.set()
        rest = b"".join(chunks)
    text = (first + rest).decode()
    assert text.count('"row"') < len(profiles)  # it stopped
    assert "error" not in text  # and said nothing to no one
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
