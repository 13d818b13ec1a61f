"""Scope assessment and headline (models/scope.py): mixture, thresholds, headline rules."""

from __future__ import annotations

import numpy as np
import pytest

from features.build import build_features
from features.vocab import CLASSES
from models import scope
from models.oos_eval import oos_training_features
from simulator.cohort import simulate_cohort
from simulator.out_of_scope import PROXY_CLASS

_ALS = CLASSES.index("als")


def test_soft_targets_follow_the_simulator_proxies_and_sum_to_one() -> None:
    for c, t in scope.SOFT_TARGETS.items():
        assert max(t, key=t.get) == PROXY_CLASS[c]
        assert sum(t.values()) == pytest.approx(1.0)
        assert max(t.values()) <= 0.6  # never taught as a certain member of a class
        assert t.get("myopathy", 0.0) == 0.0  # not for a neurogenic or sensory pattern


def test_mixture_keeps_probabilities_and_moderates_als() -> None:
    P = np.tile(np.eye(6)[_ALS], (3, 1))  # a certain ALS call
    Q = np.zeros((3, len(scope.OUTCOMES)))
    Q[0, 0] = 1.0  # in scope: unchanged
    Q[1, 1 + scope.LEARNT_CONDITIONS.index("kennedy")] = 1.0
    Q[2, 0], Q[2, 1 + scope.LEARNT_CONDITIONS.index("post_polio")] = 0.5, 0.5
    M = scope.mix_probabilities(P, Q)
    np.testing.assert_allclose(M.sum(axis=1), 1.0)
    assert M[0, _ALS] == pytest.approx(1.0)
    assert M[1, _ALS] == pytest.approx(0.6)
    assert M[2, _ALS] == pytest.approx(0.725)  # at the threshold 0.5 at most 0.75 < 0.9


def test_the_als_cap_holds_after_the_mixture() -> None:
    """Kennedy's soft target is mostly ALS: mixed in, it lifted a one-region study's P(ALS)
    above an even chance; capped after the mixture it stays at the cap."""
    from models.evidence import ALS_UNASSESSABLE_MAX_P

    P = np.tile(np.eye(6)[CLASSES.index("radiculopathy")] * 0.6 + np.eye(6)[_ALS] * 0.4, (2, 1))
    Q = np.zeros((2, len(scope.OUTCOMES)))
    Q[:, 1 + scope.LEARNT_CONDITIONS.index("kennedy")] = 1.0
    assert scope.mix_probabilities(P, Q)[0, _ALS] > ALS_UNASSESSABLE_MAX_P
    M = scope.mixed_capped(P, Q, np.array([False, True]))
    np.testing.assert_allclose(M.sum(axis=1), 1.0)
    assert M[0, _ALS] == pytest.approx(ALS_UNASSESSABLE_MAX_P)  # one region: capped
    assert M[1, _ALS] == pytest.approx(scope.mix_probabilities(P, Q)[1, _ALS])  # two: kept


def test_als_leading_where_it_cannot_be_established_is_stated_as_insufficient() -> None:
    inside = scope.ScopeAssessment("in_scope", 0.1, None, "Within the six classes.")
    outside = _assessment("outside")
    scopes = [inside, inside, inside, outside, None]
    top_is_als = np.array([True, True, False, True, True])
    assessable = np.array([False, True, False, False, False])
    out = scope.als_unestablished_assessments(scopes, top_is_als, assessable)
    assert [a.status if a else None for a in out] == [
        "insufficient",
        "in_scope",
        "in_scope",
        "outside",
        "insufficient",
    ]
    assert out[0].reason == scope.ALS_UNESTABLISHED
    assert scope.headline("als", out[0], []).startswith("Not enough to establish ALS")
    assert scope.headline_class("als", out[0], False) is None
    assert scope.headline("als", out[3], []).startswith("Outside the six classes")


def _assessment(status: str) -> scope.ScopeAssessment:
    return scope.ScopeAssessment(status, 0.9, "kennedy", "why")  # type: ignore[arg-type]


def test_headline_never_states_a_class_for_outside_or_insufficient() -> None:
    out = scope.headline("als", _assessment("outside"), [])
    assert out == "Outside the six classes — most like Kennedy disease (SBMA)"
    assert scope.headline_class("als", _assessment("outside"), False) is None
    assert scope.headline("als", _assessment("insufficient"), []) == "Not enough examined to say"
    assert scope.headline_class("als", _assessment("insufficient"), False) is None
    inside = scope.ScopeAssessment("in_scope", 0.1, None, "")
    assert scope.headline("als", inside, []) == "ALS / motor neuron disease"
    assert scope.headline_class("als", inside, False) == "als"


