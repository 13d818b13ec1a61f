"""Training: LightGBM beats chance, coverage is excluded, margin and saved-model contract."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from features.vocab import CLASSES
from models.artifact import content_version, load_model_dir
from models.baselines import load_logreg, logreg_proba, save_logreg
from models.rules import classify_rules
from models.train import (
    choose_margin,
    original_study_id,
    raw_scores,
    save_model_dir,
    select_features,
    train_model,
)
from pipelines.config import TrainParams

# class -> (crit_lmn_region_count, crit_sensory_abnormal_count, crit_demyel_nerve_count,
#           crit_myopathic_muscle_frac, crit_single_root_frac, crit_neurogenic_muscle_frac)
_ARCHETYPE = {
    "normal": (0, 0, 0, 0.0, np.nan, 0.0),
    "als": (3, 0, 0, 0.0, 0.3, 0.7),
    "axonal_pn": (1, 3, 0, 0.0, 0.4, 0.3),
    "demyelinating_pn": (0, 2, 3, 0.0, np.nan, 0.1),
    "myopathy": (0, 0, 0, 0.6, np.nan, 0.0),
    "radiculopathy": (1, 0, 0, 0.0, 1.0, 0.3),
}
_COLS = (
    "crit_lmn_region_count",
    "crit_sensory_abnormal_count",
    "crit_demyel_nerve_count",
    "crit_myopathic_muscle_frac",
    "crit_single_root_frac",
    "crit_neurogenic_muscle_frac",
)


def synthetic(n: int, seed: int, noise: float = 0.8) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Noisy archetype features, a leaking coverage column, labels and a split."""
    rng = np.random.default_rng(seed)
    y = pd.Series(rng.choice(CLASSES, n), index=[f"S{i}" for i in range(n)], name="diagnosis")
    base = np.array([_ARCHETYPE[c] for c in y], dtype=float)
    scale = np.array([1, 1, 1, 0.25, 0.3, 0.3]) * noise
    X = pd.DataFrame(
        base + rng.normal(0, 1, base.shape) * scale, index=y.index, columns=list(_COLS)
    )
    X = X.where(rng.random(X.shape) > 0.1)  # 10 % not measured
    X["age_years"] = rng.uniform(20, 85, n)
    X["cov_muscles_tested_count"] = (
        np.array([CLASSES.index(c) for c in y], float) * 3
    )  # protocol shortcut
    split = pd.Series(
        rng.choice(["train", "valid", "calib", "test"], n, p=[0.6, 0.1, 0.1, 0.2]), index=y.index
    )
    return X, y, split


def _params(**kw) -> TrainParams:
    return TrainParams(
        num_boost_round=60, early_stopping_rounds=10, num_leaves=7, num_threads=1, **kw
    )


@pytest.fixture(scope="module")
def fitted():
    X, y, split = synthetic(1500, 0)
    return X, y, split, train_model(X, y, split, _params())


def test_coverage_features_do_not_vote_by_default(fitted):
    X, _, _, model = fitted
    assert "cov_muscles_tested_count" not in model.feature_names
    assert model.booster.feature_name() == model.feature_names
    assert "cov_muscles_tested_count" in select_features(list(X.columns), [])


def test_lightgbm_and_logreg_beat_chance_on_test(fitted):
    X, y, split, model = fitted
    test = split == "test"
    codes = np.array([CLASSES.index(c) for c in y[test]])
    acc_lgb = (raw_scores(model.booster, X[test]).argmax(axis=1) == codes).mean()
    acc_lr = (
        logreg_proba(model.logreg, X.loc[test, model.feature_names]).argmax(axis=1) == codes
    ).mean()
    assert acc_lgb > 0.6  # chance is 1/6
    assert acc_lr > 0.5
    assert 0.2 < model.temperature < 10
    assert 0 <= model.low_confidence_margin <= 1
    assert set(model.train_prior) == set(CLASSES)
    assert sum(model.train_prior.values()) == pytest.approx(1.0, abs=1e-5)


def test_rules_beat_chance_on_archetype_features():
    X, y, _ = synthetic(600, 1, noise=0.3)
    assert (classify_rules(X) == y).mean() > 0.5


def test_augmented_rows_are_appended_with_their_original_labels():
    X, y, split = synthetic(900, 2)
    tr = split.index[split == "train"]
    X_aug = X.loc[tr].mask(np.random.default_rng(0).random((len(tr), X.shape[1])) < 0.5)
    X_aug.index = X_aug.index + "~aug0"
    model = train_model(X, y, split, _params(), X_aug=X_aug)
    assert model.metrics["n_train_rows"] == 2 * len(tr)
    assert list(original_study_id(X_aug.index[:2])) == list(tr[:2])


