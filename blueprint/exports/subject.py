"""What an export is of: a snapshot, the block saying which version it is, and the decision day.

The version block is what the JSON export carries at its top level under ``"version"``::

    {"number": 3, "status": "approved", "hash": "sha256:…", "rev": 41, "note": "…",
     "author": "editor", "created_at": "2025-06-30T09:12:00+00:00", "decided_at": …, "approvals": []}
    {"number": null, "status": "draft", "hash": "sha256:…", "rev": 57}          # the board as it is

Every export says what it is from this block (``version_label``): a version's number and status,
or "Draft — not published, rev N". Pure: no database (``exports.selectors`` loads the pair).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from decisioning.lint import CODE_LABELS, LintReport, lint_blueprint
from decisioning.model import BlueprintSpec, spec_from_json

STATUS_LABELS = {
    "draft": "Draft",
    "in_review": "In review",
    "approved": "Approved",
    "rejected": "Rejected",
    "superseded": "Superseded",
}

# The lint codes' names as the diagram's markers and the spec's summary show them: shorter.
FINDING_LABELS = {**CODE_LABELS, "duplicate-offer": "Duplicate"}


def version_label(version: Mapping[str, Any]) -> str:
    """ "Version 3 · Approved", or "Draft — not published, rev 57"."""
    if version.get("status") == "draft" or version.get("number") is None:
        return f"Draft — not published, rev {version.get('rev', 0)}"
    status = STATUS_LABELS.get(str(version.get("status")), str(version.get("status")))
    return f"Version {version['number']} · {status}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "blueprint"


@dataclass(frozen=True)
class ExportSubject:
    """One blueprint content to export: ``snapshot`` (canonical), ``version`` (the block above) and
    ``at``, the decision day that places ``within_last_days`` on the calendar for lint and cases."""

    snapshot: Mapping[str, Any]
    version: Mapping[str, Any]
    at: dt.date
    # a name for downloads, e.g. "retail-banking-web-v3"; derived from the blueprint when empty
    name: str = field(default="")

    @property
    def is_draft(self) -> bool:
        return self.version.get("status") == "draft" or self.version.get("number") is None

    @property
    def label(self) -> str:
        return version_label(self.version)

    @property
    def blueprint(self) -> Mapping[str, Any]:
        return self.snapshot.get("blueprint") or {}

    @property
    def title(self) -> str:
        return str(self.blueprint.get("name") or "Blueprint")

    @property
    def version_param(self) -> int | str:
        """What the decide API's ``version`` field takes for this content: a number or "draft"."""
        return "draft" if self.is_draft else int(self.version["number"])

    @property
    def filename_stem(self) -> str:
        base = self.name or _slug(self.title)
        if self.is_draft:
            return f"{base}-draft-rev{self.version.get('rev', 0)}"
        return f"{base}-v{self.version['number']}"

    @cached_property
    def spec(self) -> BlueprintSpec:
        return spec_from_json(self.snapshot)

    @cached_property
    def lint(self) -> LintReport:
        return lint_blueprint(self.spec, at=self.at)

    def json_export(self) -> dict[str, Any]:
        """The JSON export: the canonical snapshot with the version block on top."""
        return {**self.snapshot, "version": dict(self.version)}
