"""No single training patient's value can be read back from any artifact written or logged.

A tiny project is trained through the real stages (split, train, evaluate, register) with an
extreme patient planted in the training data (age 109.87 years, height 229.71 cm, both within
the data contract); then every file of the model directory, the reports, the MLflow artifact
store and the MLflow database is searched for those values, as text and as float64 bytes.
Before the fix, ``booster.txt`` (LightGBM's ``feature_infos``) and ``ood_profile.json`` (the
minimum and maximum of the quantile grid) held both verbatim.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bundle.validated import write_validated
from features.build import build_features
from simulator.cohort import simulate_cohort
from tests.helpers.pipeline import run_tiny_stages

ROOT = Path(__file__).resolve().parents[1]
AGE, HEIGHT = 109.87, 229.71
PARAMS = {
    "split": {"holdout_site": "lab-d", "seed": 1},
    "train": {
        "model": "multiclass",
        "num_boost_round": 30,
        "early_stopping_rounds": 10,
        "num_leaves": 7,
        "min_data_in_leaf": 10,
        "num_threads": 1,
        "augment": {"n_copies": 1},
        "logreg": {"max_iter": 200},
    },
    "evaluate": {"shap_sample": 40},
}


def _needles() -> list[bytes]:
    out = []
    for value in (AGE, HEIGHT):
        out += [repr(value).encode(), struct.pack("<d", value), struct.pack(">d", value)]
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("planted")
    bundle = simulate_cohort(500, 6)
    studies = bundle.studies.copy()
    planted = studies.index[studies["site_id"] != "lab-d"][:8]
    studies.loc[planted, "age_years"] = AGE
    studies.loc[planted, "height_cm"] = HEIGHT
    bundle = type(bundle)(studies=studies, ncs=bundle.ncs, emg=bundle.emg)
    write_validated(bundle, root / "data" / "validated")
    (root / "data" / "features").mkdir(parents=True)
    X = build_features(bundle)
    assert (X["age_years"] == AGE).sum() == 8  # planted, and a feature the model reads
    X.to_parquet(root / "data" / "features" / "features.parquet")
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    try:
        run_tiny_stages(root)
        from pipelines import register

        status = register.main([
            "--model", str(root / "data" / "model"),
            "--metrics", str(root / "reports" / "metrics.json"),
            "--evalset", str(ROOT / "evalsets" / "v1"),
            "--vignettes", str(ROOT / "clinical"),
            "--scores", str(root / "reports" / "evalset.json"),
            "--report", str(root / "reports" / "register.json"),
            "--params", str(root / "params.yaml"),
        ])  # fmt: skip
        assert status == 0
    finally:
        mp.undo()
    splits = pd.read_parquet(root / "data" / "splits" / "splits.parquet").set_index("study_id")
    ids = studies.loc[planted, "study_id"].astype(str)
    assert (splits.loc[ids, "split"] == "train").sum() >= 3  # the model was fitted on them
    return root


def test_no_artifact_holds_the_planted_patients_values(trained: Path) -> None:
    searched = [
        *(trained / "data" / "model").rglob("*"),
        *(trained / "reports").rglob("*"),
        *(trained / "mlruns").rglob("*"),
        trained / "mlflow.db",
    ]
    files = [f for f in searched if f.is_file()]
    names = {f.name for f in files}
    assert {"booster.txt", "ood_profile.json", "model.json", "mlflow.db", "MLmodel"} <= names
    leaks = [
        f"{f.relative_to(trained)}: {needle!r}"
        for f in files
        for needle in _needles()
        if needle in f.read_bytes()
    ]
    assert not leaks, "\n".join(leaks)


def test_the_search_finds_the_values_where_they_are(trained: Path) -> None:
    """The search is not vacuous: the inputs (features, bundle) do hold the planted values."""
    features = (trained / "data" / "features" / "features.parquet").read_bytes()
    assert struct.pack("<d", AGE) in features
