"""Every textbook vignette meets its expected interpretation and bounds (clinical/README.md).

Runs the real pipeline model (``make run``'s, or one trained the same way) on the 48 vignettes.
"""

from __future__ import annotations

import pytest

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.clinical import CLINICAL_DIR, grade, load_expectations, parse_bounds
from models.evidence import evidence_table
from models.prediction import StudyPrediction


@pytest.fixture(scope="module")
def predictions(clinical_predictor, vignettes) -> dict[str, StudyPrediction]:
    return {p.study_id: p for p in clinical_predictor.predict_bundle(vignettes)}


def test_the_project_copy_has_every_vignette_and_expectation(vignettes, expectations):
    assert len(expectations) == 48
    assert set(vignettes.study_ids) == set(expectations)


@pytest.mark.parametrize("study_id", sorted(load_expectations(CLINICAL_DIR / "expectations.csv")))
def test_vignette_meets_its_expectation(study_id, predictions, expectations):
    result = grade(predictions[study_id], expectations[study_id])
    assert result.passed, f"{study_id}: " + "; ".join(result.failures)


def _one_region_copies(bundle: Bundle) -> Bundle:
    """Each study reduced to the needle EMG of one region (its first), NCS kept; ids suffixed."""
    from features.reference import load_muscles

    region = bundle.emg["muscle"].map(load_muscles()["region"])
    first = region.groupby(bundle.emg["study_id"]).transform("first")
    emg = bundle.emg[region == first]
    keep = set(emg["study_id"])
    out = bundle.subset(sorted(keep))
    out = Bundle(out.studies, out.ncs, emg.reset_index(drop=True))
    return Bundle(
        studies=out.studies.assign(study_id=out.studies["study_id"] + "~one"),
        ncs=out.ncs.assign(study_id=out.ncs["study_id"] + "~one"),
        emg=out.emg.assign(study_id=out.emg["study_id"] + "~one"),
    )


def test_one_region_never_gives_als_an_even_chance_and_says_why(clinical_predictor, vignettes):
    from simulator.cohort import simulate_cohort

    checked = 0
    for bundle in (_one_region_copies(simulate_cohort(2500, seed=20261201)), vignettes):
        X = clinical_predictor.feature_frame(bundle)
        one = evidence_table(X)["regions_examined"] <= 1
        for p in clinical_predictor.predict_features(X.loc[one]):
            checked += 1
            assert p.probabilities["als"] < 0.5, p.study_id
            assert any(
                "ALS cannot be assessed from one region" in t or "motor neuron disease (ALS)" in t
                for t in p.limitations
            ), p.study_id
    assert checked >= 2000


def test_bounds_parse_and_reject_unknown_classes():
    b = parse_bounds("p_als<=0.1;p_normal>=0.5")
    assert [str(x) for x in b] == ["p_als<=0.1", "p_normal>=0.5"]
    assert b[0].holds(0.1)
    assert not b[0].holds(0.11)
    with pytest.raises(ValueError, match="p_<class>"):
        parse_bounds("p_cidp<=0.1")
    assert set(CLASSES) >= {x.cls for x in b}


def test_grading_fails_a_wrong_top_class_and_a_broken_bound(expectations):
    exp = expectations["vig_radic_01_l5_full"]
    probs = dict.fromkeys(CLASSES, 0.0) | {"als": 0.6, "radiculopathy": 0.4}
    pred = StudyPrediction(
        study_id=exp.study_id,
        diagnosis="als",
        probabilities=probs,
        pattern="neurogenic",
        pattern_probability=1.0,
        explanation=[],
        model_name="t",
        model_version="0",
        low_confidence=False,
        unlike_training_data=False,
    )
    result = grade(pred, exp)
    assert not result.passed
    assert any("top class als" in f for f in result.failures)
    assert any("p_als<=0.1" in f for f in result.failures)
