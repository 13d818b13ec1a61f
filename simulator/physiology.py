"""Uncertain physiology constants, drawn per simulated cohort (domain randomisation).

Many numbers the disease processes need have no good published value (CR §8): how far up
the limb an axonal neuropathy reaches before the arm SNAPs fall, how much a root lesion lowers
a CMAP, how often non-ALS neurogenic muscles fasciculate or show unstable units. Rather than
fixing one value the model could learn, every *physiology cohort* (a block of
``physiology_block_size`` consecutive studies, deterministic from the seed) draws each
constant from the documented range below. A per-study side table
(:func:`physiology_table`) records the cohort and the drawn values, so that an evaluation can
train on one part of the ranges and score on another ("held-out physiology").

Citations refer to ``shared/reference/clinical-reference.md`` (``T3.2`` = table T3.2);
``[sim]`` marks a modelling choice, ``†`` a provisional textbook value.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Range:
    """A (low, high) range of one constant and where it comes from."""

    low: float
    high: float
    source: str


@dataclass(frozen=True)
class PhysiologyRanges:
    """The ranges of every randomised physiology constant (one typed place).

    Attributes
    ----------
    axonal_arm_snap_onset
        Severity S of a length-dependent axonal PN at which median/ulnar SNAPs begin to fall
        (they reach absence near S = 1). Order of loss sural -> EDB -> arm SNAPs (T3.2).
    axonal_radial_lag
        Extra severity before the radial SNAP falls ("radial preserved longest", T3.2).
    axonal_edb_k
        EDB CMAP factor 1 - k S (CR7.4: 0.8) [sim range].
    axonal_cv_floor
        Lowest CV factor (x the subject's normal) from axon loss alone: 75-80 % of LLN
        (T3.2, van Asseldonk 2005; Cornblath 1992).
    axonal_fib_p
        P(fibs) per fully involved distal muscle in axonal PN (CR7.4: about 0.5) [sim range].
    radic_cmap_reserve
        Fraction of a recording muscle's units a root lesion can take before its CMAP falls
        (reinnervation; T3.1c "up to about 50 %", T3.5 "low CMAP only with severe axon loss").
    radic_paraspinal_fib_p
        Paraspinal fib probability at onset in radiculopathy (CR7.4: about 0.5-0.65; CR §8.7:
        no good source).
    radic_fib_chronic_coupling
        Share of involved muscles whose fibs and chronic MUAPs share one draw (both or neither)
        in the subacute phase (T3.5, Wilbourn & Aminoff 1998) [sim].
    fasc_neurogenic_p
        P(fasciculations) in a muscle involved by a non-ALS neurogenic process (radiculopathy,
        neuropathy; T2.4 lists radiculopathy and MMN) [sim].
    unstable_reinnervation_p
        P(unstable MUAPs) where a non-ALS process is reinnervating (T2.2) [sim].
    unstable_false_positive
        Examiner false-positive rate of "unstable" per normal muscle [sim].
    benign_fasc_scale
        Multiplier on ``p_benign_fasciculations`` (benign fasciculations, T2.4) [sim].
    als_split_hand
        Extra loss of APB/FDI over other hand muscles in ALS (Menon 2013, T3.1c; CR7.4 1.6)
        [sim range].
    cmt1_age_slope
        Severity gained per year of age in CMT1 (axon loss, not CV, tracks disability;
        T3.3f Manganelli 2016) [sim].
    """

    axonal_arm_snap_onset: Range = Range(0.30, 0.55, "T3.2 order of loss [sim range]")
    axonal_radial_lag: Range = Range(0.10, 0.30, "T3.2 radial preserved longest [sim range]")
    axonal_edb_k: Range = Range(0.70, 1.00, "CR7.4 EDB (1 - 0.8 S) [sim range]")
    axonal_cv_floor: Range = Range(0.72, 0.85, "T3.2 van Asseldonk 2005; Cornblath 1992")
    axonal_fib_p: Range = Range(0.40, 0.80, "CR7.4 distal fibs P about 0.5 S [sim range]")
    radic_cmap_reserve: Range = Range(0.25, 0.50, "T3.1c / T3.5 [sim range]")
    radic_paraspinal_fib_p: Range = Range(0.45, 0.85, "CR7.4; CR8.7 no good source")
    radic_fib_chronic_coupling: Range = Range(0.60, 1.00, "T3.5 Wilbourn & Aminoff [sim]")
    fasc_neurogenic_p: Range = Range(0.04, 0.20, "T2.4 fasciculations in radiculopathy [sim]")
    unstable_reinnervation_p: Range = Range(0.20, 0.55, "T2.2 unstable reinnervation [sim]")
    unstable_false_positive: Range = Range(0.005, 0.03, "examiner false positives [sim]")
    benign_fasc_scale: Range = Range(0.5, 2.0, "T2.4 benign fasciculations [sim]")
    als_split_hand: Range = Range(1.3, 1.9, "T3.1c Menon 2013; CR7.4 1.6 [sim range]")
    cmt1_age_slope: Range = Range(0.008, 0.016, "T3.3f Manganelli 2016 [sim]")


PHYSIOLOGY_RANGES = PhysiologyRanges()
#: names of the randomised constants, in column order of the side table
CONSTANTS: tuple[str, ...] = tuple(f.name for f in fields(PhysiologyRanges))

#: weight of the cohort-level common position (so cohorts differ as a whole, and the mean
#: position, ``physiology_index``, spreads over most of [0, 1])
_COMMON = 0.6


def cohort_positions(seed: int, cohort: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    """Positions in [0, 1] of every constant within its range, per cohort.

    Parameters
    ----------
    seed : int
        Simulation seed.
    cohort : ndarray of int, shape (k,)
        Cohort numbers (any order; each gets the same draw wherever it is asked for).
    span : (float, float)
        Sub-interval of [0, 1] the positions are drawn from (e.g. (0, 0.7) for training and
        (0.7, 1) for a held-out physiology test).

    Returns
    -------
    ndarray, shape (k, n_constants)
    """
    lo, hi = span
    out = np.empty((cohort.size, len(CONSTANTS)))
    for i, c in enumerate(cohort):
        rng = np.random.default_rng([seed, 0x5EED, int(c)])
        common = rng.random()
        own = rng.random(len(CONSTANTS))
        u = _COMMON * common + (1.0 - _COMMON) * own
        out[i] = lo + (hi - lo) * u
    return out


def study_physiology(
    seed: int, first_study: int, n: int, block_size: int, span: tuple[float, float]
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Cohort number, per-study constant values and physiology index for ``n`` studies.

    Studies are numbered globally from ``first_study`` (0-based); study ``i`` belongs to
    cohort ``i // block_size``.

    Returns
    -------
    cohort : ndarray of int, shape (n,)
    values : dict of ndarray, shape (n,)
        Drawn value of each constant of :data:`CONSTANTS`.
    index : ndarray of float, shape (n,)
        Mean position of the constants within their ranges (0-1).
    """
    cohort = (first_study + np.arange(n)) // block_size
    uniq, inv = np.unique(cohort, return_inverse=True)
    pos = cohort_positions(seed, uniq, span)[inv]  # (n, k)
    values = {}
    for j, name in enumerate(CONSTANTS):
        r: Range = getattr(PHYSIOLOGY_RANGES, name)
        values[name] = r.low + (r.high - r.low) * pos[:, j]
    return cohort, values, pos.mean(axis=1)


def physiology_table(
    study_ids: np.ndarray, cohort: np.ndarray, values: dict[str, np.ndarray], index: np.ndarray
) -> pd.DataFrame:
    """Side table: ``study_id``, ``cohort``, one float column per constant, ``physiology_index``."""
    frame = {"study_id": study_ids, "cohort": cohort.astype(np.int64)}
    frame.update({name: values[name].astype(float) for name in CONSTANTS})
    frame["physiology_index"] = index.astype(float)
    return pd.DataFrame(frame)


__all__ = [
    "CONSTANTS",
    "PHYSIOLOGY_RANGES",
    "PhysiologyRanges",
    "Range",
    "physiology_table",
    "study_physiology",
]
