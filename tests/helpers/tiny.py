"""Tiny trained models for tests and benchmarks, built by the production trainer and writer.

``make_tiny_model`` simulates a small cohort, fits it with :func:`models.train.train_model`
(fast :data:`TINY_PARAMS`), fits the OOD profile with :func:`models.ood.fit_ood_profile` and
writes it with :func:`models.train.save_model_dir` (:func:`models.artifact.save_model`), so the
saved model is exactly what the train stage writes, only smaller. A test helper: nothing in the
product imports it (``tests/test_layers.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from models.ood import fit_ood_profile
from models.params import AugmentParams, TrainParams
from models.train import save_model_dir, train_model

logger = logging.getLogger(__name__)

TINY_ROUNDS = 25
#: small, fast settings (one multiclass booster, a few trees per class, no augmentation)
TINY_PARAMS = TrainParams(
    model="multiclass",
    num_leaves=7,
    learning_rate=0.2,
    num_boost_round=TINY_ROUNDS,
    early_stopping_rounds=TINY_ROUNDS,
    min_data_in_leaf=5,
    num_threads=1,
    augment=AugmentParams(n_copies=0),
)


def tiny_splits(index: pd.Index, seed: int) -> pd.Series:
    """A random train (70 %) / valid (15 %) / calib (15 %) split of the rows of ``index``."""
    u = np.random.default_rng(seed).random(len(index))
    names = np.where(u < 0.7, "train", np.where(u < 0.85, "valid", "calib"))
    return pd.Series(names, index=index, name="split")


def save_tiny_model(
    X: pd.DataFrame,
    y: Sequence[str] | pd.Series,
    out_dir: Path,
    *,
    seed: int = 0,
    rounds: int = TINY_ROUNDS,
    params: TrainParams | None = None,
) -> Path:
    """Fit a small model on a feature table with the production trainer and save it.

    Parameters
    ----------
    X : DataFrame
        Feature table (index ``study_id``, NaN = not measured). Not modified.
    y : sequence of str
        Diagnosis per row (classes of :data:`features.vocab.CLASSES`).
    out_dir : Path
        Directory to write (created).
    seed : int
        Seed of the split and of LightGBM.
    rounds : int
        Boosting rounds (trees per class).
    params : TrainParams, optional
        Replaces :data:`TINY_PARAMS` (``seed`` and ``rounds`` still apply).

    Returns
    -------
    Path
        ``out_dir``.
    """
    p = (params or TINY_PARAMS).model_copy(
        update={"seed": seed, "num_boost_round": rounds, "early_stopping_rounds": rounds}
    )
    labels = pd.Series(np.asarray(y, dtype=object), index=X.index, name="diagnosis")
    split = tiny_splits(X.index, seed)
    model = train_model(X, labels, split, p)
    model.ood_profile = fit_ood_profile(X.loc[split == "train"])
    version = "tiny-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    save_model_dir(model, Path(out_dir), version=version)
    logger.info(
        "tiny model: %d studies, %d features -> %s", len(X), len(model.feature_names), out_dir
    )
    return Path(out_dir)


def make_tiny_cohort(n_studies: int = 600, seed: int = 0) -> tuple[Bundle, pd.DataFrame]:
    """Simulated bundle and its feature table: ``(bundle, X)`` with X indexed by study_id."""
    from features.build import build_features
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(n_studies, seed)
    return bundle, build_features(bundle)


def make_tiny_model(out_dir: Path, n_studies: int = 600, seed: int = 0) -> Path:
    """Simulate a small cohort, featurize it, fit and save a small model (a few seconds)."""
    bundle, X = make_tiny_cohort(n_studies, seed)
    return save_tiny_model(X, labels_for(bundle, X), Path(out_dir), seed=seed)


def labels_for(bundle: Bundle, X: pd.DataFrame) -> np.ndarray:
    """The bundle's reference diagnosis of every row of the feature table ``X``."""
    diagnosis = bundle.studies.set_index(bundle.studies["study_id"].astype(str))["diagnosis"]
    return diagnosis.reindex(X.index.astype(str)).to_numpy()
