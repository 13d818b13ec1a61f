"""``emgdx train``: LightGBM + logistic baseline, calibration, OOD profile, one MLflow run.

Reads the validated bundle (labels, and the training studies to thin for augmentation), the
feature table and the splits; writes the model directory of the saved-model contract
(``booster.txt``, ``model.json``, ``ood_profile.json``, ``baselines/logreg.skops``) and
``reports/train.json``. The MLflow run it opens is resumed by ``evaluate``, ``physiology``,
``clinical``, ``register`` and ``report``: its id is in the run record beside the model
(``data/model.run.json``, :mod:`models.provenance`), not in the model directory or
``train.json``, so what DVC hashes and git holds is the same on every machine. Timings go to
MLflow only.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bundle.load import load_valid
from models import tracking
from models.artifact import content_version, read_meta
from models.baselines import save_logreg
from models.dataset import labelled_inputs, read_features
from models.distributed import close_client, dask_booster_fitter, get_client
from models.plots import feature_importance, plot_feature_importance
from models.provenance import save_run_record
from models.scope import ScopeDetector, copy_into_model, files_digest
from models.train import augmented_features, save_model_dir, train_model
from pipelines.config import load_params
from pipelines.extra_bundles import extra_sources, study_weights

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx train", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="validated bundle folder")
    parser.add_argument("--features", type=Path, required=True, help="features.parquet")
    parser.add_argument("--splits", type=Path, required=True, help="splits.parquet")
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument(
        "--report", type=Path, default=Path("reports/train.json"), help="train summary JSON"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument(
        "--scope",
        type=Path,
        default=None,
        help="out-of-scope detector folder (emgdx scope), copied into the model directory",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the train stage; returns the exit status."""
    args = _parse_args(argv)
    params = load_params(args.params)
    p = params.train
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.scope is not None and ScopeDetector.load(args.scope) is None:
        raise SystemExit(f"emgdx train: no out-of-scope detector (scope.json) in {args.scope}")
    bundle = load_valid(args.bundle)
    X, y, split = labelled_inputs(
        read_features(args.features), bundle.studies, pd.read_parquet(args.splits)
    )
    timings["load_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    train_ids = list(split.index[split == "train"])
    X_aug = augmented_features(
        bundle,
        train_ids,
        n_copies=p.augment.n_copies,
        drop_kwargs=p.augment.model_dump(exclude={"n_copies", "p_protocol_transplant"}),
        seed=p.seed,
        p_protocol_transplant=p.augment.p_protocol_transplant,
    )
    # partial-report copies of the calib studies, for the prediction-set thresholds only
    # (models.conformal.fit_conformal): thinned the way training copies are, another seed
    X_calib_copies = augmented_features(
        bundle,
        list(split.index[split == "calib"]),
        n_copies=p.conformal.partial_report_copies,
        drop_kwargs=p.augment.model_dump(exclude={"n_copies", "p_protocol_transplant"}),
        seed=p.seed + 1,
        p_protocol_transplant=p.augment.p_protocol_transplant,
    )
    timings["augment_s"] = time.perf_counter() - t0

    project = tracking.project_dir()
    description = (
        f"emgdx train: LightGBM ({p.model}, {p.num_leaves} leaves, learning rate "
        f"{p.learning_rate}) on the train split of {args.features} ({int((split == 'train').sum())} "
        f"studies + {len(X_aug)} thinned copies), calibrated on the calib split; engine "
        f"{params.engine.engine}. Evaluate, clinical and register add their metrics to this run."
    )
    with tracking.start_run(
        stage="train", params=p.model_dump(), description=description, project=project
    ) as run:
        import mlflow

        tracking.log_dataset(X, source=args.features, name="features", context="training")
        # the labelled real studies (data.extra_bundles): each exported bundle is an input
        sources = extra_sources(bundle.studies)
        for src in sorted(set(sources)):
            ids = sources.index[sources == src]
            rows = bundle.studies[bundle.studies["study_id"].astype(str).isin(ids)]
            tracking.log_dataset(
                rows, source=Path(src), name=f"extra:{Path(src).name}", context="training"
            )
        if len(sources):
            mlflow.log_metric("train.n_real_studies", float(len(sources)))

        t0 = time.perf_counter()
        client = get_client(params.engine.model_dump())
        try:
            fit_booster = (
                None
                if client is None
                else dask_booster_fitter(client, npartitions=params.engine.npartitions)
            )
            model = train_model(
                X,
                y,
                split,
                p,
                X_aug=X_aug if len(X_aug) else None,
                fit_booster=fit_booster,
                study_weight=study_weights(bundle.studies),
                X_calib_copies=X_calib_copies if len(X_calib_copies) else None,
            )
        finally:
            close_client(client)
        timings["fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.ood_profile = _fit_ood(X.loc[split == "train"])
        timings["ood_s"] = time.perf_counter() - t0
        version = None
        if args.scope is not None:  # the out-of-scope detector is part of the model artifact
            version = content_version(
                model.booster,
                model.calibration,
                model.conformal,
                parts_digest=files_digest(args.scope),
            )
        save_model_dir(model, args.out, version=version)
        if args.scope is not None:
            copy_into_model(args.scope, args.out)
        save_logreg(model.logreg, args.out / "baselines")
        meta = read_meta(args.out)
        save_run_record(
            args.out,
            model_version=meta.version,
            mlflow_run_id=run.info.run_id,
            git_commit=tracking.git_commit(project),
        )

        importance = feature_importance(model.booster)
        plots = args.report.parent / "plots"
        plots.mkdir(parents=True, exist_ok=True)
        importance.to_csv(plots / "feature_importance.csv", index=False)
        plot_feature_importance(importance).savefig(plots / "feature_importance.png", dpi=110)

        summary: dict[str, Any] = {**model.metrics, "model_version": meta.version}
        summary["excluded_groups"] = ",".join(model.excluded_groups)
        mlflow.log_params(tracking.flatten_params(p.model_dump()))
        mlflow.log_param("engine", params.engine.engine)
        mlflow.set_tag("model_version", meta.version)
        mlflow.log_metrics(tracking.grouped(model.metrics, "train"))
        mlflow.log_metrics(tracking.grouped({f"time_{k}": v for k, v in timings.items()}, "train"))
        mlflow.log_artifact(str(plots / "feature_importance.csv"), "plots")
        mlflow.log_artifact(str(plots / "feature_importance.png"), "plots")
        mlflow.log_artifacts(str(args.out), "model_dir")

    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    logger.info("train: model %s written to %s (run %s)", meta.version, args.out, run.info.run_id)
    return 0


def _fit_ood(X_train: pd.DataFrame):
    """OOD profile on the un-augmented training features (all groups, coverage included)."""
    from models.ood import fit_ood_profile

    return fit_ood_profile(X_train)


if __name__ == "__main__":
    raise SystemExit(main())
