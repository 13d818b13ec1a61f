"""From raw scores to the product's probabilities, ranking and pattern (pure array functions).

The steps :class:`models.predictor.Predictor` applies to every batch, each on arrays:
calibration (:class:`models.calibration.Calibration`), the optional restatement for another
class prevalence (:func:`models.calibration.shift_prior`), the ALS evidence cap
(:func:`models.evidence.cap_unassessable_als`), the ranking of the classes and the
neurogenic / myopathic / normal pattern sums. See ``docs/confidence.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from features.vocab import GENERAL_LAB_PRIOR, PATTERN_OF, PATTERNS, PRIORS, check_option
from models.calibration import Calibration, shift_prior
from models.evidence import ALS_UNASSESSABLE_MAX_P, cap_unassessable_als


@dataclass(frozen=True)
class PriorShift:
    """Class shares to restate calibrated probabilities from (``train``) and for (``target``).

    Both have shape (K,) in the model's class order; ``train`` is positive.
    """

    train: np.ndarray
    target: np.ndarray


def prior_shift(
    prior: str, train_prior: Mapping[str, float], classes: Sequence[str]
) -> PriorShift | None:
    """The :class:`PriorShift` that states probabilities at ``prior`` (None for ``training``).

    Parameters
    ----------
    prior : {"training", "general_lab"}
        The prevalence to state the probabilities for (:data:`features.vocab.PRIORS`).
    train_prior : mapping of str to float
        Class shares of the training studies (``model.json: train_prior``); a share of 0 is
        read as 1e-6 (Bayes' rule divides by it).
    classes : sequence of str
        The model's class order.
    """
    if check_option("prior", prior, PRIORS) == "training":
        return None
    train = np.array([max(float(train_prior[c]), 1e-6) for c in classes])
    target = np.array([GENERAL_LAB_PRIOR[c] for c in classes], dtype=float)
    return PriorShift(train=train, target=target)


def product_probabilities(
    raw: np.ndarray,
    calibration: Calibration,
    *,
    prior: PriorShift | None,
    als_index: int,
    als_assessable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities at the stated prior, with the ALS evidence cap.

    Parameters
    ----------
    raw : ndarray, shape (n, K)
        Raw scores (log-odds) of the booster.
    calibration : Calibration
        The model's calibration.
    prior : PriorShift or None
        Restate for another class prevalence (None: the training mix, as calibrated).
    als_index : int
        Column of ALS.
    als_assessable : ndarray of bool, shape (n,)
        Whether the study shows LMN signs in two regions (ALS can be established).

    Returns
    -------
    proba : ndarray, shape (n, K)
        Rows summing to 1.
    capped : ndarray of bool, shape (n,)
        Rows whose ALS probability the cap lowered.
    """
    proba = calibration.apply(raw)
    if prior is not None:
        proba = shift_prior(proba, prior.train, prior.target)
    capped = ~als_assessable & (proba[:, als_index] > ALS_UNASSESSABLE_MAX_P)
    return cap_unassessable_als(proba, als_assessable, als_index), capped


def ranking(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the most probable class and of the runner-up per row (ties: lower column)."""
    order = np.argsort(-proba, axis=1, kind="stable")
    return order[:, 0], order[:, 1]


def pattern_probabilities(proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Probability of each pattern (columns in :data:`features.vocab.PATTERNS` order), (n, 3).

    Row sums, not a matrix product: BLAS may round a batch and a single row differently in the
    last bit, and a micro-batch must equal one call per input (tests/models/test_service.py).
    """
    member = np.array([[PATTERN_OF[c] == p for p in PATTERNS] for c in classes], dtype=bool)
    p = np.asarray(proba, dtype=float)
    return np.stack([p[:, m].sum(axis=1) for m in member.T], axis=1)
