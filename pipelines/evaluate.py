"""``emgdx evaluate``: score LightGBM, the logistic baseline and the rules; write DVC metrics.

Scores every model on ``valid``, ``test`` (in distribution) and ``heldout_site``; adds
per-class metrics, one-vs-rest AUC, pattern accuracy, calibration error, subgroups (sex, age
band, site) and robustness (test studies re-featurized after keeping about half their nerves
and muscles); with ``--truth`` (the simulator's side table) the radiculopathy localiser against
the simulated roots (:mod:`models.localisation_eval`, section ``localisation``); and the
conformal prediction sets (coverage and set size per class on ``test`` and
``heldout_site`` at the training and general-lab priors, ``models.conformal_eval``, and the
risk-coverage figure). Writes ``<out>/metrics.json`` (compact headline for ``dvc metrics show``),
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
from models.conformal import set_membership
from models.conformal_eval import conformal_metrics, risk_coverage
from models.dataset import labelled_inputs, read_features
from models.evaluate import (
    classification_metrics,
    confusion_frame,
    confusion_long,
    reliability_table,
)
from models.localisation_eval import TRUTH_READ, localisation_headline, localisation_report
from models.plots import (
    plot_confusion,
    plot_metric_bars,
    plot_reliability,
    plot_risk_coverage,
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
from pipelines.extra_bundles import extra_sources

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
        "--truth",
        type=Path,
        default=None,
        help="the simulator's side table (physiology.parquet) for the localisation score; "
        "a missing file (a lab's own bundle) leaves the section out",
    )
    parser.add_argument(
        "--scope", type=Path, default=None, help="out-of-scope detector folder (emgdx scope)"
    )
    return parser.parse_args(argv)


def _truth(path: Path | None) -> pd.DataFrame | None:
    """The simulator's truth table, or None (no file: a lab's bundle; an older table: warned)."""
    if path is None or not path.is_file():
        return None
    truth = pd.read_parquet(path)
    missing = [c for c in TRUTH_READ if c not in truth.columns]
    if missing:
        logger.warning(
            "evaluate: %s has no %s (written by an older simulator): no localisation score",
            path,
            ", ".join(missing),
        )
        return None
    return truth


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
    localisation = None
    truth = _truth(args.truth)
    if truth is not None:
        localisation = localisation_report(
            bundle, truth, list(split.index[split == "heldout_site"])
        )
        figures["localisation_confusion.png"] = plot_confusion(
            localisation[2], "Radiculopathy root: simulated (rows) vs localised"
        )
    conformal = scorer.meta.conformal
    if conformal is not None:
        # the prediction sets as the page shows them, at both stated priors (models.conformal)
        metrics["conformal"] = {
            "alpha": conformal.alpha,
            "nominal_coverage": conformal.coverage,
            "n_calib": conformal.n_calib,
            "n_calib_copies": conformal.n_calib_copies,
        }
        curves = {}
        for s in ("test", "heldout_site"):
            if s not in probas:
                continue
            X_s = X.loc[split.index[split == s]]
            by_prior = {"training": probas[s]["lightgbm"]}
            by_prior["general_lab"] = scorer.product_proba(X_s, "general_lab")
            metrics["conformal"][s] = conformal_metrics(conformal, by_prior, labels[s])
            curves[s] = risk_coverage(
                by_prior["training"],
                labels[s],
                set_membership(by_prior["training"], conformal.threshold_vector("training")),
            )
        figures["risk_coverage.png"] = plot_risk_coverage(
            curves,
            {
                s: {
                    c: v["coverage"]
                    for c, v in metrics["conformal"][s]["training"]["per_class"].items()
                }
                for s in curves
            },
            conformal.coverage,
        )
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

    real = real_study_metrics(scorer, X, y, split, bundle.studies, n_bins=p.ece_bins)
    if real:
        metrics["real_studies"] = real

    if args.scope is not None:
        metrics["out_of_scope"] = _out_of_scope(args, scorer, X, y, split)
    timing = {"robustness_s": robust_s, "total_s": time.perf_counter() - t_start}
    summary = headline(metrics)
    if localisation is not None:
        summary["localisation"] = localisation_headline(localisation[0]["all"])  # type: ignore[arg-type]
    if real:
        summary["real_studies"] = real
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    detail = metrics if localisation is None else {**metrics, "localisation": localisation[0]}
    (args.out / "metrics_detail.json").write_text(
        json.dumps(detail, indent=2) + "\n", encoding="utf-8"
    )

    run_id = training_run_id(args.model)
    if run_id:
        import mlflow

        with tracking.start_run(run_id=run_id):
            mlflow.log_metrics(tracking.grouped(metrics))
            mlflow.log_metrics(tracking.grouped(timing, "timing"))
            if localisation is not None:
                mlflow.log_metrics(tracking.grouped(localisation[1], "localisation"))
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


#: the real-study scores: held-out splits, and every study the booster was not fitted on
REAL_SPLITS: dict[str, tuple[str, ...]] = {
    "test": ("test",),
    "heldout_site": ("heldout_site",),
    "not_trained_on": ("valid", "calib", "test", "heldout_site"),
}
_REAL_KEYS = ("n", "macro_f1", "accuracy", "log_loss")


def real_study_metrics(
    scorer: Scorer,
    X: pd.DataFrame,
    y: pd.Series,
    split: pd.Series,
    studies: pd.DataFrame,
    *,
    n_bins: int,
) -> dict[str, dict[str, object]]:
    """LightGBM's score on the appended real studies (``data.extra_bundles``), by split and site.

    Empty when no extra bundle was appended. The splits are patient-grouped (``split`` stage),
    so a real patient's studies are scored only on splits they were not trained on.
    """
    sources = extra_sources(studies)
    if not len(sources):
        return {}
    site = studies.set_index(studies["study_id"].astype(str))["site_id"].astype(str)
    out: dict[str, dict[str, object]] = {}
    for name, names in REAL_SPLITS.items():
        ids = [i for i in split.index[split.isin(names)] if i in sources.index]
        if not ids:
            continue
        codes = encode_labels(y.loc[ids])
        proba = scorer.proba(X.loc[ids])["lightgbm"]
        m = classification_metrics(codes, proba, n_bins=n_bins)
        entry: dict[str, object] = {k: m[k] for k in _REAL_KEYS}
        by_site = {}
        for s_id, idx in pd.Series(range(len(ids)), index=site.loc[ids]).groupby(level=0):
            pos = idx.to_numpy()
            sm = classification_metrics(codes[pos], proba[pos], n_bins=n_bins)
            by_site[str(s_id)] = {k: sm[k] for k in ("n", "macro_f1", "accuracy")}
        entry["by_site"] = by_site
        out[name] = entry
    return out


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
