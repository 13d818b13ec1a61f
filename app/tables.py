"""One study's NCS tables by kind, with a limits column for every value, and its comparisons.

The report and the study page lay NCS out as electromyographers' reports do (one table per
kind: motor, sensory, F wave, and any other kind the bundle carries, e.g. ``h_reflex`` or
``rns``), each value followed by its normal limit so the limits print. The limits come from
:func:`app.findings.ncs_flags` (per stimulation site: distal limits on distal rows, the
allowed amplitude drop on proximal motor rows). Missing values stay "not measured" ("–").
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.findings import Cell, fmt_number, plain
from features.criteria import CTS_LAT_DIFF_MS

#: kind -> table title (kinds not listed get their name in words)
KIND_TITLES: dict[str, str] = {
    "motor": "Motor nerve conduction",
    "sensory": "Sensory nerve conduction (antidromic)",
    "f_wave": "F waves",
    "h_reflex": "H reflex",
    "rns": "Repetitive nerve stimulation",
}
#: the latency each kind reports (motor: onset; sensory: peak, clinical reference §0)
LATENCY_LABELS: dict[str, str] = {
    "motor": "Onset latency ms",
    "sensory": "Peak latency ms",
    "f_wave": "F min latency ms",
    "h_reflex": "H latency ms",
}
#: contract columns that are identifiers or shown elsewhere, never as a value column
NON_VALUE_COLUMNS = frozenset(
    {"study_id", "nerve", "side", "kind", "stim_site", "recording_site", "amplitude_unit"}
)
#: kinds ordered first (then the rest in order of appearance)
KIND_ORDER = ("motor", "sensory", "f_wave")
#: side-to-side limits from the clinical reference (T1.1): ulnar CMAP amplitude difference ULN
#: 3.6 mV (Buschbacher 1999), peroneal CMAP amplitude difference ULN 61 % (Buschbacher 1999)
SIDE_DIFF_MV: dict[tuple[str, str], float] = {("ulnar", "motor"): 3.6}
SIDE_DIFF_PCT: dict[tuple[str, str], float] = {("peroneal", "motor"): 61.0}


@dataclass(frozen=True)
class Column:
    """One value column of an NCS table and whether a limits column follows it."""

    key: str
    label: str
    has_limit: bool


@dataclass(frozen=True)
class NcsRow:
    """One stimulation site of one response: where, and a :class:`Cell` per value column."""

    nerve: str
    side: str
    stim_site: str
    recording_site: str
    cells: dict[str, Cell]


@dataclass(frozen=True)
class NcsTable:
    """The rows of one NCS kind with the value columns that hold at least one value."""

    kind: str
    title: str
    columns: list[Column]
    rows: list[NcsRow] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """One side-to-side or median–ulnar comparison of a measured value."""

    what: str
    first: str
    second: str
    difference: str
    limit: str
    abnormal: bool


def _f(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _words(value: object) -> str:
    return plain(value).replace("_", " ")


def _limit(value: float | None, sign: str, unit: str, digits: int = 1) -> str:
    """``"≤ 4.4 ms"`` / ``"≥ 4 mV"``; "" when there is no limit."""
    return "" if value is None else f"{sign} {fmt_number(value, digits)} {unit}".strip()


def _unit(kind: str, given: object) -> str:
    if isinstance(given, str) and given:
        return {"uV": "µV", "uv": "µV", "mv": "mV"}.get(given, given)
    return "mV" if kind in ("motor", "rns", "h_reflex") else "µV"


def _row_cells(kind: str, r: pd.Series, f: pd.Series, extra: list[str]) -> dict[str, Cell]:
    """The value cells of one NCS row (value, abnormal, printed limit)."""
    unit = _unit(kind, f.get("amplitude_unit"))
    amp = _f(r.get("amplitude"))
    amp_text = fmt_number(r.get("amplitude"))
    if kind not in ("f_wave",) and amp == 0.0:
        amp_text = "0 (no response)"
    drop = _f(f.get("amplitude_drop_pct"))
    cells = {
        "latency": Cell(
            fmt_number(r.get("latency_ms")),
            bool(f.get("abn_latency")) and _f(r.get("latency_ms")) is not None,
            _limit(_f(f.get("lat_limit_ms")), "≤", "ms"),
        ),
        "amplitude": Cell(
            amp_text if amp_text == "–" else f"{amp_text} {unit}" if amp else amp_text,
            bool(f.get("abn_amplitude")) and amp is not None and not bool(f.get("abn_drop")),
            _limit(_f(f.get("amplitude_lln")), "≥", unit),
        ),
        "drop": Cell(
            "–" if drop is None else f"{fmt_number(drop, 0)} %",
            bool(f.get("abn_drop")),
            _limit(_f(f.get("amplitude_drop_uln_pct")), "≤", "%", 0),
        ),
        "duration": Cell(
            fmt_number(r.get("duration_ms")),
            bool(f.get("abn_duration")) and _f(r.get("duration_ms")) is not None,
            _limit(_f(f.get("distal_duration_uln_ms")), "≤", "ms"),
        ),
        "distance": Cell(fmt_number(r.get("distance_mm"), 0)),
        "velocity": Cell(
            fmt_number(r.get("velocity_m_s")),
            bool(f.get("abn_velocity")) and _f(r.get("velocity_m_s")) is not None,
            _limit(_f(f.get("velocity_lln_m_s")), "≥", "m/s"),
        ),
        "persistence": Cell(fmt_number(r.get("persistence_pct"), 0)),
        "decrement": Cell(
            "–"
            if _f(r.get("decrement_pct")) is None
            else f"{fmt_number(r.get('decrement_pct'))} %",
            bool(f.get("abn_decrement")),
            _limit(_f(f.get("decrement_uln_pct")), "≤", "%", 0),
        ),
    }
    for col in extra:
        cells[col] = Cell(fmt_number(r.get(col)))
    return cells


def _columns(kind: str, extra: list[str]) -> list[Column]:
    amp_label = "Amplitude"
    return [
        Column("latency", LATENCY_LABELS.get(kind, "Latency ms"), True),
        Column("amplitude", amp_label, True),
        Column("drop", "Drop from previous site", True),
        Column("duration", "Duration ms", True),
        Column("distance", "Distance mm", False),
        Column("velocity", "Velocity m/s", True),
        Column("persistence", "Persistence %", False),
        Column("decrement", "Decrement 1st–4th/5th", True),
        *[Column(c, c.replace("_pct", " %").replace("_ms", " ms").replace("_", " "), False)
          for c in extra],
    ]  # fmt: skip


def ncs_tables(ncs: pd.DataFrame, flags: pd.DataFrame) -> list[NcsTable]:
    """One table per NCS kind (motor, sensory, F wave first), columns without values left out.

    Parameters
    ----------
    ncs : DataFrame
        One study's NCS rows (canonical contract columns; any extra numeric column, e.g.
        ``decrement_pct``, becomes a value column of its kind).
    flags : DataFrame
        :func:`app.findings.ncs_flags` rows aligned with ``ncs``.
    """
    if ncs.empty:
        return []
    known = {
        "latency_ms", "amplitude", "duration_ms", "distance_mm", "velocity_m_s",
        "persistence_pct", "decrement_pct",
    }  # fmt: skip
    extra = [
        c
        for c in ncs.columns
        if c not in NON_VALUE_COLUMNS
        and c not in known
        and pd.api.types.is_numeric_dtype(ncs[c])
        and ncs[c].notna().any()
    ]
    kinds = [str(k) for k in pd.unique(ncs["kind"].astype(str))]
    kinds = [k for k in KIND_ORDER if k in kinds] + [k for k in kinds if k not in KIND_ORDER]
    tables = []
    for kind in kinds:
        rows = []
        sub = ncs["kind"].astype(str).eq(kind).to_numpy()
        for r, (_, f) in zip(  # a handful of rows
            (row for _, row in ncs.loc[sub].iterrows()), flags.loc[sub].iterrows(), strict=True
        ):
            rows.append(
                NcsRow(
                    _words(r.get("nerve")),
                    plain(r.get("side")),
                    _words(r.get("stim_site")),
                    _words(r.get("recording_site")),
                    _row_cells(kind, r, f, extra),
                )
            )
        cols = [
            c for c in _columns(kind, extra) if any(row.cells[c.key].text != "–" for row in rows)
        ]
        tables.append(NcsTable(kind, KIND_TITLES.get(kind, _words(kind).capitalize()), cols, rows))
    return tables


def _distal(ncs: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Distal rows with normalised keys."""
    d = ncs.loc[flags["is_distal"].astype(bool)] if "is_distal" in flags else ncs
    return d.assign(
        _nerve=d["nerve"].astype(str),
        _kind=d["kind"].astype(str),
        _side=d["side"].astype(str).str.upper() if "side" in d else "",
    )


