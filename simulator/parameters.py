"""Generative parameters of the cohort simulator.

Two kinds of numbers live here:

* :class:`SimulatorParams` -- the *tunable* knobs (class mix, number of labs, comorbidity and
  noise rates). The integrator embeds them in ``params.yaml`` under ``simulate:``.
* :func:`load_normals`, :func:`load_segments`, :func:`load_muap_normals` -- the *fixed*
  clinical reference values of healthy responses, read from CSV files in ``simulator/data``.
  Every row carries a ``source`` column pointing to ``shared/reference/clinical-reference.md``
  (``CR7.1`` = its section 7.1, ``T1.1`` = its table T1.1, ``[sim]`` = a modelling choice).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.vocab import CLASSES

#: Training prior of CR7.5 [sim]: normal 30, radiculopathy 20, axonal 20, demyelinating 10,
#: ALS 10, myopathy 10 (per cent).
DEFAULT_CLASS_MIX: dict[str, float] = {
    "normal": 0.30,
    "als": 0.10,
    "axonal_pn": 0.20,
    "demyelinating_pn": 0.10,
    "myopathy": 0.10,
    "radiculopathy": 0.20,
}


#: conditions outside the six classes that the simulator knows (:mod:`simulator.out_of_scope`)
OOS_CONDITIONS: tuple[str, ...] = (
    "carpal_tunnel",
    "ulnar_neuropathy_elbow",
    "fibular_neuropathy",
    "brachial_plexopathy",
    "kennedy",
    "sensory_neuronopathy",
    "myasthenia",
    "post_polio",
    "cervical_myelopathy",
)


class OutOfScopeParams(BaseModel):
    """Out-of-scope conditions in the cohort (:mod:`simulator.out_of_scope`).

    Attributes
    ----------
    share : float
        Share of studies that have a condition outside the six classes (0 = none; the bundle
        ``diagnosis`` is then the proxy class and ``physiology.parquet`` holds the truth).
    weights : dict
        Relative frequency of each condition (normalised; default equal).
    fibular_beside_share : float
        Share of in-scope studies that also carry a fibular neuropathy at the fibular head
        (a focal finding beside another diagnosis) [†].
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(default=0.0, ge=0.0, le=1.0)
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(OOS_CONDITIONS, 1.0))
    fibular_beside_share: float = Field(default=0.0, ge=0.0, le=0.5)

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(OOS_CONDITIONS)
        if unknown:
            raise ValueError(
                f"Invalid condition(s) in 'out_of_scope.weights': {sorted(unknown)}. "
                f"Allowed: {', '.join(OOS_CONDITIONS)}."
            )
        if any(v < 0 for v in value.values()):
            raise ValueError(f"'out_of_scope.weights' must be >= 0; got {value}.")
        return {c: float(value.get(c, 1.0 if not value else 0.0)) for c in OOS_CONDITIONS}


