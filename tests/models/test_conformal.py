"""Class-conditional conformal prediction sets (models/conformal.py) on synthetic probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from crepes import ConformalClassifier
from crepes.extras import hinge

from features.vocab import CLASSES, PRIORS
from models.conformal import (
    ALWAYS,
    ConformalSets,
    class_thresholds,
    coverage_interval,
    coverage_table,
    fit_conformal,
    prediction_sets,
    set_membership,
)
from models.conformal_eval import conformal_metrics, general_lab_mix, risk_coverage

K = len(CLASSES)


def _exchangeable(n: int, seed: int, shares: np.ndarray | None = None):
    """Labels and softmax probabilities of a noisy classifier; one draw of exchangeable studies.

    Classes differ in how well they are separated (class 0 easy, class 5 hard), so one
    marginal threshold would over-cover some classes and under-cover others.
    """
    rng = np.random.default_rng(seed)
    p = np.full(K, 1 / K) if shares is None else shares
    y = rng.choice(K, size=n, p=p)
    signal = np.linspace(3.0, 0.6, K)[y]
    logits = rng.normal(0.0, 1.0, size=(n, K))
    logits[np.arange(n), y] += signal
    e = np.exp(logits)
    return y, e / e.sum(axis=1, keepdims=True)


def test_each_class_is_covered_at_the_nominal_level_on_exchangeable_data():
    y_cal, p_cal = _exchangeable(12_000, seed=1)
    y_test, p_test = _exchangeable(12_000, seed=2)
    q, counts = class_thresholds(p_cal, y_cal, alpha=0.1)
    table = coverage_table(set_membership(p_test, q), y_test)
    for c in CLASSES:
        cov = table["per_class"][c]["coverage"]
        assert 0.875 <= cov <= 0.925, (c, cov)
    assert counts.sum() == 12_000
    # a marginal threshold does not do this: the hard class is covered far less often
    marginal = np.quantile(hinge(p_cal, np.arange(K), y_cal), 0.9, method="higher")
    plain = coverage_table(set_membership(p_test, np.full(K, marginal)), y_test)
    assert plain["per_class"][CLASSES[-1]]["coverage"] < 0.85
    assert plain["per_class"][CLASSES[0]]["coverage"] > 0.95


@pytest.mark.parametrize("n_cal", [900, 9 * K])
def test_thresholds_reproduce_crepes_mondrian_sets(n_cal):
    """The six stored numbers give exactly crepes' class-conditional sets (p-value >= alpha),
    also where a p-value equals alpha (9 studies a class: p-values are multiples of 0.1)."""
    y_cal, p_cal = _exchangeable(n_cal, seed=3)
    if n_cal == 9 * K:
        y_cal = np.repeat(np.arange(K), 9)
    _, p_test = _exchangeable(300, seed=4)
    q, _ = class_thresholds(p_cal, y_cal, alpha=0.2)
    cc = ConformalClassifier().fit(hinge(p_cal, np.arange(K), y_cal), bins=y_cal)
    expected = np.column_stack(
        [
            cc.predict_set(
                hinge(p_test), bins=np.full(len(p_test), k), confidence=0.8, smoothing=False
            )[:, k]
            for k in range(K)
        ]
    ).astype(bool)
    np.testing.assert_array_equal(set_membership(p_test, q), expected)


def test_a_bigger_alpha_gives_smaller_sets():
    y_cal, p_cal = _exchangeable(3000, seed=5)
    _, p_test = _exchangeable(2000, seed=6)
    sizes = []
    members = []
    for alpha in (0.05, 0.1, 0.2, 0.3):
        q, _ = class_thresholds(p_cal, y_cal, alpha=alpha)
        members.append(set_membership(p_test, q))
        sizes.append(members[-1].sum(axis=1).mean())
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > sizes[-1] + 0.5
    for wide, narrow in zip(members, members[1:], strict=False):
        assert not (narrow & ~wide).any()  # nested: a class left out at 0.1 is out at 0.2


def test_a_class_with_too_few_calibration_studies_is_always_in_the_set():
    y_cal, p_cal = _exchangeable(600, seed=7)
    keep = (y_cal != 2) | (np.cumsum(y_cal == 2) <= 5)  # 5 studies of class 2: 1/6 >= 0.1
    q, counts = class_thresholds(p_cal[keep], y_cal[keep], alpha=0.1)
    assert counts[2] == 5
    assert q[2] == ALWAYS
    assert (q[[0, 1, 3, 4, 5]] < ALWAYS).all()


def test_prediction_sets_list_classes_in_probability_order():
    conformal = ConformalSets(
        alpha=0.1,
        thresholds={p: dict.fromkeys(CLASSES, 0.85) for p in PRIORS},
        n_calib=dict.fromkeys(CLASSES, 100),
    )
    proba = np.array(
        [
            [0.05, 0.30, 0.0, 0.0, 0.0, 0.65],  # radiculopathy 0.65, als 0.30 (>= 0.15)
            [0.90, 0.02, 0.02, 0.02, 0.02, 0.02],
            [0.14, 0.14, 0.14, 0.14, 0.30, 0.14],  # only myopathy reaches 0.15
        ]
    )
    sets = prediction_sets(proba, conformal, "training", CLASSES)
    assert sets == [["radiculopathy", "als"], ["normal"], ["myopathy"]]
    assert conformal.coverage == 0.9


def test_the_thresholds_of_each_prior_come_from_that_priors_probabilities():
    y_cal, p_cal = _exchangeable(2000, seed=8)
    shifted = p_cal * np.array([8.0, 0.1, 0.4, 0.1, 0.1, 0.4])
    shifted /= shifted.sum(axis=1, keepdims=True)
    fitted = fit_conformal({"training": p_cal, "general_lab": shifted}, y_cal, alpha=0.1)
    q_train, _ = class_thresholds(p_cal, y_cal, alpha=0.1)
    q_lab, _ = class_thresholds(shifted, y_cal, alpha=0.1)
    np.testing.assert_array_equal(fitted.threshold_vector("training"), q_train)
    np.testing.assert_array_equal(fitted.threshold_vector("general_lab"), q_lab)
    assert not np.array_equal(q_train, q_lab)
    assert sum(fitted.n_calib.values()) == 2000


def test_label_shift_keeps_the_class_conditional_coverage():
    """A general lab's class mix changes how often each class occurs, not its studies: the
    per-class coverage holds at any mix (the overall one is their mix-weighted mean)."""
    y_cal, p_cal = _exchangeable(12_000, seed=9)
    skewed = np.array([0.8, 0.01, 0.08, 0.01, 0.01, 0.09])
    y_test, p_test = _exchangeable(40_000, seed=10, shares=skewed)
    fitted = fit_conformal({"training": p_cal, "general_lab": p_cal}, y_cal, alpha=0.1)
    out = conformal_metrics(fitted, {"training": p_test, "general_lab": p_test}, y_test)
    for c in CLASSES:
        assert out["general_lab"]["per_class"][c]["coverage"] >= 0.86, c
    assert out["general_lab"]["at_general_lab_mix"]["coverage"] >= 0.88


def test_coverage_table_and_general_lab_mix_numbers():
    member = np.zeros((4, K), dtype=bool)
    member[0, [0, 1]] = True  # class 0 covered, size 2
    member[1, 0] = True  # class 0 covered, size 1
    member[2, 2] = True  # class 1 not covered, size 1
    y = np.array([0, 0, 1, 1])  # study 3: empty set, not covered
    table = coverage_table(member, y)
    assert table["per_class"]["normal"] == {
        "n": 2, "coverage": 1.0, "coverage_ci95": coverage_interval(2, 2), "mean_set_size": 1.5
    }  # fmt: skip
    assert table["per_class"]["als"] == {
        "n": 2, "coverage": 0.0, "coverage_ci95": coverage_interval(0, 2), "mean_set_size": 0.5
    }  # fmt: skip
    assert table["per_class"]["myopathy"]["coverage"] is None
    assert table["coverage"] == 0.5
    assert table["share_empty"] == 0.25
    assert table["share_singleton"] == 0.5
    assert table["min_class_coverage"] == 0.0
    mix = general_lab_mix(table["per_class"])
    # normal 0.805 and ALS 0.01 renormalised over the two classes present
    assert mix["coverage"] == pytest.approx(0.805 / 0.815, abs=1e-4)


def test_risk_coverage_answers_the_most_confident_first():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45]])
    y = np.array([0, 1, 1, 0])  # correct: yes, no, yes, yes
    proba6 = np.pad(proba, ((0, 0), (0, K - 2)))
    curve = risk_coverage(proba6, y, None)
    # order by top-1: 0.9 (ok), 0.8 (ok), 0.6 (wrong), 0.55 (ok)
    np.testing.assert_allclose(curve.accuracy, [1.0, 1.0, 2 / 3, 0.75])
    assert curve.at(0.5) == 1.0
    assert curve.at(1.0) == 0.75


def _flatter(p: np.ndarray, power: float) -> np.ndarray:
    """Probabilities of partial reports: the same ranking, less confident (tempered)."""
    e = p**power
    return e / e.sum(axis=1, keepdims=True)


def test_partial_report_copies_keep_coverage_on_thinned_studies():
    """Thresholds of whole studies under-cover flatter (thinned) studies; with thinned copies
    in the fit, both whole and thinned studies are covered at the nominal level."""
    y_cal, p_cal = _exchangeable(12_000, seed=1)
    y_test, p_test = _exchangeable(12_000, seed=2)
    whole = dict.fromkeys(PRIORS, p_cal)
    thin_cal, thin_test = _flatter(p_cal, 0.4), _flatter(p_test, 0.4)
    plain = fit_conformal(whole, y_cal, alpha=0.1)
    both = fit_conformal(whole, y_cal, alpha=0.1, copies=(dict.fromkeys(PRIORS, thin_cal), y_cal))
    q_plain, q_both = plain.threshold_vector("training"), both.threshold_vector("training")
    assert (q_both >= q_plain).all()
    assert (q_both > q_plain).any()
    under = coverage_table(set_membership(thin_test, q_plain), y_test)
    assert under["min_class_coverage"] < 0.85  # whole-study thresholds miss partial reports
    for probs in (thin_test, p_test):
        table = coverage_table(set_membership(probs, q_both), y_test)
        assert table["min_class_coverage"] >= 0.875, table["per_class"]
    assert both.n_calib_copies == dict(
        zip(CLASSES, np.bincount(y_cal, minlength=K).tolist(), strict=True)
    )
    assert plain.n_calib_copies == {}


def test_a_class_with_too_few_copies_keeps_the_whole_studies_threshold():
    y_cal, p_cal = _exchangeable(3_000, seed=3)
    whole = dict.fromkeys(PRIORS, p_cal)
    keep = y_cal != 2
    keep[np.flatnonzero(y_cal == 2)[:5]] = True  # 5 copies of class 2: fewer than 1/alpha - 1
    thin = _flatter(p_cal[keep], 0.3)
    fitted = fit_conformal(
        whole, y_cal, alpha=0.1, copies=(dict.fromkeys(PRIORS, thin), y_cal[keep])
    )
    plain = fit_conformal(whole, y_cal, alpha=0.1)
    q, q0 = fitted.threshold_vector("training"), plain.threshold_vector("training")
    assert q[2] == q0[2] < ALWAYS  # not "always in the set" from five copies
    assert (q[:2] > q0[:2]).all()  # the confident classes take the copies' threshold
    assert fitted.n_calib_copies[CLASSES[2]] == 5


def test_coverage_interval_is_the_wilson_interval():
    ci = coverage_interval(180, 200)
    assert ci is not None
    assert ci["low"] < 0.9 < ci["high"]
    # Wilson: 0.9 +- about 4 points at n = 200 (about 2 points of standard error)
    assert ci["low"] == pytest.approx(0.8506, abs=5e-4)
    assert ci["high"] == pytest.approx(0.9343, abs=5e-4)
    assert coverage_interval(0, 0) is None
    y = np.array([0, 0, 1])
    member = np.zeros((3, K), dtype=bool)
    member[0, 0] = member[2, 1] = True
    table = coverage_table(member, y)
    assert table["per_class"][CLASSES[0]]["coverage_ci95"] == coverage_interval(1, 2)
    assert table["per_class"][CLASSES[3]]["coverage_ci95"] is None
