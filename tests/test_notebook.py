"""The model-report notebook executes end to end on a tiny model built here."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.helpers.pipeline import make_tiny_project, run_tiny_stages

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "1.0-emgdx-model-report.ipynb"
PARAMS = {
    "train": {
        "model": "multiclass",
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
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    make_tiny_project(tmp_path, PARAMS, n_studies=500, seed=11)
    run_tiny_stages(tmp_path)
    d = tmp_path / "data"
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
    # the figures render as PNG images, never as "<Figure size 650x550 with 1 Axes>" text
    displayed = [
        o.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") in ("display_data", "execute_result")
    ]
    pngs = [d for d in displayed if "image/png" in d]
    assert len(pngs) >= 3, "confusion, reliability and SHAP summary figures"
    assert all(base64.b64decode(d["image/png"])[:8] == b"\x89PNG\r\n\x1a\n" for d in pngs)
    # a figure's text/plain stays beside its PNG (Jupyter shows the richest); never alone
    text_only = [d for d in displayed if "<Figure" in str(d.get("text/plain")) and d not in pngs]
    assert not text_only


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
