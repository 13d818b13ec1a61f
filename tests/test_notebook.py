"""The model-report notebook executes end to end on a tiny model built here."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from features.build import build_features
from features.bundle_io import write_bundle
from simulator.cohort import simulate_cohort

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "1.0-emgdx-model-report.ipynb"
PARAMS = {
    "train": {
        "num_boost_round": 30,
        "early_stopping_rounds": 10,
        "num_leaves": 7,
        "num_threads": 1,
        "augment": {"n_copies": 0},
        "logreg": {"max_iter": 200},
    },
    "evaluate": {"shap_sample": 30},
}


def test_model_report_notebook_runs(tmp_path, monkeypatch):
    from pipelines import evaluate, split, train

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    d = tmp_path / "data"
    bundle = simulate_cohort(500, 11)
    write_bundle(bundle, d / "validated", fmt="parquet")
    (d / "features").mkdir(parents=True)
    build_features(bundle).to_parquet(d / "features" / "features.parquet")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    common = ["--params", str(tmp_path / "params.yaml")]
    inputs = [
        "--bundle",
        str(d / "validated"),
        "--features",
        str(d / "features" / "features.parquet"),
        "--splits",
        str(d / "splits" / "splits.parquet"),
    ]
    assert split.main(["--bundle", str(d / "validated"), "--out", str(d / "splits"), *common]) == 0
    assert (
        train.main(
            [
                *inputs,
                "--out",
                str(d / "model"),
                "--report",
                str(tmp_path / "reports" / "train.json"),
                *common,
            ]
        )
        == 0
    )
    assert (
        evaluate.main(
            [*inputs, "--model", str(d / "model"), "--out", str(tmp_path / "reports"), *common]
        )
        == 0
    )

    for key, value in {
        "EMGDX_MODEL_DIR": d / "model",
        "EMGDX_REPORTS_DIR": tmp_path / "reports",
        "EMGDX_FEATURES": d / "features" / "features.parquet",
        "EMGDX_SPLITS": d / "splits" / "splits.parquet",
        "EMGDX_BUNDLE": d / "validated",
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = "".join(
        o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    assert "predicted" in outputs  # the explained studies were printed
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert pytest.importorskip("nbclient")
