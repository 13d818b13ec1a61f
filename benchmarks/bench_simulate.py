"""Benchmark: simulate N studies and write them (parquet and/or CSV); prints studies per second.

Usage: ``.venv/bin/python benchmarks/bench_simulate.py [--n-studies 100000] [--format parquet csv]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from simulator.cohort import simulate_to_dir
from simulator.parameters import SimulatorParams

logger = logging.getLogger("bench_simulate")


def main() -> int:
    """Run the benchmark and log the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-studies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--format", nargs="+", default=["parquet", "csv"], choices=("parquet", "csv")
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    for fmt in args.format:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            out = simulate_to_dir(
                Path(tmp) / "sim", args.n_studies, args.seed, SimulatorParams(), fmt=fmt
            )
            dt = time.perf_counter() - t0
            size_mb = sum(f.stat().st_size for f in out.iterdir()) / 1e6
            logger.info(
                "%s: %d studies in %.1f s incl. writing (%.0f studies/s, %.0f MB)",
                fmt,
                args.n_studies,
                dt,
                args.n_studies / dt,
                size_mb,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
