"""Evaluation metrics on tiny hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES
from models.evaluate import (
    age_band,
    classification_metrics,
    confusion_frame,
    expected_calibration_error,
    pattern_proba,
    reliability_table,
    subgroup_metrics,
)


def _onehot(pred: list[int], conf: float = 1.0) -> np.ndarray:
    p = np.full((len(pred), 6), (1 - conf) / 5)
    p[np.arange(len(pred)), pred] = conf
    return p


def test_macro_f1_and_pattern_accuracy_on_a_known_confusion():
    # normal=0, als=1, axonal=2, demyel=3, myopathy=4, radic=5
    y = np.array([0, 0, 1, 1, 2, 3, 4, 5])
    pred = [0, 1, 1, 2, 2, 3, 4, 5]  # one normal->als, one als->axonal (same pattern)
    m = classification_metrics(y, _onehot(pred, 0.9))
    # per class F1: normal 2/3, als 1/2, axonal 2/3, others 1 -> mean
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 1 / 2, 2 / 3, 1, 1, 1]), abs=1e-4)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["pattern_accuracy"] == pytest.approx(7 / 8)  # als->axonal stays neurogenic
    assert m["per_class"]["normal"]["recall"] == pytest.approx(0.5)
    assert m["per_class"]["als"]["precision"] == pytest.approx(0.5)


def test_confusion_frame_rows_are_actual():
    cm = confusion_frame(np.array([0, 0, 4]), np.array([0, 4, 4]))
    assert cm.loc["normal", "myopathy"] == 1
    assert cm.loc["myopathy", "myopathy"] == 1
    assert cm.to_numpy().sum() == 3


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_over_confident():
    y = np.array([0] * 8 + [1] * 2)
    calibrated = np.tile([0.8, 0.2, 0, 0, 0, 0], (10, 1))  # 80 % confident, 80 % right
    assert expected_calibration_error(calibrated, y) == pytest.approx(0.0, abs=1e-9)
    over = np.tile([0.99, 0.01, 0, 0, 0, 0], (10, 1))
    assert expected_calibration_error(over, y) == pytest.approx(0.19, abs=1e-9)
    table = reliability_table(over, y)
    assert table["count"].sum() == 10


def test_pattern_proba_sums_neurogenic_classes():
    p = np.array([[0.1, 0.2, 0.2, 0.1, 0.3, 0.1]])
    np.testing.assert_allclose(pattern_proba(p), [[0.6, 0.3, 0.1]])


def test_auc_is_one_for_perfect_ranking():
    y = np.repeat(np.arange(6), 3)
    m = classification_metrics(y, _onehot(list(y), 0.7))
    assert m["auc_ovr_macro"] == pytest.approx(1.0)
    assert all(m["per_class"][c]["auc"] == pytest.approx(1.0) for c in CLASSES)


def test_age_band_labels_and_unknown():
    bands = age_band(pd.Series([30, 40, 59.9, 75, np.nan]), [0, 40, 60, 75, 120])
    assert bands.tolist() == ["<40", "40-59", "40-59", "75+", "unknown"]


def test_subgroup_metrics_skips_small_groups():
    y = np.array([0] * 30 + [1] * 5)
    groups = pd.Series(["F"] * 30 + ["M"] * 5)
    out = subgroup_metrics(y, _onehot(list(y)), groups, min_n=20)
    assert set(out) == {"F"}
    assert out["F"]["accuracy"] == 1.0
