"""Stage ``simulate``: write a simulated, labelled cohort as a study bundle.

``emgdx simulate --n-studies N --seed S --out DIR [--format csv|parquet] [--params params.yaml]``.
With ``--params`` the file's ``simulate:`` section is read into
:class:`simulator.parameters.SimulatorParams`; ``n_studies`` and ``seed`` may also be given
there, and command-line flags override it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from simulator.cohort import simulate_to_dir
from simulator.parameters import SimulatorParams

logger = logging.getLogger(__name__)


def _read_section(path: Path) -> dict[str, object]:
    with path.open("r", encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    section = doc.get("simulate", {}) or {}
    if not isinstance(section, dict):
        raise ValueError(f"{path}: 'simulate' must be a mapping; got {type(section).__name__}.")
    return dict(section)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, simulate and write the bundle; return the exit code."""
    parser = argparse.ArgumentParser(prog="emgdx simulate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-studies", type=int, default=None, help="number of studies (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output bundle folder")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default=None, help="file format (default csv)"
    )
    parser.add_argument(
        "--params", type=Path, default=None, help="params.yaml with a 'simulate:' section"
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar"
    )
    args = parser.parse_args(argv)

    section: dict[str, object] = _read_section(args.params) if args.params else {}
    n_studies = int(
        args.n_studies if args.n_studies is not None else section.pop("n_studies", 1000)
    )
    seed = int(args.seed if args.seed is not None else section.pop("seed", 0))
    fmt = str(args.format or section.pop("format", "csv"))
    section.pop("n_studies", None)
    section.pop("seed", None)
    section.pop("format", None)
    try:
        params = SimulatorParams(**section)
    except ValueError as err:
        sys.stderr.write(f"emgdx simulate: invalid 'simulate' parameters: {err}\n")
        return 2
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    t0 = time.perf_counter()
    simulate_to_dir(args.out, n_studies, seed, params, fmt=fmt, progress=progress)  # type: ignore[arg-type]
    logger.info(
        "simulate: %d studies (seed %d) -> %s in %.1f s",
        n_studies,
        seed,
        args.out,
        time.perf_counter() - t0,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
