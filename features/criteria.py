"""Criteria-like features (``crit_*``) from published electrodiagnostic criteria.

These are the inputs of the rule-based baseline (``models/rules.py``) and strong, lab-independent
model features. All are float64; NaN means "not assessable from what was tested".

Sources (clinical reference tables):

* Awaji (de Carvalho et al. 2008, T3.1a): a region shows LMN signs when chronic neurogenic change
  and active denervation (fibs/PSW, or fasciculations with chronic change) are present in ≥2
  muscles of different roots *and* different nerves (cervical, lumbosacral) or in 1 muscle
  (bulbar, thoracic).
* EFNS/PNS 2010 and EAN/PNS 2021 CIDP criteria (T3.3a, T3.3b): per motor nerve, DML ≥150 % ULN
  (median excluded when a CTS pattern is present), CV ≤70 % LLN, F-latency ≥130 % ULN (≥150 % if
  the distal CMAP <80 % LLN), conduction block (proximal /
  distal amplitude drop ≥30 %, ≥50 % for the tibial nerve, distal CMAP ≥20 % LLN), temporal
  dispersion (duration increase >30 %, ≥100 % tibial).
  F absent (I-D) and distal CMAP duration (I-G) need a second parameter elsewhere and are not
  counted per nerve.
* Rutkove et al. 1997 (T3.2): sural/radial amplitude ratio < 0.40 (< 0.25 from 60 y, §T3.2 [sim]).
* Atroshi et al. 2003 (T1.2): median–ulnar sensory latency difference (> 0.5 ms used here).
* Wilbourn & Aminoff 1998 (T3.5): radiculopathy = abnormal muscles of one root, different nerves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features._grouping import (
    as_arrays,
    flag,
    group_any,
    group_count,
    group_frac,
    group_min,
    group_sum,
    n_unique_per_group,
)
from features.emg import ROOTS, _muscle_attributes
from features.ncs import F_WAVE, MOTOR, SENSORY, _side_matrix, median_ulnar_lat_diff
from features.vocab import LOWER_LIMB_NERVES, NERVES, REGIONS, UPPER_LIMB_NERVES

CRITERIA_COLUMNS: tuple[str, ...] = (
    "crit_lmn_region_count",
    "crit_lmn_regions_tested_count",
    "crit_demyel_nerve_count",
    "crit_cb_nerve_count",
    "crit_motor_tested_count",
    "crit_sensory_abnormal_count",
    "crit_sensory_tested_count",
    "crit_length_dependent",
    "crit_srar",
    "crit_myopathic_muscle_frac",
    "crit_neurogenic_muscle_frac",
    "crit_active_denervation_muscle_count",
    "crit_single_root_frac",
    "crit_single_root_nerves_count",
    "crit_paraspinal_active",
    "crit_cts_pattern",
)

# thresholds (see module docstring for sources)
DML_DEMYEL_PCT_ULN = 150.0
CV_DEMYEL_PCT_LLN = 70.0
F_DEMYEL_PCT_ULN = 130.0
F_DEMYEL_LOW_CMAP_PCT_ULN = 150.0
CB_DROP = 0.30
CB_DROP_TIBIAL = 0.50
TD_INCREASE = 0.30
TD_INCREASE_TIBIAL = 1.00
DISTAL_CMAP_MIN_PCT_LLN = 20.0
CTS_LAT_DIFF_MS = 0.5
SRAR_LLN = 0.40
SRAR_LLN_ELDERLY = 0.25
SRAR_ELDERLY_FROM_YEARS = 60.0
LD_RATIO = 0.5  # lower-limb SNAP % LLN below half the upper-limb one = relative upper sparing [sim]

_NN = len(NERVES)
_TIBIAL = NERVES.index("tibial")
_MEDIAN = NERVES.index("median")
_UPPER = np.array([n in UPPER_LIMB_NERVES for n in NERVES])
_LOWER = np.array([n in LOWER_LIMB_NERVES for n in NERVES])


def cts_pattern(resp: pd.DataFrame | Mapping[str, np.ndarray], n_studies: int) -> np.ndarray:
    """1.0 when a CTS pattern is present, 0.0 when assessable and absent, NaN otherwise.

    CTS: same-side median minus ulnar sensory peak latency > 0.5 ms, or median DML above ULN with
    the same-side ulnar DML within its ULN.
    """
    resp = as_arrays(resp)
    diff = median_ulnar_lat_diff(resp, SENSORY, n_studies)
    med = _side_matrix(resp, MOTOR, "median", "lat_pct_uln", n_studies)
    uln = _side_matrix(resp, MOTOR, "ulnar", "lat_pct_uln", n_studies)
    motor_cts = (med > 100) & (uln <= 100)
    motor_known = (~np.isnan(med) & ~np.isnan(uln)).any(axis=1)
    hit = (diff > CTS_LAT_DIFF_MS) | motor_cts.any(axis=1)
    return flag(hit, ~np.isnan(diff) | motor_known)


def _motor_nerve_criteria(resp: Mapping[str, np.ndarray], cts: np.ndarray) -> dict[str, np.ndarray]:
    """Per motor nerve-side: demyelinating (any criterion) and conduction-block flags."""
    kind = resp["kind"]
    m = kind == MOTOR
    fw = kind == F_WAVE
    r_study = resp["study"].astype(np.int64)
    r_nerve = resp["nerve"].astype(np.int64)
    r_side = resp["side"].astype(np.int64)
    study, nerve, side = r_study[m], r_nerve[m], r_side[m]
    # attach F-wave results of the same nerve/side (response rows are unique per
    # study/nerve/side/kind and sorted by study, nerve, side: the F keys are sorted and unique)
    f_key = (r_study[fw] * _NN + r_nerve[fw]) * 2 + r_side[fw]
    m_key = (study * _NN + nerve) * 2 + side
    f_lat_all = np.asarray(resp["f_lat_pct_uln"], dtype=float)[fw]
    if len(f_key):
        if not (f_key[1:] > f_key[:-1]).all():  # a response table not in key order
            order = np.argsort(f_key, kind="stable")
            f_key, f_lat_all = f_key[order], f_lat_all[order]
        at = np.minimum(np.searchsorted(f_key, m_key), len(f_key) - 1)
        found = f_key[at] == m_key
        f_lat = np.where(found, f_lat_all[at], np.nan)
    else:
        f_lat = np.full(len(m_key), np.nan)

    amp = np.asarray(resp["amp_pct_lln"], dtype=float)[m]
    lat = np.asarray(resp["lat_pct_uln"], dtype=float)[m]
    cv = np.asarray(resp["cv_pct_lln"], dtype=float)[m]
    cb_ratio = np.asarray(resp["cb_ratio"], dtype=float)[m]
    td = np.asarray(resp["td_ratio"], dtype=float)[m]
    tib = nerve == _TIBIAL
    cts_here = (nerve == _MEDIAN) & (cts[study] == 1) if len(study) else np.zeros(0, dtype=bool)
    distal_ok = amp >= DISTAL_CMAP_MIN_PCT_LLN
    dml = (lat >= DML_DEMYEL_PCT_ULN) & ~cts_here
    slow = cv <= CV_DEMYEL_PCT_LLN
    f_limit = np.where(amp < 80.0, F_DEMYEL_LOW_CMAP_PCT_ULN, F_DEMYEL_PCT_ULN)
    f_long = f_lat >= f_limit
    cb = distal_ok & (1.0 - cb_ratio >= np.where(tib, CB_DROP_TIBIAL, CB_DROP))
    disp = (td - 1.0) > np.where(tib, TD_INCREASE_TIBIAL, TD_INCREASE)
    # F absent (I-D) needs another parameter in another nerve: kept out of the per-nerve count
    demyel = dml | slow | f_long | cb | disp
    return {
        "study": study,
        "demyel": demyel.astype(float),
        "cb": cb.astype(float),
        "tested": (~np.isnan(amp)).astype(float),
    }


def _lmn_regions(mus: Mapping[str, np.ndarray], n_studies: int) -> tuple[np.ndarray, np.ndarray]:
    """Awaji LMN region count and number of assessable regions per study."""
    count = np.zeros(n_studies)
    tested = np.zeros(n_studies)
    study = mus["study"].astype(np.int64)
    region = mus["region"].astype(np.int64)
    lmn = np.asarray(mus["lmn"], dtype=float)
    nerve = mus["nerve"].astype(np.int64)
    root_code = _muscle_attributes()["root_code"][mus["muscle"].astype(np.int64)]
    for r, rname in enumerate(REGIONS):
        sel = (region == r) & ~np.isnan(lmn)
        n_assess = group_count(study[sel], None, n_studies)
        hit = sel & (lmn == 1)
        if rname in ("bulbar", "thoracic"):
            ok = group_count(study[hit], None, n_studies) >= 1
            tested += n_assess >= 1
        else:
            # >=2 LMN muscles with different nerves and different root sets: equivalent to
            # >=2 distinct nerves and >=2 distinct root sets among the LMN muscles
            ok = (n_unique_per_group(study[hit], nerve[hit], n_studies) >= 2) & (
                n_unique_per_group(study[hit], root_code[hit], n_studies) >= 2
            )
            tested += n_assess >= 2
        count += ok
    return count, tested


def _single_root(mus: Mapping[str, np.ndarray], n_studies: int) -> tuple[np.ndarray, np.ndarray]:
    """Share of abnormal limb muscles explained by the best single root and side, and nerves spanned."""
    attrs = _muscle_attributes()
    muscle_all = mus["muscle"].astype(np.int64)
    sel = attrs["limb_muscle"][muscle_all] & (np.asarray(mus["abnormal"], dtype=float) == 1)
    study = mus["study"].astype(np.int64)[sel]
    side = np.minimum(mus["side"].astype(np.int64)[sel], 1)
    nerve = mus["nerve"].astype(np.int64)[sel]
    roots = attrs["roots"][muscle_all[sel]]
    n_abn = np.bincount(study, minlength=n_studies).astype(float)
    key = study * 2 + side
    counts = np.stack(
        [np.bincount(key, weights=roots[:, j], minlength=n_studies * 2) for j in range(len(ROOTS))],
        axis=1,
    ).reshape(n_studies, 2 * len(ROOTS))  # column = side * n_roots + root
    best_col = counts.argmax(axis=1)
    best = counts[np.arange(n_studies), best_col]
    best_side, best_root = best_col // len(ROOTS), best_col % len(ROOTS)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_abn >= 2, best / n_abn, np.nan)
    explained = (side == best_side[study]) & roots[np.arange(len(study)), best_root[study]]
    nerves = n_unique_per_group(study[explained], nerve[explained], n_studies)
    return frac, np.where(n_abn >= 2, nerves, np.nan)


def criteria_features(
    resp: pd.DataFrame | Mapping[str, np.ndarray],
    mus: pd.DataFrame | Mapping[str, np.ndarray],
    n_studies: int,
    age_years: np.ndarray,
) -> dict[str, np.ndarray]:
    """All ``crit_*`` columns (see :data:`CRITERIA_COLUMNS`) as float64 arrays of ``n_studies``."""
    resp, mus = as_arrays(resp), as_arrays(mus)
    f: dict[str, np.ndarray] = {}
    cts = cts_pattern(resp, n_studies)
    mc = _motor_nerve_criteria(resp, cts)
    ms = mc["study"]
    motor_tested = group_sum(ms, mc["tested"], n_studies)
    has_motor = motor_tested > 0
    f["crit_demyel_nerve_count"] = np.where(
        has_motor, group_sum(ms, mc["demyel"], n_studies), np.nan
    )
    f["crit_cb_nerve_count"] = np.where(has_motor, group_sum(ms, mc["cb"], n_studies), np.nan)
    f["crit_motor_tested_count"] = motor_tested

    s = resp["kind"] == SENSORY
    ss = resp["study"].astype(np.int64)[s]
    s_amp = np.asarray(resp["amp_pct_lln"], dtype=float)[s]
    s_tested = group_count(ss, s_amp, n_studies)
    f["crit_sensory_abnormal_count"] = np.where(
        s_tested > 0, group_sum(ss, (s_amp < 100).astype(float), n_studies), np.nan
    )
    f["crit_sensory_tested_count"] = s_tested

    # length dependence and SRAR (Rutkove 1997)
    sural = _side_matrix(resp, SENSORY, "sural", "amp_raw", n_studies)
    radial = _side_matrix(resp, SENSORY, "radial", "amp_raw", n_studies)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(radial > 0, sural / radial, np.nan)
    srar = np.fmin.reduce(ratio, axis=1)
    f["crit_srar"] = srar
    snerve = resp["nerve"].astype(np.int64)[s]
    lower_sel, upper_sel = _LOWER[snerve], _UPPER[snerve]
    lo_min = group_min(ss[lower_sel], s_amp[lower_sel], n_studies)
    up_min = group_min(ss[upper_sel], s_amp[upper_sel], n_studies)
    thr = np.where(
        np.nan_to_num(age_years, nan=40.0) >= SRAR_ELDERLY_FROM_YEARS, SRAR_LLN_ELDERLY, SRAR_LLN
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        spared = (up_min >= 100) | (lo_min < LD_RATIO * up_min)
    ld = (srar < thr) | ((lo_min < 100) & spared)
    assessable = ~np.isnan(srar) | (~np.isnan(lo_min) & ~np.isnan(up_min)) | (lo_min >= 100)
    f["crit_length_dependent"] = flag(ld, assessable)

    # EMG-based criteria
    study = mus["study"].astype(np.int64)
    lmn_count, regions_tested = _lmn_regions(mus, n_studies)
    has_emg = group_count(study, None, n_studies) > 0
    f["crit_lmn_region_count"] = np.where(has_emg, lmn_count, np.nan)
    f["crit_lmn_regions_tested_count"] = regions_tested
    f["crit_myopathic_muscle_frac"] = group_frac(
        study, np.asarray(mus["myopathic"], dtype=float), n_studies
    )
    f["crit_neurogenic_muscle_frac"] = group_frac(
        study, np.asarray(mus["chronic"], dtype=float), n_studies
    )
    active = np.asarray(mus["active"], dtype=float)
    f["crit_active_denervation_muscle_count"] = np.where(
        group_count(study, active, n_studies) > 0, group_sum(study, active, n_studies), np.nan
    )
    frac, nerves = _single_root(mus, n_studies)
    f["crit_single_root_frac"] = frac
    f["crit_single_root_nerves_count"] = nerves
    para = np.asarray(mus["paraspinal"], dtype=float) == 1
    f["crit_paraspinal_active"] = group_any(study[para], active[para], n_studies)
    f["crit_cts_pattern"] = cts
    return {c: f[c].astype(np.float64) for c in CRITERIA_COLUMNS}
