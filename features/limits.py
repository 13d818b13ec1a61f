"""Reference limits for one patient's responses: "what is the limit for this response of this patient?".

The numbers live in ``features/reference/ncs_limits.csv`` and ``muap_norms.csv`` (every row cites
its source, see ``features/reference/SOURCES.md``). This module applies the patient covariates:

* **Age** — the age band of the table row (sural / superficial peroneal LLN 3 µV at 60–70 y,
  1 µV at 70–74 y, 0 from 75 y, Tavee 2014; ulnar SNAP ≥10 µV after 60, Preston & Shapiro), the
  per-row amplitude slope (upper-limb SNAP −1.5 %/yr after 40, §7.2) and the CV LLN slope
  (−0.5 m/s per decade from 40 to 60, −1.5 m/s per decade after 60, §7.2).
* **Height** — F-wave ULN + slope × (height − 170 cm) (T1.3); leg CV LLN −0.1 m/s per cm above
  170 cm and sensory amplitude LLN −0.5 % per cm (§7.2). Missing height: the 170 cm reference.
* **Temperature** — below 32 °C (upper limb) / 30 °C (lower limb) the *limit* is corrected, never
  the value: latency ULN +5 % per °C, CV LLN −1.5 m/s per °C (§7.2, T1.5). Amplitude limits are
  not corrected: the effect of cooling on SNAP amplitude is inconsistent across studies (a rise
  from 36 to about 26 °C and a fall below it, or no relation at all; T1.5 and the reference's
  open point 8, "a choice, not a measurement"), and a raised SNAP limit in a cool limb read
  as sensory loss, which moved probability between diseases when cooling should only explain
  slowing (invariant MR10). The simulator keeps its cool-limb SNAP effect, so training sees it.
  Missing temperature: assumed warm (no correction). F-wave limits are not temperature-corrected
  (most of the F path lies in the warm proximal limb).

An unknown recording site falls back to the nerve / kind default row; a nerve / kind with no row
(e.g. a radial F-wave) gets NaN limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from features._grouping import vocab_codes
from features.reference import load_muap_norms, load_ncs_limits
from features.vocab import KINDS, MUSCLES, NERVES, check_option, normalise_token

#: Reference height (cm) at which the F-wave ULNs of the table apply (T1.3).
REFERENCE_HEIGHT_CM = 170.0
#: Temperature below which limits are corrected, per limb (°C) (§0, §7.2; Preston & Shapiro †).
WARM_THRESHOLD_C = {"upper": 32.0, "lower": 30.0}
#: Latency ULN increase per °C of cooling, as a fraction (§7.2, T1.5 Kim 2006).
LATENCY_PER_DEG = 0.05
#: CV LLN decrease per °C of cooling, m/s (§7.2; T1.5 1.3-2.4 m/s/°C).
CV_PER_DEG_M_S = 1.5
#: CV LLN age slopes, m/s per year (§7.2: -0.5 per decade 40-60, -1.5 per decade after 60).
CV_AGE_SLOPE_40_60 = 0.05
CV_AGE_SLOPE_AFTER_60 = 0.15
#: MUAP duration rises +0.7 % per year from age 25 (§7.2, T2.1 †); long/short band ±20 % (T2.2 †).
MUAP_DURATION_AGE_SLOPE = 0.007
MUAP_DURATION_AGE_FROM = 25.0
MUAP_DURATION_BAND = 0.20

LIMIT_COLUMNS: tuple[str, ...] = (
    "latency_uln_ms",
    "amplitude_lln",
    "amplitude_unit",
    "velocity_lln_m_s",
    "f_latency_uln_ms",
    "distal_duration_uln_ms",
)
MUAP_LIMIT_COLUMNS: tuple[str, ...] = (
    "duration_ref_ms",
    "duration_lln_ms",
    "duration_uln_ms",
    "amplitude_lln_uv",
    "amplitude_uln_uv",
    "polyphasic_uln_pct",
)

#: Accepted spellings of recording sites -> the table's site names.
RECORDING_SITE_ALIASES: dict[str, str] = {
    "abductor_pollicis_brevis": "apb",
    "thenar": "apb",
    "abductor_digiti_minimi": "adm",
    "hypothenar": "adm",
    "first_dorsal_interosseous": "fdi",
    "first_dorsal_interosseus": "fdi",
    "extensor_indicis": "eip",
    "extensor_indicis_proprius": "eip",
    "extensor_digitorum_brevis": "edb",
    "ta": "tibialis_anterior",
    "tib_ant": "tibialis_anterior",
    "abductor_hallucis": "ah",
    "d2": "digit2",
    "digit_2": "digit2",
    "index": "digit2",
    "index_finger": "digit2",
    "d5": "digit5",
    "digit_5": "digit5",
    "little_finger": "digit5",
    "anatomical_snuffbox": "snuffbox",
    "anatomic_snuffbox": "snuffbox",
    "thumb_base": "snuffbox",
    "lateral_ankle": "ankle",
    "malleolus": "lateral_malleolus",
    "behind_lateral_malleolus": "lateral_malleolus",
}


@dataclass(frozen=True)
class ResponseLimits:
    """Normal limits of one response of one patient (NaN where the table gives none).

    Attributes
    ----------
    latency_uln_ms : float
        Upper limit of the distal motor latency, sensory peak latency or F-wave latency (ms).
    amplitude_lln : float
        Lower limit of the amplitude, in ``amplitude_unit``.
    amplitude_unit : str
        ``"mV"`` (motor) or ``"uV"`` (sensory); empty when the response has no amplitude limit.
    velocity_lln_m_s : float
        Lower limit of the conduction velocity (m/s).
    f_latency_uln_ms : float
        Upper limit of the nerve's minimal F-wave latency for the patient's height (ms).
    distal_duration_uln_ms : float
        Upper limit of the distal CMAP negative-peak duration (ms), EFNS/PNS 2010 I-G.
    """

    latency_uln_ms: float
    amplitude_lln: float
    amplitude_unit: str
    velocity_lln_m_s: float
    f_latency_uln_ms: float
    distal_duration_uln_ms: float


@dataclass(frozen=True)
class _NcsTable:
    """The NCS limit table arranged for vectorised lookup."""

    values: dict[str, np.ndarray]  # per table row
    group_of_key: dict[tuple[int, int, str], int]  # (nerve code, kind code, site) -> group
    default_group: np.ndarray  # (n_nerves * n_kinds,) group id or -1
    group_start: np.ndarray  # first table row of each group
    group_ages: np.ndarray  # (n_groups, max_bands) band start ages, +inf padded
    padded: dict[str, np.ndarray]  # numeric values per table row plus a final all-NaN row


@cache
def _ncs_table() -> _NcsTable:
    table = load_ncs_limits()
    table["recording_site"] = table["recording_site"].map(normalise_token)
    table = table.sort_values(["nerve", "kind", "recording_site", "age_from_years"]).reset_index(
        drop=True
    )
    nerve_code = table["nerve"].map({n: i for i, n in enumerate(NERVES)}).to_numpy()
    kind_code = table["kind"].map({k: i for i, k in enumerate(KINDS)}).to_numpy()
    group_ids = table.groupby(["nerve", "kind", "recording_site"], sort=False).ngroup().to_numpy()
    n_groups = int(group_ids.max()) + 1
    group_start = np.zeros(n_groups, dtype=np.int64)
    counts = np.bincount(group_ids, minlength=n_groups)
    group_start[1:] = np.cumsum(counts)[:-1]
    group_ages = np.full((n_groups, int(counts.max())), np.inf)
    rank = np.arange(len(table)) - group_start[group_ids]
    group_ages[group_ids, rank] = table["age_from_years"].to_numpy(dtype=float)
    group_of_key: dict[tuple[int, int, str], int] = {}
    default_group = np.full(len(NERVES) * len(KINDS), -1, dtype=np.int64)
    for i, row in table.iterrows():  # small reference table, built once
        key = (int(nerve_code[i]), int(kind_code[i]), str(row["recording_site"]))
        group_of_key[key] = int(group_ids[i])
        if row["is_default"] == 1:
            default_group[key[0] * len(KINDS) + key[1]] = int(group_ids[i])
    numeric = [
        "latency_uln_ms",
        "amplitude_lln",
        "velocity_lln_m_s",
        "f_latency_uln_ms",
        "f_height_slope_ms_per_cm",
        "distal_duration_uln_ms",
        "amp_age_slope_pct_per_yr",
        "amp_age_slope_from_years",
        "amp_height_slope_pct_per_cm",
        "cv_height_slope_m_s_per_cm",
    ]
    values = {c: table[c].to_numpy(dtype=float) for c in numeric}
    values["amplitude_unit"] = table["amplitude_unit"].fillna("").to_numpy(dtype=object)
    values["upper"] = (table["limb"] == "upper").to_numpy()
    padded = {
        c: np.append(v, np.nan) for c, v in values.items() if c not in ("amplitude_unit", "upper")
    }
    return _NcsTable(values, group_of_key, default_group, group_start, group_ages, padded)


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Integer code of each canonical value (-1 when missing or unknown)."""
    return vocab_codes(values, vocabulary)


