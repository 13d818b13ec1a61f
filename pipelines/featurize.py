"""``emgdx features``: compute the per-study feature table of a bundle.

Reads the bundle with :func:`bundle.load.load_valid`: the validated bundle that ``emgdx
validate --out`` wrote is read back (schema-checked, not validated again); any other bundle
(folder, .zip or .json) is validated and its invalid studies left out (counted in the log,
never silently). Writes the
feature table as Parquet with ``study_id`` as the index (``pd.read_parquet(path)`` gives it
back as the index). Labels stay in the bundle; the table holds features only.

``--out`` may name a ``.parquet`` file or a folder (then ``features.parquet`` inside it, the
DVC stage form ``--in data/validated --out data/features``).

Exit status: 0 on success; 1 when the bundle is unreadable or no valid study remains; 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bundle.load import load_valid
from bundle.tables import Bundle
from features.build import build_features
from features.distributed import build_features_dask, bundle_to_dask
from models.distributed import close_client, get_client
from pipelines.config import EngineParams, load_params

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emgdx features", description="Compute the per-study feature table of a bundle."
    )
    parser.add_argument("bundle", nargs="?", type=Path, help="bundle folder, .zip or .json study")
    parser.add_argument("--in", dest="bundle_in", type=Path, default=None, help="same as BUNDLE")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output .parquet file, or a folder for features.parquet",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    parser.add_argument(
        "--chunk-size", type=int, default=20000, help="studies per chunk (default 20000)"
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="params.yaml whose 'engine' section picks pandas (default) or dask",
    )
    args = parser.parse_args(argv)
    if (args.bundle is None) == (args.bundle_in is None):
        parser.error("give the bundle either as BUNDLE or as --in BUNDLE (exactly one)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``features`` stage; see the module docstring."""
    args = _parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    src = args.bundle or args.bundle_in
    valid = load_valid(src)  # the validated bundle is read, not validated again
    if len(valid.studies) == 0:
        sys.stderr.write(f"no valid study to featurise in {src} (run 'emgdx validate {src}')\n")
        return 1
    t0 = time.perf_counter()
    engine = load_params(args.params).engine if args.params else EngineParams()
    if engine.engine == "dask":
        X = _build_with_dask(valid, engine)
    else:
        X = build_features(valid, progress=args.progress, chunk_size=args.chunk_size)
    dt = time.perf_counter() - t0
    out = args.out if args.out.suffix == ".parquet" else args.out / "features.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    X.to_parquet(out)
    logger.info(
        "wrote %d studies x %d features to %s in %.1f s (%.0f studies/s)",
        X.shape[0],
        X.shape[1],
        out,
        dt,
        X.shape[0] / max(dt, 1e-9),
    )
    return 0


def _build_with_dask(bundle: Bundle, engine: EngineParams) -> pd.DataFrame:
    """The same feature code on study partitions of a Dask cluster (``engine: dask``)."""
    client = get_client(engine.model_dump())
    try:
        dbundle = bundle_to_dask(bundle, npartitions=engine.npartitions)
        X = build_features_dask(dbundle).compute()
    finally:
        close_client(client)
    # back in the bundle's study order, as the pandas engine returns it
    return X.loc[bundle.studies["study_id"].astype(str).tolist()]


if __name__ == "__main__":
    raise SystemExit(main())
