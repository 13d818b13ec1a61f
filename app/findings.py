"""Which measured values lie outside their reference limit, for the study page's tables.

The limits come from :mod:`features.limits` (age/height/temperature adjusted, sourced from the
clinical reference); this module only compares values with them, vectorised over a whole
bundle, and formats one study's rows as display cells. Missing values stay "not measured"
(shown as an en dash, never as normal or abnormal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.limits import site_limits
from features.limits_special import SPECIAL_LIMIT_COLUMNS

#: NCS limit columns of :func:`features.limits.ncs_limits`
NCS_LIMIT_COLUMNS = (
    "latency_uln_ms",
    "amplitude_lln",
    "amplitude_unit",
    "velocity_lln_m_s",
    "f_latency_uln_ms",
    "distal_duration_uln_ms",
    *SPECIAL_LIMIT_COLUMNS,  # h_reflex / rns rows: features.limits_special.special_ncs_limits
)
#: EMG limit columns of :func:`features.limits.muap_limits`
EMG_LIMIT_COLUMNS = (
    "duration_lln_ms",
    "duration_uln_ms",
    "amplitude_lln_uv",
    "amplitude_uln_uv",
    "polyphasic_uln_pct",
)
SPONTANEOUS = ("fibs", "psw", "fascics", "crd", "myotonia")
GRADES = ("insertional", "muap_amplitude_grade", "muap_duration_grade", "polyphasia_grade")
PATTERN_COLUMNS = ("recruitment", "activation")


@dataclass(frozen=True)
class Cell:
    """One table cell: the value as text, whether it is abnormal and the limit it fails."""

    text: str
    abnormal: bool = False
    limit: str = ""


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as float64 (all-NaN when the column is absent)."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as lower-case strings with "" for missing."""
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="object")
    col = frame[column]
    return col.where(col.notna(), "").astype(str).str.strip().str.lower()


