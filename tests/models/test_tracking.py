"""MLflow runs: named and described, ended FAILED when interrupted; the store's errors are clear."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models import tracking

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def _run(uri: str, run_id: str):  # noqa: ANN202
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri).get_run(run_id)


def test_run_is_named_stage_sha_params_hash_and_described(store, tmp_path) -> None:
    with tracking.start_run(
        stage="train", params={"num_leaves": 7}, description="what and on what", project=tmp_path
    ) as run:
        run_id = run.info.run_id
    got = _run(store, run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == tracking.run_name("train", {"num_leaves": 7}, tmp_path)
    assert got.info.run_name.startswith("train-")
    assert got.info.run_name != tracking.run_name("train", {"num_leaves": 63}, tmp_path)
    assert got.data.tags["mlflow.note.content"] == "what and on what"


def test_exception_and_ctrl_c_end_the_run_failed(store, tmp_path) -> None:
    def interrupted(error: BaseException) -> str:
        ids = []
        try:
            with tracking.start_run(stage="t", project=tmp_path) as run:
                ids.append(run.info.run_id)
                raise error
        except type(error):
            return ids[0]
        raise AssertionError("the error must propagate")

    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        assert _run(store, interrupted(error)).info.status == "FAILED"


def test_sigterm_ends_the_run_failed(store, tmp_path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from pathlib import Path
        from models import tracking
        with tracking.start_run(stage="train", project=Path({str(tmp_path)!r})) as run:
            print(run.info.run_id, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "MLFLOW_TRACKING_URI": store},
    )  # fmt: skip
    assert proc.returncode != 0
    run_id = proc.stdout.split()[0]
    assert _run(store, run_id).info.status == "FAILED"


def test_locked_store_is_a_clear_error_within_seconds(tmp_path) -> None:
    db = tmp_path / "mlflow.db"
    holder = sqlite3.connect(db)
    holder.execute("CREATE TABLE t (x)")
    holder.commit()
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(tracking.RegistryError, match="locked by another process"):
            tracking.check_store(f"sqlite:///{db}", timeout_s=0.2)
    finally:
        holder.rollback()
        holder.close()
    tracking.check_store(f"sqlite:///{db}")  # released: fine


def test_corrupt_store_is_a_clear_error(tmp_path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"not a database " * 200)
    with pytest.raises(tracking.RegistryError, match="not a readable MLflow store"):
        tracking.check_store(f"sqlite:///{db}")
    tracking.check_store(f"sqlite:///{tmp_path / 'absent.db'}")  # a new store: fine
