"""Features of the optional NCS kinds: the tibial H-reflex and repetitive nerve stimulation.

Per study (NaN = not recorded, never "normal" and never "absent"):

* ``h_reflex_latency_excess_ms`` — the longer H latency of the recorded sides minus the
  patient's nomogram upper limit (ms; > 0 is prolonged);
* ``h_reflex_side_delay_ms`` — left-right H latency difference when both sides are present;
* ``h_reflex_amp_side_ratio`` — smaller/larger H amplitude when both sides were recorded
  (an absent side gives 0);
* ``h_reflex_absent`` — 1 when the H-reflex is absent (amplitude 0) on a recorded side;
* ``h_reflex_asymmetric`` — 1 when one side differs from the other beyond the side-to-side
  limits (delay, amplitude ratio, or absent on one side only): the S1 sign; NaN unless both
  sides were recorded;
* ``h_reflex_abnormal`` — 1 when any H limit is exceeded: prolonged, asymmetric, or absent
  (an absence on both sides, or on the only side recorded, counts only before 60 y);
* ``rns_max_decrement_pct`` — the largest RNS decrement (%);
* ``rns_decrement_abnormal`` — 1 when it is above 10 % (a neuromuscular-junction disorder,
  outside the six classes).

Per study and side, :func:`h_reflex_supports_s1` says whether the H-reflex supports an S1
root lesion there (for the root localisation).

Limits from :mod:`features.limits_special`. An H-reflex row with neither latency nor amplitude
says nothing and is ignored (the bundle warns about it); a row with a latency and no amplitude
is a present response. These rows feed no other feature (:mod:`features.build`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features._grouping import group_max, group_min, numeric_column
from features.limits_special import (
    H_ABSENCE_ACCEPTABLE_FROM_YEARS,
    H_AMP_RATIO_LLN,
    h_latency_uln_ms,
    h_side_diff_uln_ms,
    rns_decrement_abnormal,
)

H_REFLEX_COLUMNS: tuple[str, ...] = (
    "h_reflex_latency_excess_ms",
    "h_reflex_side_delay_ms",
    "h_reflex_amp_side_ratio",
    "h_reflex_absent",
    "h_reflex_asymmetric",
    "h_reflex_abnormal",
)
RNS_COLUMNS: tuple[str, ...] = ("rns_max_decrement_pct", "rns_decrement_abnormal")
SPECIAL_NCS_COLUMNS: tuple[str, ...] = H_REFLEX_COLUMNS + RNS_COLUMNS


@dataclass(frozen=True)
class HReflexSides:
    """Per study and side (columns L, R) what the H-reflex rows say; NaN = not recorded.

    Attributes
    ----------
    latency_ms : ndarray, shape (n, 2)
        Shortest latency of a present response (ms).
    amplitude_mv : ndarray, shape (n, 2)
        Largest amplitude (mV); 0 = absent.
    absent : ndarray, shape (n, 2)
        1 absent, 0 present, NaN not recorded.
    latency_uln_ms : ndarray, shape (n,)
        The patient's nomogram upper limit (ms).
    """

    latency_ms: np.ndarray
    amplitude_mv: np.ndarray
    absent: np.ndarray
    latency_uln_ms: np.ndarray


def h_reflex_sides(
    ncs: pd.DataFrame, study_pos: np.ndarray, age_years: np.ndarray, height_cm: np.ndarray
) -> HReflexSides:
    """Reduce the H-reflex rows to one value per study and side.

    Parameters
    ----------
    ncs : DataFrame
        Canonical NCS rows (any kinds; only ``h_reflex`` rows of the tibial nerve are read).
    study_pos : ndarray of int, shape (n_rows,)
        Position of each row's study (-1: unknown, ignored).
    age_years, height_cm : ndarray of float, shape (n_studies,)
        Study covariates (NaN height: the 170 cm reference).
    """
    n = len(age_years)
    study_pos = np.asarray(study_pos, dtype=np.int64)
    if len(ncs):
        kind = ncs["kind"].to_numpy(dtype=object)
        nerve = ncs["nerve"].to_numpy(dtype=object)
        side = ncs["side"].to_numpy(dtype=object)
        lat, amp = numeric_column(ncs, "latency_ms"), numeric_column(ncs, "amplitude")
        side_code = np.where(side == "L", 0, np.where(side == "R", 1, -1))
        sel = (kind == "h_reflex") & (nerve == "tibial") & (side_code >= 0) & (study_pos >= 0)
        sel &= ~(np.isnan(lat) & np.isnan(amp))
    else:
        sel = np.zeros(0, dtype=bool)
        lat = amp = np.zeros(0)
        side_code = np.zeros(0, dtype=np.int64)
    key = study_pos[sel] * 2 + side_code[sel]
    lat, amp = lat[sel], amp[sel]
    present = ~(amp == 0)  # a latency without an amplitude is a present response
    size = 2 * n
    latency = group_min(key, np.where(present, lat, np.nan), size).reshape(n, 2)
    amplitude = group_max(key, amp, size).reshape(n, 2)
    any_present = group_max(key, present.astype(float), size).reshape(n, 2)
    absent = np.where(np.isnan(any_present), np.nan, 1.0 - any_present)
    amplitude = np.where(absent == 1, 0.0, amplitude)
    uln = h_latency_uln_ms(np.asarray(age_years, dtype=float), np.asarray(height_cm, dtype=float))
    return HReflexSides(latency, amplitude, absent, uln)


def h_reflex_features(sides: HReflexSides, age_years: np.ndarray) -> dict[str, np.ndarray]:
    """The ``h_reflex_*`` features (module docstring) from :func:`h_reflex_sides`."""
    lat, amp, absent = sides.latency_ms, sides.amplitude_mv, sides.absent
    age = np.asarray(age_years, dtype=float)
    tested = ~np.isnan(absent)
    n_tested = tested.sum(axis=1)
    both = n_tested == 2
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.fmax.reduce(lat - sides.latency_uln_ms[:, None], axis=1)
        delay = np.where(both, np.abs(lat[:, 0] - lat[:, 1]), np.nan)
        lo, hi = np.fmin.reduce(amp, axis=1), np.fmax.reduce(amp, axis=1)
        both_amp = (~np.isnan(amp)).sum(axis=1) == 2
        ratio = np.where(both_amp & (hi > 0), lo / hi, np.nan)
    n_absent = np.nansum(absent, axis=1)
    any_absent = np.where(n_tested > 0, (n_absent > 0).astype(float), np.nan)
    one_sided_absence = both & (n_absent == 1)
    asym = (
        one_sided_absence
        | (np.nan_to_num(delay, nan=0.0) > h_side_diff_uln_ms(age))
        | (np.nan_to_num(ratio, nan=1.0) < H_AMP_RATIO_LLN)
    )
    asymmetric = np.where(both, asym.astype(float), np.nan)
    all_absent = (n_tested > 0) & (n_absent == n_tested)
    young = ~(age >= H_ABSENCE_ACCEPTABLE_FROM_YEARS)
    abnormal = (np.nan_to_num(excess, nan=-np.inf) > 0) | (asymmetric == 1) | (all_absent & young)
    return {
        "h_reflex_latency_excess_ms": excess,
        "h_reflex_side_delay_ms": delay,
        "h_reflex_amp_side_ratio": ratio,
        "h_reflex_absent": any_absent,
        "h_reflex_asymmetric": asymmetric,
        "h_reflex_abnormal": np.where(n_tested > 0, abnormal.astype(float), np.nan),
    }


def rns_features(ncs: pd.DataFrame, study_pos: np.ndarray, n_studies: int) -> dict[str, np.ndarray]:
    """``rns_max_decrement_pct`` and ``rns_decrement_abnormal`` per study (NaN: no RNS)."""
    if len(ncs):
        dec = numeric_column(ncs, "decrement_pct")
        sel = (ncs["kind"].to_numpy(dtype=object) == "rns") & (np.asarray(study_pos) >= 0)
        worst = group_max(np.asarray(study_pos, dtype=np.int64)[sel], dec[sel], n_studies)
    else:
        worst = np.full(n_studies, np.nan)
    return {"rns_max_decrement_pct": worst, "rns_decrement_abnormal": rns_decrement_abnormal(worst)}


def special_ncs_features(
    ncs: pd.DataFrame, study_pos: np.ndarray, age_years: np.ndarray, height_cm: np.ndarray
) -> dict[str, np.ndarray]:
    """All columns of :data:`SPECIAL_NCS_COLUMNS` for one chunk of studies."""
    sides = h_reflex_sides(ncs, study_pos, age_years, height_cm)
    out = h_reflex_features(sides, age_years)
    out.update(rns_features(ncs, study_pos, len(age_years)))
    return {c: out[c] for c in SPECIAL_NCS_COLUMNS}


def h_reflex_supports_s1(sides: HReflexSides, age_years: np.ndarray) -> np.ndarray:
    """Per study and side (columns L, R) whether the H-reflex supports an S1 root lesion there.

    A side supports S1 (clinical reference T3.5, limits of :mod:`features.limits_special`)
    when its H-reflex is

    * **absent** while the other side is present, or absent before 60 y (from 60 y an
      absence on both sides, or on the only side recorded, is within normal limits: Falco
      1994, 92 % bilaterally recordable, T1.3 †);
    * **prolonged**: latency above the patient's nomogram ULN (Braddom & Johnson, T1.3 †);
    * **side-delayed**: later than the other side by more than 1.5 ms (1.8 ms from 60 y); or
    * **small**: below 0.4 × the other side's amplitude (Jankus 1994, T1.3, T3.5).

    A prolongation or absence on both sides supports S1 on both; it also fits a
    polyneuropathy, which the SNAPs tell apart (the caller weighs that).

    Parameters
    ----------
    sides : HReflexSides
        :func:`h_reflex_sides` of the studies.
    age_years : ndarray of float, shape (n,)

    Returns
    -------
    ndarray of float, shape (n, 2)
        1.0 supports S1 on that side, 0.0 does not, NaN side not recorded (never "normal").

    Examples
    --------
    >>> ncs = pd.DataFrame({"kind": ["h_reflex"] * 2, "nerve": ["tibial"] * 2,
    ...                     "side": ["L", "R"], "latency_ms": [30.0, 32.5],
    ...                     "amplitude": [2.0, 1.5]})
    >>> s = h_reflex_sides(ncs, np.array([0, 0]), np.array([45.0]), np.array([170.0]))
    >>> h_reflex_supports_s1(s, np.array([45.0])).tolist()
    [[0.0, 1.0]]
    """
    lat, amp, absent = sides.latency_ms, sides.amplitude_mv, sides.absent
    age = np.asarray(age_years, dtype=float)
    other_lat, other_amp, other_absent = lat[:, ::-1], amp[:, ::-1], absent[:, ::-1]
    young = ~(age >= H_ABSENCE_ACCEPTABLE_FROM_YEARS)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        by_absence = (absent == 1) & ((other_absent == 0) | young)
        prolonged = lat > sides.latency_uln_ms[:, None]
        delayed = (lat - other_lat) > h_side_diff_uln_ms(age)[:, None]
        small = (absent == 0) & (other_amp > 0) & (amp / other_amp < H_AMP_RATIO_LLN)
    support = by_absence | prolonged | delayed | small
    return np.where(np.isnan(absent), np.nan, support.astype(float))


#: catalogue text of each column: label, unit, limit kind, description, direction
SPECIAL_NCS_TEXT: dict[str, tuple[str, str, str, str, str]] = {
    "h_reflex_latency_excess_ms": (
        "H-reflex latency beyond its limit",
        "ms",
        "raw",
        "Longer tibial H latency of the recorded sides minus the patient's nomogram upper limit "
        "(Braddom & Johnson: age and leg length).",
        "values above 0 are a prolonged H-reflex (S1 root or a polyneuropathy)",
    ),
    "h_reflex_side_delay_ms": (
        "H-reflex side-to-side latency difference",
        "ms",
        "raw",
        "Left-right tibial H latency difference when both sides respond.",
        "above 1.5 ms (1.8 ms from 60 y) supports an S1 radiculopathy on the later side",
    ),
    "h_reflex_amp_side_ratio": (
        "H-reflex side-to-side amplitude ratio",
        "ratio",
        "ratio",
        "Smaller/larger tibial H amplitude between the two sides (an absent side gives 0).",
        "below 0.4 is abnormal (Jankus 1994): an S1 sign on the smaller side",
    ),
    "h_reflex_absent": (
        "H-reflex absent",
        "yes/no",
        "flag",
        "The tibial H-reflex is absent on at least one recorded side.",
        "one side absent supports S1; both absent fits a polyneuropathy (or age 60 and over)",
    ),
    "h_reflex_asymmetric": (
        "H-reflex asymmetric",
        "yes/no",
        "flag",
        "One side's H-reflex is absent, later or smaller beyond the side-to-side limits.",
        "supports an S1 radiculopathy (T3.5)",
    ),
    "h_reflex_abnormal": (
        "H-reflex abnormal",
        "yes/no",
        "flag",
        "Any H-reflex limit exceeded: prolonged, asymmetric, or absent before 60 y.",
        "an S1 root lesion or a polyneuropathy",
    ),
    "rns_max_decrement_pct": (
        "RNS decrement",
        "%",
        "raw",
        "Largest decrement at 2-3 Hz repetitive nerve stimulation, 1st to 4th/5th response.",
        "above 10 % points to a neuromuscular-junction disorder (outside the six classes)",
    ),
    "rns_decrement_abnormal": (
        "RNS decrement above 10 %",
        "yes/no",
        "flag",
        "The RNS decrement is above 10 %.",
        "a neuromuscular-junction disorder (e.g. myasthenia) is suggested",
    ),
}


__all__ = [
    "H_REFLEX_COLUMNS",
    "RNS_COLUMNS",
    "SPECIAL_NCS_COLUMNS",
    "SPECIAL_NCS_TEXT",
    "HReflexSides",
    "h_reflex_features",
    "h_reflex_sides",
    "h_reflex_supports_s1",
    "rns_features",
    "special_ncs_features",
]
