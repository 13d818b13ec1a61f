"""Reference limits of the two optional NCS kinds: the tibial H-reflex and repetitive stimulation.

Numbers from ``shared/reference/clinical-reference.md`` (copied, with their sources):

* **H-reflex latency** — Braddom & Johnson nomogram (T1.3 †): expected H latency (ms)
  = 9.14 + 0.46 · leg length (cm) + 0.1 · age (years). The upper limit is the expected value
  plus 2 SD, with SD 1.8 ms (§7.1: "30 (1.8) at 170 cm → ULN ≈ 34"; T1.3: ULN ≈ 34-35 ms †).
* **Leg length** — the nomogram's leg length is the lower leg (popliteal fossa to medial
  malleolus). When it is not given it is estimated from height as 0.215 × height [†, not in
  the clinical reference: the tibia-to-stature proportion of Trotter & Gleser 1952, about 36.5 cm at 170 cm; with it the
  nomogram gives 30.0 ms at 170 cm and 40 y, the reference subject of §7.1]. A missing height
  is the 170 cm reference height (as for the F-waves, :mod:`features.limits`).
* **Side-to-side** (T1.3, T3.5; Falco et al. 1994, Jankus et al. 1994): a latency difference
  above 1.5 ms (above 1.8 ms from age 60, Falco's healthy 60-88 y) or a smaller/larger amplitude
  ratio below 0.4 is abnormal.
* **Absent H-reflex** — an S1 sign (T3.5). In healthy people of 60-88 y the H-reflex was
  recorded on both sides in only 92 % (Falco 1994, T1.3), so from 60 y an absent H-reflex on
  both sides is within normal limits (†); a one-sided absence is still a side difference.
* **RNS decrement** — a decrement above 10 % (1st to 4th/5th response at 2-3 Hz) points to a
  neuromuscular-junction disorder (data contract, "Two optional kinds"). † The clinical
  reference has no number for it: T5.1 (myopathy row) and T5.1b only name RNS / NMJ tests.

The H-reflex limits are not temperature-corrected (no source in the reference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Braddom & Johnson nomogram (clinical reference T1.3 †), ms, ms per cm, ms per year
H_NOMOGRAM_INTERCEPT_MS = 9.14
H_NOMOGRAM_LEG_SLOPE_MS_PER_CM = 0.46
H_NOMOGRAM_AGE_SLOPE_MS_PER_YEAR = 0.1
#: between-subject SD of the H latency around the nomogram, ms (§7.1: 30 (1.8) at 170 cm)
H_LATENCY_SD_MS = 1.8
#: ULN = expected + 2 SD (§7.1: ULN ≈ 34 at 170 cm)
H_ULN_SD_MULTIPLE = 2.0
#: lower-leg length per cm of height [† Trotter & Gleser 1952 tibia/stature; see module doc]
LEG_LENGTH_PER_HEIGHT = 0.215
#: reference height (cm) when none is recorded (as :data:`features.limits.REFERENCE_HEIGHT_CM`)
REFERENCE_HEIGHT_CM = 170.0
#: side-to-side latency difference ULN, ms: young / from 60 y (Falco 1994; T1.3, T3.5)
H_SIDE_DIFF_ULN_MS = 1.5
H_SIDE_DIFF_ULN_ELDERLY_MS = 1.8
H_ELDERLY_FROM_YEARS = 60.0
#: smaller/larger H amplitude ratio below this is abnormal (Jankus 1994; T1.3, T3.5)
H_AMP_RATIO_LLN = 0.4
#: from this age a bilaterally absent H-reflex is within normal limits († Falco 1994: 92 %
#: bilaterally recordable at 60-88 y)
H_ABSENCE_ACCEPTABLE_FROM_YEARS = 60.0
#: RNS decrement above this (%) is abnormal: a neuromuscular-junction disorder (data contract;
#: † no number in the clinical reference)
RNS_DECREMENT_ULN_PCT = 10.0


@dataclass(frozen=True)
class HReflexLimits:
    """Limits of one patient's tibial H-reflex.

    Attributes
    ----------
    expected_latency_ms : float
        Nomogram latency for the leg length and age (ms).
    latency_uln_ms : float
        Upper limit of the H latency (ms): expected + 2 SD.
    leg_length_cm : float
        Lower-leg length used (cm), given or estimated from height.
    side_diff_uln_ms : float
        Upper limit of the left-right latency difference (ms).
    amp_ratio_lln : float
        Lower limit of the smaller/larger amplitude ratio.
    bilateral_absence_normal : bool
        Whether an H-reflex absent on both sides is within normal limits at this age.
    """

    expected_latency_ms: float
    latency_uln_ms: float
    leg_length_cm: float
    side_diff_uln_ms: float
    amp_ratio_lln: float
    bilateral_absence_normal: bool


def leg_length_cm(height_cm: np.ndarray) -> np.ndarray:
    """Lower-leg length (cm) estimated from height (cm); NaN height -> the 170 cm reference."""
    h = np.asarray(height_cm, dtype=float)
    return LEG_LENGTH_PER_HEIGHT * np.where(np.isnan(h), REFERENCE_HEIGHT_CM, h)


def h_latency_expected_ms(age_years: np.ndarray, leg_cm: np.ndarray) -> np.ndarray:
    """Braddom & Johnson nomogram latency (ms) for age (years) and lower-leg length (cm)."""
    return (
        H_NOMOGRAM_INTERCEPT_MS
        + H_NOMOGRAM_LEG_SLOPE_MS_PER_CM * np.asarray(leg_cm, dtype=float)
        + H_NOMOGRAM_AGE_SLOPE_MS_PER_YEAR * np.asarray(age_years, dtype=float)
    )


def h_latency_uln_ms(
    age_years: np.ndarray, height_cm: np.ndarray, leg_cm: np.ndarray | None = None
) -> np.ndarray:
    """Upper limit of the H latency (ms), vectorised; ``leg_cm`` NaN/None -> from height."""
    est = leg_length_cm(height_cm)
    leg = est if leg_cm is None else np.where(np.isnan(leg_cm), est, leg_cm)
    return h_latency_expected_ms(age_years, leg) + H_ULN_SD_MULTIPLE * H_LATENCY_SD_MS


def h_side_diff_uln_ms(age_years: np.ndarray) -> np.ndarray:
    """Upper limit of the left-right H latency difference (ms): 1.5, or 1.8 from 60 y."""
    age = np.asarray(age_years, dtype=float)
    return np.where(age >= H_ELDERLY_FROM_YEARS, H_SIDE_DIFF_ULN_ELDERLY_MS, H_SIDE_DIFF_ULN_MS)


def h_reflex_limits(
    age_years: float, height_cm: float | None = None, leg_length: float | None = None
) -> HReflexLimits:
    """Limits of one patient's H-reflex (scalar API for the web page and explanations).

    Parameters
    ----------
    age_years : float
        Age at the study.
    height_cm : float, optional
        Height; used to estimate the lower-leg length when ``leg_length`` is not given
        (missing: the 170 cm reference).
    leg_length : float, optional
        Measured lower-leg length, popliteal fossa to medial malleolus (cm).

    Examples
    --------
    >>> round(h_reflex_limits(40, 170).latency_uln_ms, 1)
    33.6
    """
    h = math.nan if height_cm is None else float(height_cm)
    leg = float(leg_length_cm(np.array([h]))[0]) if leg_length is None else float(leg_length)
    expected = float(h_latency_expected_ms(np.array([age_years]), np.array([leg]))[0])
    return HReflexLimits(
        expected_latency_ms=expected,
        latency_uln_ms=expected + H_ULN_SD_MULTIPLE * H_LATENCY_SD_MS,
        leg_length_cm=leg,
        side_diff_uln_ms=float(h_side_diff_uln_ms(np.array([age_years]))[0]),
        amp_ratio_lln=H_AMP_RATIO_LLN,
        bilateral_absence_normal=age_years >= H_ABSENCE_ACCEPTABLE_FROM_YEARS,
    )


def rns_decrement_abnormal(decrement_pct: np.ndarray) -> np.ndarray:
    """1.0 where the RNS decrement (%) is above 10 %, 0.0 at or below, NaN if not measured."""
    d = np.asarray(decrement_pct, dtype=float)
    return np.where(np.isnan(d), np.nan, (d > RNS_DECREMENT_ULN_PCT).astype(float))


#: row limit columns of :func:`special_ncs_limits`
SPECIAL_LIMIT_COLUMNS: tuple[str, ...] = (
    "h_latency_uln_ms",
    "h_side_diff_uln_ms",
    "h_amp_ratio_lln",
    "decrement_uln_pct",
)


def special_ncs_limits(ncs: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """Per NCS row the limits of its optional kind (NaN on the other kinds' rows).

    Parameters
    ----------
    ncs : DataFrame
        Canonical NCS rows (``study_id``, ``kind``).
    studies : DataFrame
        One row per study (``study_id``, ``age_years``, optional ``height_cm``); an unknown
        study or age gives NaN limits (never a guess).

    Returns
    -------
    DataFrame
        Indexed like ``ncs``, columns :data:`SPECIAL_LIMIT_COLUMNS`: on ``h_reflex`` rows the
        nomogram ULN of the latency, the side-to-side latency ULN and the amplitude-ratio LLN;
        on ``rns`` rows the decrement ULN (10 %).
    """
    by_id = studies.drop_duplicates("study_id").set_index(studies["study_id"].astype(str))
    sid = ncs["study_id"].astype(str) if len(ncs) else pd.Series([], dtype=str)
    age = sid.map(pd.to_numeric(by_id["age_years"], errors="coerce")).to_numpy(dtype=float)
    height = (
        sid.map(pd.to_numeric(by_id["height_cm"], errors="coerce")).to_numpy(dtype=float)
        if "height_cm" in by_id.columns
        else np.full(len(ncs), np.nan)
    )
    kind = ncs["kind"].astype(str).to_numpy() if len(ncs) else np.zeros(0, dtype=str)
    is_h, is_rns = kind == "h_reflex", kind == "rns"
    known = is_h & ~np.isnan(age)
    return pd.DataFrame(
        {
            "h_latency_uln_ms": np.where(known, h_latency_uln_ms(age, height), np.nan),
            "h_side_diff_uln_ms": np.where(known, h_side_diff_uln_ms(age), np.nan),
            "h_amp_ratio_lln": np.where(is_h, H_AMP_RATIO_LLN, np.nan),
            "decrement_uln_pct": np.where(is_rns, RNS_DECREMENT_ULN_PCT, np.nan),
        },
        index=ncs.index,
    )
