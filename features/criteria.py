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
* Rutkove et al. 1997 (T3.2): sural/radial amplitude ratio < 0.40 (< 0.25 from 60 y, §T3.2 [sim];
  < 0.08 from 70 y, Mansukhani 2020 †).
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
    "crit_srar_pct_lln",
    "crit_myopathic_muscle_frac",
    "crit_neurogenic_muscle_frac",
    "crit_active_denervation_muscle_count",
    "crit_single_root_frac",
    "crit_single_root_nerves_count",
    "crit_outside_root_muscle_count",
    "crit_paraspinal_active",
    "crit_cts_pattern",
    "crit_regions_examined_count",
    "crit_lmn_region_frac",
    "crit_abnormal_limb_muscle_count",
    "crit_focal_entrapment",
    "crit_non_length_dependent_sensory",
    "crit_neurogenic_limb_snap_abnormal",
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
#: SRAR LLN above 70 y: 0.08 (Mansukhani et al. 2020, age-stratified, T3.2 †)
SRAR_LLN_OLDEST = 0.08
SRAR_OLDEST_FROM_YEARS = 70.0
LD_RATIO = 0.5  # lower-limb SNAP % LLN below half the upper-limb one = relative upper sparing [sim]
#: focal slowing across an entrapment site: CV drop ULN ulnar across the elbow 15 m/s, peroneal
#: across the fibular head 10 m/s; amplitude drop ULN across the fibular head 25 % (T1.1), across
#: the elbow 20 % (AAEM ulnar practice parameter 1999, † outside the clinical reference)
FOCAL_CV_DROP_ULN_M_S: dict[str, float] = {"ulnar": 15.0, "peroneal": 10.0}
FOCAL_AMP_DROP_ULN: dict[str, float] = {"ulnar": 0.20, "peroneal": 0.25}
#: a non-length-dependent sensory pattern: an arm SNAP abnormal while the leg SNAPs are normal,
#: or the arm SNAPs (% LLN) below this share of the leg ones (Kennedy disease: median/ulnar lower
#: than sural, T3.6; ganglionopathy: no distal-to-proximal gradient, Camdessanché 2009 †)
NLD_UPPER_LOWER_RATIO = 0.6

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


