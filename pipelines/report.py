"""``emgdx report``: ``reports/summary.md`` and ``reports/summary.json``, the headline of a run.

Reads what evaluate, physiology, clinical and register (``evalset.json``) wrote (a missing
optional report is shown as "–"; ``metrics.json`` is required), writes the page and the few
numbers ``dvc metrics show`` lists (:mod:`models.summary`), and logs them to the MLflow run
that trained ``--model`` (:func:`models.provenance.training_run_id`) under ``summary/``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models import tracking
from models.provenance import training_run_id
from models.summary import SummaryError, build_summary, render_markdown, summary_metrics

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx report", description=__doc__.splitlines()[0])
    reports = Path("reports")
    parser.add_argument("--metrics", type=Path, default=reports / "metrics.json")
    parser.add_argument("--physiology", type=Path, default=reports / "physiology.json")
    parser.add_argument("--clinical", type=Path, default=reports / "clinical.json")
    parser.add_argument("--evalset", type=Path, default=reports / "evalset.json")
    parser.add_argument(
        "--model", type=Path, default=Path("data/model"), help="model whose MLflow run to log to"
    )
    parser.add_argument("--out", type=Path, default=reports / "summary.md", help="page to write")
    parser.add_argument(
        "--json", type=Path, default=reports / "summary.json", help="headline metrics to write"
    )
    return parser.parse_args(argv)


def _read(path: Path, *, required: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if required:
            raise SummaryError(f"{path}: missing; run `dvc repro evaluate` first")
        logger.info("report: %s not found, shown as '–'", path)
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SummaryError(f"{path}: not JSON (line {exc.lineno}); re-run its stage") from None
    if not isinstance(doc, dict):
        raise SummaryError(f"{path}: expected a JSON object")
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Write the summary page and metrics; returns the exit status."""
    args = _parse_args(argv)
    metrics = _read(args.metrics, required=True)
    assert metrics is not None
    summary = build_summary(
        metrics,
        physiology=_read(args.physiology, required=False),
        clinical=_read(args.clinical, required=False),
        evalset=_read(args.evalset, required=False),
    )
    numbers = summary_metrics(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_markdown(summary), encoding="utf-8")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    run_id = training_run_id(args.model)
    if run_id:
        _log_to_run(run_id, numbers, args.out)
    logger.info("report: %s written (macro-F1 %s)", args.out, numbers["macro_f1"])
    return 0


def _log_to_run(run_id: str, numbers: dict, page: Path) -> None:
    """Log the summary to the model's MLflow run; a run this store does not hold is a warning.

    The page and the numbers are written either way: a report read against another tracking
    store (a fresh clone, a colleague's checkout) must not fail on the MLflow side.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.get_run(run_id)
    except MlflowException:
        logger.warning(
            "report: the MLflow run %s of the model's run record is not in this tracking store; "
            "the summary was not logged to MLflow",
            run_id,
        )
        return
    with tracking.start_run(run_id=run_id):
        mlflow.log_metrics(tracking.grouped(numbers, "summary"))
        mlflow.log_artifact(str(page))


if __name__ == "__main__":
    raise SystemExit(main())
