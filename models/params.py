"""Typed parameters of the train stage (``params.yaml: train``), used by :mod:`models.train`.

They live in the library (not in ``pipelines/config.py``, which re-exports them) so that
:func:`models.train.train_model` takes a typed ``TrainParams`` without importing an application.
The defaults here are the single source of defaults and equal the committed ``params.yaml``
(``tests/pipelines/test_config.py`` checks it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AugmentParams(_Section):
    """``train.augment``: how many randomly thinned copies of each training study are added.

    The drop probabilities are passed to :func:`features.augment.drop_tests` (helper A); they
    are per study (``p_*``) and per item within a study (``*_share``).
    """

    n_copies: int = Field(2, ge=0, le=10)
    #: share of augmented studies given another (random) study's protocol
    p_protocol_transplant: float = Field(0.9, ge=0, le=1)
    p_drop_nerve: float = Field(0.3, ge=0, le=1)
    nerve_share: float = Field(0.3, ge=0, le=1)
    p_drop_muscle: float = Field(0.3, ge=0, le=1)
    muscle_share: float = Field(0.3, ge=0, le=1)
    p_drop_region: float = Field(0.15, ge=0, le=1)
    p_drop_limb: float = Field(0.05, ge=0, le=1)
    p_drop_numeric_muap: float = Field(0.3, ge=0, le=1)
    p_drop_value: float = Field(0.1, ge=0, le=1)
    value_share: float = Field(0.1, ge=0, le=1)
    p_drop_temperature: float = Field(0.3, ge=0, le=1)


class LowConfidenceParams(_Section):
    """``train.low_confidence``: how the top1−top2 margin threshold is chosen on ``valid``.

    The smallest margin whose confident studies reach ``target_accuracy`` is chosen, but never
    one that flags more than ``max_flagged_share`` of validation studies.
    """

    target_accuracy: float = Field(0.9, gt=0, le=1)
    max_flagged_share: float = Field(0.3, ge=0, le=1)


class LogRegParams(_Section):
    """``train.logreg``: the logistic-regression baseline (median impute + indicators + scale)."""

    C: float = Field(0.5, gt=0)
    max_iter: int = Field(1000, ge=10)


class ConformalParams(_Section):
    """``train.conformal``: class-conditional (Mondrian) conformal prediction sets.

    ``alpha`` is the miscoverage per class: on studies exchangeable with the ``calib`` split,
    the set holds the true diagnosis with probability at least ``1 - alpha`` for every class
    (:mod:`models.conformal`, ``docs/confidence.md``).
    """

    alpha: float = Field(0.1, gt=0, lt=1)
    #: thinned copies of each calib study whose thresholds are also fitted (partial reports,
    #: :func:`models.conformal.fit_conformal`); 0: the whole studies alone
    partial_report_copies: int = Field(2, ge=0)


class TrainParams(_Section):
    """``train``: LightGBM multiclass, augmentation, baselines, calibration.

    LightGBM parameters sit at the top level so ``dvc exp run -S train.num_leaves=63`` works.
    """

    seed: int = 42
    #: ``multiclass`` (one LightGBM multiclass booster) or ``ovr_monotone`` (one binary head per
    #: class with physiology-consistent monotone constraints, ``models.ovr``)
    model: Literal["multiclass", "ovr_monotone"] = "ovr_monotone"
    exclude_groups: list[str] = Field(default_factory=lambda: ["coverage"])
    class_weight: Literal["balanced", "none"] = "balanced"
    num_leaves: int = Field(31, ge=2)
    learning_rate: float = Field(0.1, gt=0, le=1)
    num_boost_round: int = Field(600, ge=1)
    early_stopping_rounds: int = Field(40, ge=1)
    min_data_in_leaf: int = Field(20, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    num_threads: int = Field(2, ge=0)
    augment: AugmentParams = Field(default_factory=AugmentParams)
    low_confidence: LowConfidenceParams = Field(default_factory=LowConfidenceParams)
    logreg: LogRegParams = Field(default_factory=LogRegParams)
    conformal: ConformalParams = Field(default_factory=ConformalParams)
