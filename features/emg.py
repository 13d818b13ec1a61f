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

import numpy as np
import pandas as pd

from features._grouping import flag, group_count, group_frac, group_max, group_sum
from features.limits import muap_limit_arrays
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


def _muscle_attributes() -> dict[str, np.ndarray]:
    """Per-canonical-muscle arrays (index = position in MUSCLES): region, limb, position, nerve, roots."""
    table = load_muscles().reindex(list(MUSCLES))
    nerves = pd.factorize(table["nerve"])[0]
    roots = np.array([[r in mr for r in ROOTS] for mr in table["main_roots"]], dtype=bool).reshape(
        len(MUSCLES), len(ROOTS)
    )
    return {
        "region": pd.Categorical(table["region"], categories=list(REGIONS)).codes.astype(np.int64),
        "limb": table["limb"].to_numpy(dtype=object),
        "position": table["position"].to_numpy(dtype=object),
        "nerve": nerves.astype(np.int64),
        "roots": roots,
        "paraspinal": np.array([m in PARASPINALS for m in MUSCLES]),
    }


def _num(emg: pd.DataFrame, name: str) -> np.ndarray:
    if name not in emg.columns:
        return np.full(len(emg), np.nan)
    return pd.to_numeric(emg[name], errors="coerce").to_numpy(dtype=float)


def _cat(emg: pd.DataFrame, name: str, mapping: dict[str, float]) -> np.ndarray:
    if name not in emg.columns:
        return np.full(len(emg), np.nan)
    return emg[name].map(mapping).to_numpy(dtype=float)


def _vs_limits(value: np.ndarray, lln: np.ndarray, uln: np.ndarray) -> np.ndarray:
    """-1 below LLN, +1 above ULN, 0 within, NaN when the value or both limits are missing."""
    out = np.where(value > uln, 1.0, np.where(value < lln, -1.0, 0.0))
    return np.where(np.isnan(value) | (np.isnan(lln) & np.isnan(uln)), np.nan, out)


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
    muscle = pd.Categorical(emg["muscle"], categories=list(MUSCLES)).codes.astype(np.int64)
    ok = (study_pos >= 0) & (muscle >= 0)
    if not ok.all():
        emg, study_pos, muscle = emg.loc[ok], study_pos[ok], muscle[ok]
    attrs = _muscle_attributes()
    lim = muap_limit_arrays(emg["muscle"], age_years[study_pos] if len(study_pos) else np.array([]))

    fibs, psw, fascics = _num(emg, "fibs"), _num(emg, "psw"), _num(emg, "fascics")
    fib_grade = np.fmax(fibs, psw)
    active = flag(fib_grade >= 1, ~np.isnan(fib_grade))
    fasc = flag(fascics >= 1, ~np.isnan(fascics))

    dur_num = _vs_limits(
        _num(emg, "muap_duration_ms"), lim["duration_lln_ms"], lim["duration_uln_ms"]
    )
    amp_num = _vs_limits(
        _num(emg, "muap_amplitude_uv"), lim["amplitude_lln_uv"], lim["amplitude_uln_uv"]
    )
    dur = np.where(np.isnan(dur_num), _cat(emg, "muap_duration_grade", _SIZE), dur_num)
    amp = np.where(np.isnan(amp_num), _cat(emg, "muap_amplitude_grade", _SIZE), amp_num)
    size = np.where(np.isnan(dur) | ((dur == 0) & ~np.isnan(amp)), amp, dur)

    poly_pct = _num(emg, "muap_polyphasic_pct")
    poly_num = flag(poly_pct > lim["polyphasic_uln_pct"], ~np.isnan(poly_pct))
    poly = np.where(np.isnan(poly_num), _cat(emg, "polyphasia_grade", _POLY), poly_num)

    recruit = (
        emg["recruitment"] if "recruitment" in emg.columns else pd.Series(np.nan, index=emg.index)
    )
    known_r = recruit.notna().to_numpy()
    reduced = flag(recruit.isin(["reduced", "discrete", "none"]).to_numpy(), known_r)
    early = flag((recruit == "early").to_numpy(), known_r)

    large = flag(size == 1, ~np.isnan(size))
    small = flag(size == -1, ~np.isnan(size))
    chronic = np.fmax(large, reduced)
    myopathic = np.fmax(small, early)
    act_any = np.fmax(active, np.where(chronic == 1, fasc, np.nan))
    lmn = np.where(np.isnan(chronic), np.nan, ((chronic == 1) & (act_any == 1)).astype(float))
    # paraspinal MUAPs are rarely graded: there, fibs/PSW alone count when no MUAP finding exists
    para_only = attrs["paraspinal"][muscle] & np.isnan(chronic)
    lmn = np.where(para_only, active, lmn)
    abnormal = np.fmax(active, chronic)

    numeric = ~(
        np.isnan(_num(emg, "muap_duration_ms"))
        & np.isnan(_num(emg, "muap_amplitude_uv"))
        & np.isnan(poly_pct)
    )
    any_info = numeric | ~(
        np.isnan(_cat(emg, "muap_duration_grade", _SIZE))
        & np.isnan(_cat(emg, "muap_amplitude_grade", _SIZE))
        & np.isnan(_cat(emg, "polyphasia_grade", _POLY))
    )
    crd, myo = _num(emg, "crd"), _num(emg, "myotonia")
    side = pd.Categorical(emg["side"], categories=["L", "R", "M"]).codes.astype(np.int64)
    return pd.DataFrame(
        {
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
            "unstable": _num(emg, "muap_unstable"),
            "fib_grade": fib_grade,
            "muap_numeric": numeric.astype(float),
            "muap_any": any_info.astype(float),
        },
        index=emg.index,
    )


