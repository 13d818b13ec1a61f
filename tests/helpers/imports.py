"""Project imports read with ``ast`` (every ``import`` and ``from ... import``, lazy ones too).

Shared by the layering test (``tests/test_layers.py``) and the pipeline-integrity test
(``tests/test_pipeline_integrity.py``).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the project's first-party packages
PACKAGES = ("bundle", "features", "models", "pipelines", "app", "simulator", "emgdx")


def module_file(module: str) -> Path | None:
    """The file of a dotted project module (``x.py`` or ``x/__init__.py``), or None."""
    parts = module.split(".")
    for cand in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
        if cand.is_file():
            return cand
    return None


@cache
def imports(path: Path) -> frozenset[str]:
    """Project modules imported anywhere in ``path`` (``from x import y``: ``x`` and ``x.y``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return frozenset(m for m in out if m.split(".")[0] in PACKAGES)
