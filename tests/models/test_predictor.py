"""The predictor: calibrated probabilities, exact explanations, flags, guideline, loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES, PATTERN_OF
from models.evidence import als_assessable, cap_unassessable_als
from models.flags import FlagCode
from models.guideline import als_sensory_abnormal
from models.predictor import ModelNotFoundError, Predictor


def codes(p) -> list[FlagCode]:
    """The flag codes of a prediction."""
    return [r.code for r in p.flag_reasons]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: Path) -> Predictor:
    return Predictor.load(tiny_model_dir)


@pytest.fixture(scope="module")
def features(fresh_cohort) -> pd.DataFrame:
    return fresh_cohort[1].iloc[:40]


def test_identity_and_feature_order(predictor: Predictor, tiny_model_dir: Path) -> None:
    meta = json.loads((tiny_model_dir / "model.json").read_text())
    assert predictor.name == "emgdx"
    # a model directory has no registry number: the training timestamp is shown
    assert predictor.version == f"unregistered (model {meta['version']})"
    assert predictor.registry_version is None
    assert predictor.classes == list(CLASSES)
    assert predictor.feature_names == meta["feature_names"]
    assert not any(f.startswith("cov_") for f in predictor.feature_names)


def test_probabilities_calibrated_and_consistent(predictor: Predictor, features) -> None:
    preds = predictor.predict_features(features)
    assert [p.study_id for p in preds] == list(features.index.astype(str))
    raw = predictor.booster.predict(predictor.model_frame(features), raw_score=True)
    softmax = np.exp(raw / predictor.temperature)
    softmax /= softmax.sum(axis=1, keepdims=True)
    # the temperature-scaled softmax, then the Gold Coast cap where ALS cannot be established
    expected = cap_unassessable_als(softmax, als_assessable(features), CLASSES.index("als"))
    assert (np.abs(expected - softmax).max(axis=1) > 0).any(), "no study exercised the cap"
    for p, e in zip(preds, expected, strict=True):
        probs = np.array([p.probabilities[c] for c in CLASSES])
        assert probs.sum() == pytest.approx(1.0, abs=1e-9)
        np.testing.assert_allclose(probs, e, rtol=1e-9, atol=1e-12)
        assert p.diagnosis == CLASSES[int(np.argmax(probs))]
        assert p.runner_up == CLASSES[int(np.argsort(-probs)[1])]
        sums = {}
        for c, v in p.probabilities.items():
            sums[PATTERN_OF[c]] = sums.get(PATTERN_OF[c], 0.0) + v
        # the pattern is the most probable of the three, with its summed probability
        assert p.pattern == max(sums, key=sums.get)
        assert p.pattern_probability == pytest.approx(sums[p.pattern])
        assert p.model_name == "emgdx"


def test_full_explanations_add_up_to_the_log_odds(predictor: Predictor, features) -> None:
    n_features = len(predictor.feature_names)
    preds = predictor.predict_features(features.iloc[:6], top_k=n_features)
    raw = predictor.booster.predict(predictor.model_frame(features.iloc[:6]), raw_score=True)
    for p, r in zip(preds, raw, strict=True):
        top = CLASSES.index(p.diagnosis)
        assert sum(c.shap for c in p.explanation) + p.base_value == pytest.approx(r[top], abs=1e-9)
        assert sum(p.group_contributions.values()) + p.base_value == pytest.approx(r[top], abs=1e-9)


def test_runner_up_explanation_is_the_log_odds_difference(predictor: Predictor, features) -> None:
    from models.explain import explain_raw

    X = predictor.model_frame(features.iloc[:6])
    contrib, base = explain_raw(predictor.booster, X)
    raw = predictor.booster.predict(X, raw_score=True)
    preds = predictor.predict_features(features.iloc[:6], top_k=X.shape[1])
    for i, p in enumerate(preds):
        top, second = CLASSES.index(p.diagnosis), CLASSES.index(p.runner_up)
        diff = sum(c.shap for c in p.runner_up_explanation)
        assert diff + base[i, top] - base[i, second] == pytest.approx(
            raw[i, top] - raw[i, second], abs=1e-9
        )
        assert all("rather than" in c.sentence for c in p.runner_up_explanation)


def test_explanation_is_top_k_sorted(predictor: Predictor, features) -> None:
    for p in predictor.predict_features(features.iloc[:5], top_k=4):
        assert 0 < len(p.explanation) <= 4
        shaps = [abs(c.shap) for c in p.explanation]
        assert shaps == sorted(shaps, reverse=True)
        assert all(c.sentence and c.label for c in p.explanation)


def test_guideline_check_beside_the_model(predictor: Predictor, features) -> None:
    """Its fields are present (their values: tests/models/test_guideline_and_mimic.py)."""
    for p in predictor.predict_features(features):
        assert {"rule_diagnosis", "lmn_regions", "demyelinating_nerves", "agrees"} <= set(
            p.guideline
        )


def test_low_confidence_margin_from_model_json(tiny_model_dir: Path, tmp_path, features) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    meta = json.loads((model_dir / "model.json").read_text())
    meta["low_confidence_margin"] = 1.0  # every margin is below 1
    (model_dir / "model.json").write_text(json.dumps(meta))
    preds = Predictor.load(model_dir).predict_features(features.iloc[:5])
    assert all(p.low_confidence for p in preds)
    assert all(FlagCode.CLOSE_CALL in codes(p) for p in preds)
    assert all(
        "top two classes close" in r.text
        for p in preds
        for r in p.flag_reasons
        if r.code == "close_call"
    )
    meta["low_confidence_margin"] = 0.0
    (model_dir / "model.json").write_text(json.dumps(meta))
    preds = Predictor.load(model_dir).predict_features(features.iloc[:5])
    assert not any(FlagCode.CLOSE_CALL in codes(p) for p in preds)


def test_als_with_abnormal_sensory_responses_is_flagged(predictor: Predictor, features) -> None:
    from models.rules import ALS_MAX_SENSORY_ABNORMAL

    X = features.copy()
    X["crit_sensory_abnormal_count"] = float(ALS_MAX_SENSORY_ABNORMAL + 2)
    mimic = als_sensory_abnormal(X)
    assert mimic.all()
    X["crit_sensory_abnormal_count"] = 0.0
    assert not als_sensory_abnormal(X).any()
    # end to end: force the booster's verdict to ALS by scaling its raw scores is not possible,
    # so check every ALS call with abnormal sensory responses carries the flag
    X["crit_sensory_abnormal_count"] = float(ALS_MAX_SENSORY_ABNORMAL + 2)
    for p in predictor.predict_features(X):
        if p.diagnosis == "als":
            assert p.low_confidence
            assert FlagCode.ALS_SENSORY_MIMIC in codes(p)
            assert any("Kennedy" in r.text for r in p.flag_reasons)
        else:
            assert FlagCode.ALS_SENSORY_MIMIC not in codes(p)


def test_unlike_training_data_flag_reaches_the_prediction(predictor: Predictor, features) -> None:
    X = features.iloc[:2].copy()
    X.iloc[0, :] = np.nan  # nothing measured
    preds = predictor.predict_features(X)
    assert preds[0].unlike_training_data
    assert FlagCode.UNLIKE_TRAINING_DATA in codes(preds[0])
    assert any(r.text.startswith("unlike the training data") for r in preds[0].flag_reasons)


def test_predict_bundle_with_few_nerves_and_muscles(predictor: Predictor, fresh_cohort) -> None:
    bundle, _ = fresh_cohort
    sid = bundle.study_ids[0]
    one = bundle.subset([sid])
    small = type(one)(studies=one.studies, ncs=one.ncs.iloc[:2], emg=one.emg.iloc[:1])
    preds = predictor.predict_bundle(small)
    assert len(preds) == 1
    assert preds[0].study_id == sid
    assert sum(preds[0].probabilities.values()) == pytest.approx(1.0)
    assert predictor.feature_frame(small).shape[0] == 1


def test_input_frame_is_not_modified(predictor: Predictor, features) -> None:
    before = features.copy()
    predictor.predict_features(features.iloc[:3])
    pd.testing.assert_frame_equal(features, before)


def test_empty_frame_gives_no_predictions(predictor: Predictor, features) -> None:
    assert predictor.predict_features(features.iloc[:0]) == []


def test_missing_model_dir_says_how_to_train(tmp_path, monkeypatch) -> None:
    with pytest.raises(ModelNotFoundError, match="make run"):
        Predictor.load(tmp_path / "nothing")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ModelNotFoundError, match="data/model"):
        Predictor.load(None)
    assert not (tmp_path / "mlflow.db").exists()


def test_default_is_data_model_when_no_registry(tiny_model_dir, tmp_path, monkeypatch) -> None:
    shutil.copytree(tiny_model_dir, tmp_path / "data" / "model")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert Predictor.load().source == "data/model"


def test_general_lab_prior_shifts_probabilities_towards_normal(tiny_model_dir):
    from tests.helpers.tiny import make_tiny_cohort

    _bundle, X = make_tiny_cohort(60, seed=11)
    trained = Predictor.from_dir(tiny_model_dir)
    general = trained.with_prior("general_lab")
    p_train = np.array([p.probabilities["normal"] for p in trained.predict_features(X)])
    p_general = np.array([p.probabilities["normal"] for p in general.predict_features(X)])
    assert np.all(p_general >= p_train - 1e-12)
    assert np.mean(p_general - p_train) > 0.05
    with pytest.raises(ValueError, match="'prior' parameter"):
        trained.with_prior("tertiary")


def test_the_registry_number_is_read_from_the_model_uri() -> None:
    from models.predictor import _registry_version

    assert _registry_version("models:/emgdx/7") == "7"
    assert _registry_version("data/model") is None
    assert _registry_version("runs:/abc/model") is None


def test_a_registered_model_shows_its_registry_number(predictor: Predictor) -> None:
    from dataclasses import replace

    shown = replace(predictor, registry_version="3").version
    assert shown == f"v3 (model {predictor.meta.version})"