class SimulatorParams(BaseModel):
    """Tunable parameters of :func:`simulator.cohort.simulate_cohort`.

    Attributes
    ----------
    class_mix : dict
        Share of each diagnosis among simulated studies (normalised to 1). Default: the
        training prior of CR7.5; see :data:`features.vocab.GENERAL_LAB_PRIOR` for the realistic one.
    n_sites : int
        Number of labs (``site_id`` ``lab-a``, ``lab-b``, ...). The first five follow fixed
        archetypes (see :mod:`simulator.labs`); more labs reuse them with new offsets.
    label_noise : float
        Share of studies whose ``diagnosis`` label is replaced by another class at random.
    p_cts : float
        Base probability of an incidental carpal tunnel syndrome (CR7.5: 20-25 % of all
        subjects, more in women and diabetics; the base is raised by those factors).
    p_une, p_fibular_neuropathy : float
        Incidental ulnar neuropathy at the elbow / peroneal neuropathy at the fibular head
        (T5.2: other mononeuropathies 4.6-7 % of referrals [sim split]); x 1.5 in diabetics.
    p_diabetes : float
        Prevalence of diabetes in studies of classes other than axonal PN (CR T6 [sim]).
    p_diabetes_in_axonal_pn : float
        Share of axonal-PN subjects with diabetes (CR7.5: at least 50 % [sim]).
    p_diabetic_pn_overlay : float
        Probability that a diabetic subject of another class also has a mild axonal PN (T6).
    p_repeat_visit : float
        Share of studies that are a repeat visit of a patient already in the chunk.
    p_benign_fasciculations : float
        Share of subjects with benign fasciculations in a few muscles (T2.4 [sim]).
    p_lumbar_paraspinal_fibs : float
        Lumbar paraspinal fibrillations in asymptomatic adults at age 50 (T2.5 Date 1996: 14.5 %,
        rising with age).
    technical_outlier_rate : float
        Share of motor/sensory responses with a technical error (submaximal stimulation or
        distance error; CR7.4 / T6: about 5 % of nerves [sim]).
    snap_distance_exponent : float
        SNAP amplitude scales with (distance / reference distance) ** -exponent
        (T1.4 Horowitz & Krarup 1992: 1.4-1.7).
    chunk_size : int
        Studies simulated per chunk (each chunk has its own child seed); bounds memory.
    physiology_block_size : int
        Studies per *physiology cohort*: each block of consecutive studies draws its own
        values of the uncertain physiology constants (:mod:`simulator.physiology`).
    physiology_span : (float, float)
        Part of every constant's range (as positions in [0, 1]) the cohorts draw from; e.g.
        (0, 0.7) to train and (0.7, 1) for a held-out-physiology test set.
    reporting_habits : float
        Scale (0-1) of the messy reporting habits of :mod:`simulator.reporting` (EMG-only,
        one-limb, abnormal-muscles-only and grades-only reports, short muscle lists); 0 turns
        them off (clean protocols, for physiology tests).
    out_of_scope : OutOfScopeParams
        Conditions outside the six classes (share, weights, fibular palsy beside another
        diagnosis); ``docs/out-of-scope.md``.
    special_ncs : float
        Scale (0-1) of the share of labs that record the optional kinds ``h_reflex`` and
        ``rns`` (:mod:`simulator.special_ncs`); 0 = none (every other value is unchanged).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_mix: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CLASS_MIX))
    n_sites: int = Field(default=5, ge=1, le=26)
    label_noise: float = Field(default=0.02, ge=0.0, le=0.5)
    p_cts: float = Field(default=0.17, ge=0.0, le=1.0)
    p_une: float = Field(default=0.04, ge=0.0, le=1.0)
    p_fibular_neuropathy: float = Field(default=0.015, ge=0.0, le=1.0)
    p_diabetes: float = Field(default=0.10, ge=0.0, le=1.0)
    p_diabetes_in_axonal_pn: float = Field(default=0.55, ge=0.0, le=1.0)
    p_diabetic_pn_overlay: float = Field(default=0.4, ge=0.0, le=1.0)
    p_repeat_visit: float = Field(default=0.08, ge=0.0, le=0.5)
    p_benign_fasciculations: float = Field(default=0.05, ge=0.0, le=1.0)
    p_lumbar_paraspinal_fibs: float = Field(default=0.145, ge=0.0, le=1.0)
    technical_outlier_rate: float = Field(default=0.05, ge=0.0, le=0.5)
    snap_distance_exponent: float = Field(default=1.4, ge=0.0, le=3.0)
    chunk_size: int = Field(default=10_000, ge=100)
    physiology_block_size: int = Field(default=1000, ge=1)
    physiology_span: tuple[float, float] = (0.0, 1.0)
    reporting_habits: float = Field(default=1.0, ge=0.0, le=1.0)
    out_of_scope: OutOfScopeParams = Field(default_factory=OutOfScopeParams)
    special_ncs: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("physiology_span")
    @classmethod
    def _check_span(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(
                f"Invalid value for 'physiology_span': {value}. Expected 0 <= low <= high <= 1."
            )
        return (float(lo), float(hi))

    @field_validator("class_mix")
    @classmethod
    def _check_mix(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(CLASSES)
        if unknown:
            raise ValueError(
                f"Invalid class(es) in 'class_mix': {sorted(unknown)}. Allowed: {', '.join(CLASSES)}."
            )
        if any(v < 0 for v in value.values()) or sum(value.values()) <= 0:
            raise ValueError(f"'class_mix' shares must be >= 0 with a positive sum; got {value}.")
        total = float(sum(value.values()))
        return {c: float(value.get(c, 0.0)) / total for c in CLASSES}


@cache
def _read(name: str) -> pd.DataFrame:
    with resources.files("simulator").joinpath("data", name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def load_normals() -> pd.DataFrame:
    """Healthy NCS response model per unit (CR7.1), indexed by ``unit``; a copy."""
    return _read("normals.csv").set_index("unit").copy()


def load_segments() -> pd.DataFrame:
    """Proximal stimulation sites per motor unit with segment lengths at 170 cm; a copy."""
    return _read("segments.csv").copy()


def load_muap_normals() -> pd.DataFrame:
    """Normal MUAP duration (ms, age 20-29), amplitude (µV) and polyphasia (%) per muscle (T2.1)."""
    return _read("muap_normals.csv").set_index("muscle").copy()
