"""The in-memory study bundle: three normalised tables, as the contract defines them.

A :class:`Bundle` always holds *canonical* values (synonyms resolved, enumerations in their
canonical spelling, numbers as ``float64`` with NaN for "not measured"). Reading, validating
and writing files lives in the other modules of :mod:`bundle`; this module is only the
container and the column lists every component agrees on (derived from :mod:`bundle.spec`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bundle.spec import columns_of, required_columns


def _kinds(table: str) -> dict[str, str]:
    """Column -> kind (``str``, ``float``, ``cat``) of one table, from the column-spec table."""
    kind = {"number": "float", "grade": "float", "boolean": "float", "category": "cat"}
    return {name: kind.get(c.dtype, "str") for name, c in columns_of(table).items()}


#: studies table: column -> kind ("str", "float", "cat"), derived from :mod:`bundle.spec`
STUDY_COLUMNS: dict[str, str] = _kinds("studies")
STUDY_REQUIRED: tuple[str, ...] = required_columns("studies")
#: ncs table (amplitude: motor mV, sensory µV; 0 = no response)
NCS_COLUMNS: dict[str, str] = _kinds("ncs")
NCS_REQUIRED: tuple[str, ...] = required_columns("ncs")
#: emg table (grades 0-4 as float; muap_unstable 1.0 true, 0.0 false, NaN not recorded)
EMG_COLUMNS: dict[str, str] = _kinds("emg")
EMG_REQUIRED: tuple[str, ...] = required_columns("emg")

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
        """Study identifiers in table order (an empty identifier is no study: it is left out).

        Validation rejects a row without ``study_id``; it is never turned into a text such
        as ``"nan"`` that could be predicted.
        """
        ids = self.studies["study_id"]
        return [s for s in ids[ids.notna()].tolist() if s != ""]

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