def _aligned(limits: pd.DataFrame, frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The limit columns re-indexed like ``frame`` (missing columns become NaN)."""
    lim = limits.reset_index(drop=True)
    lim.index = frame.index
    return pd.DataFrame(
        {c: lim[c] if c in lim.columns else np.nan for c in columns}, index=frame.index
    )


def ncs_flags(ncs: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Flag NCS values outside their limits (vectorised over all rows).

    Parameters
    ----------
    ncs : DataFrame
        The bundle's NCS table (canonical values; amplitude motor mV, sensory µV).
    limits : DataFrame
        :func:`features.limits.ncs_limits` output, row-aligned with ``ncs``, with the columns
        of :func:`features.limits_special.special_ncs_limits` beside it when the bundle has
        ``h_reflex`` / ``rns`` rows (absent columns: no limit).

    Returns
    -------
    DataFrame
        Indexed like ``ncs``: the per-site limits of :func:`features.limits.site_limits`
        (distal latency, amplitude and duration limits on distal rows only; the amplitude drop
        from the previous site and its limit on proximal motor rows) plus booleans
        ``abn_latency`` (distal latency > ULN, or F latency > ULN on ``f_wave`` rows),
        ``abn_amplitude`` (distal amplitude < LLN, 0 = no response counts; on a proximal motor
        site: drop from the previous site > its limit), ``abn_velocity`` (< LLN) and
        ``abn_duration`` (> ULN); on ``h_reflex`` rows the latency limit is the nomogram ULN,
        and ``abn_decrement`` flags an ``rns`` decrement above its ULN. NaN values or limits
        never flag.
    """
    lim = site_limits(ncs, _aligned(limits, ncs, NCS_LIMIT_COLUMNS))
    kind = _text(ncs, "kind")
    is_f = kind.eq("f_wave")
    lat_limit = _num(lim, "f_latency_uln_ms").where(is_f, _num(lim, "latency_uln_ms"))
    lat_limit = _num(lim, "h_latency_uln_ms").where(kind.eq("h_reflex"), lat_limit)
    dur_limit = _num(lim, "distal_duration_uln_ms")
    amp = _num(ncs, "amplitude")
    low = (amp < _num(lim, "amplitude_lln")) & ~is_f
    dropped = _num(lim, "amplitude_drop_pct") > _num(lim, "amplitude_drop_uln_pct")
    return lim.assign(
        lat_limit_ms=lat_limit,
        abn_latency=(_num(ncs, "latency_ms") > lat_limit).fillna(False).astype(bool),
        abn_amplitude=(low | dropped).fillna(False).astype(bool),
        abn_drop=dropped.fillna(False).astype(bool),
        abn_velocity=(_num(ncs, "velocity_m_s") < _num(lim, "velocity_lln_m_s"))
        .fillna(False)
        .astype(bool),
        abn_duration=(_num(ncs, "duration_ms") > dur_limit).fillna(False).astype(bool),
        abn_decrement=(_num(ncs, "decrement_pct") > _num(lim, "decrement_uln_pct"))
        .fillna(False)
        .astype(bool),
    )


def emg_flags(emg: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Flag needle EMG findings that are not normal (vectorised over all rows).

    Parameters
    ----------
    emg : DataFrame
        The bundle's EMG table (grades 0–4 as floats, categorical columns canonical).
    limits : DataFrame
        :func:`features.limits.muap_limits` output, row-aligned with ``emg``.

    Returns
    -------
    DataFrame
        Indexed like ``emg``: the limit columns plus ``abn_<column>`` booleans for the
        spontaneous activity grades (> 0), MUAP amplitude/duration (outside LLN–ULN),
        polyphasic share (> ULN), grades, recruitment and activation (not ``normal``) and
        ``muap_unstable`` (true).
    """
    lim = _aligned(limits, emg, EMG_LIMIT_COLUMNS)
    flags: dict[str, pd.Series] = {}
    for col in SPONTANEOUS:
        flags[f"abn_{col}"] = _num(emg, col) > 0
    amp, dur = _num(emg, "muap_amplitude_uv"), _num(emg, "muap_duration_ms")
    flags["abn_muap_amplitude_uv"] = (amp < _num(lim, "amplitude_lln_uv")) | (
        amp > _num(lim, "amplitude_uln_uv")
    )
    flags["abn_muap_duration_ms"] = (dur < _num(lim, "duration_lln_ms")) | (
        dur > _num(lim, "duration_uln_ms")
    )
    flags["abn_muap_polyphasic_pct"] = _num(emg, "muap_polyphasic_pct") > _num(
        lim, "polyphasic_uln_pct"
    )
    for col in GRADES + PATTERN_COLUMNS:
        text = _text(emg, col)
        flags[f"abn_{col}"] = text.ne("") & text.ne("normal") & text.ne("nan")
    flags["abn_muap_unstable"] = _num(emg, "muap_unstable") == 1.0
    return lim.assign(**{k: v.fillna(False).astype(bool) for k, v in flags.items()})


def fmt_number(value: object, digits: int = 1) -> str:
    """A number for display: at most ``digits`` decimals, no trailing zeros; "–" when missing."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–" if value is None or str(value).strip() == "" else str(value)
    if not math.isfinite(v):
        return "–"
    text = f"{v:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def emg_rows(emg: pd.DataFrame, flags: pd.DataFrame) -> list[dict[str, object]]:
    """Display rows of one study's needle EMG table."""
    rows = []
    for idx, r in emg.iterrows():
        f = flags.loc[idx]
        row: dict[str, object] = {"muscle": _label(r.get("muscle")), "side": plain(r.get("side"))}
        row["insertional"] = Cell(plain(r.get("insertional")), f["abn_insertional"], "")
        for col in SPONTANEOUS:
            row[col] = Cell(grade_text(r.get(col)), f[f"abn_{col}"], "normal 0")
        row["muap_amplitude"] = _range_or_grade(
            r.get("muap_amplitude_uv"),
            f["abn_muap_amplitude_uv"],
            f.get("amplitude_lln_uv"),
            f.get("amplitude_uln_uv"),
            "µV",
            r.get("muap_amplitude_grade"),
            f["abn_muap_amplitude_grade"],
            0,
        )
        row["muap_duration"] = _range_or_grade(
            r.get("muap_duration_ms"),
            f["abn_muap_duration_ms"],
            f.get("duration_lln_ms"),
            f.get("duration_uln_ms"),
            "ms",
            r.get("muap_duration_grade"),
            f["abn_muap_duration_grade"],
            1,
        )
        row["polyphasia"] = _range_or_grade(
            r.get("muap_polyphasic_pct"),
            f["abn_muap_polyphasic_pct"],
            None,
            f.get("polyphasic_uln_pct"),
            "%",
            r.get("polyphasia_grade"),
            f["abn_polyphasia_grade"],
            0,
        )
        row["recruitment"] = Cell(plain(r.get("recruitment")), f["abn_recruitment"], "")
        row["activation"] = Cell(plain(r.get("activation")), f["abn_activation"], "")
        unstable = _float(r.get("muap_unstable"))
        row["unstable"] = Cell(
            "–" if unstable is None else ("yes" if unstable == 1.0 else "no"),
            f["abn_muap_unstable"],
            "",
        )
        rows.append(row)
    return rows


def grade_text(value: object) -> str:
    """A spontaneous-activity grade as electromyographers write it: "0", "1+" … "4+", "–"."""
    g = _float(value)
    if g is None:
        return "–"
    return "0" if g == 0 else f"{fmt_number(g, 0)}+"


def _range_or_grade(
    value: object,
    abnormal: bool,
    lln: object,
    uln: object,
    unit: str,
    grade: object,
    grade_abnormal: bool,
    digits: int,
) -> Cell:
    """A MUAP number with its normal range, or the recorded grade when no number was measured."""
    v = _float(value)
    if v is None:
        return Cell(plain(grade), bool(grade_abnormal), "")
    lo, hi = _float(lln), _float(uln)
    if lo is not None and hi is not None:
        limit = f"normal {fmt_number(lo, digits)}–{fmt_number(hi, digits)} {unit}"
    elif hi is not None:
        limit = f"ULN {fmt_number(hi, digits)} {unit}"
    elif lo is not None:
        limit = f"LLN {fmt_number(lo, digits)} {unit}"
    else:
        limit = ""
    return Cell(fmt_number(v, digits), bool(abnormal), limit)


def _float(value: object) -> float | None:
    """``value`` as a finite float or ``None``."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def plain(value: object) -> str:
    """A categorical value for display; "–" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = str(value).strip()
    return text if text and text.lower() != "nan" else "–"


def _label(value: object) -> str:
    """A snake_case vocabulary value as words (``first_dorsal_interosseous`` → ``first dorsal interosseous``)."""
    return plain(value).replace("_", " ")
