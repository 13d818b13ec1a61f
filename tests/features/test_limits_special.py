"""Band tests of the H-reflex and RNS limits against the clinical reference.

Sources (``shared/reference/clinical-reference.md``, copied here so the test stands alone):

* T1.3 "H reflex (soleus)": ULN ≈ 34–35 ms (†); healthy 60–88 y: 30.8 ± 2.6 ms; Braddom &
  Johnson nomogram † H ≈ 9.14 + 0.46·leg length (cm) + 0.1·age.
* §7.1 "H reflex": 30 (1.8) at 170 cm → ULN ≈ 34 (reference subject 40 y).
* T1.3 / T3.5 "H side-to-side": latency difference ULN 1.5 ms (young), 1.8 ms (elderly);
  smaller/larger amplitude ratio below 0.4 abnormal (Falco 1994; Jankus 1994).
* Data contract: an RNS decrement above 10 % points to a neuromuscular-junction disorder
  (no number in the clinical reference: †).
"""

from __future__ import annotations

import numpy as np
import pytest

from features.limits_special import (
    h_latency_expected_ms,
    h_latency_uln_ms,
    h_reflex_limits,
    h_side_diff_uln_ms,
    leg_length_cm,
    rns_decrement_abnormal,
)


def test_nomogram_is_the_braddom_johnson_formula() -> None:
    # T1.3: 9.14 + 0.46 * 36 + 0.1 * 50 = 30.70 ms
    assert h_latency_expected_ms(np.array([50.0]), np.array([36.0]))[0] == pytest.approx(30.70)


def test_reference_subject_matches_section_7_1() -> None:
    lim = h_reflex_limits(40, 170)
    assert lim.expected_latency_ms == pytest.approx(30.0, abs=0.5)  # §7.1: 30 (1.8)
    assert 33.0 <= lim.latency_uln_ms <= 35.0  # §7.1 ≈ 34; T1.3 34-35 †
    assert lim.side_diff_uln_ms == 1.5
    assert lim.amp_ratio_lln == 0.4
    assert not lim.bilateral_absence_normal


def test_elderly_nomogram_lies_within_falco_band() -> None:
    # T1.3: healthy 60-88 y 30.8 ± 2.6 ms: the nomogram at 70 y, 170 cm within 1 SD
    expected = h_reflex_limits(70, 170).expected_latency_ms
    assert 30.8 - 2.6 <= expected <= 30.8 + 2.6


def test_limits_grow_with_height_and_age_and_missing_height_is_170_cm() -> None:
    uln = h_latency_uln_ms(np.array([40.0, 40.0, 80.0, 40.0]), np.array([160.0, 190, 160, np.nan]))
    assert uln[1] > uln[0]
    assert uln[2] - uln[0] == pytest.approx(4.0)  # 0.1 ms per year, T1.3
    assert uln[3] == pytest.approx(h_reflex_limits(40, 170).latency_uln_ms)
    assert leg_length_cm(np.array([np.nan]))[0] == pytest.approx(
        leg_length_cm(np.array([170.0]))[0]
    )


def test_measured_leg_length_wins_over_height() -> None:
    assert h_reflex_limits(40, 150, leg_length=40.0).leg_length_cm == 40.0
    assert (
        h_latency_uln_ms(np.array([40.0]), np.array([150.0]), np.array([40.0]))[0]
        > (h_latency_uln_ms(np.array([40.0]), np.array([150.0]))[0])
    )


def test_side_difference_limit_steps_at_60_years() -> None:
    assert h_side_diff_uln_ms(np.array([59.9, 60.0, 85.0])).tolist() == [1.5, 1.8, 1.8]
    assert h_reflex_limits(60).bilateral_absence_normal


def test_rns_decrement_above_10_pct_is_abnormal_and_missing_stays_missing() -> None:
    out = rns_decrement_abnormal(np.array([10.0, 10.5, -5.0, np.nan]))
    assert out[:3].tolist() == [0.0, 1.0, 0.0]
    assert np.isnan(out[3])
