"""Tests for features.augment.drop_tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.augment import drop_tests
from features.build import build_features

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bundle"


def _frame(rows, columns):
    df = pd.DataFrame(rows)
    for c, k in columns.items():
        if c not in df.columns:
            df[c] = np.nan
        elif k == "float":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df[list(columns)]


def cohort(k: int = 40) -> Bundle:
    """The 2-study example repeated ``k`` times with distinct study ids."""
    tabs = {}
    for name, cols in (("studies", STUDY_COLUMNS), ("ncs", NCS_COLUMNS), ("emg", EMG_COLUMNS)):
        df = pd.read_csv(f"{EXAMPLES}/{name}.csv", dtype={"study_id": str})
        if "muap_unstable" in df.columns:
            df["muap_unstable"] = df["muap_unstable"].map({True: 1.0, False: 0.0})
        df = _frame(df.to_dict("records"), cols)
        rep = pd.concat([df] * k, ignore_index=True)
        rep["study_id"] = rep["study_id"] + "-" + np.repeat(np.arange(k), len(df)).astype(str)
        tabs[name] = rep
    return Bundle(tabs["studies"], tabs["ncs"], tabs["emg"])


def test_deterministic_and_never_adds_rows_or_mutates_input():
    b = cohort()
    before = [t.copy() for t in (b.studies, b.ncs, b.emg)]
    a1 = drop_tests(b, np.random.default_rng(7))
    a2 = drop_tests(b, np.random.default_rng(7))
    for x, y in zip((a1.studies, a1.ncs, a1.emg), (a2.studies, a2.ncs, a2.emg), strict=True):
        pd.testing.assert_frame_equal(x, y)
    for t0, t1 in zip(before, (b.studies, b.ncs, b.emg), strict=True):
        pd.testing.assert_frame_equal(t0, t1)
    assert len(a1.studies) == len(b.studies)
    assert len(a1.ncs) < len(b.ncs)
    assert len(a1.emg) < len(b.emg)
    assert set(a1.ncs["study_id"]) <= set(b.ncs["study_id"])
    a3 = drop_tests(b, np.random.default_rng(8))
    assert not a3.ncs.equals(a1.ncs)


def test_zero_probabilities_change_nothing():
    b = cohort(3)
    zero = dict.fromkeys(
        (
            "p_drop_nerve",
            "p_drop_muscle",
            "p_drop_region",
            "p_drop_limb",
            "p_drop_numeric_muap",
            "p_drop_value",
            "p_drop_temperature",
        ),
        0.0,
    )
    a = drop_tests(b, np.random.default_rng(0), **zero)
    pd.testing.assert_frame_equal(a.ncs, b.ncs)
    pd.testing.assert_frame_equal(a.emg, b.emg)
    pd.testing.assert_frame_equal(a.studies, b.studies)


def test_whole_nerves_dropped_together():
    b = cohort(20)
    a = drop_tests(
        b,
        np.random.default_rng(1),
        p_drop_nerve=1.0,
        nerve_share=0.5,
        p_drop_muscle=0,
        p_drop_region=0,
        p_drop_limb=0,
        p_drop_numeric_muap=0,
        p_drop_value=0,
        p_drop_temperature=0,
    )
    key = ["study_id", "nerve", "side"]
    full = b.ncs.groupby(key).size()
    kept = a.ncs.groupby(key).size()
    assert (kept == full.loc[kept.index]).all()  # a kept nerve keeps all its rows
    assert 0.2 < len(kept) / len(full) < 0.8


def test_numeric_muap_to_grades_keeps_size_score_features():
    b = cohort(2)
    a = drop_tests(
        b,
        np.random.default_rng(0),
        p_drop_nerve=0,
        p_drop_muscle=0,
        p_drop_region=0,
        p_drop_limb=0,
        p_drop_numeric_muap=1.0,
        p_drop_value=0,
        p_drop_temperature=0,
    )
    assert a.emg["muap_duration_ms"].isna().all()
    assert a.emg["muap_duration_grade"].notna().sum() > b.emg["muap_duration_grade"].notna().sum()
    X, Y = build_features(b), build_features(a)
    for c in (
        "emg_cervical_small_muap_frac",
        "emg_lumbosacral_small_muap_frac",
        "crit_myopathic_muscle_frac",
    ):
        np.testing.assert_allclose(X[c], Y[c])
    assert (Y["cov_muap_numeric_frac"].fillna(0) == 0).all()


def test_drop_limb_removes_legs_or_arms():
    b = cohort(30)
    a = drop_tests(
        b,
        np.random.default_rng(3),
        p_drop_nerve=0,
        p_drop_muscle=0,
        p_drop_region=0,
        p_drop_limb=1.0,
        p_drop_numeric_muap=0,
        p_drop_value=0,
        p_drop_temperature=0,
    )
    X = build_features(a)
    both = (X["cov_upper_limb_tested"] == 1) & (X["cov_lower_limb_tested"] == 1)
    assert not both.any()


def test_invalid_probability_is_rejected():
    with pytest.raises(ValueError, match="'p_drop_nerve'"):
        drop_tests(cohort(1), np.random.default_rng(0), p_drop_nerve=1.5)


def test_protocol_transplant_only_keeps_tests_the_donor_also_did():
    from features.augment import transplant_protocols
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(300, seed=4)
    out = transplant_protocols(bundle, np.random.default_rng(0), p=1.0)
    again = transplant_protocols(bundle, np.random.default_rng(0), p=1.0)
    pd.testing.assert_frame_equal(out.ncs, again.ncs)
    assert len(out.ncs) < len(bundle.ncs)
    assert len(out.emg) < len(bundle.emg)
    assert len(out.studies) == len(bundle.studies)
    # never adds or changes a row: every kept row is one of the original rows
    merged = out.ncs.merge(bundle.ncs, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()

    # the nerve/kind sets of studies now vary less with the diagnosis than before
    def share_with_arm_sensory(b):
        arm = b.ncs[
            (b.ncs["kind"] == "sensory") & b.ncs["nerve"].isin(["median", "ulnar", "radial"])
        ]
        has = b.studies["study_id"].isin(arm["study_id"])
        return has.groupby(b.studies["diagnosis"]).mean()

    before, after = share_with_arm_sensory(bundle), share_with_arm_sensory(out)
    assert (after.max() - after.min()) < (before.max() - before.min())


def test_protocol_transplant_with_p_zero_is_the_identity():
    from features.augment import transplant_protocols
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(50, seed=2)
    out = transplant_protocols(bundle, np.random.default_rng(1), p=0.0)
    pd.testing.assert_frame_equal(out.ncs, bundle.ncs)
    pd.testing.assert_frame_equal(out.emg, bundle.emg)
    with pytest.raises(ValueError, match="'p' parameter"):
        transplant_protocols(bundle, np.random.default_rng(1), p=1.5)


def test_protocol_transplant_from_outside_donors_keeps_only_their_tests():
    """The scope detector's in-scope studies take the protocols of out-of-scope studies."""
    from features.augment import transplant_protocols
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(200, seed=4)
    # donors: arm-only studies (no leg nerve, no leg or lumbosacral muscle), with ids that
    # collide with the bundle's own
    legs = ("peroneal", "tibial", "sural", "superficial_peroneal")
    donors = simulate_cohort(30, seed=9)
    donors = type(donors)(
        studies=donors.studies,
        ncs=donors.ncs[~donors.ncs["nerve"].isin(legs)],
        emg=donors.emg[donors.emg["muscle"].isin(["biceps", "deltoid", "triceps"])],
    )
    out = transplant_protocols(bundle, np.random.default_rng(0), p=1.0, donors=donors)
    from features.reference import load_muscles

    # a study left with nothing of the donor's protocol keeps its own (all its rows); every
    # other study keeps only arm nerves and cervical muscles
    n_in = (
        bundle.ncs.groupby("study_id")
        .size()
        .add(bundle.emg.groupby("study_id").size(), fill_value=0)
    )
    n_out = out.ncs.groupby("study_id").size().add(out.emg.groupby("study_id").size(), fill_value=0)
    own = set(n_out.index[n_out.reindex(n_out.index).eq(n_in.reindex(n_out.index))])
    moved_ncs = out.ncs[~out.ncs["study_id"].isin(own)]
    moved_emg = out.emg[~out.emg["study_id"].isin(own)]
    assert len(moved_ncs) > 0.3 * len(out.ncs)
    assert not moved_ncs["nerve"].isin(legs).any()
    assert moved_emg["muscle"].map(load_muscles()["region"]).eq("cervical").all()
    merged = out.ncs.merge(bundle.ncs, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    half = transplant_protocols(bundle, np.random.default_rng(0), p=0.5, donors=donors)
    kept_legs = half.ncs[half.ncs["nerve"].isin(legs)]["study_id"].nunique()
    assert 0.3 * len(bundle.studies) < kept_legs < 0.7 * len(bundle.studies)
