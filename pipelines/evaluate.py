"""``emgdx evaluate``: score LightGBM, the logistic baseline and the rules; write DVC metrics.

Scores every model on ``valid``, ``test`` (in distribution) and ``heldout_site``; adds
per-class metrics, one-vs-rest AUC, pattern accuracy, calibration error, subgroups (sex, age
band, site) and robustness (test studies re-featurized after keeping about half their nerves
and muscles). Writes ``<out>/metrics.json`` (compact headline for ``dvc metrics show``),
``<out>/metrics_detail.json`` (per class, subgroups) and ``<out>/plots/*``, and logs them, with
the timings (MLflow only: the files hold nothing that differs between two runs of the same
inputs), to the MLflow run that trained the model (:func:`models.provenance.training_run_id`).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bundle.load import load_valid
from models import tracking
from models.dataset import labelled_inputs, read_features
from models.evaluate import (
    confusion_frame,
    confusion_long,
    reliability_table,
)
from models.plots import (
    plot_confusion,
    plot_metric_bars,
    plot_reliability,
    plot_shap_summary,
    shap_importance,
)
from models.provenance import training_run_id
from models.robustness import protocol_swapped_features, thinned_features
from models.scoring import (
    Scorer,
    ed_reference_metrics,
    evaluate_all,
    evidence_metrics,
    general_lab_metrics,
    headline,
    model_metrics,
)
from models.train import encode_labels
from pipelines.config import load_params

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--bundle", type=Path, required=True, help="validated bundle folder")
    parser.add_argument("--features", type=Path, required=True, help="features.parquet")
    parser.add_argument("--splits", type=Path, required=True, help="splits.parquet")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="reports folder")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument(
        "--scope", type=Path, default=None, help="out-of-scope detector folder (emgdx scope)"
    )
    return parser.parse_args(argv)


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
        metrics["robustness_half"] = model_metrics(
            encode_labels(y.loc[X_half.index]), scorer.proba(X_half), n_bins=p.ece_bins
        )
        X_swap = protocol_swapped_features(bundle, test_ids, seed=p.seed)
        X_swap = X_swap.loc[X_swap.index.intersection(test_ids)]
        metrics["robustness_protocol_swap"] = model_metrics(
            encode_labels(y.loc[X_swap.index]), scorer.proba(X_swap), n_bins=p.ece_bins
        )
    robust_s = time.perf_counter() - t0
    for s in ("test", "heldout_site"):
        if s in probas:
            ids = split.index[split == s]
            metrics[f"{s}_evidence_present"] = evidence_metrics(
                X.loc[ids], y.loc[ids], probas[s], labels[s], n_bins=p.ece_bins
            )
            metrics[f"{s}_ed_reference"] = ed_reference_metrics(
                X.loc[ids], y.loc[ids], probas[s], n_bins=p.ece_bins
            )
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
        confusion_long(list(ids), labels["test"], probas["test"]["lightgbm"]).to_csv(
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

    if args.scope is not None:
        metrics["out_of_scope"] = _out_of_scope(args, scorer, X, y, split)
    timing = {"robustness_s": robust_s, "total_s": time.perf_counter() - t_start}
    summary = headline(metrics)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (args.out / "metrics_detail.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )

    run_id = training_run_id(args.model)
    if run_id:
        import mlflow

        with tracking.start_run(run_id=run_id):
            mlflow.log_metrics(tracking.grouped(metrics))
            mlflow.log_metrics(tracking.grouped(timing, "timing"))
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


def _out_of_scope(
    args: argparse.Namespace, scorer: Scorer, X: pd.DataFrame, y: pd.Series, split: pd.Series
) -> dict[str, object]:
    """The out-of-scope report (``models.oos_eval``) on simulated conditions and the test split."""
    from features.vocab import CLASSES
    from models.oos_eval import score_out_of_scope
    from models.scope import ScopeDetector

    det = ScopeDetector.load(args.scope)
    if det is None:
        raise SystemExit(f"emgdx evaluate: no out-of-scope detector in {args.scope}")
    sp = load_params(args.params).scope
    ids = split.index[split == "test"]

    def proba(frame: pd.DataFrame) -> np.ndarray:
        out = scorer.proba(frame)["lightgbm"]
        return np.asarray(out)[:, : len(CLASSES)]

    return score_out_of_scope(
        proba, det, sp.n_eval_per_condition, sp.seed + 1, X.loc[ids], encode_labels(y.loc[ids])
    )


if __name__ == "__main__":
    raise SystemExit(main())
