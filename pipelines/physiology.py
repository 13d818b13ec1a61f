"""``emgdx physiology``: held-out-physiology score (train on part of the ranges, score on another).

Writes ``reports/physiology.json`` (a DVC metric beside the held-out lab) and logs it to the
pipeline model's MLflow run. See :mod:`models.physiology_eval`.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from models import tracking
from models.physiology_eval import heldout_physiology
from models.provenance import training_run_id
from pipelines.config import load_params

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx physiology", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument("--out", type=Path, default=Path("reports/physiology.json"))
    parser.add_argument(
        "--model", type=Path, default=Path("data/model"), help="pipeline model (for its MLflow run)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Train and score the held-out-physiology model; write the report."""
    args = _parse_args(argv)
    params = load_params(args.params)
    cfg = params.physiology
    score = heldout_physiology(
        params.simulate,
        params.train,
        n_train=cfg.n_train,
        n_test=cfg.n_test,
        train_span=cfg.train_span,
        test_span=cfg.test_span,
        seed=cfg.seed,
    )
    report = {**asdict(score), "gap": round(score.gap, 4)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    run_id = training_run_id(args.model)
    if run_id:
        import mlflow

        with tracking.start_run(run_id=run_id):
            mlflow.log_metrics(
                tracking.grouped(
                    {
                        "macro_f1_in_range": score.macro_f1_in_range,
                        "macro_f1_heldout": score.macro_f1_heldout_physiology,
                    },
                    "physiology",
                )
            )
    logger.info("physiology: %s", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
