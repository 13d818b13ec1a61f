"""Exact TreeSHAP explanations in clinical language.

The contributions come from LightGBM's own TreeSHAP (``booster.predict(X, pred_contrib=True)``),
which is exactly what ``shap.TreeExplainer`` returns in its default tree-path-dependent mode
(shap calls the same routine; a test checks the two agree) at a fraction of the per-call cost.
They are in raw log-odds of each class and add up, with the base value, to the model's raw
score; the calibration temperature only rescales the raw score, so the explanation stays exact.

Rendering goes through the feature registry (:mod:`features.catalog`): every contribution
becomes a :class:`~models.prediction.Contribution` with the human label, the measured value in
clinical units, its reference limit and a sentence such as "Sural SNAP amplitude 3 µV (40 % of
LLN): pushes towards axonal polyneuropathy".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import catalog
from features.vocab import CLASS_LABELS
from models.ovr import OvRBooster
from models.prediction import Contribution

#: group for features the registry does not know (never expected in a trained model)
OTHER_GROUP = "other"


#: from this many studies on, TreeSHAP runs on all cores (LightGBM's default thread count)
BATCH_ROWS = 8


def explain_raw(
    booster: lgb.Booster, X: pd.DataFrame, *, feature_names: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """TreeSHAP contributions in raw log-odds, normalised shapes.

    Parameters
    ----------
    booster : lightgbm.Booster
        Multiclass (or binary) booster trained on a DataFrame with ``X``'s columns.
    X : DataFrame, shape (n, F)
        Features in the booster's feature order; NaN = not measured. Not modified.

    Returns
    -------
    contrib : ndarray, shape (n, K, F)
        Contribution of each feature to each class's raw score.
    base : ndarray, shape (n, K)
        Base value (expected raw score) per class; ``contrib.sum(-1) + base`` equals
        ``booster.predict(X, raw_score=True)``.
    """
    n_features = booster.num_feature()
    # the booster's names (``feature_names``: the same list, cached by the caller)
    names = list(feature_names) if feature_names is not None else booster.feature_name()
    if X.shape[1] != n_features or list(X.columns) != names:
        raise ValueError(
            f"explain_raw: X has {X.shape[1]} columns, the booster expects {n_features} "
            f"({names[:3]}...) in its order. Select X[booster.feature_name()] first."
        )
    # a float array (names checked above) skips LightGBM's per-call pandas conversion
    values = X.to_numpy(dtype=np.float64)
    # one thread for a few studies (no thread start-up on the web path), all cores for batches
    threads = 1 if len(X) < BATCH_ROWS else 0
    raw = np.asarray(booster.predict(values, pred_contrib=True, num_threads=threads), dtype=float)
    n = len(X)
    k = raw.shape[1] // (n_features + 1)
    cube = raw.reshape(n, k, n_features + 1)
    return cube[:, :, :n_features], cube[:, :, n_features]


@dataclass(frozen=True)
class ShownContributions:
    """TreeSHAP of the two classes a prediction shows, per study.

    Attributes
    ----------
    top : ndarray, shape (n, F)
        Contributions (log-odds) to the predicted class's raw score.
    versus : ndarray, shape (n, F)
        Contributions to the predicted class's raw score minus the runner-up's.
    base_top : ndarray, shape (n,)
        Base value (expected raw score) of the predicted class.
    """

    top: np.ndarray
    versus: np.ndarray
    base_top: np.ndarray


def explain_shown(
    booster: lgb.Booster | OvRBooster,
    values: np.ndarray,
    top: np.ndarray,
    second: np.ndarray,
    *,
    num_threads: int = 0,
) -> ShownContributions:
    """Exact TreeSHAP of the predicted class and the runner-up only.

    A one-vs-rest model (:class:`models.ovr.OvRBooster`) explains each head on the rows that
    show its class (two heads' work per study instead of six); a multiclass booster explains
    every class in one pass (its trees are interleaved) and the two are picked out.

    Parameters
    ----------
    booster : lightgbm.Booster or OvRBooster
        The model; ``values`` is in its feature order.
    values : ndarray, shape (n, F)
        Features (float64; NaN = not measured). Not modified.
    top, second : ndarray of int, shape (n,)
        Class column of the predicted class and of the runner-up.
    num_threads : int
        LightGBM threads (0: LightGBM's default, all cores).
    """
    n, f = values.shape
    if f != booster.num_feature():
        raise ValueError(
            f"explain_shown: {f} feature columns, the booster expects {booster.num_feature()}"
        )
    kw = {"num_threads": num_threads} if num_threads else {}
    rows = np.arange(n)
    if not isinstance(booster, OvRBooster):
        raw = np.asarray(booster.predict(values, pred_contrib=True, **kw), dtype=float)
        cube = raw.reshape(n, -1, f + 1)
        c_top, c_second = cube[rows, top], cube[rows, second]
        return ShownContributions(c_top[:, :f], c_top[:, :f] - c_second[:, :f], c_top[:, f])
    c_top = np.empty((n, f + 1))
    c_second = np.empty((n, f + 1))
    for k, head in enumerate(booster.heads):
        as_top, as_second = top == k, second == k
        shown = as_top | as_second
        if not shown.any():
            continue
        part = np.asarray(head.predict(values[shown], pred_contrib=True, **kw), dtype=float)
        c_top[as_top] = part[as_top[shown]]
        c_second[as_second] = part[as_second[shown]]
    return ShownContributions(c_top[:, :f], c_top[:, :f] - c_second[:, :f], c_top[:, f])


def _finite(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _class_text(class_name: str) -> str:
    """Class label for use mid-sentence ("axonal_pn" -> "axonal polyneuropathy", "als" ->
    "ALS / motor neuron disease"); free text is kept as given."""
    label = CLASS_LABELS.get(class_name, class_name)
    if len(label) > 1 and label[1].islower():
        label = label[0].lower() + label[1:]
    return label


#: how the limit a feature is judged against is stated, by ``FeatureInfo.limit_kind``
LIMIT_TEXT: dict[str, str] = {
    "pct_lln": "lower limit of normal = 100 %",
    "pct_uln": "upper limit of normal = 100 %",
}


def limit_text(name: str) -> str:
    """The reference limit a feature is judged against ("" when it has none)."""
    info = catalog.FEATURES.get(name)
    return "" if info is None else LIMIT_TEXT.get(info.limit_kind, "")


def render_contribution(
    name: str,
    value: object,
    shap_value: float,
    *,
    class_name: str,
    versus: str | None = None,
    context: Mapping[str, float] | None = None,
) -> Contribution:
    """One feature's contribution as a clinical finding.

    Parameters
    ----------
    name : str
        Feature name (registry key).
    value : float or None
        Feature value in its unit (NaN/None = not measured).
    shap_value : float
        Contribution in log-odds (towards ``class_name``, or ``class_name`` rather than
        ``versus`` when given).
    class_name : str
        Explained class (a key of ``features.vocab.CLASSES`` or free text).
    versus : str, optional
        The runner-up class when ``shap_value`` is a difference of two classes' contributions.
    context : mapping, optional
        The study's other feature values (lets counts read "3 of 4 regions tested").
    """
    info = catalog.FEATURES.get(name)
    v = _finite(value)
    if info is not None:
        label, group = info.label, info.group
        value_text = catalog.describe_value(name, v, row=context)
    else:
        label, group = name, OTHER_GROUP
        value_text = "not measured" if v is None else f"{v:.3g}"
    target = _class_text(class_name)
    if versus is not None:
        target = f"{target} rather than {_class_text(versus)}"
    verb = "pushes towards" if shap_value >= 0 else "argues against"
    finding = f"{label} {value_text}" if value_text[:1].isdigit() else f"{label} ({value_text})"
    return Contribution(
        feature=name,
        label=label,
        group=group,
        value=v,
        value_text=value_text,
        limit_text=limit_text(name),
        shap=float(shap_value),
        sentence=f"{finding}: {verb} {target}",
    )


def study_contributions(
    feature_row: pd.Series,
    contrib_row: np.ndarray,
    *,
    top_k: int,
    class_name: str,
    versus: str | None = None,
    context: Mapping[str, float] | None = None,
) -> list[Contribution]:
    """The ``top_k`` findings that moved one study's score most, sorted by ``|shap|``.

    Parameters
    ----------
    feature_row : Series
        The study's feature values, index = feature names in the booster's order.
    contrib_row : ndarray, shape (F,)
        Contributions (log-odds) of those features for ``class_name`` (or the difference
        ``class_name`` minus ``versus``).
    top_k : int
        How many to return; features with an exactly zero contribution are never returned.
    class_name, versus : str
        See :func:`render_contribution`.
    context : mapping, optional
        The study's full feature row (defaults to ``feature_row``), for counts "3 of 4".
    """
    return top_contributions(
        feature_row.index,
        feature_row.to_numpy(),
        contrib_row,
        top_k=top_k,
        class_name=class_name,
        versus=versus,
        context=feature_row if context is None else context,
    )


def top_contributions(
    names: Sequence[str],
    values: np.ndarray,
    contrib_row: np.ndarray,
    *,
    top_k: int,
    class_name: str,
    versus: str | None = None,
    context: Mapping[str, float] | None = None,
) -> list[Contribution]:
    """:func:`study_contributions` on arrays: feature names, one study's values, contributions.

    Parameters
    ----------
    names : sequence of str, length F
        Feature names in the booster's order.
    values : ndarray, shape (F,)
        The study's values of those features (NaN = not measured).
    contrib_row : ndarray, shape (F,)
        Contributions (log-odds), as in :func:`study_contributions`.
    top_k, class_name, versus, context
        As in :func:`study_contributions` (``context`` has no default here: None reads counts
        without their totals).
    """
    contrib = np.asarray(contrib_row, dtype=float)
    if contrib.shape != (len(names),) or len(values) != len(names):
        raise ValueError(
            f"contrib_row has shape {contrib.shape} and the values {len(values)} entries, "
            f"expected ({len(names)},) to match the feature names"
        )
    k = max(int(top_k), 0)
    if k == 0:
        return []
    magnitude = np.abs(contrib)
    if k < len(contrib):  # the k largest first (ties kept in feature order), then sorted
        part = np.argpartition(-magnitude, k - 1)[:k]
        threshold = magnitude[part].min()
        candidates = np.flatnonzero(magnitude >= threshold)
        order = candidates[np.argsort(-magnitude[candidates], kind="stable")][:k]
    else:
        order = np.argsort(-magnitude, kind="stable")
    return [
        render_contribution(
            str(names[j]),
            values[j],
            contrib[j],
            class_name=class_name,
            versus=versus,
            context=context,
        )
        for j in order
        if contrib[j] != 0.0
    ]


class RowContext(Mapping[str, float]):
    """One row of a feature table as a read-only mapping, without copying the row.

    Parameters
    ----------
    columns : Mapping[str, int]
        Column name -> position in ``values``' second axis.
    values : ndarray, shape (n, C)
        The table's values.
    row : int
        The row read.
    """

    def __init__(self, columns: Mapping[str, int], values: np.ndarray, row: int) -> None:
        self._columns, self._values, self._row = columns, values, row

    def __getitem__(self, name: str) -> float:
        return float(self._values[self._row, self._columns[name]])

    def __iter__(self):  # noqa: ANN204 - the Mapping protocol
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def feature_groups(feature_names: Sequence[str]) -> list[str]:
    """Clinical group of each feature (``"other"`` for names the registry does not know)."""
    return [
        catalog.FEATURES[n].group if n in catalog.FEATURES else OTHER_GROUP for n in feature_names
    ]


@lru_cache(maxsize=8)
def _group_codes(feature_names: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct groups and each feature's group code (cached per feature list)."""
    groups = feature_groups(feature_names)
    names = tuple(dict.fromkeys(groups))
    lookup = {g: i for i, g in enumerate(names)}
    return names, np.array([lookup[g] for g in groups], dtype=np.int64)


def group_sums(contrib_row: np.ndarray, feature_names: Sequence[str]) -> dict[str, float]:
    """Contributions summed per clinical group (NCS motor, NCS sensory, F-wave, ...).

    Parameters
    ----------
    contrib_row : ndarray, shape (F,)
        Contributions of one study for one class (log-odds).
    feature_names : sequence of str, length F

    Returns
    -------
    dict
        Group -> summed log-odds, sorted by decreasing absolute value.
    """
    contrib = np.asarray(contrib_row, dtype=float)
    if contrib.shape != (len(feature_names),):
        raise ValueError(f"contrib_row has shape {contrib.shape}, expected ({len(feature_names)},)")
    groups, codes = _group_codes(tuple(feature_names))
    sums = np.bincount(codes, weights=contrib, minlength=len(groups))
    order = np.argsort(-np.abs(sums), kind="stable")
    return {groups[k]: float(sums[k]) for k in order}
