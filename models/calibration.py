"""Temperature scaling of multiclass raw scores (Guo et al. 2017, "On calibration of modern NNs").

One scalar ``T > 0`` divides the raw log-odds before the softmax. It changes confidence, never the
ranking, so the predicted class and the additivity of the TreeSHAP explanation (in raw log-odds)
are untouched.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

#: search range of log(T): T in [0.05, 20]
_LOG_T_BOUNDS: tuple[float, float] = (np.log(0.05), np.log(20.0))


def calibrated_proba(raw_scores: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(raw_scores / temperature)`` (rows sum to 1).

    Parameters
    ----------
    raw_scores : ndarray, shape (n, K)
        Raw multiclass scores (``booster.predict(X, raw_score=True)``).
    temperature : float
        Positive temperature; 1 leaves the model's own probabilities.
    """
    if not temperature > 0:
        raise ValueError(
            f"Invalid value for the 'temperature' parameter: {temperature!r}. Expected > 0."
        )
    raw = np.asarray(raw_scores, dtype=float)
    if raw.ndim != 2:
        raise ValueError(f"raw_scores must be 2-D (n, K), got shape {raw.shape}")
    return softmax(raw / temperature, axis=1)


def nll(raw_scores: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``y`` under ``softmax(raw / T)``.

    ``y`` holds integer labels (n,) or soft targets (n, K) whose rows sum to 1 (then the mean
    cross-entropy, which equals the NLL for one-hot rows).
    """
    raw = np.asarray(raw_scores, dtype=float)
    logp = log_softmax(raw / temperature, axis=1)
    target = np.asarray(y)
    if target.ndim == 2:
        return float(-(target * logp).sum(axis=1).mean())
    labels = target.astype(int)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(raw_scores: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the NLL of held-out data (bounded 1-D search on log T).

    Parameters
    ----------
    raw_scores : ndarray, shape (n, K)
        Raw scores of held-out studies (the ``calib`` split), never training studies.
    y : ndarray, shape (n,) or (n, K)
        Integer class indices in ``features.vocab.CLASSES`` order, or soft targets
        (:func:`models.evidence.soft_targets`: studies whose defining evidence is missing).

    Returns
    -------
    float
        The fitted temperature (``> 1`` softens an over-confident model).
    """
    raw = np.asarray(raw_scores, dtype=float)
    target = np.asarray(y)
    if target.ndim == 2:  # soft targets (models.evidence.soft_targets)
        target = target.astype(float)
        if target.shape != raw.shape or len(target) == 0:
            raise ValueError(
                f"need matching non-empty raw_scores and soft targets, got {raw.shape} and {target.shape}"
            )
    else:
        target = target.astype(int)
        if raw.ndim != 2 or len(raw) != len(target) or len(target) == 0:
            raise ValueError(
                f"need matching non-empty raw_scores (n, K) and y (n,), got {raw.shape} and {target.shape}"
            )
        if target.min() < 0 or target.max() >= raw.shape[1]:
            raise ValueError(
                f"y must hold class indices 0..{raw.shape[1] - 1}, got {target.min()}..{target.max()}"
            )
    result = minimize_scalar(
        lambda log_t: nll(raw, target, float(np.exp(log_t))),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


def shift_prior(proba: np.ndarray, train_prior: np.ndarray, target_prior: np.ndarray) -> np.ndarray:
    """Re-express calibrated probabilities for another class prior (Bayes' rule).

    ``p'(c|x) ∝ p(c|x) · target(c) / train(c)``, renormalised per row: the likelihoods the
    model learnt are kept and only the prevalence changes — e.g. from the simulated training
    mix to the mix of a general EMG lab (clinical reference §7.5, about 80 % normal).

    Parameters
    ----------
    proba : ndarray, shape (n, K)
        Calibrated probabilities at the training prior.
    train_prior, target_prior : ndarray, shape (K,)
        Class shares (need not be normalised); ``train_prior`` must be positive.
    """
    train = np.asarray(train_prior, dtype=float)
    target = np.asarray(target_prior, dtype=float)
    if np.any(train <= 0):
        raise ValueError("train_prior must be positive for every class")
    weighted = np.asarray(proba, dtype=float) * (target / train)[None, :]
    return weighted / weighted.sum(axis=1, keepdims=True)
