"""Prediction latency: one study end to end, and batch explained prediction vs shap.

The batch figure is ``Predictor.predict_features`` (probabilities, TreeSHAP of the classes
shown, flags, guideline check, sentences) against ``shap.TreeExplainer(...).shap_values``
(raw values of every class alone; one explainer per head of a one-vs-rest model) on the same
model and studies, run in turn (a b a b ...) with the median of the per-pair ratios. The
explanation is checked equal to shap's within 1e-6 log-odds.

``python -m benchmarks.bench_predict [--model DIR] [--n-single 200] [--n-batch 500]``. Without
``--model`` it trains the tiny test model (600 simulated studies) in a temporary folder; pass
the real ``data/model`` for production figures. Prints a JSON document of the figures (ms and
studies/s); ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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


def shap_values(explainers: list[Any], X: Any) -> np.ndarray:
    """shap's TreeSHAP of every class, (n, F, K), from one explainer per head (or one in all)."""
    parts = []
    for explainer in explainers:
        v = explainer.shap_values(X)
        v = np.asarray(v)
        if v.ndim == 3 and v.shape[0] != X.shape[0]:  # older shap: a list of (n, F) per class
            v = np.moveaxis(v, 0, -1)
        parts.append(v if v.ndim == 3 else v[:, :, None])
    return np.concatenate(parts, axis=2)


def _explainers(booster: Any) -> list[Any]:
    """``shap.TreeExplainer`` of the model: one per head of a one-vs-rest model."""
    import shap

    from models.ovr import OvRBooster

    heads = booster.heads if isinstance(booster, OvRBooster) else [booster]
    return [shap.TreeExplainer(h) for h in heads]


def _paired(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> tuple[float, float, float]:
    """Median seconds of ``a`` and ``b`` run in turn (a b a b ...), and the median of b/a."""
    ta, tb = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t0)
    ratio = float(np.median(np.array(tb) / np.array(ta)))
    return float(np.median(ta)), float(np.median(tb)), ratio


def run_benchmark(
    model_dir: Path, *, n_single: int = 200, n_batch: int = 500, seed: int = 7, rounds: int = 5
) -> dict:
    """Single-study latency, and batch explained prediction against shap on the same model."""
    from features.build import build_features
    from models.explain import explain_raw, explain_shown
    from models.predictor import Predictor
    from models.probabilities import ranking
    from simulator.cohort import simulate_cohort

    t0 = time.perf_counter()
    predictor = Predictor.load(model_dir)
    load_s = time.perf_counter() - t0
    bundle = simulate_cohort(max(n_batch, 50), seed)
    X = build_features(bundle)
    Xm = predictor.model_frame(X)
    one_bundle = bundle.subset([bundle.study_ids[0]])
    one_X, one_Xm = X.iloc[[0]], Xm.iloc[[0]]
    booster = predictor.booster
    explainers = _explainers(booster)

    single = {
        "predict_features (probabilities + explanations + flags + guideline)": _timed(
            lambda: predictor.predict_features(one_X), n_single
        ),
        "predict_bundle (featurize + all of the above)": _timed(
            lambda: predictor.predict_bundle(one_bundle), max(n_single // 4, 20)
        ),
        "booster.predict raw_score": _timed(
            lambda: booster.predict(one_Xm.to_numpy(), raw_score=True, num_threads=1), n_single
        ),
        "explain_raw (native pred_contrib, every class, 1 thread)": _timed(
            lambda: explain_raw(booster, one_Xm), n_single
        ),
        "shap.TreeExplainer.shap_values (every class, explainers reused)": _timed(
            lambda: shap_values(explainers, one_Xm), n_single
        ),
        "ood profile score": _timed(lambda: predictor.ood.score(one_X), n_single)
        if predictor.ood is not None
        else None,
    }

    batch_X, batch_Xm = X.iloc[:n_batch], Xm.iloc[:n_batch]
    n = len(batch_X)
    # exactness: LightGBM's TreeSHAP of the classes shown equals shap's, to 1e-6 log-odds
    values = predictor.model_values(batch_X)
    proba, _ = predictor.probabilities_from_raw(predictor.raw_scores(values), batch_X)
    top, second = ranking(proba)
    shown = explain_shown(booster, values, top, second)
    reference = shap_values(explainers, batch_Xm)
    rows = np.arange(n)
    diff_top = np.abs(shown.top - reference[rows, :, top]).max()
    diff_versus = np.abs(shown.versus - (reference[rows, :, top] - reference[rows, :, second]))
    max_abs_diff = float(max(diff_top, diff_versus.max()))

    t_pred, t_shap, ratio = _paired(
        lambda: predictor.predict_features(batch_X),
        lambda: shap_values(explainers, batch_Xm),
        rounds,
    )
    t_native = float(
        np.median([_seconds(lambda: explain_raw(booster, batch_Xm)) for _ in range(3)])
    )
    return {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "model_dir": str(model_dir),
        "n_trees": booster.num_trees() if hasattr(booster, "num_trees") else None,
        "n_features": booster.num_feature(),
        "load_s": round(load_s, 3),
        "single_study": single,
        "batch": {
            "n_studies": n,
            "rounds": rounds,
            "predict_features_studies_per_s": round(n / t_pred, 1),
            "shap_tree_explainer_studies_per_s": round(n / t_shap, 1),
            "native_pred_contrib_every_class_studies_per_s": round(n / t_native, 1),
            "explained_prediction_vs_shap_median_ratio": round(ratio, 2),
            "max_abs_diff_vs_shap": max_abs_diff,
            "equal_to_shap_within_1e-6": max_abs_diff <= 1e-6,
        },
    }


def _seconds(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its JSON figures."""
    parser = argparse.ArgumentParser(prog="bench_predict", description=__doc__)
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: tiny model)")
    parser.add_argument("--n-single", type=int, default=200)
    parser.add_argument("--n-batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds against shap")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="emgdx-bench-") as tmp:
        model_dir = args.model
        if model_dir is None:
            from tests.helpers.tiny import make_tiny_model

            model_dir = make_tiny_model(Path(tmp) / "model")
        result = run_benchmark(
            model_dir, n_single=args.n_single, n_batch=args.n_batch, rounds=args.rounds
        )
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