def side_to_side(ncs: pd.DataFrame, flags: pd.DataFrame) -> list[Comparison]:
    """Left against right for every nerve and kind measured on both sides (distal site).

    Amplitude: the difference as % of the larger side, with the reference's limit where it
    gives one (:data:`SIDE_DIFF_MV`, :data:`SIDE_DIFF_PCT`; the H-reflex: smaller/larger
    ≥ 0.4, i.e. a difference ≤ 60 %, Jankus 1994); latency: the difference in ms, with a limit
    for the H-reflex only (1.5 ms, 1.8 ms from 60 y; Falco 1994, T1.3).
    """
    if ncs.empty or "side" not in ncs.columns:
        return []
    d = _distal(ncs, flags)
    out = []
    for (nerve_key, kind_key), g in d.groupby(["_nerve", "_kind"], sort=False):
        nerve, kind = str(nerve_key), str(kind_key)
        left, right = g[g["_side"] == "L"], g[g["_side"] == "R"]
        if left.empty or right.empty:
            continue
        lv, rv = left.iloc[0], right.iloc[0]
        title = KIND_TITLES.get(str(kind), str(kind))
        what = f"{_words(nerve)} {title if kind == 'h_reflex' else title.split(' ')[0].lower()}"
        h_lat_uln, h_ratio_lln = _h_side_limits(flags, left.index[0], kind)
        la, ra = _f(lv.get("amplitude")), _f(rv.get("amplitude"))
        if la is not None and ra is not None and kind != "f_wave" and max(la, ra) > 0:
            unit = _unit(str(kind), None)
            pct = 100.0 * (1.0 - min(la, ra) / max(la, ra))
            mv, lim_pct = SIDE_DIFF_MV.get((nerve, kind)), SIDE_DIFF_PCT.get((nerve, kind))
            if h_ratio_lln is not None:  # smaller/larger H amplitude >= 0.4 (Jankus 1994, T1.3)
                lim_pct = 100.0 * (1.0 - h_ratio_lln)
            if mv is not None:
                limit, abn = f"≤ {fmt_number(mv)} {unit}", abs(la - ra) > mv
            elif lim_pct is not None:
                limit, abn = f"≤ {fmt_number(lim_pct, 0)} %", pct > lim_pct
            else:
                limit, abn = "no limit in the reference", False
            out.append(
                Comparison(
                    f"{what} amplitude",
                    f"L {fmt_number(la)} {unit}",
                    f"R {fmt_number(ra)} {unit}",
                    f"{fmt_number(abs(la - ra))} {unit} ({fmt_number(pct, 0)} %)",
                    limit,
                    abn,
                )
            )
        ll, rl = _f(lv.get("latency_ms")), _f(rv.get("latency_ms"))
        if ll is not None and rl is not None:
            out.append(
                Comparison(
                    f"{what} latency",
                    f"L {fmt_number(ll)} ms",
                    f"R {fmt_number(rl)} ms",
                    f"{fmt_number(abs(ll - rl))} ms",
                    "no limit in the reference"
                    if h_lat_uln is None
                    else _limit(h_lat_uln, "≤", "ms"),
                    h_lat_uln is not None and abs(ll - rl) > h_lat_uln,
                )
            )
    return out