def ncs_limit_arrays(
    nerve_code: np.ndarray,
    kind_code: np.ndarray,
    recording_site: pd.Series,
    age_years: np.ndarray,
    height_cm: np.ndarray,
    limb_temp_c: np.ndarray,
) -> dict[str, np.ndarray]:
    """Vectorised core of :func:`ncs_limits` on aligned arrays (one element per response).

    ``nerve_code`` / ``kind_code`` index :data:`features.vocab.NERVES` / ``KINDS`` (-1 unknown);
    ``height_cm`` / ``limb_temp_c`` may be NaN (reference height / warm limb assumed).
    Returns one float array per name in :data:`LIMIT_COLUMNS` (``amplitude_unit`` as object).
    """
    site_codes, site_uniques = pd.factorize(recording_site, use_na_sentinel=True)
    out = ncs_limits_coded(
        nerve_code, kind_code, site_codes, site_uniques, age_years, height_cm, limb_temp_c
    )
    row, has = out.pop("_row"), out.pop("_has")
    unit = np.where(has, _ncs_table().values["amplitude_unit"][row], "")
    return {
        "latency_uln_ms": out["latency_uln_ms"],
        "amplitude_lln": out["amplitude_lln"],
        "amplitude_unit": unit.astype(object),
        "velocity_lln_m_s": out["velocity_lln_m_s"],
        "f_latency_uln_ms": out["f_latency_uln_ms"],
        "distal_duration_uln_ms": out["distal_duration_uln_ms"],
    }


