"""``emgdx evalset``: write a fixed, versioned evaluation set once (then commit it).

``emgdx evalset --out evalsets/v1 --version v1 --n-studies 10000 --seed 20261202``
simulates a labelled cohort with the simulator knobs of ``params.yaml: simulate`` (other
patients than the training cohort: another seed), writes its bundle as Parquet and
``evalset.json`` (version, seed, command, the held-out lab of ``params.yaml: split``, the
SHA-256 of every file). ``emgdx register`` scores the challenger and the champion on it
(:mod:`models.evalset`). A set is never rewritten: a new one gets a new version and folder.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bundle.writers import write_bundle
from models.evalset import MANIFEST, EvalSetManifest, file_digests, set_digest
from pipelines.config import load_params
from simulator.cohort import simulate_cohort
from simulator.parameters import SimulatorParams

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx evalset", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (new)")
    parser.add_argument("--version", required=True, help="the set's version, e.g. v1")
    parser.add_argument("--n-studies", type=int, default=10_000, help="studies (default 10000)")
    parser.add_argument("--seed", type=int, default=20261202, help="simulation seed")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the evaluation set; refuse to overwrite an existing one."""
    args = _parse_args(argv)
    if (args.out / MANIFEST).exists():
        logger.error("%s: an evaluation set is already there; give a new version a new folder",
                     args.out)  # fmt: skip
        return 2
    params = load_params(args.params)
    knobs = params.simulate.model_dump(exclude={"n_studies", "seed", "format"})
    bundle = simulate_cohort(args.n_studies, args.seed, SimulatorParams.model_validate(knobs))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out.parent) as tmp:
        write_bundle(bundle, tmp, fmt="parquet")
        for name, digest in file_digests(Path(tmp)).items():
            (Path(tmp) / name).replace(args.out / name)
            logger.debug("%s %s", name, digest)
    sha = file_digests(args.out)
    manifest = EvalSetManifest(
        version=args.version,
        n_studies=args.n_studies,
        seed=args.seed,
        holdout_site=params.split.holdout_site,
        command="emgdx evalset " + shlex.join(list(argv) if argv is not None else sys.argv[1:]),
        simulate=knobs,
        sha256=sha,
    )
    (args.out / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    logger.info(
        "evalset %s: %d studies (seed %d) -> %s, digest %s",
        args.version,
        args.n_studies,
        args.seed,
        args.out,
        set_digest(sha)[:12],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
