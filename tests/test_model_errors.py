"""A wrong model or an unusable registry: one clear line and exit 2 from predict, serve, register.

Never a traceback, never a silent fallback to another model (``data/model``) in its place.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bundle.writers import write_bundle
from tests.helpers.tiny import labels_for, make_tiny_cohort, save_tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with a valid ``data/model``, a bundle and a model on other features."""
    root = tmp_path_factory.mktemp("errors")
    bundle, X = make_tiny_cohort(300, seed=8)
    y = labels_for(bundle, X)
    save_tiny_model(X, y, root / "data" / "model", rounds=5)
    renamed = X.rename(columns={X.columns[4]: "ncs_feature_of_another_code"})
    save_tiny_model(renamed, y, root / "other_model", rounds=5)
    write_bundle(bundle.subset(bundle.study_ids[:4]), root / "bundle")
    return root


def _emgdx(root: Path, *args: str, uri: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if uri:
        env["MLFLOW_TRACKING_URI"] = uri
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "emgdx", *args], cwd=root, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in proc.stderr
    return [
        line
        for line in proc.stderr.splitlines()
        if line.startswith(("ERROR", "emgdx ")) and "rejected" not in line
    ]


def test_predict_with_a_model_of_other_features_names_them(project, tmp_path) -> None:
    proc = _emgdx(project, "predict", "bundle", "--out", str(tmp_path / "p.csv"),
                  "--model", "other_model")  # fmt: skip
    assert proc.returncode == 2
    (line,) = _error_lines(proc)
    assert "trained on other features" in line
    assert "ncs_feature_of_another_code" in line
    assert not (tmp_path / "p.csv").exists()


def test_serve_with_a_model_of_other_features_fails_before_listening(project) -> None:
    proc = _emgdx(project, "serve", "--model", "other_model", "--port", "1")
    assert proc.returncode == 2
    (line,) = _error_lines(proc)
    assert line.startswith("emgdx serve: model emgdx ")
    assert "ncs_feature_of_another_code" in line
    assert "serving on" not in proc.stderr


@pytest.mark.parametrize("problem", ["locked", "corrupt"])
def test_unusable_registry_is_an_error_not_a_fallback_to_data_model(project, tmp_path, problem):
    db = tmp_path / "mlflow.db"
    holder = None
    if problem == "locked":
        holder = sqlite3.connect(db)
        holder.execute("CREATE TABLE t (x)")
        holder.commit()
        holder.execute("BEGIN EXCLUSIVE")
        expected = "locked by another process"
    else:
        db.write_bytes(b"\x00garbage" * 500)
        expected = "not a readable MLflow store"
    uri = f"sqlite:///{db}"
    try:
        t0 = time.perf_counter()
        runs = {
            "predict": _emgdx(project, "predict", "bundle", "--out", str(tmp_path / "p.csv"),
                              uri=uri),
            "serve": _emgdx(project, "serve", "--port", "1", uri=uri),
            "register": _emgdx(project, "register", "--rollback", "--reason", "x",
                               "--params", str(ROOT / "params.yaml"), uri=uri),
        }  # fmt: skip
        elapsed = time.perf_counter() - t0
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    for name, proc in runs.items():
        assert proc.returncode == 2, (name, proc.stderr[-500:])
        (line,) = _error_lines(proc)
        assert expected in line, (name, line)
        assert "No other model is used in its place" in line
    assert not (tmp_path / "p.csv").exists()  # data/model was there, and not used
    assert elapsed < 3 * 15  # MLflow alone would wait ~20 s per command on a locked store


def test_without_a_registry_data_model_is_the_model(project, tmp_path) -> None:
    """No store configured and none in the folder: ``data/model`` is used (not an error)."""
    proc = _emgdx(project, "predict", "bundle", "--out", str(tmp_path / "p.csv"))
    assert proc.returncode == 0, proc.stderr[-500:]
    assert (tmp_path / "p.csv").is_file()