def test_choose_margin_flags_the_uncertain_errors():
    # confident rows are right, low-margin rows are half wrong
    proba = np.array([[0.9, 0.1, 0, 0, 0, 0]] * 80 + [[0.52, 0.48, 0, 0, 0, 0]] * 20)
    y = np.array([0] * 80 + [0, 1] * 10)
    m = choose_margin(proba, y, target_accuracy=0.95, max_flagged_share=0.3)
    assert 0.04 < m <= 0.8
    flagged = (proba[:, 0] - proba[:, 1]) < m
    assert flagged.sum() == 20


def test_the_model_directory_is_the_same_bytes_when_written_again(fitted, tmp_path):
    """What DVC hashes (data/model) must not depend on when or by which run it was written."""
    *_, model = fitted
    first, second = tmp_path / "a", tmp_path / "b"
    save_model_dir(model, first)
    save_logreg(model.logreg, first / "baselines")
    save_model_dir(model, second)
    save_logreg(model.logreg, second / "baselines")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for f in files:
        assert (first / f).read_bytes() == (second / f).read_bytes(), f


def test_saved_model_dir_follows_the_contract(fitted, tmp_path):
    X, _, split, model = fitted
    save_model_dir(model, tmp_path)
    save_logreg(model.logreg, tmp_path / "baselines")
    loaded = load_model_dir(tmp_path)
    meta = loaded.meta
    assert meta.schema_version == 3
    assert meta.classes == CLASSES
    assert list(meta.feature_names) == model.feature_names
    assert list(meta.input_columns) == list(X.columns)  # the full table, coverage included
    assert meta.excluded_groups == ("coverage",)
    assert meta.calibrator == model.calibration
    assert meta.ood_profile is False
    assert loaded.ood is None
    # nothing per run inside: the version is the content's digest, no run id, commit or clock
    doc = json.loads((tmp_path / "model.json").read_text())
    assert not {"mlflow_run_id", "git_commit", "created_utc"} & set(doc)
    assert meta.conformal is not None
    assert meta.conformal == model.conformal
    assert meta.version == content_version(model.booster, model.calibration, model.conformal)
    assert meta.version != content_version(model.booster, model.calibration)
    assert len(meta.version) == 12
    test = X[split == "test"]
    np.testing.assert_allclose(
        raw_scores(loaded.booster, test), raw_scores(model.booster, test), rtol=1e-6, atol=1e-9
    )
    lr = load_logreg(tmp_path / "baselines")
    np.testing.assert_allclose(logreg_proba(lr, test), logreg_proba(model.logreg, test))


def test_bad_label_is_an_error_naming_the_study():
    X, y, split = synthetic(100, 3)
    y = y.copy()
    y.iloc[5] = "neuropathy"
    with pytest.raises(ValueError, match=y.index[5]):
        train_model(X, y, split, _params())


@pytest.mark.skipif(sys.platform == "win32", reason="posix only")
def test_training_does_not_mutate_inputs():
    X, y, split = synthetic(400, 4)
    before = (X.copy(), y.copy(), split.copy())
    train_model(X, y, split, _params())
    pd.testing.assert_frame_equal(X, before[0])
    pd.testing.assert_series_equal(y, before[1])


def test_out_of_lab_conformal_scores_come_from_boosters_that_never_saw_the_lab():
    from models.train import fit_lightgbm

    X, y, split = synthetic(1500, 3)
    rng = np.random.default_rng(3)
    site = pd.Series(rng.choice(["lab-a", "lab-b", "lab-c"], len(X)), index=X.index)
    seen: list[tuple[set[str], set[str]]] = []

    def recording_fit(X_tr, y_tr, X_va, y_va, params, **kw):  # type: ignore[no-untyped-def]
        seen.append((set(original_study_id(X_tr.index)), set(X_va.index)))
        return fit_lightgbm(X_tr, y_tr, X_va, y_va, params, **kw)

    model = train_model(X, y, split, _params(), fit_booster=recording_fit, site=site)
    # the model, then one booster per training lab, fitted on the other labs only
    assert len(seen) == 4
    assert seen[0][0] == set(X.index[split == "train"])
    for lab, (trained, valid) in zip(["lab-a", "lab-b", "lab-c"], seen[1:], strict=True):
        inside = set(X.index[site == lab])
        assert trained
        assert not trained & inside
        assert valid
        assert not valid & inside
        assert trained == set(X.index[(split == "train") & (site != lab)])
    # the thresholds are fitted on every train and calib study, scored out of its lab
    assert model.conformal is not None
    assert model.conformal.scores == "out_of_lab"
    scored = split.isin(["train", "calib"])
    expected = y[scored].value_counts().reindex(list(CLASSES)).to_dict()
    assert model.conformal.n_calib == expected
    # without site ids: the calib split scored by the model itself
    plain = train_model(X, y, split, _params())
    assert plain.conformal is not None
    assert plain.conformal.scores == "calib"
    assert sum(plain.conformal.n_calib.values()) == int((split == "calib").sum())
