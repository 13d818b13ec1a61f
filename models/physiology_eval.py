"""Held-out physiology: train on one part of the simulator's uncertain constants, score on another.

The simulator draws the physiology constants it is unsure of (length gradient, arm involvement,
CMAP effect of radiculopathy, fasciculation and instability rates, ...) per cohort from
documented ranges (``simulator/physiology.py``). A model that learnt one parameterisation
instead of the physiology scores well in distribution and badly here. This module simulates a
training cohort whose constants lie in ``train_span`` of their ranges and two scoring cohorts
— one in the same span (in range) and one in the disjoint ``test_span`` (held-out physiology) —
trains a model exactly as the ``train`` stage does (augmentation, evidence-aware targets,
calibration) and reports macro-F1 on both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.metrics import f1_score

from features.build import build_features
from features.vocab import CLASSES
from models.calibration import Calibration
from models.splits import make_splits
from models.train import augmented_features, encode_labels, raw_scores, train_model

logger = logging.getLogger(__name__)

_SHARES = {"train": 0.8, "valid": 0.1, "calib": 0.1, "test": 0.0}


@dataclass(frozen=True)
class PhysiologyScore:
    """Macro-F1 of a model trained on ``train_span`` physiology, scored in and out of it."""

    train_span: tuple[float, float]
    test_span: tuple[float, float]
    n_train: int
    n_test: int
    macro_f1_in_range: float
    macro_f1_heldout_physiology: float

    @property
    def gap(self) -> float:
        """In-range minus held-out macro-F1 (large = a parameterisation was learnt)."""
        return self.macro_f1_in_range - self.macro_f1_heldout_physiology


def _macro_f1(booster: Any, calibration: Calibration, X: pd.DataFrame, y: pd.Series) -> float:
    proba = calibration.apply(raw_scores(booster, X))
    return float(
        f1_score(
            encode_labels(y), proba.argmax(axis=1), average="macro", labels=range(len(CLASSES))
        )
    )


def heldout_physiology(
    sim_params: Any,
    train_params: Any,
    *,
    n_train: int,
    n_test: int,
    train_span: tuple[float, float],
    test_span: tuple[float, float],
    seed: int,
) -> PhysiologyScore:
    """Train on ``train_span`` physiology and score in range and on ``test_span``.

    Parameters
    ----------
    sim_params : SimulatorParams
        The ``simulate`` section (its ``physiology_span`` is replaced per cohort).
    train_params : TrainParams
        The ``train`` section, used unchanged.
    n_train, n_test : int
        Studies in the training cohort and in each scoring cohort.
    train_span, test_span : (float, float)
        Positions within every constant's range (0–1) the cohorts draw from.
    seed : int
        Seed of the training cohort (scoring cohorts use ``seed + 1`` and ``seed + 2``).
    """
    from simulator.cohort import simulate_cohort

    def cohort(n: int, s: int, span: tuple[float, float]) -> tuple[Any, pd.DataFrame, pd.Series]:
        params = sim_params.model_copy(update={"physiology_span": tuple(span)})
        bundle = simulate_cohort(n, s, params)
        X = build_features(bundle)
        y = bundle.studies.set_index(bundle.studies["study_id"].astype(str))["diagnosis"]
        return bundle, X, y.reindex(X.index)

    bundle, X, y = cohort(n_train, seed, train_span)
    splits = make_splits(bundle.studies, _SHARES, holdout_site=None, seed=seed)
    split = splits.set_index("study_id")["split"].reindex(X.index)
    aug = train_params.augment
    X_aug = augmented_features(
        bundle,
        list(split.index[split == "train"]),
        n_copies=aug.n_copies,
        drop_kwargs=aug.model_dump(exclude={"n_copies", "p_protocol_transplant"}),
        seed=seed,
        p_protocol_transplant=aug.p_protocol_transplant,
    )
    model = train_model(
        X, y, split, train_params, X_aug=X_aug if len(X_aug) else None, baseline=False
    )
    _, X_in, y_in = cohort(n_test, seed + 1, train_span)
    _, X_out, y_out = cohort(n_test, seed + 2, test_span)
    score = PhysiologyScore(
        train_span=(train_span[0], train_span[1]),
        test_span=(test_span[0], test_span[1]),
        n_train=n_train,
        n_test=n_test,
        macro_f1_in_range=round(_macro_f1(model.booster, model.calibration, X_in, y_in), 4),
        macro_f1_heldout_physiology=round(
            _macro_f1(model.booster, model.calibration, X_out, y_out), 4
        ),
    )
    logger.info(
        "held-out physiology: macro-F1 %.3f in range %s, %.3f on %s",
        score.macro_f1_in_range,
        train_span,
        score.macro_f1_heldout_physiology,
        test_span,
    )
    return score
