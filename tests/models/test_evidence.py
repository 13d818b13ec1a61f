"""Evidence-aware targets, the unassessable-ALS cap and the limitation sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES
from models.evidence import (
    ALS_UNASSESSABLE_MAX_P,
    cap_unassessable_als,
    class_lacks_evidence,
    electrodiagnostic_reference,
    expand_soft,
    limitations,
    soft_targets,
)

ALS = CLASSES.index("als")


def rows(**cols: list[float]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "cov_muscles_count": [8.0] * n,
        "cov_motor_nerves_count": [3.0] * n,
        "cov_sensory_nerves_count": [3.0] * n,
        "crit_regions_examined_count": [3.0] * n,
        "crit_lmn_region_count": [0.0] * n,
        "ncs_sural_sensory_amp_pct_lln": [120.0] * n,
        "crit_neurogenic_muscle_frac": [0.0] * n,
        "crit_myopathic_muscle_frac": [0.0] * n,
    }
    base.update(cols)
    return pd.DataFrame(base, index=[f"s{i}" for i in range(n)])


def test_als_with_two_lmn_regions_stays_certain_one_region_becomes_soft():
    X = rows(crit_lmn_region_count=[3.0, 1.0], crit_neurogenic_muscle_frac=[0.8, 0.8])
    t = soft_targets(X, np.array(["als", "als"], dtype=object))
    assert t[0, ALS] == 1.0
    assert 0 < t[1, ALS] < 0.5
    assert t[1, CLASSES.index("radiculopathy")] > 0
    np.testing.assert_allclose(t.sum(axis=1), 1.0)


def test_needle_diagnoses_without_emg_and_demyelination_without_motor_ncs_are_soft():
    X = rows(
        cov_muscles_count=[0.0, 0.0, 8.0, 8.0],
        cov_motor_nerves_count=[3.0, 3.0, 0.0, 3.0],
        crit_myopathic_muscle_frac=[np.nan, np.nan, 0.5, 0.5],
    )
    y = np.array(["radiculopathy", "myopathy", "demyelinating_pn", "myopathy"], dtype=object)
    t = soft_targets(X, y)
    assert t[0, CLASSES.index("radiculopathy")] <= 0.4
    assert t[1, CLASSES.index("myopathy")] <= 0.4
    assert t[2, CLASSES.index("demyelinating_pn")] < 1.0
    assert t[3, CLASSES.index("myopathy")] == 1.0  # myopathic muscles present: certain


def test_normal_is_never_softened():
    X = rows(cov_muscles_count=[0.0])
    assert soft_targets(X, np.array(["normal"], dtype=object))[0, CLASSES.index("normal")] == 1.0


def test_weighted_duplication_keeps_each_study_total_weight():
    X = rows(crit_lmn_region_count=[1.0, 3.0])
    t = soft_targets(X, np.array(["als", "als"], dtype=object))
    Xr, y, w = expand_soft(X, t, np.array([2.0, 1.0]))
    assert len(Xr) == 1 + (t[0] > 0).sum()
    assert w[Xr.index == "s0"].sum() == pytest.approx(2.0)
    assert set(y[Xr.index == "s0"]) == set(np.flatnonzero(t[0]))


def test_cap_keeps_unassessable_als_below_even_and_other_diseases_in_order():
    NORMAL = CLASSES.index("normal")
    p = np.array([[0.05, 0.80, 0.05, 0.02, 0.03, 0.05], [0.1, 0.8, 0.02, 0.02, 0.02, 0.04]])
    out = cap_unassessable_als(p, np.array([False, True]), ALS)
    assert out[0, ALS] == pytest.approx(ALS_UNASSESSABLE_MAX_P)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, NORMAL] == p[0, NORMAL]  # the cap never makes a study more normal (MR7)
    diseases = [i for i in range(6) if i not in (ALS, NORMAL)]
    assert np.argsort(out[0, diseases]).tolist() == np.argsort(p[0, diseases]).tolist()
    np.testing.assert_array_equal(out[1], p[1])  # assessable: unchanged
    # nothing on the other diseases: the excess goes to radiculopathy
    q = np.zeros((1, 6))
    q[0, ALS], q[0, NORMAL] = 0.9, 0.1
    out = cap_unassessable_als(q, np.array([False]), ALS)
    assert out[0, CLASSES.index("radiculopathy")] == pytest.approx(0.45)


def test_limitations_name_what_is_missing():
    X = rows(
        cov_muscles_count=[0.0, 4.0, 1.0],
        crit_regions_examined_count=[0.0, 1.0, 1.0],
        cov_motor_nerves_count=[3.0, 0.0, 0.0],
        cov_sensory_nerves_count=[3.0, 0.0, 0.0],
        ncs_sural_sensory_amp_pct_lln=[100.0, np.nan, np.nan],
    )
    notes = limitations(X)
    assert any("Needle EMG not done" in n for n in notes[0])
    assert any("ALS cannot be assessed from one region" in n for n in notes[1])
    assert any("Nerve conduction studies not done" in n for n in notes[1])
    assert any("Only one muscle examined" in n for n in notes[2])


def test_a_normal_half_study_lacks_evidence_a_full_one_does_not():
    X = rows(cov_muscles_count=[0.0, 8.0])
    lacks = class_lacks_evidence(X, np.array(["normal", "normal"], dtype=object))
    assert lacks.tolist() == [True, False]


def test_electrodiagnostic_reference_is_what_the_findings_allow():
    # ALS with LMN signs in 3 regions; ALS seen in one region (inconclusive: ALS or root);
    # myopathy without a myopathic muscle (a normal study); myopathy with one (myopathy)
    X = rows(
        crit_lmn_region_count=[3.0, 1.0, 0.0, 0.0],
        crit_neurogenic_muscle_frac=[0.8, 0.8, 0.0, 0.0],
        crit_myopathic_muscle_frac=[0.0, 0.0, 0.0, 0.5],
    )
    y = np.array(["als", "als", "myopathy", "myopathy"], dtype=object)
    ref = electrodiagnostic_reference(X, y)
    assert list(ref) == ["als", "", "normal", "myopathy"]
