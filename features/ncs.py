"""Nerve-conduction features, relative to the patient's reference limits.

Two steps, both vectorised over whole cohorts:

1. :func:`response_table` reduces the NCS rows to one row per study x nerve x side x kind
   ("a response") with values as % of the patient's limits: distal latency % ULN, distal
   amplitude % LLN (an absent response, amplitude 0, is 0 % — a finding), the slowest segment's
   velocity % LLN, the proximal/distal amplitude ratio (conduction block) and duration ratio
   (temporal dispersion), F-wave latency % ULN, persistence and absence.
2. :func:`ncs_features` aggregates responses per nerve over sides using the **worse** side
   (min % LLN, max % ULN) plus a side-asymmetry ratio, and a few cross-nerve summaries.

A nerve that was not tested stays NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features._grouping import (
    as_arrays,
    group_count,
    group_max,
    group_min,
    group_sum,
    numeric_column,
    vocab_codes,
)
from features.limits import ncs_limits_coded
from features.vocab import KINDS, LOWER_LIMB_NERVES, NCS_SIDES, NERVES, UPPER_LIMB_NERVES

MOTOR_NERVES: tuple[str, ...] = ("median", "ulnar", "radial", "peroneal", "tibial")
F_NERVES: tuple[str, ...] = ("median", "ulnar", "peroneal", "tibial")
SENSORY_NERVES: tuple[str, ...] = ("median", "ulnar", "radial", "sural", "superficial_peroneal")

_NN, _NS, _NK = len(NERVES), len(NCS_SIDES), len(KINDS)
MOTOR, SENSORY, F_WAVE = (KINDS.index(k) for k in ("motor", "sensory", "f_wave"))
_UPPER = np.array([n in UPPER_LIMB_NERVES for n in NERVES])
_LOWER = np.array([n in LOWER_LIMB_NERVES for n in NERVES])

#: Columns of the response table.
RESPONSE_COLUMNS: tuple[str, ...] = (
    "study",
    "nerve",
    "side",
    "kind",
    "lat_pct_uln",
    "lat_ms",
    "amp_pct_lln",
    "amp_raw",
    "cv_pct_lln",
    "cb_ratio",
    "td_ratio",
    "dur_pct_uln",
    "f_lat_pct_uln",
    "f_absent",
    "f_persist_pct",
    "primary",
    "focal_cv_drop_m_s",
    "focal_cv_drop_pct",
    "focal_cv_m_s",
    "focal_cb_ratio",
)


#: F-wave latency features (``ncs_<nerve>_f_lat_pct_uln``, ``ncs_f_max_lat_pct_uln``) below
#: this share of the upper limit read as it: within the limit, the latency is not a finding
F_LAT_FLOOR_PCT_ULN = 100.0


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    return vocab_codes(values, vocabulary)


def _col(ncs: pd.DataFrame, name: str) -> np.ndarray:
    return numeric_column(ncs, name)


def _empty_response_arrays() -> dict[str, np.ndarray]:
    out = {c: np.zeros(0) for c in RESPONSE_COLUMNS}
    for c in ("study", "nerve", "side", "kind"):
        out[c] = np.zeros(0, dtype=np.int64)
    return out


def response_table(
    ncs: pd.DataFrame,
    study_pos: np.ndarray,
    age_years: np.ndarray,
    height_cm: np.ndarray,
    limb_temp_c: np.ndarray,
) -> pd.DataFrame:
    """One row per study x nerve x side x kind, values relative to the patient's limits.

    Parameters
    ----------
    ncs : DataFrame
        Canonical NCS rows; within a nerve/side/kind the first row is the distal site.
    study_pos : ndarray of int, shape (n_rows,)
        Position of each row's study in the study arrays (-1: unknown study, row ignored).
    age_years, height_cm, limb_temp_c : ndarray of float, shape (n_studies,)
        Study covariates (NaN height = 170 cm, NaN temperature = warm).

    Returns
    -------
    DataFrame
        Columns of :data:`RESPONSE_COLUMNS`; ``study``, ``nerve``, ``side``, ``kind`` are integer
        codes (positions, and indices into ``NERVES``/``NCS_SIDES``/``KINDS``). Percentages are
        NaN when the value or its limit is missing; ``amp_pct_lln`` is 0 for an absent response.
        Where the limit is 0 (absence acceptable at that age) it is ``100 · (1 + amp /
        ZERO_LIMIT_SCALE_UV)``: 100 % for an absent response, above 100 % for any present one.
    """
    arrays = response_arrays(ncs, study_pos, age_years, height_cm, limb_temp_c)
    if len(arrays["study"]) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in RESPONSE_COLUMNS})
    return pd.DataFrame(arrays, columns=list(RESPONSE_COLUMNS))


#: scale of a present SNAP where the amplitude limit is 0 (sural / superficial peroneal from
#: 75 y): the last non-zero limit, 1 µV at 70-74 y (Tavee et al. 2014, clinical reference T1.4)
ZERO_LIMIT_SCALE_UV = 1.0

#: stimulation sites whose segment (from the previous, more distal site) crosses an entrapment
#: site: ulnar across the elbow, peroneal across the fibular head (T1.1 across-elbow and
#: across-fibular-head limits; AAEM ulnar practice parameter). Slowing or a CMAP drop there is
#: focal (a mononeuropathy), not evidence of a demyelinating polyneuropathy (EFNS/PNS 2010
#: T3.3a: conduction criteria exclude the usual entrapment sites).
ENTRAPMENT_SEGMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # nerve: (stimulation sites ending an across-entrapment segment, required previous site)
    "ulnar": (frozenset({"above_elbow"}), frozenset({"below_elbow"})),
    "peroneal": (
        frozenset({"popliteal_fossa", "knee", "above_fibular_head"}),
        frozenset({"fibular_head", "below_fibular_head"}),
    ),
}


def _entrapment_rows(
    ncs: pd.DataFrame, nerve: np.ndarray, kind: np.ndarray, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose segment crosses an entrapment site, and each row's previous row in its response.

    ``key`` identifies the response of each row (rows of a response are distal first). The
    previous row index is -1 for the distal row. A row counts as across-entrapment only when
    its response has the required more distal site right before it (e.g. above-elbow after
    below-elbow), so a long wrist-to-above-elbow segment is not mistaken for a focal one.
    """
    n = len(key)
    order = np.argsort(key, kind="stable")
    prev = np.full(n, -1, dtype=np.int64)
    same = np.r_[False, key[order][1:] == key[order][:-1]]
    prev[order[same]] = order[np.flatnonzero(same) - 1]
    entrap = np.zeros(n, dtype=bool)
    if "stim_site" not in ncs.columns or n == 0:
        return entrap, prev
    stim = ncs["stim_site"].to_numpy(dtype=object)
    for name, (sites, before) in ENTRAPMENT_SEGMENTS.items():
        here = (nerve == NERVES.index(name)) & (kind == MOTOR) & (prev >= 0)
        if not here.any():
            continue
        rows = np.flatnonzero(here)
        ok = np.isin(stim[rows], list(sites)) & np.isin(stim[prev[rows]], list(before))
        entrap[rows[ok]] = True
    return entrap, prev


