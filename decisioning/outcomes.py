"""What a decision answers (docs/architecture.md, "Decisions"): per stage the offer, the fallback
and the eligible offers, and with ``explain`` every offer's outcome — each condition with the
customer's value and its result — and, for an offer not chosen, why not. Plain data with its JSON
shape; made by ``decisioning.engine`` (the decision) and ``decisioning.explain`` (the outcomes and
why-nots)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from decisioning.conditions import Condition

Version = dict[str, Any]  # {"number": n} or {"draft": True, "rev": r}


def value_json(value: Any) -> Any:
    """A checked value as JSON: a date as YYYY-MM-DD, a set as a sorted list."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


# --- Results ------------------------------------------------------------------------------------


@dataclass
class ConditionOutcome:
    condition: Condition
    sentence: str
    actual: Any  # the profile's value (checked form), None when missing
    result: bool

    def as_json(self) -> dict[str, Any]:
        return {
            **self.condition.as_dict(),
            "sentence": self.sentence,
            "actual": value_json(self.actual),
            "missing": self.actual is None,
            "result": self.result,
        }


@dataclass
class GroupOutcome:
    conditions: list[ConditionOutcome]

    @property
    def result(self) -> bool:
        return all(c.result for c in self.conditions)

    def as_json(self) -> dict[str, Any]:
        return {"result": self.result, "conditions": [c.as_json() for c in self.conditions]}


@dataclass
class WhyNot:
    """Why an offer was not chosen, and the smallest change of the profile that would choose it."""

    not_entered: bool  # the stage's entry conditions fail, or the customer is in an earlier stage
    failed: list[ConditionOutcome]  # of the offer's (and, when not entered, the entry's) conditions
    taken_by: list[str]  # higher offers that match and so come first
    # some profile gets this offer (False: lint reports it as shadowed or contradictory; None: not
    # settled within the budget)
    possible: bool | None
    # attribute → new checked value (None: leave it out); None if impossible or not searched in full
    change: dict[str, Any] | None
    complete: bool = True  # False: the budget stopped the search, so possible or change is not settled
    # each customer in one stage: the earlier stage the customer is in (and so not in this one)
    earlier: str | None = None
    # outside its days on the decision day: "not shown until 1 March 2027", "ended on 30 June 2027"
    closed: str = ""

    @property
    def not_checked(self) -> str | None:
        """What the budget left unsettled, in words for the people reading the answer."""
        if self.complete:
            return None
        if self.possible is None:
            return (
                "Not settled: whether any customer can get this offer, and what would change that, were not "
                "searched in full. The stage has too many offers and conditions to search within the limit."
            )
        return (
            "The smallest change was not searched in full: the stage has too many offers and conditions "
            "to search within the limit."
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "not_entered": self.not_entered,
            "failed": [c.as_json() for c in self.failed],
            "taken_by": self.taken_by,
            "possible": self.possible,
            "change": None
            if self.change is None
            else {key: value_json(value) for key, value in self.change.items()},
            "complete": self.complete,
            "not_checked": self.not_checked,
            "earlier": self.earlier,
            "closed": self.closed or None,
        }


@dataclass
class OfferOutcome:
    key: str
    name: str
    fallback: bool
    matched: bool
    chosen: bool
    groups: list[GroupOutcome]
    why_not: WhyNot | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "offer": self.key,
            "name": self.name,
            "fallback": self.fallback,
            "matched": self.matched,
            "chosen": self.chosen,
            "groups": [g.as_json() for g in self.groups],
            "why_not": self.why_not.as_json() if self.why_not is not None else None,
        }


@dataclass
class StageExplain:
    entry: list[GroupOutcome]
    offers: list[OfferOutcome]

    def as_json(self) -> dict[str, Any]:
        return {"entry": [g.as_json() for g in self.entry], "offers": [o.as_json() for o in self.offers]}


@dataclass(frozen=True, slots=True)
class StageDecision:
    """One stage's answer. Frozen: the compiled fast path hands out the same object to every
    profile with the same answer."""

    stage: str
    entered: bool
    offer: str | None
    fallback: bool
    eligible: tuple[str, ...]
    explain: StageExplain | None = None
    # each customer in one stage (BlueprintSpec.one_stage): the earlier stage the customer is in,
    # when this one was asked for and its entry may hold but that stage takes the customer first
    earlier: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "entered": self.entered,
            "offer": self.offer,
            "fallback": self.fallback,
            "eligible": list(self.eligible),
        }
        if self.earlier is not None:
            data["earlier"] = self.earlier
        if self.explain is not None:
            data["explain"] = self.explain.as_json()
        return data


@dataclass(slots=True)
class Decision:
    """What ``decide`` answers: the stages entered (or the one asked for), in journey order.

    With ``explain``, ``skipped`` holds the stages not entered, with their explanations.
    """

    version: Version
    at: dt.date
    decisions: list[StageDecision]
    skipped: list[StageDecision] = field(default_factory=list)
    explained: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "at": self.at.isoformat(),
            "decisions": [d.as_json() for d in self.decisions],
        }
        if self.explained:
            data["skipped"] = [d.as_json() for d in self.skipped]
        return data