def emg_features(mus: pd.DataFrame, n_studies: int) -> dict[str, np.ndarray]:
    """Per-study EMG summaries: per-region shares of each finding, and by limb position.

    Shares are over the muscles of that region (position) in which the finding was assessable;
    NaN when no such muscle was examined.
    """
    f: dict[str, np.ndarray] = {}
    study = mus["study"].to_numpy(dtype=np.int64)
    region = mus["region"].to_numpy(dtype=np.int64)
    for r, rname in enumerate(REGIONS):
        sel = region == r
        for fname, col in REGION_FLAGS.items():
            f[f"emg_{rname}_{fname}_frac"] = group_frac(
                study[sel], mus[col].to_numpy(dtype=float)[sel], n_studies
            )
    limb = mus["limb"].to_numpy(dtype=object)
    pos = mus["position"].to_numpy(dtype=object)
    limb_muscle = (limb == "upper") | (limb == "lower")
    for p in ("proximal", "distal"):
        sel = limb_muscle & (pos == p)
        f[f"emg_{p}_myopathic_frac"] = group_frac(
            study[sel], mus["myopathic"].to_numpy(dtype=float)[sel], n_studies
        )
    for lb in ("upper", "lower"):
        for p in ("proximal", "distal"):
            sel = (limb == lb) & (pos == p)
            f[f"emg_{lb}_{p}_neurogenic_frac"] = group_frac(
                study[sel], mus["chronic"].to_numpy(dtype=float)[sel], n_studies
            )
    with np.errstate(invalid="ignore"):
        f["emg_proximal_distal_myopathic_diff"] = (
            f["emg_proximal_myopathic_frac"] - f["emg_distal_myopathic_frac"]
        )
    for col in ("crd", "myotonia", "unstable"):
        f[f"emg_{col}_frac"] = group_frac(study, mus[col].to_numpy(dtype=float), n_studies)
    fg = mus["fib_grade"].to_numpy(dtype=float)
    n = group_count(study, fg, n_studies)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["emg_mean_fib_grade"] = np.where(n > 0, group_sum(study, fg, n_studies) / n, np.nan)
    f["emg_max_fib_grade"] = group_max(study, fg, n_studies)
    return f
