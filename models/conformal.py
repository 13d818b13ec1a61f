"""Class-conditional (Mondrian) conformal prediction sets on the product's probabilities.

The nonconformity score of a study for class *k* is the hinge ``1 - p_k`` on the calibrated
probabilities the headline shows (calibration, prior, ALS evidence cap:
:func:`models.probabilities.product_probabilities`). Per class, the calibration studies *of
that class* (Mondrian by the true diagnosis, :class:`crepes.ConformalClassifier` with
``bins``) give a threshold ``q_k``; the prediction set of a study is every class with
``1 - p_k <= q_k``, listed in probability order. On studies exchangeable with the calibration
studies, each class's set holds the true diagnosis with probability at least ``1 - alpha``
(Vovk et al. 2005, *Algorithmic learning in a random world*, Mondrian conformal prediction;
crepes' non-smoothed p-values).

The labels are the studies' true (simulated) diagnoses, not the evidence-aware soft targets
of :mod:`models.evidence`: the guarantee is about the diagnosis, as the headline is.

Which split: the ``calib`` split, the same studies that fit the calibration (one temperature,
or the normal head's two Platt coefficients and one temperature). Reusing them rather than
halving ``calib`` keeps about twice as many studies per class for the thresholds (the
smallest classes have about 200 calibration studies; half would widen the per-class coverage
spread by about 40 %), at the price of the few calibration parameters having seen the same
studies (``docs/confidence.md`` gives the measured difference).

Prior: thresholds are fitted once per stated prevalence (:data:`features.vocab.PRIORS`) on the
probabilities stated at that prevalence. A prevalence change (label shift) changes how often
each class occurs, not what its studies look like, so the class-conditional guarantee holds at
a general lab's class mix too (and the overall coverage, a mix of the per-class ones, is at
least ``1 - alpha`` at any mix).

A class with fewer than ``1/alpha - 1`` calibration studies gets threshold 1 (always in the
set): too few studies to exclude it at that level.

Partial reports: the ``calib`` studies are whole simulated work-ups, but a lab's reports are
often thinned (a few muscles, NCS "normal" without numbers, another lab's protocol), and a
thinned study has flatter probabilities, so thresholds fitted on whole studies under-cover it
(the held-out lab, whose reports are more partial, was covered 5 points below nominal for its
worst class). :func:`fit_conformal` therefore also takes *copies* of the calibration studies
thinned and given other protocols the way training copies are
(:func:`models.train.augmented_features`), and per class keeps the larger of the two
thresholds: the set then covers at the nominal level both the whole studies and the partial
reports (each is a valid conformal threshold for its own population; the larger covers both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.vocab import CLASSES, PRIORS

#: the largest hinge score: a threshold of 1 admits a class whatever its probability
ALWAYS = 1.0


class ConformalSets(BaseModel):
    """The fitted prediction-set thresholds (stored in ``model.json`` as ``conformal``).

    Attributes
    ----------
    alpha : float
        Miscoverage per class (``train.conformal.alpha``); nominal coverage ``1 - alpha``.
    thresholds : dict of str to dict of str to float
        Per stated prior (:data:`features.vocab.PRIORS`), per class: the largest score
        ``1 - p_class`` admitted into the set (in [0, 1]).
    n_calib : dict of str to int
        Calibration studies per class the thresholds were fitted on.
    n_calib_copies : dict of str to int
        Thinned copies of those studies per class (partial reports, :func:`fit_conformal`);
        empty when the thresholds come from the whole studies alone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(gt=0, lt=1)
    thresholds: dict[str, dict[str, float]]
    n_calib: dict[str, int]
    n_calib_copies: dict[str, int] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _one_per_prior_and_class(
        cls, value: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        if set(value) != set(PRIORS):
            raise ValueError(f"expected one threshold table per prior {list(PRIORS)}")
        for prior, table in value.items():
            if set(table) != set(CLASSES):
                raise ValueError(f"thresholds.{prior}: expected one threshold per class")
            bad = [c for c, q in table.items() if not 0.0 <= q <= ALWAYS]
            if bad:
                raise ValueError(f"thresholds.{prior}.{bad[0]}: expected a score in [0, 1]")
        return value

    @model_validator(mode="after")
    def _counts(self) -> ConformalSets:
        if set(self.n_calib) != set(CLASSES) or min(self.n_calib.values()) < 0:
            raise ValueError("n_calib: expected a non-negative count per class")
        copies = self.n_calib_copies
        if copies and (set(copies) != set(CLASSES) or min(copies.values()) < 0):
            raise ValueError("n_calib_copies: expected a non-negative count per class")
        return self

    @property
    def coverage(self) -> float:
        """Nominal coverage per class, ``1 - alpha``."""
        return round(1.0 - self.alpha, 6)

    def threshold_vector(self, prior: str, classes: Sequence[str] = CLASSES) -> np.ndarray:
        """Thresholds (K,) of ``prior`` in the order of ``classes``."""
        table = self.thresholds[prior]
        return np.array([table[c] for c in classes], dtype=float)


def class_thresholds(
    proba: np.ndarray, y: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class conformal thresholds of the hinge score from calibration studies.

    Parameters
    ----------
    proba : ndarray, shape (n, K)
        Probabilities of the calibration studies (rows sum to 1).
    y : ndarray of int, shape (n,)
        Their true class indices (0..K-1).
    alpha : float
        Miscoverage per class, in (0, 1).

    Returns
    -------
    thresholds : ndarray, shape (K,)
        Per class, the largest score ``1 - p`` crepes' Mondrian conformal classifier (non-smoothed
        p-values, ``p >= alpha``) admits; :data:`ALWAYS` when no score can be excluded.
    counts : ndarray of int, shape (K,)
        Calibration studies per class.
    """
    from crepes import ConformalClassifier
    from crepes.extras import hinge

    proba = np.asarray(proba, dtype=float)
    y = np.asarray(y, dtype=int)
    n_classes = proba.shape[1]
    if len(y) != len(proba):
        raise ValueError(f"proba has {len(proba)} rows but y has {len(y)} labels")
    scores = hinge(proba, np.arange(n_classes), y)
    cc = ConformalClassifier().fit(scores, bins=y)
    thresholds = np.full(n_classes, ALWAYS)
    counts = np.bincount(y, minlength=n_classes)
    for k in range(n_classes):
        if counts[k] == 0 or 1.0 / (counts[k] + 1) >= alpha:
            continue  # every score has p >= alpha: the class is always in the set
        own = np.unique(scores[y == k])
        p_values = cc.predict_p(own, bins=np.full(len(own), k), smoothing=False)
        thresholds[k] = float(own[p_values >= alpha].max())
    return thresholds, counts


def fit_conformal(
    proba_by_prior: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    alpha: float,
    copies: tuple[Mapping[str, np.ndarray], np.ndarray] | None = None,
) -> ConformalSets:
    """Thresholds for every stated prior from the calibration studies' probabilities.

    Parameters
    ----------
    proba_by_prior : mapping of str to ndarray, shape (n, K)
        Per prior of :data:`features.vocab.PRIORS`, the product's probabilities of the same
        calibration studies stated at that prior (columns in :data:`features.vocab.CLASSES`).
    y : ndarray of int, shape (n,)
        True class indices of those studies.
    alpha : float
        Miscoverage per class.
    copies : (mapping of str to ndarray, ndarray of int), optional
        Probabilities per prior and true classes of thinned copies of the calibration studies
        (partial reports). Per class, the threshold is the larger of the whole studies' and the
        copies' (a class with too few copies for the level keeps the whole studies' own).
    """
    thresholds: dict[str, dict[str, float]] = {}
    counts = np.zeros(len(CLASSES), dtype=int)
    n_copies = np.zeros(len(CLASSES), dtype=int)
    for prior in PRIORS:
        q, counts = class_thresholds(proba_by_prior[prior], y, alpha)
        if copies is not None and len(copies[1]):
            q_copy, n_copies = class_thresholds(copies[0][prior], copies[1], alpha)
            enough = 1.0 / (n_copies + 1) < alpha
            q = np.where(enough, np.maximum(q, q_copy), q)
        thresholds[prior] = dict(zip(CLASSES, q.tolist(), strict=True))
    return ConformalSets(
        alpha=alpha,
        thresholds=thresholds,
        n_calib=dict(zip(CLASSES, (int(n) for n in counts), strict=True)),
        n_calib_copies=(
            dict(zip(CLASSES, (int(n) for n in n_copies), strict=True))
            if copies is not None and len(copies[1])
            else {}
        ),
    )


def set_membership(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Boolean (n, K): class *k* is in study *i*'s set when ``1 - proba[i, k] <= thresholds[k]``."""
    return (1.0 - np.asarray(proba, dtype=float)) <= np.asarray(thresholds, dtype=float)[None, :]


