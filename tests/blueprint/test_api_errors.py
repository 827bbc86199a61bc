"""Under /api/, every error is the API's JSON shape (``{"detail", "errors"}``), with DEBUG off as in
production: an exception in a view, a middleware or URL resolution is a JSON 500, and the 400, 403
and 404 that Django answers itself (a Host not allowed, a body it cannot read, a path nothing
matches) are JSON too. Pages keep Django's HTML answers.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from blueprint.api.errors import SERVER_ERROR

pytestmark = pytest.mark.django_db


def reads_the_form(request: HttpRequest) -> HttpResponse:
    request.POST.get("anything")  # what any view reading a form does: Django parses the body
    return HttpResponse("read")


def refuses(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


# A test-only URLconf: the real one, and two API paths that meet Django's own body parsing and
# PermissionDenied; its error handlers are the real ones (blueprint/urls.py).
urlpatterns = [
    path("api/v1/test/form/", reads_the_form),
    path("api/v1/test/refuses/", refuses),
    path("", include("blueprint.urls")),
]
handler400 = "blueprint.api.errors.bad_request"
handler403 = "blueprint.api.errors.permission_denied"
handler404 = "blueprint.api.errors.page_not_found"
handler500 = "blueprint.api.errors.server_error"


def client_for(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_json_error(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json", response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert list(body["errors"]) == ([field] if field else []), body
    return body


@override_settings(DEBUG=False)
def test_an_exception_in_an_api_view_is_a_json_500(users, blueprint):
    with mock.patch("decisioning.api.board_lint", side_effect=RuntimeError("a bug")):
        response = client_for(users["viewer"]).get(f"/api/v1/blueprints/{blueprint.pk}/lint/")
    assert assert_json_error(response, 500, None)["detail"] == SERVER_ERROR
    assert b"a bug" not in response.content


@override_settings(DEBUG=False)
def test_an_exception_in_a_middleware_is_a_json_500_under_the_api_and_a_page_elsewhere(users):
    client = client_for(users["viewer"])
    with mock.patch("django_htmx.middleware.HtmxMiddleware.__call__", side_effect=RuntimeError("a bug")):
        assert_json_error(client.get("/api/v1/blueprints/"), 500, None)
        page = client.get("/blueprints/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


@override_settings(DEBUG=False)
def test_an_exception_while_resolving_the_path_is_a_json_500(users, blueprint):
    with mock.patch(
        "blueprint.api.converters.BlueprintIdConverter.to_python", side_effect=RuntimeError("a bug")
    ):
        response = client_for(users["viewer"]).get(f"/api/v1/blueprints/{blueprint.pk}/")
    assert_json_error(response, 500, None)


@override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"])
def test_a_host_not_allowed_is_a_json_400_naming_it(users):
    response = client_for(users["viewer"]).get("/api/v1/blueprints/", HTTP_HOST="evil.example")
    assert_json_error(response, 400, "Host")
    page = client_for(users["viewer"]).get("/blueprints/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@override_settings(DEBUG=False)
def test_a_path_outside_the_api_version_is_a_json_404(users):
    assert_json_error(client_for(users["viewer"]).get("/api/v2/blueprints/"), 404, "path")


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--xx\r\nbad", "multipart/form-data"),  # no boundary
        (b"--xx\r\n", "multipart/form-data; boundary=" + "x" * 300),  # a boundary too long
        (  # a part's base64 that does not decode
            b'--xx\r\nContent-Disposition: form-data; name="f"; filename="a.csv"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nQQ\r\n--xx--\r\n",
            "multipart/form-data; boundary=xx",
        ),
        (b"--xx\r\n" + b"X-A: b\r\n" * 2000, "multipart/form-data; boundary=xx"),  # endless part headers
    ],
)
def test_a_multipart_body_django_cannot_read_is_a_json_400_naming_the_body(users, body, content_type):
    response = client_for(users["viewer"]).generic(
        "POST", "/api/v1/test/form/", body, content_type=content_type
    )
    assert "multipart body cannot be read" in assert_json_error(response, 400, "body")["detail"]


@override_settings(DEBUG=False, ROOT_URLCONF=__name__, DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_form_body_over_the_limit_is_a_json_413_naming_the_body(users):
    response = client_for(users["viewer"]).generic(
        "POST", "/api/v1/test/form/", b"a=" + b"x" * 200, content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 413, "body")


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_permission_denied_outside_drf_is_a_json_403(users):
    assert_json_error(client_for(users["viewer"]).get("/api/v1/test/refuses/"), 403, None)
