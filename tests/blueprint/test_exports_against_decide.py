"""The exports are what the decision engine does: the acceptance cases of a live version, each
posted to the decide API, get exactly the answer they expect, and the exported SQL, run in DuckDB
over the same customers, picks the same offers. On the demo blueprint: six stages, 25 offers,
every operator of the condition language."""

from __future__ import annotations

from io import StringIO
from typing import Any

import duckdb
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from blueprint.demo import DEMO_NAME
from blueprint.models import Blueprint, Membership
from blueprint.services import version_approve, version_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_demo(settings: Any) -> tuple[Blueprint, Any]:
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    demo = Blueprint.objects.get(name=DEMO_NAME)
    people = {m.role: m.user for m in Membership.objects.filter(blueprint=demo).select_related("user")}
    live = demo.versions.filter(status="approved").first()
    if live is None:
        version = version_publish(blueprint_id=demo.pk, actor=people["editor"], note="For the developers")
        live = version_approve(blueprint_id=demo.pk, number=version.number, actor=people["approver"])
    client = APIClient()
    client.force_authenticate(people["viewer"])
    return demo, client


def cases_of(demo: Blueprint, client: APIClient) -> dict[str, Any]:
    response = client.get(f"/api/v1/blueprints/{demo.pk}/export/", {"format": "cases"})
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def test_every_acceptance_case_gets_its_answer_from_the_decide_api(live_demo: tuple[Blueprint, Any]) -> None:
    demo, client = live_demo
    exported = cases_of(demo, client)
    cases = exported["cases"]
    offers = sum(len(s["offers"]) for s in demo.versions.get(status="approved").snapshot["stages"])
    assert len(cases) >= offers - 4  # a case for nearly every offer (the fallbacks have theirs)
    for case in cases:
        response = client.post(f"/api/v1/blueprints/{demo.pk}/decide/", case["request"], format="json")
        assert response.status_code == 200, (case["name"], response.content)
        (decision,) = response.json()["decisions"]
        got = {"stage": decision["stage"], "offer": decision["offer"], "fallback": decision["fallback"]}
        assert got == case["expect"], case["name"]


def test_the_exported_sql_picks_the_offers_the_cases_expect(live_demo: tuple[Blueprint, Any]) -> None:
    demo, client = live_demo
    exported = cases_of(demo, client)
    # the export decides on one day: the cases on another (an offer's dates) are the decide API's
    cases = [c for c in exported["cases"] if c["request"]["at"] == exported["at"]]
    response = client.get(f"/api/v1/blueprints/{demo.pk}/export/", {"format": "sql"})
    assert response.status_code == 200, response.content
    query = response.content.decode()
    assert query.splitlines()[0].startswith("-- Blueprint decisions: Retail banking – web")
    attributes = demo.versions.get(status="approved").snapshot["attributes"]
    types = {"number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE profiles (case_no INTEGER, "
        + ", ".join(f'"{a["key"]}" {types.get(a["type"], "VARCHAR")}' for a in attributes)
        + ")"
    )
    for number, case in enumerate(cases):
        profile = case["request"]["profile"]
        values = [
            "|".join(profile[a["key"]])
            if a["type"] == "set" and a["key"] in profile
            else profile.get(a["key"])
            for a in attributes
        ]
        con.execute(f"INSERT INTO profiles VALUES ({', '.join('?' * (len(values) + 1))})", [number, *values])
    cursor = con.execute(query.rstrip().rstrip(";"))
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == len(cases)
    for row in rows:
        answer = dict(zip(names, row, strict=True))
        case = cases[answer["case_no"]]
        stage = case["expect"]["stage"]
        assert answer[f"{stage}.entered"] is True, case["name"]
        assert (answer[f"{stage}.offer"], bool(answer[f"{stage}.fallback"])) == (
            case["expect"]["offer"],
            case["expect"]["fallback"],
        ), case["name"]
