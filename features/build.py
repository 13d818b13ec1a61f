"""The per-study feature table: one row per study, float64 features relative to reference limits.

``build_features(bundle)`` returns a DataFrame indexed by ``study_id`` (str) in the order of
``bundle.studies``, with the columns listed in :mod:`features.catalog` (groups: patient, NCS
motor, NCS sensory, F-wave, H-reflex and RNS, spontaneous activity, MUAP, recruitment,
distribution, criteria, coverage). Every study is present even when it has no NCS or no EMG rows; NaN means "not
measured / not assessable", never "normal". Work is done in chunks of whole studies, vectorised
inside each chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from bundle.tables import Bundle
from features._grouping import (
    group_count,
    group_frac,
    group_max,
    lookup_values,
    n_unique_per_group,
    numeric_column,
    vocab_codes,
)
from features.criteria import criteria_features
from features.emg import _muscle_attributes, emg_features, muscle_arrays
from features.focal import outside_focal_territories
from features.ncs import F_WAVE, MOTOR, SENSORY, ncs_features, response_arrays
from features.special_ncs import special_ncs_features
from features.vocab import KINDS, LOWER_LIMB_NERVES, NERVES, SPECIAL_KINDS, UPPER_LIMB_NERVES

logger = logging.getLogger(__name__)

PATIENT_COLUMNS: tuple[str, ...] = ("age_years", "height_cm", "sex_female")


def _study_numeric(studies: pd.DataFrame, name: str) -> np.ndarray:
    return numeric_column(studies, name)


_LOWER_NERVE = np.array([x in LOWER_LIMB_NERVES for x in NERVES])
_UPPER_NERVE = np.array([x in UPPER_LIMB_NERVES for x in NERVES])
_SEX_FEMALE = {"F": 1.0, "M": 0.0}
#: KINDS codes of the optional kinds: read only by :mod:`features.special_ncs`, so a study's
#: other features are the same with and without its H-reflex and RNS rows
_SPECIAL_KIND_CODES = np.array([KINDS.index(k) for k in SPECIAL_KINDS])


def _coverage(
    studies: pd.DataFrame,
    ncs_kind: np.ndarray,
    ncs_pos: np.ndarray,
    resp: Mapping[str, np.ndarray],
    mus: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """What was tested (group "coverage"): for confidence and the unlike-the-training-data flag.

    ``ncs_kind`` is the KINDS code of each NCS row (-1 unknown), ``ncs_pos`` its study position.
    """
    n = len(studies)
    f: dict[str, np.ndarray] = {}
    rs = resp["study"].astype(np.int64)
    rk = resp["kind"].astype(np.int64)
    # nerve-sides, not responses: a second recording site (ulnar at FDI) is not another nerve
    nerve_side = resp["nerve"].astype(np.int64) * 2 + np.minimum(resp["side"].astype(np.int64), 1)
    f["cov_motor_nerves_count"] = n_unique_per_group(rs[rk == MOTOR], nerve_side[rk == MOTOR], n)
    f["cov_sensory_nerves_count"] = n_unique_per_group(
        rs[rk == SENSORY], nerve_side[rk == SENSORY], n
    )
    f["cov_f_waves_count"] = n_unique_per_group(rs[rk == F_WAVE], nerve_side[rk == F_WAVE], n)
    ms = mus["study"].astype(np.int64)
    f["cov_muscles_count"] = group_count(ms, None, n)
    f["cov_regions_count"] = n_unique_per_group(ms, mus["region"].astype(np.int64), n)
    # sides: L=0 / R=1 from NCS responses and limb/axial muscles (midline muscles do not count)
    side_m = mus["side"].astype(np.int64)
    keep = side_m < 2
    f["cov_sides_count"] = n_unique_per_group(
        np.concatenate([rs, ms[keep]]),
        np.concatenate([resp["side"].astype(np.int64), side_m[keep]]),
        n,
    )
    rn = resp["nerve"].astype(np.int64)
    attrs = _muscle_attributes()
    muscle = mus["muscle"].astype(np.int64)
    lower = (
        group_count(rs[_LOWER_NERVE[rn]], None, n)
        + group_count(ms[attrs["lower"][muscle]], None, n)
    ) > 0
    upper = (
        group_count(rs[_UPPER_NERVE[rn]], None, n)
        + group_count(ms[attrs["upper"][muscle]], None, n)
    ) > 0
    f["cov_lower_limb_tested"] = lower.astype(float)
    f["cov_upper_limb_tested"] = upper.astype(float)
    any_info = np.asarray(mus["muap_any"], dtype=float) == 1
    f["cov_muap_numeric_frac"] = group_frac(
        ms[any_info], np.asarray(mus["muap_numeric"], dtype=float)[any_info], n
    )
    f["cov_temperature_recorded"] = (~np.isnan(_study_numeric(studies, "limb_temp_c"))).astype(
        float
    )
    f["cov_height_recorded"] = (~np.isnan(_study_numeric(studies, "height_cm"))).astype(float)
    motor_rows = ncs_kind == MOTOR
    valid = ncs_pos >= 0
    f["cov_motor_sites_count"] = group_count(ncs_pos[motor_rows & valid], None, n)
    para = np.asarray(mus["paraspinal"], dtype=float)
    f["cov_paraspinal_tested"] = np.nan_to_num(group_max(ms, para, n), nan=0.0)
    return f


def _chunk_features(
    studies: pd.DataFrame,
    ncs: pd.DataFrame,
    emg: pd.DataFrame,
    ncs_pos: np.ndarray,
    emg_pos: np.ndarray,
    ids: pd.Index,
) -> pd.DataFrame:
    """Features of one chunk of whole studies (tables already restricted to these studies).

    ``ncs_pos`` / ``emg_pos``: position of each row's study within ``studies``; ``ids``: the
    studies' ``study_id`` as str.
    """
    n = len(studies)
    age = _study_numeric(studies, "age_years")
    height = _study_numeric(studies, "height_cm")
    temp = _study_numeric(studies, "limb_temp_c")
    ncs_kind = vocab_codes(ncs["kind"], KINDS) if len(ncs) else np.zeros(0, np.int64)
    core_kind = np.where(np.isin(ncs_kind, _SPECIAL_KIND_CODES), -1, ncs_kind)  # -1: not read
    resp = response_arrays(ncs, ncs_pos, age, height, temp, kind_code=core_kind)
    mus = muscle_arrays(emg, emg_pos, age)
    cols: dict[str, np.ndarray] = {}
    cols["age_years"] = age
    cols["height_cm"] = height
    cols["sex_female"] = (
        lookup_values(studies["sex"], _SEX_FEMALE, np.nan).astype(float)
        if "sex" in studies.columns
        else np.full(n, np.nan)
    )
    cols.update(ncs_features(resp, n))
    cols.update(special_ncs_features(ncs, ncs_pos, age, height))
    cols.update(emg_features(mus, n))
    cols.update(criteria_features(resp, mus, n, age))
    cols.update(_coverage(studies, core_kind, ncs_pos, resp, mus))
    # one float64 block, filled column by column (cheaper than a frame of 154 separate arrays)
    block = np.empty((len(cols), n))
    for i, v in enumerate(cols.values()):
        block[i] = v
    out = pd.DataFrame(block.T, index=ids, columns=list(cols), copy=False)
    out.index.name = "study_id"
    return out


def _positions(ids: pd.Index, study_id: pd.Series) -> np.ndarray:
    """Position of each row's ``study_id`` in ``ids`` (-1 when absent), hashing distinct ids once."""
    if len(study_id) == 0:
        return np.zeros(0, np.int64)
    codes, uniques = pd.factorize(study_id.astype(str))
    lut = np.append(ids.get_indexer(uniques), -1).astype(np.int64)
    return lut[codes]


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
    # an isolated focal neuropathy's nerve and muscles are not evidence for the six classes
    bundle, _ = outside_focal_territories(bundle)
    studies = bundle.studies
    ids = pd.Index(studies["study_id"].astype(str))
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][0]
        raise ValueError(f"studies.study_id must be unique; {dup!r} occurs more than once.")
    n = len(studies)
    ncs_pos = _positions(ids, bundle.ncs["study_id"])
    emg_pos = _positions(ids, bundle.emg["study_id"])
    for name, pos in (("ncs", ncs_pos), ("emg", emg_pos)):
        if (pos < 0).any():
            logger.warning(
                "%d %s rows refer to studies not in the studies table; ignored",
                int((pos < 0).sum()),
                name,
            )
    # order rows by study position (stable: keeps the distal-first order within a nerve)
    ncs_sorted, ncs_p = _by_study(bundle.ncs, np.where(ncs_pos < 0, n, ncs_pos))
    emg_sorted, emg_p = _by_study(bundle.emg, np.where(emg_pos < 0, n, emg_pos))
    parts = []
    starts = list(range(0, max(n, 1), chunk_size))
    for start in tqdm(starts, desc="features", unit="chunk", disable=not progress):
        stop = min(start + chunk_size, n)
        a, b = np.searchsorted(ncs_p, [start, stop])
        c, d = np.searchsorted(emg_p, [start, stop])
        parts.append(
            _chunk_features(
                _rows(studies, start, stop),
                _rows(ncs_sorted, a, b),
                _rows(emg_sorted, c, d),
                ncs_p[a:b] - start,
                emg_p[c:d] - start,
                ids[start:stop],
            )
        )
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    logger.info("featurised %d studies into %d columns", len(out), out.shape[1])
    return out


def _by_study(table: pd.DataFrame, pos: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows ordered by study position (stable: keeps the distal-first order within a nerve).

    Bundles usually arrive grouped by study in study order; then the table is used as is.
    """
    if len(pos) < 2 or bool((pos[1:] >= pos[:-1]).all()):
        return table, pos
    order = np.argsort(pos, kind="stable")
    return table.iloc[order], pos[order]


def _rows(table: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    """``table.iloc[start:stop]``, or the table itself when that is all of it."""
    if start == 0 and stop == len(table):
        return table
    return table.iloc[start:stop]
