"""Report figures (matplotlib ``Figure`` objects, no pyplot global state, no display needed).

Confusion matrix, reliability diagram, global SHAP summary and feature importance. Feature
names are shown with their clinical labels from ``features.catalog`` when it is available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from features.vocab import CLASS_LABELS, CLASSES


def feature_label(name: str) -> str:
    """Human label of a feature (catalog label, else the column name)."""
    try:
        from features.catalog import FEATURES
    except ImportError:  # pragma: no cover - catalog arrives with helper A
        return name
    info = FEATURES.get(name)
    return info.label if info is not None else name


def plot_confusion(cm: pd.DataFrame, title: str = "Confusion matrix") -> Figure:
    """Counts with row-normalised shading (rows = actual class)."""
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = fig.add_subplot()
    values = cm.to_numpy(dtype=float)
    share = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(
                j,
                i,
                f"{values[i, j]:.0f}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.6 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(cm.columns)), cm.columns, rotation=40, ha="right")
    ax.set_yticks(range(len(cm.index)), cm.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    return fig


def plot_reliability(
    tables: dict[str, pd.DataFrame], title: str = "Reliability (top-1 confidence)"
) -> Figure:
    """Accuracy vs mean confidence per bin, one line per model; the diagonal is perfect calibration."""
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name, table in tables.items():
        ax.plot(table["confidence"], table["accuracy"], marker="o", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability of the top class")
    ax.set_ylabel("observed accuracy")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig


def shap_importance(booster: lgb.Booster, X: pd.DataFrame) -> pd.DataFrame:
    """Mean |SHAP| (raw log-odds) per feature and class: index feature, columns ``CLASSES``.

    TreeSHAP via ``booster.predict(pred_contrib=True)`` (identical to shap's TreeExplainer in its
    default mode; stack notes §2).
    """
    feats = booster.feature_name()
    contrib = np.asarray(booster.predict(X[feats], pred_contrib=True))
    per_class = contrib.reshape(len(X), len(CLASSES), len(feats) + 1)[:, :, :-1]
    return pd.DataFrame(np.abs(per_class).mean(axis=0).T, index=feats, columns=list(CLASSES))


def plot_shap_summary(importance: pd.DataFrame, top: int = 20) -> Figure:
    """Stacked horizontal bars of mean |SHAP| by class for the ``top`` features."""
    order = importance.sum(axis=1).sort_values(ascending=True).index[-top:]
    data = importance.loc[order]
    fig = Figure(figsize=(8, 0.32 * len(order) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    left = np.zeros(len(data))
    for c in CLASSES:
        ax.barh([feature_label(f) for f in data.index], data[c], left=left, label=CLASS_LABELS[c])
        left += data[c].to_numpy()
    ax.set_xlabel("mean |SHAP| (log-odds), summed over classes")
    ax.set_title("Global SHAP summary")
    ax.legend(loc="lower right", fontsize=7)
    return fig


def feature_importance(booster: lgb.Booster) -> pd.DataFrame:
    """Gain and split importance per feature, sorted by gain (columns ``feature, label, gain, split``)."""
    feats = booster.feature_name()
    frame = pd.DataFrame(
        {
            "feature": feats,
            "label": [feature_label(f) for f in feats],
            "gain": booster.feature_importance("gain"),
            "split": booster.feature_importance("split"),
        }
    )
    return frame.sort_values("gain", ascending=False).reset_index(drop=True)


def plot_feature_importance(importance: pd.DataFrame, top: int = 20) -> Figure:
    """Horizontal bars of total gain for the ``top`` features."""
    data = importance.head(top).iloc[::-1]
    fig = Figure(figsize=(8, 0.32 * len(data) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(data["label"], data["gain"])
    ax.set_xlabel("total gain")
    ax.set_title("LightGBM feature importance")
    return fig


def plot_metric_bars(
    metrics: Mapping[str, Any],
    metric: str = "macro_f1",
    splits: Sequence[str] = ("test", "heldout_site"),
) -> Figure:
    """Grouped bars of one metric per model and split (``metrics[split][model][metric]``)."""
    models = sorted({m for s in splits if s in metrics for m in metrics[s]})
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(splits), 1)
    for i, s in enumerate(splits):
        vals = [metrics[s][m].get(metric, np.nan) if s in metrics else np.nan for m in models]
        ax.bar(np.arange(len(models)) + i * width, vals, width=width, label=s)
    ax.set_xticks(np.arange(len(models)) + width * (len(splits) - 1) / 2, models)
    ax.set_ylim(0, 1)
    ax.set_ylabel(metric)
    ax.legend()
    return fig


def plot_risk_coverage(
    curves: Mapping[str, Any],
    class_coverage: Mapping[str, Mapping[str, float | None]],
    nominal: float,
) -> Figure:
    """Risk-coverage curves (left) and the prediction sets' coverage per class (right).

    Parameters
    ----------
    curves : mapping of str to models.conformal_eval.RiskCoverage
        Per split, the selective accuracy by share of studies answered (top-1 probability),
        with the point "answer only when the prediction set is one class".
    class_coverage : mapping of str to mapping of str to float
        Per split, the coverage of each true class's prediction sets.
    nominal : float
        The nominal coverage per class (``1 - alpha``).
    """
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    for i, (split, curve) in enumerate(curves.items()):
        color = f"C{i}"
        left.plot(curve.answered, curve.accuracy, color=color, label=split.replace("_", " "))
        if curve.singleton_share == curve.singleton_share:  # not NaN
            left.plot(
                [curve.singleton_share],
                [curve.singleton_accuracy],
                marker="o",
                color=color,
                linestyle="none",
                label=f"{split.replace('_', ' ')}: only one-class sets",
            )
    left.set_xlim(0, 1)
    left.set_xlabel("share of studies answered (most confident first)")
    left.set_ylabel("accuracy of the answered studies")
    left.set_title("Risk-coverage (top-1 probability)")
    left.legend(loc="lower left", fontsize=8)
    width = 0.8 / max(len(class_coverage), 1)
    x = np.arange(len(CLASSES))
    for i, (split, table) in enumerate(class_coverage.items()):
        values = [np.nan if table.get(c) is None else table[c] for c in CLASSES]
        right.bar(x + i * width, values, width=width, label=split.replace("_", " "))
    right.axhline(nominal, color="black", linewidth=1, label=f"nominal {nominal:.0%}")
    right.axhspan(nominal - 0.02, nominal + 0.02, color="grey", alpha=0.2, label="± 2 points")
    right.set_xticks(x + width * (len(class_coverage) - 1) / 2, CLASSES, rotation=30, ha="right")
    right.set_ylim(max(0.0, nominal - 0.3), 1.0)
    right.set_ylabel("share of studies whose set holds the true class")
    right.set_title("Prediction-set coverage per class")
    right.legend(loc="lower right", fontsize=8)
    return fig
