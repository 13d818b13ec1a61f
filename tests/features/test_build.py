"""Tests for features.build: the per-study feature table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.bundle import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.catalog import FEATURES
from features.criteria import CRITERIA_COLUMNS

EXAMPLES = "../shared/spec/examples/bundle"


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c, k in columns.items():
        if c not in df.columns:
            df[c] = np.nan
        elif k == "float":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df[list(columns)]


def make_bundle(studies: list[dict], ncs: list[dict], emg: list[dict]) -> Bundle:
    """A canonical Bundle from row dicts (missing columns NaN)."""
    return Bundle(
        _frame(studies, STUDY_COLUMNS), _frame(ncs, NCS_COLUMNS), _frame(emg, EMG_COLUMNS)
    )


def example_bundle() -> Bundle:
    """The contract's two-study CSV example read with pandas (booleans as 1/0)."""
    tabs = {}
    for name, cols in (("studies", STUDY_COLUMNS), ("ncs", NCS_COLUMNS), ("emg", EMG_COLUMNS)):
        df = pd.read_csv(f"{EXAMPLES}/{name}.csv", dtype={"study_id": str})
        if "muap_unstable" in df.columns:
            df["muap_unstable"] = df["muap_unstable"].map(
                {True: 1.0, False: 0.0, "true": 1.0, "false": 0.0}
            )
        tabs[name] = _frame(df.to_dict("records"), cols)
    return Bundle(tabs["studies"], tabs["ncs"], tabs["emg"])


def test_every_column_has_a_registry_entry_and_is_float():
    X = build_features(example_bundle())
    assert set(X.columns) == set(FEATURES)
    assert all(X.dtypes == np.float64)
    assert 80 <= X.shape[1] <= 150
    for c in CRITERIA_COLUMNS:
        assert c in X.columns


def test_example_bundle_values():
    X = build_features(example_bundle())
    assert list(X.index) == ["demo-myo-001", "demo-axpn-001"]
    ax = X.loc["demo-axpn-001"]
    # absent right sural, 2.5 µV left at 72 y (LLN 1 µV) -> worse side 0 %, asymmetry 0
    assert ax["ncs_sural_sensory_amp_pct_lln"] == 0.0
    assert ax["ncs_sural_sensory_amp_side_ratio"] == 0.0
    assert ax["crit_length_dependent"] == 1.0
    # peroneal EDB 0.9 mV vs LLN 2 mV; proximal 0.8 -> ratio 0.889
    assert ax["ncs_peroneal_motor_amp_pct_lln"] == pytest.approx(45.0)
    assert ax["ncs_peroneal_motor_cb_ratio"] == pytest.approx(0.8 / 0.9)
    assert np.isnan(ax["ncs_ulnar_motor_amp_pct_lln"])  # not tested
    myo = X.loc["demo-myo-001"]
    assert myo["crit_myopathic_muscle_frac"] == pytest.approx(3 / 5)
    assert myo["emg_proximal_myopathic_frac"] == 1.0
    assert myo["cov_muap_numeric_frac"] == pytest.approx(2 / 5)


def test_study_without_tests_is_present_and_nan():
    b = make_bundle(
        [{"study_id": "empty", "age_years": 50}, {"study_id": "x", "age_years": 40}],
        [
            {
                "study_id": "x",
                "nerve": "sural",
                "side": "L",
                "kind": "sensory",
                "stim_site": "calf",
                "amplitude": 12.0,
                "latency_ms": 3.5,
            }
        ],
        [],
    )
    X = build_features(b)
    assert list(X.index) == ["empty", "x"]
    assert np.isnan(X.loc["empty", "ncs_sural_sensory_amp_pct_lln"])
    assert np.isnan(X.loc["empty", "crit_lmn_region_count"])
    assert X.loc["empty", "cov_muscles_count"] == 0
    assert X.loc["x", "ncs_sural_sensory_amp_pct_lln"] == pytest.approx(200.0)


def test_build_does_not_mutate_input_and_chunking_is_invisible():
    b = example_bundle()
    before = [t.copy() for t in (b.studies, b.ncs, b.emg)]
    X1 = build_features(b)
    X2 = build_features(b, chunk_size=1)
    for t0, t1 in zip(before, (b.studies, b.ncs, b.emg), strict=True):
        pd.testing.assert_frame_equal(t0, t1)
    pd.testing.assert_frame_equal(X1, X2)


def test_row_order_within_a_study_does_not_matter_across_studies():
    b = example_bundle()
    shuffled = Bundle(b.studies.iloc[::-1].reset_index(drop=True), b.ncs, b.emg)
    X = build_features(b)
    Y = build_features(shuffled)
    pd.testing.assert_frame_equal(X, Y.loc[X.index])
