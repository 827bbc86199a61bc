"""The exports through the API and the pages: export/ per format and version, roles, bad input,
Graphviz missing; the diagram, spec and import pages.

The ``board`` fixture: stages awareness [welcome, gold_card] and onboarding [app_tour].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from blueprint.models import Blueprint, Version
from blueprint.services import operation_apply, version_approve, version_publish
from tests.blueprint.test_api import assert_error, client_for

pytestmark = pytest.mark.django_db

MEDIA = {
    "json": "application/json",
    "md": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "dmn": "application/xml",
    "dot": "text/vnd.graphviz",
    "svg": "image/svg+xml",
    "png": "image/png",
    "diagram-pdf": "application/pdf",
    "cases": "application/json",
    "sql": "application/sql",
}


def export(client: APIClient, board: Blueprint, **params: str) -> Any:
    return client.get(f"/api/v1/blueprints/{board.pk}/export/", params)


def publish(board: Blueprint, users: dict[str, Any], *, live: bool) -> Version:
    version = version_publish(blueprint_id=board.pk, actor=users["editor"], note="For the spec")
    if live:
        version = version_approve(blueprint_id=board.pk, number=version.number, actor=users["approver"])
    return version


@pytest.mark.parametrize("fmt", [f for f in MEDIA if f != "pdf"])
def test_every_format_downloads_with_its_media_type_and_a_file_name(
    board: Blueprint, users: dict[str, Any], fmt: str
) -> None:
    response = export(client_for(users["viewer"]), board, format=fmt, version="draft")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(MEDIA[fmt])
    assert response["Content-Disposition"].startswith('attachment; filename="retail-banking-web-draft-rev')
    assert len(response.content) > 100


def test_the_json_export_is_the_snapshot_with_the_version_block_on_top(
    board: Blueprint, users: dict[str, Any]
) -> None:
    data = export(client_for(users["viewer"]), board).json()
    assert data["format"] == "blueprint-snapshot/1"
    assert [s["key"] for s in data["stages"]] == ["awareness", "onboarding"]
    assert [o["key"] for o in data["stages"][0]["offers"]] == ["welcome", "gold_card"]
    board.refresh_from_db()
    assert data["version"]["status"] == "draft" and data["version"]["number"] is None
    assert data["version"]["rev"] == board.rev and data["version"]["hash"].startswith("sha256:")


def test_without_a_version_the_live_one_is_exported_and_the_draft_only_when_asked(
    board: Blueprint, users: dict[str, Any]
) -> None:
    live = publish(board, users, live=True)
    operation_apply(
        blueprint_id=board.pk,
        actor=users["editor"],
        op_type="offer.update",
        payload={"key": "welcome", "name": "Hello again"},
    )
    client = client_for(users["viewer"])
    default = export(client, board).json()
    assert default["version"]["number"] == live.number and default["version"]["status"] == "approved"
    assert default["version"]["hash"] == live.content_hash
    assert default["stages"][0]["offers"][0]["name"] == "Welcome bonus"
    draft = export(client, board, version="draft").json()
    assert draft["stages"][0]["offers"][0]["name"] == "Hello again"
    md = export(client, board, format="md", version=str(live.number)).content.decode()
    assert f"**Version {live.number} · Approved**" in md
    assert "DRAFT" in export(client, board, format="md", version="draft").content.decode()


def test_a_version_in_review_is_not_live(board: Blueprint, users: dict[str, Any]) -> None:
    publish(board, users, live=False)
    assert export(client_for(users["viewer"]), board).json()["version"]["status"] == "draft"


def test_bad_parameters_are_refused_naming_them(board: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["viewer"])
    assert_error(export(client, board, format="docx"), 400, "format", "json, md, html")
    assert_error(export(client, board, version="live"), 400, "version", "draft")
    assert_error(export(client, board, version="0"), 400, "version")
    assert_error(export(client, board, version="7"), 404, "version", "no version 7")
    assert_error(export(client, board, at="2025-02-30"), 400, "at")


def test_only_members_may_export(board: Blueprint, users: dict[str, Any]) -> None:
    assert_error(export(client_for(users["stranger"]), board), 404, "blueprint")
    assert export(APIClient(), board).status_code == 401


def test_without_graphviz_the_drawn_formats_answer_503_and_dot_still_works(
    board: Blueprint, users: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot on the PATH
    client = client_for(users["viewer"])
    for fmt in ("svg", "png", "diagram-pdf"):
        assert_error(export(client, board, format=fmt), 503, "format", "Install Graphviz")
    assert export(client, board, format="dot").content.decode().startswith("digraph blueprint {")
    html = export(client, board, format="html").content.decode()
    assert "Graphviz&#x27;s &#x27;dot&#x27; program is not installed" in html or "not installed" in html
    page = Client()
    page.force_login(users["viewer"])
    response = page.get(f"/blueprints/{board.pk}/diagram/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "The diagram cannot be drawn here." in text and "format=dot" in text
    assert "diagram-canvas" not in text  # no drawing (the page's icons are SVG too)


def test_the_pdf_spec_is_a_pdf(board: Blueprint, users: dict[str, Any]) -> None:
    response = export(client_for(users["viewer"]), board, format="pdf", version="draft")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


# --- Pages ---------------------------------------------------------------------------------------


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_diagram_page_shows_the_drawn_diagram_and_what_it_is_of(
    board: Blueprint, users: dict[str, Any]
) -> None:
    response = page_client(users["viewer"]).get(f"/blueprints/{board.pk}/diagram/")
    assert response.status_code == 200
    text = response.content.decode().replace("&#45;", "-")  # dot writes "-" in ids as a character reference
    assert 'id="diagram-canvas"' in text and "<svg" in text and "<?xml" not in text
    assert "Draft — not published, rev" in text
    for key in ("awareness", "onboarding", "welcome", "gold_card", "app_tour"):
        assert f'id="stage-{key}"' in text or f'id="offer-{key}"' in text
    assert "export/?format=svg&amp;version=draft" in text


def test_the_pages_refuse_a_bad_version_and_strangers(board: Blueprint, users: dict[str, Any]) -> None:
    client = page_client(users["viewer"])
    assert client.get(f"/blueprints/{board.pk}/diagram/?version=nine").status_code == 400
    missing = client.get(f"/blueprints/{board.pk}/spec/?version=9")
    assert missing.status_code == 404 and "no version 9" in missing.content.decode()
    assert page_client(users["stranger"]).get(f"/blueprints/{board.pk}/spec/").status_code == 404


def test_the_spec_page_shows_every_section(board: Blueprint, users: dict[str, Any]) -> None:
    text = page_client(users["approver"]).get(f"/blueprints/{board.pk}/spec/").content.decode()
    for heading in (
        "Purpose and context",
        "Diagram",
        "Data requirements",
        "Decision logic per stage",
        "Lint summary",
        "Acceptance test cases",
        "Version, approvals and hash",
    ):
        assert heading in text


def test_the_board_has_an_export_menu(board: Blueprint, users: dict[str, Any]) -> None:
    text = page_client(users["viewer"]).get(f"/blueprints/{board.pk}/").content.decode()
    assert 'class="export-menu"' in text and "format=dmn&amp;version=draft" in text


def test_importing_a_file_on_the_page_opens_the_new_board(board: Blueprint, users: dict[str, Any]) -> None:
    data = export(client_for(users["viewer"]), board).content
    client = page_client(users["viewer"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/blueprints/import/", {"file": SimpleUploadedFile("bp.json", data, "application/json")}
    )
    assert response.status_code == 302
    new_id = int(response["Location"].strip("/").split("/")[-1])
    assert Blueprint.objects.get(pk=new_id).memberships.get().role == "owner"


def test_a_bad_import_on_the_page_comes_back_with_the_problems_and_creates_nothing(
    board: Blueprint, users: dict[str, Any]
) -> None:
    data = export(client_for(users["viewer"]), board).json()
    data["stages"][0]["offers"][1]["groups"][0][0]["operator"] = "is_not"
    before = Blueprint.objects.count()
    response = page_client(users["viewer"]).post("/blueprints/import/", {"json": json.dumps(data)})
    assert response.status_code == 422
    text = response.content.decode()
    assert "Nothing was imported." in text
    assert "Stage &#x27;Awareness&#x27;, offer &#x27;Gold card&#x27;, first condition of group 1: " in text
    assert "stages[0]" not in text and "groups[0]" not in text
    assert Blueprint.objects.count() == before
    assert page_client(users["viewer"]).post("/blueprints/import/", {"json": "{not json"}).status_code == 422
    assert page_client(users["viewer"]).post("/blueprints/import/", {}).status_code == 422


def test_an_empty_blueprint_exports_in_every_format(blueprint: Blueprint, users: dict[str, Any]) -> None:
    client = client_for(users["owner"])
    for fmt in MEDIA:
        response = export(client, blueprint, format=fmt)
        assert response.status_code == 200, (fmt, response.content[:300])
    assert export(client, blueprint, format="cases").json()["cases"] == []
