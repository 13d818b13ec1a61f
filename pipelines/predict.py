"""``emgdx predict BUNDLE --out FILE``: predict and explain every valid study of a bundle.

Studies that fail validation are reported (log + ``FILE.rejected.json``), never dropped
silently; the others are still predicted. Output is the contract's prediction output: CSV
(flat, one row a study, ``p_<class>`` columns) or JSON (a list of nested predictions).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from features.contract import Problem, ValidationReport, load_bundle, valid_subset
from features.vocab import PRIORS
from models.prediction import StudyPrediction, to_flat_frame
from models.predictor import ModelNotFoundError, Predictor

logger = logging.getLogger(__name__)

#: whole studies predicted per chunk (bounds memory; one progress-bar step per chunk)
CHUNK_STUDIES = 500
#: validation problems shown in the log
SHOWN_PROBLEMS = 5


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emgdx predict",
        description="Predict and explain every study of a bundle (invalid studies are reported).",
    )
    parser.add_argument("bundle", type=Path, help="bundle folder, .zip, or a study .json file")
    parser.add_argument("--out", type=Path, required=True, help="output file (.csv or .json)")
    parser.add_argument(
        "--format",
        choices=("csv", "json"),
        default=None,
        help="output format (default: from the --out suffix, else csv)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="model directory or MLflow URI (default: models:/emgdx@champion if registered, "
        "else data/model)",
    )
    parser.add_argument("--top-k", type=int, default=3, help="reasons per study (default 3)")
    parser.add_argument(
        "--prior",
        choices=PRIORS,
        default="training",
        help="class prevalence the probabilities are stated for: the training mix (default) or "
        "a general EMG lab's referral mix (about 80 %% normal)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="show a progress bar (default: only on a TTY)"
    )
    return parser.parse_args(argv)


def problem_text(problem: Problem) -> str:
    """A problem without the offending value (logs carry no patient values beyond study_id)."""
    where = problem.file if problem.row is None else f"{problem.file} row {problem.row}"
    if problem.column is not None:
        where += f", column {problem.column}"
    text = f"{where}: expected {problem.expected}"
    if problem.cause:
        text += f"; likely cause: {problem.cause}"
    if problem.study_id:
        text = f"[{problem.study_id}] {text}"
    return text


def rejected_studies(report: ValidationReport) -> list[dict[str, Any]]:
    """Each invalid study with its problems (errors and warnings), sorted by study_id."""
    by_study: dict[str, list[Problem]] = {s: [] for s in report.invalid_study_ids}
    general = [p for p in report.errors if p.study_id is None]
    for p in report.problems:
        if p.study_id in by_study:
            by_study[p.study_id].append(p)
    return [
        {
            "study_id": sid,
            "problems": [str(p) for p in by_study[sid] + general],
            "details": [asdict(p) for p in by_study[sid] + general],
        }
        for sid in sorted(by_study)
    ]


def predict_in_chunks(
    predictor: Predictor,
    bundle: Any,
    *,
    top_k: int,
    progress: bool,
    chunk_studies: int = CHUNK_STUDIES,
) -> list[StudyPrediction]:
    """Predict a validated bundle in chunks of whole studies, with a progress bar."""
    ids = bundle.study_ids
    out: list[StudyPrediction] = []
    with tqdm(
        total=len(ids), unit="study", desc="predict", disable=not progress, file=sys.stderr
    ) as bar:
        for start in range(0, len(ids), chunk_studies):
            part = ids[start : start + chunk_studies]
            chunk = bundle if len(part) == len(ids) else bundle.subset(part)
            out.extend(predictor.predict_bundle(chunk, top_k=top_k))
            bar.update(len(part))
    return out


def write_predictions(predictions: list[StudyPrediction], out: Path, fmt: str, top_k: int) -> None:
    """Write the contract's prediction output (CSV flat, JSON nested)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        out.write_text(json.dumps([p.to_dict() for p in predictions], indent=1, allow_nan=False))
    else:
        to_flat_frame(predictions, top_k=top_k).to_csv(out, index=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx predict``; 0 when at least one study was predicted, else 1."""
    args = _parse_args(argv)
    fmt = args.format or ("json" if args.out.suffix.lower() == ".json" else "csv")
    progress = args.progress or sys.stderr.isatty()

    bundle, report = load_bundle(args.bundle)
    rejected = rejected_studies(report)
    n_problems = len(report.problems)
    if n_problems:
        logger.warning(
            "%s: %d validation problems (%d errors), %d of %d studies rejected",
            args.bundle,
            n_problems,
            len(report.errors),
            len(rejected),
            report.n_studies,
        )
        for p in report.problems[:SHOWN_PROBLEMS]:
            logger.warning("  %s", problem_text(p))
        if n_problems > SHOWN_PROBLEMS:
            logger.warning("  ... and %d more (see the rejected file)", n_problems - SHOWN_PROBLEMS)
    rejected_path = args.out.with_name(args.out.name + ".rejected.json")
    if rejected:
        rejected_path.parent.mkdir(parents=True, exist_ok=True)
        rejected_path.write_text(json.dumps(rejected, indent=1))
        logger.warning("rejected studies and their problems: %s", rejected_path)

    valid = valid_subset(bundle, report)
    if not valid.study_ids:
        logger.error("%s: no valid study to predict", args.bundle)
        return 1
    try:
        predictor = Predictor.load(args.model).with_prior(args.prior)
    except ModelNotFoundError as exc:
        logger.error("%s", exc)
        return 1
    logger.info(
        "model %s %s (%s): predicting %d studies",
        predictor.name,
        predictor.version,
        predictor.source,
        len(valid.study_ids),
    )
    predictions = predict_in_chunks(predictor, valid, top_k=args.top_k, progress=progress)
    write_predictions(predictions, args.out, fmt, args.top_k)
    n_low = sum(p.low_confidence for p in predictions)
    n_ood = sum(p.unlike_training_data for p in predictions)
    logger.info(
        "wrote %d predictions to %s (%d low confidence, %d unlike the training data, "
        "%d studies rejected)",
        len(predictions),
        args.out,
        n_low,
        n_ood,
        len(rejected),
    )
    return 0 if predictions else 1


if __name__ == "__main__":
    raise SystemExit(main())
