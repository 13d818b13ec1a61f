"""Patient-grouped splits and the held-out site."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES
from models.splits import check_grouping, make_splits

SHARES = {"train": 0.6, "valid": 0.1, "calib": 0.1, "test": 0.2}


def _studies(n_patients: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visits = rng.integers(1, 4, n_patients)
    pid = np.repeat([f"P{i}" for i in range(n_patients)], visits)
    diag = np.repeat(rng.choice(CLASSES, n_patients), visits)
    site = np.repeat(
        rng.choice(["lab-a", "lab-b", "lab-d"], n_patients, p=[0.45, 0.45, 0.1]), visits
    )
    n = len(pid)
    return pd.DataFrame(
        {
            "study_id": [f"S{i}" for i in range(n)],
            "patient_id": pid,
            "site_id": site,
            "diagnosis": diag,
        }
    )


def test_no_patient_straddles_splits():
    studies = _studies()
    out = make_splits(studies, SHARES, holdout_site="lab-d", seed=1)
    assert out.groupby("patient_id")["split"].nunique().max() == 1
    check_grouping(out)


def test_held_out_site_gets_all_its_studies_and_nothing_else():
    studies = _studies()
    out = make_splits(studies, SHARES, holdout_site="lab-d", seed=1)
    held = out["split"] == "heldout_site"
    assert (out.loc[held, "site_id"] == "lab-d").all()
    assert not (out.loc[~held, "site_id"] == "lab-d").any()


def test_patient_shares_follow_params_and_every_class_is_in_test():
    studies = _studies(2000)
    out = make_splits(studies, SHARES, holdout_site=None, seed=3)
    share = out.drop_duplicates("patient_id")["split"].value_counts(normalize=True)
    for name, expected in SHARES.items():
        assert share[name] == pytest.approx(expected, abs=0.02)
    test_diag = studies.set_index("study_id").loc[
        out.loc[out["split"] == "test", "study_id"], "diagnosis"
    ]
    assert set(test_diag) == set(CLASSES)


def test_split_is_reproducible_and_seed_dependent():
    studies = _studies()
    a = make_splits(studies, SHARES, holdout_site="lab-d", seed=5)
    b = make_splits(studies, SHARES, holdout_site="lab-d", seed=5)
    c = make_splits(studies, SHARES, holdout_site="lab-d", seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert (a["split"] != c["split"]).any()


def test_study_without_patient_id_is_its_own_patient_and_input_is_not_mutated():
    studies = _studies(50).assign(patient_id=None)
    before = studies.copy()
    out = make_splits(studies, SHARES, holdout_site=None, seed=0)
    assert (out["patient_id"] == out["study_id"]).all()
    pd.testing.assert_frame_equal(studies, before)


def test_check_grouping_names_a_straddling_patient():
    bad = pd.DataFrame(
        {"study_id": ["a", "b"], "patient_id": ["P1", "P1"], "split": ["train", "test"]}
    )
    with pytest.raises(ValueError, match="P1"):
        check_grouping(bad)
