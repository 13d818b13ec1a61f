"""The typed model artifact: one writer, one reader that raises, the feature contract."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.artifact import (
    FeatureMismatchError,
    ModelArtifactError,
    ModelMeta,
    ModelNotFoundError,
    load_model_dir,
    redact_feature_infos,
)
from models.predictor import Predictor
from tests.helpers.tiny import labels_for, save_tiny_model


@pytest.fixture
def model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the session's tiny model."""
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _edit_meta(model_dir: Path, **changes: object) -> None:
    path = model_dir / "model.json"
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        if value is _DROP:
            del doc[key]
        else:
            doc[key] = value
    path.write_text(json.dumps(doc))


_DROP = object()


def test_round_trip_gives_the_typed_meta_and_the_same_predictions(model_dir, tiny_training_cohort):
    _, X = tiny_training_cohort
    loaded = load_model_dir(model_dir)
    assert isinstance(loaded.meta, ModelMeta)
    assert loaded.meta.schema_version == 3
    assert loaded.meta.conformal is not None
    assert loaded.ood is not None
    predictor = Predictor.from_dir(model_dir)
    assert predictor.meta == loaded.meta
    with pytest.raises(ValueError, match="frozen"):
        predictor.meta.low_confidence_margin = 0.5  # type: ignore[misc]
    raw = predictor.booster.predict(predictor.model_frame(X.iloc[:20]), raw_score=True)
    again = Predictor.from_dir(model_dir).booster.predict(
        predictor.model_frame(X.iloc[:20]), raw_score=True
    )
    np.testing.assert_array_equal(raw, again)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("calibration", _DROP, r"model\.json: calibration: missing"),
        ("train_prior", _DROP, r"model\.json: train_prior: missing"),
        ("low_confidence_margin", _DROP, r"model\.json: low_confidence_margin: missing"),
        ("low_confidence_margin", "high", r"low_confidence_margin = 'high': expected a valid number"),
        ("low_confidence_margin", 1.5, r"low_confidence_margin = 1\.5: expected less than or equal to 1"),
        ("calibration", {"method": "isotonic"}, r"calibration = .*isotonic.*model.json calibration.method is 'isotonic'; expected 'temperature' or 'gated'"),
        ("model_kind", "Forest", r"model_kind = 'Forest': expected 'Booster' or 'OvRBooster'"),
        ("nickname", "x", r"nickname: unknown key"),
        ("conformal", _DROP, r"model\.json: conformal: missing"),
        ("conformal", {"alpha": 0.1, "thresholds": {}, "n_calib": {}}, r"conformal.*expected one threshold table per prior"),
    ],
)  # fmt: skip
def test_missing_or_mistyped_field_is_an_error_naming_file_and_field(
    model_dir, field, value, message
):
    _edit_meta(model_dir, **{field: value})
    with pytest.raises(ModelArtifactError, match=message) as info:
        Predictor.load(model_dir)
    assert str(model_dir / "model.json") in str(info.value)
    assert "\n" not in str(info.value)  # one line


def test_another_schema_version_is_refused(model_dir):
    _edit_meta(model_dir, schema_version=_DROP)
    with pytest.raises(ModelArtifactError, match="schema_version is 'missing', this emgdx reads 3"):
        load_model_dir(model_dir)
    _edit_meta(model_dir, schema_version=4)
    with pytest.raises(ModelArtifactError, match="schema_version is 4"):
        load_model_dir(model_dir)


def test_a_schema_1_model_loads_without_its_per_run_fields(model_dir):
    """Models registered before the run record moved out of model.json still load."""
    before = load_model_dir(model_dir).meta
    _edit_meta(
        model_dir,
        schema_version=1,
        mlflow_run_id="0123abcd",
        git_commit="deadbeef",
        created_utc="2026-12-01T19:46:03Z",
    )
    # schema 1 had no prediction-set thresholds: read with none, so it predicts without sets
    assert load_model_dir(model_dir).meta == before.model_copy(update={"conformal": None})
    _edit_meta(model_dir, surprise=1)  # anything else unknown is still refused
    with pytest.raises(ModelArtifactError, match="surprise"):
        load_model_dir(model_dir)


def test_a_schema_2_model_loads_and_predicts_without_prediction_sets(
    model_dir, tiny_training_cohort
):
    """Models saved before the conformal thresholds (schema 2) still load and predict."""
    _, X = tiny_training_cohort
    before = load_model_dir(model_dir).meta
    _edit_meta(model_dir, schema_version=2, conformal=_DROP)
    meta = load_model_dir(model_dir).meta
    assert meta == before.model_copy(update={"conformal": None})
    pred = Predictor.from_dir(model_dir).predict_features(X.iloc[:3], top_k=1)
    assert [p.prediction_set for p in pred] == [[], [], []]
    assert {p.prediction_set_coverage for p in pred} == {None}


