"""The canonical snapshot: the content of a blueprint as versions store it and exports give it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from blueprint.demo import DEMO_NAME
from blueprint.models import Blueprint, Offer
from blueprint.selectors import board_load, board_snapshot
from blueprint.services import operation_apply
from blueprint.snapshots import SNAPSHOT_FORMAT, snapshot_canonical, snapshot_hash
from decisioning.model import spec_from_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any) -> Blueprint:
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    return Blueprint.objects.get(name=DEMO_NAME)


def test_the_snapshot_holds_the_catalog_stages_and_offers_in_board_order(demo: Blueprint) -> None:
    board = board_load(demo)
    snapshot = board_snapshot(board)
    assert snapshot["format"] == SNAPSHOT_FORMAT
    assert snapshot["blueprint"]["name"] == demo.name
    assert [a["key"] for a in snapshot["attributes"]] == [a.key for a in board.attributes]
    assert [s["key"] for s in snapshot["stages"]] == [c.stage.key for c in board.stages]
    for stage, column in zip(snapshot["stages"], board.stages, strict=True):
        assert [o["key"] for o in stage["offers"]] == [card.offer.key for card in column.offers]
        assert all("rank" not in o and "stage" not in o for o in stage["offers"])


def test_the_decision_engine_reads_a_snapshot_as_it_is(demo: Blueprint) -> None:
    spec = spec_from_json(board_snapshot(board_load(demo)))
    assert len(spec.stages) == 6
    assert sum(len(s.offers) for s in spec.stages) == Offer.objects.filter(blueprint=demo).count()


def test_equal_content_gives_an_equal_hash_and_any_change_another(demo: Blueprint) -> None:
    first = board_snapshot(board_load(demo))
    again = board_snapshot(board_load(demo))
    assert snapshot_canonical(first) == snapshot_canonical(again)
    assert snapshot_hash(first) == snapshot_hash(again)
    assert snapshot_hash(first).startswith("sha256:") and len(snapshot_hash(first)) == 7 + 64
    owner = demo.created_by
    stage = first["stages"][0]
    offers = [o["key"] for o in stage["offers"]]
    operation_apply(
        blueprint_id=demo.pk,
        actor=owner,
        op_type="offer.move",
        payload={"key": offers[1], "stage": stage["key"], "before": offers[0]},
    )
    moved = board_snapshot(board_load(demo))
    assert snapshot_hash(moved) != snapshot_hash(first), "the priority order is content"
    operation_apply(
        blueprint_id=demo.pk,
        actor=owner,
        op_type="offer.move",
        payload={"key": offers[0], "stage": stage["key"], "before": offers[1]},
    )
    back = board_snapshot(board_load(demo))
    assert snapshot_hash(back) == snapshot_hash(first), "ranks are not content; the order is"
