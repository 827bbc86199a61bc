"""The decision engine (decisioning/engine.py) and the rules it follows: entry conditions, priority,
fallback, gaps, groups, ``within_last_days`` against ``at``, missing attributes, the profile checked
against the catalog, explain and "why not". Pure: no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from decisioning.engine import CompiledVersion, cache_clear, compile_snapshot, compiled_for
from decisioning.errors import InvalidInput
from decisioning.profiles import ProfileProblems
from tests.decisioning.oracle import ATTRIBUTES, raw

AT = dt.date(2025, 6, 15)


def snapshot(*stages: dict[str, Any], attributes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"attributes": attributes or ATTRIBUTES, "stages": list(stages)}


def stage(key: str, *offers: dict[str, Any], entry: list[Any] | None = None) -> dict[str, Any]:
    return {"key": key, "name": key.title(), "entry": entry or [], "offers": list(offers)}


def offer(key: str, *groups: list[dict[str, Any]], fallback: bool = False) -> dict[str, Any]:
    return {"key": key, "name": key.replace("_", " ").title(), "groups": list(groups), "fallback": fallback}


def compiled(*stages: dict[str, Any]) -> CompiledVersion:
    return compile_snapshot(snapshot(*stages), {"number": 1})


def answers(engine: CompiledVersion, profile: dict[str, Any], **options: Any) -> dict[str, Any]:
    """stage → (offer, fallback, eligible) of the stages entered, by the fast path; the explained
    path must agree."""
    options.setdefault("at", AT)
    fast = engine.decide(profile, **options)
    slow = engine.decide(profile, explain=True, **options)
    got = {d.stage: (d.offer, d.fallback, list(d.eligible)) for d in fast.decisions}
    assert got == {d.stage: (d.offer, d.fallback, list(d.eligible)) for d in slow.decisions}
    return got


GOLD = raw("segment", "is_one_of", ["Gold"])
ADULT = raw("age", "at_least", 18)
RECENT = raw("last_visit", "within_last_days", 7)
LOAN = raw("products", "includes", "loan")


# --- Semantics ---------------------------------------------------------------------------------


def test_the_first_matching_offer_in_priority_order_is_chosen_and_all_matching_are_eligible():
    engine = compiled(stage("s", offer("gold", [GOLD]), offer("adult", [ADULT]), offer("anyone")))
    assert answers(engine, {"segment": "Gold", "age": 30}) == {
        "s": ("gold", False, ["gold", "adult", "anyone"])
    }
    assert answers(engine, {"segment": "Silver", "age": 30}) == {"s": ("adult", False, ["adult", "anyone"])}
    assert answers(engine, {"age": 12}) == {"s": ("anyone", False, ["anyone"])}


def test_a_stage_whose_entry_conditions_fail_is_left_out():
    engine = compiled(stage("adults", offer("o", [GOLD]), entry=[[ADULT]]), stage("all", offer("p")))
    assert answers(engine, {"age": 17, "segment": "Gold"}) == {"all": ("p", False, ["p"])}
    assert answers(engine, {"age": 18, "segment": "Gold"}) == {
        "adults": ("o", False, ["o"]),
        "all": ("p", False, ["p"]),
    }


def test_the_fallback_is_given_only_when_no_other_offer_matches_wherever_it_stands():
    engine = compiled(stage("s", offer("fb", fallback=True), offer("gold", [GOLD])))
    assert answers(engine, {"segment": "Gold"}) == {"s": ("gold", False, ["gold"])}
    assert answers(engine, {"segment": "Bronze"}) == {"s": ("fb", True, [])}


def test_of_two_fallbacks_the_first_is_given():
    engine = compiled(
        stage("s", offer("gold", [GOLD]), offer("one", fallback=True), offer("two", fallback=True))
    )
    assert answers(engine, {}) == {"s": ("one", True, [])}


def test_a_gap_gives_no_offer():
    engine = compiled(stage("s", offer("gold", [GOLD])))
    assert answers(engine, {"segment": "Silver"}) == {"s": (None, False, [])}


def test_a_stage_without_offers_gives_no_offer_and_one_with_an_open_offer_gives_it_to_all():
    engine = compiled(stage("empty"), stage("open", offer("all")))
    assert answers(engine, {}) == {"empty": (None, False, []), "open": ("all", False, ["all"])}


def test_an_offer_matches_when_any_group_holds_and_a_group_when_all_its_conditions_do():
    engine = compiled(stage("s", offer("o", [GOLD, ADULT], [LOAN])))
    assert answers(engine, {"segment": "Gold", "age": 20}) == {"s": ("o", False, ["o"])}
    assert answers(engine, {"segment": "Gold", "age": 17}) == {"s": (None, False, [])}
    assert answers(engine, {"products": ["card", "loan"]}) == {"s": ("o", False, ["o"])}


def test_within_last_days_counts_back_from_the_decision_day_inclusive():
    engine = compiled(stage("s", offer("recent", [RECENT])))
    for day, expected in [
        ("2025-06-15", "recent"),
        ("2025-06-08", "recent"),
        ("2025-06-07", None),
        ("2025-06-16", None),
    ]:
        assert answers(engine, {"last_visit": day})["s"][0] == expected, day
    # the same day, a week later, is too old
    assert answers(engine, {"last_visit": "2025-06-10"}, at=dt.date(2025, 6, 18))["s"][0] == None  # noqa: E711
    assert answers(engine, {"last_visit": "2025-06-10"}, at=dt.date(2025, 6, 17))["s"][0] == "recent"


def test_a_missing_attribute_meets_no_condition_and_null_is_missing():
    engine = compiled(
        stage(
            "s",
            offer("n", [raw("age", "at_most", 100)]),
            offer("d", [raw("last_visit", "at_most", "2100-01-01")]),
            offer("b", [raw("vip", "is", False)]),
            offer("t", [raw("city", "is_one_of", ["Paris"])]),
            offer("set", [raw("products", "includes_any_of", ["loan"])]),
            offer("fb", fallback=True),
        )
    )
    assert answers(engine, {}) == {"s": ("fb", True, [])}
    nulls = {"age": None, "last_visit": None, "vip": None, "city": None, "products": None}
    assert answers(engine, nulls) == {"s": ("fb", True, [])}
    assert answers(engine, {"vip": False})["s"][0] == "b"


def test_numbers_dates_and_between_include_their_ends():
    engine = compiled(
        stage(
            "s",
            offer("mid", [raw("age", "between", [18, 30])]),
            offer("late", [raw("last_visit", "at_least", "2025-06-01")]),
        )
    )
    assert answers(engine, {"age": 18})["s"][0] == "mid"
    assert answers(engine, {"age": 30})["s"][0] == "mid"
    assert answers(engine, {"age": 30.5})["s"][0] is None
    assert answers(engine, {"last_visit": "2025-06-01"})["s"][0] == "late"
    assert answers(engine, {"last_visit": "2025-05-31T23:59:59Z"})["s"][0] is None
    assert answers(engine, {"last_visit": "2025-06-01T00:30:00+02:00"})["s"][0] == "late"


def test_below_and_above_leave_their_value_out_and_on_dates_mean_before_and_after():
    engine = compiled(
        stage(
            "s",
            offer("young", [raw("age", "below", 18)]),
            offer("old", [raw("age", "above", 30), raw("age", "below", 30.5)]),
            offer("before", [raw("last_visit", "below", "2025-06-01")]),
            offer("after", [raw("last_visit", "above", "2025-06-10")]),
        )
    )
    assert answers(engine, {"age": 17.999})["s"][0] == "young"
    assert answers(engine, {"age": 18})["s"][0] is None
    assert answers(engine, {"age": 30})["s"][0] is None
    assert answers(engine, {"age": 30.25})["s"][0] == "old"
    assert answers(engine, {"age": 30.5})["s"][0] is None
    assert answers(engine, {"last_visit": "2025-05-31"})["s"][0] == "before"
    assert answers(engine, {"last_visit": "2025-06-01"})["s"][0] is None
    assert answers(engine, {"last_visit": "2025-06-10"})["s"][0] is None
    assert answers(engine, {"last_visit": "2025-06-11"})["s"][0] == "after"


def test_one_stage_can_be_asked_for_and_is_answered_even_when_not_entered():
    engine = compiled(stage("adults", offer("o"), entry=[[ADULT]]), stage("all", offer("p")))
    decision = engine.decide({"age": 10}, stage="adults", at=AT)
    assert [d.as_json() for d in decision.decisions] == [
        {"stage": "adults", "entered": False, "offer": None, "fallback": False, "eligible": []}
    ]
    assert [d.stage for d in engine.decide({"age": 20}, stage="all", at=AT).decisions] == ["all"]


def test_an_unknown_stage_is_refused_naming_the_known_ones():
    engine = compiled(stage("adults", offer("o")))
    with pytest.raises(InvalidInput) as refused:
        engine.decide({}, stage="nope", at=AT)
    assert "stage" in refused.value.problems
    assert "adults" in refused.value.problems["stage"][0]


def test_unknown_keys_are_ignored():
    engine = compiled(stage("s", offer("gold", [GOLD])))
    assert answers(engine, {"segment": "Gold", "shoe_size": "enormous", "age": None})["s"][0] == "gold"


def test_the_result_names_its_version_and_decision_day():
    engine = compile_snapshot(snapshot(stage("s")), {"draft": True, "rev": 7})
    body = engine.decide({}, at=AT).as_json()
    assert body["version"] == {"draft": True, "rev": 7}
    assert body["at"] == "2025-06-15"


# --- Bad profiles --------------------------------------------------------------------------------


BAD_JSON = [
    ("age", "42", "JSON number"),
    ("age", True, "JSON number"),
    ("age", [1], "JSON number"),
    ("segment", "Tin", "not a choice of Segment"),
    ("segment", 3, "one of Bronze, Silver, Gold"),
    ("segment", ["Gold"], "one of Bronze"),
    ("city", 75001, "a text"),
    ("vip", "true", "true or false"),
    ("vip", 1, "true or false"),
    ("last_visit", "2025-02-30", "YYYY-MM-DD"),
    ("last_visit", "15/06/2025", "YYYY-MM-DD"),
    ("last_visit", "2025-06-15T25:00", "YYYY-MM-DD"),
    ("last_visit", 20250615, "YYYY-MM-DD"),
    ("products", "loan", "a list of texts"),
    ("products", ["loan", 3], "a list of texts"),
    ("products", [["loan"]], "a list of texts"),
    ("products", {"loan": True}, "a list of texts"),
]


@pytest.mark.parametrize(("key", "value", "says"), BAD_JSON)
def test_a_bad_json_value_is_refused_naming_the_field_and_what_it_accepts(key, value, says):
    engine = compiled(stage("s", offer("o", [GOLD])))
    for explain in (False, True):
        with pytest.raises(ProfileProblems) as refused:
            engine.decide({key: value, "age": 20} if key != "age" else {key: value}, at=AT, explain=explain)
        assert list(refused.value.problems) == [f"profile.{key}"]
        assert says in refused.value.problems[f"profile.{key}"][0]


def test_every_bad_field_is_named_at_once():
    engine = compiled(stage("s", offer("o", [GOLD])))
    with pytest.raises(ProfileProblems) as refused:
        engine.decide({"age": "x", "vip": "no", "segment": "Gold"}, at=AT)
    assert set(refused.value.problems) == {"profile.age", "profile.vip"}


def test_a_profile_that_is_not_an_object_is_refused():
    engine = compiled(stage("s"))
    for bad in ([], "age=3", 3, None):
        with pytest.raises(ProfileProblems) as refused:
            engine.decide(bad, at=AT)
        assert "profile" in refused.value.problems


def test_an_infinite_number_is_refused():
    engine = compiled(stage("s", offer("o", [ADULT])))
    with pytest.raises(ProfileProblems):
        engine.decide({"age": float("inf")}, at=AT)


def test_set_elements_and_choices_are_checked_against_the_catalog():
    attributes = [
        {"key": "products", "label": "Products", "type": "set", "choices": ["savings", "loan"]},
        {"key": "tier", "label": "Tier", "type": "choice", "choices": ["a", "b"]},
    ]
    engine = compile_snapshot(
        snapshot(stage("s", offer("o", [raw("products", "includes", "loan")])), attributes=attributes),
        {"number": 1},
    )
    assert engine.decide({"products": ["loan"]}, at=AT).decisions[0].offer == "o"
    with pytest.raises(ProfileProblems) as refused:
        engine.decide({"products": ["loan", "yacht"], "tier": "c"}, at=AT)
    assert "'yacht' is not a choice of Products" in refused.value.problems["profile.products"][0]
    assert "profile.tier" in refused.value.problems


CSV_CELLS = [
    ({"age": "42"}, {"age": 42}),
    ({"age": " 2.5 "}, {"age": 2.5}),
    ({"age": "-1e2"}, {"age": -100}),
    ({"age": ""}, {}),
    ({"vip": "YES"}, {"vip": True}),
    ({"vip": "0"}, {"vip": False}),
    ({"products": "loan| card |"}, {"products": ["card", "loan"]}),
    ({"products": "|"}, {"products": []}),
    ({"last_visit": "2025-06-15 10:00"}, {"last_visit": "2025-06-15"}),
    ({"segment": " Gold"}, {"segment": "Gold"}),
]


@pytest.mark.parametrize(("cells", "checked"), CSV_CELLS)
def test_csv_cells_are_read_per_catalog_type(cells, checked):
    engine = compiled(stage("s"))
    got = engine.check(cells, csv=True)
    assert {k: sorted(v) if isinstance(v, frozenset) else v for k, v in got.items()} == {
        k: dt.date.fromisoformat(v) if k == "last_visit" else v for k, v in checked.items()
    }


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ({"age": "42 years"}, "age"),
        ({"age": "1_000"}, "age"),
        ({"age": "nan"}, "age"),
        ({"age": "1e400"}, "age"),
        ({"vip": "maybe"}, "vip"),
        ({"last_visit": "2025-6-1"}, "last_visit"),
        ({"last_visit": "0000-01-01"}, "last_visit"),
        ({"segment": "gold"}, "segment"),
    ],
)
def test_bad_csv_cells_are_refused_naming_the_field(cells, field):
    engine = compiled(stage("s"))
    with pytest.raises(ProfileProblems) as refused:
        engine.check(cells, csv=True)
    assert list(refused.value.problems) == [f"profile.{field}"]


# --- Explain and why not ----------------------------------------------------------------------------


def explained(engine: CompiledVersion, profile: dict[str, Any], **options: Any) -> dict[str, Any]:
    body = engine.decide(profile, explain=True, at=AT, **options).as_json()
    return {d["stage"]: d for d in body["decisions"] + body["skipped"]}


def test_explain_gives_each_condition_its_actual_value_and_result():
    engine = compiled(stage("s", offer("gold", [GOLD, ADULT]), offer("recent", [RECENT])))
    offers = explained(engine, {"segment": "Gold", "age": 16})["s"]["explain"]["offers"]
    gold = offers[0]
    assert gold["matched"] is False and gold["chosen"] is False
    conditions = gold["groups"][0]["conditions"]
    assert [(c["sentence"], c["actual"], c["missing"], c["result"]) for c in conditions] == [
        ("Segment is Gold", "Gold", False, True),
        ("Age is at least 18 years", 16, False, False),
    ]
    recent = offers[1]["groups"][0]["conditions"][0]
    assert recent["missing"] is True and recent["actual"] is None and recent["result"] is False


def test_why_not_names_the_failed_conditions_and_the_smallest_change():
    engine = compiled(stage("s", offer("gold", [GOLD, ADULT]), offer("fb", fallback=True)))
    offers = explained(engine, {"segment": "Gold", "age": 16})["s"]["explain"]["offers"]
    why = offers[0]["why_not"]
    assert [c["sentence"] for c in why["failed"]] == ["Age is at least 18 years"]
    assert why["possible"] is True
    assert why["change"] == {"age": 18}
    assert offers[1]["chosen"] is True and offers[1]["why_not"] is None


def test_why_not_names_the_higher_offers_that_take_the_customer():
    engine = compiled(stage("s", offer("gold", [GOLD]), offer("adult", [ADULT])))
    offers = explained(engine, {"segment": "Gold", "age": 40})["s"]["explain"]["offers"]
    why = offers[1]["why_not"]
    assert why["taken_by"] == ["gold"] and why["failed"] == []
    # to get "adult", the customer must leave Gold (the nearest other choice), keeping the age
    assert set(why["change"]) == {"segment"}
    assert why["change"]["segment"] in ("Bronze", "Silver")


def test_why_not_includes_the_entry_of_a_stage_not_entered():
    engine = compiled(stage("adults", offer("gold", [GOLD]), entry=[[ADULT]]))
    skipped = explained(engine, {"age": 15})["adults"]
    assert skipped["entered"] is False
    why = skipped["explain"]["offers"][0]["why_not"]
    assert why["not_entered"] is True
    assert why["change"] == {"age": 18, "segment": "Bronze"} or why["change"]["age"] == 18
    assert why["change"]["segment"] == "Gold"


def test_why_not_says_when_no_customer_can_get_an_offer():
    engine = compiled(stage("s", offer("adult", [ADULT]), offer("older", [raw("age", "at_least", 30)])))
    why = explained(engine, {"age": 10})["s"]["explain"]["offers"][1]["why_not"]
    assert why["possible"] is False and why["change"] is None


def test_why_not_moves_a_date_into_the_window_and_a_set_gets_the_element():
    engine = compiled(stage("s", offer("recent", [RECENT]), offer("loan", [LOAN])))
    offers = explained(engine, {"last_visit": "2025-05-01", "products": ["card"]})["s"]["explain"]["offers"]
    assert offers[0]["why_not"]["change"] == {"last_visit": "2025-06-08"}
    assert offers[1]["why_not"]["change"] == {"products": ["card", "loan"]}


def test_explain_with_one_stage_covers_only_that_stage():
    engine = compiled(stage("a", offer("o")), stage("b", offer("p")))
    body = engine.decide({}, stage="b", explain=True, at=AT).as_json()
    assert [d["stage"] for d in body["decisions"]] == ["b"] and body["skipped"] == []


# --- Compiling and caching ------------------------------------------------------------------------------


def test_a_version_is_compiled_once_per_cache_key():
    cache_clear()
    calls = []

    def load() -> CompiledVersion:
        calls.append(1)
        return compiled(stage("s"))

    first = compiled_for(("version", 1, 1, "sha256:x"), load)
    assert compiled_for(("version", 1, 1, "sha256:x"), load) is first
    assert compiled_for(("draft", 1, 5), load) is not first
    assert len(calls) == 2


def test_generated_code_quotes_every_key_and_value_safely():
    attributes = [{"key": "city", "label": "City", "type": "text"}]
    nasty = "x'); import os; os._exit(1) #\"\\"
    engine = compile_snapshot(
        snapshot(stage("s", offer("o", [raw("city", "is", nasty)])), attributes=attributes), {"number": 1}
    )
    assert engine.decide({"city": nasty}, at=AT).decisions[0].offer == "o"
    assert engine.decide({"city": "x"}, at=AT).decisions[0].offer is None


def test_an_offer_outside_its_days_is_not_eligible_and_why_not_says_so_in_words():
    """Issue 16: "not shown until 1 March 2027", "ended on 30 June 2027"; no change of the profile helps."""
    later = {**offer("later", [GOLD]), "starts_on": "2027-03-01"}
    ended = {**offer("ended", [GOLD]), "ends_on": "2025-06-14"}
    fallback = {**offer("hello", fallback=True), "ends_on": "2025-06-14"}
    engine = compiled(stage("s", later, ended, offer("adult", [ADULT]), fallback))
    assert answers(engine, {"segment": "Gold", "age": 30}) == {"s": ("adult", False, ["adult"])}
    assert answers(engine, {"segment": "Gold"}) == {"s": (None, False, [])}  # the fallback has ended too
    assert answers(engine, {"segment": "Gold"}, at=dt.date(2027, 3, 1)) == {"s": ("later", False, ["later"])}
    assert answers(engine, {}, at=dt.date(2025, 6, 14)) == {"s": ("hello", True, [])}
    body = engine.decide({"segment": "Gold"}, at=AT, explain=True).as_json()
    whys = {o["offer"]: o["why_not"] for o in body["decisions"][0]["explain"]["offers"]}
    assert whys["later"]["closed"] == "not shown until 1 March 2027"
    assert whys["ended"]["closed"] == "ended on 14 June 2025"
    assert whys["later"]["possible"] is False and whys["later"]["change"] is None
    assert whys["hello"]["closed"] == "ended on 14 June 2025"
    assert whys["adult"]["closed"] is None and whys["adult"]["change"] == {"age": 18}
