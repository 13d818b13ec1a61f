"""MLflow with an embedded local default: SQLite store and artifacts inside the project.

No server is needed. ``MLFLOW_TRACKING_URI`` overrides the default; the default URI is absolute
(``sqlite:////abs/project/mlflow.db``) because ``dvc exp run --temp`` runs stages in a temporary
copy of the repository, where a relative URI would lose the run (stack notes §4).
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EXPERIMENT = "emgdx"


def project_dir(start: Path | None = None) -> Path:
    """The project root: the nearest parent of ``start`` (default: cwd) holding ``dvc.yaml`` or ``.git``.

    Inside ``dvc exp run --temp`` the working copy lives in ``<project>/.dvc/tmp/exps/...``;
    the real project is the parent of that ``.dvc`` folder.
    """
    here = (start or Path.cwd()).resolve()
    parts = here.parts
    if ".dvc" in parts:
        here = Path(*parts[: parts.index(".dvc")])
    for candidate in (here, *here.parents):
        if (candidate / "dvc.yaml").exists() or (candidate / ".git").exists():
            return candidate
    return here


def tracking_uri(project: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<abs project>/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(project or project_dir()).resolve() / 'mlflow.db'}"


def configure(project: Path | None = None) -> str:
    """Point MLflow at :func:`tracking_uri`, artifacts under ``<project>/mlruns``; no telemetry."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    uri = tracking_uri(project)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    root = (project or project_dir()).resolve()
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        artifact_location = (root / "mlruns").as_uri() if uri.startswith("sqlite:") else None
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


def git_commit(project: Path | None = None) -> str | None:
    """HEAD commit of the project's git repository, or ``None`` outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project or project_dir(),
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_tags(project: Path | None = None) -> dict[str, str]:
    """Tags linking the run to DVC and git: ``DVC_EXP_NAME``, ``DVC_STAGE``, ``git_commit``."""
    tags = {k: os.environ[k] for k in ("DVC_EXP_NAME", "DVC_STAGE") if os.environ.get(k)}
    commit = git_commit(project)
    if commit:
        tags["git_commit"] = commit
    return tags


@contextmanager
def start_run(
    run_id: str | None = None, *, run_name: str | None = None, project: Path | None = None
) -> Iterator[Any]:
    """Open a new run (``run_id=None``) or resume an existing one, tagged with :func:`run_tags`.

    Yields the ``mlflow.ActiveRun``; the run ends (FINISHED, or FAILED on an exception) on exit.
    """
    import mlflow

    configure(project)
    with mlflow.start_run(run_id=run_id, run_name=run_name) as run:
        if run_id is None:
            mlflow.set_tags(run_tags(project))
        yield run


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metrics → ``{"test.lightgbm.macro_f1": 0.9, ...}`` (numbers only, None skipped)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, int | float) and value is not None:
            out[name] = float(value)
    return out


def mlflow_safe(metrics: Mapping[str, float]) -> dict[str, float]:
    """Metric names MLflow accepts (letters, digits, ``_-./ `` only; ``+`` and ``<`` replaced)."""
    table = str.maketrans({"+": "plus", "<": "lt", ">": "gt", ":": "_", "=": "_"})
    return {k.translate(table): v for k, v in metrics.items() if v == v}


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params → ``{"augment.n_copies": "1", ...}`` (MLflow params are strings)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, f"{name}."))
        else:
            out[name] = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return out
