"""The simulator's ground truth in the physiology side table (root levels, side, subtype)."""

from __future__ import annotations

import numpy as np

from simulator.anatomy import ROOTS
from simulator.cohort import TRUTH_COLUMNS, simulate_cohort_with_physiology
from simulator.parameters import SimulatorParams


def test_radiculopathy_roots_and_side_are_written_per_study() -> None:
    mix = {"normal": 0.2, "radiculopathy": 0.8, "als": 0.0, "axonal_pn": 0.0}
    mix |= {"demyelinating_pn": 0.0, "myopathy": 0.0}
    params = SimulatorParams(class_mix=mix, label_noise=0.0)
    bundle, truth = simulate_cohort_with_physiology(1500, 3, params)
    assert set(TRUTH_COLUMNS) <= set(truth.columns)
    radic = truth["subtype"].isin(ROOTS).to_numpy()
    assert (bundle.studies["diagnosis"].to_numpy()[radic] == "radiculopathy").all()
    assert set(truth["index_side"]) == {"L", "R"}
    assert (truth.loc[~radic, "root_levels"] == "").all()
    levels = truth.loc[radic, "root_levels"].str.split("+")
    # the drawn root is always among the levels; a second root is adjacent, in the same region
    assert all(s in lv for s, lv in zip(truth.loc[radic, "subtype"], levels, strict=True))
    pairs = [lv for lv in levels if len(lv) == 2]
    assert 0.10 < len(pairs) / radic.sum() < 0.20  # 15 % two roots (simulator/diseases.py)
    for a, b in pairs:
        i, j = ROOTS.index(a), ROOTS.index(b)
        assert j == i + 1
        assert (i <= 4) == (j <= 4)
    # the symptomatic side is the side of the denervation: more abnormal EMG rows there
    emg = bundle.emg.merge(truth[["study_id", "index_side"]], on="study_id")
    emg = emg[emg["study_id"].isin(truth.loc[radic, "study_id"])]
    fib = emg["fibs"].fillna(0).to_numpy() > 0
    same = emg["side"].to_numpy() == emg["index_side"].to_numpy()
    assert fib[same].sum() > 5 * max(1, fib[~same].sum())
    assert np.isin(truth["subtype"], ["none"]).any()
