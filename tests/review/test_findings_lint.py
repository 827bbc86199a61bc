"""Review findings on the lint (decisioning/regions.py, decisioning/lint.py) and its API.

Each test fails on the current code; see the review report for the suggested fixes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from blueprint.conditions import AttributeSpec, parse_groups
from blueprint.models import Blueprint
from blueprint.services import operation_apply
from decisioning.lint import lint_blueprint
from decisioning.model import BlueprintSpec, OfferSpec, StageSpec
from tests.decisioning.oracle import is_valid_profile

AT = dt.date(2025, 6, 15)

# A text attribute with a closed list of allowed values: the catalog form asks for "Allowed values"
# ("Required for a choice; none for number, boolean or date"), the condition editor then offers a
# select, and the validator refuses any other value (conditions._normalize_scalar).
CHANNEL = AttributeSpec(key="channel", label="Channel", type="text", choices=("web", "app", "email"))
CATALOG = {"channel": CHANNEL}


def only(raw: list[list[dict[str, Any]]]) -> Any:
    return parse_groups(raw, CATALOG)


def test_a_gap_example_on_a_text_attribute_with_allowed_values_is_one_of_them() -> None:
    """regions.Space._text treats every text attribute as open ("any other text"), even when the
    catalog lists its allowed values, so the example customer of the gap has channel "other" — a
    value the catalog does not allow, which the decide endpoint is to refuse (the lint's own test
    oracle, tests/decisioning/oracle.py ``is_valid_profile``, says so), and the board's "Copy as
    JSON" hands to the simulator. "app" or "email" is the customer the finding means."""
    web = only([[{"attribute": "channel", "operator": "is", "value": "web"}]])
    spec = BlueprintSpec(
        catalog=CATALOG,
        stages=(
            StageSpec(
                key="s",
                name="Stage",
                offers=(OfferSpec(key="web_offer", name="Web offer", groups=web),),
            ),
        ),
    )
    (gap,) = [f for f in lint_blueprint(spec, at=AT).findings if f.code == "gap"]
    assert gap.example is not None
    assert is_valid_profile(gap.example, CATALOG), gap.example
    assert gap.example.get("channel") in (None, "app", "email")


@pytest.mark.django_db
def test_the_lint_api_gives_a_gap_example_the_catalog_allows(
    blueprint: Blueprint, users: dict[str, Any]
) -> None:
    """The same through the one edit path and ``GET …/lint/``: the service accepts a text attribute
    with allowed values, and the example the API returns is outside them."""
    ops: list[tuple[str, dict[str, Any]]] = [
        (
            "attribute.create",
            {"key": "channel", "label": "Channel", "type": "text", "choices": ["web", "app", "email"]},
        ),
        ("stage.create", {"key": "s", "name": "Stage"}),
        (
            "offer.create",
            {
                "stage": "s",
                "key": "web_offer",
                "name": "Web offer",
                "groups": [[{"attribute": "channel", "operator": "is", "value": "web"}]],
            },
        ),
    ]
    for op_type, payload in ops:
        operation_apply(blueprint_id=blueprint.pk, actor=users["editor"], op_type=op_type, payload=payload)
    client = APIClient()
    client.force_login(users["viewer"])
    body = client.get(f"/api/v1/blueprints/{blueprint.pk}/lint/?at=2025-06-15").json()
    (gap,) = [f for f in body["warnings"] if f["code"] == "gap"]
    assert gap["example"].get("channel") in (None, "app", "email"), gap["example"]
