"""The fuzz harness: run one hostile input through the loader and check the invariants.

Invariants (issue 9):

* no uncaught exception;
* no prediction without a valid id: every study the loader would hand to the model has a
  non-empty identifier of the contract's form, and is not one it reported invalid;
* no study unaccounted for: every study row read is either predicted or rejected with a
  reason (an error naming its study or its row); a file-level error leaves nothing predicted;
* no problem message longer than :data:`MESSAGE_CAP`;
* no planted value (:data:`corrupt.PLANTED`) in any log line.

``python -m tests.bundle.fuzzing --bundles 1282 --json 300`` runs a fixed corpus and prints the
counts (``make fuzz`` runs it, then the hypothesis suite with more examples).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bundle import corrupt

#: longest problem message allowed (file, row, column, truncated value, expectation, cause)
MESSAGE_CAP = 600
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_FILE_LEVEL = {"missing_file", "missing_column", "duplicate_column", "unreadable_file", "too_large"}


@dataclass
class Outcome:
    """What one case did."""

    name: str
    crash: str | None = None
    violations: list[str] = field(default_factory=list)
    n_predicted: int = 0
    n_rejected: int = 0


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken log call is itself a finding
            self.lines.append(f"<unformattable log record {record.msg!r}>")


def base_files(n_studies: int = 4, seed: int = 7) -> dict[str, bytes]:
    """A small valid simulated bundle as CSV bytes (the corruptions start from it)."""
    from bundle.writers import write_bundle
    from simulator.cohort import simulate_cohort

    bundle = simulate_cohort(n_studies, seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_bundle(bundle, tmp)
        return {f"{n}.csv": (Path(tmp) / f"{n}.csv").read_bytes() for n in corrupt.TABLE_NAMES}


def base_document(files: dict[str, bytes]) -> dict[str, Any]:
    """The first study of ``files`` in the contract's JSON form."""
    from bundle.json_form import study_to_json
    from bundle.load import load_bundle

    with tempfile.TemporaryDirectory() as tmp:
        for k, v in files.items():
            (Path(tmp) / k).write_bytes(v)
        b, _ = load_bundle(tmp)
        return study_to_json(b, str(b.studies["study_id"].iloc[0]))


def default_loader() -> Callable[[Path], tuple[Any, Any, list[str]]]:
    """``path -> (bundle, report, predicted ids)`` with the current library."""
    from bundle.load import load_bundle, valid_subset

    def run(path: Path) -> tuple[Any, Any, list[str]]:
        b, r = load_bundle(path)
        v = valid_subset(b, r)
        return b, r, list(v.studies["study_id"])

    return run


def check(case: corrupt.Case, loader: Callable[[Path], tuple[Any, Any, list[str]]]) -> Outcome:
    """Write ``case`` to a temporary folder, load it, and check every invariant."""
    out = Outcome(case.name)
    cap = _Capture()
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(cap)
    root_logger.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = case.write(Path(tmp))
            try:
                bundle, report, predicted = loader(path)
            except BaseException as exc:  # noqa: BLE001 - every escape is the finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                out.crash = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]
                return out
    finally:
        root_logger.removeHandler(cap)
        root_logger.setLevel(old_level)
    problems = list(report.problems)
    errors = [p for p in problems if p.severity == "error"]
    invalid = {str(s) for s in report.invalid_study_ids}
    out.n_predicted = len(predicted)
    out.n_rejected = len(invalid)
    for sid in predicted:
        if not isinstance(sid, str) or not _ID.fullmatch(sid):
            out.violations.append("predicted a study without a valid id")
        elif sid in invalid:
            out.violations.append("predicted a study reported invalid")
    file_level = any(
        getattr(p, "kind", "") in _FILE_LEVEL and p.severity == "error" for p in problems
    )
    if predicted and file_level:
        out.violations.append("predicted despite a file-level error")
    ids = list(bundle.studies["study_id"]) if "study_id" in bundle.studies else []
    pred = set(predicted)
    unidentified = 0
    for sid in ids:
        if isinstance(sid, str) and sid and (sid in pred or sid in invalid):
            continue
        if isinstance(sid, str) and sid and sid not in pred and sid not in invalid:
            out.violations.append("a study neither predicted nor rejected")
            continue
        unidentified += 1
    anonymous_errors = sum(1 for p in errors if p.study_id is None)
    if unidentified > anonymous_errors and not file_level:
        out.violations.append("a study row without id and without a problem naming it")
    if not ids and not errors and not predicted:
        # nothing read and nothing said: acceptable only when the input really had no study
        if "delete_rows:studies" not in case.name and "header_only:studies" not in case.name:
            out.violations.append("no study read and no problem reported")
    longest = max((len(str(p)) for p in problems), default=0)
    if longest > MESSAGE_CAP:
        out.violations.append(f"problem message of {longest} characters")
    if any(corrupt.PLANTED in line for line in cap.lines):
        out.violations.append("planted value in a log line")
    return out


def run_corpus(
    n_bundles: int, n_json: int, seed: int = 0, loader: Any = None
) -> tuple[Counter[str], list[Outcome]]:
    """Run ``n_bundles`` corrupted bundles and ``n_json`` hostile JSON documents."""
    loader = loader or default_loader()
    files = base_files()
    doc = base_document(files)
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    bad: list[Outcome] = []
    for i in range(n_bundles + n_json):
        case = (
            corrupt.corrupt_bundle(files, rng) if i < n_bundles else corrupt.hostile_json(doc, rng)
        )
        o = check(case, loader)
        counts["json" if i >= n_bundles else "bundles"] += 1
        counts["predicted"] += o.n_predicted
        counts["rejected"] += o.n_rejected
        if o.crash:
            counts["crashes"] += 1
            counts[f"crash: {o.crash.split(':')[0]}"] += 1
        for v in o.violations:
            counts[f"violation: {v}"] += 1
        if o.crash or o.violations:
            bad.append(o)
    return counts, bad


def main(argv: list[str] | None = None) -> int:
    """Run the fixed corpus; exit 1 when any invariant failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=1282)
    parser.add_argument("--json", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=15, help="failing cases to list")
    args = parser.parse_args(argv)
    logging.disable(logging.NOTSET)
    t0 = time.perf_counter()
    counts, bad = run_corpus(args.bundles, args.json, args.seed)
    summary = {"seconds": round(time.perf_counter() - t0, 1), **dict(sorted(counts.items()))}
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    for o in bad[: args.show]:
        sys.stdout.write(f"- {o.name}: {o.crash or ''} {'; '.join(sorted(set(o.violations)))}\n")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
