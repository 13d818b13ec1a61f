"""Temperature scaling: recovers a known temperature and lowers held-out NLL."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import calibrated_proba, fit_temperature, nll


def _overconfident(n: int, seed: int, true_t: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(logits), scores = logits * true_t (over-confident)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, 6))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits * true_t, y


def test_fit_temperature_recovers_the_over_confidence_factor():
    raw, y = _overconfident(20000, 0)
    assert fit_temperature(raw, y) == pytest.approx(3.0, rel=0.08)


def test_temperature_lowers_nll_on_held_out_data():
    raw_cal, y_cal = _overconfident(3000, 1)
    raw_test, y_test = _overconfident(3000, 2)
    t = fit_temperature(raw_cal, y_cal)
    assert nll(raw_test, y_test, t) < nll(raw_test, y_test, 1.0) - 0.2


def test_calibrated_proba_keeps_ranking_and_sums_to_one():
    raw, _ = _overconfident(100, 3)
    p = calibrated_proba(raw, 2.5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == raw.argmax(axis=1)).all()
    assert p.max(axis=1).mean() < calibrated_proba(raw, 1.0).max(axis=1).mean()


@pytest.mark.parametrize("t", [0.0, -1.0])
def test_calibrated_proba_rejects_non_positive_temperature(t):
    with pytest.raises(ValueError, match="temperature"):
        calibrated_proba(np.zeros((2, 6)), t)


def test_fit_temperature_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="class indices"):
        fit_temperature(np.zeros((3, 6)), np.array([0, 1, 6]))


def test_shift_prior_is_bayes_rule_and_identity_for_the_same_prior():
    from models.calibration import shift_prior

    proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    same = shift_prior(proba, np.array([0.3, 0.7]), np.array([0.3, 0.7]))
    np.testing.assert_allclose(same, proba)
    # training prior 50/50 -> target 80/20: odds multiply by 4
    shifted = shift_prior(proba, np.array([0.5, 0.5]), np.array([0.8, 0.2]))
    np.testing.assert_allclose(shifted[0], [0.8, 0.2])
    np.testing.assert_allclose(shifted[1, 0] / shifted[1, 1], 9 * 4)
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0)


def test_shift_prior_rejects_a_zero_training_share():
    from models.calibration import shift_prior

    with pytest.raises(ValueError, match="train_prior must be positive"):
        shift_prior(np.array([[1.0, 0.0]]), np.array([1.0, 0.0]), np.array([0.5, 0.5]))


def test_gated_calibration_p_normal_depends_on_the_normal_head_alone():
    from models.calibration import Calibration, fit_calibration

    rng = np.random.default_rng(3)
    raw = rng.normal(0.0, 2.0, (600, 6))
    y = raw.argmax(axis=1)
    cal = fit_calibration(raw, y, gated=True, normal_index=0)
    assert cal.normal_gate is not None
    assert cal.normal_gate[0] > 0
    p = cal.apply(raw)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # lowering a disease head never raises P(normal) (MR7); in the softmax form it does
    lower = raw.copy()
    lower[:, 3] -= 5.0
    np.testing.assert_allclose(cal.apply(lower)[:, 0], p[:, 0])
    plain = Calibration(cal.temperature)
    assert (plain.apply(lower)[:, 0] > plain.apply(raw)[:, 0] + 1e-6).any()
    # the disease ranking follows the disease heads
    d = p[:, 1:].argmax(axis=1) + 1
    np.testing.assert_array_equal(d, raw[:, 1:].argmax(axis=1) + 1)
    assert Calibration.from_meta(cal.to_meta()) == cal
    with pytest.raises(ValueError, match="calibration.method"):
        Calibration.from_meta({"method": "isotonic"})
