"""Needle-EMG features: per-muscle harmonised findings and per-region summaries.

:func:`muscle_table` turns each EMG row into lab-independent flags (float 1/0, NaN = not
recorded):

* ``active`` — fibrillations or positive sharp waves grade ≥ 1;
* ``fasc`` — fasciculations grade ≥ 1 (kept, but never a strong standalone feature);
* ``size_score`` — -1 small/short, 0 normal, +1 large/long MUAPs, **the same scale whether the
  lab recorded numbers or grades**: duration decides (numbers against the age-adjusted ±20 %
  band, else the duration grade); when duration is normal or missing, amplitude decides
  (numbers against the muscle's limits, else the amplitude grade);
* ``poly_score`` — polyphasic share above the muscle's ULN, or polyphasia grade increased;
* ``reduced`` (reduced / discrete / none) and ``early`` recruitment;
* ``chronic`` — chronic neurogenic change: large/long MUAPs or reduced recruitment;
* ``myopathic`` — small/short MUAPs or early recruitment;
* ``lmn`` — lower-motor-neuron sign in the Awaji sense: chronic change **and** active
  denervation, where fasciculations count as active only together with chronic change. In a
  paraspinal muscle without any MUAP / recruitment finding, fibs/PSW alone count (thoracic
  paraspinal active denervation, Zambelis 2018, T2.5).

:func:`emg_features` summarises these per body region and by limb position.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pandas as pd

from features._grouping import (
    as_arrays,
    flag,
    group_count,
    group_frac,
    group_max,
    group_sum,
    lookup_values,
    numeric_column,
    vocab_codes,
)
from features.limits import muap_limits_coded
from features.reference import load_muscles
from features.vocab import MUSCLES, REGIONS

#: Root levels considered for the single-root explanation (C5-T1, L2-S1).
ROOTS: tuple[str, ...] = ("C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1")
PARASPINALS: frozenset[str] = frozenset(
    {"cervical_paraspinal", "thoracic_paraspinal", "lumbar_paraspinal"}
)
REGION_FLAGS: dict[str, str] = {
    "fibs": "active",
    "fasc": "fasc",
    "large_muap": "large",
    "small_muap": "small",
    "poly_muap": "poly",
    "reduced_recruit": "reduced",
    "early_recruit": "early",
    "lmn_muscle": "lmn",
}

_SIZE = {"decreased": -1.0, "normal": 0.0, "increased": 1.0}
_POLY = {"normal": 0.0, "increased": 1.0}


@cache
def _muscle_attributes() -> dict[str, np.ndarray]:
    """Per-canonical-muscle arrays (index = position in MUSCLES): region, limb, position, nerve, roots.

    ``roots`` / ``root_code``: main roots among :data:`ROOTS`; ``all_roots``: every root level of
    the muscle (columns: the sorted root levels of the table).

    Built once from the reference table (read-only arrays); ``upper`` / ``lower`` / ``limb_muscle``
    / ``proximal`` / ``distal`` are boolean views of ``limb`` and ``position``.
    """
    table = load_muscles().reindex(list(MUSCLES))
    nerves = pd.factorize(table["nerve"])[0]
    roots = np.array([[r in mr for r in ROOTS] for mr in table["main_roots"]], dtype=bool).reshape(
        len(MUSCLES), len(ROOTS)
    )
    every_root = sorted({r for rs in table["roots"] for r in rs})
    all_roots = np.array(
        [[r in rs for r in every_root] for rs in table["roots"]], dtype=bool
    ).reshape(len(MUSCLES), len(every_root))
    limb = table["limb"].to_numpy(dtype=object)
    position = table["position"].to_numpy(dtype=object)
    out = {
        "region": vocab_codes(table["region"], REGIONS),
        "limb": limb,
        "position": position,
        "nerve": nerves.astype(np.int64),
        "roots": roots,
        "root_code": roots @ (1 << np.arange(len(ROOTS))),  # the main-root set as a bitmask
        "all_roots": all_roots,  # every root of the muscle (muscles.csv "roots"), any level
        "paraspinal": np.array([m in PARASPINALS for m in MUSCLES]),
        "upper": limb == "upper",
        "lower": limb == "lower",
        "limb_muscle": (limb == "upper") | (limb == "lower"),
        "proximal": position == "proximal",
        "distal": position == "distal",
    }
    for v in out.values():
        v.flags.writeable = False
    return out


def _num(emg: pd.DataFrame, name: str) -> np.ndarray:
    return numeric_column(emg, name)


def _cat(emg: pd.DataFrame, name: str, mapping: dict[str, float]) -> np.ndarray:
    if name not in emg.columns:
        return np.full(len(emg), np.nan)
    return lookup_values(emg[name], mapping, np.nan)


def _vs_limits(value: np.ndarray, lln: np.ndarray, uln: np.ndarray) -> np.ndarray:
    """-1 below LLN, +1 above ULN, 0 within, NaN when the value or both limits are missing."""
    out = np.where(value > uln, 1.0, np.where(value < lln, -1.0, 0.0))
    return np.where(np.isnan(value) | (np.isnan(lln) & np.isnan(uln)), np.nan, out)


#: Columns of :func:`muscle_table`.
MUSCLE_COLUMNS: tuple[str, ...] = (
    "study",
    "muscle",
    "side",
    "region",
    "nerve",
    "limb",
    "position",
    "paraspinal",
    "active",
    "fasc",
    "size_score",
    "large",
    "small",
    "poly",
    "reduced",
    "early",
    "chronic",
    "myopathic",
    "lmn",
    "abnormal",
    "crd",
    "myotonia",
    "unstable",
    "fib_grade",
    "muap_numeric",
    "muap_any",
)
_REDUCED = frozenset({"reduced", "discrete", "none"})


def muscle_table(emg: pd.DataFrame, study_pos: np.ndarray, age_years: np.ndarray) -> pd.DataFrame:
    """Harmonised per-muscle findings (one row per EMG row with a known study and muscle).

    Parameters
    ----------
    emg : DataFrame
        Canonical EMG rows.
    study_pos : ndarray of int
        Position of each row's study (-1 = unknown, row dropped).
    age_years : ndarray of float, shape (n_studies,)
        Study ages (for the age-adjusted MUAP duration).

    Returns
    -------
    DataFrame
        Integer columns ``study``, ``muscle``, ``side`` (0 L, 1 R, 2 M), ``region``, ``nerve``;
        object columns ``limb``, ``position``; float flags ``active``, ``fasc``, ``size_score``,
        ``poly_score``, ``reduced``, ``early``, ``chronic``, ``myopathic``, ``lmn``,
        ``abnormal``, ``crd``, ``myotonia``, ``unstable``, ``fib_grade``, ``muap_numeric``,
        ``muap_any``.
    """
    arrays, ok = _muscle_arrays(emg, np.asarray(study_pos), age_years)
    index = emg.index if ok is None else emg.index[ok]
    return pd.DataFrame({c: arrays[c] for c in MUSCLE_COLUMNS}, index=index)


def muscle_arrays(
    emg: pd.DataFrame, study_pos: np.ndarray, age_years: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`muscle_table` as a dict of aligned numpy arrays (the fast internal form)."""
    return _muscle_arrays(emg, np.asarray(study_pos), age_years)[0]


