"""The pipeline's declared inputs and outputs are the true ones, and ``dvc.lock`` is current.

Two promises of ``make run`` rest on this file:

* a stage re-runs whenever code it runs changes: each ``dvc.yaml`` stage's ``deps`` cover
  every project module its own module imports, transitively (read with ``ast``, lazy imports
  inside functions included);
* a fresh ``dvc repro`` on a clean clone leaves ``git status`` clean: the committed
  ``dvc.lock`` records the hashes of the code and the committed reports as they are in the
  working tree (``dvc status`` on a clone without data then reports only missing data, never
  a changed dep, command or param), every report a stage writes is declared and committed,
  and every cached output is git-ignored. This replaces re-running the pipeline in CI (10+
  minutes) with a ~5 s check that fails on the same cause: a commit that changed code or
  reports without re-running ``dvc repro``.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emgdx import cli
from tests.helpers.imports import ROOT
from tests.helpers.imports import imports as _imports
from tests.helpers.imports import module_file as _module_file


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def reachable(start: Path) -> set[Path]:
    """Project files that importing ``start`` runs (its imports and their packages' inits)."""
    seen: set[Path] = set()
    todo = [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for m in _imports(f):
            parts = m.split(".")
            for i in range(1, len(parts) + 1):
                target = _module_file(".".join(parts[:i]))
                if target is not None:
                    todo.append(target)
    return seen


def _stage_module(stage: dict) -> Path:
    module, _ = cli.COMMANDS[shlex.split(stage["cmd"])[1]]
    path = _module_file(module)
    assert path is not None, module
    return path


def _covered(rel: str, deps: list[str]) -> bool:
    return any(rel == d or rel.startswith(d + "/") for d in deps)


def test_reachable_follows_lazy_imports_and_parent_packages():
    used = {str(f.relative_to(ROOT)) for f in reachable(ROOT / "pipelines" / "evaluate.py")}
    assert "models/scoring.py" in used
    assert "features/augment.py" in used  # imported inside a function of models/robustness.py
    assert "models/__init__.py" in used


def test_every_stage_depends_on_the_project_code_it_imports(stages):
    problems = []
    for name, stage in stages.items():
        deps = [str(d).rstrip("/") for d in stage.get("deps", [])]
        for f in sorted(reachable(_stage_module(stage))):
            rel = str(f.relative_to(ROOT))
            # an empty package __init__ runs nothing; once it holds code, it must be a dep
            if f.stat().st_size and not _covered(rel, deps):
                problems.append(f"{name}: {rel}")
    assert not problems, "stage deps miss code the stage imports:\n" + "\n".join(problems)


def test_every_code_dep_is_imported_or_read_by_its_stage(stages):
    """No stale code deps: a listed project module the stage never imports re-runs it for nothing."""
    problems = []
    for name, stage in stages.items():
        used = {str(f.relative_to(ROOT)) for f in reachable(_stage_module(stage))}
        for dep in map(str, stage.get("deps", [])):
            if dep.endswith(".py") and dep not in used:
                problems.append(f"{name}: {dep}")
    assert not problems, "deps the stage does not import:\n" + "\n".join(problems)


def _path_of(entry: object) -> str:
    return next(iter(entry)) if isinstance(entry, dict) else str(entry)


def _declared(stages: dict, kind: str) -> dict[str, dict]:
    out = {}
    for stage in stages.values():
        for entry in stage.get(kind, []):
            out[_path_of(entry)] = entry[_path_of(entry)] if isinstance(entry, dict) else {}
    return out


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


needs_git = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)


@needs_git
def test_reports_are_declared_committed_and_data_is_ignored(stages):
    written = {
        **_declared(stages, "outs"),
        **_declared(stages, "metrics"),
        **_declared(stages, "plots"),
    }
    tracked = set(_git("ls-files", "reports").stdout.split())
    not_declared = sorted(f for f in tracked if f not in written)
    assert not not_declared, f"committed reports no stage declares: {not_declared}"
    for path, opts in written.items():
        if opts.get("cache") is False:
            assert path in tracked, f"{path}: an uncached output must be committed"
        else:
            assert _git("check-ignore", "-q", path).returncode == 0, f"{path}: not git-ignored"
    for path in ("mlflow.db", "mlruns", "reports/register.json"):
        assert _git("check-ignore", "-q", path).returncode == 0, f"{path}: not git-ignored"


@needs_git
def test_dvc_lock_matches_the_code_and_the_committed_reports(stages):
    """``dvc status``: only data missing from this checkout may differ from ``dvc.lock``."""
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    status = json.loads(out.stdout or "{}")
    data_outs = {p for p, o in _declared(stages, "outs").items() if o.get("cache") is not False}
    problems = []
    for name, changes in status.items():
        for change in changes:
            if isinstance(change, str):  # "changed command", "always changed"
                problems.append(f"{name}: {change}")
                continue
            for kind, entries in change.items():
                for path, state in entries.items():
                    if isinstance(state, dict):  # params.yaml: {section: "modified"}
                        problems.append(f"{name}: {kind} {path} {state}")
                    elif not (
                        _covered(path, sorted(data_outs)) and state in ("deleted", "not in cache")
                    ):
                        problems.append(f"{name}: {kind} {path} {state}")
    assert not problems, (
        "dvc.lock is not the lock of this code (run `dvc repro` and commit dvc.lock and "
        "reports/):\n" + "\n".join(problems)
    )
