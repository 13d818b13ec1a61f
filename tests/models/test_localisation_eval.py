"""The localisation score on a small simulated cohort against the simulated roots."""

from __future__ import annotations

import pandas as pd
import pytest

from models.localisation import ROOTS
from models.localisation_eval import score_localisation, scored_studies
from simulator.cohort import simulate_cohort_with_physiology
from simulator.parameters import SimulatorParams


@pytest.fixture(scope="module")
def radic_cohort() -> tuple[object, pd.DataFrame]:
    """About 1,000 simulated radiculopathies with needle EMG of the affected limb (~1 s)."""
    mix = {"normal": 0.1, "radiculopathy": 0.9}
    return simulate_cohort_with_physiology(1200, 10, SimulatorParams(class_mix=mix))


def test_localiser_scores_on_the_three_denominators(radic_cohort) -> None:  # type: ignore[no-untyped-def]
    bundle, truth = radic_cohort
    score = score_localisation(bundle, truth)
    assert score.n_scored > 900
    # (iii) the definite calls (>= 2 muscles of one root): exact root >= 80 %, side >= 95 %
    assert score.root_accuracy_definite >= 0.85
    assert score.side_accuracy_definite >= 0.95
    # tentative calls (one muscle, or no even share) are right less often, and say so
    assert score.n_tentative > 0.15 * score.n_scored
    assert 0.5 < score.root_accuracy_tentative < score.root_accuracy_definite
    assert score.n_localised == score.n_definite + score.n_tentative
    # (ii) the studies with an abnormal muscle of the affected limb are nearly all named
    assert score.n_localised <= score.n_abnormal + 5
    assert score.root_accuracy_abnormal >= 0.75
    assert score.side_accuracy_abnormal >= 0.95
    # within the root set named ("C5-C6" when the muscles share both roots): >= 80 % of them,
    # with two roots named in a minority of calls, never below the exact score
    assert score.root_set_accuracy_abnormal >= 0.8
    assert score.root_set_accuracy_abnormal >= score.root_accuracy_abnormal + 0.03
    assert 0.05 < score.two_root_share < 0.3
    assert score.by_level["L5"].root_set_accuracy_abnormal >= 0.85
    # (i) over all scored, EMG-negative radiculopathies (50-70 % sensitivity, clinical
    # reference §7.4) stay unnamed: never a root from an entirely normal needle study
    assert score.n_abnormal < 0.8 * score.n_scored
    assert score.root_accuracy < score.root_accuracy_abnormal
    assert 0.2 < score.not_localisable_share < 0.4
    assert score.reasons["no abnormal limb muscle on needle EMG"] > 0.2 * score.n_scored
    # the confidence is calibrated within 5 points
    assert score.calibration_error < 0.05
    assert {"C6", "C7", "L5", "S1"} <= set(score.by_level)
    assert score.by_level["L5"].root_accuracy_localised >= 0.8
    assert int(score.confusion.to_numpy().sum()) == score.n_scored
    assert list(score.confusion.index) == list(ROOTS)
    assert score.metrics()["root_accuracy_L5"] == score.by_level["L5"].root_accuracy


def test_only_true_radiculopathies_with_emg_of_the_limb_are_scored(radic_cohort) -> None:  # type: ignore[no-untyped-def]
    bundle, truth = radic_cohort
    scored = scored_studies(bundle, truth)
    assert set(scored["root"]) <= set(ROOTS)
    # every scored study has an EMG row on the symptomatic side
    emg = bundle.emg.merge(scored[["study_id", "side"]], on="study_id")
    assert set(scored["study_id"]) == set(emg.loc[emg["side_x"] == emg["side_y"], "study_id"])
    # a study without its EMG is not scored; the truth table must carry the truth columns
    no_emg = bundle.emg[~bundle.emg["study_id"].isin(scored["study_id"].iloc[:5])]
    fewer = scored_studies(type(bundle)(bundle.studies, bundle.ncs, no_emg), truth)
    assert len(fewer) == len(scored) - 5
    with pytest.raises(ValueError, match="root_levels"):
        scored_studies(bundle, truth.drop(columns=["root_levels"]))


def test_a_cohort_without_radiculopathy_scores_none_not_nan() -> None:
    import json

    bundle, truth = simulate_cohort_with_physiology(40, 1, SimulatorParams(class_mix={"normal": 1}))
    score = score_localisation(bundle, truth)
    assert score.n_scored == 0
    assert score.root_accuracy is None
    assert score.by_level == {}
    json.dumps(score.to_dict(), allow_nan=False)  # strict JSON
    assert score.metrics() == {"n_scored": 0.0, "n_abnormal": 0, "n_definite": 0, "n_tentative": 0}
    assert score.root_set_accuracy is None
    assert score.two_root_share is None
