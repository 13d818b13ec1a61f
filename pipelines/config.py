"""Typed mirror of ``params.yaml``: one pydantic model per stage section, ``extra="forbid"``.

``load_params(path)`` reads the YAML file and validates it, so a typo in a key (``num_leafs``)
fails the stage with the key's name instead of being ignored. Each stage reads only its own
section (``load_params(path).train``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.parameters import SimulatorParams


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Section):
    """``data``: which bundle the pipeline trains on.

    Attributes
    ----------
    bundle : str
        Bundle folder (or ``.zip`` / ``.json``) the ``validate`` stage reads. The default,
        ``data/raw``, is the ``simulate`` stage's output; point it at a lab's own labelled
        export to train on real studies (the ``simulate`` stage still runs but is unused).
    """

    bundle: str = "data/raw"


class EngineParams(_Section):
    """``engine``: where features and training run.

    Attributes
    ----------
    engine : {"pandas", "dask"}
        ``pandas``: one process (the default; fastest on one machine). ``dask``: the same
        feature code via ``map_partitions`` on study partitions, and ``lightgbm.dask`` training.
    scheduler_address : str | None
        An existing Dask scheduler (``tcp://host:8786``); ``None`` starts a LocalCluster bound
        to 127.0.0.1 with ``n_workers`` single-threaded workers.
    n_workers : int
        LocalCluster workers.
    npartitions : int
        Study partitions of the feature table and training data.
    memory_limit : str
        Memory limit per LocalCluster worker.
    """

    engine: Literal["pandas", "dask"] = "pandas"
    scheduler_address: str | None = None
    n_workers: int = Field(2, ge=1)
    npartitions: int = Field(8, ge=1)
    memory_limit: str = "4GiB"


class SimulateParams(SimulatorParams):
    """``simulate``: cohort size, seed and file format plus every simulator knob.

    The simulator's own parameters (:class:`simulator.parameters.SimulatorParams`) sit at the
    same level, so ``dvc exp run -S simulate.label_noise=0.05`` works.
    """

    n_studies: int = Field(25_000, ge=1)
    seed: int = 0
    format: Literal["csv", "parquet"] = "parquet"


class SplitParams(_Section):
    """``split``: patient-grouped train/valid/calib/test plus one held-out site.

    Attributes
    ----------
    holdout_site : str | None
        ``site_id`` whose studies all go to ``heldout_site`` (a lab with different habits);
        ``None`` holds out no site.
    train, valid, calib, test : float
        Shares of the remaining *patients* (not studies); must sum to 1.
    seed : int
        Seed of the patient shuffle.
    """

    holdout_site: str | None = "lab-d"
    train: float = Field(0.6, gt=0, lt=1)
    valid: float = Field(0.1, gt=0, lt=1)
    calib: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    seed: int = 42

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> SplitParams:
        total = self.train + self.valid + self.calib + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split shares train+valid+calib+test must sum to 1, got {total:.4f}")
        return self


class AugmentParams(_Section):
    """``train.augment``: how many randomly thinned copies of each training study are added.

    The drop probabilities are passed to :func:`features.augment.drop_tests` (helper A); they
    are per study (``p_*``) and per item within a study (``*_share``).
    """

    n_copies: int = Field(1, ge=0, le=10)
    #: share of augmented studies given another (random) study's protocol
    p_protocol_transplant: float = Field(0.5, ge=0, le=1)
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


class TrainParams(_Section):
    """``train``: LightGBM multiclass, augmentation, baselines, calibration.

    LightGBM parameters sit at the top level so ``dvc exp run -S train.num_leaves=63`` works.
    """

    seed: int = 42
    #: ``multiclass`` (one LightGBM multiclass booster) or ``ovr_monotone`` (one binary head per
    #: class with physiology-consistent monotone constraints, ``models.ovr``)
    model: Literal["multiclass", "ovr_monotone"] = "multiclass"
    exclude_groups: list[str] = Field(default_factory=lambda: ["coverage"])
    class_weight: Literal["balanced", "none"] = "balanced"
    num_leaves: int = Field(31, ge=2)
    learning_rate: float = Field(0.05, gt=0, le=1)
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


class EvaluateParams(_Section):
    """``evaluate``: metrics, subgroup bands, robustness and plot sizes.

    Attributes
    ----------
    age_bands_years : list[float]
        Band edges, left-closed (``[0, 40, 60, 75, 120]`` → ``<40``, ``40-59``, ...).
    ece_bins : int
        Equal-width confidence bins of the expected calibration error.
    robustness_keep : float
        Share of nerves and of muscles kept per test study in the robustness check.
    shap_sample : int
        Test studies used for the global SHAP summary.
    seed : int
        Seed of the robustness thinning and the SHAP sample.
    """

    age_bands_years: list[float] = Field(default_factory=lambda: [0.0, 40.0, 60.0, 75.0, 120.0])
    ece_bins: int = Field(10, ge=2)
    robustness_keep: float = Field(0.5, gt=0, le=1)
    shap_sample: int = Field(500, ge=10)
    seed: int = 7


class PhysiologyParams(_Section):
    """``physiology``: the held-out-physiology evaluation (``models.physiology_eval``).

    A model is trained on a cohort whose uncertain physiology constants lie in ``train_span``
    of their ranges and scored on a cohort drawn from the disjoint ``test_span``.
    """

    n_train: int = Field(12000, ge=500)
    n_test: int = Field(4000, ge=200)
    train_span: tuple[float, float] = (0.0, 0.6)
    test_span: tuple[float, float] = (0.6, 1.0)
    seed: int = 11


class RegisterParams(_Section):
    """``register``: registry name, alias, and the rule that decides the champion.

    A new version becomes ``@champion`` only when its ``metric`` beats the champion's by at
    least ``min_gain``, its held-out-lab score (``heldout_metric``) is at most
    ``max_heldout_drop`` below the champion's, and it meets the expectations of at least as
    many clinical vignettes minus ``max_vignette_drop`` (``models.champion``).
    """

    model_name: str = "emgdx"
    alias: str = "champion"
    metric: str = "valid.lightgbm.macro_f1"
    heldout_metric: str = "heldout_site.lightgbm.macro_f1"
    min_gain: float = Field(0.005, ge=0)
    max_heldout_drop: float = Field(0.005, ge=0)
    max_vignette_drop: int = Field(0, ge=0)


class Params(BaseModel):
    """All of ``params.yaml``; unknown top-level sections are an error."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    data: DataParams = Field(default_factory=DataParams)
    engine: EngineParams = Field(default_factory=EngineParams)
    simulate: SimulateParams = Field(default_factory=SimulateParams)
    split: SplitParams = Field(default_factory=SplitParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    physiology: PhysiologyParams = Field(default_factory=PhysiologyParams)
    #: ``register`` section (attribute ``registry``: ``register`` would shadow ``BaseModel.register``)
    registry: RegisterParams = Field(default_factory=RegisterParams, alias="register")


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; a missing file gives the defaults.

    Raises
    ------
    pydantic.ValidationError
        Naming the offending key (e.g. ``train.num_leafs: Extra inputs are not permitted``).
    """
    p = Path(path)
    if not p.exists():
        return Params()
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ValueError(
            f"{p}: expected a mapping of sections at top level, got {type(doc).__name__}"
        )
    return Params.model_validate(doc)
