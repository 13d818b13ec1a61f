"""Scoring LightGBM, the logistic baseline and the rules on the splits of one saved model.

:class:`Scorer` gives the probabilities of the three models from a model directory;
:func:`evaluate_all` scores them per split and subgroup; :func:`evidence_metrics`,
:func:`ed_reference_metrics` and :func:`general_lab_metrics` score them against the evidence
the findings hold, the conclusion they allow and a general lab's class mix; :func:`headline`
keeps the compact numbers of ``reports/metrics.json``. The evaluate stage
(:mod:`pipelines.evaluate`) only reads, calls these and writes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.vocab import CLASSES, GENERAL_LAB_PRIOR
from models.artifact import check_feature_columns, load_model_dir
from models.baselines import load_logreg, logreg_proba
from models.calibration import shift_prior
from models.evaluate import age_band, classification_metrics, subgroup_metrics
from models.evidence import (
    als_assessable,
    electrodiagnostic_reference,
    missing_evidence,
)
from models.probabilities import prior_shift, product_probabilities
from models.rules import rules_proba
from models.train import encode_labels, raw_scores

logger = logging.getLogger(__name__)

MODELS: tuple[str, ...] = ("lightgbm", "logreg", "rules")
SPLITS: tuple[str, ...] = ("valid", "test", "heldout_site")

#: model -> probabilities, shape (n_studies, n_classes), class order features.vocab.CLASSES
Probas = dict[str, np.ndarray]


class Scorer:
    """Probabilities of the three models from one saved model directory."""

    def __init__(self, model_dir: Path) -> None:
        loaded = load_model_dir(model_dir)
        self.meta = loaded.meta
        self.booster = loaded.booster
        self.logreg = load_logreg(model_dir / "baselines")
        self.calibration = self.meta.calibrator

    def product_proba(self, X: pd.DataFrame, prior: str = "training") -> np.ndarray:
        """LightGBM's probabilities (n, 6) as the product states them at ``prior``: calibration,
        the prior (:func:`models.probabilities.prior_shift`) and the ALS evidence cap."""
        check_feature_columns(self.meta, X.columns, what="the feature table")
        proba, _ = product_probabilities(
            raw_scores(self.booster, X),
            self.calibration,
            prior=prior_shift(prior, self.meta.train_prior, CLASSES),
            als_index=CLASSES.index("als"),
            als_assessable=als_assessable(X),
        )
        return proba

    def proba(self, X: pd.DataFrame) -> Probas:
        """``{"lightgbm": (n, 6), "logreg": (n, 6), "rules": (n, 6)}``."""
        # the product's probabilities: calibration and the ALS evidence cap (models.evidence)
        lgbm = self.product_proba(X)
        return {
            "lightgbm": lgbm,
            "logreg": logreg_proba(self.logreg, X),
            "rules": rules_proba(X),
        }


def model_metrics(codes: np.ndarray, probas: Probas, *, n_bins: int) -> dict[str, Any]:
    """``{model: classification_metrics}`` for each of :data:`MODELS`."""
    return {m: classification_metrics(codes, probas[m], n_bins=n_bins) for m in MODELS}


def evaluate_all(
    scorer: Scorer,
    X: pd.DataFrame,
    y: pd.Series,
    split: pd.Series,
    studies: pd.DataFrame,
    *,
    age_edges: Sequence[float],
    n_bins: int,
) -> tuple[dict[str, Any], dict[str, Probas], dict[str, np.ndarray]]:
    """Metrics per split and model, plus the probabilities and labels used (for plots)."""
    metrics: dict[str, Any] = {}
    probas: dict[str, Probas] = {}
    labels: dict[str, np.ndarray] = {}
    for s in SPLITS:
        ids = split.index[split == s]
        if len(ids) == 0:
            logger.warning("evaluate: split %r is empty", s)
            continue
        codes = encode_labels(y.loc[ids])
        probas[s] = scorer.proba(X.loc[ids])
        labels[s] = codes
        metrics[s] = model_metrics(codes, probas[s], n_bins=n_bins)
    info = studies.set_index(studies["study_id"].astype(str))
    if "test" in probas:
        ids = split.index[split == "test"]
        sex = info["sex"].reindex(ids).fillna("U") if "sex" in info else pd.Series("U", index=ids)
        band = age_band(info["age_years"].reindex(ids), age_edges)
        metrics["by_sex"] = subgroup_metrics(labels["test"], probas["test"]["lightgbm"], sex)
        metrics["by_age_band"] = subgroup_metrics(labels["test"], probas["test"]["lightgbm"], band)
    both = [s for s in ("test", "heldout_site") if s in probas]
    if both and "site_id" in info:
        both_ids = np.concatenate([split.index[split == s] for s in both])
        site = info["site_id"].reindex(both_ids).fillna("unknown")
        metrics["by_site"] = subgroup_metrics(
            np.concatenate([labels[s] for s in both]),
            np.concatenate([probas[s]["lightgbm"] for s in both]),
            site,
        )
    return metrics, probas, labels


def evidence_metrics(
    X: pd.DataFrame, y: pd.Series, probas: Probas, codes: np.ndarray, *, n_bins: int
) -> dict[str, Any]:
    """The metrics on the studies whose findings hold the evidence that defines their class.

    The others (e.g. a radiculopathy with a normal needle study) are scored elsewhere against
    a label the findings cannot show (:func:`models.evidence.missing_evidence`).
    ``share_of_studies`` is the share kept.
    """
    ok = missing_evidence(X, y.to_numpy(dtype=object)) == ""
    share = round(float(ok.mean()), 4)
    return {
        m: {
            **classification_metrics(codes[ok], probas[m][ok], n_bins=n_bins),
            "share_of_studies": share,
        }
        for m in MODELS
    }


def ed_reference_metrics(
    X: pd.DataFrame, y: pd.Series, probas: Probas, *, n_bins: int
) -> dict[str, Any]:
    """The metrics against the conclusion the findings allow (what a lab's own label would be).

    Inconclusive studies (no class a clinician could name,
    :func:`models.evidence.electrodiagnostic_reference` returns ``""``) are left out;
    ``share_of_studies`` is the share kept.
    """
    ref = electrodiagnostic_reference(X, y.to_numpy(dtype=object))
    ok = ref != ""
    codes = encode_labels(pd.Series(ref[ok]))
    return {
        m: {
            **classification_metrics(codes, probas[m][ok], n_bins=n_bins),
            "share_of_studies": round(float(ok.mean()), 4),
        }
        for m in MODELS
    }


def general_lab_metrics(
    codes: np.ndarray,
    proba: np.ndarray,
    train_prior: Mapping[str, float],
    *,
    n_bins: int,
    seed: int,
    n_draws: int = 20_000,
) -> dict[str, Any]:
    """LightGBM at the class mix of a general EMG lab instead of the simulated training mix.

    Test studies are resampled (with replacement, class by class) to
    :data:`features.vocab.GENERAL_LAB_PRIOR` (clinical reference §7.5: about 80 % normal,
    1 % ALS, 1 % myopathy); metrics are computed for the probabilities as the model gives them
    and after Bayes' prior correction (:func:`models.calibration.shift_prior`).
    """
    rng = np.random.default_rng(seed)
    target = np.array([GENERAL_LAB_PRIOR[c] for c in CLASSES])
    present = [k for k in range(len(CLASSES)) if np.any(codes == k)]
    shares = target[present] / target[present].sum()
    counts = rng.multinomial(n_draws, shares)
    idx = np.concatenate(
        [
            rng.choice(np.flatnonzero(codes == k), size=n, replace=True)
            for k, n in zip(present, counts, strict=True)
        ]
    )
    train = np.array([max(float(train_prior.get(c, 0.0)), 1e-6) for c in CLASSES])
    corrected = shift_prior(proba[idx], train, target)
    return {
        "lightgbm": classification_metrics(codes[idx], proba[idx], n_bins=n_bins),
        "lightgbm_prior_corrected": classification_metrics(codes[idx], corrected, n_bins=n_bins),
    }


HEADLINE_KEYS: tuple[str, ...] = (
    "macro_f1",
    "accuracy",
    "pattern_accuracy",
    "ece",
    "auc_ovr_macro",
)

#: the score sets of ``reports/metrics.json``, in order
HEADLINE_SETS: tuple[str, ...] = (
    *SPLITS,
    "test_evidence_present",
    "heldout_site_evidence_present",
    "test_ed_reference",
    "heldout_site_ed_reference",
    "robustness_half",
    "robustness_protocol_swap",
    "general_lab_prior",
)


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The compact metrics: headline numbers per score set and model, plus the macro-F1 gaps.

    ``{"test": {"lightgbm": {"macro_f1": ..., ...}, ...}, ..., "gap_test_minus_heldout": {...}}``
    """
    out: dict[str, Any] = {}
    for s in HEADLINE_SETS:
        if s in metrics:
            out[s] = {
                m: {
                    k: metrics[s][m][k]
                    for k in (*HEADLINE_KEYS, "share_of_studies")
                    if k in metrics[s][m]
                }
                for m in (*MODELS, "lightgbm_prior_corrected")
                if m in metrics[s]
            }
    if "conformal" in metrics:
        out["conformal"] = conformal_headline(metrics["conformal"])
    for name, other in (
        ("gap_test_minus_heldout", "heldout_site"),
        ("gap_test_minus_half", "robustness_half"),
        ("gap_test_minus_protocol_swap", "robustness_protocol_swap"),
    ):
        if "test" in out and other in out:
            out[name] = {
                m: round(out["test"][m]["macro_f1"] - out[other][m]["macro_f1"], 4) for m in MODELS
            }
    return out


def class_coverage_gap(table: Mapping[str, Any], nominal: float) -> float | None:
    """The largest distance of a class's coverage from ``nominal``, either way (the issue's
    "within 2 points of nominal for every class"); None without per-class coverage."""
    got = [v["coverage"] for v in table["per_class"].values() if v["coverage"] is not None]
    return round(max(abs(c - nominal) for c in got), 4) if got else None


def conformal_headline(conformal: Mapping[str, Any]) -> dict[str, Any]:
    """The prediction sets' compact numbers: per split and prior, the lowest per-class coverage,
    the largest distance of a class's coverage from nominal (:func:`class_coverage_gap`) and the
    mean set size (at the general lab's class mix for ``general_lab``)."""
    out: dict[str, Any] = {"nominal_coverage": conformal["nominal_coverage"]}
    for s in SPLITS:
        if s not in conformal:
            continue
        train, lab = conformal[s]["training"], conformal[s]["general_lab"]
        out[s] = {
            "min_class_coverage": train["min_class_coverage"],
            "max_class_gap": class_coverage_gap(train, conformal["nominal_coverage"]),
            "mean_set_size": train["mean_set_size"],
        }
        out[f"{s}_general_lab"] = {
            "min_class_coverage": lab["min_class_coverage"],
            "max_class_gap": class_coverage_gap(lab, conformal["nominal_coverage"]),
            "mean_set_size": lab["at_general_lab_mix"]["mean_set_size"],
        }
    return out
