"""Stage ``simulate``: write a simulated, labelled cohort as a study bundle.

``emgdx simulate --out DIR [--params params.yaml] [--n-studies N] [--seed S] [--format csv|parquet]``.
The parameters are the ``simulate`` section of the typed config (:class:`pipelines.config.
SimulateParams`: its defaults equal the committed ``params.yaml``); with ``--params`` they are
read from that file (a missing or invalid file is an error), and the command-line flags
override ``n_studies``, ``seed`` and ``format``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipelines.config import SimulateParams, load_params
from simulator.cohort import simulate_to_dir
from simulator.parameters import SimulatorParams

logger = logging.getLogger(__name__)

#: the run's own fields of ``simulate``; the rest are the simulator's knobs
_RUN_FIELDS = frozenset({"n_studies", "seed", "format"})


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, simulate and write the bundle; return the exit code."""
    parser = argparse.ArgumentParser(prog="emgdx simulate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-studies", type=int, default=None, help="number of studies (default: the config's)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the config's)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output bundle folder")
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default=None,
        help="file format (default: the config's)",
    )
    parser.add_argument(
        "--params", type=Path, default=None, help="params.yaml with a 'simulate:' section"
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar"
    )
    args = parser.parse_args(argv)

    config = load_params(args.params).simulate if args.params else SimulateParams()
    overrides = {"n_studies": args.n_studies, "seed": args.seed, "format": args.format}
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    if config.n_studies < 1:
        sys.stderr.write("emgdx simulate: --n-studies must be at least 1\n")
        return 2
    params = SimulatorParams.model_validate(config.model_dump(exclude=set(_RUN_FIELDS)))
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    t0 = time.perf_counter()
    simulate_to_dir(
        args.out, config.n_studies, config.seed, params, fmt=config.format, progress=progress
    )
    logger.info(
        "simulate: %d studies (seed %d) -> %s in %.1f s",
        config.n_studies,
        config.seed,
        args.out,
        time.perf_counter() - t0,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
