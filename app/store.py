"""The studies the web page knows: the configured bundle plus uploads, predicted once at load.

A :class:`Dataset` is one loaded bundle with its validation report, its cached predictions
and the per-row abnormal-value flags of its NCS and EMG tables. The :class:`StudyStore` keeps
the configured bundle and at most ``max_uploads`` uploaded datasets in memory (nothing is
written outside a temporary directory).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from app.findings import emg_flags, ncs_flags
from app.uploads import LoadResult
from bundle.tables import Bundle
from models.prediction import StudyPrediction
from models.service import RejectedStudy

log = logging.getLogger(__name__)


class PredictorLike(Protocol):
    """What the app needs from :class:`models.predictor.Predictor`."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def predict_bundle(self, bundle: Bundle, *, top_k: int = 8) -> list[StudyPrediction]: ...

    def feature_frame(self, bundle: Bundle) -> pd.DataFrame: ...

    def predict_features(self, X: pd.DataFrame, *, top_k: int = 8) -> list[StudyPrediction]: ...


@dataclass
class Dataset:
    """One loaded bundle with its predictions and abnormal-value flags.

    Attributes
    ----------
    key : str
        URL-safe identifier (``bundle`` or ``u<n>``).
    name : str
        Display name (a file name; untrusted, escaped when rendered).
    bundle : Bundle
        The normalised tables (valid and invalid studies).
    problems : list[dict]
        Validation problems as plain dicts (file, row, column, value, expected, cause,
        study_id, severity).
    invalid_ids : set[str]
        Studies with errors: listed but not predicted.
    predictions : dict[str, StudyPrediction]
        Cached predictions of the valid studies (empty without a model).
    ncs_flags, emg_flags : DataFrame
        :func:`app.findings.ncs_flags` / :func:`app.findings.emg_flags`, row-aligned with the
        bundle's tables.
    rejected : list[RejectedStudy]
        The studies not predicted and why (:func:`models.service.rejected_studies`).
    """

    key: str
    name: str
    bundle: Bundle
    problems: list[dict[str, Any]]
    invalid_ids: set[str]
    predictions: dict[str, StudyPrediction]
    ncs_flags: pd.DataFrame
    emg_flags: pd.DataFrame
    rejected: list[RejectedStudy] = field(default_factory=list)
    _ncs_pos: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _emg_pos: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _studies_pos: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._ncs_pos = _positions(self.bundle.ncs)
        self._emg_pos = _positions(self.bundle.emg)
        ids = self.bundle.studies["study_id"].astype(str).tolist()
        self._studies_pos = {sid: i for i, sid in enumerate(ids)}

    @property
    def study_ids(self) -> list[str]:
        """Study identifiers in table order."""
        return list(self._studies_pos)

    def has(self, study_id: str) -> bool:
        """Whether the dataset holds ``study_id``."""
        return study_id in self._studies_pos

    def study_row(self, study_id: str) -> pd.Series:
        """The study's row of the studies table."""
        return self.bundle.studies.iloc[self._studies_pos[study_id]]

    def ncs_of(self, study_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The study's NCS rows and their flags."""
        pos = self._ncs_pos.get(study_id, np.array([], dtype=int))
        return self.bundle.ncs.iloc[pos], self.ncs_flags.iloc[pos]

    def emg_of(self, study_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The study's EMG rows and their flags."""
        pos = self._emg_pos.get(study_id, np.array([], dtype=int))
        return self.bundle.emg.iloc[pos], self.emg_flags.iloc[pos]

    def problems_of(self, study_id: str) -> list[dict[str, Any]]:
        """Validation problems naming ``study_id``."""
        return [p for p in self.problems if p.get("study_id") == study_id]


def _positions(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """study_id -> integer row positions (one vectorised groupby)."""
    if frame.empty or "study_id" not in frame.columns:
        return {}
    return {
        str(k): np.asarray(v)
        for k, v in frame.groupby(frame["study_id"].astype(str), sort=False).indices.items()
    }


def build_dataset(
    key: str,
    name: str,
    loaded: LoadResult,
    predictor: PredictorLike | None,
    top_k: int,
) -> Dataset:
    """Flag abnormal values and predict the valid studies of a loaded upload once.

    Parameters
    ----------
    key, name : str
        Dataset key and display name.
    loaded : LoadResult
        The bundle and its validation (``loaded.bundle`` and ``loaded.report`` set).
    predictor : PredictorLike | None
        The loaded model; ``None`` lists the studies without predictions.
    top_k : int
        Contributions explained per study.
    """
    from features.limits import muap_limits, ncs_limits
    from features.limits_special import special_ncs_limits
    from models.service import predict_validated, rejected_studies

    bundle, report = loaded.bundle, loaded.report
    if bundle is None or report is None:
        raise ValueError("build_dataset needs a loaded bundle and its validation report")
    # an invalid bundle may repeat a study_id or leave one empty: limits need one row a study
    studies = bundle.studies.dropna(subset=["study_id"]).drop_duplicates("study_id")
    limits = pd.concat(
        [
            ncs_limits(bundle.ncs, studies).reset_index(drop=True),
            special_ncs_limits(bundle.ncs, studies).reset_index(drop=True),
        ],
        axis=1,
    )
    nflags = ncs_flags(bundle.ncs, limits)
    eflags = emg_flags(bundle.emg, muap_limits(bundle.emg, studies))
    predictions: dict[str, StudyPrediction] = {}
    rejected = rejected_studies(report)
    if predictor is not None:
        result = predict_validated(predictor, bundle, report, top_k=top_k)
        predictions = {p.study_id: p for p in result.predictions}
        rejected = result.rejected
    log.info(
        "dataset %s: %d studies, %d predicted, %d with errors",
        key,
        len(bundle.study_ids),
        len(predictions),
        len(loaded.invalid_ids),
    )
    return Dataset(
        key,
        name,
        bundle,
        loaded.problems,
        set(loaded.invalid_ids),
        predictions,
        nflags,
        eflags,
        rejected,
    )


class StudyStore:
    """The configured bundle plus the most recent uploads (thread-safe, in memory)."""

    def __init__(self, max_uploads: int) -> None:
        self.max_uploads = max_uploads
        self._datasets: OrderedDict[str, Dataset] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def next_upload_key(self) -> str:
        """A fresh key for an upload (``u1``, ``u2``, ...)."""
        with self._lock:
            self._counter += 1
            return f"u{self._counter}"

    def add(self, dataset: Dataset) -> None:
        """Add a dataset; drop the oldest upload beyond ``max_uploads``."""
        with self._lock:
            self._datasets[dataset.key] = dataset
            uploads = [k for k in self._datasets if k != "bundle"]
            for old in uploads[: max(0, len(uploads) - self.max_uploads)]:
                del self._datasets[old]

    def get(self, key: str) -> Dataset | None:
        """The dataset with ``key`` or ``None``."""
        with self._lock:
            return self._datasets.get(key)

    def datasets(self) -> list[Dataset]:
        """All datasets, uploads newest first, the configured bundle last."""
        with self._lock:
            items = list(self._datasets.values())
        uploads = [d for d in items if d.key != "bundle"][::-1]
        return uploads + [d for d in items if d.key == "bundle"]
