"""The MLflow pyfunc: log, register, load by alias, predict JSON documents."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bundle.json_form import study_to_json
from features.vocab import CLASSES
from models.predictor import Predictor


@pytest.fixture(scope="module")
def logged(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
    mp.chdir(root)  # any default artifact folder lands in tmp
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    mlflow.set_experiment("emgdx-test")
    from models.pyfunc import log_pyfunc_model

    with mlflow.start_run():
        info = log_pyfunc_model(tiny_model_dir, registered_model_name="emgdx")
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("emgdx", "champion", info.registered_model_version)
    yield info
    mlflow.set_tracking_uri(None)
    mp.undo()


def test_round_trip_predicts_like_the_predictor(logged, tiny_model_dir, fresh_cohort) -> None:
    import mlflow

    bundle, X = fresh_cohort
    ids = bundle.study_ids[:3]
    docs = [json.dumps(study_to_json(bundle, s)) for s in ids]
    loaded = mlflow.pyfunc.load_model(logged.model_uri)
    out = loaded.predict(pd.DataFrame({"study_json": docs}))
    assert list(out["study_id"]) == ids
    assert {"diagnosis", *(f"p_{c}" for c in CLASSES), "prediction_json"} <= set(out.columns)
    direct = Predictor.load(tiny_model_dir).predict_features(X.loc[ids])
    for (_, row), p in zip(out.iterrows(), direct, strict=True):
        assert row["diagnosis"] == p.diagnosis
        for c in CLASSES:
            assert row[f"p_{c}"] == pytest.approx(p.probabilities[c], abs=1e-9)
        nested = json.loads(row["prediction_json"])
        assert nested["study_id"] == p.study_id
        assert len(nested["explanation"]) > 0
        assert "agrees" in nested["guideline"]


def test_champion_alias_loads_in_the_predictor(logged, tiny_model_dir) -> None:
    p = Predictor.load("models:/emgdx@champion")
    local = Predictor.load(tiny_model_dir)
    # the registry's number is shown first, the same training timestamp beside it
    assert p.registry_version == "1"
    assert p.version == f"v1 (model {local.meta.version})"
    assert p.source == "models:/emgdx@champion"


def test_list_of_dicts_and_invalid_study(logged, fresh_cohort) -> None:
    import mlflow

    from models.pyfunc import EmgdxModel, example_study

    bundle, _ = fresh_cohort
    good = study_to_json(bundle, bundle.study_ids[0])
    bad = {**example_study(), "study_id": "bad-1", "age_years": 500}
    model = EmgdxModel()
    model.load_context(type("C", (), {"artifacts": {"model_dir": str(_model_dir_of(logged))}})())
    anonymous = {k: v for k, v in example_study().items() if k != "study_id"}
    out = model.predict(None, [good, bad, anonymous])
    assert list(out["study_id"])[:2] == [good["study_id"], "bad-1"]
    assert pd.isna(out["study_id"].iloc[2])  # the study without id is listed, not dropped
    assert "study_id" in out["error"].iloc[2]
    assert out.loc[1, "error"]
    assert pd.isna(out.loc[1, "diagnosis"])
    assert out.loc[0, "error"] == ""
    # through MLflow with the signature: the JSON-column form
    loaded = mlflow.pyfunc.load_model(logged.model_uri)
    out2 = loaded.predict(pd.DataFrame({"study_json": [json.dumps(bad)]}))
    assert out2.loc[0, "study_id"] == "bad-1"
    assert "age_years" in out2.loc[0, "error"]


def _model_dir_of(info) -> Path:
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    return next(local.rglob("booster.txt")).parent
