"""The per-study feature table: one row per study, float64 features relative to reference limits.

``build_features(bundle)`` returns a DataFrame indexed by ``study_id`` (str) in the order of
``bundle.studies``, with the columns listed in :mod:`features.catalog` (groups: patient, NCS
motor, NCS sensory, F-wave, spontaneous activity, MUAP, recruitment, distribution, criteria,
coverage). Every study is present even when it has no NCS or no EMG rows; NaN means "not
measured / not assessable", never "normal". Work is done in chunks of whole studies, vectorised
inside each chunk.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features._grouping import group_count, group_frac, group_max, n_unique_per_group
from features.bundle import Bundle
from features.criteria import criteria_features
from features.emg import emg_features, muscle_table
from features.ncs import F_WAVE, MOTOR, SENSORY, ncs_features, response_table
from features.vocab import LOWER_LIMB_NERVES, NERVES, UPPER_LIMB_NERVES

logger = logging.getLogger(__name__)

PATIENT_COLUMNS: tuple[str, ...] = ("age_years", "height_cm", "sex_female")


def _study_numeric(studies: pd.DataFrame, name: str) -> np.ndarray:
    if name not in studies.columns:
        return np.full(len(studies), np.nan)
    return pd.to_numeric(studies[name], errors="coerce").to_numpy(dtype=float)


def _coverage(
    studies: pd.DataFrame,
    ncs: pd.DataFrame,
    ncs_pos: np.ndarray,
    resp: pd.DataFrame,
    mus: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """What was tested (group "coverage"): for confidence and the unlike-the-training-data flag."""
    n = len(studies)
    f: dict[str, np.ndarray] = {}
    rs = resp["study"].to_numpy(dtype=np.int64)
    rk = resp["kind"].to_numpy(dtype=np.int64)
    f["cov_motor_nerves_count"] = group_count(rs[rk == MOTOR], None, n)
    f["cov_sensory_nerves_count"] = group_count(rs[rk == SENSORY], None, n)
    f["cov_f_waves_count"] = group_count(rs[rk == F_WAVE], None, n)
    ms = mus["study"].to_numpy(dtype=np.int64)
    f["cov_muscles_count"] = group_count(ms, None, n)
    f["cov_regions_count"] = n_unique_per_group(ms, mus["region"].to_numpy(dtype=np.int64), n)
    # sides: L=0 / R=1 from NCS responses and limb/axial muscles (midline muscles do not count)
    side_m = mus["side"].to_numpy(dtype=np.int64)
    keep = side_m < 2
    f["cov_sides_count"] = n_unique_per_group(
        np.concatenate([rs, ms[keep]]),
        np.concatenate([resp["side"].to_numpy(dtype=np.int64), side_m[keep]]),
        n,
    )
    rn = resp["nerve"].to_numpy(dtype=np.int64)
    lower_n = (
        np.array([x in LOWER_LIMB_NERVES for x in NERVES])[rn] if len(rn) else np.zeros(0, bool)
    )
    upper_n = (
        np.array([x in UPPER_LIMB_NERVES for x in NERVES])[rn] if len(rn) else np.zeros(0, bool)
    )
    limb = mus["limb"].to_numpy(dtype=object)
    lower = (group_count(rs[lower_n], None, n) + group_count(ms[limb == "lower"], None, n)) > 0
    upper = (group_count(rs[upper_n], None, n) + group_count(ms[limb == "upper"], None, n)) > 0
    f["cov_lower_limb_tested"] = lower.astype(float)
    f["cov_upper_limb_tested"] = upper.astype(float)
    any_info = mus["muap_any"].to_numpy(dtype=float) == 1
    f["cov_muap_numeric_frac"] = group_frac(
        ms[any_info], mus["muap_numeric"].to_numpy(dtype=float)[any_info], n
    )
    f["cov_temperature_recorded"] = (~np.isnan(_study_numeric(studies, "limb_temp_c"))).astype(
        float
    )
    f["cov_height_recorded"] = (~np.isnan(_study_numeric(studies, "height_cm"))).astype(float)
    motor_rows = (ncs["kind"] == "motor").to_numpy() if len(ncs) else np.zeros(0, bool)
    valid = ncs_pos >= 0
    f["cov_motor_sites_count"] = group_count(ncs_pos[motor_rows & valid], None, n)
    para = mus["paraspinal"].to_numpy(dtype=float)
    f["cov_paraspinal_tested"] = np.nan_to_num(group_max(ms, para, n), nan=0.0)
    return f


def _chunk_features(studies: pd.DataFrame, ncs: pd.DataFrame, emg: pd.DataFrame) -> pd.DataFrame:
    """Features of one chunk of whole studies (tables already restricted to these studies)."""
    n = len(studies)
    ids = pd.Index(studies["study_id"].astype(str))
    age = _study_numeric(studies, "age_years")
    height = _study_numeric(studies, "height_cm")
    temp = _study_numeric(studies, "limb_temp_c")
    ncs_pos = ids.get_indexer(ncs["study_id"].astype(str)) if len(ncs) else np.zeros(0, np.int64)
    emg_pos = ids.get_indexer(emg["study_id"].astype(str)) if len(emg) else np.zeros(0, np.int64)
    resp = response_table(ncs, ncs_pos, age, height, temp)
    mus = muscle_table(emg, emg_pos, age)
    cols: dict[str, np.ndarray] = {}
    sex = studies["sex"] if "sex" in studies.columns else pd.Series(np.nan, index=studies.index)
    cols["age_years"] = age
    cols["height_cm"] = height
    cols["sex_female"] = sex.map({"F": 1.0, "M": 0.0}).to_numpy(dtype=float)
    cols.update(ncs_features(resp, n))
    cols.update(emg_features(mus, n))
    cols.update(criteria_features(resp, mus, n, age))
    cols.update(_coverage(studies, ncs, ncs_pos, resp, mus))
    out = pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}, index=ids)
    out.index.name = "study_id"
    return out


def build_features(
    bundle: Bundle, *, progress: bool = False, chunk_size: int = 20000
) -> pd.DataFrame:
    """Per-study feature table of a bundle.

    Parameters
    ----------
    bundle : Bundle
        Canonical (validated) bundle; it is not modified.
    progress : bool
        Show a tqdm progress bar over chunks (stderr).
    chunk_size : int
        Number of whole studies featurised at once.

    Returns
    -------
    DataFrame
        Index ``study_id`` (str) in ``bundle.studies`` order; only float64 columns, each with an
        entry in :data:`features.catalog.FEATURES`.
    """
    if chunk_size < 1:
        raise ValueError(
            f"Invalid value for the 'chunk_size' parameter: {chunk_size!r}. Expected >= 1."
        )
    studies = bundle.studies.reset_index(drop=True)
    ids = pd.Index(studies["study_id"].astype(str))
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][0]
        raise ValueError(f"studies.study_id must be unique; {dup!r} occurs more than once.")
    n = len(studies)
    ncs_pos = (
        ids.get_indexer(bundle.ncs["study_id"].astype(str))
        if len(bundle.ncs)
        else np.zeros(0, np.int64)
    )
    emg_pos = (
        ids.get_indexer(bundle.emg["study_id"].astype(str))
        if len(bundle.emg)
        else np.zeros(0, np.int64)
    )
    for name, pos in (("ncs", ncs_pos), ("emg", emg_pos)):
        if (pos < 0).any():
            logger.warning(
                "%d %s rows refer to studies not in the studies table; ignored",
                int((pos < 0).sum()),
                name,
            )
    # order rows by study position (stable: keeps the distal-first order within a nerve)
    ncs_order = np.argsort(np.where(ncs_pos < 0, n, ncs_pos), kind="stable")
    emg_order = np.argsort(np.where(emg_pos < 0, n, emg_pos), kind="stable")
    ncs_sorted, ncs_p = bundle.ncs.iloc[ncs_order], np.where(ncs_pos < 0, n, ncs_pos)[ncs_order]
    emg_sorted, emg_p = bundle.emg.iloc[emg_order], np.where(emg_pos < 0, n, emg_pos)[emg_order]
    parts = []
    starts = list(range(0, max(n, 1), chunk_size))
    for start in tqdm(starts, desc="features", unit="chunk", disable=not progress):
        stop = min(start + chunk_size, n)
        a, b = np.searchsorted(ncs_p, [start, stop])
        c, d = np.searchsorted(emg_p, [start, stop])
        parts.append(
            _chunk_features(studies.iloc[start:stop], ncs_sorted.iloc[a:b], emg_sorted.iloc[c:d])
        )
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    logger.info("featurised %d studies into %d columns", len(out), out.shape[1])
    return out
