"""The "unlike the training data" check: is a study outside what the model was trained on?

Three rules, each fitted on the training feature table and stored in ``ood_profile.json``
beside the model (see ``docs/confidence.md`` for the reasoning):

1. **Coverage.** A study with fewer tests recorded than almost every training study is flagged
   (``only 2 tests recorded``). Tests are nerve responses plus muscles, summed from the
   coverage columns :data:`TEST_COUNT_COLUMNS`; without them, the number of measured (non-NaN)
   findings is counted instead. The floor is the ``coverage_quantile`` (default 0.5 %)
   quantile of the training counts, never less than an absolute floor.
2. **Range.** Per feature, a robust training range ``[q_lo - m * span, q_hi + m * span]`` with
   ``q_lo``/``q_hi`` the second smallest and second largest training values (the most
   extreme value on each side, a single patient, is never used) and ``span = q_hi - q_lo`` (``m`` = 0.5);
   a measured value outside it is "far outside the training range" (the range is stored rounded
   outwards, see Privacy). Missing values never count.
3. **Outlier score.** The Mahalanobis distance on rank-Gaussianised features (a Gaussian
   copula): every feature is mapped through its training empirical CDF to a normal score,
   missing values sit at the median (score 0), and the squared distance under a Ledoit-Wolf
   shrunk covariance of the training scores, divided by the number of features, is the
   ``ood_score``. The threshold is the ``outlier_quantile`` (default 99 %) of out-of-fold
   training scores (covariance fitted without the scored fold: in-sample distances are
   optimistic), so about 1 % of new typical studies are above it by construction.

The ``ood_score`` column reports rule 3 divided by its threshold (values above 1 are flagged),
so it is comparable across models.

**Privacy.** The profile is saved beside the model and logged to MLflow, so it must not let a
single training patient's value be read back: the stored quantiles are *inner* ones (a grid
from the 0.5 % to the 99.5 % quantile, moved inwards for a feature measured in few studies so
that at least 2 training values lie beyond each end: never a minimum or maximum, which are
single patients), rounded to 3 significant digits; the robust ranges are stored only with
their margin added and rounded outwards to 2 significant digits; and a feature measured in
fewer than 20 training studies is not profiled at all (its quantiles would be few patients'
values).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.covariance import LedoitWolf

logger = logging.getLogger(__name__)

PROFILE_FILE = "ood_profile.json"
COVERAGE_PREFIX = "cov_"
#: coverage columns whose sum is the number of tests recorded (nerve responses + muscles)
TEST_COUNT_COLUMNS: tuple[str, ...] = (
    "cov_motor_nerves_count",
    "cov_sensory_nerves_count",
    "cov_f_waves_count",
    "cov_muscles_count",
)
_N_QUANTILES = 101  # grid of the empirical CDF stored per feature
_TAIL = 0.005  # the grid spans at least the [tail, 1 - tail] quantiles
_MIN_BEYOND = 2  # the quantile grid leaves at least this many training values beyond each end
_RANGE_BEYOND = 1  # the range ends are the next value after this many most extreme ones
_SIGNIFICANT = 3  # stored quantiles and ranges are rounded to this many significant digits
_RANGE_SIGNIFICANT = 2  # the robust ranges are rounded outwards to this many digits
_MIN_COUNT = 20  # a feature measured in fewer training studies is not profiled
_FORMAT = "emgdx-ood-profile/2"
_Z_CLIP = 3.5  # normal scores are clipped to +-3.5 (the rank transform saturates anyway)


@dataclass(frozen=True)
class OODProfile:
    """What the training data looked like, for the unlike-the-training-data flag.

    Attributes
    ----------
    feature_names : list[str]
        Non-coverage features the profile describes (order of the arrays below).
    quantiles : ndarray, shape (F, Q)
        Training quantiles of each feature on an even probability grid from ``tails[j]`` to
        ``1 - tails[j]``, rounded (NaN when measured in too few training studies).
    range_low, range_high : ndarray, shape (F,)
        Robust training range per feature (in the feature's own unit).
    precision : ndarray, shape (F, F)
        Inverse of the shrunk covariance of the normal scores.
    outlier_threshold : float
        Outlier score above which a study is flagged (``outlier_quantile`` of training scores).
    min_measured : int
        Fewest measured findings a study may have without being flagged (used when the
        coverage columns counting tests are absent).
    median_measured : float
        Median number of measured findings in training (for the reason text).
    n_train : int
        Number of training studies.
    params : dict
        The fitting parameters (for the record).
    test_columns : tuple of str
        Coverage columns (of :data:`TEST_COUNT_COLUMNS`) whose sum counts the tests recorded;
        empty when the training table had none.
    min_tests : int
        Fewest tests a study may have without being flagged (when ``test_columns`` is set).
    median_tests : float
        Median number of tests in training (for the reason text).
    tails : ndarray, shape (F,)
        Per feature, the probability of the first grid point (the last is ``1 - tails[j]``):
        ``max(0.005, 2 / n)`` for a feature measured in ``n`` training studies.
    """

    feature_names: list[str]
    quantiles: np.ndarray
    range_low: np.ndarray
    range_high: np.ndarray
    precision: np.ndarray
    outlier_threshold: float
    min_measured: int
    median_measured: float
    n_train: int
    params: dict
    test_columns: tuple[str, ...] = ()
    min_tests: int = 0
    median_tests: float = float("nan")
    tails: np.ndarray | None = None

    # --- scoring ------------------------------------------------------------------------------
    def normal_scores(self, X: pd.DataFrame) -> np.ndarray:
        """Rank-Gaussianised features, shape (n, F); missing (or absent) features are 0."""
        values = _aligned(X, self.feature_names)
        return _normal_scores(values, self.quantiles, self.tails)

    def outlier_score(self, X: pd.DataFrame) -> np.ndarray:
        """Mean squared Mahalanobis distance of the normal scores, shape (n,)."""
        z = self.normal_scores(X)
        return _mahalanobis(z, self.precision)

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        """Score studies; one row per row of ``X`` (same index).

        Parameters
        ----------
        X : DataFrame
            Feature table (index ``study_id``); extra columns are ignored, missing profile
            columns count as not measured. Not modified.

        Returns
        -------
        DataFrame
            ``ood_score`` (outlier score / threshold, > 1 is unusual), ``unlike_training_data``
            (bool: any rule fired), ``ood_reasons`` ("; "-joined human reasons, "" if none),
            ``n_measured`` (measured findings) and ``n_out_of_range`` (values far outside).
        """
        values = _aligned(X, self.feature_names)
        measured = np.isfinite(values)
        n_measured = measured.sum(axis=1)
        with np.errstate(invalid="ignore"):
            outside = measured & ((values < self.range_low) | (values > self.range_high))
        n_outside = outside.sum(axis=1)
        raw = _mahalanobis(_normal_scores(values, self.quantiles, self.tails), self.precision)
        ratio = raw / self.outlier_threshold if self.outlier_threshold > 0 else np.zeros_like(raw)

        tests = self._tests(X)
        if tests is not None:
            low_coverage = tests < self.min_tests
        else:
            low_coverage = n_measured < self.min_measured
        out_of_range = n_outside > 0
        outlier = ratio > 1.0
        reasons: list[str] = []
        for i in range(len(values)):  # string building only; the scoring above is vectorised
            parts = []
            if low_coverage[i] and tests is not None:
                k = int(tests[i])
                parts.append(
                    f"only {k} test{'' if k == 1 else 's'} recorded (nerve responses and "
                    f"muscles; training studies had at least {self.min_tests}, typically "
                    f"{int(self.median_tests)})"
                )
            elif low_coverage[i]:
                parts.append(
                    f"only {int(n_measured[i])} findings recorded (training studies had at "
                    f"least {self.min_measured}, typically {int(self.median_measured)})"
                )
            if out_of_range[i]:
                names = [_label(self.feature_names[j]) for j in np.flatnonzero(outside[i])[:3]]
                k = int(n_outside[i])
                parts.append(
                    f"{k} value{'s' if k > 1 else ''} far outside the training range "
                    f"({', '.join(names)}{', ...' if k > 3 else ''})"
                )
            if outlier[i]:
                parts.append(
                    f"unusual combination of findings (outlier score {ratio[i]:.1f}x the "
                    "99th percentile of training studies)"
                )
            reasons.append("; ".join(parts))
        return pd.DataFrame(
            {
                "ood_score": ratio,
                "unlike_training_data": low_coverage | out_of_range | outlier,
                "ood_reasons": reasons,
                "n_measured": n_measured.astype(int),
                "n_out_of_range": n_outside.astype(int),
            },
            index=X.index,
        )

    def _tests(self, X: pd.DataFrame) -> np.ndarray | None:
        """Tests recorded per study (sum of the test-count columns), None if unavailable."""
        if not self.test_columns or not all(c in X.columns for c in self.test_columns):
            return None
        return np.nan_to_num(X[list(self.test_columns)].to_numpy(dtype=float)).sum(axis=1)

    # --- persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready form (NaN as null)."""

        def arr(a: np.ndarray) -> list:
            return _nan_to_none(np.asarray(a, dtype=float).tolist())

        return {
            "format": _FORMAT,
            "feature_names": list(self.feature_names),
            "quantiles": arr(self.quantiles),
            "range_low": arr(self.range_low),
            "range_high": arr(self.range_high),
            "precision": self.precision.tolist(),
            "outlier_threshold": float(self.outlier_threshold),
            "min_measured": int(self.min_measured),
            "median_measured": float(self.median_measured),
            "n_train": int(self.n_train),
            "params": dict(self.params),
            "test_columns": list(self.test_columns),
            "min_tests": int(self.min_tests),
            "median_tests": _nan_to_none(float(self.median_tests)),
            "tails": arr(
                self.tails if self.tails is not None else np.zeros(len(self.feature_names))
            ),
        }

    @classmethod
    def from_dict(cls, doc: dict) -> OODProfile:
        """Inverse of :meth:`to_dict`."""

        def arr(x: list) -> np.ndarray:
            return np.array(_none_to_nan(x), dtype=float)

        if doc.get("format") != _FORMAT:
            raise ValueError(f"format is {doc.get('format')!r}, this emgdx reads {_FORMAT!r}")
        return cls(
            feature_names=list(doc["feature_names"]),
            quantiles=arr(doc["quantiles"]).reshape(len(doc["feature_names"]), -1),
            range_low=arr(doc["range_low"]),
            range_high=arr(doc["range_high"]),
            precision=np.array(doc["precision"], dtype=float),
            outlier_threshold=float(doc["outlier_threshold"]),
            min_measured=int(doc["min_measured"]),
            median_measured=float(doc["median_measured"]),
            n_train=int(doc["n_train"]),
            params=dict(doc.get("params", {})),
            test_columns=tuple(doc.get("test_columns", ())),
            min_tests=int(doc.get("min_tests", 0)),
            median_tests=float("nan") if doc.get("median_tests") is None else doc["median_tests"],
            tails=arr(doc["tails"]),
        )

    def save(self, model_dir: str | Path) -> Path:
        """Write ``ood_profile.json`` into ``model_dir`` and return its path."""
        path = Path(model_dir) / PROFILE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, model_dir: str | Path) -> OODProfile:
        """Read ``ood_profile.json`` from ``model_dir``."""
        path = Path(model_dir) / PROFILE_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no OOD profile; the training stage writes it with "
                "models.ood.fit_ood_profile(X_train).save(model_dir)."
            )
        return cls.from_dict(json.loads(path.read_text()))


