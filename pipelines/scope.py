"""``emgdx scope``: train the out-of-scope detector on simulated conditions (``models.scope``).

Reads the validated bundle, the feature table and the splits (in-scope ``train`` studies,
a share of them given the protocols of out-of-scope studies; ``valid`` sets the threshold),
simulates ``scope.n_train`` studies of the learnt out-of-scope conditions
(:mod:`simulator.out_of_scope`) and writes ``<out>/scope.json`` and ``<out>/scope_booster.txt``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bundle.load import load_valid
from features.build import build_features
from models.dataset import read_features
from models.oos_eval import in_scope_training_features, oos_training_bundle
from models.scope import train_detector
from pipelines.config import load_params

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx scope", description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="validated in-scope bundle")
    parser.add_argument("--features", type=Path, required=True, help="features.parquet")
    parser.add_argument("--splits", type=Path, required=True, help="splits.parquet")
    parser.add_argument("--out", type=Path, required=True, help="output folder of the detector")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scope stage; returns the exit status."""
    args = _parse_args(argv)
    p = load_params(args.params).scope
    X = read_features(args.features)
    split = pd.read_parquet(args.splits).set_index("study_id")["split"].reindex(X.index)
    oos, condition = oos_training_bundle(p.n_train, p.seed)
    X_in = in_scope_training_features(
        load_valid(args.bundle),
        X.index[(split == "train").to_numpy()],
        oos,
        max_studies=p.max_in_scope,
        p_transplant=p.p_protocol_transplant,
        seed=p.seed,
    )
    det = train_detector(
        X_in,
        build_features(oos),
        condition,
        X[(split == "valid").to_numpy()],
        false_outside_rate=p.false_outside_rate,
        seed=p.seed,
        max_in_scope=p.max_in_scope,
    )
    det.save(args.out)
    logger.info("scope: detector (threshold %.3f) -> %s", det.threshold, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
