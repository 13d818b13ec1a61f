"""Tests for features.build: the per-study feature table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.build import build_features
from features.catalog import FEATURES
from features.criteria import CRITERIA_COLUMNS
from features.focal import outside_focal_territories

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bundle"


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
    assert 80 <= X.shape[1] <= 170
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


# --- the fast paths give the same table as the slow, obvious computation -----------------------


@pytest.fixture(scope="module")
def simulated() -> Bundle:
    from simulator.cohort import simulate_cohort

    return simulate_cohort(300, seed=3)


def _one_study(b: Bundle, sid: str) -> Bundle:
    return Bundle(
        b.studies[b.studies["study_id"] == sid],
        b.ncs[b.ncs["study_id"] == sid],
        b.emg[b.emg["study_id"] == sid],
    )


def test_study_by_study_equals_the_batch_exactly(simulated):
    # one study uses the per-value lookups, the batch pd.factorize; chunks and dtypes are invisible
    X = build_features(simulated)
    ids = list(simulated.studies["study_id"].iloc[:40])
    one_by_one = pd.concat([build_features(_one_study(simulated, s)) for s in ids])
    pd.testing.assert_frame_equal(one_by_one, X.loc[ids], check_exact=True)
    pd.testing.assert_frame_equal(build_features(simulated, chunk_size=7), X, check_exact=True)
    as_object = Bundle(
        *(
            t.astype(object).infer_objects()
            for t in (simulated.studies, simulated.ncs, simulated.emg)
        )
    )
    Y = build_features(as_object)
    pd.testing.assert_frame_equal(Y, X, check_exact=True, check_index_type=False)
    # studies' row blocks in a random order (distal-first order kept within each study)
    rank = np.random.default_rng(0).permutation(len(simulated.studies))
    rank_of = dict(zip(simulated.studies["study_id"], rank, strict=True))
    ncs_rank = simulated.ncs["study_id"].map(rank_of).to_numpy()
    shuffled = Bundle(
        simulated.studies,
        simulated.ncs.iloc[np.argsort(ncs_rank, kind="stable")],
        simulated.emg.iloc[::-1],
    )
    pd.testing.assert_frame_equal(build_features(shuffled, chunk_size=7), X, check_exact=True)


def test_grouped_columns_match_a_plain_pandas_groupby(simulated):
    X = build_features(simulated)
    # the features read the study without isolated focal lesions' territories (features.focal)
    simulated, left_out = outside_focal_territories(simulated)
    assert left_out  # the simulated comorbid entrapments include isolated ones
    emg, ncs = simulated.emg, simulated.ncs
    grade = np.fmax(emg["fibs"].to_numpy(), emg["psw"].to_numpy())
    by = pd.Series(grade, index=emg.index).groupby(emg["study_id"].astype(str))
    pd.testing.assert_series_equal(
        X["emg_max_fib_grade"], by.max().reindex(X.index), check_names=False
    )
    np.testing.assert_allclose(X["emg_mean_fib_grade"], by.mean().reindex(X.index), rtol=1e-12)
    counts = emg.groupby(emg["study_id"].astype(str)).size().reindex(X.index, fill_value=0)
    np.testing.assert_array_equal(X["cov_muscles_count"], counts.to_numpy(dtype=float))
    motor = ncs[ncs["kind"] == "motor"]
    sites = motor.groupby(motor["study_id"].astype(str)).size().reindex(X.index, fill_value=0)
    np.testing.assert_array_equal(X["cov_motor_sites_count"], sites.to_numpy(dtype=float))
    # sensory amplitude % LLN: distal (first) row per nerve side, worse side
    from features.limits import ncs_limits

    sens = ncs[ncs["kind"] == "sensory"]
    lim = ncs_limits(sens, simulated.studies)
    lln = lim["amplitude_lln"].to_numpy()
    amp = sens["amplitude"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        # a zero limit (absence acceptable from 75 y): absent at 100 %, present above it
        pct = np.where(lln > 0, 100.0 * amp / lln, np.where(lln == 0, 100.0 * (1 + amp), np.nan))
    frame = sens.assign(pct=np.where(np.isnan(amp), np.nan, pct), sid=sens["study_id"].astype(str))
    distal = frame.groupby(["sid", "nerve", "side"], sort=False).head(1)
    worse = distal.groupby(["sid", "nerve"])["pct"].min()
    for nerve in ("median", "sural"):
        expected = worse.xs(nerve, level="nerve").reindex(X.index)
        np.testing.assert_allclose(
            X[f"ncs_{nerve}_sensory_amp_pct_lln"], expected, rtol=1e-12, equal_nan=True
        )


def test_vocab_lookups_match_pandas_for_one_study_and_a_cohort():
    from features._grouping import lookup_values, vocab_codes

    vocab = ("L", "R", "M")
    base = ["L", "R", None, "x", "M", np.nan, "R"]
    for n in (len(base), 300 * len(base)):  # per-value path and pd.factorize path
        for dtype in (object, "str"):
            s = pd.Series((base * 300)[:n], dtype=dtype)
            expected = [vocab.index(v) if isinstance(v, str) and v in vocab else -1 for v in s]
            np.testing.assert_array_equal(vocab_codes(s, vocab), expected)
            mapping = {"L": 1.0, "R": 0.0}
            np.testing.assert_array_equal(
                lookup_values(s, mapping, np.nan), s.map(mapping).to_numpy(dtype=float)
            )
    with_na = pd.Series(["L", pd.NA, "R"], dtype=object)
    np.testing.assert_array_equal(vocab_codes(with_na, vocab), [0, -1, 1])


def test_second_lowest_leg_snap_counts_both_sides_and_is_nan_with_one():
    from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS

    def frame(rows, columns):
        out = pd.DataFrame(rows).reindex(columns=list(columns))
        for col, kind in columns.items():
            out[col] = out[col].astype("float64" if kind == "float" else object)
        return out

    def sural(sid, side, amp):
        return {
            "study_id": sid,
            "nerve": "sural",
            "side": side,
            "kind": "sensory",
            "stim_site": "calf",
            "recording_site": "lateral_malleolus",
            "latency_ms": 3.6 if amp > 0 else None,
            "amplitude": amp,
            "distance_mm": 140.0,
        }

    b = Bundle(
        frame([{"study_id": s, "age_years": 40} for s in ("two", "one")], STUDY_COLUMNS),
        frame(
            [sural("two", "L", 3.0), sural("two", "R", 0.0), sural("one", "L", 3.0)], NCS_COLUMNS
        ),
        frame([], EMG_COLUMNS),
    )
    X = build_features(b)
    # the absent right sural is the lowest, the left one (3 µV) the second-lowest
    assert X.loc["two", "ncs_sensory_lower_second_amp_pct_lln"] == pytest.approx(
        X.loc["one", "ncs_sural_sensory_amp_pct_lln"]
    )
    assert X.loc["two", "ncs_sensory_lower_min_amp_pct_lln"] == 0.0
    assert np.isnan(X.loc["one", "ncs_sensory_lower_second_amp_pct_lln"])