def _h_side_limits(
    flags: pd.DataFrame, row: Hashable, kind: str
) -> tuple[float | None, float | None]:
    """The H-reflex side-to-side limits of a row (latency ULN ms, amplitude-ratio LLN)."""
    if kind != "h_reflex" or row not in flags.index:
        return None, None
    f = flags.loc[[row]].iloc[0]
    return _f(f.get("h_side_diff_uln_ms")), _f(f.get("h_amp_ratio_lln"))


def median_ulnar(ncs: pd.DataFrame, flags: pd.DataFrame) -> list[Comparison]:
    """Median minus ulnar distal latency on the same side (sensory: the CTS comparison).

    Sensory peak latencies: limit :data:`features.criteria.CTS_LAT_DIFF_MS` (Atroshi 2003,
    clinical reference T1.2, the same threshold the guideline check uses); motor distal
    latencies are shown without a limit (the reference gives none).
    """
    if ncs.empty or "side" not in ncs.columns:
        return []
    d = _distal(ncs, flags)
    out = []
    for kind in ("sensory", "motor"):
        for side in ("L", "R"):
            g = d[(d["_kind"] == kind) & (d["_side"] == side)]
            med = g[g["_nerve"] == "median"]["latency_ms"].astype("float64").dropna()
            uln = g[g["_nerve"] == "ulnar"]["latency_ms"].astype("float64").dropna()
            if med.empty or uln.empty:
                continue
            m, u = float(med.iloc[0]), float(uln.iloc[0])
            diff = m - u
            sensory = kind == "sensory"
            out.append(
                Comparison(
                    f"{'left' if side == 'L' else 'right'} {kind} latency, median − ulnar",
                    f"median {fmt_number(m)} ms",
                    f"ulnar {fmt_number(u)} ms",
                    f"{fmt_number(diff, 2)} ms",
                    f"≤ {fmt_number(CTS_LAT_DIFF_MS)} ms"
                    if sensory
                    else "no limit in the reference",
                    bool(sensory and np.isfinite(diff) and diff > CTS_LAT_DIFF_MS),
                )
            )
    return out
