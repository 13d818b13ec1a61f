"""``make bench``: every benchmark, each size in its own process, results to benchmarks/results/.

``python -m benchmarks.run [--quick] [--sizes 10000 100000 1000000] [--only scale features
train predict api load] [--model DIR] [--out benchmarks/results]``

Writes ``results.json`` (machine, versions, date, load average, every figure),
``results.md`` (the summary tables) and ``cost_vs_size.png`` (seconds and peak memory against
cohort size). Timings are wall-clock on whatever else the machine is doing: the load average
before and after each stage is recorded next to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger("benchmarks.run")

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "shap", "dask", "distributed")


def machine_info() -> dict[str, Any]:
    """CPU count, memory, OS, Python and library versions, date."""
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gb = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "memory_gb": mem_gb,
        "git_commit": git.stdout.strip() or None,
        "versions": versions,
    }


def _run_json(cmd: list[str], timeout_s: float) -> dict[str, Any]:
    """Run a benchmark process, return its last stdout line as JSON plus wall time and load."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    logger.info("$ %s", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-5:]
        logger.error("failed (%d): %s", proc.returncode, " | ".join(tail))
        return {"error": f"exit {proc.returncode}", "stderr_tail": tail}
    text = proc.stdout.strip()
    try:
        result = json.loads(text.splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        result = {"raw_stdout_tail": text[-500:]}
    result["wall_seconds"] = round(wall, 2)
    result["load_average_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return result


def bench_scale(sizes: Sequence[int], model: Path | None, tmp: Path) -> list[dict[str, Any]]:
    """Simulate to Parquet, then validate + features + predict in chunks, per size."""
    py = sys.executable
    rows = []
    for n in sizes:
        bundle = tmp / f"bundle_{n}"
        sim = _run_json(
            [py, "-m", "benchmarks.stages", "simulate", "--n", str(n), "--out", str(bundle)], 7200
        )
        logger.info("simulate %d: %s", n, sim)
        cmd = [
            py,
            "-m",
            "benchmarks.stages",
            "chunked",
            "--bundle",
            str(bundle),
            "--out",
            str(tmp / f"out_{n}"),
        ]
        if model is not None:
            cmd += ["--model", str(model)]
        chunked = _run_json(cmd, 7200)
        logger.info("chunked %d: %s", n, chunked)
        rows.append({"n_studies": n, "simulate": sim, "chunked": chunked})
        for f in list(bundle.glob("*")) + list((tmp / f"out_{n}").glob("*")):
            f.unlink()
    return rows


def bench_features(sizes: Sequence[int], peer_n: int) -> list[dict[str, Any]]:
    """In-memory build_features throughput; the per-study peer at the smallest size."""
    py = sys.executable
    out = []
    for i, n in enumerate(sizes):
        cmd = [py, "-m", "benchmarks.stages", "features", "--n", str(n)]
        if i == 0 and peer_n > 0:
            cmd += ["--peer-n", str(min(peer_n, n))]
        res = _run_json(cmd, 3600)
        logger.info("features %d: %s", n, res)
        out.append(res)
    return out


def bench_train(sizes: Sequence[int], rounds: int) -> list[dict[str, Any]]:
    """LightGBM vs HistGradientBoosting per size."""
    py = sys.executable
    out = []
    for n in sizes:
        res = _run_json(
            [py, "-m", "benchmarks.stages", "train", "--n", str(n), "--rounds", str(rounds)], 7200
        )
        logger.info("train %d: %s", n, res)
        out.append(res)
    return out


def bench_module(
    module: str, model: Path | None, extra: Sequence[str], tmp: Path
) -> dict[str, Any]:
    """Run another helper's benchmark module (bench_predict, bench_api) and read its JSON."""
    out_file = tmp / f"{module}.json"
    cmd = [sys.executable, "-m", f"benchmarks.{module}", "--out", str(out_file), *extra]
    if model is not None:
        cmd += ["--model", str(model)]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if not out_file.is_file():
        return {
            "error": f"exit {proc.returncode}",
            "stderr_tail": proc.stderr.strip().splitlines()[-5:],
        }
    result = json.loads(out_file.read_text())
    result["exit_code"] = proc.returncode
    result["wall_seconds"] = round(time.perf_counter() - t0, 2)
    result["load_average_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    return result


def bench_model(out_dir: Path, n_studies: int, rounds: int) -> Path:
    """A production-sized model when no trained ``data/model`` exists (saved-model contract)."""
    from tests.helpers.tiny import make_tiny_cohort, save_tiny_model  # noqa: PLC0415

    bundle, X = make_tiny_cohort(n_studies, seed=0)
    diagnosis = bundle.studies.set_index(bundle.studies["study_id"].astype(str))["diagnosis"]
    return save_tiny_model(X, diagnosis.reindex(X.index).to_numpy(), out_dir, rounds=rounds)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and write the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 100k studies only")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="cohort sizes")
    parser.add_argument(
        "--only",
        nargs="+",
        default=["scale", "features", "train", "predict", "api", "load"],
        choices=("scale", "features", "train", "predict", "api", "load"),
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="model dir (default data/model if present)"
    )
    parser.add_argument("--peer-n", type=int, default=3000, help="studies for the per-study peer")
    parser.add_argument("--train-max", type=int, default=100_000, help="largest training size")
    parser.add_argument(
        "--rounds", type=int, default=200, help="boosting rounds in the training benchmark"
    )
    parser.add_argument(
        "--model-studies", type=int, default=20_000, help="studies for the bench model"
    )
    parser.add_argument("--model-rounds", type=int, default=200, help="rounds of the bench model")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other stages of an existing results.json"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    model = args.model or (
        ROOT / "data" / "model" if (ROOT / "data" / "model" / "booster.txt").is_file() else None
    )
    results: dict[str, Any] = {
        "machine": machine_info(),
        "sizes": sizes,
        "model": str(model) if model else "tiny test model",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / "results.json"
    if args.merge and previous.is_file():
        old = json.loads(previous.read_text())
        results = {**old, **{k: v for k, v in results.items() if k != "machine"}}
        results.setdefault("reruns", []).append({"stages": args.only, **machine_info()})
    with tempfile.TemporaryDirectory(prefix="emgdx-bench-") as tmp_s:
        tmp = Path(tmp_s)
        if model is None and {"scale", "predict", "api", "load"} & set(args.only):
            model = bench_model(tmp / "model", args.model_studies, args.model_rounds)
            results["model"] = (
                f"benchmark model: {args.model_studies} simulated studies, "
                f"{args.model_rounds} rounds x 6 classes (no data/model found)"
            )
        from benchmarks.report import write_report  # noqa: PLC0415

        # cheap stages first; results are rewritten after every stage, so an interrupted run
        # still leaves what it measured
        stages = [
            ("features", lambda: bench_features([s for s in sizes if s <= 100_000], args.peer_n)),
            ("predict", lambda: bench_module("bench_predict", model, [], tmp)),
            ("api", lambda: bench_module("bench_api", model, [], tmp)),
            ("load", lambda: bench_module("bench_load", model, [], tmp)),
            ("scale", lambda: bench_scale(sizes, model, tmp)),
            ("train", lambda: bench_train([s for s in sizes if s <= args.train_max], args.rounds)),
        ]
        for name, run in stages:
            if name in args.only:
                results[name] = run()
                write_report(results, args.out)
    logger.info("results written to %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
