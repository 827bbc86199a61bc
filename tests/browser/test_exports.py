"""The exports in a real browser: the Export menu on the board, the Blueprint page's zoomable
diagram and its A3 print, and a JSON export imported again through the import page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scale_of(page: Any) -> float:
    transform = page.locator("#diagram-canvas").evaluate("el => getComputedStyle(el).transform")
    if transform in ("none", ""):
        return 1.0
    return float(transform.removeprefix("matrix(").split(",")[0])


def test_the_diagram_zooms_and_prints_on_a3_landscape(
    board: Any, log_in: Any, asgi_server: Any, console_errors: list[str], tmp_path: Path
) -> None:
    page = log_in("viewer")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Blueprint", exact=True).click()
    expect(page.locator(".diagram-page")).to_have_attribute("data-ready", "true")
    for key in ("awareness", "onboarding"):
        expect(page.locator(f"#stage-{key}")).to_be_visible()
    for key in ("welcome", "gold_card", "app_tour"):
        expect(page.locator(f"#offer-{key}")).to_be_attached()
    fitted = scale_of(page)
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(
        f"() => !getComputedStyle(document.getElementById('diagram-canvas')).transform.startsWith('matrix({fitted},')"
    )
    assert scale_of(page) > fitted
    page.get_by_role("button", name="Fit").click()
    page.wait_for_timeout(100)
    assert abs(scale_of(page) - fitted) < 1e-6
    assert console_errors == []  # the CSP allowed everything the page needed

    pdf = tmp_path / "diagram.pdf"
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(str(pdf))
    try:
        width, height = document[0].get_size()
        assert (round(width), round(height)) == (1191, 842)  # A3 landscape, in points
        assert len(document) == 1  # the whole diagram on one sheet
    finally:
        document.close()


def test_an_export_downloaded_from_the_board_imports_as_a_new_blueprint(
    board: Any, log_in: Any, asgi_server: Any, console_errors: list[str], tmp_path: Path
) -> None:
    page = log_in("editor")
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator(".export-menu > summary").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="JSON (import it elsewhere)").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["version"]["status"] == "draft" and [s["key"] for s in data["stages"]] == [
        "awareness",
        "onboarding",
    ]

    broken = tmp_path / "broken.json"
    data["stages"][1]["offers"][0]["groups"][0][0]["operator"] = "is_not"
    broken.write_text(json.dumps(data))
    page.goto(f"{asgi_server.url}/blueprints/import/")
    page.set_input_files("#import-file", str(broken))
    page.get_by_role("button", name="Import as a new blueprint").click()
    expect(page.locator("#import-errors")).to_contain_text(
        "Stage 'Onboarding', offer 'App tour', first condition of group 1: "
    )

    page.set_input_files("#import-file", str(saved))
    page.get_by_role("button", name="Import as a new blueprint").click()
    page.wait_for_url(lambda url: "/import/" not in url)
    expect(page.locator("#stage-awareness")).to_be_visible()
    expect(page.locator("#offer-gold_card")).to_be_visible()
    # the refused import was answered 422 on purpose; nothing else went wrong (no CSP violation)
    assert [e for e in console_errors if "status of 422" not in e] == []


LINK_NAME = '<a> URL="javascript:alert(document.domain)" target=<_top>'
MARKUP_NAME = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_names_that_look_like_code_run_nothing_on_the_page_or_in_the_downloaded_spec(
    board: Any, log_in: Any, asgi_server: Any, console_errors: list[str], tmp_path: Path
) -> None:
    from blueprint.models import Blueprint
    from blueprint.services import operation_apply

    Blueprint.objects.filter(pk=board.pk).update(name=MARKUP_NAME)
    for key, name in (("welcome", LINK_NAME), ("gold_card", MARKUP_NAME)):
        operation_apply(
            blueprint_id=board.pk, actor=None, op_type="offer.update", payload={"key": key, "name": name}
        )
    dialogs: list[str] = []
    page = log_in("viewer")
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/diagram/")
    expect(page.locator(".diagram-page")).to_have_attribute("data-ready", "true")
    svg = page.locator("#diagram-canvas svg")
    assert svg.locator("a[href], a[*|href], script, foreignObject, image").count() == 0
    page.locator("#offer-welcome").click()
    assert page.url.startswith(asgi_server.url) and dialogs == []

    page.goto(f"{asgi_server.url}/blueprints/{board.pk}/")
    page.locator(".export-menu > summary").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="HTML document").click()
    saved = tmp_path / "spec.html"
    download.value.save_as(saved)
    page.goto(saved.as_uri())  # opened from disk: no server, no server's policy
    expect(page.locator("#spec h1")).to_have_text(MARKUP_NAME)
    assert page.locator("#spec svg").count() == 1
    assert page.locator("script, #spec svg a[href], #spec svg a[*|href]").count() == 0
    page.locator("#spec svg g.offer").first.click()
    page.wait_for_timeout(200)
    assert dialogs == [] and page.url == saved.as_uri()
    # its own policy lets its style sheet in: the tables are laid out by it
    assert (
        page.locator(".spec-table").first.evaluate("el => getComputedStyle(el).borderCollapse") == "collapse"
    )