def prediction_sets(
    proba: np.ndarray, conformal: ConformalSets, prior: str, classes: Sequence[str]
) -> list[list[str]]:
    """Each study's prediction set: its classes in decreasing probability (ties: class order).

    ``proba`` (n, K) must be the probabilities stated at ``prior`` (columns ``classes``). A
    set may be empty (no class fits its calibration studies at the level) or hold every class.
    """
    member = set_membership(proba, conformal.threshold_vector(prior, classes))
    order = np.argsort(-np.asarray(proba), axis=1, kind="stable")
    names = list(classes)
    return [[names[k] for k in row if member[i, k]] for i, row in enumerate(order)]


def coverage_interval(covered: int, n: int) -> dict[str, float] | None:
    """Wilson 95 % interval of a coverage ``covered / n`` (None without studies).

    A class of about 200 studies has a standard error of about 2 points at 90 % coverage, so a
    per-class coverage is read with its interval (:func:`scipy.stats.binomtest`).
    """
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(int(covered), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return {"low": round(float(ci.low), 4), "high": round(float(ci.high), 4)}


def coverage_table(member: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Coverage and set size per true class and overall, for evaluation.

    Parameters
    ----------
    member : ndarray of bool, shape (n, K)
        :func:`set_membership` of the studies.
    y : ndarray of int, shape (n,)
        Their true class indices.

    Returns
    -------
    dict
        ``n, coverage, mean_set_size, share_empty, share_singleton, min_class_coverage,
        max_class_coverage`` and
        ``per_class.<class>.{n, coverage, coverage_ci95, mean_set_size}`` (classes without
        studies: None; ``coverage_ci95`` is the Wilson interval, :func:`coverage_interval`).
    """
    y = np.asarray(y, dtype=int)
    covered = member[np.arange(len(y)), y]
    size = member.sum(axis=1)
    per_class: dict[str, dict[str, Any]] = {}
    for k, c in enumerate(CLASSES):
        m = y == k
        per_class[c] = {
            "n": int(m.sum()),
            "coverage": round(float(covered[m].mean()), 4) if m.any() else None,
            "coverage_ci95": coverage_interval(int(covered[m].sum()), int(m.sum())),
            "mean_set_size": round(float(size[m].mean()), 4) if m.any() else None,
        }
    present = [v["coverage"] for v in per_class.values() if v["coverage"] is not None]
    return {
        "n": int(len(y)),
        "coverage": round(float(covered.mean()), 4) if len(y) else None,
        "mean_set_size": round(float(size.mean()), 4) if len(y) else None,
        "share_empty": round(float((size == 0).mean()), 4) if len(y) else None,
        "share_singleton": round(float((size == 1).mean()), 4) if len(y) else None,
        "min_class_coverage": min(present) if present else None,
        "max_class_coverage": max(present) if present else None,
        "per_class": per_class,
    }
