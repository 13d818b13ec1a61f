"""Two pre-commit checks without network: large files, notebook outputs.

``python -m tests.helpers.hooks large-files FILE...`` fails on a file over 2 MB (data and
models belong to DVC); ``python -m tests.helpers.hooks notebook-outputs FILE...`` fails on a
notebook committed with outputs (``tests/test_notebook.py`` executes it instead).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024


def large_files(paths: Sequence[str]) -> list[str]:
    """The paths over :data:`MAX_BYTES`, with their size."""
    return [
        f"{p}: {Path(p).stat().st_size / 1e6:.1f} MB, over {MAX_BYTES / 1e6:.1f} MB"
        for p in paths
        if Path(p).is_file() and Path(p).stat().st_size > MAX_BYTES
    ]


def notebook_outputs(paths: Sequence[str]) -> list[str]:
    """The notebooks holding a code cell with outputs."""
    bad = []
    for p in paths:
        cells = json.loads(Path(p).read_text(encoding="utf-8")).get("cells", [])
        if any(c.get("cell_type") == "code" and c.get("outputs") for c in cells):
            bad.append(f"{p}: has outputs (clear them before committing)")
    return bad


def main(argv: Sequence[str]) -> int:
    """Run one check on the given files; 1 and one line per problem when it fails."""
    checks = {"large-files": large_files, "notebook-outputs": notebook_outputs}
    if not argv or argv[0] not in checks:
        sys.stderr.write(f"usage: python -m tests.helpers.hooks {{{','.join(checks)}}} FILE...\n")
        return 2
    problems = checks[argv[0]](argv[1:])
    for line in problems:
        sys.stderr.write(line + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
