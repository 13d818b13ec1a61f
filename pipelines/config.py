"""Typed mirror of ``params.yaml``: one pydantic model per stage section, ``extra="forbid"``.

``load_params(path)`` reads the YAML file and validates it, so a typo in a key (``num_leafs``)
fails the stage with the key's name instead of being ignored. Each stage reads only its own
section (``load_params(path).train``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.errors import ReportedError, validation_lines
from models.params import AugmentParams, LogRegParams, LowConfidenceParams, TrainParams

__all__ = [
    "AugmentParams",
    "DataParams",
    "EngineParams",
    "EvaluateParams",
    "ExtraBundle",
    "LogRegParams",
    "LowConfidenceParams",
    "Params",
    "ParamsError",
    "PhysiologyParams",
    "RegisterParams",
    "SimulateParams",
    "SplitParams",
    "TrainParams",
    "load_params",
]
from simulator.parameters import SimulatorParams


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtraBundle(_Section):
    """One labelled bundle appended to the training data (``data.extra_bundles`` item).

    Attributes
    ----------
    path : str
        Bundle folder (or ``.zip``), e.g. written by ``emgdx export-verdicts``.
    weight : float
        Training weight of each of its studies relative to a study of ``data.bundle`` (1).
    """

    path: str
    weight: float = Field(1.0, gt=0, le=1000)


class DataParams(_Section):
    """``data``: which bundles the pipeline trains on.

    Attributes
    ----------
    bundle : str
        Bundle folder (or ``.zip`` / ``.json``) the ``validate`` stage reads. The default,
        ``data/raw``, is the ``simulate`` stage's output; point it at a lab's own labelled
        export to train on real studies (the ``simulate`` stage still runs but is unused).
    extra_bundles : list[ExtraBundle]
        Labelled bundles appended to ``bundle`` by the ``validate`` stage (the clinicians'
        verdicts, ``emgdx export-verdicts``), each with a weight; they are split with the rest
        (a patient never across splits) and scored apart by ``evaluate`` (``real_studies``).
        Empty (the default): the pipeline is what it is without this key.
    """

    bundle: str = "data/raw"
    extra_bundles: list[ExtraBundle] = Field(default_factory=list)


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


class ScopeParams(_Section):
    """``scope``: the out-of-scope detector and its evaluation (``models.scope``, ``docs/out-of-scope.md``).

    Attributes
    ----------
    n_train : int
        Simulated out-of-scope studies (learnt conditions) the detector is trained on.
    n_eval_per_condition : int
        Simulated studies of *each* out-of-scope condition the evaluate stage scores (>= 40).
    false_outside_rate : float
        Share of in-scope validation studies the threshold lets be called "outside".
    max_in_scope : int
        In-scope training studies the detector samples (its cost).
    p_protocol_transplant : float
        Share of them given the protocol of a simulated out-of-scope study, so that what was
        tested does not tell in scope from outside (``models.oos_eval.in_scope_training_features``).
    seed : int
    """

    n_train: int = Field(3000, ge=100)
    n_eval_per_condition: int = Field(60, ge=40)
    false_outside_rate: float = Field(0.03, gt=0, lt=0.5)
    max_in_scope: int = Field(6000, ge=100)
    p_protocol_transplant: float = Field(0.5, ge=0, le=1)
    seed: int = 101


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

    A new version becomes ``@champion`` only when, on the fixed evaluation set
    (``evalsets/<version>``, :mod:`models.evalset`), its macro-F1 on the training labs' studies
    beats the champion's by at least ``min_gain``, its macro-F1 on the held-out lab is at most
    ``max_heldout_drop`` below the champion's, and it meets the expectations of at least as
    many clinical vignettes minus ``max_vignette_drop`` (``models.champion``). ``metric`` is
    the validation metric of ``metrics.json`` recorded beside them (it does not decide).
    """

    model_name: str = "emgdx"
    alias: str = "champion"
    metric: str = "valid.lightgbm.macro_f1"
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
    scope: ScopeParams = Field(default_factory=ScopeParams)
    #: ``register`` section (attribute ``registry``: ``register`` would shadow ``BaseModel.register``)
    registry: RegisterParams = Field(default_factory=RegisterParams, alias="register")


class ParamsError(ReportedError, ValueError):
    """``params.yaml`` is missing, not a mapping, or has a missing, unknown or mistyped key."""


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; a missing or invalid file is an error, never defaults.

    Parameters
    ----------
    path : str or Path
        The params file (DVC's ``params.yaml``).

    Raises
    ------
    ParamsError
        The file is missing or unreadable, is not a mapping of sections, or has keys that are
        unknown or whose value does not fit: one line per problem with the file, the dotted
        key, the value given and what is expected (e.g. ``params.yaml: train.num_leaves =
        'many': expected a valid integer``).
    """
    p = Path(path)
    if not p.is_file():
        raise ParamsError(
            f"{p}: no such params file (the pipeline's parameters; copy the project's "
            "params.yaml or pass --params)"
        )
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"{p}: not valid YAML{where}") from exc
    if not isinstance(doc, dict):
        raise ParamsError(
            f"{p}: expected a mapping of sections at top level, got {type(doc).__name__}"
        )
    try:
        return Params.model_validate(doc)
    except ValidationError as exc:
        raise ParamsError("\n".join(validation_lines(p, exc))) from exc
