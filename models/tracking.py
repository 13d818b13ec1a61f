"""MLflow with an embedded local default: SQLite store and artifacts inside the project.

No server is needed. A locked or corrupt store is a :class:`RegistryError` with a clear message,
never a silent fallback. ``MLFLOW_TRACKING_URI`` overrides the default; the default URI is absolute
(``sqlite:////abs/project/mlflow.db``) because ``dvc exp run --temp`` runs stages in a temporary
copy of the repository, where a relative URI would lose the run (stack notes §4).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.errors import ReportedError

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
    """Point MLflow at :func:`tracking_uri`, artifacts under ``<project>/mlruns``; no telemetry.

    Raises
    ------
    RegistryError
        The store is locked or corrupt (:func:`check_store`).
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    uri = tracking_uri(project)
    check_store(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    root = (project or project_dir()).resolve()
    with store_errors(uri):
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


def run_name(stage: str, params: Mapping[str, Any] | None, project: Path | None = None) -> str:
    """``<stage>-<git short sha>-<params hash>``, e.g. ``train-db3f918-5c1e04a2``.

    The params hash is the first 8 hex digits of the SHA-256 of the stage's parameters as
    sorted JSON, so two runs of the same code and parameters share a name (``nogit`` outside
    git, ``noparams`` without parameters).
    """
    commit = git_commit(project)
    digest = (
        hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
        if params is not None
        else "noparams"
    )
    return f"{stage}-{commit[:7] if commit else 'nogit'}-{digest}"


class _Terminated(Exception):
    """SIGTERM inside a run (``dvc`` stopping a stage): unwinds so the run ends FAILED."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`_Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise _Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def start_run(
    run_id: str | None = None,
    *,
    stage: str | None = None,
    params: Mapping[str, Any] | None = None,
    description: str | None = None,
    project: Path | None = None,
) -> Iterator[Any]:
    """Open a new run (``run_id=None``) or resume an existing one, tagged with :func:`run_tags`.

    A new run is named :func:`run_name` (``stage`` is then required) and carries
    ``description`` (MLflow's note). Yields the ``mlflow.ActiveRun``; the run ends FINISHED,
    or FAILED on any exception, on Ctrl-C (KeyboardInterrupt) and on SIGTERM (which is turned
    into an exception inside the block), so an interrupted stage never leaves a run RUNNING.

    Raises
    ------
    RegistryError
        The tracking store is locked or corrupt (:func:`check_store`).
    """
    import mlflow

    configure(project)
    if run_id is None and stage is None:
        raise ValueError("start_run: a new run needs its stage name")
    name = run_name(stage, params, project) if run_id is None and stage else None
    with _sigterm_raises(), store_errors():
        run = mlflow.start_run(run_id=run_id, run_name=name)
    try:
        with _sigterm_raises():
            if run_id is None:
                tags = run_tags(project)
                if description:
                    tags["mlflow.note.content"] = description
                mlflow.set_tags(tags)
            yield run
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


# --- the store: locked or corrupt is an error, never a silent fallback --------------------------
class RegistryError(ReportedError, RuntimeError):
    """The MLflow tracking store or model registry cannot be used (locked, corrupt, down)."""


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def check_store(uri: str | None = None, *, timeout_s: float = 2.0) -> None:
    """Fail fast with a clear message when the SQLite store is locked or not a database.

    MLflow itself retries a locked database for about 20 s and then raises an SQLAlchemy
    error; this check reads the file directly, read-only, waiting at most ``timeout_s``.
    Other stores (a tracking server) are not checked here.

    Raises
    ------
    RegistryError
        Naming the file and what to do.
    """
    path = sqlite_path(uri or tracking_uri())
    if path is None or not path.exists():
        return
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout_s)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise RegistryError(_locked(path)) from exc
        raise RegistryError(_corrupt(path, str(exc))) from exc
    except sqlite3.DatabaseError as exc:
        raise RegistryError(_corrupt(path, str(exc))) from exc


def _locked(where: object) -> str:
    return (
        f"{where}: the MLflow store is locked by another process (a running `dvc repro`, "
        "`emgdx register` or `mlflow ui`?); retry when it has finished. No other model is used "
        "in its place."
    )


def _corrupt(where: object, reason: str) -> str:
    return (
        f"{where}: not a readable MLflow store ({reason}); restore it from a backup, or set "
        "MLFLOW_TRACKING_URI to another store. No other model is used in its place."
    )


@contextmanager
def store_errors(uri: str | None = None) -> Iterator[None]:
    """Turn MLflow's and SQLAlchemy's store failures inside the block into :class:`RegistryError`.

    ``RESOURCE_DOES_NOT_EXIST`` and the other "not found" answers pass through unchanged (the
    caller decides what a missing model or alias means).
    """
    from mlflow.exceptions import MlflowException

    where = uri or tracking_uri()
    try:
        yield
    except MlflowException as exc:
        if exc.error_code == "TEMPORARILY_UNAVAILABLE" or "locked" in str(exc):
            raise RegistryError(_locked(where)) from exc
        if exc.error_code in _NOT_FOUND:
            raise
        raise RegistryError(
            f"{where}: the MLflow store failed ({exc.error_code}); no other model is used"
        ) from exc
    except Exception as exc:
        if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "alembic")):
            raise RegistryError(_corrupt(where, type(exc).__name__)) from exc
        raise


_NOT_FOUND = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"})


def alias_version(client: Any, name: str, alias: str) -> Any | None:
    """The model version holding ``name@alias``, or None when the model or alias does not exist.

    Raises
    ------
    RegistryError
        The store is locked, corrupt or failing (never read as "no champion").
    """
    from mlflow.exceptions import MlflowException

    check_store()
    try:
        with store_errors():
            return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return None
        raise


def log_dataset(frame: Any, *, source: Path, name: str, context: str) -> None:
    """Log a feature table as the active run's input (``mlflow.log_input``).

    MLflow records the table's digest, schema (column names and types) and size, and the
    ``source`` path; no value of the table is stored.
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    dataset = from_pandas(frame, source=str(source), name=name)
    mlflow.log_input(dataset, context=context)


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


def grouped(metrics: Mapping[str, Any], group: str | None = None) -> dict[str, float]:
    """Metric names MLflow's UI groups into one section per prefix (``<section>/<name>``).

    With ``group``, every metric goes to that section (``grouped({"a": {"b": 1}}, "train")``
    is ``{"train/a.b": 1.0}``); without, each top-level key is a section
    (``{"test": {"lightgbm": {"macro_f1": .8}}}`` becomes ``{"test/lightgbm.macro_f1": .8}``).
    MLflow's run and compare views show one collapsible section per prefix, so a few hundred
    metrics stay browsable. Names are made MLflow-safe (:func:`mlflow_safe`).
    """
    if group is not None:
        return mlflow_safe(flatten(metrics, f"{group}/"))
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{key}/"))
        else:
            out.update(flatten({key: value}, "misc/"))
    return mlflow_safe(out)


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
