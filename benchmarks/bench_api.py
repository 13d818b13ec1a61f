"""``POST /api/predict`` latency for one study, explanations included.

``python -m benchmarks.bench_api [--model DIR] [--study FILE] [--n 200] [--out FILE]``.
Measures two ways: in process (``fastapi.testclient``: validation + features + prediction +
explanation + JSON, no network) and over real HTTP against ``emgdx serve`` on 127.0.0.1 (one
keep-alive connection). Without ``--model`` it trains the tiny test model in a temporary
folder; pass ``data/model`` for production figures. Prints a JSON document (ms).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = ROOT / "docs" / "examples" / "study.json"
SMALL_BUNDLE = ROOT / "docs" / "examples" / "bundle"
#: the verdicts database of the benchmarked server (a throw-away file, never the project's)
BENCH_DB = f"sqlite:///{Path(tempfile.gettempdir()) / 'emgdx-bench.db'}"
TARGET_MEDIAN_MS = 50.0


def _timed(fn: Callable[[], Any], repeats: int, warmup: int = 10) -> dict[str, float]:
    """Wall time p50/p95/mean of ``fn`` in ms, plus the CPU time p50 of this process.

    On a shared machine the wall time includes waiting for a core; the CPU time (all threads
    of this process) is what one call costs on an idle machine (for the HTTP mode it only
    covers the client side).
    """
    for _ in range(warmup):
        fn()
    ms = np.empty(repeats)
    cpu = np.empty(repeats)
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ms[i] = (time.perf_counter() - t0) * 1000.0
        cpu[i] = (time.process_time() - c0) * 1000.0
    return {
        "p50_ms": round(float(np.median(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "cpu_p50_ms": round(float(np.median(cpu)), 2),
        "n": repeats,
    }


def _wait_until_ready(client: Any, timeout_s: float = 60.0) -> None:
    """Wait until the app has loaded its model and listed bundle (steady state)."""
    deadline = time.monotonic() + timeout_s
    while not client.get("/api/health").json()["bundle_loaded"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the listed bundle did not load")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_process(model_dir: Path, doc: dict[str, Any], n: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    # a small listed bundle, so no background prediction of a big one competes for the CPU
    # the API is read anonymously (no account to sign in); the verdicts database is a temp file
    settings = Settings(
        model=str(model_dir), bundle=SMALL_BUNDLE, anonymous_read=True, database_url=BENCH_DB
    )
    with TestClient(create_app(settings)) as client:
        _wait_until_ready(client)

        def call() -> None:
            r = client.post("/api/predict", json=doc)
            if r.status_code != 200 or not r.json()["predictions"][0]["explanation"]:
                raise RuntimeError(f"predict failed: {r.status_code} {r.text[:300]}")

        return _timed(call, n)


def _over_http(model_dir: Path, doc: dict[str, Any], n: int) -> dict[str, float]:
    import httpx

    port = _free_port()
    cmd = [sys.executable, "-m", "app.serve", "--port", str(port), "--model", str(model_dir)]
    cmd += ["--bundle", str(SMALL_BUNDLE)]
    env = {**os.environ, "EMGDX_ANONYMOUS_READ": "true", "EMGDX_DATABASE_URL": BENCH_DB}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = client.get("/api/health").json()
                    if health["model_loaded"] and health["bundle_loaded"]:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("emgdx serve did not start")
                time.sleep(0.2)
            body = json.dumps(doc).encode()

            def call() -> None:
                r = client.post(
                    "/api/predict", content=body, headers={"content-type": "application/json"}
                )
                if r.status_code != 200:
                    raise RuntimeError(f"predict failed: {r.status_code} {r.text[:300]}")

            return _timed(call, n)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _breakdown(model_dir: Path, doc: dict[str, Any], n: int) -> dict[str, dict[str, float]]:
    """Where the time goes: contract validation, features, prediction + explanation."""
    from bundle.json_form import load_study_json
    from features.build import build_features
    from models.predictor import Predictor

    predictor = Predictor.load(str(model_dir))
    bundle, _ = load_study_json(doc, source="request.json")
    X = build_features(bundle)
    return {
        "validate (bundle.json_form.load_study_json)": _timed(lambda: load_study_json(doc), n),
        "features (features.build.build_features)": _timed(lambda: build_features(bundle), n),
        "predict + explain (Predictor.predict_features)": _timed(
            lambda: predictor.predict_features(X, top_k=8), n
        ),
    }


def run_benchmark(model_dir: Path, doc: dict[str, Any], n: int = 200) -> dict[str, Any]:
    """Latency of ``POST /api/predict`` for one study, in process and over loopback HTTP."""
    result = {
        "endpoint": "POST /api/predict (one study, explanations included)",
        "model_dir": str(model_dir),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "breakdown": _breakdown(model_dir, doc, max(n // 2, 20)),
        "in_process": _in_process(model_dir, doc, n),
        "http_loopback": _over_http(model_dir, doc, n),
        "target_median_ms": TARGET_MEDIAN_MS,
    }
    result["meets_target"] = result["http_loopback"]["p50_ms"] < TARGET_MEDIAN_MS
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_api", description=__doc__)
    parser.add_argument(
        "--model", type=Path, default=None, help="model directory (default: train the tiny model)"
    )
    parser.add_argument(
        "--study", type=Path, default=DEFAULT_STUDY, help="single-study JSON to post"
    )
    parser.add_argument("--n", type=int, default=200, help="timed calls per mode")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    doc = json.loads(args.study.read_text())
    with tempfile.TemporaryDirectory(prefix="emgdx-bench-api-") as tmp:
        model_dir = args.model
        if model_dir is None:
            from tests.helpers.tiny import make_tiny_model

            model_dir = make_tiny_model(Path(tmp) / "model")
        result = run_benchmark(model_dir, doc, args.n)
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
