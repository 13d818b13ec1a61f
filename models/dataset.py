"""The labelled feature table the train, evaluate and report stages read.

:func:`read_features` reads ``features.parquet``; :func:`labelled_inputs` aligns it with the
labels of the validated bundle and the patient-grouped splits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)


def read_features(path: Path) -> pd.DataFrame:
    """Feature table indexed by ``study_id`` (a ``study_id`` column is moved to the index)."""
    X = pd.read_parquet(path)
    if "study_id" in X.columns:
        X = X.set_index("study_id")
    X.index = X.index.astype(str)
    X.index.name = "study_id"
    return X


def labelled_inputs(
    X: pd.DataFrame, studies: pd.DataFrame, splits: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Align features, labels and splits on the studies present in all three and labelled.

    Parameters
    ----------
    X : DataFrame, index ``study_id``
        The feature table (:func:`read_features`).
    studies : DataFrame
        The bundle's ``studies`` table; ``diagnosis`` is the label (NaN: unlabelled, not used).
    splits : DataFrame
        ``study_id`` and ``split`` columns.

    Returns
    -------
    X, y, split
        Restricted to the labelled studies present in all three; the count of feature rows
        left out is logged.
    """
    y = studies.set_index(studies["study_id"].astype(str))["diagnosis"]
    split = splits.set_index(splits["study_id"].astype(str))["split"]
    ids = X.index.intersection(y.dropna().index).intersection(split.index)
    dropped = len(X) - len(ids)
    if dropped:
        logger.warning("%d feature rows without a label or a split are not used", dropped)
    return X.loc[ids], y.loc[ids], split.loc[ids]
