"""One benchmark stage per process: ``python -m benchmarks.stages STAGE [options]``.

Each stage prints one JSON document on stdout with its figures and the process's own peak
resident memory (``peak_rss_mb`` from ``resource.getrusage``), so :mod:`benchmarks.run` can run
every size in a fresh process and one run's peak never hides another's.

Stages
------
simulate  ``--n N --out DIR``: ``simulator.cohort.simulate_to_dir`` (Parquet), studies/s.
chunked   ``--bundle DIR --model DIR``: validate + features + predict in chunks of whole studies.
features  ``--n N --peer-n M``: ``build_features`` studies/s on N in-memory studies, and the
          per-study pandas peer (:mod:`benchmarks.peers`) against it on the same M studies.
train     ``--n N``: LightGBM vs scikit-learn HistGradientBoosting, same features and split.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` from ``/proc/self/status`` (the high-water mark of this process's own address
    space). ``getrusage(...).ru_maxrss`` is only a fallback: Linux carries it across
    fork + exec, so a child of a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def stage_simulate(n: int, out: Path, seed: int) -> dict[str, Any]:
    """Simulate ``n`` studies chunk by chunk into a Parquet bundle."""
    from simulator.cohort import simulate_to_dir  # noqa: PLC0415

    t0 = time.perf_counter()
    simulate_to_dir(out, n, seed, fmt="parquet", progress=sys.stderr.isatty())
    dt = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in Path(out).glob("*.parquet"))
    return {
        "n_studies": n,
        "seconds": round(dt, 2),
        "studies_per_s": round(n / dt, 1),
        "parquet_mb": round(size / 1e6, 1),
    }


def stage_chunked(
    bundle: Path, model: Path | None, chunk_studies: int, out: Path
) -> dict[str, Any]:
    """Validate, featurize and predict a Parquet bundle with :mod:`pipelines.chunked`."""
    from pipelines.chunked import run_chunked  # noqa: PLC0415

    result = run_chunked(
        bundle,
        features_out=out / "features.parquet",
        model_dir=model,
        predictions_out=out / "predictions.parquet" if model is not None else None,
        chunk_studies=chunk_studies,
        progress=sys.stderr.isatty(),
    )
    n = result["studies"]
    sec = result["seconds"]
    result["studies_per_s"] = {
        k: round(n / v, 1)
        for k, v in sec.items()
        if k in ("validate", "features", "predict", "total") and v > 0
    }
    return result


def stage_features(n: int, peer_n: int, seed: int) -> dict[str, Any]:
    """Feature throughput on ``n`` studies; the per-study peer on the first ``peer_n`` of them."""
    from benchmarks.peers import PEER_FEATURES, peer_features  # noqa: PLC0415
    from features.build import build_features  # noqa: PLC0415
    from simulator.cohort import simulate_cohort  # noqa: PLC0415

    bundle = simulate_cohort(n, seed)
    t0 = time.perf_counter()
    X = build_features(bundle)
    dt = time.perf_counter() - t0
    out: dict[str, Any] = {
        "n_studies": n,
        "ncs_rows": len(bundle.ncs),
        "emg_rows": len(bundle.emg),
        "n_features": X.shape[1],
        "seconds": round(dt, 3),
        "studies_per_s": round(n / dt, 1),
    }
    if peer_n > 0:
        small = bundle.subset(bundle.study_ids[:peer_n])
        t0 = time.perf_counter()
        Xs = build_features(small)
        t_engine = time.perf_counter() - t0
        t0 = time.perf_counter()
        P = peer_features(small)
        t_peer = time.perf_counter() - t0
        a = Xs[list(PEER_FEATURES)].to_numpy()
        b = P[list(PEER_FEATURES)].to_numpy()
        agree = bool(np.array_equal(a, b, equal_nan=True))
        out["peer"] = {
            "n_studies": peer_n,
            "features_compared": len(PEER_FEATURES),
            "agrees_with_build_features": agree,
            "engine_seconds_all_features": round(t_engine, 3),
            "peer_seconds_subset": round(t_peer, 3),
            "engine_studies_per_s": round(peer_n / t_engine, 1),
            "peer_studies_per_s": round(peer_n / t_peer, 1),
            "ratio_engine_vs_peer": round(t_peer / t_engine, 1),
        }
    return out


def stage_train(n: int, seed: int, n_estimators: int) -> dict[str, Any]:
    """LightGBM vs HistGradientBoosting on the same features and 80/20 stratified split."""
    import lightgbm as lgb  # noqa: PLC0415
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415
    from sklearn.metrics import f1_score  # noqa: PLC0415
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    from features.build import build_features  # noqa: PLC0415
    from models.train import encode_labels, select_features  # noqa: PLC0415
    from simulator.cohort import simulate_cohort  # noqa: PLC0415

    bundle = simulate_cohort(n, seed)
    X = build_features(bundle)
    X = X[select_features(list(X.columns), ["coverage"])]
    y = encode_labels(bundle.studies["diagnosis"].reset_index(drop=True))
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    # scikit-learn's binning fails on a column never measured in training: drop those for both
    measured = Xtr.columns[Xtr.notna().any()]
    n_all_nan = X.shape[1] - len(measured)
    Xtr, Xte = Xtr[measured], Xte[measured]
    common = {"learning_rate": 0.1}
    lgbm = lgb.LGBMClassifier(
        n_estimators=n_estimators,
        num_leaves=31,
        min_child_samples=20,
        n_jobs=2,
        random_state=seed,
        verbose=-1,
        **common,
    )
    hgb = HistGradientBoostingClassifier(
        max_iter=n_estimators,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        early_stopping=False,
        random_state=seed,
        **common,
    )
    out: dict[str, Any] = {
        "n_studies": n,
        "n_train": len(Xtr),
        "n_test": len(Xte),
        "n_features": Xtr.shape[1],
        "n_features_never_measured_dropped": n_all_nan,
        "rounds": n_estimators,
    }
    for name, model in (("lightgbm", lgbm), ("sklearn_hist_gradient_boosting", hgb)):
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        dt = time.perf_counter() - t0
        f1 = f1_score(yte, model.predict(Xte), average="macro")
        out[name] = {"fit_seconds": round(dt, 2), "macro_f1": round(float(f1), 4)}
    out["ratio_hgb_vs_lightgbm_time"] = round(
        out["sklearn_hist_gradient_boosting"]["fit_seconds"] / out["lightgbm"]["fit_seconds"], 2
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stage and print its JSON figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__)
    parser.add_argument("stage", choices=("simulate", "chunked", "features", "train"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--chunk-studies", type=int, default=50_000)
    parser.add_argument("--peer-n", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.stage == "simulate":
        result = stage_simulate(args.n, args.out, args.seed)
    elif args.stage == "chunked":
        result = stage_chunked(args.bundle, args.model, args.chunk_studies, args.out)
    elif args.stage == "features":
        result = stage_features(args.n, args.peer_n, args.seed)
    else:
        result = stage_train(args.n, args.seed, args.rounds)
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
