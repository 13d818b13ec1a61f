"""The dependency order of the packages (README, "Layout").

Order: ``emgdx`` (the dispatcher) above ``app`` and ``pipelines``, side by side, -> ``models``
-> ``features`` -> ``bundle``; ``simulator`` may import ``bundle`` and ``features``. Imports are read with ``ast`` (every
``import`` and ``from ... import``, also inside functions), so a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from emgdx import cli
from tests.helpers.imports import PACKAGES, ROOT
from tests.helpers.imports import imports as _imports
from tests.helpers.imports import module_file as _module_file

#: package -> packages it must never import (``emgdx`` is the dispatcher above everything)
FORBIDDEN: dict[str, set[str]] = {
    "bundle": {"features", "models", "pipelines", "app", "simulator", "emgdx"},
    "features": {"models", "pipelines", "app", "emgdx"},
    "models": {"pipelines", "app", "emgdx"},
    "simulator": {"models", "pipelines", "app", "emgdx"},
    "pipelines": {"app", "emgdx"},
    "app": {"pipelines", "emgdx"},
}


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_dependency_order(package: str) -> None:
    bad = [
        f"{f.relative_to(ROOT)} imports {m}"
        for f in _files(package)
        for m in _imports(f)
        if m.split(".")[0] in FORBIDDEN[package]
    ]
    assert not bad, "\n".join(bad)


def test_features_holds_no_bundle_reading_or_validation() -> None:
    assert not (ROOT / "features" / "contract.py").exists()
    assert not (ROOT / "features" / "bundle_io.py").exists()


def test_the_dispatcher_sits_above_both_applications() -> None:
    """``emgdx`` runs one ``main`` of ``pipelines`` or ``app`` per command; none imports it."""
    assert not (ROOT / "pipelines" / "cli.py").exists()
    homes = {module.split(".")[0] for module, _ in cli.COMMANDS.values()}
    assert homes == {"pipelines", "app"}
    for module, _ in cli.COMMANDS.values():
        assert _module_file(module) is not None, module


def test_test_helpers_live_in_tests_and_no_product_code_imports_them() -> None:
    """Tiny models and projects are test helpers (``tests/helpers``), not product modules."""
    assert not (ROOT / "models" / "testing.py").exists()
    assert not (ROOT / "pipelines" / "testing.py").exists()
    bad = []
    for package in PACKAGES:
        for f in _files(package):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                bad += [
                    f"{f.relative_to(ROOT)} imports {n}"
                    for n in names
                    if n.split(".")[0] == "tests"
                ]
    assert not bad, "\n".join(bad)
