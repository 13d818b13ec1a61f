"""``emgdx validate``: check a study bundle against the data contract.

Prints the report (counts per kind and the first ``--max-problems`` problems, each naming file,
row, column, value, expectation and likely cause) to stdout. Optionally writes the full report
as JSON (``--report``; its ``summary`` key holds flat numbers for DVC metrics) and the
canonical validated bundle of the *valid* studies (``--out``, :mod:`bundle.validated`): the
later stages read it back schema-checked, without validating it again.

Exit status: 0 when there is no error; 1 when the input is invalid (any error), unless
``--allow-invalid`` is given and at least one study is valid (the DVC stage uses this: invalid
studies are listed in the report, never dropped silently); 2 for usage or internal errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bundle.load import load_bundle, valid_subset
from bundle.validated import write_validated
from pipelines.config import load_params
from pipelines.extra_bundles import append_extra

logger = logging.getLogger(__name__)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="emgdx validate",
        description="Check a study bundle (folder, .zip or .json) against the data contract.",
    )
    parser.add_argument("bundle", nargs="?", type=Path, help="bundle folder, .zip or .json study")
    parser.add_argument(
        "--in", dest="bundle_in", type=Path, default=None, help="same as the positional BUNDLE"
    )
    parser.add_argument(
        "--max-problems",
        type=int,
        default=50,
        help="list at most this many problems on stdout (default 50; the JSON report has all)",
    )
    parser.add_argument("--report", type=Path, default=None, help="write the full report as JSON")
    parser.add_argument(
        "--report-max-problems",
        type=int,
        default=10000,
        help="list at most this many problems in the JSON report (default 10000; -1 for all); "
        "the summary always counts every problem",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the canonical validated bundle of the valid studies here (Parquet)",
    )
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="exit 0 despite invalid studies as long as at least one study is valid",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="params file whose data.extra_bundles (labelled real studies, each with a weight) "
        "are validated and appended to --out (pipelines/extra_bundles.py)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accepted for compatibility; validation shows no progress bar",
    )
    args = parser.parse_args(argv)
    if (args.bundle is None) == (args.bundle_in is None):
        parser.error("give the bundle once: either BUNDLE or --in BUNDLE")
    if args.max_problems < 0:
        parser.error(f"--max-problems must be >= 0, got {args.max_problems}")
    args.bundle = args.bundle or args.bundle_in
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx validate``; see the module docstring for options and exit status."""
    args = _parse_args(argv)
    bundle, report = load_bundle(args.bundle)
    sys.stdout.write(report.format(max_problems=args.max_problems) + "\n")
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(
            json.dumps(
                report.to_dict(
                    max_problems=None if args.report_max_problems < 0 else args.report_max_problems
                ),
                indent=1,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        logger.info("validation report written to %s", args.report)
    extras = [] if args.params is None else load_params(args.params).data.extra_bundles
    if extras and args.out is None:
        logger.warning("data.extra_bundles are appended only to --out; none given")
    if args.out is not None:
        valid, added = append_extra(valid_subset(bundle, report), extras)
        for a in added:
            logger.info(
                "extra bundle %s (weight %g): %d of %d studies valid, appended",
                a.path,
                a.weight,
                a.n_valid_studies,
                a.n_studies,
            )
        if args.report is not None and added:
            doc = json.loads(args.report.read_text(encoding="utf-8"))
            doc["extra_bundles"] = [asdict(a) for a in added]
            args.report.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
        write_validated(valid, args.out)
        logger.info(
            "wrote %d valid studies (%d NCS rows, %d EMG rows) to %s; %d studies left out (listed in the report)",
            len(valid.studies),
            len(valid.ncs),
            len(valid.emg),
            args.out,
            report.n_studies - report.n_valid_studies,
        )
    if report.ok:
        return 0
    if args.allow_invalid and report.n_valid_studies > 0:
        logger.warning(
            "%d of %d studies are invalid; continuing (--allow-invalid)",
            report.n_studies - report.n_valid_studies,
            report.n_studies,
        )
        return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
