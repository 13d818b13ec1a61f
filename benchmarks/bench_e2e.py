"""End to end: a fresh ``make run`` (clone, install, whole pipeline) timed, and a second ``dvc repro``.

``python -m benchmarks.bench_e2e [--out benchmarks/results/e2e.json] [--keep]``

Clones the committed HEAD into a temporary folder (so nothing of this checkout's ``.venv``,
``data/`` or ``mlflow.db`` is reused), runs ``make run`` there and times it, then times a
second ``dvc repro`` (which must do nothing). pip may reuse its download cache; the figure is
otherwise what a new user meets.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.run import ROOT, machine_info

logger = logging.getLogger("benchmarks.e2e")


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout + proc.stderr


def run_e2e(keep: bool = False) -> dict[str, object]:
    """Clone HEAD, ``make run``, then ``dvc repro`` again; seconds for each."""
    work = Path(tempfile.mkdtemp(prefix="emgdx-e2e-"))
    clone = work / "emgdx"
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DVC_NO_ANALYTICS": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        make_s, _ = _timed(["make", "run"], clone, env)
        env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
        repro_s, out = _timed(["dvc", "repro"], clone, env)
        metrics = json.loads((clone / "reports" / "metrics.json").read_text())
        return {
            "fresh_make_run_s": round(make_s, 1),
            "second_dvc_repro_s": round(repro_s, 2),
            "second_repro_did_nothing": "Data and pipelines are up to date" in out,
            "test_macro_f1_lightgbm": metrics["test"]["lightgbm"]["macro_f1"],
            "heldout_site_macro_f1_lightgbm": metrics["heldout_site"]["lightgbm"]["macro_f1"],
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the end-to-end benchmark and write its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_e2e", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "e2e.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = {"machine": machine_info(), **run_e2e(keep=args.keep)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    logger.info(
        "fresh make run: %.1f s; second dvc repro: %.2f s",
        result["fresh_make_run_s"],
        result["second_dvc_repro_s"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
