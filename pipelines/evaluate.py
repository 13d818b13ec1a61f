"""``emgdx evaluate``: score LightGBM, the logistic baseline and the rules; write DVC metrics.

Scores every model on ``valid``, ``test`` (in distribution) and ``heldout_site``; adds
per-class metrics, one-vs-rest AUC, pattern accuracy, calibration error, subgroups (sex, age
band, site) and robustness (test studies re-featurized after keeping about half their nerves
and muscles). Writes ``<out>/metrics.json`` (compact headline for ``dvc metrics show``),
``<out>/metrics_detail.json`` (per class, subgroups, timing) and ``<out>/plots/*``, and logs
them to the MLflow run that trained the model.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bundle.load import load_valid
from bundle.tables import Bundle
from features.vocab import CLASSES, GENERAL_LAB_PRIOR
from models import tracking
from models.artifact import check_feature_columns, load_model_dir
from models.baselines import load_logreg, logreg_proba
from models.calibration import shift_prior
from models.evaluate import (
    age_band,
    classification_metrics,
    confusion_frame,
    confusion_long,
    reliability_table,
    subgroup_metrics,
)
from models.evidence import (
    als_assessable,
    cap_unassessable_als,
    electrodiagnostic_reference,
    missing_evidence,
)
from models.plots import (
    plot_confusion,
    plot_metric_bars,
    plot_reliability,
    plot_shap_summary,
    shap_importance,
)
from models.rules import rules_proba
from models.train import encode_labels, raw_scores
from pipelines.config import load_params
from pipelines.train import labelled_inputs, read_features

logger = logging.getLogger(__name__)

MODELS: tuple[str, ...] = ("lightgbm", "logreg", "rules")
SPLITS: tuple[str, ...] = ("valid", "test", "heldout_site")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--bundle", type=Path, required=True, help="validated bundle folder")
    parser.add_argument("--features", type=Path, required=True, help="features.parquet")
    parser.add_argument("--splits", type=Path, required=True, help="splits.parquet")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="reports folder")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser.parse_args(argv)


class Scorer:
    """Probabilities of the three models from one saved model directory."""

    def __init__(self, model_dir: Path) -> None:
        loaded = load_model_dir(model_dir)
        self.meta = loaded.meta
        self.booster = loaded.booster
        self.logreg = load_logreg(model_dir / "baselines")
        self.calibration = self.meta.calibrator

    def proba(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """``{"lightgbm": (n, 6), "logreg": (n, 6), "rules": (n, 6)}``."""
        check_feature_columns(self.meta, X.columns, what="the feature table")
        # the product's probabilities: calibration and the ALS evidence cap (models.evidence)
        lgbm = cap_unassessable_als(
            self.calibration.apply(raw_scores(self.booster, X)),
            als_assessable(X),
            CLASSES.index("als"),
        )
        return {
            "lightgbm": lgbm,
            "logreg": logreg_proba(self.logreg, X),
            "rules": rules_proba(X),
        }


def thinned_features(
    bundle: Bundle, study_ids: Sequence[str], *, keep: float, seed: int
) -> pd.DataFrame:
    """Features of the given studies after keeping about ``keep`` of their nerves and muscles."""
    from features.augment import drop_tests
    from features.build import build_features

    rng = np.random.default_rng(seed)
    thinned = drop_tests(
        bundle.subset(list(study_ids)),
        rng,
        p_drop_nerve=1.0,
        p_drop_muscle=1.0,
        nerve_share=1.0 - keep,
        muscle_share=1.0 - keep,
        p_drop_region=0.0,
        p_drop_limb=0.0,
        p_drop_numeric_muap=0.0,
        p_drop_value=0.0,
        p_drop_temperature=0.0,
    )
    return build_features(thinned)


def protocol_swapped_features(
    bundle: Bundle, study_ids: Sequence[str], *, seed: int
) -> pd.DataFrame:
    """Features of the given studies after each took the protocol of another test study.

    Only the tests the donor study also did are kept (``features.augment.transplant_protocols``
    with ``p=1``), so the nerves and muscles present no longer follow the study's own referral
    question: a model that reads the protocol instead of the findings loses here.
    """
    from features.augment import transplant_protocols
    from features.build import build_features

    swapped = transplant_protocols(
        bundle.subset(list(study_ids)), np.random.default_rng(seed), p=1.0
    )
    return build_features(swapped)


def evaluate_all(
    scorer: Scorer,
    X: pd.DataFrame,
    y: pd.Series,
    split: pd.Series,
    studies: pd.DataFrame,
    *,
    age_edges: Sequence[float],
    n_bins: int,
) -> tuple[dict, dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Metrics per split and model, plus the probabilities and labels used (for plots)."""
    metrics: dict = {}
    probas: dict[str, dict[str, np.ndarray]] = {}
    labels: dict[str, np.ndarray] = {}
    for s in SPLITS:
        ids = split.index[split == s]
        if len(ids) == 0:
            logger.warning("evaluate: split %r is empty", s)
            continue
        codes = encode_labels(y.loc[ids])
        probas[s] = scorer.proba(X.loc[ids])
        labels[s] = codes
        metrics[s] = {m: classification_metrics(codes, probas[s][m], n_bins=n_bins) for m in MODELS}
    info = studies.set_index(studies["study_id"].astype(str))
    if "test" in probas:
        ids = split.index[split == "test"]
        sex = info["sex"].reindex(ids).fillna("U") if "sex" in info else pd.Series("U", index=ids)
        band = age_band(info["age_years"].reindex(ids), age_edges)
        metrics["by_sex"] = subgroup_metrics(labels["test"], probas["test"]["lightgbm"], sex)
        metrics["by_age_band"] = subgroup_metrics(labels["test"], probas["test"]["lightgbm"], band)
    both = [s for s in ("test", "heldout_site") if s in probas]
    if both and "site_id" in info:
        ids = np.concatenate([split.index[split == s] for s in both])
        site = info["site_id"].reindex(ids).fillna("unknown")
        metrics["by_site"] = subgroup_metrics(
            np.concatenate([labels[s] for s in both]),
            np.concatenate([probas[s]["lightgbm"] for s in both]),
            site,
        )
    return metrics, probas, labels


