"""Prediction latency: one study end to end, and batch throughput vs ``shap.TreeExplainer``.

``python -m benchmarks.bench_predict [--model DIR] [--n-single 200] [--n-batch 500]``. Without
``--model`` it trains the tiny test model (600 simulated studies) in a temporary folder; pass
the real ``data/model`` for production figures. Prints a JSON document of the figures (ms and
studies/s); ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _timed(fn: Callable[[], Any], repeats: int, warmup: int = 5) -> dict[str, float]:
    """p50/p95/mean wall time of ``fn`` in ms."""
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    ms = times * 1000.0
    return {
        "p50_ms": round(float(np.median(ms)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def run_benchmark(
    model_dir: Path, *, n_single: int = 200, n_batch: int = 500, seed: int = 7
) -> dict:
    """Measure single-study latency and batch throughput of the predictor on simulated studies."""
    import shap

    from features.build import build_features
    from models.explain import explain_raw
    from models.predictor import Predictor
    from simulator.cohort import simulate_cohort

    t0 = time.perf_counter()
    predictor = Predictor.load(model_dir)
    load_s = time.perf_counter() - t0
    bundle = simulate_cohort(max(n_batch, 50), seed)
    X = build_features(bundle)
    Xm = predictor.model_frame(X)
    one_id = bundle.study_ids[0]
    one_bundle = bundle.subset([one_id])
    one_X = X.iloc[[0]]
    one_Xm = Xm.iloc[[0]]
    booster = predictor.booster
    explainer = shap.TreeExplainer(booster)

    single = {
        "predict_features (probabilities + explanations + flags + guideline)": _timed(
            lambda: predictor.predict_features(one_X), n_single
        ),
        "predict_bundle (featurize + all of the above)": _timed(
            lambda: predictor.predict_bundle(one_bundle), max(n_single // 4, 20)
        ),
        "booster.predict raw_score": _timed(
            lambda: booster.predict(one_Xm, raw_score=True, num_threads=1), n_single
        ),
        "explain_raw (native pred_contrib, 1 thread)": _timed(
            lambda: explain_raw(booster, one_Xm), n_single
        ),
        "shap.TreeExplainer.shap_values (explainer reused)": _timed(
            lambda: explainer.shap_values(one_Xm), n_single
        ),
        "ood profile score": _timed(lambda: predictor.ood.score(one_X), n_single)
        if predictor.ood is not None
        else None,
    }
    batch_X, batch_Xm = X.iloc[:n_batch], Xm.iloc[:n_batch]
    t0 = time.perf_counter()
    predictor.predict_features(batch_X)
    t_pred = time.perf_counter() - t0
    t0 = time.perf_counter()
    explain_raw(booster, batch_Xm)
    t_native = time.perf_counter() - t0
    t0 = time.perf_counter()
    explainer.shap_values(batch_Xm)
    t_shap = time.perf_counter() - t0
    n = len(batch_X)
    return {
        "model_dir": str(model_dir),
        "n_trees": booster.num_trees(),
        "n_features": booster.num_feature(),
        "load_s": round(load_s, 3),
        "single_study": single,
        "batch": {
            "n_studies": n,
            "predict_features_studies_per_s": round(n / t_pred, 1),
            "native_pred_contrib_studies_per_s": round(n / t_native, 1),
            "shap_tree_explainer_studies_per_s": round(n / t_shap, 1),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its JSON figures."""
    parser = argparse.ArgumentParser(prog="bench_predict", description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: tiny model)")
    parser.add_argument("--n-single", type=int, default=200)
    parser.add_argument("--n-batch", type=int, default=500)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="emgdx-bench-") as tmp:
        model_dir = args.model
        if model_dir is None:
            from tests.helpers.tiny import make_tiny_model

            model_dir = make_tiny_model(Path(tmp) / "model")
        result = run_benchmark(model_dir, n_single=args.n_single, n_batch=args.n_batch)
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
