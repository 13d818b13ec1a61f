"""The dependency order of the packages, and DVC stage deps that cover the code a stage imports.

Order (README, "Layout"): ``app``, ``pipelines`` -> ``models`` -> ``features`` -> ``bundle``;
``simulator`` may import ``bundle`` and ``features``. Imports are read with ``ast`` (every
``import`` and ``from ... import``, also inside functions), so a lazy import counts too.
"""

from __future__ import annotations

import ast
import shlex
from functools import cache
from pathlib import Path

import pytest
import yaml

from emgdx import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bundle", "features", "models", "pipelines", "app", "simulator")

#: package -> packages it must never import
FORBIDDEN: dict[str, set[str]] = {
    "bundle": {"features", "models", "pipelines", "app", "simulator"},
    "features": {"models", "pipelines", "app"},
    "models": {"pipelines", "app"},
    "simulator": {"models", "pipelines", "app"},
}


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    for cand in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
        if cand.is_file():
            return cand
    return None


@cache
def _imports(path: Path) -> frozenset[str]:
    """First-party modules imported anywhere in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return frozenset(m for m in out if m.split(".")[0] in PACKAGES)


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


def _reachable(start: Path) -> set[Path]:
    """Files of the project reachable from ``start`` through imports."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for m in _imports(f):
            target = _module_file(m)
            if target is not None:
                todo.append(target)
            parts = m.split(".")
            for i in range(1, len(parts)):  # parent packages' __init__ run too
                init = _module_file(".".join(parts[:i]))
                if init is not None:
                    todo.append(init)
    return seen


def test_every_stage_depends_on_the_library_code_it_imports() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    libraries = ("bundle", "features", "models", "simulator")
    for name, stage in stages.items():
        module, _ = cli.COMMANDS[shlex.split(stage["cmd"])[1]]
        used = _reachable(_module_file(module))
        deps = [str(d).rstrip("/") for d in stage.get("deps", [])]
        missing = sorted(
            str(f.relative_to(ROOT))
            for f in used
            if f.relative_to(ROOT).parts[0] in libraries
            and not any(
                str(f.relative_to(ROOT)).startswith(d + "/") or str(f.relative_to(ROOT)) == d
                for d in deps
            )
        )
        assert not missing, f"stage {name} imports code its deps do not list: {missing[:8]}"


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
