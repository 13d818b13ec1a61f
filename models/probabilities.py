"""From raw scores to the product's probabilities, ranking and pattern (pure array functions).

The steps :class:`models.predictor.Predictor` applies to every batch, each on arrays:
calibration (:class:`models.calibration.Calibration`), the optional restatement for another
class prevalence (:func:`models.calibration.shift_prior`), the ALS evidence cap
(:func:`models.evidence.cap_unassessable_als`), the ranking of the classes and the
neurogenic / myopathic / normal pattern sums. See ``docs/confidence.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.vocab import PATTERN_OF, PATTERNS
from models.calibration import Calibration, shift_prior
from models.evidence import ALS_UNASSESSABLE_MAX_P, cap_unassessable_als


@dataclass(frozen=True)
class PriorShift:
    """Class shares to restate calibrated probabilities from (``train``) and for (``target``).

    Both have shape (K,) in the model's class order; ``train`` is positive.
    """

    train: np.ndarray
    target: np.ndarray


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
    """Probability of each pattern (columns in :data:`features.vocab.PATTERNS` order), (n, 3)."""
    member = np.array([[PATTERN_OF[c] == p for p in PATTERNS] for c in classes], dtype=float)
    return proba @ member
