"""The one prediction service: a validated bundle or study documents in, predictions and rejects out.

Every entry point (``emgdx predict``, ``POST /api/predict``, the upload page and the MLflow
pyfunc) goes through :func:`predict_validated` (or :func:`predict_documents`, which reads the
contract's JSON form first), so they share one partial-acceptance policy:

* every study the validation found valid, with a well-formed ``study_id``, is predicted
  (:func:`bundle.load.valid_subset`); a file-level error leaves none;
* every other study is listed in ``rejected`` with its problems (errors and warnings) and the
  errors that belong to no study; each error that belongs to no study (a row without
  ``study_id``, an unreadable document) is also listed on its own with ``study_id`` None, so
  no input goes unaccounted for (:func:`rejected_studies`);
* the warnings of the predicted studies travel beside the predictions.

Whether "nothing predicted" is an error (exit 1, HTTP 422) is the caller's to say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from bundle.limits import DEFAULT_LIMITS, ReadLimits
from bundle.load import valid_subset
from bundle.problems import Problem, ValidationReport
from bundle.tables import Bundle
from models.prediction import StudyPrediction

#: whole studies predicted per call of the model (bounds memory; one progress step each)
CHUNK_STUDIES = 500


class PredictsBundles(Protocol):
    """What the service needs of :class:`models.predictor.Predictor`."""

    def predict_bundle(self, bundle: Bundle, *, top_k: int = ...) -> list[StudyPrediction]: ...

    def feature_frame(self, bundle: Bundle) -> pd.DataFrame: ...

    def predict_features(self, X: pd.DataFrame, *, top_k: int = ...) -> list[StudyPrediction]: ...


@dataclass(frozen=True)
class RejectedStudy:
    """A study that was not predicted, with the problems that say why.

    Attributes
    ----------
    study_id : str or None
        The study; None for an error that belongs to no study (a row without identifier, an
        unreadable file or document).
    problems : list of Problem
        Its problems (errors and warnings), then the errors that belong to no study.
    """

    study_id: str | None
    problems: list[Problem]


@dataclass(frozen=True)
class PredictionResult:
    """What the service returns for one input.

    Attributes
    ----------
    predictions : list of StudyPrediction
        The valid studies, in the input's order.
    rejected : list of RejectedStudy
        The studies not predicted (sorted by ``study_id``), then the errors of no study.
    warnings : list of Problem
        Warnings of the predicted studies.
    errors : list of Problem
        Every error of the input (what a caller shows when nothing could be predicted).
    """

    predictions: list[StudyPrediction]
    rejected: list[RejectedStudy] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    @property
    def rejected_ids(self) -> list[str | None]:
        """``study_id`` of each rejected entry (None for an error of no study)."""
        return [r.study_id for r in self.rejected]


def rejected_studies(report: ValidationReport) -> list[RejectedStudy]:
    """Each invalid study with its problems, then each error that belongs to no study.

    Parameters
    ----------
    report : ValidationReport
        The validation of the input.

    Returns
    -------
    list of RejectedStudy
        Invalid studies sorted by ``study_id`` (their problems, then the errors of no study),
        then one entry with ``study_id`` None per error of no study.
    """
    by_study: dict[str, list[Problem]] = {s: [] for s in report.invalid_study_ids}
    general = [p for p in report.errors if p.study_id is None]
    for p in report.problems:
        if p.study_id in by_study:
            by_study[p.study_id].append(p)
    out = [RejectedStudy(sid, by_study[sid] + general) for sid in sorted(by_study, key=str)]
    out.extend(RejectedStudy(None, [p]) for p in general)
    return out


def predict_validated(
    predictor: PredictsBundles,
    bundle: Bundle,
    report: ValidationReport,
    *,
    top_k: int,
    chunk_studies: int = CHUNK_STUDIES,
    on_chunk: Callable[[int], None] | None = None,
) -> PredictionResult:
    """Predict the valid studies of a validated bundle; list the others with their problems.

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    bundle : Bundle
        The normalised tables as read (valid and invalid studies).
    report : ValidationReport
        Its validation.
    top_k : int
        Contributions per explanation.
    chunk_studies : int
        Whole studies per model call (bounds memory).
    on_chunk : callable, optional
        Called with the number of studies of each chunk once it is predicted (progress).
    """
    valid = valid_subset(bundle, report)
    ids = valid.study_ids
    predictions: list[StudyPrediction] = []
    for start in range(0, len(ids), chunk_studies):
        part = ids[start : start + chunk_studies]
        chunk = valid if len(part) == len(ids) else valid.subset(part)
        predictions.extend(predictor.predict_bundle(chunk, top_k=top_k))
        if on_chunk is not None:
            on_chunk(len(part))
    predicted = set(ids)
    warnings = [p for p in report.warnings if p.study_id in predicted]
    return PredictionResult(predictions, rejected_studies(report), warnings, report.errors)


def predict_many(
    predictor: PredictsBundles,
    inputs: Sequence[tuple[Bundle, ValidationReport]],
    *,
    top_k: int,
) -> list[PredictionResult]:
    """:func:`predict_validated` of several small inputs with one model call (a micro-batch).

    Each input keeps its own policy, rejects and warnings; their valid studies are featurised
    input by input (a study_id may recur across inputs), then predicted together, which costs
    a fraction of one call per input (the server batches concurrent requests this way).

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    inputs : sequence of (Bundle, ValidationReport)
        Each input's tables and validation.
    top_k : int
        Contributions per explanation.

    Returns
    -------
    list of PredictionResult
        One per input, in order; the same as :func:`predict_validated` of each.
    """
    valid = [valid_subset(bundle, report) for bundle, report in inputs]
    by_input: list[list[StudyPrediction]] = [[] for _ in inputs]
    members = [i for i, v in enumerate(valid) if v.study_ids]
    if members:
        # one feature table and one model call: batch-local labels keep recurring study_ids
        # of different inputs apart; each prediction gets its own study_id back
        merged = _merged([valid[i] for i in members])
        for p in predictor.predict_bundle(merged, top_k=top_k):
            k, _, study_id = p.study_id.partition(_SEP)
            by_input[members[int(k)]].append(replace(p, study_id=study_id))
    out: list[PredictionResult] = []
    for v, (_, report), predictions in zip(valid, inputs, by_input, strict=True):
        predicted = set(v.study_ids)
        warnings = [p for p in report.warnings if p.study_id in predicted]
        out.append(PredictionResult(predictions, rejected_studies(report), warnings, report.errors))
    return out


#: between an input's position and its study_id in a micro-batch's labels
_SEP = "|"


def _merged(bundles: Sequence[Bundle]) -> Bundle:
    """Validated bundles as one, each study_id prefixed with its bundle's position."""
    tables = []
    for name in ("studies", "ncs", "emg"):
        frames = [getattr(b, name) for b in bundles]
        merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        keys = np.repeat(np.arange(len(frames)), [len(f) for f in frames]).tolist()
        ids = merged["study_id"].tolist()
        tables.append(
            merged.assign(study_id=[f"{k}{_SEP}{s}" for k, s in zip(keys, ids, strict=True)])
        )
    return Bundle(*tables)


def predict_documents(
    predictor: PredictsBundles,
    documents: Any,
    *,
    top_k: int,
    source: str = "request.json",
    limits: ReadLimits = DEFAULT_LIMITS,
) -> PredictionResult:
    """Read study documents in the contract's JSON form, then :func:`predict_validated`.

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    documents : dict or list of dict
        One parsed study document or a list of them.
    top_k : int
        Contributions per explanation.
    source : str
        Name of the input in the problems (never a client's file name in logs).
    limits : ReadLimits
        Size limits of the reader.
    """
    from bundle.json_form import load_study_json

    bundle, report = load_study_json(documents, source=source, limits=limits)
    return predict_validated(predictor, bundle, report, top_k=top_k)
