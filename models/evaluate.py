"""Evaluation metrics: macro-F1, per-class precision/recall, confusion, one-vs-rest AUC,
pattern-level accuracy, expected calibration error and metrics by subgroup.

Every function takes integer labels in ``features.vocab.CLASSES`` order and an (n, 6)
probability matrix, so LightGBM, the logistic baseline and the rules are scored alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from features.vocab import CLASSES, PATTERN_OF, PATTERNS

_LABELS = list(range(len(CLASSES)))


def pattern_proba(proba: np.ndarray) -> np.ndarray:
    """Probabilities of the patterns (n, 3) in ``PATTERNS`` order: sums over their classes."""
    out = np.zeros((len(proba), len(PATTERNS)))
    for k, c in enumerate(CLASSES):
        out[:, PATTERNS.index(PATTERN_OF[c])] += proba[:, k]
    return out


def pattern_codes(y: np.ndarray) -> np.ndarray:
    """Pattern index (``PATTERNS`` order) of class indices."""
    lookup = np.array([PATTERNS.index(PATTERN_OF[c]) for c in CLASSES])
    return lookup[np.asarray(y, dtype=int)]


def reliability_table(proba: np.ndarray, y: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Top-1 confidence vs accuracy in equal-width bins (the reliability diagram's data).

    Returns
    -------
    DataFrame
        Columns ``bin_lower, bin_upper, confidence, accuracy, count`` (empty bins dropped).
    """
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y)).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    frame = pd.DataFrame({"bin": idx, "confidence": conf, "accuracy": correct})
    table = frame.groupby("bin").agg(
        confidence=("confidence", "mean"), accuracy=("accuracy", "mean"), count=("accuracy", "size")
    )
    table.insert(0, "bin_upper", edges[table.index + 1])
    table.insert(0, "bin_lower", edges[table.index])
    return table.reset_index(drop=True)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE of the top-1 confidence: Σ_bins (n_b / n) · |accuracy_b − confidence_b|."""
    table = reliability_table(proba, y, n_bins)
    if table.empty:
        return float("nan")
    w = table["count"] / table["count"].sum()
    return float((w * (table["accuracy"] - table["confidence"]).abs()).sum())


def classification_metrics(y: np.ndarray, proba: np.ndarray, *, n_bins: int = 10) -> dict:
    """All headline metrics of one model on one split.

    Parameters
    ----------
    y : ndarray (n,)
        True class indices.
    proba : ndarray (n, 6)
        Predicted probabilities (rows sum to 1).

    Returns
    -------
    dict
        ``n, macro_f1, accuracy, pattern_accuracy, ece, log_loss, auc_ovr_macro`` and per class
        ``per_class.<class>.{precision, recall, f1, auc, support}``.
    """
    y = np.asarray(y, dtype=int)
    pred = proba.argmax(axis=1)
    prec, rec, f1, support = precision_recall_fscore_support(
        y, pred, labels=_LABELS, zero_division=0
    )
    present = np.bincount(y, minlength=len(CLASSES)) > 0
    aucs = np.full(len(CLASSES), np.nan)
    for k in np.flatnonzero(present):
        if present.sum() > 1:
            aucs[k] = roc_auc_score(y == k, proba[:, k])
    clipped = np.clip(proba, 1e-12, 1.0)
    per_class = {
        c: {
            "precision": round(float(prec[k]), 4),
            "recall": round(float(rec[k]), 4),
            "f1": round(float(f1[k]), 4),
            "auc": None if np.isnan(aucs[k]) else round(float(aucs[k]), 4),
            "support": int(support[k]),
        }
        for k, c in enumerate(CLASSES)
    }
    return {
        "n": int(len(y)),
        "macro_f1": round(
            float(f1_score(y, pred, labels=_LABELS[:], average="macro", zero_division=0)), 4
        ),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "pattern_accuracy": round(
            float((pattern_proba(proba).argmax(axis=1) == pattern_codes(y)).mean()), 4
        ),
        "ece": round(expected_calibration_error(proba, y, n_bins), 4),
        "log_loss": round(
            float(log_loss(y, clipped / clipped.sum(axis=1, keepdims=True), labels=_LABELS)), 4
        ),
        "auc_ovr_macro": None if np.isnan(aucs).all() else round(float(np.nanmean(aucs)), 4),
        "per_class": per_class,
    }


def confusion_frame(y: np.ndarray, proba_or_pred: np.ndarray) -> pd.DataFrame:
    """Confusion matrix as a labelled frame (rows actual, columns predicted)."""
    pred = (
        proba_or_pred.argmax(axis=1) if np.ndim(proba_or_pred) == 2 else np.asarray(proba_or_pred)
    )
    cm = confusion_matrix(np.asarray(y, dtype=int), pred, labels=_LABELS)
    return pd.DataFrame(
        cm, index=pd.Index(CLASSES, name="actual"), columns=pd.Index(CLASSES, name="predicted")
    )


def confusion_long(study_ids: Sequence[str], y: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    """One row per study ``study_id, actual, predicted`` (DVC's confusion template input)."""
    names = np.asarray(CLASSES)
    return pd.DataFrame(
        {
            "study_id": list(study_ids),
            "actual": names[np.asarray(y, dtype=int)],
            "predicted": names[proba.argmax(axis=1)],
        }
    )


def age_band(age_years: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Left-closed age bands labelled ``"<40"``, ``"40-59"``, ..., ``"75+"``; NaN → ``"unknown"``."""
    e = list(edges)
    labels = (
        [f"<{e[1]:g}"]
        + [f"{lo:g}-{hi - 1:g}" for lo, hi in zip(e[1:-2], e[2:-1], strict=True)]
        + [f"{e[-2]:g}+"]
    )
    band = pd.cut(age_years.astype(float), bins=e, labels=labels, right=False)
    return band.astype(object).where(band.notna(), "unknown")


def subgroup_metrics(
    y: np.ndarray, proba: np.ndarray, groups: pd.Series, *, min_n: int = 20
) -> dict:
    """``{group: {n, macro_f1, accuracy}}`` for each group value with at least ``min_n`` studies."""
    y = np.asarray(y, dtype=int)
    pred = proba.argmax(axis=1)
    g = groups.astype(str).to_numpy()
    out: dict[str, dict] = {}
    for value in sorted(set(g)):
        m = g == value
        if m.sum() < min_n:
            continue
        out[value] = {
            "n": int(m.sum()),
            "macro_f1": round(
                float(
                    f1_score(
                        y[m], pred[m], labels=sorted(set(y[m])), average="macro", zero_division=0
                    )
                ),
                4,
            ),
            "accuracy": round(float((pred[m] == y[m]).mean()), 4),
        }
    return out