def response_arrays(
    ncs: pd.DataFrame,
    study_pos: np.ndarray,
    age_years: np.ndarray,
    height_cm: np.ndarray,
    limb_temp_c: np.ndarray,
    *,
    kind_code: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """:func:`response_table` as a dict of aligned numpy arrays (the fast internal form).

    ``kind_code``: the rows' :data:`KINDS` codes when the caller already has them.

    A response is one study x nerve x side x kind x recording site: a nerve recorded at a
    second muscle with limits of its own (ulnar at FDI beside ADM) is a second response, never
    a proximal site of the first. Segments across an entrapment site
    (:data:`ENTRAPMENT_SEGMENTS`) are left out of the velocity, block and dispersion values and
    reported separately as focal values (``focal_cv_drop_m_s``, ``focal_cv_drop_pct``,
    ``focal_cb_ratio``). The drop in % of the other segments' velocity is what the model reads:
    uniform slowing (every segment x f) leaves it unchanged, where the drop in m/s shrinks by f
    and would read as "less focal" (invariant MR1).
    """
    nerve = _codes(ncs["nerve"], NERVES)
    side = _codes(ncs["side"], NCS_SIDES)
    kind = _codes(ncs["kind"], KINDS) if kind_code is None else kind_code
    study_pos = np.asarray(study_pos)
    if "recording_site" in ncs.columns:
        site_codes, site_uniques = pd.factorize(ncs["recording_site"])
    else:
        site_codes, site_uniques = np.full(len(ncs), -1, dtype=np.intp), np.array([], dtype=object)
    lat, amp, dur = _col(ncs, "latency_ms"), _col(ncs, "amplitude"), _col(ncs, "duration_ms")
    vel, persist = _col(ncs, "velocity_m_s"), _col(ncs, "persistence_pct")
    ok = (study_pos >= 0) & (nerve >= 0) & (side >= 0) & (kind >= 0)
    if not ok.all():
        ncs = ncs.loc[ok]
        study_pos, nerve, side, kind = study_pos[ok], nerve[ok], side[ok], kind[ok]
        site_codes = site_codes[ok]
        lat, amp, dur, vel, persist = lat[ok], amp[ok], dur[ok], vel[ok], persist[ok]
    if len(study_pos) == 0:
        return _empty_response_arrays()
    lim = ncs_limits_coded(
        nerve,
        kind,
        site_codes,
        site_uniques,
        age_years[study_pos],
        height_cm[study_pos],
        limb_temp_c[study_pos],
    )
    # a secondary recording site (own limits, not the default) is its own response
    n_sites = len(site_uniques) + 1
    site_part = np.where(lim["_secondary"], site_codes + 1, 0).astype(np.int64)
    base = ((study_pos.astype(np.int64) * _NN + nerve) * _NS + side) * _NK + kind
    key = base * n_sites + site_part
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    g = len(uniq)
    distal = np.zeros(len(key), dtype=bool)
    distal[first] = True
    prox = ~distal
    entrap, prev = _entrapment_rows(ncs, nerve, kind, key)
    regular = ~entrap

    with np.errstate(invalid="ignore", divide="ignore"):
        lat_pct = 100.0 * lat / lim["latency_uln_ms"]
        lln = lim["amplitude_lln"]
        # a limit of 0 (absence acceptable, sural/SPN from 75 y): an absent response sits at the
        # limit (100 %) and a present one above it, scaled by the last non-zero limit (1 µV at
        # 70-74 y, Tavee 2014), so absent < small < large stays ordered (MR9: a normal SNAP in
        # an 85-year-old is better evidence than none)
        amp_pct = np.where(
            lln > 0,
            100.0 * amp / lln,
            np.where(lln == 0, 100.0 * (1.0 + amp / ZERO_LIMIT_SCALE_UV), np.nan),
        )
        amp_pct = np.where(np.isnan(amp), np.nan, amp_pct)
        cv_pct = 100.0 * vel / lim["velocity_lln_m_s"]
        d_amp = amp[first][inv]
        d_dur = dur[first][inv]
        cb = np.where(prox & regular & (d_amp > 0), amp / d_amp, np.nan)
        td = np.where(prox & regular & (d_dur > 0) & (amp > 0), dur / d_dur, np.nan)
        dur_pct = 100.0 * dur / lim["distal_duration_uln_ms"]
        p_amp = np.where(prev >= 0, amp[np.maximum(prev, 0)], np.nan)
        focal_cb = np.where(entrap & (p_amp > 0), amp / p_amp, np.nan)

    is_f = kind == F_WAVE
    sel = lambda mask, v: np.where(mask, v, np.nan)  # noqa: E731
    seg_cv = group_min(inv, sel(prox & regular & ~is_f, vel), g)
    focal_cv = group_min(inv, sel(entrap, vel), g)
    out = {
        "study": uniq // (n_sites * _NN * _NS * _NK),
        "nerve": (uniq // (n_sites * _NS * _NK)) % _NN,
        "side": (uniq // (n_sites * _NK)) % _NS,
        "kind": (uniq // n_sites) % _NK,
        "primary": (uniq % n_sites == 0).astype(float),
        "lat_pct_uln": group_max(inv, sel(distal & ~is_f, lat_pct), g),
        "lat_ms": group_max(inv, sel(distal & ~is_f, lat), g),
        "amp_pct_lln": group_min(inv, sel(distal & ~is_f, amp_pct), g),
        "amp_raw": group_min(inv, sel(distal & ~is_f, amp), g),
        "cv_pct_lln": group_min(inv, sel(~is_f & regular, cv_pct), g),
        "cb_ratio": group_min(inv, cb, g),
        "td_ratio": group_max(inv, td, g),
        "dur_pct_uln": group_max(inv, sel(distal & ~is_f, dur_pct), g),
        "f_lat_pct_uln": group_min(inv, sel(is_f, lat_pct), g),
        "f_persist_pct": group_max(inv, sel(is_f, persist), g),
        "focal_cv_drop_m_s": seg_cv - focal_cv,
        "focal_cv_drop_pct": 100.0 * (seg_cv - focal_cv) / np.where(seg_cv > 0, seg_cv, np.nan),
        "focal_cv_m_s": focal_cv,
        "focal_cb_ratio": group_min(inv, focal_cb, g),
    }
    f_rows = group_count(inv, sel(is_f, np.ones(len(key))), g)
    f_seen = group_count(inv, sel(is_f, lat), g)
    f_zero = group_sum(inv, sel(is_f, (persist == 0).astype(float)), g)
    # F absent: an F-wave row with no latency and persistence 0 (or no latency at all)
    out["f_absent"] = np.where(
        out["kind"] == F_WAVE, ((f_seen == 0) & ((f_zero > 0) | (f_rows > 0))).astype(float), np.nan
    )
    return {c: out[c] for c in RESPONSE_COLUMNS}


def per_nerve(
    resp: pd.DataFrame | Mapping[str, np.ndarray], kind: int, column: str, how: str, n_studies: int
) -> np.ndarray:
    """Aggregate one response column over sides: matrix (n_studies, len(NERVES)).

    ``how`` is ``"min"``, ``"max"`` or ``"side_ratio"`` (min/max over sides, NaN unless both
    sides were measured and the larger is above 0).
    """
    r = as_arrays(resp)
    sel = r["kind"] == kind
    keys = r["study"][sel].astype(np.int64) * _NN + r["nerve"][sel].astype(np.int64)
    return _per_nerve(keys, np.asarray(r[column], dtype=float)[sel], how, n_studies)


def _per_nerve(keys: np.ndarray, vals: np.ndarray, how: str, n_studies: int) -> np.ndarray:
    size = n_studies * _NN
    if how == "min":
        flat = group_min(keys, vals, size)
    elif how == "max":
        flat = group_max(keys, vals, size)
    elif how == "side_ratio":
        lo, hi = group_min(keys, vals, size), group_max(keys, vals, size)
        n = group_count(keys, vals, size)
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = np.where((n >= 2) & (hi > 0), lo / hi, np.nan)
    else:
        raise ValueError(
            f"Invalid value for the 'how' parameter: {how!r}. Allowed: min, max, side_ratio."
        )
    return flat.reshape(n_studies, _NN)


def _nanmin_rows(m: np.ndarray) -> np.ndarray:
    out = np.fmin.reduce(m, axis=1) if m.shape[1] else np.full(m.shape[0], np.nan)
    return out


def _second_lowest_leg_snap(
    resp: Mapping[str, np.ndarray], primary: np.ndarray, n_studies: int
) -> np.ndarray:
    """Second-lowest leg SNAP (% LLN) over every leg sensory response, both sides (NaN with < 2).

    One low SNAP has technical and focal causes; a second one confirms a neuropathy (a
    research case definition asks for abnormal attributes in >= 2 nerves, England et al. 2005 †).
    An order statistic is monotone in every SNAP, so a lost or smaller SNAP never raises it
    (MR2a), unlike the sural/radial ratio.
    """
    sel = (
        (np.asarray(resp["kind"]) == SENSORY)
        & primary
        & _LOWER[np.asarray(resp["nerve"], dtype=np.int64)]
    )
    amp = np.asarray(resp["amp_pct_lln"], dtype=float)[sel]
    study = np.asarray(resp["study"], dtype=np.int64)[sel]
    keep = ~np.isnan(amp)
    amp, study = amp[keep], study[keep]
    out = np.full(n_studies, np.nan)
    if len(amp) == 0:
        return out
    order = np.lexsort((amp, study))
    amp, study = amp[order], study[order]
    first = np.r_[True, study[1:] != study[:-1]]
    rank = np.arange(len(study)) - np.maximum.accumulate(np.where(first, np.arange(len(study)), 0))
    second = rank == 1
    out[study[second]] = amp[second]
    return out


def _nanmax_rows(m: np.ndarray) -> np.ndarray:
    return np.fmax.reduce(m, axis=1) if m.shape[1] else np.full(m.shape[0], np.nan)


def ncs_features(
    resp: pd.DataFrame | Mapping[str, np.ndarray], n_studies: int
) -> dict[str, np.ndarray]:
    """Per-study NCS features from a response table (see module docstring for the families).

    Returns a dict of float64 arrays of length ``n_studies`` (NaN = not measured).
    """
    resp = as_arrays(resp)
    f: dict[str, np.ndarray] = {}
    ix = {n: i for i, n in enumerate(NERVES)}
    kind_arr = resp["kind"]
    nerve_key = resp["study"].astype(np.int64) * _NN + resp["nerve"].astype(np.int64)
    by_kind = {k: (kind_arr == k) for k in (MOTOR, SENSORY, F_WAVE)}

    primary = (
        np.asarray(resp["primary"]) == 1 if "primary" in resp else np.ones(len(kind_arr), bool)
    )

    def agg(kind: int, column: str, how: str, n: int) -> np.ndarray:
        sel = by_kind[kind]
        if how == "side_ratio":  # left vs right of the same recording site
            sel = sel & primary
        return _per_nerve(nerve_key[sel], resp[column][sel], how, n)

    m_lat = agg(MOTOR, "lat_pct_uln", "max", n_studies)
    m_amp = agg(MOTOR, "amp_pct_lln", "min", n_studies)
    m_cv = agg(MOTOR, "cv_pct_lln", "min", n_studies)
    m_cb = agg(MOTOR, "cb_ratio", "min", n_studies)
    m_td = agg(MOTOR, "td_ratio", "max", n_studies)
    m_side = agg(MOTOR, "amp_pct_lln", "side_ratio", n_studies)
    m_dur = agg(MOTOR, "dur_pct_uln", "max", n_studies)
    for n in MOTOR_NERVES:
        i = ix[n]
        f[f"ncs_{n}_motor_lat_pct_uln"] = m_lat[:, i]
        f[f"ncs_{n}_motor_amp_pct_lln"] = m_amp[:, i]
        f[f"ncs_{n}_motor_cv_pct_lln"] = m_cv[:, i]
        f[f"ncs_{n}_motor_cb_ratio"] = m_cb[:, i]
        f[f"ncs_{n}_motor_td_ratio"] = m_td[:, i]
        f[f"ncs_{n}_motor_amp_side_ratio"] = m_side[:, i]
        if n in F_NERVES:
            f[f"ncs_{n}_motor_dur_pct_uln"] = m_dur[:, i]
    # focal slowing and block across the entrapment sites (ENTRAPMENT_SEGMENTS), worse side
    focal_drop = agg(MOTOR, "focal_cv_drop_pct", "max", n_studies)
    focal_cb = agg(MOTOR, "focal_cb_ratio", "min", n_studies)
    for n, where in (("ulnar", "elbow"), ("peroneal", "fibular_head")):
        f[f"ncs_{n}_{where}_cv_drop_pct"] = focal_drop[:, ix[n]]
        f[f"ncs_{n}_{where}_cb_ratio"] = focal_cb[:, ix[n]]
    # an F latency within its limit is no evidence of slowing: it reads as the limit (100 %), so
    # a normal F-wave can never look more demyelinating than one not measured (MR9; the
    # demyelinating head alone reads F latencies, models.ovr.owners)
    f_lat = np.fmax(agg(F_WAVE, "f_lat_pct_uln", "max", n_studies), F_LAT_FLOOR_PCT_ULN)
    f_per = agg(F_WAVE, "f_persist_pct", "min", n_studies)
    for n in F_NERVES:
        f[f"ncs_{n}_f_lat_pct_uln"] = f_lat[:, ix[n]]
        f[f"ncs_{n}_f_persist_pct"] = f_per[:, ix[n]]
    s_lat = agg(SENSORY, "lat_pct_uln", "max", n_studies)
    s_amp = agg(SENSORY, "amp_pct_lln", "min", n_studies)
    s_side = agg(SENSORY, "amp_pct_lln", "side_ratio", n_studies)
    for n in SENSORY_NERVES:
        f[f"ncs_{n}_sensory_lat_pct_uln"] = s_lat[:, ix[n]]
        f[f"ncs_{n}_sensory_amp_pct_lln"] = s_amp[:, ix[n]]
        f[f"ncs_{n}_sensory_amp_side_ratio"] = s_side[:, ix[n]]

    # cross-nerve summaries
    up_s, lo_s = _nanmin_rows(s_amp[:, _UPPER]), _nanmin_rows(s_amp[:, _LOWER])
    f["ncs_sensory_upper_min_amp_pct_lln"] = up_s
    f["ncs_sensory_lower_min_amp_pct_lln"] = lo_s
    f["ncs_sensory_lower_second_amp_pct_lln"] = _second_lowest_leg_snap(resp, primary, n_studies)
    f["ncs_motor_upper_min_amp_pct_lln"] = _nanmin_rows(m_amp[:, _UPPER])
    f["ncs_motor_lower_min_amp_pct_lln"] = _nanmin_rows(m_amp[:, _LOWER])
    f["ncs_motor_min_cv_pct_lln"] = _nanmin_rows(m_cv)
    f["ncs_motor_max_lat_pct_uln"] = _nanmax_rows(m_lat)
    f["ncs_f_max_lat_pct_uln"] = _nanmax_rows(f_lat)
    f["ncs_motor_min_cb_ratio"] = _nanmin_rows(m_cb)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["ncs_sensory_lower_upper_ratio"] = np.where(
            up_s > 0, np.minimum(lo_s / up_s, 5.0), np.where(up_s == 0, np.nan, np.nan)
        )
    f["ncs_median_ulnar_sensory_lat_diff_ms"] = median_ulnar_lat_diff(resp, SENSORY, n_studies)
    f["ncs_split_hand_ratio"] = _split_hand(resp, n_studies)
    tested_s = np.sum(~np.isnan(s_amp), axis=1)
    tested_m = np.sum(~np.isnan(m_amp), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["ncs_sensory_abnormal_frac"] = np.where(
            tested_s > 0, np.sum(s_amp < 100, axis=1) / tested_s, np.nan
        )
        f["ncs_motor_low_amp_frac"] = np.where(
            tested_m > 0, np.sum(m_amp < 100, axis=1) / tested_m, np.nan
        )
    return f


def _side_matrix(
    resp: pd.DataFrame | Mapping[str, np.ndarray],
    kind: int,
    nerve: str,
    column: str,
    n_studies: int,
) -> np.ndarray:
    """(n_studies, 2) matrix of ``column`` for one nerve/kind by side (NaN if not done).

    Only the nerve's default recording site is used (ulnar motor: ADM, not FDI).
    """
    r = as_arrays(resp)
    sel = (r["kind"] == kind) & (r["nerve"] == NERVES.index(nerve))
    if "primary" in r:
        sel &= np.asarray(r["primary"]) == 1  # the nerve's default recording site
    out = np.full((n_studies, _NS), np.nan)
    out[r["study"][sel].astype(np.int64), r["side"][sel].astype(np.int64)] = np.asarray(
        r[column], dtype=float
    )[sel]
    return out


def median_ulnar_lat_diff(
    resp: pd.DataFrame | Mapping[str, np.ndarray], kind: int, n_studies: int
) -> np.ndarray:
    """Largest same-side median minus ulnar latency difference, ms (NaN if no side has both).

    Routine antidromic distances differ (median D2 13 cm, ulnar D5 11 cm), so the ulnar latency
    is first scaled to the median's reference: difference = median latency - median ULN x
    (ulnar latency % of its ULN) / 100. With equal distances and limits this is the plain
    difference of the comparison studies (Atroshi 2003, T1.2).
    """
    med_ms = _side_matrix(resp, kind, "median", "lat_ms", n_studies)
    med_pct = _side_matrix(resp, kind, "median", "lat_pct_uln", n_studies)
    uln_pct = _side_matrix(resp, kind, "ulnar", "lat_pct_uln", n_studies)
    with np.errstate(invalid="ignore", divide="ignore"):
        med_uln_ms = med_ms / med_pct * 100.0
    return _nanmax_rows(med_ms - med_uln_ms * uln_pct / 100.0)


def _split_hand(resp: Mapping[str, np.ndarray], n_studies: int) -> np.ndarray:
    """Lowest same-side median (APB) / ulnar (ADM) CMAP ratio in % of LLN: split-hand proxy."""
    med = _side_matrix(resp, MOTOR, "median", "amp_pct_lln", n_studies)
    uln = _side_matrix(resp, MOTOR, "ulnar", "amp_pct_lln", n_studies)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(uln > 0, np.minimum(med / uln, 5.0), np.nan)
    return _nanmin_rows(ratio)
