"""Needle-EMG row transforms of the metamorphic relations (MR3, MR4, MR5, MR7).

Pure ``Bundle -> Bundle`` functions, as in :mod:`models.metamorphic_transforms`; EMG rows are
targeted by ``study_id, muscle, side``. The normal and neurogenic rows follow the conventions
of ``clinical/invariants.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from bundle.tables import EMG_COLUMNS, Bundle
from features.reference import load_muap_norms, load_muscles
from models.metamorphic_transforms import (
    EMG_KEYS,
    MUAP_AGE_SLOPE_PER_YR,
    MUAP_GRADE_COLUMNS,
    MUAP_REFERENCE_AGE_YEARS,
    SPONTANEOUS_MAX_GRADE,
    rows_matching,
    with_tables,
)


# --------------------------------------------------------------------------------------------
# needle EMG rows (MR3, MR4, MR5, MR7)
# --------------------------------------------------------------------------------------------
def is_paraspinal(muscle: str) -> bool:
    """Paraspinal muscles carry spontaneous activity only (invariants.md conventions)."""
    return str(muscle).endswith("_paraspinal")


def normal_muscle_row(study_id: str, muscle: str, side: str) -> dict[str, object]:
    """A normal muscle row of invariants.md (paraspinal: spontaneous columns only)."""
    row: dict[str, object] = dict.fromkeys(EMG_COLUMNS, np.nan)
    row.update(study_id=study_id, muscle=muscle, side=side, insertional="normal")
    row.update(fibs=0.0, psw=0.0, fascics=0.0, crd=0.0, myotonia=0.0)
    if not is_paraspinal(muscle):
        row.update(dict.fromkeys(MUAP_GRADE_COLUMNS, "normal"))
        row.update(recruitment="normal", muap_unstable=0.0)
    return row


def neurogenic_muscle_row(
    study_id: str,
    muscle: str,
    side: str,
    *,
    fibs: float = 2.0,
    psw: float = 2.0,
    fascics: float = 2.0,
) -> dict[str, object]:
    """A neurogenic muscle row of invariants.md (paraspinal: spontaneous columns only)."""
    row: dict[str, object] = dict.fromkeys(EMG_COLUMNS, np.nan)
    row.update(study_id=study_id, muscle=muscle, side=side, insertional="increased")
    row.update(fibs=fibs, psw=psw, fascics=fascics, crd=0.0, myotonia=0.0)
    if not is_paraspinal(muscle):
        row.update(
            muap_amplitude_grade="increased",
            muap_duration_grade="increased",
            polyphasia_grade="increased",
            recruitment="reduced",
        )
    return row


def spontaneous_row(
    study_id: str, muscle: str, side: str, *, fibs: float, psw: float, fascics: float
) -> dict[str, object]:
    """A row with the spontaneous-activity columns only (MR4 step 1)."""
    row: dict[str, object] = dict.fromkeys(EMG_COLUMNS, np.nan)
    row.update(study_id=study_id, muscle=muscle, side=side)
    row.update(fibs=fibs, psw=psw, fascics=fascics, crd=0.0, myotonia=0.0)
    return row


def emg_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """EMG rows (dicts) as a frame with the contract columns and canonical dtypes."""
    frame = pd.DataFrame(list(rows), columns=list(EMG_COLUMNS))
    for col, kind in EMG_COLUMNS.items():
        frame[col] = frame[col].astype("float64" if kind == "float" else object)
    return frame


def upsert_emg_rows(bundle: Bundle, rows: pd.DataFrame) -> Bundle:
    """Replace the EMG rows with the same ``study_id, muscle, side`` as ``rows``, append the others."""
    emg = bundle.emg
    replaced = rows_matching(emg, rows, EMG_KEYS)
    out = pd.concat([emg[~replaced], rows.reindex(columns=emg.columns)], ignore_index=True)
    return with_tables(bundle, emg=out)


def set_emg_values(bundle: Bundle, targets: pd.DataFrame, values: Mapping[str, object]) -> Bundle:
    """Set EMG ``values`` (column -> value) on the targeted rows."""
    emg = bundle.emg.copy()
    sel = rows_matching(emg, targets, EMG_KEYS)
    for col, value in values.items():
        emg.loc[sel, col] = value
    return with_tables(bundle, emg=emg)


def bump_spontaneous(bundle: Bundle, targets: pd.DataFrame, column: str) -> Bundle:
    """``column`` (fibs, psw or fascics) + 1 on the targeted rows, capped at grade 4."""
    emg = bundle.emg.copy()
    sel = rows_matching(emg, targets, EMG_KEYS)
    values = emg[column].to_numpy(dtype=float).copy()
    values[sel] = np.minimum(values[sel] + 1.0, SPONTANEOUS_MAX_GRADE)
    emg[column] = values
    return with_tables(bundle, emg=emg)


@cache
def _duration_reference() -> Mapping[str, float]:
    return load_muap_norms()["duration_ref_ms"].to_dict()


@cache
def muscle_region() -> Mapping[str, str]:
    """Canonical muscle -> region (bulbar, cervical, thoracic, lumbosacral)."""
    return load_muscles()["region"].to_dict()


@cache
def muscle_limb() -> Mapping[str, str]:
    """Canonical muscle -> limb (head, axial, upper, lower)."""
    return load_muscles()["limb"].to_dict()


def muap_duration_reference_ms(emg: pd.DataFrame, studies: pd.DataFrame) -> np.ndarray:
    """Age-adjusted mean MUAP duration reference of each EMG row: T2.1 x (1 + 0.007 (age - 25))."""
    ref = emg["muscle"].map(_duration_reference()).to_numpy(dtype=float)
    age = studies.set_index("study_id")["age_years"].reindex(emg["study_id"]).to_numpy(float)
    return ref * (1.0 + MUAP_AGE_SLOPE_PER_YR * (age - MUAP_REFERENCE_AGE_YEARS))


def worsen_quantitative_muap(bundle: Bundle, targets: pd.DataFrame, column: str) -> Bundle:
    """MR7: duration x1.3 (at/above reference) or x0.7 (below); amplitude x2 or x0.5 in the same sense."""
    emg = bundle.emg.copy()
    sel = rows_matching(emg, targets, EMG_KEYS)
    above = emg["muap_duration_ms"].to_numpy(float) >= muap_duration_reference_ms(
        emg, bundle.studies
    )
    up, down = (1.3, 0.7) if column == "muap_duration_ms" else (2.0, 0.5)
    values = emg[column].to_numpy(dtype=float).copy()
    values[sel] = values[sel] * np.where(above[sel], up, down)
    emg[column] = values
    return with_tables(bundle, emg=emg)
