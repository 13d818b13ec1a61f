"""The prediction set travels with every prediction: predictor, JSON and CSV forms."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from features.vocab import CLASSES
from models.conformal import set_membership
from models.prediction import StudyPrediction, to_flat_frame
from models.predictor import Predictor


@pytest.fixture(scope="module")
def cohort():
    from tests.helpers.tiny import make_tiny_cohort

    return make_tiny_cohort(60, seed=11)[1]


@pytest.mark.parametrize("prior", ["training", "general_lab"])
def test_the_set_uses_the_headline_probabilities_and_the_thresholds_of_its_prior(
    tiny_model_dir, cohort, prior
):
    predictor = Predictor.from_dir(tiny_model_dir).with_prior(prior)
    conformal = predictor.meta.conformal
    assert conformal is not None
    preds = predictor.predict_features(cohort, top_k=1)
    proba = np.array([[p.probabilities[c] for c in CLASSES] for p in preds])
    member = set_membership(proba, conformal.threshold_vector(prior))
    for p, row in zip(preds, member, strict=True):
        assert set(p.prediction_set) == {c for c, m in zip(CLASSES, row, strict=True) if m}
        shown = [p.probabilities[c] for c in p.prediction_set]
        assert shown == sorted(shown, reverse=True)  # probability order
        assert p.prediction_set_coverage == pytest.approx(0.9)
    assert any(len(p.prediction_set) > 1 for p in preds)


def test_the_general_lab_sets_differ_from_the_training_sets(tiny_model_dir, cohort):
    trained = Predictor.from_dir(tiny_model_dir)
    general = trained.with_prior("general_lab")
    a = [p.prediction_set for p in trained.predict_features(cohort, top_k=1)]
    b = [p.prediction_set for p in general.predict_features(cohort, top_k=1)]
    assert a != b


def _prediction(**changes) -> StudyPrediction:
    base = StudyPrediction(
        study_id="S1",
        diagnosis="radiculopathy",
        probabilities=dict.fromkeys(CLASSES, 0.0) | {"radiculopathy": 0.6, "als": 0.4},
        pattern="neurogenic",
        pattern_probability=1.0,
        explanation=[],
        model_name="emgdx",
        model_version="test",
        low_confidence=False,
        unlike_training_data=False,
        prediction_set=["radiculopathy", "als"],
        prediction_set_coverage=0.9,
    )
    return replace(base, **changes)


def test_json_keeps_the_set_as_a_list_and_csv_joins_it():
    doc = json.loads(json.dumps(_prediction().to_dict()))
    assert doc["prediction_set"] == ["radiculopathy", "als"]
    assert doc["prediction_set_coverage"] == 0.9
    flat = to_flat_frame(
        [
            _prediction(),
            _prediction(study_id="S2", prediction_set=[]),
            _prediction(study_id="S3", prediction_set=[], prediction_set_coverage=None),
        ]
    )
    assert flat["prediction_set"].tolist() == ["radiculopathy|als", "", ""]
    assert flat["prediction_set_coverage"].tolist()[:2] == [0.9, 0.9]
    assert flat["prediction_set_coverage"].isna().tolist() == [False, False, True]
