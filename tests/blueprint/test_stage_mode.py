"""How stages relate (``stage_mode``, docs/architecture.md "Decisions"): "several" (every stage whose
entry holds, the default) or "one" (the first, in journey order). Set on the board and in the API
through the one edit path (undoable, live), kept in snapshots, versions' diffs, restores and the JSON
round trip, and followed by decide (with why-not), the lint, the coverage page, the spec, the SQL and
the DMN exports.

The ``board`` fixture: awareness [welcome, gold_card] and onboarding [app_tour], both without entry
conditions (everyone). Here awareness lets in Gold and Platinum customers only (``narrowed``).
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from lxml import html
from rest_framework.test import APIClient

from blueprint.live.render import operation_frame
from blueprint.models import Blueprint, Operation
from blueprint.restore import restore_plan
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import operation_apply, undo_step, version_approve, version_publish
from blueprint.snapshots import snapshot_hash
from decisioning.engine import cache_clear

pytestmark = pytest.mark.django_db

GOLD = {"segment": "Gold", "has_app": True}
ONE = "Each customer is in one stage: the first, in journey order, whose entry holds"
SEVERAL = "A customer can be in several stages at once; each stage gives its own offer"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache_clear()


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def url(board: Blueprint, rest: str = "") -> str:
    return f"/api/v1/blueprints/{board.pk}/{rest}"


@pytest.fixture
def narrowed(board: Blueprint) -> Blueprint:
    entry = [[{"attribute": "segment", "operator": "is_one_of", "value": ["Gold", "Platinum"]}]]
    operation_apply(
        blueprint_id=board.pk,
        actor=None,
        op_type="stage.update",
        payload={"key": "awareness", "entry": entry},
    )
    board.refresh_from_db()
    return board


def mode_set(board: Blueprint, user: Any, mode: str) -> None:
    response = api(user).patch(url(board), {"stage_mode": mode}, format="json")
    assert response.status_code == 200, response.content


def decide(board: Blueprint, user: Any, **body: Any) -> dict[str, Any]:
    response = api(user).post(url(board, "decide/"), {"version": "draft", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


# --- The setting: API, board, undo, live ------------------------------------------------------------


def test_a_blueprint_has_several_stages_at_once_until_it_is_told_otherwise(board, users):
    assert api(users["viewer"]).get(url(board)).json()["stage_mode"] == "several"
    mode_set(board, users["editor"], "one")
    assert api(users["viewer"]).get(url(board)).json()["stage_mode"] == "one"
    listed = api(users["viewer"]).get("/api/v1/blueprints/").json()
    assert [b["stage_mode"] for b in listed] == ["one"]


@pytest.mark.parametrize("bad", ["both", "", None, 1, ["one"]])
def test_a_bad_stage_mode_is_a_400_naming_it(board, users, bad):
    response = api(users["editor"]).patch(url(board), {"stage_mode": bad}, format="json")
    assert response.status_code == 400, response.content
    assert "stage_mode" in response.json()["errors"]
    assert Blueprint.objects.get(pk=board.pk).stage_mode == "several"


def test_a_new_blueprint_may_say_how_its_stages_relate(users):
    client = api(users["owner"])
    made = client.post("/api/v1/blueprints/", {"name": "One at a time", "stage_mode": "one"}, format="json")
    assert made.status_code == 201 and made.json()["stage_mode"] == "one"
    refused = client.post("/api/v1/blueprints/", {"name": "Bad", "stage_mode": "all"}, format="json")
    assert refused.status_code == 400 and "stage_mode" in refused.json()["errors"]


def test_changing_it_is_an_operation_that_the_author_can_undo(board, users):
    mode_set(board, users["editor"], "one")
    record = Operation.objects.filter(blueprint=board).latest("rev")
    assert record.type == "blueprint.update" and record.payload == {"stage_mode": "one"}
    assert "way stages relate" in record.summary
    undo_step(blueprint_id=board.pk, actor=users["editor"])
    assert Blueprint.objects.get(pk=board.pk).stage_mode == "several"


def test_the_board_shows_the_setting_and_an_editor_changes_it_there(board, users):
    editor, viewer = Client(), Client()
    editor.force_login(users["editor"])
    viewer.force_login(users["viewer"])
    page = html.fromstring(editor.get(f"/blueprints/{board.pk}/").content.decode())
    assert page.xpath("string(//form[@id='stage-mode']//label)") == "How stages relate"
    options = page.xpath("//select[@id='stage-mode-select']/option")
    assert [o.text for o in options] == [
        "A customer can be in several stages at once",
        "Each customer is in one stage — the first in journey order",
    ]
    assert page.xpath("//select[@id='stage-mode-select']/option[@selected]/@value") == ["several"]
    saved = editor.post(
        f"/blueprints/{board.pk}/board/stage-mode/", {"stage_mode": "one"}, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 204 and saved["Blueprint-Saved-Rev"] == str(
        Blueprint.objects.get(pk=board.pk).rev
    )
    assert Blueprint.objects.get(pk=board.pk).stage_mode == "one"
    # a viewer reads it, and may not change it
    shown = html.fromstring(viewer.get(f"/blueprints/{board.pk}/").content.decode())
    assert "Each customer is in one stage" in shown.xpath("string(//*[@id='stage-mode'])")
    assert not shown.xpath("//select[@id='stage-mode-select']")
    refused = viewer.post(
        f"/blueprints/{board.pk}/board/stage-mode/", {"stage_mode": "several"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403
    bad = editor.post(
        f"/blueprints/{board.pk}/board/stage-mode/", {"stage_mode": "all"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400 and "one" in bad.content.decode()


@pytest.mark.parametrize("can_edit", [True, False])
def test_the_operations_frame_redraws_the_setting_on_every_board(board, users, can_edit):
    mode_set(board, users["editor"], "one")
    record = Operation.objects.filter(blueprint=board).latest("rev")
    frame = operation_frame(board.pk, record.pk, can_edit=can_edit)
    assert frame is not None
    (fragment,) = [f for f in frame["fragments"] if f.get("id") == "board-title"]
    assert 'data-stage-mode="one"' in fragment["html"] and "Each customer is in one stage" in fragment["html"]
    assert ("<select" in fragment["html"]) is can_edit


# --- Snapshot, diff, restore, JSON round trip -------------------------------------------------------


def test_snapshots_carry_the_mode_only_when_it_is_one_so_old_hashes_stay(board, users):
    before = board_snapshot(board_load(board))
    assert "stage_mode" not in before["blueprint"]
    mode_set(board, users["editor"], "one")
    after = board_snapshot(board_load(Blueprint.objects.get(pk=board.pk)))
    assert after["blueprint"]["stage_mode"] == "one"
    assert snapshot_hash(after) != snapshot_hash(before)
    mode_set(board, users["editor"], "several")
    assert snapshot_hash(board_snapshot(board_load(Blueprint.objects.get(pk=board.pk)))) == snapshot_hash(
        before
    )


def test_the_version_diff_says_how_stages_relate_now_and_a_restore_brings_it_back(narrowed, users):
    board = narrowed
    first = version_publish(blueprint_id=board.pk, actor=users["editor"])
    version_approve(blueprint_id=board.pk, number=first.number, actor=users["approver"])
    mode_set(board, users["editor"], "one")
    second = version_publish(blueprint_id=board.pk, actor=users["editor"])
    body = (
        api(users["viewer"]).get(url(board, f"versions/{second.number}/diff/?against={first.number}")).json()
    )
    sentences = json.dumps(body, ensure_ascii=False)
    assert (
        "How stages relate: now “Each customer is in one stage — the first in journey order” "
        "(was “A customer can be in several stages at once”)" in sentences
    )
    plan = restore_plan(second.snapshot, first.snapshot)
    assert plan == [("blueprint.update", {"stage_mode": "several"})]


def test_the_json_export_imports_back_with_its_mode(board, users):
    mode_set(board, users["editor"], "one")
    client = api(users["editor"])
    exported = client.get(url(board, "export/"), {"format": "json", "version": "draft"}).json()
    assert exported["blueprint"]["stage_mode"] == "one"
    made = client.post("/api/v1/blueprints/import/", exported, format="json")
    assert made.status_code == 201, made.content
    copy = Blueprint.objects.get(pk=made.json()["id"])
    assert copy.stage_mode == "one"
    bad = {**exported, "blueprint": {**exported["blueprint"], "stage_mode": "many"}}
    refused = client.post("/api/v1/blueprints/import/", bad, format="json")
    assert refused.status_code == 400 and "blueprint.stage_mode" in refused.json()["errors"]


# --- Decisions follow the mode ----------------------------------------------------------------------


def test_with_several_a_gold_customer_is_in_both_stages(narrowed, users):
    body = decide(narrowed, users["editor"], profile=GOLD)
    assert [(d["stage"], d["offer"]) for d in body["decisions"]] == [
        ("awareness", "gold_card"),
        ("onboarding", "app_tour"),
    ]


def test_with_one_stage_each_decide_answers_the_first_stage_only(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    body = decide(narrowed, users["editor"], profile=GOLD)
    assert [(d["stage"], d["offer"]) for d in body["decisions"]] == [("awareness", "gold_card")]
    # a customer the first stage does not let in is in the next one
    other = decide(narrowed, users["editor"], profile={"segment": "Bronze", "has_app": True})
    assert [(d["stage"], d["offer"]) for d in other["decisions"]] == [("onboarding", "app_tour")]


def test_a_stage_asked_for_says_the_customer_is_in_an_earlier_one(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    (decision,) = decide(narrowed, users["editor"], profile=GOLD, stage="onboarding")["decisions"]
    assert decision == {
        "stage": "onboarding",
        "entered": False,
        "offer": None,
        "fallback": False,
        "eligible": [],
        "earlier": "awareness",
    }
    explained = decide(narrowed, users["editor"], profile=GOLD, explain=True)
    (skipped,) = explained["skipped"]
    assert skipped["stage"] == "onboarding" and skipped["earlier"] == "awareness"
    (tour,) = skipped["explain"]["offers"]
    why = tour["why_not"]
    assert why["not_entered"] is True and why["earlier"] == "awareness"
    # the smallest change takes the customer out of the earlier stage
    assert why["change"] == {"segment": "Bronze"} or why["change"] == {"segment": None}


def test_the_simulator_says_the_customer_is_in_an_earlier_stage(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    client = Client()
    client.force_login(users["editor"])
    response = client.post(
        f"/blueprints/{narrowed.pk}/simulator/decide/",
        {"version": "draft", "p-segment": "Gold", "p-has_app": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    doc = html.fromstring(response.content.decode())
    head = " ".join(
        doc.xpath("string(//section[@id='sim-stage-onboarding']//p[@class='sim-stage-state'])").split()
    )
    assert head == "In “Awareness”, an earlier stage"
    why = " ".join(doc.xpath("string(//li[@id='sim-offer-app_tour']//ul[@class='sim-why-list'])").split())
    assert "The customer is in “Awareness”, an earlier stage" in why
    assert "Each customer is in one stage" in doc.xpath("string(//*[@id='sim-one-stage'])")


@pytest.mark.parametrize(
    ("mode", "said"), [("several", "counted 3 times"), ("one", "2 of 2 customers are in a stage, 0 in none")]
)
def test_the_coverage_page_says_how_the_stages_customers_add_up(narrowed, users, mode, said):
    mode_set(narrowed, users["editor"], mode)
    client = Client()
    client.force_login(users["editor"])
    sample = b"segment,has_app\nGold,yes\nBronze,no\n"
    response = client.post(
        f"/blueprints/{narrowed.pk}/coverage/",
        {"version": "draft", "sample": SimpleUploadedFile("sample.csv", sample, "text/csv")},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content
    doc = html.fromstring(response.content.decode())
    assert said in " ".join(doc.xpath("string(//*[@id='cov-stage-mode'])").split())
    entered = {
        s.get("id"): " ".join(s.xpath("string(p[1])").split())
        for s in doc.xpath("//section[contains(@class, 'cov-stage')]")
    }
    if mode == "one":
        assert entered == {
            "cov-stage-awareness": "1 of 2 in this stage; 1 not.",
            "cov-stage-onboarding": "1 of 2 in this stage; 1 not.",
        }


# --- The lint ---------------------------------------------------------------------------------------


def lint(board: Blueprint, user: Any) -> dict[str, Any]:
    return api(user).get(url(board, "lint/")).json()  # type: ignore[no-any-return]


def test_with_several_the_lint_warns_that_stages_overlap_with_a_customer_in_both(narrowed, users):
    (found,) = [f for f in lint(narrowed, users["viewer"])["warnings"] if f["code"] == "stage-overlap"]
    assert found["stage"] == "onboarding" and found["stages"] == ["awareness", "onboarding"]
    assert found["example"]["segment"] in ("Gold", "Platinum")
    assert "“Awareness” and “Onboarding” at once" in found["message"]
    # the checks panel names it for people
    client = Client()
    client.force_login(users["viewer"])
    panel = html.fromstring(client.get(f"/blueprints/{narrowed.pk}/").content.decode())
    assert "Customers in several stages" in panel.xpath("string(//*[@id='lint'])")


def test_with_one_stage_each_no_overlap_warning_and_an_unreachable_stage_is_an_error(board, users):
    mode_set(board, users["editor"], "one")
    body = lint(board, users["viewer"])
    assert not [f for f in body["warnings"] if f["code"] == "stage-overlap"]
    (unreachable,) = [f for f in body["errors"] if f["code"] == "stage-unreachable"]
    assert unreachable["stage"] == "onboarding"
    assert "everyone its entry lets in is in “Awareness” first" in unreachable["message"]
    # publishing is refused while it stands
    refused = api(users["editor"]).post(url(board, "versions/"), {"note": "x"}, format="json")
    assert refused.status_code == 400


def test_with_one_stage_each_a_later_stages_gap_counts_only_its_own_customers(narrowed, users):
    # onboarding gets only customers outside Gold and Platinum: its gap example is one of them
    mode_set(narrowed, users["editor"], "one")
    (gap,) = [
        f
        for f in lint(narrowed, users["viewer"])["warnings"]
        if f["code"] == "gap" and f["stage"] == "onboarding"
    ]
    assert gap["example"].get("segment") not in ("Gold", "Platinum")


# --- Exports ----------------------------------------------------------------------------------------


def export(board: Blueprint, user: Any, fmt: str) -> str:
    response = api(user).get(url(board, "export/"), {"format": fmt, "version": "draft"})
    assert response.status_code == 200, response.content
    return b"".join(response).decode() if response.streaming else response.content.decode()


@pytest.mark.parametrize(("mode", "said"), [("several", SEVERAL), ("one", ONE)])
def test_the_spec_says_plainly_how_stages_relate(narrowed, users, mode, said):
    mode_set(narrowed, users["editor"], mode)
    markdown = export(narrowed, users["viewer"], "md")
    assert markdown.count(said) == 2  # in the facts and above the decision logic
    page = html.fromstring(export(narrowed, users["viewer"], "html"))
    assert said in page.xpath("string(//*[@id='spec-stage-mode'])")


def test_the_sql_export_puts_each_customer_in_the_first_stage_only(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    query = export(narrowed, users["viewer"], "sql")
    assert "-- Each customer is in one stage" in query
    con = duckdb.connect()
    con.execute("CREATE TABLE profiles (segment VARCHAR, visits_30d DOUBLE, has_app BOOLEAN)")
    con.execute("INSERT INTO profiles VALUES ('Gold', NULL, TRUE), ('Bronze', NULL, TRUE)")
    cursor = con.execute(query.rstrip().rstrip(";"))
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    assert [(r["awareness.entered"], r["onboarding.entered"], r["onboarding.offer"]) for r in rows] == [
        (True, False, None),
        (False, True, "app_tour"),
    ]


def test_the_dmn_export_decides_the_customers_stage_first(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    xml = export(narrowed, users["viewer"], "dmn")
    assert 'id="customer_stage"' in xml and 'label="Stage of the customer"' in xml
    doc = html.fromstring(xml.split("?>", 1)[1].encode())
    (table,) = doc.xpath("//decision[@id='customer_stage']/decisiontable")
    assert table.get("hitpolicy") == "FIRST"
    # onboarding's decision reads it, not its own entry
    assert doc.xpath("//decision[@id='decision.onboarding']//requireddecision/@href") == ["#customer_stage"]


def test_the_test_cases_expect_nothing_from_a_stage_an_earlier_one_takes(narrowed, users):
    mode_set(narrowed, users["editor"], "one")
    cases = json.loads(export(narrowed, users["viewer"], "cases"))["cases"]
    earlier = [c for c in cases if c["name"] == "Onboarding: a customer in an earlier stage"]
    assert [c["expect"] for c in earlier] == [{"stage": "onboarding", "offer": None, "fallback": False}]
    for case in cases:
        (got,) = decide(narrowed, users["editor"], **{**case["request"], "version": "draft"})["decisions"]
        assert {k: got[k] for k in ("stage", "offer", "fallback")} == case["expect"], case["name"]
