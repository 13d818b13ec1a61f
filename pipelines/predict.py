"""``emgdx predict BUNDLE --out FILE``: predict and explain every valid study of a bundle.

One policy with the API, the upload page and the pyfunc (:mod:`models.service`). Studies
that fail validation are reported (``FILE.rejected.json``: every invalid study and
every study row without an identifier, with its problems; the log counts them and names where,
never a value), never dropped silently; the others are still predicted. Output is the
contract's prediction output: CSV (flat, one row a study, ``p_<class>`` columns) or JSON (a
list of nested predictions); or ``--format fhir``: one HL7 FHIR R4B Bundle (a
DiagnosticReport with its Observations) per study and line, as FHIR bulk data's NDJSON
(:mod:`models.fhir`, ``docs/fhir.md``).

Exit status: 0 when at least one study was predicted; 1 when the input holds no valid study;
2 for usage errors (no model found) and internal errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bundle.load import load_bundle, valid_subset
from bundle.problems import Problem, ValidationReport, log_text
from bundle.tables import Bundle
from features.vocab import PRIORS
from models.errors import ReportedError
from models.prediction import StudyPrediction, to_flat_frame
from models.predictor import Predictor
from models.service import RejectedStudy, predict_validated, rejected_studies

logger = logging.getLogger(__name__)

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
        choices=("csv", "json", "fhir"),
        default=None,
        help="output format (default: from the --out suffix, else csv); fhir writes one FHIR "
        "R4B DiagnosticReport bundle per study and line (NDJSON)",
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
    """A problem for the log: where and what was expected, never a value (see ``log_text``)."""
    return log_text(problem)


def rejected_records(rejected: list[RejectedStudy]) -> list[dict[str, Any]]:
    """The rejected file's form: each rejected study's problems as text and as details."""
    return [
        {
            "study_id": r.study_id,
            "problems": [str(p) for p in r.problems],
            "details": [p.to_dict() for p in r.problems],
        }
        for r in rejected
    ]


def write_predictions(predictions: list[StudyPrediction], out: Path, fmt: str, top_k: int) -> None:
    """Write the contract's prediction output (CSV flat, JSON nested)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        out.write_text(json.dumps([p.to_dict() for p in predictions], indent=1, allow_nan=False))
    else:
        to_flat_frame(predictions, top_k=top_k).to_csv(out, index=False)


def write_fhir(predictions: list[StudyPrediction], bundle: Bundle, out: Path) -> None:
    """One validated FHIR R4B Bundle per study and line (NDJSON, :func:`models.fhir.fhir_report`)."""
    from models.fhir import fhir_report

    out.parent.mkdir(parents=True, exist_ok=True)
    ncs = dict(tuple(bundle.ncs.groupby(bundle.ncs["study_id"].astype(str), sort=False)))
    emg = dict(tuple(bundle.emg.groupby(bundle.emg["study_id"].astype(str), sort=False)))
    studies = bundle.studies.assign(_sid=bundle.studies["study_id"].astype(str)).set_index("_sid")
    with out.open("w", encoding="utf-8") as f:
        for p in predictions:
            one = Bundle(
                studies.loc[[p.study_id]].reset_index(drop=True),
                ncs.get(p.study_id, bundle.ncs.iloc[:0]),
                emg.get(p.study_id, bundle.emg.iloc[:0]),
            )
            f.write(json.dumps(fhir_report(p, one), ensure_ascii=False, allow_nan=False) + "\n")


def _log_problems(source: Path, report: ValidationReport) -> None:
    """Counts of the validation problems and the first few, never a value (``log_text``)."""
    n_problems = len(report.problems)
    if not n_problems:
        return
    n_anonymous = sum(1 for p in report.errors if p.study_id is None)
    logger.warning(
        "%s: %d validation problems (%d errors), %d of %d studies rejected, "
        "%d errors in no study (rows without study_id or unreadable files)",
        source,
        n_problems,
        len(report.errors),
        len(report.invalid_study_ids),
        report.n_studies,
        n_anonymous,
    )
    for p in report.problems[:SHOWN_PROBLEMS]:
        logger.warning("  %s", problem_text(p))
    if n_problems > SHOWN_PROBLEMS:
        logger.warning("  ... and %d more (see the rejected file)", n_problems - SHOWN_PROBLEMS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx predict``; 0 when at least one study was predicted, else 1."""
    args = _parse_args(argv)
    fmt = args.format or ("json" if args.out.suffix.lower() == ".json" else "csv")
    progress = args.progress or sys.stderr.isatty()

    bundle, report = load_bundle(args.bundle)
    _log_problems(args.bundle, report)
    rejected = rejected_records(rejected_studies(report))
    rejected_path = args.out.with_name(args.out.name + ".rejected.json")
    if rejected:
        rejected_path.parent.mkdir(parents=True, exist_ok=True)
        rejected_path.write_text(json.dumps(rejected, indent=1))
        logger.warning("rejected studies and their problems: %s", rejected_path)

    n_valid = len(valid_subset(bundle, report).study_ids)
    if not n_valid:
        logger.error("%s: no valid study to predict", args.bundle)
        return 1
    try:
        predictor = Predictor.load(args.model).with_prior(args.prior)
    except ReportedError as exc:  # no model, a wrong model, a feature mismatch, the registry
        logger.error("%s", exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - a corrupt model file (LightGBMError, ...)
        logger.error("the model at %s cannot be loaded (%s)", args.model, type(exc).__name__)
        return 2
    logger.info(
        "model %s %s (%s): predicting %d studies",
        predictor.name,
        predictor.version,
        predictor.source,
        n_valid,
    )
    with tqdm(
        total=n_valid, unit="study", desc="predict", disable=not progress, file=sys.stderr
    ) as bar:
        result = predict_validated(predictor, bundle, report, top_k=args.top_k, on_chunk=bar.update)
    predictions = result.predictions
    if fmt == "fhir":
        write_fhir(predictions, valid_subset(bundle, report), args.out)
    else:
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
