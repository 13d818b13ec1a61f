"""Calibration of raw scores into probabilities.

Two forms, chosen by the model kind and written to ``model.json`` (:class:`Calibration`):

* **temperature** (multiclass booster): one scalar ``T > 0`` divides the raw log-odds before the
  softmax (Guo et al. 2017, "On calibration of modern neural networks"). It changes confidence,
  never the ranking.
* **gated** (one-vs-rest heads, :mod:`models.ovr`): P(normal) comes from the normal head alone,
  ``sigmoid(a·z_normal + b)`` with ``a > 0`` (Platt scaling of that head), and the diseases
  share the rest by a tempered softmax of their own heads. A finding that never raises the
  normal head (its monotone constraints) then never raises P(normal), whatever it does to the
  disease heads (clinical/invariants.md MR7: worse is never more normal); the plain softmax
  would let P(normal) rise when a disease head falls further than the normal head.

Either way the TreeSHAP explanation of a head (in its raw log-odds) stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_expit, log_softmax, softmax

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


@dataclass(frozen=True)
class Calibration:
    """How raw scores (n, K) become probabilities; see the module docstring.

    ``normal_gate`` is ``(slope, offset)`` of the normal head's Platt scaling (gated form) or
    ``None`` (temperature form); ``temperature`` is the softmax temperature (of the disease
    heads only, in the gated form).
    """

    temperature: float
    normal_gate: tuple[float, float] | None = None
    normal_index: int = 0

    def apply(self, raw_scores: np.ndarray) -> np.ndarray:
        """Probabilities (n, K), rows summing to 1."""
        if self.normal_gate is None:
            return calibrated_proba(raw_scores, self.temperature)
        return gated_proba(raw_scores, self.normal_gate, self.temperature, self.normal_index)

    def to_meta(self) -> dict[str, Any]:
        """The ``calibration`` entry of ``model.json``."""
        if self.normal_gate is None:
            return {"method": "temperature", "temperature": self.temperature}
        return {
            "method": "gated",
            "temperature": self.temperature,
            "normal_slope": self.normal_gate[0],
            "normal_offset": self.normal_gate[1],
            "normal_index": self.normal_index,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Calibration:
        """Read the ``calibration`` entry of ``model.json`` (an unknown method is an error)."""
        method = meta.get("method")
        if method == "temperature":
            return cls(float(meta["temperature"]))
        if method == "gated":
            return cls(
                float(meta["temperature"]),
                (float(meta["normal_slope"]), float(meta["normal_offset"])),
                int(meta["normal_index"]),
            )
        raise ValueError(
            f"model.json calibration.method is {method!r}; expected 'temperature' or 'gated'"
        )


def _disease_mask(k: int, normal_index: int) -> np.ndarray:
    keep = np.ones(k, dtype=bool)
    keep[normal_index] = False
    return keep


def gated_proba(
    raw_scores: np.ndarray, gate: tuple[float, float], temperature: float, normal_index: int
) -> np.ndarray:
    """``p_normal = sigmoid(a·z_normal + b)``; diseases ``(1 − p_normal) · softmax(z_d / T)``."""
    slope, offset = gate
    if not (slope > 0 and temperature > 0):
        raise ValueError(
            f"gated calibration needs slope > 0 and T > 0, got {slope!r}, {temperature!r}"
        )
    raw = np.asarray(raw_scores, dtype=float)
    if raw.ndim != 2:
        raise ValueError(f"raw_scores must be 2-D (n, K), got shape {raw.shape}")
    d = _disease_mask(raw.shape[1], normal_index)
    p_normal = expit(slope * raw[:, normal_index] + offset)
    out = np.empty_like(raw)
    out[:, normal_index] = p_normal
    out[:, d] = (1.0 - p_normal)[:, None] * softmax(raw[:, d] / temperature, axis=1)
    return out


def _gated_nll(params: np.ndarray, raw: np.ndarray, target: np.ndarray, normal_index: int) -> float:
    slope, offset, temperature = (
        float(np.exp(params[0])),
        float(params[1]),
        float(np.exp(params[2])),
    )
    d = _disease_mask(raw.shape[1], normal_index)
    z = slope * raw[:, normal_index] + offset
    log_p = np.empty_like(raw)
    log_p[:, normal_index] = log_expit(z)
    log_p[:, d] = log_expit(-z)[:, None] + log_softmax(raw[:, d] / temperature, axis=1)
    return float(-(target * log_p).sum(axis=1).mean())


def fit_calibration(
    raw_scores: np.ndarray, y: np.ndarray, *, gated: bool, normal_index: int = 0
) -> Calibration:
    """Fit the calibration on held-out studies (``calib`` split): temperature or gated form.

    ``y`` holds class indices (n,) or soft targets (n, K), as for :func:`fit_temperature`; the
    gated form minimises the same cross-entropy over (log a, b, log T).
    """
    temperature = fit_temperature(raw_scores, y)
    if not gated:
        return Calibration(temperature)
    raw = np.asarray(raw_scores, dtype=float)
    target = np.asarray(y)
    if target.ndim == 1:
        target = np.eye(raw.shape[1])[target.astype(int)]
    x0 = np.array([0.0, 0.0, np.log(temperature)])
    bounds = [(np.log(0.05), np.log(20.0)), (-20.0, 20.0), _LOG_T_BOUNDS]
    res = minimize(
        _gated_nll,
        x0,
        args=(raw, target.astype(float), normal_index),
        method="L-BFGS-B",
        bounds=bounds,
    )
    return Calibration(
        float(np.exp(res.x[2])), (float(np.exp(res.x[0])), float(res.x[1])), normal_index
    )