def test_headline_states_a_focal_finding_instead_of_normal() -> None:
    cts = ["right median neuropathy at the wrist (carpal tunnel), moderate"]
    assert scope.headline("normal", None, cts).startswith("Focal neuropathy: right median")
    assert scope.headline_class("normal", None, True) is None
    assert scope.headline("radiculopathy", None, cts).startswith("Radiculopathy, with right")


def test_insufficient_coverage() -> None:
    import pandas as pd

    X = pd.DataFrame(
        {"cov_motor_nerves_count": [1, 2, 0], "cov_sensory_nerves_count": [0, 1, 0],
         "cov_muscles_count": [2, 0, 6]}
    )  # fmt: skip
    assert scope.insufficient(X).tolist() == [True, False, False]


def test_tiny_detector_separates_conditions_and_outside_studies_are_never_p_als_09() -> None:
    X_in = build_features(simulate_cohort(500, 3))
    X_oos, cond = oos_training_features(300, 4)
    det = scope.train_detector(X_in.iloc[:400], X_oos, cond, X_in.iloc[400:], num_boost_round=15)
    assert det.threshold >= 0.5
    X_new, cond_new = oos_training_features(150, 5)
    Q = det.proba(X_new)
    assessed = scope.assess(Q, det.threshold, scope.insufficient(X_new))
    outside = np.array([a.status == "outside" for a in assessed])
    learnt = np.isin(cond_new, scope.LEARNT_CONDITIONS)
    assert outside[learnt].mean() > 0.6  # even a 15-round detector finds most of them
    P = np.tile(np.eye(6)[_ALS], (len(X_new), 1))  # worst case: the six-class model says ALS
    M = scope.mix_probabilities(P, Q)
    assert (M[outside, _ALS] < 0.9).all()
    assert (1.0 - det.proba(X_in.iloc[400:])[:, 0] >= det.threshold).mean() < 0.15


def test_in_scope_training_studies_take_outside_protocols() -> None:
    """A share of the detector's in-scope studies keep only what an outside study tested, so
    that "which tests are missing" does not say "outside" (vig_radic_06: no leg NCS)."""
    import pandas as pd

    from models.oos_eval import in_scope_training_features, oos_training_bundle

    bundle = simulate_cohort(300, 3)
    oos, _ = oos_training_bundle(200, 4)
    ids = pd.Index(bundle.study_ids)

    def no_leg_share(X: pd.DataFrame) -> float:
        return float(X["ncs_motor_lower_min_amp_pct_lln"].isna().mean())

    X0 = in_scope_training_features(bundle, ids, oos, max_studies=250, p_transplant=0.0, seed=1)
    X1 = in_scope_training_features(bundle, ids, oos, max_studies=250, p_transplant=1.0, seed=1)
    assert len(X0) == len(X1) == 250
    assert set(X0.index) <= set(ids)
    # the outside studies' arm conditions come with arm-only or EMG-only protocols: after the
    # transplant, in-scope studies without leg CMAPs are at least as common as outside ones
    X_oos = build_features(oos)
    assert no_leg_share(X0) + 0.2 < no_leg_share(X1)
    assert no_leg_share(X1) >= no_leg_share(X_oos)


def test_findings_that_rule_a_condition_out_move_its_mass_to_in_scope() -> None:
    import pandas as pd

    X = pd.DataFrame(
        {
            # bulbar fibrillations: not a cervical myelopathy (T3.6)
            "emg_bulbar_fibs_frac": [1.0, 0.0, np.nan, 0.0],
            "emg_thoracic_lmn_muscle_frac": [0.0, 0.0, np.nan, 0.0],
            # every arm SNAP normal with both trunks' SNAPs recorded: not a plexopathy (T3.5)
            "ncs_sensory_upper_min_amp_pct_lln": [180.0, 180.0, np.nan, 60.0],
            "ncs_median_sensory_amp_pct_lln": [200.0, 200.0, np.nan, 200.0],
            "ncs_radial_sensory_amp_pct_lln": [np.nan, 210.0, np.nan, 210.0],
            "ncs_ulnar_sensory_amp_pct_lln": [180.0, 180.0, np.nan, 60.0],
        }
    )
    ex = scope.excluded_conditions(X)
    plex = scope.LEARNT_CONDITIONS.index("brachial_plexopathy")
    myel = scope.LEARNT_CONDITIONS.index("cervical_myelopathy")
    assert ex[:, myel].tolist() == [True, False, False, False]
    # a low ulnar SNAP keeps a lower-trunk plexopathy possible; not measured rules nothing out
    assert ex[:, plex].tolist() == [True, True, False, False]
    Q = np.full((4, len(scope.OUTCOMES)), 1.0 / len(scope.OUTCOMES))
    out = scope.apply_exclusions(Q, ex)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, 1 + plex] == 0.0
    assert out[0, 1 + myel] == 0.0
    assert out[0, 0] == pytest.approx(3.0 / len(scope.OUTCOMES))
    np.testing.assert_array_equal(out[2], Q[2])
