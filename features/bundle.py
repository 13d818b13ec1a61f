"""The in-memory study bundle: three normalised tables, as the contract defines them.

A :class:`Bundle` always holds *canonical* values (synonyms resolved, enumerations in their
canonical spelling, numbers as ``float64`` with NaN for "not measured"). Reading, validating
and writing files lives in :mod:`features.contract` and :mod:`features.bundle_io`; this module
is only the container and the column lists every component agrees on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: studies table: column -> kind ("str", "float", "cat")
STUDY_COLUMNS: dict[str, str] = {
    "study_id": "str",
    "age_years": "float",
    "sex": "cat",
    "height_cm": "float",
    "limb_temp_c": "float",
    "patient_id": "str",
    "site_id": "str",
    "diagnosis": "cat",
}
STUDY_REQUIRED: tuple[str, ...] = ("study_id", "age_years")

NCS_COLUMNS: dict[str, str] = {
    "study_id": "str",
    "nerve": "cat",
    "side": "cat",
    "kind": "cat",
    "stim_site": "str",
    "recording_site": "str",
    "latency_ms": "float",
    "amplitude": "float",  # motor mV, sensory µV; 0 = no response
    "duration_ms": "float",
    "distance_mm": "float",
    "velocity_m_s": "float",
    "persistence_pct": "float",
}
NCS_REQUIRED: tuple[str, ...] = ("study_id", "nerve", "side", "kind", "stim_site")

EMG_COLUMNS: dict[str, str] = {
    "study_id": "str",
    "muscle": "cat",
    "side": "cat",
    "insertional": "cat",
    "fibs": "float",  # grade 0-4
    "psw": "float",
    "fascics": "float",
    "crd": "float",
    "myotonia": "float",
    "muap_amplitude_uv": "float",
    "muap_duration_ms": "float",
    "muap_polyphasic_pct": "float",
    "muap_amplitude_grade": "cat",
    "muap_duration_grade": "cat",
    "polyphasia_grade": "cat",
    "recruitment": "cat",
    "activation": "cat",
    "muap_unstable": "float",  # 1.0 true, 0.0 false, NaN not recorded
}
EMG_REQUIRED: tuple[str, ...] = ("study_id", "muscle", "side")

TABLES: dict[str, dict[str, str]] = {
    "studies": STUDY_COLUMNS,
    "ncs": NCS_COLUMNS,
    "emg": EMG_COLUMNS,
}


@dataclass(frozen=True)
class Bundle:
    """Three normalised tables of one bundle.

    Attributes
    ----------
    studies : DataFrame
        One row per study, columns of :data:`STUDY_COLUMNS` (optional ones may be all-NaN);
        extra columns a lab added are kept.
    ncs : DataFrame
        One row per recorded response, columns of :data:`NCS_COLUMNS`.
    emg : DataFrame
        One row per muscle examined, columns of :data:`EMG_COLUMNS`.
    """

    studies: pd.DataFrame
    ncs: pd.DataFrame
    emg: pd.DataFrame

    @property
    def study_ids(self) -> list[str]:
        """Study identifiers in table order."""
        return self.studies["study_id"].astype(str).tolist()

    def subset(self, study_ids: list[str] | set[str]) -> Bundle:
        """Return a new bundle holding only the given studies (tables re-indexed from 0)."""
        keep = set(study_ids)
        return Bundle(
            studies=self.studies[self.studies["study_id"].isin(keep)].reset_index(drop=True),
            ncs=self.ncs[self.ncs["study_id"].isin(keep)].reset_index(drop=True),
            emg=self.emg[self.emg["study_id"].isin(keep)].reset_index(drop=True),
        )


def empty_table(columns: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the given columns and their canonical dtypes."""
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if k == "float" else "object") for c, k in columns.items()}
    )
