"""Measurement: within-session noise, technical errors, rounding and unrecorded cells.

Noise sizes follow CR7.3 / T1.6 (Kong 2009 and others): latencies and CV about 3 % within a
session (a latency reading has a relative 1.2 % and an absolute 0.07 ms part, which gives
2-3 % on a distal latency and 3-8 % on a velocity computed from two latencies over a long or a
short segment), F-min 2.5 %, CMAP log-SD 0.10, SNAP log-SD 0.15. The biological spread of the
normal model is shrunk so that biology + noise reproduces the reference SD.
"""

from __future__ import annotations

import numpy as np

LATENCY_NOISE_CV = 0.012  # relative part of a latency reading [sim]
LATENCY_NOISE_MS = 0.07  # absolute part (cursor placement); about 2-3 % on a distal latency (CR7.3)
F_NOISE_CV = 0.025  # CR7.3 F-min 2-3 %
CMAP_NOISE_LOG_SD = 0.10  # CR7.3
SNAP_NOISE_LOG_SD = 0.15  # CR7.3
DISTANCE_NOISE_CV = 0.02  # tape-measure error; 1 cm over 10 cm gives 10 % CV error (T6)
MOTOR_FLOOR_MV = 0.1  # below this a CMAP is reported as no response [sim]
SENSORY_FLOOR_UV = 1.0  # below this a SNAP is lost in noise and reported absent [sim]
MOTOR_MAX_MV = 30.0  # log-normal tails are cut at a physiological maximum CMAP [sim]
SENSORY_MAX_UV = 150.0  # and SNAP [sim]


def biological_sd(total_sd: np.ndarray | float, noise_sd: np.ndarray | float) -> np.ndarray:
    """Between-subject SD left after removing measurement noise from a reference SD."""
    return np.sqrt(np.maximum(np.asarray(total_sd) ** 2 - np.asarray(noise_sd) ** 2, 1e-12))


def jitter_relative(x: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply by ``1 + N(0, cv)`` (latencies, distances)."""
    return x * (1.0 + rng.normal(0.0, cv, x.shape))


def jitter_latency(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add latency-reading noise: SD sqrt((1.2 % x)^2 + (0.07 ms)^2) (about 2-3 % at 3-4 ms, CR7.3)."""
    sd = np.sqrt((LATENCY_NOISE_CV * x) ** 2 + LATENCY_NOISE_MS**2)
    return x + rng.normal(0.0, 1.0, x.shape) * sd


def jitter_log(x: np.ndarray, log_sd: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply by ``exp(N(0, log_sd))`` (amplitudes)."""
    return x * np.exp(rng.normal(0.0, log_sd, x.shape))


def round_to(x: np.ndarray, decimals: np.ndarray | int) -> np.ndarray:
    """Round element-wise to a per-element number of decimals (NaN stays NaN)."""
    scale = 10.0 ** np.asarray(decimals, dtype=float)
    return np.round(x * scale) / scale


def blank(x: np.ndarray, p_keep: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Return a copy with cells set to NaN (not recorded) with probability ``1 - p_keep``."""
    keep = rng.random(x.shape) < p_keep
    return np.where(keep, x, np.nan)


def technical_error(
    n: int, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Technical errors of a response (T6; about 5 % of nerves [sim]).

    Returns
    -------
    distal_factor, proximal_factor, distance_error : ndarray, shape (n,)
        Submaximal stimulation at all sites (x 0.3-0.7), a pseudo-block at the proximal sites
        only (x 0.4-0.75), and a distance error factor (1 +- 0.1).
    """
    has = rng.random(n) < rate
    kind = rng.integers(0, 3, n)
    distal = np.where(has & (kind == 0), rng.uniform(0.3, 0.7, n), 1.0)
    proximal = np.where(has & (kind == 1), rng.uniform(0.4, 0.75, n), 1.0)
    dist = np.where(has & (kind == 2), 1.0 + rng.choice([-0.1, 0.1], n), 1.0)
    return distal, proximal, dist
