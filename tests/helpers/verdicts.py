"""A tiny retrain on simulated studies plus an exported verdict bundle (``data.extra_bundles``).

:func:`retrain_with_extra` runs the stages as ``dvc repro`` does (``validate --params`` appends
the extra bundle, then ``features``, ``split``, ``train``, ``evaluate``) in a tmp project (one
throw-away MLflow store per test session), and returns what a test checks: the validated studies, the metrics and
the names of the MLflow run's input datasets.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bundle.tables import Bundle
from bundle.writers import write_bundle
from simulator.cohort import simulate_cohort
from tests.helpers.pipeline import run_tiny_stages

#: fast settings (a few trees, no augmentation copies)
RETRAIN_PARAMS: dict[str, Any] = {
    "split": {"holdout_site": "lab-d", "seed": 1},
    "train": {
        "model": "multiclass",
        "num_boost_round": 10,
        "early_stopping_rounds": 5,
        "num_leaves": 7,
        "min_data_in_leaf": 10,
        "num_threads": 1,
        "augment": {"n_copies": 0},
        "logreg": {"max_iter": 50},
    },
    "evaluate": {"shap_sample": 10},
}


#: one MLflow store for every retrain of a test session (creating one costs seconds)
_MLFLOW_DIR = Path(tempfile.mkdtemp(prefix="emgdx-retrain-mlflow-"))


@dataclass(frozen=True)
class Retrained:
    """What the retrain produced."""

    studies: pd.DataFrame
    metrics: dict[str, Any]
    input_datasets: list[str]
    run_id: str


def _prefixed(bundle: Bundle, prefix: str) -> Bundle:
    """The simulated ids prefixed, so they never clash with the exported studies' ids."""

    def re_id(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out["study_id"] = prefix + out["study_id"].astype(str)
        if "patient_id" in out:
            out["patient_id"] = prefix + out["patient_id"].astype(str)
        return out

    return Bundle(re_id(bundle.studies), re_id(bundle.ncs), re_id(bundle.emg))


def retrain_with_extra(
    root: Path, extra: Path, *, weight: float = 3.0, n_studies: int = 250, seed: int = 5
) -> Retrained:
    """Simulate, append ``extra`` with ``weight``, featurize, split, train and evaluate."""
    import mlflow

    from models.provenance import training_run_id
    from pipelines import featurize, validate

    root.mkdir(parents=True, exist_ok=True)
    raw = write_bundle(_prefixed(simulate_cohort(n_studies, seed), "sim-"), root / "data" / "raw")
    params = {
        **RETRAIN_PARAMS,
        "data": {"bundle": str(raw), "extra_bundles": [{"path": str(extra), "weight": weight}]},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    d = root / "data"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_MLFLOW_DIR / 'mlflow.db'}"
    try:
        argv = ["--in", str(raw), "--out", str(d / "validated"), "--allow-invalid"]
        argv += ["--report", str(root / "reports" / "validation.json")]
        assert validate.main([*argv, "--params", str(root / "params.yaml")]) == 0
        features = d / "features" / "features.parquet"
        fargs = ["--in", str(d / "validated"), "--out", str(features)]
        assert featurize.main([*fargs, "--params", str(root / "params.yaml")]) == 0
        run_tiny_stages(root)
        run_id = training_run_id(d / "model")
        assert run_id
        run = mlflow.get_run(run_id)
        names = [i.dataset.name for i in run.inputs.dataset_inputs]
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    studies = pd.read_parquet(d / "validated" / "studies.parquet")
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    return Retrained(studies, metrics, names, run_id)
