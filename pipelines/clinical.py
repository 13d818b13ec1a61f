"""``emgdx clinical``: the textbook vignettes as clinical unit tests of the trained model.

Predicts every vignette of ``clinical/vignettes`` and grades it against
``clinical/expectations.csv`` (:mod:`models.clinical`); writes ``reports/clinical.json``
(the pass rate, a DVC metric), ``reports/clinical_vignettes.csv`` (one row per vignette with
what failed) and logs the pass rate to the model's MLflow run. The vignettes are a yardstick,
never training data.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models import tracking
from models.clinical import (
    CLINICAL_DIR,
    grade_all,
    load_expectations,
    load_vignettes,
    pass_rate,
    results_frame,
)
from models.predictor import ModelNotFoundError, Predictor
from models.provenance import training_run_id

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx clinical", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="data/model", help="model directory or MLflow URI")
    parser.add_argument(
        "--vignettes",
        type=Path,
        default=CLINICAL_DIR,
        help="folder with vignettes/ and expectations.csv",
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Grade the vignettes; return 0 (the pass rate is a metric, not a gate)."""
    args = _parse_args(argv)
    try:
        predictor = Predictor.load(args.model)
    except ModelNotFoundError as err:
        logger.error("%s", err)
        return 2
    bundle = load_vignettes(args.vignettes / "vignettes")
    expectations = load_expectations(args.vignettes / "expectations.csv")
    results = grade_all(predictor.predict_bundle(bundle), expectations)
    table = results_frame(results)
    by_expected = {
        kind: round(float(group["passed"].mean()), 4)
        for kind, group in table.groupby(table["expected"].str.split("|").str[0])
    }
    summary: dict[str, Any] = {
        "vignette_pass_rate": round(pass_rate(results), 4),
        "vignettes_passed": int(table["passed"].sum()),
        "vignettes": len(table),
        "pass_rate_by_expected": by_expected,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "clinical.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    table.to_csv(args.out / "clinical_vignettes.csv", index=False)
    run_id = training_run_id(args.model)
    if run_id:
        import mlflow

        with tracking.start_run(run_id=run_id):
            mlflow.log_metrics(tracking.grouped(summary, "clinical"))
            mlflow.log_artifact(str(args.out / "clinical_vignettes.csv"), "clinical")
    for r in results:
        if not r.passed:
            logger.info("vignette %s: %s", r.study_id, "; ".join(r.failures))
    logger.info(
        "clinical: %d of %d vignettes meet their expectations (%.0f %%)",
        summary["vignettes_passed"],
        summary["vignettes"],
        100 * summary["vignette_pass_rate"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
