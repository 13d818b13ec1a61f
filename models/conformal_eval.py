"""Scoring the prediction sets: coverage and set size per class, and the risk-coverage curve.

:func:`conformal_metrics` scores the sets of a saved model (:mod:`models.conformal`) on the
held-out splits, at the training mix and at a general lab's (:func:`general_lab_mix`);
:func:`risk_coverage` is the selective-accuracy curve of the top-1 probability. The evaluate
stage (:mod:`pipelines.evaluate`) writes them into ``reports/metrics_detail.json`` (section
``conformal``) and draws :func:`models.plots.plot_risk_coverage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.vocab import CLASSES, GENERAL_LAB_PRIOR
from models.conformal import ConformalSets, coverage_table, set_membership

#: shares of studies answered at which the risk-coverage table gives the selective accuracy
ANSWERED_SHARES: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class RiskCoverage:
    """Selective accuracy when only the most confident studies are answered.

    Attributes
    ----------
    answered : ndarray, shape (n,)
        Share of studies answered, ``1/n .. 1``, studies taken by decreasing top-1 probability.
    accuracy : ndarray, shape (n,)
        Accuracy of the top-1 class on the answered studies.
    singleton_share, singleton_accuracy : float
        Share of studies whose prediction set is one class, and the accuracy on them (the
        point "answer only when the set is one class"); NaN without sets.
    """

    answered: np.ndarray
    accuracy: np.ndarray
    singleton_share: float
    singleton_accuracy: float

    def at(self, share: float) -> float:
        """Selective accuracy when the share ``share`` of studies is answered."""
        k = max(int(np.ceil(share * len(self.answered))) - 1, 0)
        return float(self.accuracy[k])


def risk_coverage(proba: np.ndarray, y: np.ndarray, member: np.ndarray | None) -> RiskCoverage:
    """The risk-coverage curve of the top-1 probability (ties broken by study order).

    Parameters
    ----------
    proba : ndarray, shape (n, K)
        The product's probabilities.
    y : ndarray of int, shape (n,)
        True class indices.
    member : ndarray of bool, shape (n, K), or None
        The prediction sets (:func:`models.conformal.set_membership`), for the singleton point.
    """
    y = np.asarray(y, dtype=int)
    correct = proba.argmax(axis=1) == y
    order = np.argsort(-proba.max(axis=1), kind="stable")
    n = len(y)
    answered = np.arange(1, n + 1) / max(n, 1)
    accuracy = np.cumsum(correct[order]) / np.arange(1, n + 1)
    if member is None or n == 0:
        return RiskCoverage(answered, accuracy, float("nan"), float("nan"))
    single = member.sum(axis=1) == 1
    return RiskCoverage(
        answered,
        accuracy,
        float(single.mean()),
        float(correct[single].mean()) if single.any() else float("nan"),
    )


def general_lab_mix(per_class: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """Overall coverage and mean set size at a general lab's class mix (exact, no resampling).

    Both are the per-class figures weighted by :data:`features.vocab.GENERAL_LAB_PRIOR`
    (clinical reference §7.5) over the classes that have studies: what a lab with that mix
    and these studies' class-wise behaviour would see.
    """
    present = [c for c in CLASSES if per_class[c]["coverage"] is not None]
    if not present:
        return {"coverage": None, "mean_set_size": None}
    w = np.array([GENERAL_LAB_PRIOR[c] for c in present])
    w = w / w.sum()
    return {
        key: round(float(sum(wk * per_class[c][key] for wk, c in zip(w, present, strict=True))), 4)
        for key in ("coverage", "mean_set_size")
    }


def conformal_metrics(
    conformal: ConformalSets,
    proba_by_prior: Mapping[str, np.ndarray],
    y: np.ndarray,
) -> dict[str, Any]:
    """Coverage and set size of one split's studies, at the training and general-lab priors.

    Parameters
    ----------
    conformal : ConformalSets
        The model's thresholds.
    proba_by_prior : mapping of str to ndarray, shape (n, K)
        The product's probabilities of the studies stated at ``"training"`` and
        ``"general_lab"``.
    y : ndarray of int, shape (n,)
        True class indices.

    Returns
    -------
    dict
        ``training``: :func:`models.conformal.coverage_table` with the sets as the page shows
        them at the training prior, plus the risk-coverage points; ``general_lab``: the same
        with the general-lab probabilities and thresholds, plus ``at_general_lab_mix`` (the
        overall coverage and set size weighted to that lab's class mix).
    """
    out: dict[str, Any] = {}
    for prior in ("training", "general_lab"):
        proba = proba_by_prior[prior]
        member = set_membership(proba, conformal.threshold_vector(prior))
        table = coverage_table(member, y)
        curve = risk_coverage(proba, y, member)
        table["selective_accuracy"] = {f"{s:g}": round(curve.at(s), 4) for s in ANSWERED_SHARES}
        table["singleton_accuracy"] = (
            None if np.isnan(curve.singleton_accuracy) else round(curve.singleton_accuracy, 4)
        )
        if prior == "general_lab":
            table["at_general_lab_mix"] = general_lab_mix(table["per_class"])
        out[prior] = table
    return out
