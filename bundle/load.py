"""Loading a bundle from a path: read (:mod:`bundle.readers`, :mod:`bundle.zipped`,
:mod:`bundle.json_form`), validate once (:mod:`bundle.validate`), keep the valid studies.

:func:`load_bundle` never raises for bad content: a file that cannot be read becomes a problem
of the report. :func:`load_valid` is what a pipeline stage calls: a bundle that ``emgdx
validate`` already wrote (:mod:`bundle.validated`) is read back and schema-checked, not
validated again; any other bundle is validated and its invalid studies left out.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bundle.json_form import load_study_json, parse_json
from bundle.limits import DEFAULT_LIMITS, ReadLimits
from bundle.problems import FILE_LEVEL_KINDS, ID_PATTERN, Problem, ValidationReport
from bundle.readers import BundleReadError
from bundle.sources import read_tables
from bundle.spec import TABLE_NAMES
from bundle.tables import Bundle
from bundle.validate import empty_table_of, validate_tables

logger = logging.getLogger(__name__)


def load_bundle(
    path: str | Path, *, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[Bundle, ValidationReport]:
    """Read, normalise and validate a bundle; never raises for bad content.

    Parameters
    ----------
    path : str or Path
        A bundle folder (``studies``/``ncs``/``emg`` as ``.csv`` or ``.parquet``), a ``.zip``
        of one, or a ``.json`` file holding one study (or a list of studies) in the JSON form.
    limits : ReadLimits
        Size limits (zip expansion, JSON size, depth, number length and studies).

    Returns
    -------
    bundle : Bundle
        Canonical tables with every row that could be read (invalid studies included).
    report : ValidationReport
        Every problem found; ``report.invalid_study_ids`` names the studies to leave out.
    """
    p = Path(path)
    if p.suffix.lower() == ".json" and p.is_file():
        try:
            data = p.read_bytes()
        except OSError as exc:
            return unreadable(p.name, f"cannot be opened ({exc.strerror})")
        doc, problem = parse_json(data, p.name, limits)
        if problem is not None:
            return unreadable_problem(problem)
        return load_study_json(doc, source=p.name, limits=limits)
    try:
        tables = read_tables(p, limits)
    except BundleReadError as exc:
        return unreadable(exc.file, exc.reason, kind=exc.kind)
    return validate_tables(tables, p.name or str(p))


def unreadable(
    file: str, reason: str, *, kind: str = "unreadable_file"
) -> tuple[Bundle, ValidationReport]:
    """An empty bundle and a report holding one file-level problem."""
    return unreadable_problem(Problem(file, None, None, None, reason, kind=kind))


def unreadable_problem(problem: Problem) -> tuple[Bundle, ValidationReport]:
    """An empty bundle and a report holding ``problem`` (a file-level one)."""
    empty = {name: empty_table_of(name) for name in TABLE_NAMES}
    return Bundle(**empty), ValidationReport([problem], dict.fromkeys(TABLE_NAMES, 0), set())


def validate_bundle(path: str | Path) -> ValidationReport:
    """Validation report of the bundle at ``path`` (``load_bundle(path)[1]``)."""
    return load_bundle(path)[1]


def valid_subset(bundle: Bundle, report: ValidationReport) -> Bundle:
    """The studies to predict: those with a well-formed id that the report found valid.

    A file-level error leaves nothing; rows without a study_id are never kept.
    """
    import re

    if any(p.severity == "error" and p.kind in FILE_LEVEL_KINDS for p in report.problems):
        return bundle.subset([])
    form = re.compile(ID_PATTERN)
    ids = bundle.study_ids
    if report.ok and all(isinstance(s, str) and form.fullmatch(s) for s in ids):
        return bundle  # every study valid: nothing to leave out (no copy)
    keep = [
        s
        for s in ids
        if isinstance(s, str) and form.fullmatch(s) and s not in report.invalid_study_ids
    ]
    return bundle.subset(keep)


def load_valid(path: str | Path) -> Bundle:
    """The valid studies of a bundle, for a pipeline stage.

    A bundle written by ``emgdx validate --out`` is read back and schema-checked only (it was
    validated once, by that stage); any other bundle is validated here and its invalid studies
    left out (counted in the log, listed by ``emgdx validate``).
    """
    from bundle.validated import is_validated, read_validated

    if is_validated(path):
        return read_validated(path)
    bundle, report = load_bundle(path)
    valid = valid_subset(bundle, report)
    n_invalid = report.n_studies - len(valid.studies)
    if n_invalid:
        logger.warning(
            "%d of %d studies are invalid and left out (run 'emgdx validate' for the list)",
            n_invalid,
            report.n_studies,
        )
    return valid
