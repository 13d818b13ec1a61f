"""The guideline check beside the model: the criteria read out, mimics named, agreement stated.

Pure functions of the feature table's ``crit_*`` columns (:mod:`models.rules`) and the
model's predicted classes, for the clinician's "guideline check" panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.vocab import CLASS_LABELS
from models.rules import ALS_MAX_SENSORY_ABNORMAL, guideline_summary, mimics


def guideline_checks(X: pd.DataFrame, predicted: Sequence[str]) -> list[dict[str, Any]]:
    """Per study: the criteria read out, the mimics named, and whether they agree with the model.

    Parameters
    ----------
    X : DataFrame, shape (n, ...)
        Feature table (the ``crit_*`` columns are read; without any, only the mimics are
        given). Not modified.
    predicted : sequence of str, length n
        The model's predicted class per row.

    Returns
    -------
    list of dict
        :func:`models.rules.guideline_summary` per row (when there are criteria columns) plus
        ``mimics`` (list of str), ``agrees`` (bool) and, when they differ, ``note`` (str).
    """
    has_criteria = any(str(c).startswith("crit_") for c in X.columns)
    summaries = guideline_summary(X) if has_criteria else [{} for _ in range(len(X))]
    notes = mimics(X)
    out: list[dict[str, Any]] = []
    for summary, mimic, model_class in zip(summaries, notes, predicted, strict=True):
        g: dict[str, Any] = {**summary, "mimics": mimic}
        rule = g.get("rule_diagnosis")
        g["agrees"] = bool(rule == model_class)
        if rule is not None and not g["agrees"]:
            g["note"] = (
                f"The guideline criteria point to {CLASS_LABELS.get(rule, rule)}, the "
                f"model to {CLASS_LABELS[model_class]}: check the study against the criteria."
            )
        out.append(g)
    return out


def als_sensory_abnormal(X: pd.DataFrame) -> np.ndarray:
    """More abnormal sensory responses than the ALS criteria tolerate, per row (bool, (n,))."""
    if "crit_sensory_abnormal_count" not in X.columns:
        return np.zeros(len(X), dtype=bool)
    count = X["crit_sensory_abnormal_count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return count > ALS_MAX_SENSORY_ABNORMAL
