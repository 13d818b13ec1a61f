"""The guideline check and the ALS-mimic flag, against expectations these tests set up.

They replace two checks that could not fail: one restated the code (``agrees`` equals
``rule_diagnosis == diagnosis``), the other looped over ALS calls that the data never made.
Flag reasons are read through ``getattr(r, "text", r)`` (text, or a code with its text).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.predictor import Predictor
from models.rules import ALS_MAX_SENSORY_ABNORMAL
from tests.models.test_rules import ROWS


def _texts(prediction) -> list[str]:
    return [str(getattr(r, "text", r)) for r in prediction.flag_reasons]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: Path) -> Predictor:
    return Predictor.load(tiny_model_dir)


@pytest.fixture(scope="module")
def archetypes(fresh_cohort) -> pd.DataFrame:
    """Real feature rows whose criteria columns are the hand-made archetypes of test_rules."""
    X = fresh_cohort[1].iloc[: len(ROWS)].copy()
    for (name, row), study in zip(ROWS.items(), X.index, strict=True):
        for col, value in row.items():
            X.loc[study, col] = value
        X = X.rename(index={study: name})
    return X


def test_guideline_reports_the_archetype_and_notes_a_disagreement(predictor, archetypes):
    preds = predictor.predict_features(archetypes)
    for p in preds:
        g = p.guideline
        assert g["rule_diagnosis"] == p.study_id  # each archetype row is its class
        if p.diagnosis == p.study_id:
            assert g["agrees"] is True
            assert "note" not in g
        else:
            assert g["agrees"] is False
            assert "check the study against the criteria" in g["note"]
    als = next(p for p in preds if p.study_id == "als")
    assert als.guideline["lmn_regions"].startswith("3 of 3 regions")


def test_every_als_call_with_abnormal_sensory_responses_is_flagged(predictor, fresh_cohort):
    X = fresh_cohort[1]
    called = [p.study_id for p in predictor.predict_features(X) if p.diagnosis == "als"]
    assert called, "the cohort must hold studies the model calls ALS"
    abnormal = X.loc[called].assign(crit_sensory_abnormal_count=ALS_MAX_SENSORY_ABNORMAL + 2.0)
    preds = predictor.predict_features(abnormal)
    still = [p for p in preds if p.diagnosis == "als"]
    assert still, "some ALS calls must survive the abnormal sensory responses"
    for p in still:
        assert p.low_confidence
        assert any("Kennedy" in t for t in _texts(p))
    normal = X.loc[called].assign(crit_sensory_abnormal_count=0.0)
    for p in predictor.predict_features(normal):
        assert not any("Kennedy" in t for t in _texts(p))