def general_lab_metrics(
    codes: np.ndarray,
    proba: np.ndarray,
    train_prior: Mapping[str, float],
    *,
    n_bins: int,
    seed: int,
    n_draws: int = 20_000,
) -> dict[str, dict]:
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


def headline(metrics: dict) -> dict:
    """The compact DVC metrics: headline numbers per split and model, plus the gaps in macro-F1.

    ``{"test": {"lightgbm": {"macro_f1": ..., ...}, ...}, ..., "gap_test_minus_heldout": {...}}``
    """
    out: dict = {}
    for s in (
        *SPLITS,
        "test_evidence_present",
        "heldout_site_evidence_present",
        "test_ed_reference",
        "heldout_site_ed_reference",
        "robustness_half",
        "robustness_protocol_swap",
        "general_lab_prior",
    ):
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluate stage; returns the exit status."""
    args = _parse_args(argv)
    p = load_params(args.params).evaluate
    t_start = time.perf_counter()
    bundle = load_valid(args.bundle)
    X, y, split = labelled_inputs(
        read_features(args.features), bundle.studies, pd.read_parquet(args.splits)
    )
    scorer = Scorer(args.model)
    metrics, probas, labels = evaluate_all(
        scorer, X, y, split, bundle.studies, age_edges=p.age_bands_years, n_bins=p.ece_bins
    )

    t0 = time.perf_counter()
    test_ids = list(split.index[split == "test"])
    if test_ids:
        X_half = thinned_features(bundle, test_ids, keep=p.robustness_keep, seed=p.seed)
        X_half = X_half.loc[X_half.index.intersection(test_ids)]
        codes = encode_labels(y.loc[X_half.index])
        half = scorer.proba(X_half)
        metrics["robustness_half"] = {
            m: classification_metrics(codes, half[m], n_bins=p.ece_bins) for m in MODELS
        }
        X_swap = protocol_swapped_features(bundle, test_ids, seed=p.seed)
        X_swap = X_swap.loc[X_swap.index.intersection(test_ids)]
        swap = scorer.proba(X_swap)
        metrics["robustness_protocol_swap"] = {
            m: classification_metrics(
                encode_labels(y.loc[X_swap.index]), swap[m], n_bins=p.ece_bins
            )
            for m in MODELS
        }
    robust_s = time.perf_counter() - t0
    # the same scores on the studies whose findings hold the evidence that defines their
    # class (models.evidence); the others are scored above against a label the findings
    # cannot show (e.g. a radiculopathy with a normal needle study)
    for s in ("test", "heldout_site"):
        if s in probas:
            ids = split.index[split == s]
            ok = missing_evidence(X.loc[ids], y.loc[ids].to_numpy(dtype=object)) == ""
            share = round(float(ok.mean()), 4)
            metrics[f"{s}_evidence_present"] = {
                m: {
                    **classification_metrics(labels[s][ok], probas[s][m][ok], n_bins=p.ece_bins),
                    "share_of_studies": share,
                }
                for m in MODELS
            }
    # scored against the conclusion the findings allow (models.evidence): what a lab's own
    # labels would be; inconclusive studies (no class a clinician could name) are left out
    for s in ("test", "heldout_site"):
        if s in probas:
            ids = split.index[split == s]
            ref = electrodiagnostic_reference(X.loc[ids], y.loc[ids].to_numpy(dtype=object))
            ok = ref != ""
            metrics[f"{s}_ed_reference"] = {
                m: {
                    **classification_metrics(
                        encode_labels(pd.Series(ref[ok])), probas[s][m][ok], n_bins=p.ece_bins
                    ),
                    "share_of_studies": round(float(ok.mean()), 4),
                }
                for m in MODELS
            }
    if "test" in probas:
        metrics["general_lab_prior"] = general_lab_metrics(
            labels["test"],
            probas["test"]["lightgbm"],
            scorer.meta.train_prior,
            n_bins=p.ece_bins,
            seed=p.seed,
        )

    plots = args.out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    figures = {}
    for s in ("test", "heldout_site"):
        if s in probas:
            figures[f"confusion_{s}.png"] = plot_confusion(
                confusion_frame(labels[s], probas[s]["lightgbm"]),
                f"LightGBM, {s.replace('_', ' ')}",
            )
    if "test" in probas:
        ids = split.index[split == "test"]
        confusion_long(ids, labels["test"], probas["test"]["lightgbm"]).to_csv(
            plots / "confusion.csv", index=False
        )
        tables = {
            m: reliability_table(probas["test"][m], labels["test"], p.ece_bins)
            for m in ("lightgbm", "logreg")
        }
        pd.concat([t.assign(model=m) for m, t in tables.items()]).to_csv(
            plots / "reliability.csv", index=False
        )
        figures["reliability.png"] = plot_reliability(tables)
        rng = np.random.default_rng(p.seed)
        sample = rng.choice(ids, size=min(p.shap_sample, len(ids)), replace=False)
        importance = shap_importance(scorer.booster, X.loc[sample, list(scorer.meta.feature_names)])
        importance.to_csv(plots / "shap_importance.csv", index_label="feature")
        figures["shap_summary.png"] = plot_shap_summary(importance)
    figures["macro_f1.png"] = plot_metric_bars(metrics, splits=("test", "heldout_site"))
    for name, fig in figures.items():
        fig.savefig(plots / name, dpi=110)

    metrics["timing"] = {
        "robustness_s": round(robust_s, 2),
        "total_s": round(time.perf_counter() - t_start, 2),
    }
    summary = headline(metrics)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (args.out / "metrics_detail.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )

    run_id = scorer.meta.mlflow_run_id
    if run_id:
        import mlflow

        with tracking.start_run(run_id=run_id):
            mlflow.log_metrics(tracking.mlflow_safe(tracking.flatten(metrics)))
            mlflow.log_artifact(str(args.out / "metrics.json"))
            mlflow.log_artifact(str(args.out / "metrics_detail.json"))
            mlflow.log_artifacts(str(plots), "plots")
    f1 = {
        s: {m: v["macro_f1"] for m, v in summary[s].items()}
        for s in ("test", "heldout_site")
        if s in summary
    }
    logger.info("evaluate: macro-F1 %s", f1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
