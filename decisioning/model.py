"""A blueprint as plain dataclasses: what lint (and later the decision engine) reads.

Selectors build it from the board (``blueprint.selectors.blueprint_spec``); ``spec_from_json``
builds it from the board's JSON form (the API's ``GET blueprints/{id}/``, an export, a version
snapshot), so the pure cores never touch the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decisioning.conditions import AttributeSpec, Groups, parse_groups

# How stages relate (docs/architecture.md, "Decisions"), each mode with the words the board shows:
# "several", every stage whose entry holds, each with its own offer (the default, and what every
# blueprint did before there was a choice); "one", only the first of them in journey order.
STAGE_MODES = {
    "several": "A customer can be in several stages at once",
    "one": "Each customer is in one stage — the first in journey order",
}
STAGE_MODE_DEFAULT = "several"


def stage_mode_of(blueprint: Mapping[str, Any] | None) -> str:
    """The stage mode a snapshot's ``blueprint`` part holds ("several" when it says none, as every
    snapshot before the mode did)."""
    mode = (blueprint or {}).get("stage_mode")
    return mode if mode in STAGE_MODES else STAGE_MODE_DEFAULT


@dataclass(frozen=True)
class OfferSpec:
    key: str
    name: str
    groups: Groups = ()
    fallback: bool = False


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    entry: Groups = ()
    # in priority order
    offers: tuple[OfferSpec, ...] = ()


@dataclass(frozen=True)
class BlueprintSpec:
    catalog: Mapping[str, AttributeSpec]
    # in journey order
    stages: tuple[StageSpec, ...] = ()
    stage_mode: str = STAGE_MODE_DEFAULT

    @property
    def one_stage(self) -> bool:
        """Each customer is in one stage: the first, in journey order, whose entry holds."""
        return self.stage_mode == "one"


def spec_from_json(data: Mapping[str, Any]) -> BlueprintSpec:
    """Build the spec from ``{blueprint: {stage_mode}, attributes: [...], stages: [{key, name, entry,
    offers: [...]}]}``.

    Conditions are validated against the catalog (``ConditionProblems`` names the bad field), so a
    spec only ever holds conditions the editor would have accepted.
    """
    catalog = {
        a["key"]: AttributeSpec(
            key=a["key"],
            label=a.get("label") or a["key"],
            type=a["type"],
            kind=a.get("kind", "attribute"),
            choices=tuple(a.get("choices") or ()),
            unit=a.get("unit") or "",
        )
        for a in data.get("attributes", [])
    }
    stages = []
    for si, stage in enumerate(data.get("stages", [])):
        offers = tuple(
            OfferSpec(
                key=offer["key"],
                name=offer.get("name") or offer["key"],
                # stored content, accepted when it was written: not held to limits set since
                groups=parse_groups(
                    offer.get("groups") or [],
                    catalog,
                    path=f"stages[{si}].offers[{oi}].groups",
                    bounded=False,
                ),
                fallback=bool(offer.get("fallback")),
            )
            for oi, offer in enumerate(stage.get("offers", []))
        )
        stages.append(
            StageSpec(
                key=stage["key"],
                name=stage.get("name") or stage["key"],
                entry=parse_groups(
                    stage.get("entry") or [], catalog, path=f"stages[{si}].entry", bounded=False
                ),
                offers=offers,
            )
        )
    return BlueprintSpec(
        catalog=catalog, stages=tuple(stages), stage_mode=stage_mode_of(data.get("blueprint"))
    )
