"""No input to any HTML page or HTMX endpoint causes a 500, whatever the role.

Every URL pattern of the pages and the board is called with GET and POST, with form fields
drawn from the names the forms really read plus junk, and with path parameters that name real
and unknown objects.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint.models import Blueprint

FIELD_NAMES = [
    "name",
    "description",
    "context",
    "channels",
    "channel",
    "fallback",
    "key",
    "label",
    "kind",
    "type",
    "choices",
    "unit",
    "source",
    "username",
    "role",
    "stage",
    "before",
    "after",
    "cond",
    "group",
    "rid",
    "c-r1-group",
    "c-r1-attribute",
    "c-r1-operator",
    "c-r1-value",
    "c-r1-low",
    "c-r1-high",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "r1",
            "on",
            "awareness",
            "onboarding",
            "welcome",
            "gold_card",
            "segment",
            "age",
            "is",
            "is_not",
            "between",
            "within_last_days",
            "Gold",
            "number",
            "choice",
            "owner",
            "viewer",
            "stranger",
            "-1",
            "1e400",
            "2024-02-30",
            "a\nb",
            "\x00",
        ]
    ),
    st.text(max_size=30),
)
FORMS = st.lists(st.tuples(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), VALUES), max_size=12)


def _patterns() -> list[str]:
    routes: list[str] = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                routes.append(prefix + str(entry.pattern))

    walk(get_resolver(), "")
    return sorted(r for r in routes if r.startswith("blueprints/"))


PATTERNS = _patterns()


def _fill(route: str, blueprint_id: int, key: str, username: str) -> str:
    route = route.replace("<int:blueprint_id>", str(blueprint_id))
    route = re.sub(r"<(?:slug|str):(?:key|stage_key)>", key, route)
    route = re.sub(r"<(?:slug|str):username>", username, route)
    return "/" + re.sub(r"<[^>]+>", "x", route)


def test_every_page_pattern_is_covered() -> None:
    assert len(PATTERNS) > 25
    assert all("<" not in _fill(p, 1, "k", "u") for p in PATTERNS)


@pytest.mark.parametrize("role", ["owner", "viewer"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(PATTERNS),
    key=st.sampled_from(["awareness", "onboarding", "welcome", "gold_card", "segment", "city", "nothing"]),
    username=st.sampled_from(["owner", "editor", "stranger", "nobody"]),
    form=FORMS,
    htmx=st.booleans(),
    method=st.sampled_from(["get", "post"]),
)
def test_no_page_input_causes_a_server_error(
    board: Blueprint,
    users: dict[str, Any],
    role: str,
    route: str,
    key: str,
    username: str,
    form: list[tuple[str, str]],
    htmx: bool,
    method: str,
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(users[role])
    url = _fill(route, board.pk, key, username)
    data: dict[str, list[str]] = {}
    for name, value in form:
        data.setdefault(name, []).append(value.replace("\x00", "") if method == "get" else value)
    headers = {"HX-Request": "true"} if htmx else {}
    response = getattr(client, method)(url, data, headers=headers)
    assert response.status_code < 500, (method, url, data, response.content[:500])