def ncs_limits_coded(
    nerve_code: np.ndarray,
    kind_code: np.ndarray,
    site_codes: np.ndarray,
    site_uniques: Sequence[object],
    age_years: np.ndarray,
    height_cm: np.ndarray,
    limb_temp_c: np.ndarray,
) -> dict[str, np.ndarray]:
    """Numeric core of :func:`ncs_limit_arrays` with the recording site already factorised.

    ``site_codes`` index ``site_uniques`` (-1 = no site), as from ``pd.factorize``. Returns the
    float limits of :data:`LIMIT_COLUMNS` (no ``amplitude_unit``) plus ``_row`` / ``_has``
    (the table row used, and whether one exists) and ``_secondary`` (the row's recording site
    has limits of its own that are not the nerve's default site, e.g. ulnar motor at FDI
    beside the default ADM: a separate response, never a proximal site of the default one).
    """
    tab = _ncs_table()
    n_sites = len(site_uniques)
    site_norm = [RECORDING_SITE_ALIASES.get(t, t) for t in map(normalise_token, site_uniques)]
    valid = (nerve_code >= 0) & (kind_code >= 0)
    nk = np.where(valid, nerve_code * len(KINDS) + kind_code, 0)
    group = np.where(valid, tab.default_group[nk], -1)
    # site-specific rows override the default: few distinct (nerve, kind, site) combinations,
    # resolved once each through a dense table over all possible combinations
    if n_sites:
        combo = nk * (n_sites + 1) + np.where(site_codes >= 0, site_codes, n_sites)
        combo = np.where(valid, combo, -1)
        size = len(NERVES) * len(KINDS) * (n_sites + 1)
        present = np.bincount(combo[combo >= 0], minlength=size)
        override = np.full(size + 1, -1, dtype=np.int64)  # last entry: invalid rows
        for c in np.flatnonzero(present):
            s = c % (n_sites + 1)
            if s == n_sites:
                continue
            nkc = c // (n_sites + 1)
            key = (int(nkc // len(KINDS)), int(nkc % len(KINDS)), site_norm[s])
            override[c] = tab.group_of_key.get(key, -1)
        site_group = override[combo]
        default = group
        group = np.where(site_group >= 0, site_group, group)
        secondary = (site_group >= 0) & (site_group != default)
    else:
        secondary = np.zeros(len(nerve_code), dtype=bool)
    has = group >= 0
    g = np.where(has, group, 0)
    age = np.asarray(age_years, dtype=float)
    band = (np.nan_to_num(age, nan=40.0)[:, None] >= tab.group_ages[g]).sum(axis=1) - 1
    row = tab.group_start[g] + np.maximum(band, 0)
    row_or_nan = np.where(has, row, len(tab.values["upper"]))  # the padded all-NaN row

    def col(name: str) -> np.ndarray:
        return tab.padded[name][row_or_nan]

    height = np.asarray(height_cm, dtype=float)
    dh = np.where(np.isnan(height), 0.0, height - REFERENCE_HEIGHT_CM)
    upper = np.where(has, tab.values["upper"][row], False)
    temp = np.asarray(limb_temp_c, dtype=float)
    threshold = np.where(upper, WARM_THRESHOLD_C["upper"], WARM_THRESHOLD_C["lower"])
    cool = np.where(np.isnan(temp), 0.0, np.maximum(threshold - temp, 0.0))
    age_f = np.nan_to_num(age, nan=40.0)
    is_f = kind_code == KINDS.index("f_wave")

    # amplitude LLN: age slope from its start age, height slope (no temperature term: see above)
    amp = col("amplitude_lln")
    slope = np.nan_to_num(col("amp_age_slope_pct_per_yr"))
    years = np.maximum(age_f - np.nan_to_num(col("amp_age_slope_from_years")), 0.0)
    amp = amp * np.power(1.0 + slope / 100.0, np.where(slope != 0, years, 0.0))
    amp = amp * np.clip(
        1.0 + np.nan_to_num(col("amp_height_slope_pct_per_cm")) / 100.0 * dh, 0.5, 1.5
    )

    # velocity LLN: age, height above reference (legs), cooling
    cv = col("velocity_lln_m_s")
    cv = cv - CV_AGE_SLOPE_40_60 * np.clip(age_f - 40.0, 0.0, 20.0)
    cv = cv - CV_AGE_SLOPE_AFTER_60 * np.maximum(age_f - 60.0, 0.0)
    cv = cv + np.nan_to_num(col("cv_height_slope_m_s_per_cm")) * np.maximum(dh, 0.0)
    cv = np.maximum(cv - CV_PER_DEG_M_S * cool, 0.0)

    # F-wave ULN: height
    f_uln = col("f_latency_uln_ms") + np.nan_to_num(col("f_height_slope_ms_per_cm")) * dh
    lat = col("latency_uln_ms")
    lat = np.where(is_f, f_uln, lat * (1.0 + LATENCY_PER_DEG * cool))
    return {
        "latency_uln_ms": lat,
        "amplitude_lln": amp,
        "velocity_lln_m_s": cv,
        "f_latency_uln_ms": f_uln,
        "distal_duration_uln_ms": col("distal_duration_uln_ms"),
        "_row": row,
        "_has": has,
        "_secondary": secondary,
    }


def _study_covariates(study_ids: pd.Series, studies: pd.DataFrame) -> dict[str, np.ndarray]:
    pos = pd.Index(studies["study_id"].astype(str)).get_indexer(study_ids.astype(str))
    out = {}
    for c in ("age_years", "height_cm", "limb_temp_c"):
        src = (
            studies[c].to_numpy(dtype=float)
            if c in studies.columns
            else np.full(len(studies), np.nan)
        )
        out[c] = np.where(pos >= 0, src[np.maximum(pos, 0)] if len(src) else np.nan, np.nan)
    return out


def ncs_limits(ncs: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """Normal limits for every NCS response, given its patient's covariates.

    Parameters
    ----------
    ncs : DataFrame
        Canonical NCS rows (``study_id``, ``nerve``, ``kind``, optional ``recording_site``).
    studies : DataFrame
        Canonical studies (``study_id``, ``age_years``, optional ``height_cm`` in cm and
        ``limb_temp_c`` in °C; NaN height = 170 cm reference, NaN temperature = warm).

    Returns
    -------
    DataFrame
        Aligned to ``ncs.index`` with the columns of :data:`LIMIT_COLUMNS` (NaN where no limit).
    """
    cov = _study_covariates(ncs["study_id"], studies)
    site = (
        ncs["recording_site"]
        if "recording_site" in ncs.columns
        else pd.Series([None] * len(ncs), index=ncs.index, dtype=object)
    )
    arrays = ncs_limit_arrays(
        _codes(ncs["nerve"], NERVES),
        _codes(ncs["kind"], KINDS),
        site,
        cov["age_years"],
        cov["height_cm"],
        cov["limb_temp_c"],
    )
    return pd.DataFrame(arrays, index=ncs.index, columns=list(LIMIT_COLUMNS))


def limit_for(
    nerve: str,
    kind: str,
    *,
    age_years: float,
    height_cm: float | None = None,
    limb_temp_c: float | None = None,
    recording_site: str | None = None,
) -> ResponseLimits:
    """Limits of one response of one patient (scalar API for the web page and explanations).

    Examples
    --------
    >>> limit_for("sural", "sensory", age_years=72).amplitude_lln
    1.0
    """
    nerve = check_option("nerve", nerve, NERVES)
    kind = check_option("kind", kind, KINDS)
    arrays = ncs_limit_arrays(
        np.array([NERVES.index(nerve)]),
        np.array([KINDS.index(kind)]),
        pd.Series([recording_site], dtype=object),
        np.array([age_years], dtype=float),
        np.array([math.nan if height_cm is None else height_cm], dtype=float),
        np.array([math.nan if limb_temp_c is None else limb_temp_c], dtype=float),
    )
    return ResponseLimits(
        latency_uln_ms=float(arrays["latency_uln_ms"][0]),
        amplitude_lln=float(arrays["amplitude_lln"][0]),
        amplitude_unit=str(arrays["amplitude_unit"][0]),
        velocity_lln_m_s=float(arrays["velocity_lln_m_s"][0]),
        f_latency_uln_ms=float(arrays["f_latency_uln_ms"][0]),
        distal_duration_uln_ms=float(arrays["distal_duration_uln_ms"][0]),
    )


@cache
def _muap_table() -> pd.DataFrame:
    return load_muap_norms()


@dataclass(frozen=True)
class _MuapArrays:
    """The MUAP norm table as numeric arrays (read once)."""

    values: dict[str, np.ndarray]  # per norm-table row
    row_of_muscle: np.ndarray  # norm-table row of each MUSCLES entry (-1: none)


@cache
def _muap_arrays() -> _MuapArrays:
    norms = _muap_table()
    values = {
        c: norms[c].to_numpy(dtype=float)
        for c in ("duration_ref_ms", "amplitude_lln_uv", "amplitude_uln_uv", "polyphasic_uln_pct")
    }
    for v in values.values():
        v.flags.writeable = False
    row = norms.index.get_indexer(pd.Index(list(MUSCLES), dtype=object)).astype(np.int64)
    row.flags.writeable = False
    return _MuapArrays(values, row)


def muap_limit_arrays(muscle: pd.Series, age_years: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised core of :func:`muap_limits` (one element per EMG row; unknown muscle -> NaN)."""
    pos = _muap_table().index.get_indexer(muscle.astype(object))
    return _muap_limits_at(pos, age_years)


def muap_limits_coded(muscle_code: np.ndarray, age_years: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`muap_limit_arrays` for muscles given as positions in :data:`MUSCLES` (>= 0)."""
    return _muap_limits_at(_muap_arrays().row_of_muscle[muscle_code], age_years)


def _muap_limits_at(pos: np.ndarray, age_years: np.ndarray) -> dict[str, np.ndarray]:
    tab = _muap_arrays().values
    has = pos >= 0
    p = np.maximum(pos, 0)

    def col(name: str) -> np.ndarray:
        return np.where(has, tab[name][p], np.nan)

    age = np.asarray(age_years, dtype=float)
    factor = 1.0 + MUAP_DURATION_AGE_SLOPE * np.maximum(age - MUAP_DURATION_AGE_FROM, 0.0)
    ref = col("duration_ref_ms") * np.where(np.isnan(factor), 1.0, factor)
    return {
        "duration_ref_ms": ref,
        "duration_lln_ms": ref * (1.0 - MUAP_DURATION_BAND),
        "duration_uln_ms": ref * (1.0 + MUAP_DURATION_BAND),
        "amplitude_lln_uv": col("amplitude_lln_uv"),
        "amplitude_uln_uv": col("amplitude_uln_uv"),
        "polyphasic_uln_pct": col("polyphasic_uln_pct"),
    }


def muap_limits(emg: pd.DataFrame, studies: pd.DataFrame) -> pd.DataFrame:
    """MUAP limits for every needle-EMG row, given its patient's age.

    Returns
    -------
    DataFrame
        Aligned to ``emg.index``: ``duration_ref_ms`` (age-adjusted mean, +0.7 %/yr from 25 y),
        ``duration_lln_ms`` / ``duration_uln_ms`` (±20 %), ``amplitude_lln_uv``,
        ``amplitude_uln_uv``, ``polyphasic_uln_pct``.
    """
    cov = _study_covariates(emg["study_id"], studies)
    arrays = muap_limit_arrays(emg["muscle"], cov["age_years"])
    return pd.DataFrame(arrays, index=emg.index, columns=list(MUAP_LIMIT_COLUMNS))


#: Largest normal proximal/distal CMAP amplitude drop between two stimulation sites, % of the
#: distal amplitude. A proximal site is judged against this, never against the distal LLN: a
#: proximal CMAP is smaller than the distal one by dispersion and phase cancellation.
#: Default 30 %: EAN/PNS 2021 conduction block (T3.3b †; EFNS/PNS 2010 criterion II, T3.3a).
#: Peroneal below -> above the fibular head 25 % (Buschbacher 1999, T1.1). The tibial nerve is
#: excluded from the block criteria (T3.3a/b): no limit (NaN), the drop is shown, not flagged.
AMPLITUDE_DROP_ULN_PCT: float = 30.0
AMPLITUDE_DROP_ULN_PCT_BY_NERVE: dict[str, float] = {"peroneal": 25.0, "tibial": math.nan}
#: limits that belong to the distal (first) stimulation site of a response only
DISTAL_ONLY_COLUMNS: tuple[str, ...] = (
    "latency_uln_ms",
    "amplitude_lln",
    "distal_duration_uln_ms",
)
SITE_LIMIT_COLUMNS: tuple[str, ...] = (
    "is_distal",
    "amplitude_drop_pct",
    "amplitude_drop_uln_pct",
)


def _norm_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    col = frame[column]
    return col.where(col.notna(), "").astype(str).str.strip().str.lower()


def site_limits(ncs: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Limits per stimulation site: distal limits on distal rows, drop limits on proximal rows.

    Per the data contract the first row of a study's nerve / side / kind / recording site is the
    distal stimulation; later rows are more proximal sites of the same response.

    Parameters
    ----------
    ncs : DataFrame
        Canonical NCS rows (``study_id``, ``nerve``, ``side``, ``kind``, ``recording_site``,
        ``amplitude`` in mV / µV).
    limits : DataFrame
        :func:`ncs_limits` output aligned to ``ncs``.

    Returns
    -------
    DataFrame
        Aligned to ``ncs.index``: the columns of ``limits`` with :data:`DISTAL_ONLY_COLUMNS` set
        to NaN on proximal rows (velocity LLN stays: it is the segment's limit), plus
        ``is_distal`` (bool), ``amplitude_drop_pct`` (motor rows: drop of the amplitude from the
        previous, more distal site, % of that amplitude; NaN on distal rows, when either
        amplitude is missing or the previous one is 0) and ``amplitude_drop_uln_pct`` (its
        limit on proximal motor rows, :data:`AMPLITUDE_DROP_ULN_PCT`; NaN elsewhere).
    """
    keys = [_norm_text(ncs, c) for c in ("study_id", "nerve", "side", "kind", "recording_site")]
    key_frame = pd.DataFrame(dict(enumerate(keys)), index=ncs.index)
    grouped = key_frame.groupby(list(range(len(keys))), sort=False)
    is_distal = grouped.cumcount().eq(0).to_numpy()
    amp = (
        pd.to_numeric(ncs["amplitude"], errors="coerce").astype("float64")
        if "amplitude" in ncs.columns
        else pd.Series(np.nan, index=ncs.index, dtype="float64")
    )
    previous = amp.groupby(list(keys), sort=False).shift(1)
    motor = keys[3].eq("motor").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(
            motor & ~is_distal & (previous.to_numpy() > 0),
            100.0 * (1.0 - amp.to_numpy() / previous.to_numpy()),
            np.nan,
        )
    nerve = keys[1].to_numpy()
    drop_uln = np.array(
        [AMPLITUDE_DROP_ULN_PCT_BY_NERVE.get(n, AMPLITUDE_DROP_ULN_PCT) for n in nerve],
        dtype=float,
    ).reshape(len(ncs))
    drop_uln = np.where(motor & ~is_distal, drop_uln, np.nan)
    out = limits.copy()
    out.index = ncs.index
    for c in DISTAL_ONLY_COLUMNS:
        if c in out.columns:
            out[c] = out[c].where(is_distal)
    return out.assign(is_distal=is_distal, amplitude_drop_pct=drop, amplitude_drop_uln_pct=drop_uln)
