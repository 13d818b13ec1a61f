"""Tiny trained models for tests (and demos): simulate, featurize, train, save per the contract.

Nothing here is used by the product. ``make_tiny_model`` takes a few seconds and writes a
complete saved-model directory (``booster.txt``, ``model.json``, ``ood_profile.json``) that
:class:`models.predictor.Predictor` and the web app load like the real one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.calibration import calibrated_proba, fit_temperature
from models.ood import fit_ood_profile

logger = logging.getLogger(__name__)

#: small, fast LightGBM settings (a few trees per class)
TINY_PARAMS: dict[str, object] = {
    "objective": "multiclass",
    "num_class": len(CLASSES),
    "num_leaves": 7,
    "learning_rate": 0.2,
    "min_data_in_leaf": 5,
    "feature_fraction": 0.8,
    "use_missing": True,
    "zero_as_missing": False,
    "num_threads": 1,
    "verbose": -1,
    "deterministic": True,
}
TINY_ROUNDS = 25


def _margin(proba: np.ndarray, y: np.ndarray, target_accuracy: float = 0.9) -> float:
    """Smallest top1-top2 margin above which the calibration studies reach ``target_accuracy``,
    capped at the 30 % quantile of the margins (the same rule as the training stage)."""
    top2 = np.sort(proba, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    correct = proba.argmax(axis=1) == y
    order = np.argsort(margin)
    tail_acc = np.cumsum(correct[order][::-1])[::-1] / np.arange(len(order), 0, -1)
    ok = np.flatnonzero(tail_acc >= target_accuracy)
    cap = float(np.quantile(margin, 0.3))
    return round(min(float(margin[order][ok[0]]) if len(ok) else cap, cap), 4)


def save_tiny_model(
    X: pd.DataFrame,
    y: Sequence[str] | pd.Series,
    out_dir: Path,
    *,
    seed: int = 0,
    rounds: int = TINY_ROUNDS,
    excluded_prefixes: Sequence[str] = ("cov_",),
) -> Path:
    """Train a small LightGBM on a feature table and save it per the saved-model contract.

    Parameters
    ----------
    X : DataFrame
        Feature table (index ``study_id``, float columns, NaN = not measured). Not modified.
    y : sequence of str
        Diagnosis per row (classes of :data:`features.vocab.CLASSES`).
    out_dir : Path
        Directory to write (created).
    seed : int
        Seed of the train/calibration split and of LightGBM.
    rounds : int
        Boosting rounds (trees per class).
    excluded_prefixes : sequence of str
        Feature-name prefixes kept out of the model (coverage counts by default).

    Returns
    -------
    Path
        ``out_dir``.
    """
    labels = pd.Series(np.asarray(y, dtype=object), index=X.index)
    codes = labels.map({c: i for i, c in enumerate(CLASSES)})
    if codes.isna().any():
        bad = labels[codes.isna()].unique()[:5]
        raise ValueError(f"unknown diagnosis labels {list(bad)}; expected one of {CLASSES}")
    codes = codes.to_numpy(dtype=int)
    feats = [c for c in X.columns if not str(c).startswith(tuple(excluded_prefixes))]
    rng = np.random.default_rng(seed)
    is_train = rng.random(len(X)) < 0.7
    X_tr = X.loc[is_train, feats].astype("float64")
    X_ca = X.loc[~is_train, feats].astype("float64")
    params = {**TINY_PARAMS, "seed": seed}
    booster = lgb.train(params, lgb.Dataset(X_tr, label=codes[is_train]), num_boost_round=rounds)
    raw_ca = np.asarray(booster.predict(X_ca, raw_score=True), dtype=float)
    temperature = fit_temperature(raw_ca, codes[~is_train])
    margin = _margin(calibrated_proba(raw_ca, temperature), codes[~is_train])
    profile = fit_ood_profile(X.loc[is_train])

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out_dir / "booster.txt"))
    prior = labels[is_train].value_counts(normalize=True).reindex(list(CLASSES), fill_value=0.0)
    now = datetime.now(UTC)
    meta = {
        "name": "emgdx",
        "version": "tiny-" + now.strftime("%Y%m%d-%H%M%S"),
        "classes": list(CLASSES),
        "feature_names": feats,
        "excluded_groups": ["coverage"],
        "calibration": {"method": "temperature", "temperature": temperature},
        "train_prior": {c: float(v) for c, v in prior.items()},
        "low_confidence_margin": margin,
        "mlflow_run_id": None,
        "git_commit": None,
        "created_utc": now.isoformat(timespec="seconds"),
    }
    (out_dir / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
    profile.save(out_dir)
    logger.info(
        "tiny model: %d studies, %d features, T=%.2f, margin=%.3f -> %s",
        len(X),
        len(feats),
        temperature,
        margin,
        out_dir,
    )
    return out_dir


def make_tiny_cohort(n_studies: int = 600, seed: int = 0) -> tuple[Bundle, pd.DataFrame]:
    """Simulated bundle and its feature table: ``(bundle, X)`` with X indexed by study_id."""
    from features.build import build_features
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(n_studies, seed)
    return bundle, build_features(bundle)


def make_tiny_model(out_dir: Path, n_studies: int = 600, seed: int = 0) -> Path:
    """Simulate a small cohort, featurize it, train a small LightGBM, save a model dir.

    Parameters
    ----------
    out_dir : Path
        Directory to write (``booster.txt``, ``model.json``, ``ood_profile.json``).
    n_studies : int
        Simulated studies (600 takes a few seconds).
    seed : int
        Seed of the simulation, the split and LightGBM.

    Returns
    -------
    Path
        ``out_dir``.
    """
    bundle, X = make_tiny_cohort(n_studies, seed)
    return save_tiny_model(X, labels_for(bundle, X), Path(out_dir), seed=seed)


def labels_for(bundle: Bundle, X: pd.DataFrame) -> np.ndarray:
    """The bundle's reference diagnosis of every row of the feature table ``X``."""
    diagnosis = bundle.studies.set_index(bundle.studies["study_id"].astype(str))["diagnosis"]
    return diagnosis.reindex(X.index.astype(str)).to_numpy()
