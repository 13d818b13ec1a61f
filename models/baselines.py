"""Logistic-regression baseline: median imputation with missing indicators, scaling, softmax LR.

The indicators let the linear model see "not measured" instead of a silently imputed median;
the same feature columns (coverage excluded) and the same augmented training rows as LightGBM
are used so the comparison is fair. Saved with skops (no pickle).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.vocab import CLASSES

LOGREG_FILE = "logreg.skops"


def fit_logreg(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    C: float = 0.5,
    max_iter: int = 1000,
    seed: int = 0,
) -> Pipeline:
    """Fit the baseline on integer labels ``y`` (``CLASSES`` order).

    Columns that are NaN in every training row are kept (imputed to 0 after scaling) so the
    pipeline accepts exactly ``X.columns`` at prediction time.
    """
    pipe = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=C, max_iter=max_iter, random_state=seed)),
        ]
    )
    pipe.fit(X, np.asarray(y, dtype=int), lr__sample_weight=sample_weight)
    return pipe


def logreg_proba(model: Pipeline, X: pd.DataFrame) -> np.ndarray:
    """Probabilities (n, 6) in ``CLASSES`` order, whatever classes the fit saw."""
    proba = np.zeros((len(X), len(CLASSES)))
    proba[:, model.classes_.astype(int)] = model.predict_proba(X[list(model.feature_names_in_)])
    return proba


def save_logreg(model: Pipeline, out_dir: Path) -> Path:
    """Write the fitted pipeline to ``out_dir/logreg.skops``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOGREG_FILE
    sio.dump(model, path)
    return path


def load_logreg(out_dir: Path) -> Pipeline:
    """Read ``out_dir/logreg.skops`` trusting only the types this module writes."""
    path = out_dir / LOGREG_FILE
    untrusted = sio.get_untrusted_types(file=path)
    allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy."))]
    unexpected = sorted(set(untrusted) - set(allowed))
    if unexpected:
        raise ValueError(f"{path}: unexpected types {unexpected}; refusing to load")
    return sio.load(path, trusted=allowed)
