"""``emgdx split``: patient-grouped train/valid/calib/test splits plus the held-out site.

Reads the validated bundle's studies, writes ``<out>/splits.parquet`` with ``study_id,
patient_id, site_id, split``. Shares, seed and held-out site come from ``params.yaml: split``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from bundle.load import load_valid
from models.splits import check_grouping, make_splits
from pipelines.config import load_params

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx split", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="validated bundle folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder for splits.parquet")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the split stage; returns the exit status."""
    args = _parse_args(argv)
    params = load_params(args.params).split
    bundle = load_valid(args.bundle)
    splits = make_splits(
        bundle.studies,
        {"train": params.train, "valid": params.valid, "calib": params.calib, "test": params.test},
        holdout_site=params.holdout_site,
        seed=params.seed,
    )
    check_grouping(splits)
    args.out.mkdir(parents=True, exist_ok=True)
    splits.to_parquet(args.out / "splits.parquet", index=False)
    logger.info("split: %d studies -> %s", len(splits), args.out / "splits.parquet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
