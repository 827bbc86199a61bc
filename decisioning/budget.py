"""Bounded work and cooperative cancellation for the long computations: the lint and "why not".

Some questions the lint and the explanation ask are exponential in the worst case (is this offer
hidden by the union of the ones above it? what is the smallest change that gets it chosen?). They
run under a ``Budget``: a count of *steps*, units of work each computation defines (a box compared
with a cover box, a box built), each bounded to about a microsecond, never wall-clock time. So the
same input with the same budget always stops at the same place, and an answer can be cached.

The contract:

- ``spend(n)`` counts ``n`` steps the computation is about to do. When they would take the count
  past ``limit`` they are refused: not counted, ``exhausted`` is set, and ``BudgetExhausted`` is
  raised. The computation catches it where it can say in its answer what it did not check (the
  lint's ``unchecked`` findings, why-not's ``complete: false``); it never escapes ``lint_blueprint``
  or ``decide``. Work whose size is known only once it is done spends an upper bound first and
  ``refund``s the rest after. So ``used`` never passes ``limit``, and counts only work done. A
  budget without a limit (``limit=None``) never runs out.
- ``cancel`` is an optional ``threading.Event`` that another thread sets when the answer is no longer
  wanted (the client went away, the server is shutting down). Once it is set, ``spend`` raises
  ``Cancelled`` within ``CHECK_EVERY`` steps (and ``check()`` at once). ``Cancelled`` is not caught
  by the computations: it reaches the caller, which abandons the request; nothing half-done is
  returned or cached. With steps of a few microseconds at most, that is within milliseconds of the
  event, well under the 50 ms promised to the HTTP layer. Work that is bounded without a budget
  (polynomial at the documented limits) calls ``check()`` every so often instead of spending.
- ``share(parts)`` is a part of what is left, ``remaining // parts``, for one of ``parts`` pieces of
  work done in turn (the stages of a blueprint, the offers of a stage): what a piece leaves unused
  goes to the pieces after it. Use it as a context manager; on leaving, its steps are counted in the
  parent (whether it ran out or not). It shares the parent's ``cancel``. ``turn`` is the policy
  the computations use for such pieces, with a second pass for the ones their share was not
  enough for.
- ``stopped_by(event)`` makes ``event`` the stop event of the work done in the current context
  (a thread, or a task and the threads it hands work to: a ``contextvars`` variable). Every
  ``Budget`` made there without a ``cancel`` of its own takes it, and ``check_stop()`` raises
  ``Cancelled`` once it is set; so a transport sets it once per request (``blueprint.serving``
  does, for every HTTP request) and every lint, explanation and DuckDB batch under it stops when
  the client goes away, without each caller handing it down.
- Without an event, ``spend`` is an addition and a comparison; with one, a look at the event every
  ``CHECK_EVERY`` steps. Not thread-safe: one budget per computation.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

CHECK_EVERY = 2_000  # steps between looks at the cancel event: about a millisecond of work


class Cancelled(Exception):
    """The computation was stopped because its ``cancel`` event was set; there is no answer."""


_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("stop", default=None)


def stop_event() -> threading.Event | None:
    """The stop event of the current context (``stopped_by``), or None."""
    return _STOP.get()


@contextmanager
def stopped_by(event: threading.Event) -> Iterator[threading.Event]:
    """Within the block, ``event`` is the stop event of the work done in this context."""
    token = _STOP.set(event)
    try:
        yield event
    finally:
        _STOP.reset(token)


def check_stop() -> None:
    """Raise ``Cancelled`` if the current context's stop event is set."""
    event = _STOP.get()
    if event is not None and event.is_set():
        raise Cancelled


class BudgetExhausted(Exception):
    """The budget's steps are spent: the computation stops the check it was doing."""


class Budget:
    """A count of steps with an optional limit and cancel event; see the module's contract."""

    __slots__ = ("_next", "_parent", "cancel", "exhausted", "limit", "used")

    def __init__(self, limit: int | None = None, *, cancel: threading.Event | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("a budget's limit is a number of steps, 0 or more")
        self.limit = limit
        self.used = 0
        self.exhausted = False  # some steps were refused
        self.cancel = cancel if cancel is not None else _STOP.get()
        self._parent: Budget | None = None
        self._next: float = 0
        self._schedule()
        if self.cancel is not None:
            self._next = 0  # the first spend looks: work asked for after its client left never starts

    def _schedule(self) -> None:
        """The count at which ``spend`` next looks further than the addition."""
        bound: float = self.limit if self.limit is not None else math.inf
        if self.cancel is not None:
            bound = min(bound, self.used + CHECK_EVERY)
        self._next = bound

    def spend(self, steps: int = 1) -> None:
        """Count ``steps`` about to be done; raises ``Cancelled`` or ``BudgetExhausted`` as the
        contract says (steps refused for want of budget are not counted: they are not done)."""
        self.used += steps
        if self.used > self._next:
            self._due(steps)

    def _due(self, steps: int) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled
        if self.limit is not None and self.used > self.limit:
            self.used -= steps
            self.exhausted = True
            raise BudgetExhausted
        self._schedule()

    def refund(self, steps: int) -> None:
        """Give back steps spent and not done: ``spend`` an upper bound before a piece of work,
        ``refund`` what it did not need after (so the limit is never passed, even by work whose
        size is known only once it is done)."""
        self.used -= steps

    def check(self) -> None:
        """Raise ``Cancelled`` at once if the cancel event is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled

    @property
    def remaining(self) -> int | None:
        """Steps left (None: no limit)."""
        if self.limit is None:
            return None
        return max(0, self.limit - self.used)

    def share(self, parts: int = 1) -> Budget:
        """A budget of ``remaining // parts`` steps (no limit if this one has none), counted here when
        it is left (``with budget.share(n) as part: …``)."""
        remaining = self.remaining
        child = Budget(None if remaining is None else remaining // max(1, parts), cancel=self.cancel)
        child._parent = self
        return child

    def turn(self, left: int, again: bool = False) -> Budget:
        """The share of the next of ``left`` pieces of work done in turn: ``remaining // left``; on
        a second pass over the pieces the first was not enough for (``again``), half of what is
        left for each (all of it for the last), so the budget the easy pieces did not need goes to
        the hard ones, the first ones first, without one hopeless piece taking it all."""
        if again:
            return self.share(1 if left <= 1 else 2)
        return self.share(left)

    def __enter__(self) -> Budget:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        parent = self._parent
        if parent is not None:
            self._parent = None
            # counted without the checks of spend: the child's limit keeps it within the parent's
            parent.used += self.used
            parent._schedule()


__all__ = ["CHECK_EVERY", "Budget", "BudgetExhausted", "Cancelled"]