def fit_ood_profile(
    X_train: pd.DataFrame,
    *,
    tail: float = _TAIL,
    range_margin: float = 0.5,
    outlier_quantile: float = 0.99,
    coverage_quantile: float = 0.005,
    min_measured: int = 3,
    min_tests_floor: int = 2,
    n_folds: int = 5,
    seed: int = 0,
) -> OODProfile:
    """Fit the unlike-the-training-data profile on the training feature table.

    Parameters
    ----------
    X_train : DataFrame
        Training features (index ``study_id``, float columns, NaN = not measured). Coverage
        columns (``cov_*``) are not profiled; those counting tests set the coverage floor.
        Not modified.
    tail : float
        Smallest probability of the first stored quantile (0.005 -> the 0.5 %/99.5 % quantiles
        bound the grid); raised per feature so that at least 2 training values lie beyond each
        end (the minimum and maximum are never stored).
    range_margin : float
        Extra margin beyond the quantiles, as a multiple of their span.
    outlier_quantile : float
        Quantile of the out-of-fold training outlier scores used as the threshold.
    coverage_quantile : float
        Quantile of the training "findings measured" counts used as the coverage floor.
    min_measured : int
        Absolute floor of findings measured.
    min_tests_floor : int
        Absolute floor of tests recorded (nerve responses + muscles), when the coverage
        columns of :data:`TEST_COUNT_COLUMNS` are in ``X_train``.
    n_folds : int
        Folds of the out-of-fold outlier scores that set the threshold.
    seed : int
        Seed of the fold assignment.

    Returns
    -------
    OODProfile
    """
    if len(X_train) < 10:
        raise ValueError(f"fit_ood_profile needs at least 10 training studies, got {len(X_train)}.")
    names = [c for c in X_train.columns if not str(c).startswith(COVERAGE_PREFIX)]
    values = X_train[names].to_numpy(dtype=float)
    measured = np.isfinite(values)
    quantiles = np.full((len(names), _N_QUANTILES), np.nan)
    tails = np.full(len(names), tail)
    q_lo = np.full(len(names), np.nan)
    q_hi = np.full(len(names), np.nan)
    for j in range(len(names)):  # loop over features (not rows)
        col = values[measured[:, j], j]
        if col.size >= _MIN_COUNT:
            # the range ends: the second smallest and second largest values (never a minimum
            # or maximum), stored only with a margin added and rounded outwards below
            k = min(_RANGE_BEYOND, (col.size - 1) // 2)
            ordered = np.partition(col, [k, col.size - 1 - k])
            q_lo[j], q_hi[j] = ordered[k], ordered[col.size - 1 - k]
            tails[j] = max(tail, _MIN_BEYOND / col.size)
            grid = np.linspace(tails[j], 1.0 - tails[j], _N_QUANTILES)
            quantiles[j] = _round_significant(np.quantile(col, grid))
    span = q_hi - q_lo
    # a constant feature (span 0) gets a margin of 10 % of its magnitude (or 1 unit at zero)
    span = np.where(span > 0, span, np.maximum(np.abs(q_lo) * 0.2, 1.0))
    # stored only with the margin added and rounded outwards to 2 significant digits, so the
    # (near-)extreme training values behind q_lo/q_hi cannot be read back
    range_low = _round_outward(q_lo - range_margin * span, up=False)
    range_high = _round_outward(q_hi + range_margin * span, up=True)

    z = _normal_scores(values, quantiles, tails)
    lw = LedoitWolf(assume_centered=True).fit(z)
    precision = np.asarray(lw.precision_, dtype=float)
    # In-sample Mahalanobis distances are optimistic (the covariance has seen the study), so
    # the threshold comes from out-of-fold scores: what a new typical study would score.
    folds = np.random.default_rng(seed).permutation(len(z)) % n_folds
    oof = np.empty(len(z))
    for k in range(n_folds):  # loop over folds (not rows)
        held = folds == k
        fold_lw = LedoitWolf(assume_centered=True).fit(z[~held])
        oof[held] = _mahalanobis(z[held], np.asarray(fold_lw.precision_, dtype=float))
    threshold = float(np.quantile(oof, outlier_quantile))

    counts = measured.sum(axis=1)
    floor = int(np.floor(np.quantile(counts, coverage_quantile)))
    test_columns = tuple(c for c in TEST_COUNT_COLUMNS if c in X_train.columns)
    if len(test_columns) == len(TEST_COUNT_COLUMNS):
        tests = np.nan_to_num(X_train[list(test_columns)].to_numpy(dtype=float)).sum(axis=1)
        min_tests = max(min_tests_floor, int(np.floor(np.quantile(tests, coverage_quantile))))
        median_tests = float(np.median(tests))
    else:
        test_columns, min_tests, median_tests = (), 0, float("nan")
    profile = OODProfile(
        feature_names=names,
        quantiles=quantiles,
        range_low=range_low,
        range_high=range_high,
        precision=precision,
        outlier_threshold=threshold,
        min_measured=max(min_measured, floor),
        median_measured=float(np.median(counts)),
        n_train=len(X_train),
        test_columns=test_columns,
        min_tests=min_tests,
        median_tests=median_tests,
        tails=tails,
        params={
            "tail": tail,
            "min_beyond": _MIN_BEYOND,
            "round_significant": _SIGNIFICANT,
            "min_count": _MIN_COUNT,
            "range_margin": range_margin,
            "outlier_quantile": outlier_quantile,
            "coverage_quantile": coverage_quantile,
            "min_measured": min_measured,
            "min_tests_floor": min_tests_floor,
            "n_folds": n_folds,
            "ledoit_wolf_shrinkage": float(lw.shrinkage_),
        },
    )
    logger.info(
        "OOD profile: %d studies, %d features, coverage floor %d findings, outlier threshold %.3f",
        len(X_train),
        len(names),
        profile.min_measured,
        threshold,
    )
    return profile


# --- helpers ----------------------------------------------------------------------------------
def _label(name: str) -> str:
    """The registry's clinical label of a feature (the name itself if unknown)."""
    try:
        from features.catalog import FEATURES
    except ImportError:  # pragma: no cover - the registry is part of the package
        return name
    info = FEATURES.get(name)
    return info.label if info is not None else name


def _aligned(X: pd.DataFrame, names: list[str]) -> np.ndarray:
    """``X[names]`` as float array, absent columns all-NaN (not measured)."""
    idx = X.columns.get_indexer(pd.Index(names))
    values = X.to_numpy(dtype=float)
    out = values[:, np.maximum(idx, 0)] if values.shape[1] else np.empty((len(X), len(names)))
    out[:, idx < 0] = np.nan
    return out


def _round_significant(a: np.ndarray, digits: int = _SIGNIFICANT) -> np.ndarray:
    """``a`` rounded to ``digits`` significant digits (NaN and 0 unchanged)."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(a)))
    scale = np.where(np.isfinite(exponent), 10.0 ** (digits - 1 - exponent), 1.0)
    return np.where(np.isfinite(a) & (a != 0), np.round(a * scale) / scale, a)


def _round_outward(a: np.ndarray, *, up: bool, digits: int = _RANGE_SIGNIFICANT) -> np.ndarray:
    """``a`` rounded away from the training data (up for a maximum) to ``digits`` digits."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(a)))
    scale = np.where(np.isfinite(exponent), 10.0 ** (digits - 1 - exponent), 1.0)
    rounded = (np.ceil if up else np.floor)(a * scale) / scale
    return np.where(np.isfinite(a) & (a != 0), rounded, a)


def _normal_scores(
    values: np.ndarray, quantiles: np.ndarray, tails: np.ndarray | None = None, chunk: int = 256
) -> np.ndarray:
    """Map each value through its feature's empirical CDF (mid-rank for ties) to a normal score.

    ``values`` (n, F) with NaN for not measured, ``quantiles`` (F, Q) the training grid at the
    probabilities ``tails[j]`` .. ``1 - tails[j]`` (a row of NaN for a feature not profiled;
    ``tails`` None: the grid spans 0 .. 1). Missing values, and features never measured in
    training, get the score 0 (the median). Vectorised over rows and features (rows in chunks).
    """
    n, f = values.shape
    q = quantiles.shape[1]
    z = np.zeros((n, f))
    known = np.isfinite(quantiles[:, 0])
    grid = np.where(known[:, None], quantiles, 0.0)[None, :, :]  # (1, F, Q)
    g_lo, g_hi = grid[..., 0], grid[..., -1]  # (1, F)
    constant = g_hi == g_lo
    tail = np.zeros((1, f)) if tails is None else np.asarray(tails, dtype=float)[None, :]
    eps = np.where(tail > 0, np.minimum(0.5 / q, tail / 2), 0.5 / q)
    cols = np.arange(f)[None, :]
    for start in range(0, n, chunk):
        x = values[start : start + chunk]  # (m, F)
        ok = np.isfinite(x) & known[None, :]
        xx = np.where(ok, x, 0.0)
        below = grid < xx[..., None]  # (m, F, Q)
        left = below.sum(axis=2)
        right = (grid <= xx[..., None]).sum(axis=2)
        pos = (left + right) / 2.0 - 0.5
        inner = (left == right) & (left > 0) & (left < q)
        li = np.clip(left - 1, 0, q - 2)
        lo = grid[0][cols, li]
        hi = grid[0][cols, li + 1]
        width = np.where(hi > lo, hi - lo, 1.0)
        frac = np.where(hi > lo, (xx - lo) / width, 0.5)
        pos = np.where(inner, li + frac, pos)
        p = np.clip(tail + pos / (q - 1) * (1.0 - 2.0 * tail), eps, 1 - eps)
        score = np.clip(ndtri(p), -_Z_CLIP, _Z_CLIP)
        # constant in training: equal -> 0, otherwise saturated towards the side it lies on
        score = np.where(constant, np.sign(xx - g_lo) * _Z_CLIP, score)
        z[start : start + chunk] = np.where(ok, score, 0.0)
    return z


def _mahalanobis(z: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Row-wise ``z P z^T / F``."""
    if z.shape[1] == 0:
        return np.zeros(z.shape[0])
    return np.einsum("ij,jk,ik->i", z, precision, z, optimize=True) / z.shape[1]


def _nan_to_none(x: Any) -> Any:
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return None if isinstance(x, float) and not np.isfinite(x) else x


def _none_to_nan(x: list) -> list:
    if isinstance(x, list):
        return [_none_to_nan(v) for v in x]
    return np.nan if x is None else x
