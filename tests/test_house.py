"""The house's rules that the import contracts (pyproject.toml, ``lint-imports``) cannot say, read
from the source: no module reaches into another's private names, services render no templates,
every module of decisioning/ is either in the rules core or one of its Django-side modules, and
nothing points outside the repository. ``make lint`` runs this file beside ``lint-imports``;
docs/architecture.md ("Contracts") says why each rule is there.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("blueprint", "decisioning")

# decisioning's modules that may use Django: its app, its transports, and the reads of the database
DECISIONING_DJANGO_SIDE = {"__init__", "api", "api_shapes", "api_urls", "apps", "selectors", "urls", "views"}

# What may not be named in product code, docs or front end: a spec outside the repository.
OUTSIDE = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared")


def test_the_import_contracts_hold() -> None:
    # the contracts of pyproject.toml, so the suite (and CI) holds them too, not only make lint
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "import-linter is a dev dependency (pyproject.toml)"
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def product_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(source: str, own: str) -> list[str]:
    """Where ``source`` (the module ``own``) uses another project module's private name: imports
    ``from module import _name``, and ``alias._name`` on a project module it imported."""
    tree = ast.parse(source)
    found: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                if is_module(whole):
                    aliases[alias.asname or alias.name] = whole
                elif private(alias.name) and node.module != own:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and aliases[node.value.id] != own
            and private(node.attr)
        ):
            found.append(f"line {node.lineno}: {aliases[node.value.id]}.{node.attr}")
    return found


@pytest.mark.parametrize("path", list(product_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_reaches_into_another_modules_private_names(path: Path) -> None:
    assert private_reaches(path.read_text(), module_name(path)) == []


def test_the_private_name_check_finds_both_kinds_of_reach() -> None:
    source = (
        "from decisioning.engine import _today\n"
        "from blueprint.live import render\n"
        "render._lint_fragments(None)\n"
        "from decisioning.engine import compiled_for\n"
    )
    assert private_reaches(source, "blueprint.somewhere") == [
        "line 1: from decisioning.engine import _today",
        "line 3: blueprint.live.render._lint_fragments",
    ]
    assert private_reaches("from decisioning.engine import _today\n", "decisioning.engine") == []


TEMPLATE_USE = re.compile(r"django\.template|django\.shortcuts|render_to_string|\btemplates/")


@pytest.mark.parametrize("path", sorted((ROOT / "blueprint" / "services").glob("*.py")), ids=lambda p: p.name)
def test_services_render_no_templates(path: Path) -> None:
    # what an operation does is told by its frame, drawn by the live board (blueprint.live.render);
    # e-mails are written by their own transport (blueprint/mail.py)
    lines = [
        f"line {n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if TEMPLATE_USE.search(line)
    ]
    assert lines == []


def test_every_decisioning_module_is_in_the_core_or_on_its_django_side() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    core = {
        name.removeprefix("decisioning.")
        for name in next(c for c in contracts if c["id"] == "core")["source_modules"]
    }
    modules = {path.stem for path in (ROOT / "decisioning").glob("*.py")}
    assert core.isdisjoint(DECISIONING_DJANGO_SIDE)
    assert modules - core - DECISIONING_DJANGO_SIDE == set(), "a new module: add it to the core contract"
    assert core - modules == set(), "the core contract names a module that is gone"


def front_and_product_files() -> Iterator[Path]:
    yield from product_files()
    for folder, pattern in (
        ("static", "*.js"),
        ("static", "*.css"),
        ("templates", "*.html"),
        ("bench", "*.py"),
        ("docs", "*.md"),
    ):
        yield from sorted(p for p in (ROOT / folder).rglob(pattern) if "vendor" not in p.parts)
    yield ROOT / "Makefile"
    yield ROOT / "pyproject.toml"


def test_nothing_points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in front_and_product_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []
