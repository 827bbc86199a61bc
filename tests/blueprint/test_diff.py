"""The plain-language diff between two snapshots (blueprint/diff.py): every kind of change, its
sentence, its structured form and the stage it is grouped under. Pure: no database."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprint.diff import KINDS, Change, moved_keys, order_moves, snapshot_diff

CATALOG = [
    {"key": "segment", "label": "Segment", "kind": "attribute", "type": "choice",
     "choices": ["Bronze", "Silver", "Gold", "Platinum"], "unit": "", "description": "", "source": "CRM"},
    {"key": "age", "label": "Age", "kind": "attribute", "type": "number", "choices": [], "unit": "years",
     "description": "", "source": ""},
    {"key": "visits", "label": "Visits in the last 30 days", "kind": "behaviour", "type": "number",
     "choices": [], "unit": "", "description": "", "source": ""},
]  # fmt: skip


def offer(key: str, name: str, groups: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "description": "", "channel": "web", "fallback": False,
            "groups": groups or [], **fields}  # fmt: skip


def cond(attribute: str, operator: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


def stage(
    key: str, name: str, offers: list[dict[str, Any]], entry: list[Any] | None = None
) -> dict[str, Any]:
    return {"key": key, "name": name, "description": "", "entry": entry or [], "offers": offers}


@pytest.fixture
def before() -> dict[str, Any]:
    return {
        "format": "blueprint-snapshot/1",
        "blueprint": {"name": "Retail", "context": "Bank", "channels": ["web"], "description": ""},
        "attributes": copy.deepcopy(CATALOG),
        "stages": [
            stage(
                "awareness",
                "Awareness",
                [
                    offer("welcome", "Welcome bonus", [[cond("segment", "is_one_of", ["Gold"])]]),
                    offer("gold_card", "Gold card", [[cond("age", "at_least", 18)]]),
                    offer("hello", "Say hello", fallback=True),
                ],
            ),
            stage(
                "retention", "Retention", [offer("call", "Adviser call", [[cond("visits", "at_most", 1)]])]
            ),
            stage("advocacy", "Advocacy", [offer("refer", "Refer a friend")]),
        ],
    }


def changed(before: dict[str, Any], edit: Any) -> tuple[list[Change], dict[str, list[str]]]:
    after = copy.deepcopy(before)
    edit(after)
    diff = snapshot_diff(before, after)
    return diff.changes, {section.title: [c.sentence for c in section.changes] for section in diff.sections}


def only(before: dict[str, Any], edit: Any) -> Change:
    changes, _ = changed(before, edit)
    assert len(changes) == 1, [c.sentence for c in changes]
    return changes[0]


def offers_of(snapshot: dict[str, Any], stage_key: str) -> list[dict[str, Any]]:
    return next(s for s in snapshot["stages"] if s["key"] == stage_key)["offers"]


def find(snapshot: dict[str, Any], offer_key: str) -> dict[str, Any]:
    return next(o for s in snapshot["stages"] for o in s["offers"] if o["key"] == offer_key)


def test_the_same_snapshot_has_no_changes(before: dict[str, Any]) -> None:
    diff = snapshot_diff(before, copy.deepcopy(before))
    assert (
        diff.empty
        and diff.changes == []
        and diff.as_json() == {"changes": [], "sentences": [], "sections": []}
    )


def test_a_value_added_to_a_list_reaches_more_customers(before: dict[str, Any]) -> None:
    change = only(before, lambda a: find(a, "welcome")["groups"][0][0]["value"].append("Silver"))
    assert change.sentence == "'Welcome bonus' now also reaches customers whose segment is Silver"
    assert (change.kind, change.stage, change.offer, change.field) == (
        "offer.conditions",
        "awareness",
        "welcome",
        "groups",
    )
    assert change.before == cond("segment", "is_one_of", ["Gold"])
    assert change.after == cond("segment", "is_one_of", ["Gold", "Silver"])


def test_a_value_taken_from_a_list_reaches_fewer(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        find(after, "welcome")["groups"][0][0]["value"] = ["Platinum"]

    _, sections = changed(before, edit)
    assert sections == {
        "Awareness": [
            "'Welcome bonus' now also reaches customers whose segment is Platinum",
            "'Welcome bonus' no longer reaches customers whose segment is Gold",
        ]
    }


def test_a_changed_value_says_what_it_was(before: dict[str, Any]) -> None:
    change = only(before, lambda a: find(a, "gold_card")["groups"][0][0].update(value=21))
    assert (
        change.sentence == "'Gold card' now requires age is at least 21 years (was: age is at least 18 years)"
    )


def test_a_condition_more_or_less_is_required_or_no_longer(before: dict[str, Any]) -> None:
    added = only(before, lambda a: find(a, "gold_card")["groups"][0].append(cond("visits", "at_least", 3)))
    assert added.sentence == "'Gold card' now also requires visits in the last 30 days is at least 3"
    assert (added.before, added.after) == (None, cond("visits", "at_least", 3))

    def two_conditions(snapshot: dict[str, Any]) -> None:
        find(snapshot, "gold_card")["groups"][0].append(cond("visits", "at_least", 3))

    richer = copy.deepcopy(before)
    two_conditions(richer)
    removed = only(richer, lambda a: find(a, "gold_card")["groups"][0].pop())
    assert removed.sentence == "'Gold card' no longer requires visits in the last 30 days is at least 3"


def test_another_group_is_an_either_or(before: dict[str, Any]) -> None:
    change = only(
        before, lambda a: find(a, "gold_card")["groups"].append([cond("segment", "is", "Platinum")])
    )
    assert change.sentence == "'Gold card' now also reaches customers whose segment is Platinum"


def test_conditions_from_none_and_to_none(before: dict[str, Any]) -> None:
    change = only(before, lambda a: find(a, "refer").update(groups=[[cond("visits", "at_least", 4)]]))
    assert change.sentence == (
        "'Refer a friend' now reaches only customers whose visits in the last 30 days is at least 4 "
        "(was everyone in the stage)"
    )
    change = only(before, lambda a: find(a, "gold_card").update(groups=[]))
    assert change.sentence == (
        "'Gold card' now reaches everyone in the stage (was only customers whose age is at least 18 years)"
    )


def test_entry_conditions_of_a_stage(before: dict[str, Any]) -> None:
    change = only(before, lambda a: a["stages"][1].update(entry=[[cond("age", "at_least", 50)]]))
    assert (
        change.sentence
        == "Stage 'Retention' now admits only customers whose age is at least 50 years (was everyone)"
    )
    assert (change.kind, change.stage, change.field) == ("stage.entry", "retention", "entry")


def stage_order(before: dict[str, Any], *keys: str) -> Any:
    def edit(after: dict[str, Any]) -> None:
        by_key = {s["key"]: s for s in after["stages"]}
        after["stages"] = [by_key[k] for k in keys]

    return edit


def offer_order(stage_key: str, *keys: str) -> Any:
    def edit(after: dict[str, Any]) -> None:
        offers = offers_of(after, stage_key)
        by_key = {o["key"]: o for o in offers}
        offers[:] = [by_key[k] for k in keys]

    return edit


def test_a_stage_pulled_left_past_one_is_the_one_named(before: dict[str, Any]) -> None:
    """Usage dragged left of Loyalty reads as that, not as Loyalty going to the end."""
    change = only(before, stage_order(before, "awareness", "advocacy", "retention"))
    assert (change.kind, change.stage, change.field) == ("stage.moved", "advocacy", "position")
    assert change.sentence == "Stage 'Advocacy' moved before 'Retention'"
    assert (change.before, change.after) == (3, 2)


def test_a_stage_moved_to_the_start_or_to_the_end(before: dict[str, Any]) -> None:
    start = only(before, stage_order(before, "advocacy", "awareness", "retention"))
    assert start.sentence == "Stage 'Advocacy' moved to the start, before 'Awareness'"
    end = only(before, stage_order(before, "retention", "advocacy", "awareness"))
    assert end.sentence == "Stage 'Awareness' moved to the end, after 'Advocacy'"
    assert (end.before, end.after) == (1, 3)


def test_the_operation_log_says_which_of_two_neighbours_was_dragged(before: dict[str, Any]) -> None:
    after = copy.deepcopy(before)
    stage_order(before, "awareness", "advocacy", "retention")(after)
    pushed = snapshot_diff(before, after, moved={"retention"}).changes
    assert [c.sentence for c in pushed] == ["Stage 'Retention' moved to the end, after 'Advocacy'"]
    offer_order("awareness", "welcome", "hello", "gold_card")(after)
    pulled = snapshot_diff(before, after, moved={"gold_card", "retention"}).sentences
    assert "'Gold card' moved down to priority 3 (was 2)" in pulled


def test_an_offer_raised_past_one_is_the_one_named(before: dict[str, Any]) -> None:
    """'Big spender bonus' dragged up reads as that, not as its neighbour moving down."""
    change = only(before, offer_order("awareness", "gold_card", "welcome", "hello"))
    assert (change.kind, change.offer, change.field) == ("offer.priority", "gold_card", "priority")
    assert change.sentence == "'Gold card' moved up to priority 1 (was 2)"
    assert (change.before, change.after) == (2, 1)


def test_an_offer_moved_far_up_or_down_is_named_alone(before: dict[str, Any]) -> None:
    before = copy.deepcopy(before)
    offers_of(before, "retention")[:] = [offer(k, k.title()) for k in ("a", "b", "c", "d", "e")]
    up = only(before, offer_order("retention", "a", "d", "b", "c", "e"))
    assert up.sentence == "'D' moved up to priority 2 (was 4)"
    down = only(before, offer_order("retention", "b", "c", "d", "a", "e"))
    assert down.sentence == "'A' moved down to priority 4 (was 1)"
    last = only(before, offer_order("retention", "b", "c", "d", "e", "a"))
    assert last.sentence == "'A' moved down to priority 5 (was 1)"
    top = only(before, offer_order("retention", "e", "a", "b", "c", "d"))
    assert top.sentence == "'E' moved up to priority 1 (was 5)"


def test_two_moves_are_two_sentences(before: dict[str, Any]) -> None:
    before = copy.deepcopy(before)
    offers_of(before, "retention")[:] = [offer(k, k.title()) for k in ("a", "b", "c", "d", "e", "f")]
    changes, _ = changed(before, offer_order("retention", "f", "a", "b", "d", "e", "c"))
    assert [c.sentence for c in changes] == [
        "'F' moved up to priority 1 (was 6)",
        "'C' moved down to priority 6 (was 3)",
    ]


def test_a_move_beside_an_added_and_a_removed_offer(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        offers = offers_of(after, "awareness")  # welcome, gold_card, hello
        offers[:] = [offers[1], offer("new", "Newcomer"), offers[2]]  # welcome gone, gold_card first

    changes, _ = changed(before, edit)
    assert [c.sentence for c in changes] == [
        "New offer 'Newcomer' in 'Awareness' at priority 2: reaches everyone in the stage",
        "'Welcome bonus' removed from 'Awareness'",
    ]  # gold_card and hello kept their order: nothing moved

    def moved_too(after: dict[str, Any]) -> None:
        offers = offers_of(after, "awareness")
        offers[:] = [offers[2], offer("new", "Newcomer"), offers[1]]  # welcome gone, hello above gold

    changes, _ = changed(before, moved_too)
    assert "'Say hello' moved up to priority 1 (was 3)" in [c.sentence for c in changes]
    assert sum(c.kind == "offer.priority" for c in changes) == 1

    def stage_too(after: dict[str, Any]) -> None:
        stages = after["stages"]
        after["stages"] = [stages[2], stage("fresh", "Fresh", []), stages[0]]  # retention gone

    changes, _ = changed(before, stage_too)
    assert [c.sentence for c in changes if c.kind == "stage.moved"] == [
        "Stage 'Advocacy' moved to the start, before 'Awareness'"
    ]


def test_an_offer_added_above_others_moves_nothing_else(before: dict[str, Any]) -> None:
    change = only(before, lambda a: offers_of(a, "awareness").insert(0, offer("new", "Newcomer")))
    assert (
        change.sentence == "New offer 'Newcomer' in 'Awareness' at priority 1: reaches everyone in the stage"
    )
    assert change.kind == "offer.added" and change.after["key"] == "new"


def test_new_offers_say_who_they_reach(before: dict[str, Any]) -> None:
    change = only(
        before,
        lambda a: offers_of(a, "retention").append(
            offer("x", "X", [[cond("segment", "is", "Gold"), cond("age", "at_most", 30)]])
        ),
    )
    assert change.sentence == (
        "New offer 'X' in 'Retention' at priority 2: reaches customers whose segment is Gold and age is at most 30 years"
    )
    fallback = only(before, lambda a: offers_of(a, "retention").append(offer("f", "Hello", fallback=True)))
    assert fallback.sentence == (
        "New fallback offer 'Hello' in 'Retention': everyone in the stage who qualifies for no other offer"
    )


def test_an_offer_removed_and_an_offer_moved_to_another_stage(before: dict[str, Any]) -> None:
    removed = only(before, lambda a: offers_of(a, "retention").clear())
    assert removed.sentence == "'Adviser call' removed from 'Retention'"
    assert (removed.kind, removed.stage, removed.offer) == ("offer.removed", "retention", "call")

    def move(after: dict[str, Any]) -> None:
        offers_of(after, "advocacy").insert(0, offers_of(after, "retention").pop())

    _, sections = changed(before, move)
    assert sections == {"Advocacy": ["'Adviser call' moved from 'Retention' to 'Advocacy', at priority 1"]}


def test_offer_fields_and_fallback(before: dict[str, Any]) -> None:
    assert only(before, lambda a: find(a, "welcome").update(name="Welcome gift")).sentence == (
        "'Welcome bonus' renamed to 'Welcome gift'"
    )
    assert only(before, lambda a: find(a, "welcome").update(channel="app")).sentence == (
        "'Welcome bonus': channel changed from web to app"
    )
    assert only(before, lambda a: find(a, "welcome").update(channel="")).sentence == (
        "'Welcome bonus': channel removed (was web)"
    )
    assert only(before, lambda a: find(a, "welcome").update(description="Hi")).sentence == (
        "'Welcome bonus': description changed"
    )
    dropped = only(before, lambda a: find(a, "hello").update(fallback=False))
    assert dropped.sentence == "'Say hello' is no longer a fallback offer"
    assert (dropped.kind, dropped.before, dropped.after) == ("offer.fallback", True, False)

    def become_fallback(after: dict[str, Any]) -> None:
        find(after, "refer").update(fallback=True)

    assert (
        only(before, become_fallback).sentence == "'Refer a friend' is now the fallback offer of 'Advocacy'"
    )


def test_stages_added_renamed_and_removed(before: dict[str, Any]) -> None:
    def add(after: dict[str, Any]) -> None:
        after["stages"].insert(
            1, stage("onboarding", "Onboarding", [], entry=[[cond("age", "at_least", 18)]])
        )

    added = only(before, add)
    assert (
        added.sentence
        == "New stage 'Onboarding' after 'Awareness': it admits customers whose age is at least 18 years"
    )
    assert added.kind == "stage.added" and "offers" not in added.after

    assert only(before, lambda a: a["stages"][2].update(name="Promoters")).sentence == (
        "Stage 'Advocacy' renamed to 'Promoters'"
    )

    def remove(after: dict[str, Any]) -> None:
        after["stages"].pop(1)

    _, sections = changed(before, remove)
    assert sections == {"Retention (removed)": ["Stage 'Retention' removed, and with it 'Adviser call'"]}


def test_a_removed_stage_whose_offers_moved_says_where(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        retention = after["stages"].pop(1)
        after["stages"][1]["offers"] += retention["offers"]

    _, sections = changed(before, edit)
    assert sections["Retention (removed)"] == [
        "Stage 'Retention' removed (its offers moved: 'Adviser call' to 'Advocacy')"
    ]
    assert sections["Advocacy"] == ["'Adviser call' moved from 'Retention' to 'Advocacy', at priority 2"]


def test_catalog_changes(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        segment = after["attributes"][0]
        segment["choices"] = ["Silver", "Gold", "Platinum", "Diamond"]
        segment["label"] = "Tier"
        after["attributes"][1]["unit"] = "months"
        after["attributes"].append(
            {"key": "region", "label": "Region", "kind": "context", "type": "choice", "choices": ["North", "South"],
             "unit": "", "description": "", "source": ""}
        )  # fmt: skip
        after["attributes"].pop(2)

    changes, sections = changed(before, edit)
    assert sections == {
        "Catalog": [
            "Attribute 'Segment' renamed to 'Tier'",
            "'Tier' now also allows Diamond",
            "'Tier' no longer allows Bronze",
            "'Age': unit changed from years to months",
            "New attribute 'Region' (context, choice: North, South)",
            "Attribute 'Visits in the last 30 days' removed from the catalog",
        ]
    }
    assert {c.kind for c in changes} == {"attribute.changed", "attribute.added", "attribute.removed"}
    assert all(c.stage is None and c.attribute for c in changes)


def test_a_renamed_attribute_changes_no_offer(before: dict[str, Any]) -> None:
    change = only(before, lambda a: a["attributes"][0].update(label="Tier"))
    assert change.kind == "attribute.changed"  # the conditions are the same: only the words read differently


def test_the_catalog_order(before: dict[str, Any]) -> None:
    change = only(before, lambda a: a["attributes"].reverse())
    assert (change.kind, change.sentence) == (
        "catalog.reordered",
        "The catalog lists its attributes in a different order",
    )


def test_blueprint_fields(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        after["blueprint"].update(name="Retail – web", channels=["web", "app"], context="")

    _, sections = changed(before, edit)
    assert sections == {
        "Blueprint": [
            "The blueprint is now called 'Retail – web' (was 'Retail')",
            "Context removed (was 'Bank')",
            "Channels now also include app",
        ]
    }


def test_sections_follow_the_journey_and_removed_stages_come_last(before: dict[str, Any]) -> None:
    def edit(after: dict[str, Any]) -> None:
        after["blueprint"]["description"] = "New"
        after["attributes"][0]["source"] = "DWH"
        after["stages"][0]["offers"][0]["name"] = "W"
        after["stages"][2]["offers"][0]["name"] = "R"
        after["stages"].pop(1)

    after = copy.deepcopy(before)
    edit(after)
    diff = snapshot_diff(before, after)
    assert [s.title for s in diff.sections] == [
        "Blueprint",
        "Catalog",
        "Awareness",
        "Advocacy",
        "Retention (removed)",
    ]
    answer = diff.as_json()
    assert answer["sentences"] == [c.sentence for c in diff.changes]
    assert [s["title"] for s in answer["sections"]] == [s.title for s in diff.sections]
    assert set(answer["changes"][0]) == {
        "kind",
        "stage",
        "offer",
        "attribute",
        "field",
        "before",
        "after",
        "sentence",
    }
    assert all(c["kind"] in KINDS for c in answer["changes"])


def test_an_initialism_keeps_its_capitals(before: dict[str, Any]) -> None:
    before["attributes"][1]["label"] = "VIP level"
    change = only(before, lambda a: find(a, "gold_card")["groups"][0][0].update(value=20))
    assert "now requires VIP level is at least 20 years" in change.sentence


@settings(max_examples=150, deadline=None)
@given(st.permutations(list("abcdefg")), st.permutations(list("abcdefg")))
def test_the_moved_keys_are_few_and_enough(old: list[str], new: list[str]) -> None:
    """What did not move keeps its order; only the moved ones need placing, and no fewer will do."""
    moved = set(moved_keys(old, new))
    stayed_old = [k for k in old if k not in moved]
    stayed_new = [k for k in new if k not in moved]
    assert stayed_old == stayed_new
    if old == new:
        assert not moved
    # minimal: a longest increasing subsequence of positions leaves exactly this many out
    positions = [old.index(k) for k in new]
    longest = [1] * len(positions)
    for i in range(len(positions)):
        for j in range(i):
            if positions[j] < positions[i]:
                longest[i] = max(longest[i], longest[j] + 1)
    assert len(moved) == len(positions) - max(longest)


def lcs_length(old: list[str], new: list[str]) -> int:
    table = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i, a in enumerate(old):
        for j, b in enumerate(new):
            table[i + 1][j + 1] = table[i][j] + 1 if a == b else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


@settings(max_examples=200, deadline=None)
@given(
    st.permutations(list("abcdefg")), st.permutations(list("abcdefg")), st.sets(st.sampled_from("abcdefg"))
)
def test_the_described_moves_turn_the_old_order_into_the_new(
    old: list[str], new: list[str], prefer: set[str]
) -> None:
    """Read back from the diff's own words: each offer moved to its priority among the others kept in
    their order, and each stage just before the one it says (from the last back), give the new
    order; and there are n - LCS of them, no fewer will do."""
    minimal = len(old) - lcs_length(old, new)
    one_stage = {"stages": [stage("s", "S", [offer(f"o{k}", f"Offer {k}") for k in old])]}
    reordered = {"stages": [stage("s", "S", [offer(f"o{k}", f"Offer {k}") for k in new])]}
    diff = snapshot_diff(one_stage, reordered, moved={f"o{k}" for k in prefer})
    priorities = [c for c in diff.changes if c.kind == "offer.priority"]
    assert len(priorities) == minimal
    said = {c.offer: int(re.fullmatch(r"'Offer \w' moved (?:up|down) to priority (\d+) \(was \d+\)", c.sentence)[1])  # type: ignore[index]
            for c in priorities}  # fmt: skip
    order = [f"o{k}" for k in old if f"o{k}" not in said]
    for key, priority in sorted(said.items(), key=lambda item: item[1]):
        order.insert(priority - 1, key)
    assert order == [f"o{k}" for k in new]

    journey = {"stages": [stage(k, k.upper(), []) for k in old]}
    diff = snapshot_diff(journey, {"stages": [stage(k, k.upper(), []) for k in new]}, moved=prefer)
    stage_moves = [c for c in diff.changes if c.kind == "stage.moved"]
    assert len(stage_moves) == minimal
    names = {k.upper(): k for k in old}
    placed = [k for k in old if k not in {c.stage for c in stage_moves}]
    for change in reversed(stage_moves):  # in the new order: from the last one back
        found = re.fullmatch(
            r"Stage '(\w)' moved (?:to the start, )?(before|to the end, after) '(\w)'", change.sentence
        )
        assert found is not None, change.sentence
        key, where, anchor = names[found[1]], found[2], names[found[3]]
        placed.insert(placed.index(anchor) if where == "before" else len(placed), key)
    assert placed == new
    # with one drag, the dragged item is the one named when the log says so
    if minimal and prefer >= set(moved_keys(old, new)):
        assert {m.key for m in order_moves(old, new, prefer)} <= prefer


def test_an_offers_dates_tags_and_content_reference_are_said_in_plain_words(before: dict[str, Any]) -> None:
    """Issue 16: "'Gold card' now ends on 30 June 2027", "tags added: summer"."""

    def edit(a: dict[str, Any]) -> None:
        find(a, "gold_card").update(ends_on="2027-06-30", tags=["summer", "cards"], content_ref="creative-42")
        find(a, "welcome").update(starts_on="2027-03-01")

    changes, _ = changed(before, edit)
    sentences = [c.sentence for c in changes]
    assert "'Gold card' now ends on 30 June 2027" in sentences
    assert "'Gold card': tags added: summer and cards" in sentences
    assert "'Gold card': content reference set to creative-42" in sentences
    assert "'Welcome bonus' now starts on 1 March 2027" in sentences
    ends = next(c for c in changes if c.field == "ends_on")
    assert (ends.kind, ends.offer, ends.before, ends.after) == (
        "offer.changed",
        "gold_card",
        None,
        "2027-06-30",
    )

    dated = copy.deepcopy(before)
    edit(dated)
    undone = snapshot_diff(dated, before).changes
    assert {c.sentence for c in undone} >= {
        "'Gold card' no longer has an end date (was 30 June 2027)",
        "'Gold card': tags removed: summer and cards",
        "'Gold card': content reference removed (was creative-42)",
    }
    assert snapshot_diff(dated, copy.deepcopy(dated)).empty