def _muscle_arrays(
    emg: pd.DataFrame, study_pos: np.ndarray, age_years: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    muscle = vocab_codes(emg["muscle"], MUSCLES)
    ok: np.ndarray | None = (study_pos >= 0) & (muscle >= 0)
    if ok.all():
        ok = None
        keep = lambda a: a  # noqa: E731
    else:
        keep = lambda a: a[ok]  # noqa: E731
        study_pos, muscle = study_pos[ok], muscle[ok]
    attrs = _muscle_attributes()
    lim = muap_limits_coded(muscle, age_years[study_pos])

    def num(name: str) -> np.ndarray:
        return keep(_num(emg, name))

    def cat(name: str, mapping: dict[str, float]) -> np.ndarray:
        return keep(_cat(emg, name, mapping))

    fibs, psw, fascics = num("fibs"), num("psw"), num("fascics")
    fib_grade = np.fmax(fibs, psw)
    active = flag(fib_grade >= 1, ~np.isnan(fib_grade))
    fasc = flag(fascics >= 1, ~np.isnan(fascics))

    dur_ms, amp_uv, poly_pct = (
        num("muap_duration_ms"),
        num("muap_amplitude_uv"),
        num("muap_polyphasic_pct"),
    )
    dur_grade = cat("muap_duration_grade", _SIZE)
    amp_grade = cat("muap_amplitude_grade", _SIZE)
    poly_grade = cat("polyphasia_grade", _POLY)
    dur_num = _vs_limits(dur_ms, lim["duration_lln_ms"], lim["duration_uln_ms"])
    amp_num = _vs_limits(amp_uv, lim["amplitude_lln_uv"], lim["amplitude_uln_uv"])
    dur = np.where(np.isnan(dur_num), dur_grade, dur_num)
    amp = np.where(np.isnan(amp_num), amp_grade, amp_num)
    size = np.where(np.isnan(dur) | ((dur == 0) & ~np.isnan(amp)), amp, dur)

    poly_num = flag(poly_pct > lim["polyphasic_uln_pct"], ~np.isnan(poly_pct))
    poly = np.where(np.isnan(poly_num), poly_grade, poly_num)

    if "recruitment" in emg.columns:
        r_codes, r_uniques = pd.factorize(emg["recruitment"])
        r_codes = keep(r_codes)
        is_reduced = np.array([u in _REDUCED for u in r_uniques] + [False], dtype=bool)
        is_early = np.array([u == "early" for u in r_uniques] + [False], dtype=bool)
        known_r = r_codes >= 0
        reduced = flag(is_reduced[r_codes], known_r)
        early = flag(is_early[r_codes], known_r)
    else:
        reduced = early = np.full(len(muscle), np.nan)

    # large and small are read from either parameter, independently: a unit with a long
    # duration or a high amplitude is large, one with a short duration or a low amplitude small,
    # and a muscle can be both (a mixed pattern). With one precedence a worse grade could turn a
    # neurogenic muscle myopathic and drop its neurogenic flag (MR7: worse is never more normal)
    size_known = ~(np.isnan(dur) & np.isnan(amp))
    large = flag((dur == 1) | (amp == 1), size_known)
    small = flag((dur == -1) | (amp == -1), size_known)
    chronic = np.fmax(large, reduced)
    myopathic = np.fmax(small, early)
    act_any = np.fmax(active, np.where(chronic == 1, fasc, np.nan))
    lmn = np.where(np.isnan(chronic), np.nan, ((chronic == 1) & (act_any == 1)).astype(float))
    # paraspinal MUAPs are rarely graded: there, fibs/PSW alone count when no MUAP finding exists
    para_only = attrs["paraspinal"][muscle] & np.isnan(chronic)
    lmn = np.where(para_only, active, lmn)
    abnormal = np.fmax(active, chronic)

    numeric = ~(np.isnan(dur_ms) & np.isnan(amp_uv) & np.isnan(poly_pct))
    any_info = numeric | ~(np.isnan(dur_grade) & np.isnan(amp_grade) & np.isnan(poly_grade))
    crd, myo = num("crd"), num("myotonia")
    side = keep(vocab_codes(emg["side"], ("L", "R", "M")))
    arrays = {
        "study": study_pos.astype(np.int64),
        "muscle": muscle,
        "side": np.maximum(side, 0),
        "region": attrs["region"][muscle],
        "nerve": attrs["nerve"][muscle],
        "limb": attrs["limb"][muscle],
        "position": attrs["position"][muscle],
        "paraspinal": attrs["paraspinal"][muscle].astype(float),
        "active": active,
        "fasc": fasc,
        "size_score": size,
        "large": large,
        "small": small,
        "poly": poly,
        "reduced": reduced,
        "early": early,
        "chronic": chronic,
        "myopathic": myopathic,
        "lmn": lmn,
        "abnormal": abnormal,
        "crd": flag(crd >= 1, ~np.isnan(crd)),
        "myotonia": flag(myo >= 1, ~np.isnan(myo)),
        "unstable": num("muap_unstable"),
        "fib_grade": fib_grade,
        "muap_numeric": numeric.astype(float),
        "muap_any": any_info.astype(float),
    }
    return arrays, ok


def _none_found_elsewhere(
    share: np.ndarray, study: np.ndarray, flags: np.ndarray, n_studies: int
) -> np.ndarray:
    """A region's (or limb position's) share of muscles with a finding, 0 where none was examined.

    The finding was assessed in the study (in some muscle) but no muscle of that region was
    examined, so none was found there: 0, not NaN. A NaN here would let the model read *which*
    regions were examined, which reveals the referral question rather than the disease (a
    radiculopathy work-up examines one limb; invariant MR3: normal muscles added in a new region
    never raise P(ALS)). NaN stays only where the finding was assessed in no muscle of the study
    (no needle EMG, or a grade no muscle recorded). Whether enough was examined is stated by the
    criteria features (``crit_lmn_region_frac``) and the evidence checks (``models.evidence``).
    """
    assessed = group_count(study, np.asarray(flags, dtype=float), n_studies) > 0
    return np.where(np.isnan(share) & assessed, 0.0, share)


def emg_features(
    mus: pd.DataFrame | Mapping[str, np.ndarray], n_studies: int
) -> dict[str, np.ndarray]:
    """Per-study EMG summaries: per-region shares of each finding, and by limb position.

    Shares are over the muscles of that region (position) in which the finding was assessable;
    0 when the study assessed the finding but examined no muscle there, NaN when it assessed the
    finding in no muscle at all (:func:`_none_found_elsewhere`).
    """
    mus = as_arrays(mus)
    attrs = _muscle_attributes()
    f: dict[str, np.ndarray] = {}
    study = mus["study"].astype(np.int64)
    region = mus["region"].astype(np.int64)
    muscle = mus["muscle"].astype(np.int64)
    # all regions at once: one grouped share per flag over (study, region) keys
    in_region = region >= 0
    key = study[in_region] * len(REGIONS) + region[in_region]
    by_region = {
        col: group_frac(
            key, np.asarray(mus[col], dtype=float)[in_region], n_studies * len(REGIONS)
        ).reshape(n_studies, len(REGIONS))
        for col in REGION_FLAGS.values()
    }
    for r, rname in enumerate(REGIONS):
        for fname, col in REGION_FLAGS.items():
            f[f"emg_{rname}_{fname}_frac"] = _none_found_elsewhere(
                by_region[col][:, r], study, mus[col], n_studies
            )
    limb_muscle = attrs["limb_muscle"][muscle]
    myopathic = np.asarray(mus["myopathic"], dtype=float)
    chronic = np.asarray(mus["chronic"], dtype=float)
    for p in ("proximal", "distal"):
        sel = limb_muscle & attrs[p][muscle]
        f[f"emg_{p}_myopathic_frac"] = _none_found_elsewhere(
            group_frac(study[sel], myopathic[sel], n_studies), study, myopathic, n_studies
        )
    for lb in ("upper", "lower"):
        for p in ("proximal", "distal"):
            sel = attrs[lb][muscle] & attrs[p][muscle]
            f[f"emg_{lb}_{p}_neurogenic_frac"] = _none_found_elsewhere(
                group_frac(study[sel], chronic[sel], n_studies), study, chronic, n_studies
            )
    with np.errstate(invalid="ignore"):
        f["emg_proximal_distal_myopathic_diff"] = (
            f["emg_proximal_myopathic_frac"] - f["emg_distal_myopathic_frac"]
        )
    for col in ("crd", "myotonia", "unstable"):
        f[f"emg_{col}_frac"] = group_frac(study, np.asarray(mus[col], dtype=float), n_studies)
    fg = np.asarray(mus["fib_grade"], dtype=float)
    n = group_count(study, fg, n_studies)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["emg_mean_fib_grade"] = np.where(n > 0, group_sum(study, fg, n_studies) / n, np.nan)
    f["emg_max_fib_grade"] = group_max(study, fg, n_studies)
    return f
