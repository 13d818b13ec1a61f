"""Which run trained a model directory: a :class:`RunRecord` beside it, outside what DVC hashes.

The model directory holds only what the data and parameters determine
(:mod:`models.artifact`), so ``dvc.lock`` is the same on every machine. The per-run facts — the
MLflow run id the later stages log to, the git commit and the time — are written next to it,
``<model_dir>.run.json`` (``data/model.run.json``; ``data/`` is git-ignored and the file is no
DVC output). The record carries the model's content version, so a record left by another
model (a ``dvc checkout`` of an older one) is recognised and ignored, never logged into.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

SUFFIX = ".run.json"


@dataclass(frozen=True)
class RunRecord:
    """The run that wrote a model directory.

    Attributes
    ----------
    model_version : str
        :attr:`models.artifact.ModelMeta.version` of the model the run wrote.
    mlflow_run_id : str or None
        The training run (None when trained outside MLflow).
    git_commit : str or None
        ``HEAD`` when it was trained (None outside git).
    created_utc : str
        When the model was written (ISO 8601, seconds).
    """

    model_version: str
    mlflow_run_id: str | None
    git_commit: str | None
    created_utc: str


def record_path(model_dir: str | Path) -> Path:
    """``data/model`` -> ``data/model.run.json``."""
    model_dir = Path(model_dir)
    return model_dir.with_name(model_dir.name + SUFFIX)


def save_run_record(
    model_dir: str | Path, *, model_version: str, mlflow_run_id: str | None, git_commit: str | None
) -> RunRecord:
    """Write the record of the run that just wrote ``model_dir``; returns it."""
    record = RunRecord(
        model_version=model_version,
        mlflow_run_id=mlflow_run_id,
        git_commit=git_commit,
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = record_path(model_dir)
    path.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return record


def read_run_record(model_dir: str | Path, model_version: str) -> RunRecord | None:
    """The record of ``model_dir`` if it belongs to the model of ``model_version``, else None.

    None (with a log line saying why) when there is no record, it is unreadable, or it was
    written for another model; the caller then logs to a new MLflow run.
    """
    path = record_path(model_dir)
    if not path.is_file():
        logger.info("%s: no run record; the model's MLflow run is not known", path)
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        record = RunRecord(**doc)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError):
        logger.warning("%s: unreadable run record, ignored", path)
        return None
    if record.model_version != model_version:
        logger.warning(
            "%s: written for model %s, not for %s (the model directory was replaced); ignored",
            path,
            record.model_version,
            model_version,
        )
        return None
    return record


def training_run_id(model_dir: str | Path) -> str | None:
    """The MLflow run that trained the model in ``model_dir`` (None when not known, or when
    ``model_dir`` is no model directory, e.g. an MLflow model URI).

    Only ``model.json``'s ``version`` is read (the stages that call this have loaded and
    validated the model through :mod:`models.artifact` already; the report stage has not and
    needs no more).
    """
    meta = Path(model_dir) / "model.json"
    try:
        version = json.loads(meta.read_text(encoding="utf-8"))["version"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return None
    record = read_run_record(model_dir, str(version))
    return record.mlflow_run_id if record else None
