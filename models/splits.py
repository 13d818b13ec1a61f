"""Patient-grouped, class-stratified splits plus one held-out site.

Every study of a patient lands in the same split, so no patient straddles training and test.
All studies of the held-out site (a simulated lab with different habits) go to ``heldout_site``;
the held-out-site score beside the in-distribution one shows how much the model leans on one
lab's habits (``shared/notes/transfer-lessons.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "calib", "test", "heldout_site")


def make_splits(
    studies: pd.DataFrame,
    shares: Mapping[str, float],
    *,
    holdout_site: str | None,
    seed: int,
) -> pd.DataFrame:
    """Assign each study to a split.

    Patients (``patient_id``; a study without one is its own patient) are stratified by their
    most frequent diagnosis, shuffled within each class and cut at the cumulative ``shares``.

    Parameters
    ----------
    studies : DataFrame
        The bundle's studies table (``study_id``, optional ``patient_id``, ``site_id``,
        ``diagnosis``).
    shares : mapping
        ``{"train": .6, "valid": .1, "calib": .1, "test": .2}`` — shares of patients.
    holdout_site : str or None
        ``site_id`` whose studies all go to ``heldout_site``.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    DataFrame
        Columns ``study_id, patient_id, site_id, split`` in the order of ``studies``.
    """
    names = [s for s in SPLITS if s != "heldout_site"]
    missing = [s for s in names if s not in shares]
    if missing:
        raise ValueError(f"shares is missing {missing}; expected keys {names}")
    if studies["study_id"].duplicated().any():
        dup = studies.loc[studies["study_id"].duplicated(), "study_id"].iloc[0]
        raise ValueError(f"studies: study_id {dup!r} occurs more than once; expected unique ids")
    rng = np.random.default_rng(seed)
    sid = studies["study_id"].astype(str)
    pid = _column(studies, "patient_id").fillna(sid).astype(str)
    site = _column(studies, "site_id")
    diag = _column(studies, "diagnosis").fillna("unknown").astype(str)
    held = (
        (site == holdout_site).to_numpy() if holdout_site is not None else np.zeros(len(sid), bool)
    )
    if holdout_site is not None and not held.any():
        logger.warning("split: no study has site_id %r; nothing held out", holdout_site)
    # a patient seen at the held-out site goes there entirely, so no patient straddles
    held_patients = set(pid[held])
    held = pid.isin(held_patients).to_numpy()

    frame = pd.DataFrame({"patient_id": pid[~held], "diagnosis": diag[~held]})
    patients = (
        frame.groupby("patient_id", sort=True)["diagnosis"]
        .agg(lambda s: s.value_counts().index[0])
        .rename("stratum")
        .reset_index()
    )
    patients["u"] = rng.random(len(patients))
    patients["rank"] = patients.groupby("stratum")["u"].rank(method="first")
    patients["size"] = patients.groupby("stratum")["u"].transform("size")
    position = (patients["rank"] - 0.5) / patients["size"]  # in (0, 1)
    edges = np.cumsum([shares[s] for s in names])
    patients["split"] = np.asarray(names)[
        np.searchsorted(edges, position.to_numpy(), side="right").clip(max=len(names) - 1)
    ]
    by_patient = patients.set_index("patient_id")["split"]

    split = pd.Series("heldout_site", index=studies.index, dtype=object)
    split[~held] = pid[~held].map(by_patient).to_numpy()
    out = pd.DataFrame({"study_id": sid, "patient_id": pid, "site_id": site, "split": split})
    counts = out["split"].value_counts().reindex(SPLITS, fill_value=0)
    logger.info("split: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return out.reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series(None, index=frame.index, dtype=object)


def check_grouping(splits: pd.DataFrame) -> None:
    """Raise if any patient occurs in more than one split."""
    n = splits.groupby("patient_id")["split"].nunique()
    bad = n[n > 1]
    if len(bad):
        raise ValueError(f"{len(bad)} patients straddle splits, e.g. patient_id {bad.index[0]!r}")
