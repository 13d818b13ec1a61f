"""``emgdx export-verdicts``: the judged real studies as a labelled contract bundle.

Each study's stored rows (``studies``, ``ncs``, ``emg``) are written with its *latest*
verdict as ``diagnosis``, and its ``site_id`` (``--site`` fills a missing one). Studies whose
current verdict is ``out_of_scope`` or ``insufficient`` are left out (the contract's
``diagnosis`` is one of the six classes) and counted. The bundle is validated after writing;
``params.yaml: data.extra_bundles`` then trains on it (``docs/verdicts.md``).

Exit status: 0 written and valid, 1 nothing to export or the written bundle is invalid, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from app.db import records
from app.db.session import Database
from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.vocab import CLASSES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: studies per class and per site, and what it left out."""

    n_studies: int
    by_class: dict[str, int]
    by_site: dict[str, int]
    left_out: dict[str, int]


def _frame(rows: list[dict[str, object]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in columns:
        if c not in frame.columns:
            frame[c] = None
    return frame


def verdict_bundle(db: Database, default_site: str) -> tuple[Bundle, ExportSummary]:
    """The judged studies with their latest verdict as ``diagnosis``.

    When one ``study_id`` was stored with different contents, the content judged last is used.
    """
    studies: list[dict[str, object]] = []
    ncs: list[dict[str, object]] = []
    emg: list[dict[str, object]] = []
    left_out: dict[str, int] = {}
    seen: set[str] = set()
    with db.session() as s:
        for v in records.latest_verdicts(s):  # newest first
            study = v.study
            if study.study_id in seen:
                continue
            seen.add(study.study_id)
            if v.conclusion not in CLASSES:
                left_out[v.conclusion] = left_out.get(v.conclusion, 0) + 1
                continue
            content = study.content
            row = dict(content["studies"][0])
            row["diagnosis"] = v.conclusion
            row["site_id"] = row.get("site_id") or default_site
            studies.append(row)
            ncs += content["ncs"]
            emg += content["emg"]
    studies.reverse()  # oldest judged first: a stable order for the same database
    bundle = Bundle(
        studies=_frame(studies, STUDY_COLUMNS),
        ncs=_frame(ncs, NCS_COLUMNS),
        emg=_frame(emg, EMG_COLUMNS),
    )
    st = bundle.studies
    summary = ExportSummary(
        n_studies=len(st),
        by_class={str(k): int(n) for k, n in st["diagnosis"].value_counts().sort_index().items()}
        if len(st)
        else {},
        by_site={str(k): int(n) for k, n in st["site_id"].value_counts().sort_index().items()}
        if len(st)
        else {},
        left_out=left_out,
    )
    return bundle, summary


def export_verdicts(
    db: Database, out: Path, *, default_site: str = "local", fmt: Literal["csv", "parquet"] = "csv"
) -> ExportSummary:
    """Write the verdict bundle to ``out`` (CSV by default) and return what it holds."""
    from bundle.writers import write_bundle

    bundle, summary = verdict_bundle(db, default_site)
    if summary.n_studies:
        write_bundle(bundle, out, fmt)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx export-verdicts``; see the module docstring."""
    from app.db import migrate
    from app.db.cli import database_url
    from bundle.load import validate_bundle

    parser = argparse.ArgumentParser(
        prog="emgdx export-verdicts", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    parser.add_argument("--url", default=None, help="database URL (default EMGDX_DATABASE_URL)")
    parser.add_argument("--site", default="local", help="site_id of studies stored without one")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args(argv)
    url = database_url(args.url)
    migrate.upgrade(url)
    db = Database(url)
    try:
        summary = export_verdicts(db, args.out, default_site=args.site, fmt=args.format)
    finally:
        db.dispose()
    left = ", ".join(f"{n} {k}" for k, n in summary.left_out.items()) or "none"
    if not summary.n_studies:
        sys.stderr.write(
            f"emgdx export-verdicts: no study has a verdict among the six classes (left out: {left})\n"
        )
        return 1
    report = validate_bundle(args.out)
    classes = ", ".join(f"{k} {n}" for k, n in summary.by_class.items())
    sites = ", ".join(f"{k} {n}" for k, n in summary.by_site.items())
    sys.stdout.write(
        f"{summary.n_studies} judged studies written to {args.out} ({classes}; sites: {sites}); "
        f"left out: {left}\n"
    )
    if not report.ok:
        sys.stderr.write(report.format(max_problems=20) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
