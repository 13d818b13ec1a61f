"""Reference knowledge as versioned package data (every row cites a ``source_id``, see SOURCES.md).

Tables are read (and parsed) once and handed out as copies, so callers can never mutate the
shared table.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd


@cache
def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values=[""])


def load_table(name: str) -> pd.DataFrame:
    """Return a copy of the reference table ``name`` (file name inside this package)."""
    return _read(name).copy()


def load_muscles() -> pd.DataFrame:
    """Muscle table indexed by canonical muscle name.

    Columns: ``nerve``, ``roots`` and ``main_roots`` (tuples of root levels such as ``("C5", "C6")``),
    ``region`` (bulbar/cervical/thoracic/lumbosacral), ``limb`` (head/axial/upper/lower),
    ``position`` (bulbar/axial/proximal/distal), ``source_id``.
    """
    return _muscles().copy()


@cache
def _muscles() -> pd.DataFrame:
    """The parsed muscle table, built once (callers get copies; the root tuples are immutable)."""
    table = _read("muscles.csv").set_index("muscle")
    for col in ("roots", "main_roots"):
        table[col] = table[col].fillna("").map(lambda s: tuple(r for r in s.split(";") if r))
    return table


def load_ncs_limits() -> pd.DataFrame:
    """NCS normal-limit rows (``ncs_limits.csv``), one per nerve / kind / recording site / age band.

    Columns: ``nerve``, ``kind``, ``recording_site``, ``is_default`` (the row used when the
    recording site is unknown), ``age_from_years`` (the band starts at this age),
    ``latency_uln_ms``, ``amplitude_lln`` (``amplitude_unit`` mV for motor, uV for sensory),
    ``velocity_lln_m_s``, ``f_latency_uln_ms`` and ``f_height_slope_ms_per_cm`` (F-wave ULN at
    170 cm and its height slope), ``distal_duration_uln_ms``, covariate slopes
    (``amp_age_slope_pct_per_yr`` from ``amp_age_slope_from_years``, ``amp_height_slope_pct_per_cm``,
    ``cv_height_slope_m_s_per_cm``), ``limb``, ``provisional``, ``source_id``, ``note``.
    """
    return load_table("ncs_limits.csv")


def load_muap_norms() -> pd.DataFrame:
    """MUAP norms indexed by canonical muscle (``muap_norms.csv``).

    Columns: ``duration_ref_ms`` (mean duration at age 20-29), ``amplitude_lln_uv``,
    ``amplitude_uln_uv``, ``polyphasic_uln_pct``, ``provisional``, ``source_id``, ``note``.
    """
    return load_table("muap_norms.csv").set_index("muscle")
