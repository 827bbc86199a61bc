"""The budget and cancel contract of decisioning/budget.py, and the long computations honouring it:
steps are counted, never past the limit; refused steps are not counted; shares add up in the
parent; a set cancel event stops the lint and the explanation with ``Cancelled`` — from a check
inside the work, within ``CHECK_EVERY`` steps — and never yields a partial answer."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decisioning.budget import CHECK_EVERY, Budget, BudgetExhausted, Cancelled
from decisioning.engine import compile_snapshot
from decisioning.lint import lint_blueprint
from decisioning.model import spec_from_json
from tests.decisioning.test_lint_cost import reported_stage

AT = dt.date(2025, 6, 30)


class SetAfter(threading.Event):
    """An event that another thread sets once the computation has looked at it ``looks`` times:
    a deterministic stand-in for "the client went away in the middle"."""

    def __init__(self, looks: int) -> None:
        super().__init__()
        self.looks = looks
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        if self.asked >= self.looks:
            self.set()
        return super().is_set()


def test_steps_are_counted_and_a_budget_without_a_limit_never_runs_out() -> None:
    budget = Budget()
    for _ in range(1000):
        budget.spend(1_000)
    assert budget.used == 1_000_000 and budget.remaining is None and not budget.exhausted


@given(limit=st.integers(0, 500), chunks=st.lists(st.integers(1, 60), max_size=40))
def test_steps_that_would_pass_the_limit_are_refused_and_not_counted(limit: int, chunks: list[int]) -> None:
    budget = Budget(limit)
    done = 0
    for chunk in chunks:
        try:
            budget.spend(chunk)
        except BudgetExhausted:
            assert done + chunk > limit and budget.exhausted
            continue
        done += chunk
    assert budget.used == done <= limit
    assert budget.remaining == limit - done


@given(
    limit=st.integers(0, 10_000), parts=st.integers(1, 9), spent=st.lists(st.integers(0, 3_000), max_size=9)
)
def test_shares_are_parts_of_what_is_left_and_count_in_the_parent(
    limit: int, parts: int, spent: list[int]
) -> None:
    parent = Budget(limit)
    for left, want in zip(range(parts, 0, -1), spent, strict=False):
        before = parent.remaining
        assert before is not None
        with parent.share(left) as part, contextlib.suppress(BudgetExhausted):
            assert part.limit == before // left
            part.spend(want)
        assert parent.used == limit - before + part.used
    assert parent.used <= limit


def test_a_second_turn_gives_half_of_what_is_left_and_the_last_piece_all_of_it() -> None:
    budget = Budget(1000)
    assert budget.turn(4).limit == 250
    assert budget.turn(3, again=True).limit == 500
    assert budget.turn(1, again=True).limit == 1000


def test_a_set_cancel_event_stops_spending_within_check_every_steps() -> None:
    cancel = threading.Event()
    budget = Budget(cancel=cancel)
    budget.spend(10)
    cancel.set()
    steps = 0
    with pytest.raises(Cancelled):
        for steps in range(1, 10 * CHECK_EVERY):  # noqa: B007  (the count is the point)
            budget.spend(1)
    assert steps <= CHECK_EVERY + 1


def test_check_raises_at_once_and_a_child_budget_shares_the_event() -> None:
    cancel = threading.Event()
    budget = Budget(100, cancel=cancel)
    part = budget.share(2)
    part.check()
    cancel.set()
    with pytest.raises(Cancelled):
        part.check()
    with pytest.raises(Cancelled):
        budget.check()


class Counting(threading.Event):
    """An event never set that counts how often the computation looks at it."""

    asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return False


def lint_run(cancel: threading.Event) -> Any:
    return lint_blueprint(spec_from_json(reported_stage(120)), at=AT, budget=Budget(10**9, cancel=cancel))


def explain_run(cancel: threading.Event) -> Any:
    engine = compile_snapshot(reported_stage(60), {"number": 1})
    return engine.decide({"n0": 50}, at=AT, explain=True, budget=Budget(10**9, cancel=cancel))


@pytest.mark.parametrize("run", [lint_run, explain_run], ids=["lint", "explain"])
@pytest.mark.parametrize("when", [0.0, 0.5, 1.0], ids=["first look", "halfway", "last look"])
def test_a_computation_whose_client_went_away_stops_with_cancelled_and_no_answer(
    run: Any, when: float
) -> None:
    counting = Counting()
    assert run(counting)  # without the event set, an answer
    looks = counting.asked
    assert looks >= 5  # the event is looked at all along the work, not only at the start
    cancel = SetAfter(max(1, round(looks * when)))
    with pytest.raises(Cancelled):
        run(cancel)
    assert cancel.asked == cancel.looks  # stopped at the first look after the event was set
