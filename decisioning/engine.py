"""The decision engine: a version compiled once into Python, then ``decide``.

``compile_snapshot(snapshot, version=…)`` turns a snapshot (``blueprint.snapshots``) into a
``CompiledVersion`` whose ``decide`` answers every stage at once through one Python function
generated for that version (``decisioning.codegen``). ``compiled_for`` keeps them in a small cache
keyed by what identifies the content — (blueprint, version number, content hash) for a version,
(blueprint, rev) for the draft — so a version is compiled once per process.

Semantics, exactly docs/architecture.md's "Decisions" and "The condition language":

- a stage is *entered* when any of its entry groups holds (no entry groups: everyone);
- in an entered stage the offers are walked in priority order; the first that matches (any of its
  groups holds; an offer without groups matches everyone) is chosen; if none does, the stage's
  fallback (the first offer marked fallback, whatever its place: lint refuses a second one and a
  fallback with conditions, which the engine ignores); if there is no fallback, no offer (a gap);
- ``eligible`` lists every non-fallback offer that matches, in priority order (the chosen one first);
- a condition on an attribute the profile lacks (absent or null) is not met;
- ``within_last_days N`` holds for a day from ``at - N`` to ``at`` inclusive.

Profiles are checked against the catalog first (``decisioning.profiles``): every bad value is
named with what would be accepted, and nothing is decided for a bad profile. With ``explain`` every
stage also carries every offer's outcome and, for each offer not chosen, why not
(``decisioning.explain``). The answers are the dataclasses of ``decisioning.outcomes``.

Pure: no database. The generated source is kept on the compiled version (``.source``) for reading.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from decisioning.budget import Budget
from decisioning.codegen import Codegen
from decisioning.errors import InvalidInput
from decisioning.explain import explain_stage, groups_hold
from decisioning.lru import LRU
from decisioning.model import BlueprintSpec, spec_from_json
from decisioning.outcomes import Decision, StageDecision, Version
from decisioning.profiles import check_value, profile_check, short_text

CACHE_SIZE = 64

# The steps (decisioning.budget) of one explained decision's "why not", shared by its offers: about a
# second of work at most (bench/lint.py measures the heaviest the limits allow).
EXPLAIN_STEPS = 1_000_000


def explain_budget(cancel: threading.Event | None = None) -> Budget:
    """The budget of one explained decision: ``EXPLAIN_STEPS``, stopped by ``cancel`` (by default the
    context's stop event, ``decisioning.budget.stopped_by``) when it is set."""
    return Budget(EXPLAIN_STEPS, cancel=cancel)


@dataclass(eq=False)
class CompiledVersion:
    """A version (or the draft) ready to decide: compiled once, used by every request after."""

    spec: BlueprintSpec
    version: Version
    source: str
    run_json: Callable[[Mapping[str, Any], int, int], tuple[StageDecision | None, ...]]
    run_checked: Callable[[Mapping[str, Any], int, int], tuple[StageDecision | None, ...]]
    stage_index: dict[str, int]

    @cached_property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(stage.key for stage in self.spec.stages)

    @cached_property
    def derived(self) -> dict[Any, Any]:
        """What other modules derive from the version and keep as long as it is compiled (the
        batch SQL of ``decisioning.duckdb_sql``, by its arguments)."""
        return {}

    def stage_of(self, stage: str | None) -> int:
        """The index of the stage asked for (-1: all), or ``InvalidInput`` naming ``stage``."""
        if stage is None or stage == "":
            return -1
        index = self.stage_index.get(stage) if isinstance(stage, str) else None
        if index is None:
            known = ", ".join(self.stage_keys) or "none: the blueprint has no stages"
            raise InvalidInput(
                f"There is no stage '{short_text(str(stage))}'. Stages: {known}.", field="stage"
            )
        return index

    def check(self, profile: Any, *, csv: bool = False, path: str = "profile") -> dict[str, Any]:
        return profile_check(profile, self.spec.catalog, csv=csv, path=path)

    def decide(
        self,
        profile: Any,
        stage: str | None = None,
        at: dt.date | None = None,
        explain: bool = False,
        *,
        csv: bool = False,
        budget: Budget | None = None,
    ) -> Decision:
        """Decide for one profile (raw JSON values, or CSV cells with ``csv``); see the module doc.

        ``budget`` bounds the "why not" of an explanation (default ``explain_budget()``; give one
        with a cancel event to stop it from another thread: it raises ``Cancelled``).
        Raises ``ProfileProblems`` for a bad profile and ``InvalidInput`` for an unknown stage.
        """
        day = at if at is not None else _today()
        want = self.stage_of(stage)
        if explain or csv or not isinstance(profile, dict):
            checked = self.check(profile, csv=csv)
            if explain:
                return self.explain(checked, day, want, budget)
            raw = self.run_checked(checked, day.toordinal(), want)
        else:
            raw = self.run_json(profile, day.toordinal(), want)
        return Decision(self.version, day, self.materialize(raw, want))

    def decide_checked(self, checked: Mapping[str, Any], at: dt.date, stage: int = -1) -> list[StageDecision]:
        """The decisions for a profile already checked (``check``); no explanation."""
        return self.materialize(self.run_checked(checked, at.toordinal(), stage), stage)

    def materialize(self, raw: Sequence[StageDecision | None], want: int) -> list[StageDecision]:
        """The stages entered, and the one asked for even when it is not."""
        out = [d for d in raw if d is not None and d.entered]
        asked = raw[want] if want >= 0 else None
        if asked is not None and not asked.entered:
            out.append(asked)  # an earlier stage takes the customer (one stage each): it says which
        elif want >= 0 and asked is None:
            out.append(StageDecision(self.stage_keys[want], False, None, False, ()))
        return out

    # --- explain -------------------------------------------------------------------------------

    def explain(
        self, checked: Mapping[str, Any], at: dt.date, want: int = -1, budget: Budget | None = None
    ) -> Decision:
        """Every stage (or the one asked for) explained; the why-nots share ``budget`` (default
        ``explain_budget()``), each stage a share of what the ones before it left."""
        budget = budget if budget is not None else explain_budget()
        today = at.toordinal()
        decisions: list[StageDecision] = []
        skipped: list[StageDecision] = []
        stages = [(i, s) for i, s in enumerate(self.spec.stages) if want < 0 or i == want]
        one = self.spec.one_stage  # each customer in one stage: the first whose entry holds
        holds = [one and groups_hold(s.entry, checked, today) for s in self.spec.stages]
        for done, (index, stage) in enumerate(stages):
            budget.check()
            before = self.spec.stages[:index] if one else ()
            earlier = next((s for i, s in enumerate(before) if holds[i]), None)
            with budget.share(len(stages) - done) as part:
                decision = explain_stage(
                    stage,
                    self.spec.catalog,
                    checked,
                    at,
                    today,
                    part,
                    self.derived.setdefault("sentences", {}),
                    before=before,
                    earlier=earlier,
                )
            (decisions if decision.entered or index == want else skipped).append(decision)
        return Decision(self.version, at, decisions, skipped, explained=True)


# What "today" is when a decision names no day: the calendar day on this machine, unless the
# server says otherwise (the Django app sets the day of its TIME_ZONE: DecisioningConfig.ready).
today_source: Callable[[], dt.date] = dt.date.today


def today_source_set(source: Callable[[], dt.date]) -> None:
    global today_source
    today_source = source


def _today() -> dt.date:
    return today_source()


def compile_spec(spec: BlueprintSpec, version: Version) -> CompiledVersion:
    """Generate, compile and load the decision functions of one version."""
    gen = Codegen(spec)
    source = gen.source()
    catalog = spec.catalog
    days: dict[str, int] = {}

    def check(p: Any) -> dict[str, Any]:
        return profile_check(p, catalog)

    def slow(p: Mapping[str, Any], key: str) -> Any:
        """An uncommon but maybe valid value (a date not seen yet, a date-time, a set to check):
        its checked form (a date as its ordinal), or the whole profile's problems."""
        try:
            value = check_value(catalog[key], p.get(key))
        except ValueError:
            check(p)  # raises, naming every bad field
            raise
        if catalog[key].type == "date":
            ordinal = value.toordinal()
            raw = p.get(key)
            if len(days) < 100_000 and isinstance(raw, str):
                days[raw] = ordinal
            return ordinal
        return value

    namespace: dict[str, Any] = {
        **gen.namespace(),
        "INF": math.inf,
        "DAYS": days,
        "slow": slow,
        "check": check,
        "bl": bisect.bisect_left,
    }
    # our own generated code: every key and value in it is a table name or written with repr
    exec(compile(source, f"<blueprint {version}>", "exec"), namespace)
    return CompiledVersion(
        spec=spec,
        version=version,
        source=source,
        run_json=namespace["run_json"],
        run_checked=namespace["run_checked"],
        stage_index={stage.key: i for i, stage in enumerate(spec.stages)},
    )


def compile_snapshot(snapshot: Mapping[str, Any], version: Version) -> CompiledVersion:
    return compile_spec(spec_from_json(snapshot), version)


_cache: LRU[tuple[Any, ...], CompiledVersion] = LRU(CACHE_SIZE)


def compiled_for(key: tuple[Any, ...], load: Callable[[], CompiledVersion]) -> CompiledVersion:
    """The compiled version cached under ``key`` (e.g. ("version", blueprint id, number, content
    hash) or ("draft", blueprint id, rev)); ``load`` compiles it on a miss. The newest
    ``CACHE_SIZE`` are kept."""
    return _cache.get_or_make(key, load)


def cache_clear() -> None:
    _cache.clear()