def _lmn_regions(
    mus: Mapping[str, np.ndarray], n_studies: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Awaji LMN region count, assessable regions, and regions examined, per study.

    Bulbar and thoracic regions count with one LMN muscle (a thoracic paraspinal with
    fibrillations counts). A cervical or lumbosacral region counts only with ≥2 LMN limb muscles
    of different nerves that **no single root on one side explains** (Awaji / Gold Coast,
    T3.1a: "different roots and nerves"): a C8 lesion's FDI, APB and ADM share C8, an S1
    lesion's gastrocnemius and gluteus maximus share S1, so a one-root lesion never makes a
    region. Paraspinal muscles are segmentally innervated by the same roots: they never supply
    the "different root" of a limb region.
    """
    count = np.zeros(n_studies)
    tested = np.zeros(n_studies)
    examined = np.zeros(n_studies)
    attrs = _muscle_attributes()
    study = mus["study"].astype(np.int64)
    region = mus["region"].astype(np.int64)
    lmn = np.asarray(mus["lmn"], dtype=float)
    muscle = mus["muscle"].astype(np.int64)
    nerve = mus["nerve"].astype(np.int64)
    side = np.minimum(mus["side"].astype(np.int64), 1)
    para = attrs["paraspinal"][muscle]
    all_roots = attrs["all_roots"][muscle]  # (rows, n_all_roots) bool: every root of the muscle
    for r, rname in enumerate(REGIONS):
        in_region = region == r
        examined += group_count(study[in_region], None, n_studies) >= 1
        sel = in_region & ~np.isnan(lmn)
        n_assess = group_count(study[sel], None, n_studies)
        hit = sel & (lmn == 1)
        if rname in ("bulbar", "thoracic"):
            ok = group_count(study[hit], None, n_studies) >= 1
            tested += n_assess >= 1
        else:
            limb_hit = hit & ~para
            hs = study[limb_hit]
            n_hit = group_count(hs, None, n_studies)
            nerves = n_unique_per_group(hs, nerve[limb_hit], n_studies)
            sides = n_unique_per_group(hs, side[limb_hit], n_studies)
            # a root shared by every LMN muscle of the region explains them (on one side)
            shared = np.zeros(n_studies, dtype=bool)
            for j in range(all_roots.shape[1]):
                with_j = np.bincount(
                    hs, weights=all_roots[limb_hit, j].astype(float), minlength=n_studies
                )
                shared |= (n_hit > 0) & (with_j == n_hit)
            one_root = shared & (sides <= 1)
            ok = (n_hit >= 2) & (nerves >= 2) & ~one_root
            tested += (n_assess - group_count(study[sel & para], None, n_studies)) >= 2
        count += ok
    return count, tested, examined


def _single_root(
    mus: Mapping[str, np.ndarray], n_studies: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best single root and side: share of abnormal limb muscles it explains, nerves spanned,
    and abnormal limb muscles it leaves unexplained."""
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
    best = counts.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_abn >= 2, best / n_abn, np.nan)
    # nerves spanned: the most among the (side, root) candidates tied for best, so that the
    # result never depends on which side or root comes first (left/right swap is exact)
    nerves = np.zeros(n_studies)
    for col in range(counts.shape[1]):
        c_side, c_root = col // len(ROOTS), col % len(ROOTS)
        tied = (counts[:, col] == best) & (best > 0)
        explained = tied[study] & (side == c_side) & roots[:, c_root]
        nerves = np.maximum(
            nerves, n_unique_per_group(study[explained], nerve[explained], n_studies)
        )
    outside = n_abn - best  # 0 with one abnormal muscle (its root explains it)
    return frac, np.where(n_abn >= 2, nerves, np.nan), outside


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
    age = np.nan_to_num(age_years, nan=40.0)
    thr = np.select(
        [age >= SRAR_OLDEST_FROM_YEARS, age >= SRAR_ELDERLY_FROM_YEARS],
        [SRAR_LLN_OLDEST, SRAR_LLN_ELDERLY],
        SRAR_LLN,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        spared = (up_min >= 100) | (lo_min < LD_RATIO * up_min)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["crit_srar_pct_lln"] = 100.0 * srar / thr  # relative to the age band's limit
    # SRAR counts only beside a leg SNAP below its limit: a low ratio from a normal sural and a
    # large normal radial made an added normal radial raise the neuropathy mass over "not
    # measured" (MR9); without the leg SNAP's own loss it is a contrast of two normal SNAPs
    ld = (lo_min < 100) & ((srar < thr) | spared)
    assessable = ~np.isnan(srar) | (~np.isnan(lo_min) & ~np.isnan(up_min)) | (lo_min >= 100)
    f["crit_length_dependent"] = flag(ld, assessable)

    # EMG-based criteria
    study = mus["study"].astype(np.int64)
    lmn_count, regions_tested, examined = _lmn_regions(mus, n_studies)
    has_emg = group_count(study, None, n_studies) > 0
    f["crit_lmn_region_count"] = np.where(has_emg, lmn_count, np.nan)
    f["crit_lmn_regions_tested_count"] = regions_tested
    f["crit_regions_examined_count"] = examined
    with np.errstate(invalid="ignore", divide="ignore"):
        f["crit_lmn_region_frac"] = np.where(examined > 0, lmn_count / examined, np.nan)
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
    limb = _muscle_attributes()["limb_muscle"][mus["muscle"].astype(np.int64)]
    abn = np.asarray(mus["abnormal"], dtype=float)
    f["crit_abnormal_limb_muscle_count"] = np.where(
        group_count(study[limb], abn[limb], n_studies) > 0,
        group_sum(study[limb], abn[limb], n_studies),
        np.nan,
    )
    frac, nerves, outside = _single_root(mus, n_studies)
    f["crit_single_root_frac"] = frac
    f["crit_single_root_nerves_count"] = nerves
    # only where limb muscles were assessed (as crit_abnormal_limb_muscle_count)
    f["crit_outside_root_muscle_count"] = np.where(
        np.isnan(f["crit_abnormal_limb_muscle_count"]), np.nan, outside
    )
    para = np.asarray(mus["paraspinal"], dtype=float) == 1
    # no paraspinal examined in a study with needle EMG: none found active (0), as the region
    # shares (features.emg._none_found_elsewhere): whether paraspinals were examined reveals the
    # referral question, not the disease (MR3)
    para_active = group_any(study[para], active[para], n_studies)
    f["crit_paraspinal_active"] = np.where(
        np.isnan(para_active) & (group_count(study, active, n_studies) > 0), 0.0, para_active
    )
    f["crit_cts_pattern"] = cts
    f["crit_focal_entrapment"] = focal_entrapment(resp, n_studies)
    f["crit_non_length_dependent_sensory"] = non_length_dependent_sensory(resp, cts, n_studies)
    f["crit_neurogenic_limb_snap_abnormal"] = neurogenic_limb_snap_abnormal(resp, mus, n_studies)
    return {c: f[c].astype(np.float64) for c in CRITERIA_COLUMNS}


def focal_entrapment(resp: Mapping[str, np.ndarray], n_studies: int) -> np.ndarray:
    """1.0 when a segment across the elbow (ulnar) or fibular head (peroneal) shows focal slowing
    or a CMAP drop beyond its limit (:data:`FOCAL_CV_DROP_ULN_M_S`, :data:`FOCAL_AMP_DROP_ULN`);
    0.0 when such a segment was studied and is normal; NaN when none was studied."""
    hit = np.zeros(n_studies, dtype=bool)
    known = np.zeros(n_studies, dtype=bool)
    for name in FOCAL_CV_DROP_ULN_M_S:
        drop = _side_matrix(resp, MOTOR, name, "focal_cv_drop_m_s", n_studies)
        ratio = _side_matrix(resp, MOTOR, name, "focal_cb_ratio", n_studies)
        with np.errstate(invalid="ignore"):
            bad = (drop > FOCAL_CV_DROP_ULN_M_S[name]) | (1.0 - ratio > FOCAL_AMP_DROP_ULN[name])
        hit |= bad.any(axis=1)
        known |= (~np.isnan(drop) | ~np.isnan(ratio)).any(axis=1)
    return flag(hit, known)


def non_length_dependent_sensory(
    resp: Mapping[str, np.ndarray], cts: np.ndarray, n_studies: int
) -> np.ndarray:
    """1.0 for sensory loss without a length gradient: arm SNAPs worse than leg SNAPs.

    An arm SNAP below its LLN while every leg SNAP is normal, or the lowest arm SNAP (% LLN)
    below :data:`NLD_UPPER_LOWER_RATIO` of the lowest leg SNAP (neuronopathy, Kennedy disease;
    T3.6), on the same side (a ganglionopathy is often asymmetric). The median SNAP is left out
    when a carpal tunnel pattern is present (a focal lesion at the wrist). NaN unless an arm and
    a leg SNAP were recorded on one side.
    """
    s = resp["kind"] == SENSORY
    ss = resp["study"].astype(np.int64)[s]
    side = np.minimum(resp["side"].astype(np.int64)[s], 1)
    amp = np.asarray(resp["amp_pct_lln"], dtype=float)[s]
    nerve = resp["nerve"].astype(np.int64)[s]
    cts_here = (nerve == _MEDIAN) & (cts[ss] == 1) if len(ss) else np.zeros(0, dtype=bool)
    hit = np.zeros(n_studies, dtype=bool)
    known = np.zeros(n_studies, dtype=bool)
    # per side (a ganglionopathy is often asymmetric), then any side
    for sd in (0, 1):
        up_sel = _UPPER[nerve] & ~cts_here & (side == sd)
        lo_sel = _LOWER[nerve] & (side == sd)
        up = group_min(ss[up_sel], amp[up_sel], n_studies)
        lo = group_min(ss[lo_sel], amp[lo_sel], n_studies)
        with np.errstate(invalid="ignore"):
            hit |= (up < 100) & ((lo >= 100) | (up < NLD_UPPER_LOWER_RATIO * lo))
        known |= ~np.isnan(up) & ~np.isnan(lo)
    return flag(hit, known)


def neurogenic_limb_snap_abnormal(
    resp: Mapping[str, np.ndarray], mus: Mapping[str, np.ndarray], n_studies: int
) -> np.ndarray:
    """1.0 when a limb with neurogenic muscles also has an abnormal SNAP (post-ganglionic).

    A root or anterior-horn lesion spares the SNAP (the dorsal root ganglion lies distal to it,
    T3.5); a low SNAP in the weak limb places the lesion in the plexus, a nerve or a
    neuropathy. Per limb (arm/leg) and side; 0 when SNAPs and needle EMG were recorded but no
    neurogenic limb had a SNAP; NaN when the study lacks SNAPs or needle EMG.
    """
    attrs = _muscle_attributes()
    muscle = mus["muscle"].astype(np.int64)
    abnormal = np.asarray(mus["abnormal"], dtype=float) == 1
    limb_up, limb_lo = attrs["upper"][muscle], attrs["lower"][muscle]
    m_study = mus["study"].astype(np.int64)
    m_side = np.minimum(mus["side"].astype(np.int64), 1)
    s = resp["kind"] == SENSORY
    ss = resp["study"].astype(np.int64)[s]
    s_side = np.minimum(resp["side"].astype(np.int64)[s], 1)
    amp = np.asarray(resp["amp_pct_lln"], dtype=float)[s]
    nerve = resp["nerve"].astype(np.int64)[s]
    hit = np.zeros(n_studies, dtype=bool)
    known = np.zeros(n_studies, dtype=bool)
    for limb_m, limb_s in ((limb_up, _UPPER[nerve]), (limb_lo, _LOWER[nerve])):
        for sd in (0, 1):
            neuro = group_count(m_study[limb_m & abnormal & (m_side == sd)], None, n_studies) > 0
            sel = limb_s & (s_side == sd)
            low = group_min(ss[sel], amp[sel], n_studies)
            hit |= neuro & (low < 100)
            known |= neuro & ~np.isnan(low)
    # SNAPs and needle EMG both recorded but no neurogenic limb with a SNAP: none found (0), so
    # a worse needle finding that makes a limb neurogenic moves it 0 -> 0/1, never NaN -> 0 (MR7)
    has_snap = group_count(ss, amp, n_studies) > 0
    has_emg = group_count(m_study, np.asarray(mus["abnormal"], dtype=float), n_studies) > 0
    return flag(hit, known | (has_snap & has_emg))
