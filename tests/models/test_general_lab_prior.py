"""Evaluation at the class mix of a general EMG lab (clinical reference §7.5)."""

from __future__ import annotations

import numpy as np

from features.vocab import CLASSES, GENERAL_LAB_PRIOR
from models.scoring import general_lab_metrics


def _confusable_cohort(n_per_class: int = 400, seed: int = 0):
    """Labels at a uniform mix; probabilities that are calibrated for that mix."""
    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    codes = np.repeat(np.arange(k), n_per_class)
    logits = rng.normal(0.0, 1.0, (codes.size, k))
    logits[np.arange(codes.size), codes] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return codes, proba


def test_resampling_follows_the_general_lab_mix_and_correction_helps_accuracy():
    codes, proba = _confusable_cohort()
    uniform = {c: 1 / len(CLASSES) for c in CLASSES}
    out = general_lab_metrics(codes, proba, uniform, n_bins=10, seed=1, n_draws=20_000)
    raw, corrected = out["lightgbm"], out["lightgbm_prior_corrected"]
    # most studies in a general lab are normal: the prior-corrected model gets more of them right
    assert corrected["accuracy"] > raw["accuracy"] + 0.05
    assert GENERAL_LAB_PRIOR["normal"] > 0.7
    assert set(raw) == set(corrected)
