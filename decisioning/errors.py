"""Errors the services raise. Every transport turns them into the same answer: a status and the
problems keyed by field, each saying what would be accepted."""

from __future__ import annotations


class BlueprintError(Exception):
    status = 400

    def __init__(
        self,
        problems: dict[str, list[str]] | str,
        *,
        field: str = "non_field_errors",
        alternatives: dict[str, list[dict[str, object]]] | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = {field: [problems]}
        self.problems = problems
        # a refused negative condition's exact positive forms, by the condition's path
        self.alternatives = alternatives or {}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return " ".join(
            msg if path == "non_field_errors" else f"{path}: {msg}"
            for path, msgs in self.problems.items()
            for msg in msgs
        )

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {"detail": self.message, "errors": self.problems}
        if self.alternatives:
            found["alternatives"] = self.alternatives
        return found


class InvalidInput(BlueprintError):
    status = 400


class LimitExceeded(InvalidInput):
    """More than a limit of ``decisioning.limits`` allows; the message names the limit."""


class Forbidden(BlueprintError):
    status = 403


class NotFound(BlueprintError):
    status = 404


class Conflict(BlueprintError):
    status = 409