def test_missing_files_are_errors_not_defaults(model_dir, tmp_path):
    with pytest.raises(ModelNotFoundError, match="not a trained model directory"):
        load_model_dir(tmp_path / "nowhere")
    (model_dir / "ood_profile.json").unlink()
    with pytest.raises(ModelArtifactError, match=r"ood_profile\.json: no such file"):
        load_model_dir(model_dir)
    (model_dir / "model.json").write_text("{not json")
    with pytest.raises(ModelArtifactError, match="not valid JSON"):
        load_model_dir(model_dir)
    (model_dir / "booster.txt").write_text("garbage")
    (model_dir / "model.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"model\.json: no such file"):
        load_model_dir(model_dir)


def test_booster_and_meta_must_agree(model_dir):
    doc = json.loads((model_dir / "model.json").read_text())
    names = doc["feature_names"]
    _edit_meta(model_dir, feature_names=names[:-1])
    with pytest.raises(ModelArtifactError, match=rf"1 not seen at fit: {names[-1]}"):
        load_model_dir(model_dir)


def test_saved_booster_has_no_training_minimum_or_maximum(model_dir, tiny_training_cohort):
    """feature_infos is redacted; LightGBM predicts and explains exactly as before."""
    _, X = tiny_training_cohort
    text = (model_dir / "booster.txt").read_text()
    infos = re.findall(r"(?m)^feature_infos=(.*)$", text)
    assert infos
    assert all(set(line.split()) == {"none"} for line in infos)
    booster = load_model_dir(model_dir).booster
    frame = X[booster.feature_name()].iloc[:50]
    # the same trees with the original [min:max] line: identical scores and contributions
    original = lgb.Booster(
        model_str=text.replace(infos[0], " ".join("[0:1]" for _ in infos[0].split()))
    )
    np.testing.assert_array_equal(
        booster.predict(frame, raw_score=True), original.predict(frame, raw_score=True)
    )
    np.testing.assert_array_equal(
        booster.predict(frame, pred_contrib=True), original.predict(frame, pred_contrib=True)
    )


def test_redaction_covers_every_head_of_a_text():
    text = "feature_infos=[1:109.87] none [-2:3]\nx=1\nfeature_infos=[0:229.71]\n"
    assert redact_feature_infos(text) == "feature_infos=none none none\nx=1\nfeature_infos=none\n"


def test_a_model_trained_on_other_features_is_refused_at_load(tiny_training_cohort, tmp_path):
    bundle, X = tiny_training_cohort
    renamed = X.rename(columns={"ncs_sural_snap_amp_pct_lln": "ncs_sural_snap_amp_uv"})
    if "ncs_sural_snap_amp_pct_lln" not in X.columns:
        renamed = X.rename(columns={X.columns[5]: "ncs_new_feature"})
    out = save_tiny_model(renamed, labels_for(bundle, X), tmp_path / "m", rounds=5)
    with pytest.raises(FeatureMismatchError) as info:
        Predictor.load(out)
    message = str(info.value)
    old = next(c for c in X.columns if c not in renamed.columns)
    new = next(c for c in renamed.columns if c not in X.columns)
    assert f"1 expected but absent: {new}" in message
    assert f"1 not seen at fit: {old}" in message
    assert "retrain it" in message


def test_a_feature_table_with_other_columns_is_an_error_not_nan(predictor_and_features):
    predictor, X = predictor_and_features
    name = predictor.feature_names[3]
    with pytest.raises(FeatureMismatchError, match=rf"1 expected but absent: {name}"):
        predictor.predict_features(X.drop(columns=[name]))
    with pytest.raises(FeatureMismatchError, match=r"1 not seen at fit: emg_new_z"):
        predictor.predict_features(X.assign(emg_new_z=1.0))
    # NaN values are "not measured" (fine); only the column set is the contract
    preds = predictor.predict_features(X.assign(**{name: np.nan}))
    assert len(preds) == len(X)


@pytest.fixture
def predictor_and_features(tiny_model_dir, fresh_cohort) -> tuple[Predictor, pd.DataFrame]:
    _, X = fresh_cohort
    return Predictor.load(tiny_model_dir), X.iloc[:5]
