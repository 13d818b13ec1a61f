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

Which scores (``train.conformal.scores``):

* ``out_of_lab`` (the default): **leave-one-lab-out**. For each training lab, one booster is
  fitted as the model is (same parameters, augmentation, soft targets, weights) on the
  ``train`` studies of the *other* labs, early-stopped on their ``valid`` studies, and scores
  that lab's ``train`` and ``calib`` studies; the thresholds are the Mondrian quantiles of all
  those scores pooled (:func:`models.train.out_of_lab_scores`; cross-conformal by group, Vovk
  2015; labs as exchangeable groups, Dunn, Wasserman & Ramdas 2022 "Distribution-free
  prediction sets for two-layer hierarchical models"). Every score then comes from a lab its
  model never saw, as a new lab's studies do: the shift between labs is in the scores, and
  the (approximate: cross-conformal) guarantee is for a new lab drawn like the training labs,
  not for studies of the training labs (where the sets over-cover a little). The boosters
  are fitted on three labs of four, so their scores are a little worse than the model's:
  conservative. The model's own calibration is applied to them. Costs one booster per training lab in the train stage.
* ``calib``: the ``calib`` split scored by the model itself, the same studies that fit the
  calibration; exact only for studies exchangeable with the training labs' (measured on the
  held-out lab: ALS 0.84, axonal 0.85 at nominal 0.90, ``docs/confidence.md``).

Prior: thresholds are fitted once per stated prevalence (:data:`features.vocab.PRIORS`) on the
probabilities stated at that prevalence. A prevalence change (label shift) changes how often
each class occurs, not what its studies look like, so the class-conditional guarantee holds at
a general lab's class mix too (and the overall coverage, a mix of the per-class ones, is at
least ``1 - alpha`` at any mix).

A class with fewer than ``1/alpha - 1`` calibration studies gets threshold 1 (always in the
set): too few studies to exclude it at that level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

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
    scores : {"calib", "out_of_lab"}
        Where their nonconformity scores came from: ``calib`` (the calib split scored by the
        model) or ``out_of_lab`` (the training labs' studies, each scored by a booster fitted
        without its lab; ``train.conformal.scores``). Models saved before the field: ``calib``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(gt=0, lt=1)
    thresholds: dict[str, dict[str, float]]
    n_calib: dict[str, int]
    scores: Literal["calib", "out_of_lab"] = "calib"

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
    scores: Literal["calib", "out_of_lab"] = "calib",
    groups: np.ndarray | None = None,
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
    scores : {"calib", "out_of_lab"}
        Where the probabilities came from (stored as :attr:`ConformalSets.scores`).
    groups : ndarray, shape (n,), optional
        The lab of each study: each lab's thresholds are fitted on its studies alone and the
        largest per class is kept (``train.conformal.pool: worst_lab``); None: all pooled.
    """
    thresholds: dict[str, dict[str, float]] = {}
    counts = np.zeros(len(CLASSES), dtype=int)
    for prior in PRIORS:
        q, counts = class_thresholds(proba_by_prior[prior], y, alpha)
        if groups is not None:
            g = np.asarray(groups)
            per_lab = [
                class_thresholds(proba_by_prior[prior][g == lab], y[g == lab], alpha)[0]
                for lab in np.unique(g)
            ]
            q = np.max(np.stack(per_lab), axis=0)
        thresholds[prior] = dict(zip(CLASSES, q.tolist(), strict=True))
    return ConformalSets(
        alpha=alpha,
        thresholds=thresholds,
        n_calib=dict(zip(CLASSES, (int(n) for n in counts), strict=True)),
        scores=scores,
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
        ``per_class.<class>.{n, coverage, mean_set_size}`` (classes without studies: None).
    """
    y = np.asarray(y, dtype=int)
    covered = member[np.arange(len(y)), y]
    size = member.sum(axis=1)
    per_class: dict[str, dict[str, float | int | None]] = {}
    for k, c in enumerate(CLASSES):
        m = y == k
        per_class[c] = {
            "n": int(m.sum()),
            "coverage": round(float(covered[m].mean()), 4) if m.any() else None,
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
