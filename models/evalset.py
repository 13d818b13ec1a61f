"""The fixed, versioned evaluation set the champion rule scores every model on.

``evalsets/<version>/`` holds a study bundle written once (``emgdx evalset``, a fixed seed;
``pipelines/evalset.py``) and committed, plus ``evalset.json``: its version, how it was made
and the SHA-256 of every file. :func:`load_evalset` refuses a set whose files changed, so a
champion and a challenger scored at different times are scored on the same studies. The
studies of the held-out lab (``holdout_site``) are scored apart, as on the training side.

:func:`score_model` gives the :class:`models.champion.Scores` of one model: macro-F1 against
the true disease on the set's studies of the training labs, on those of the held-out lab, and
the clinical vignettes met (:mod:`models.clinical`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.champion import Scores
from models.errors import ReportedError, validation_lines

MANIFEST = "evalset.json"
BUNDLE_FILES = ("studies.parquet", "ncs.parquet", "emg.parquet")


class EvalSetError(ReportedError, ValueError):
    """An evaluation set that is missing, incomplete or changed since it was written."""


class EvalSetManifest(BaseModel):
    """``evalset.json``: what the set is and how it was made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    n_studies: int = Field(ge=1)
    seed: int
    holdout_site: str | None
    command: str
    simulate: dict[str, Any]
    sha256: dict[str, str]


@dataclass(frozen=True)
class EvalSet:
    """A loaded evaluation set: its manifest, its digest and its (validated) bundle."""

    manifest: EvalSetManifest
    digest: str
    bundle: Bundle

    @property
    def version(self) -> str:
        """The set's version (``v1``)."""
        return self.manifest.version

    @property
    def label(self) -> str:
        """``v1@<first 12 hex of the digest>``: the version and the exact files scored."""
        return f"{self.manifest.version}@{self.digest[:12]}"


def file_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of each bundle file of ``folder``."""
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in BUNDLE_FILES
        if (folder / name).is_file()
    }


def set_digest(sha256: Mapping[str, str]) -> str:
    """One SHA-256 over the per-file digests (sorted by file name)."""
    text = "\n".join(f"{k} {sha256[k]}" for k in sorted(sha256))
    return hashlib.sha256(text.encode()).hexdigest()


def load_evalset(folder: str | Path) -> EvalSet:
    """Read an evaluation set and check its files are the ones its manifest lists.

    Raises
    ------
    EvalSetError
        No manifest, an invalid manifest, a missing file, a file whose SHA-256 differs from
        the manifest's, or a study that fails validation.
    """
    from bundle.load import load_bundle

    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise EvalSetError(
            f"{path}: no such file; write the set with `emgdx evalset --out {folder}` "
            "(docs/champion.md)"
        )
    try:
        manifest = EvalSetManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise EvalSetError(f"{path}: not valid JSON") from exc
    except ValidationError as exc:
        raise EvalSetError("\n".join(validation_lines(path, exc))) from exc
    found = file_digests(folder)
    for name in BUNDLE_FILES:
        if name not in found:
            raise EvalSetError(f"{folder / name}: missing from evaluation set {manifest.version}")
        if manifest.sha256.get(name) != found[name]:
            raise EvalSetError(
                f"{folder / name}: changed since evaluation set {manifest.version} was written "
                "(SHA-256 differs from evalset.json); a new set needs a new version"
            )
    bundle, report = load_bundle(folder)
    if not report.ok:
        raise EvalSetError(
            f"{folder}: {len(report.invalid_study_ids)} studies of evaluation set "
            f"{manifest.version} fail validation (run `emgdx validate {folder}`)"
        )
    return EvalSet(manifest=manifest, digest=set_digest(found), bundle=bundle)


def _macro_f1(y: np.ndarray, proba: np.ndarray) -> float | None:
    from sklearn.metrics import f1_score

    if len(y) == 0:
        return None
    codes = np.array([CLASSES.index(c) for c in y])
    return float(
        f1_score(codes, proba.argmax(axis=1), average="macro", labels=list(range(len(CLASSES))))
    )


def score_model(
    predictor: Any,
    evalset: EvalSet,
    *,
    features: pd.DataFrame | None = None,
    vignettes: tuple[Bundle, Mapping[str, Any]] | None = None,
) -> Scores:
    """The champion rule's scores of one model on the evaluation set (and the vignettes).

    Parameters
    ----------
    predictor : models.predictor.Predictor
        The model (its product probabilities: calibration, ALS cap; no prior shift).
    evalset : EvalSet
        The set to score on.
    features : DataFrame, optional
        ``predictor.feature_frame(evalset.bundle)`` when already computed (the same for
        every model of one feature code).
    vignettes : (Bundle, dict), optional
        The clinical vignettes and their expectations (:mod:`models.clinical`); without them
        ``vignettes_passed`` is None.

    Returns
    -------
    Scores
        ``metric``: macro-F1 against the true disease on the studies of the training labs;
        ``heldout``: the same on the held-out lab (None when the set has none);
        ``vignettes_passed``: vignettes meeting their expectations.
    """
    from models.clinical import grade_all
    from models.predictor import predict_proba_frame

    studies = evalset.bundle.studies.set_index(evalset.bundle.studies["study_id"].astype(str))
    X = features if features is not None else predictor.feature_frame(evalset.bundle)
    proba = predict_proba_frame(predictor, X).to_numpy()
    y = studies["diagnosis"].reindex(X.index.astype(str)).to_numpy(dtype=object)
    site = studies["site_id"].reindex(X.index.astype(str)).to_numpy(dtype=object)
    held = site == evalset.manifest.holdout_site
    metric = _macro_f1(y[~held], proba[~held])
    if metric is None:
        raise EvalSetError(f"evaluation set {evalset.version} has no study of a training lab")
    passed = None
    if vignettes is not None:
        bundle, expectations = vignettes
        results = grade_all(predictor.predict_bundle(bundle), dict(expectations))
        passed = sum(r.passed for r in results)
    return Scores(metric=metric, heldout=_macro_f1(y[held], proba[held]), vignettes_passed=passed)
