"""One-vs-rest monotone heads: constraints hold, TreeSHAP stays additive, the file round-trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES
from models.ovr import OvRBooster, fit_ovr, load_any_booster, monotone_directions

CV = "ncs_median_motor_cv_pct_lln"
SNAP = "ncs_sural_sensory_amp_pct_lln"
DEMY, ALS, NORMAL = (CLASSES.index(c) for c in ("demyelinating_pn", "als", "normal"))


@pytest.fixture(scope="module")
def ovr() -> tuple[OvRBooster, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {CV: rng.uniform(30, 130, n), SNAP: rng.uniform(0, 200, n), "other": rng.normal(size=n)}
    )
    # labels that, by chance, make the unconstrained relation non-monotone in places
    y = np.where(X[CV] < 70, DEMY, np.where(X[SNAP] < 60, ALS, NORMAL))
    flip = rng.random(n) < 0.25
    y[flip] = rng.integers(0, len(CLASSES), flip.sum())
    params = {"verbosity": -1, "num_leaves": 15, "learning_rate": 0.2, "min_data_in_leaf": 5}
    booster = fit_ovr(X, y, X, y, params, num_boost_round=60, early_stopping_rounds=60)
    return booster, X


def test_directions_follow_physiology():
    d = monotone_directions(
        [CV, SNAP, "ncs_median_motor_lat_pct_uln", "age_years", "ncs_median_motor_amp_pct_lln"]
    )
    assert d["demyelinating_pn"][:3] == [-1, 0, +1]  # slower / longer never away from demyel.
    assert d["normal"][0] == +1  # ... and never more normal
    assert d["normal"][2] == -1
    assert d["axonal_pn"][:3] == [0, -1, 0]  # the SNAPs are the axonal and normal heads' ...
    assert d["normal"][1] == +1
    assert d["als"][:3] == [0, +1, 0]  # ... and the ALS head's (a lost SNAP lowers it)
    assert d["radiculopathy"][:3] == [0, +1, 0]  # a lost SNAP never raises a root lesion
    assert d["myopathy"][1] == +1
    assert d["normal"][4] == +1  # a lower CMAP never raises normal ...
    assert all(d[c][4] == -1 for c in CLASSES if c != "normal")  # ... nor lowers a disease
    assert all(v[3] == 0 for v in d.values())  # age is free


def test_findings_that_come_and_go_with_other_tests_have_safe_owners():
    """Owners of the features that MR2a, MR3 and MR9 found moving the wrong way."""
    from models.ovr import owners

    names = [
        "crit_lmn_region_frac",
        "ncs_tibial_f_persist_pct",
        "ncs_sural_sensory_lat_pct_uln",
        "crit_srar_pct_lln",
        "emg_mean_fib_grade",
    ]
    d = monotone_directions(names)
    # more of the examined regions with LMN signs: never less ALS, never more normal; the
    # radiculopathy head does not read it (adding normal regions must not lower it, MR3)
    assert owners(names[0]) == ("als", "normal")
    assert (d["als"][0], d["normal"][0]) == (+1, -1)
    # fewer F-waves: never less demyelinating, never more normal; no other head reads them (MR9)
    assert owners(names[1]) == ("demyelinating_pn", "normal")
    assert (d["demyelinating_pn"][1], d["normal"][1]) == (-1, +1)
    # a nerve's SNAP latency falls to the other side's when the slower side's SNAP is lost;
    # demyelination is defined on motor conduction: no head reads it (MR2a)
    assert owners(names[2]) == ()
    # an F latency is lost with the F-wave: the demyelinating head alone reads it (MR7)
    assert owners("ncs_tibial_f_lat_pct_uln") == ("demyelinating_pn",)
    assert owners(names[3]) == ()  # the sural/radial ratio: a contrast, read by no head
    # length dependence is a contrast too: a normal arm SNAP beside a low sural turns it on (MR9)
    assert owners("crit_length_dependent") == ()
    # the median-ulnar latency difference: a contrast of two SNAPs, read by no head (MR9)
    assert owners("ncs_median_ulnar_sensory_lat_diff_ms") == ()
    assert owners(names[4]) == ("normal",)  # diluted by normal muscles elsewhere
    # spreading beyond one root: never more radiculopathy, never less ALS (MR5)
    d = monotone_directions(["crit_outside_root_muscle_count", "crit_neurogenic_muscle_frac"])
    assert [d[c][0] for c in ("radiculopathy", "als", "normal")] == [-1, +1, -1]
    assert [d[c][1] for c in ("radiculopathy", "als", "normal")] == [-1, +1, -1]
    assert owners("crit_abnormal_limb_muscle_count") == ("normal",)
    # CMAP asymmetry is one-sided axon loss, not a conduction criterion (T3.3a-b)
    assert "demyelinating_pn" not in owners("ncs_ulnar_motor_amp_side_ratio")
    assert "radiculopathy" in owners("ncs_ulnar_motor_amp_side_ratio")


def test_block_and_dispersion_raise_demyelination_lower_als_and_leave_normal_alone():
    """MR6: the normal head must not read block or dispersion, or the mass it gives up goes to
    ALS on an ALS-looking study; the entrapment segments are read by the disease heads."""
    from models.ovr import normal_blind, owners

    names = [
        "ncs_median_motor_cb_ratio",
        "crit_cb_nerve_count",
        "ncs_ulnar_motor_td_ratio",
        "crit_demyel_nerve_count",
    ]
    d = monotone_directions(names)
    for k, name in enumerate(names):
        assert owners(name) == ("demyelinating_pn", "als")
        assert d["normal"][k] == 0
    # a lower block ratio (more block) raises demyelinating and lowers ALS; more block counted
    # or more dispersion likewise
    assert (d["demyelinating_pn"][0], d["als"][0]) == (-1, +1)
    assert (d["demyelinating_pn"][1], d["als"][1]) == (+1, -1)
    assert (d["demyelinating_pn"][2], d["als"][2]) == (+1, -1)
    # nerves meeting a demyelination criterion (a block counts) likewise (MR6)
    assert (d["demyelinating_pn"][3], d["als"][3]) == (+1, -1)
    assert owners("ncs_ulnar_elbow_cb_ratio") is None
    assert normal_blind("ncs_ulnar_elbow_cv_drop_pct")


def test_fasciculations_and_unstable_units_never_lower_als():
    """MR3: a normal muscle elsewhere (stable, no fasciculations) lowers these shares, which
    must then never raise ALS; the radiculopathy head still reads them freely."""
    names = ["emg_unstable_frac", "emg_cervical_fasc_frac", "emg_cervical_fibs_frac"]
    d = monotone_directions(names)
    assert (d["als"][0], d["als"][1], d["normal"][0]) == (+1, +1, -1)
    assert d["radiculopathy"][:2] == [0, 0]
    assert d["als"][2] == 0  # fibrillations are also myopathic: ALS reads them freely


@pytest.mark.parametrize(
    ("feature", "heads"),
    [
        (CV, {"demyelinating_pn", "normal"}),
        (SNAP, {"axonal_pn", "normal", "als", "radiculopathy", "myopathy"}),
    ],
)
def test_an_owned_finding_is_used_by_its_heads_alone(ovr, feature, heads):
    booster, _ = ovr
    i = booster.feature_name().index(feature)
    used = {c: booster.heads[k].feature_importance("split")[i] for k, c in enumerate(CLASSES)}
    assert all(v == 0 for c, v in used.items() if c not in heads)
    assert used["normal"] > 0 or "normal" not in heads


def test_slower_conduction_never_lowers_the_demyelinating_score(ovr):
    booster, X = ovr
    grid = X.iloc[:200].copy()
    before = booster.predict(grid, raw_score=True)
    slower = grid.assign(**{CV: grid[CV] * 0.7})
    after = booster.predict(slower, raw_score=True)
    assert (after[:, DEMY] >= before[:, DEMY] - 1e-12).all()
    assert (after[:, NORMAL] <= before[:, NORMAL] + 1e-12).all()
    lower_snap = booster.predict(grid.assign(**{SNAP: grid[SNAP] * 0.3}), raw_score=True)
    assert (lower_snap[:, ALS] <= before[:, ALS] + 1e-12).all()


def test_treeshap_is_additive_per_head_and_the_file_round_trips(ovr, tmp_path):
    booster, X = ovr
    raw = booster.predict(X, raw_score=True)
    contrib = booster.predict(X.to_numpy(), pred_contrib=True).reshape(len(X), len(CLASSES), -1)
    np.testing.assert_allclose(contrib.sum(axis=2), raw, atol=1e-9)
    booster.save_model(str(tmp_path / "booster.txt"))
    again = load_any_booster((tmp_path / "booster.txt").read_text())
    assert isinstance(again, OvRBooster)
    np.testing.assert_array_equal(again.predict(X, raw_score=True), raw)
    assert again.num_model_per_iteration() == len(CLASSES)


def test_an_ovr_model_is_saved_loaded_and_explained_like_a_multiclass_one(tmp_path):
    from models.predictor import Predictor
    from models.train import save_model_dir, train_model
    from pipelines.config import TrainParams
    from tests.helpers.tiny import labels_for, make_tiny_cohort

    bundle, X = make_tiny_cohort(400, 3)
    y = pd.Series(labels_for(bundle, X), index=X.index)
    split = pd.Series(
        np.random.default_rng(0).choice(["train", "valid", "calib"], len(X), p=[0.7, 0.15, 0.15]),
        index=X.index,
    )
    p = TrainParams(model="ovr_monotone", num_boost_round=20, early_stopping_rounds=5, num_leaves=7)
    model = train_model(X, y, split, p)
    assert isinstance(model.booster, OvRBooster)
    assert model.calibration.normal_gate is not None  # P(normal) from the normal head alone
    # the normal head never splits on a pattern feature (models.ovr.normal_blind)
    from models.ovr import normal_blind

    names = model.booster.feature_name()
    used = model.booster.heads[NORMAL].feature_importance("split")
    blind = [f for f, u in zip(names, used, strict=True) if normal_blind(f) and u > 0]
    assert blind == []
    assert any(normal_blind(f) for f in names)
    out = save_model_dir(model, tmp_path / "model")
    predictor = Predictor.from_dir(out)
    preds = predictor.predict_bundle(bundle.subset(bundle.study_ids[:5]))
    assert len(preds) == 5
    for pr in preds:
        assert sum(pr.probabilities.values()) == pytest.approx(1.0)
        assert pr.explanation  # per-head TreeSHAP contributions
