"""Board content changes only through the operation service (docs/architecture.md, "The edit path")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from blueprint.models import Offer, Stage

ROOT = Path(__file__).resolve().parents[2]
BOARD_MODELS = ("Attribute", "Stage", "Offer", "Operation")
# the operation service, its handlers (one module per entity), and rank placement, which respaces
# a list's items inside an operation
ALLOWED = {
    ROOT / "blueprint" / "services" / name
    for name in ("operations.py", "blueprint_ops.py", "catalog_ops.py", "stage_ops.py", "offer_ops.py")
} | {ROOT / "blueprint" / "ranks.py"}
WRITES = re.compile(
    r"\b(?:{models})\.objects\.(?:create|bulk_create|update_or_create|get_or_create|bulk_update)\b"
    r"|\b(?:stage|offer|attribute|operation|record|sibling)\.(?:save|delete)\(".format(
        models="|".join(BOARD_MODELS)
    )
)


def test_nothing_but_the_operation_service_writes_board_objects() -> None:
    offenders = []
    for path in sorted((ROOT / "blueprint").rglob("*.py")) + sorted((ROOT / "decisioning").rglob("*.py")):
        if path in ALLOWED or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if WRITES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_guard_recognises_a_write() -> None:
    assert WRITES.search("Offer.objects.create(stage=s)")
    assert WRITES.search("    offer.save(update_fields=['rank'])")
    assert not WRITES.search("Offer.objects.filter(stage=s)")


def test_saving_a_board_object_outside_an_operation_is_refused(board: Any) -> None:
    offer = Offer.objects.get(key="welcome")
    offer.name = "Sneaky"
    with pytest.raises(RuntimeError, match="outside operation_apply"):
        offer.save()
    with pytest.raises(RuntimeError):
        Stage.objects.create(blueprint=board, key="side_door", name="Side door", rank="z0")
    assert Offer.objects.get(key="welcome").name == "Welcome bonus"
