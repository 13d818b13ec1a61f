"""The one validation path: raw tables -> canonical :class:`~bundle.tables.Bundle` + report.

Driven by the column-spec table (:mod:`bundle.spec`): each column is parsed by its kind
(:mod:`bundle.parse`), its numbers checked by the spec's pandera schema (:mod:`bundle.schema`,
the same for one row and for ten million), then the cross-column rules (:mod:`bundle.rules`) and
the cross-table ones (unique study_id, rows of unknown studies, rows without study_id) run.

Rules (see ``docs/data-contract-notes.md``):

* nothing is dropped: every row that could be read is in the bundle, and a study with an error
  is named in :attr:`ValidationReport.invalid_study_ids`; a file-level problem (missing file or
  required column, unreadable file) invalidates all;
* a row without a study_id is an error: in ``studies`` it is no study (never predicted), in
  ``ncs``/``emg`` it may belong to the studies of its neighbouring rows, which are rejected;
* empty means "not measured" and stays NaN; amplitude ``0`` is "no response";
* nothing is coerced: a boolean, object or non-finite value in a number column is
  ``bad_number``; physiologically impossible magnitudes are errors naming the likely cause.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bundle import parse, rules, vocab
from bundle.collect import Collector
from bundle.problems import FILE_LEVEL_KINDS, ID_PATTERN, Problem, ValidationReport, clip
from bundle.readers import RawTable
from bundle.schema import value_failures
from bundle.spec import TABLE_NAMES, ColumnSpec, columns_of, required_columns
from bundle.tables import Bundle, empty_table

logger = logging.getLogger(__name__)

_ID_RE = re.compile(ID_PATTERN)


def _range_cause(spec: ColumnSpec, values: pd.Series) -> pd.Series:
    """Likely cause for out-of-range values (unit mix-ups recognisable from the number)."""
    cause = pd.Series(None, index=values.index, dtype=object)
    if spec.name == "limb_temp_c":
        cause[values.between(68, 104)] = "temperature entered in °F"
    elif spec.name == "height_cm":
        cause[values.between(1.0, 2.3)] = "height entered in metres"
    elif spec.name == "age_years":
        cause[values.between(1900, 2100)] = "birth year entered instead of age"
    elif spec.dtype == "grade":
        cause[values.between(0, 4) & (values % 1 != 0)] = "grades are whole numbers (use 1 not 1.5)"
    elif spec.name.endswith("_pct"):
        cause[values.between(100, 10000)] = "value is not a percentage"
    return cause


def _header_problems(raw: RawTable, coll: Collector) -> None:
    """Missing required columns (with a hint at a near name), duplicates, extra columns."""
    specs = columns_of(raw.name)
    present = [str(c) for c in raw.frame.columns]
    for col in required_columns(raw.name):
        if col not in present:
            similar = [c for c in present if vocab.normalise_token(c) == col]
            coll.file(
                Problem(
                    raw.file,
                    None,
                    col,
                    None,
                    f"required column '{col}' is missing",
                    cause=f"column is named '{clip(similar[0])}'; names are lower-case snake_case"
                    if similar
                    else None,
                    kind="missing_column",
                )
            )
    for col in present:
        base = re.sub(r"\.\d+$", "", col)
        if col not in specs and base in specs and base in present:
            coll.file(
                Problem(
                    raw.file,
                    None,
                    base,
                    None,
                    f"column '{base}' only once (it appears more than once in the header)",
                    kind="duplicate_column",
                )
            )
        elif col not in specs:
            coll.file(
                Problem(
                    raw.file,
                    None,
                    col,
                    None,
                    "a column of the contract (this one is not; it is kept as an extra column)",
                    severity="warning",
                    kind="extra_column",
                )
            )


def _column(
    raw: RawTable, spec: ColumnSpec, sid: pd.Series, coll: Collector
) -> tuple[pd.Series, np.ndarray]:
    """Parse one column by its spec; report refused cells; return (canonical, missing mask)."""
    cells = raw.frame[spec.name].reset_index(drop=True)
    if spec.is_numeric:
        values, missing, bad = parse.parse_numbers(cells)
        if bad.any():
            text = parse.map_cells(cells.where(bad, None), parse.cell_text)
            coll.rows(
                raw,
                bad,
                spec.name,
                text,
                f"a number (empty if not measured): {spec.expected}",
                kind="bad_number",
                study_ids=sid,
                cause=parse.number_cause(text.where(bad, "")),
            )
        return values, missing
    if spec.dtype == "boolean":
        values, missing, bad = parse.parse_boolean(cells)
        coll.rows(
            raw,
            bad,
            spec.name,
            parse.map_cells(cells, parse.cell_text),
            spec.expected,
            kind="unknown_value",
            study_ids=sid,
        )
        return values, missing
    text, missing, bad = parse.parse_text(cells)
    if bad.any():
        coll.rows(
            raw,
            bad,
            spec.name,
            parse.map_cells(cells.where(bad, None), parse.cell_text),
            f"text: {spec.expected}",
            kind="bad_id" if spec.dtype == "id" else "unknown_value",
            study_ids=sid,
            cause="a number, true/false or an object where text is expected",
        )
    if spec.dtype == "category":
        table = parse.lookup(spec.vocabulary, spec.synonyms)
        values, unknown = parse.parse_category(text, table)
        coll.rows(raw, unknown, spec.name, text, spec.expected, kind="unknown_value", study_ids=sid)
        if spec.default is not None:  # contract: sex defaults to U (unknown)
            values = values.where(~missing, spec.default)
        return values, missing
    if spec.dtype == "id":
        ok = parse.map_cells(text, lambda u: _ID_RE.fullmatch(u) is not None).to_numpy()
        wrong = ~pd.isna(text.to_numpy()) & np.asarray(ok != True, dtype=bool)  # noqa: E712
        coll.rows(
            raw,
            wrong,
            spec.name,
            text,
            spec.expected,
            kind="bad_id",
            study_ids=sid,
            cause="spaces or other characters in the identifier",
        )
        return text, missing
    if spec.dtype == "token":
        return parse.map_cells(text, vocab.normalise_token), missing
    return text, missing


def _normalise(raw: RawTable, coll: Collector) -> pd.DataFrame:
    """Validate one raw table by the spec and return it with canonical values (all rows kept)."""
    specs = columns_of(raw.name)
    frame = raw.frame
    n = len(frame)
    _header_problems(raw, coll)
    if "study_id" in frame.columns and isinstance(frame["study_id"], pd.Series):
        sid, _, _ = parse.parse_text(frame["study_id"].reset_index(drop=True))
    else:
        sid = pd.Series(np.nan, index=range(n), dtype=object)
    out: dict[str, pd.Series] = {}
    numbers: dict[str, pd.Series] = {}
    for name, spec in specs.items():
        if name not in frame.columns or not isinstance(frame[name], pd.Series):
            out[name] = pd.Series(np.nan, index=range(n), dtype=spec.canonical_dtype)
            continue
        values, missing = _column(raw, spec, sid, coll)
        out[name] = values
        if spec.is_numeric:
            numbers[name] = values
        if spec.required and not (raw.grouped and name == "study_id"):
            coll.rows(
                raw,
                missing,
                name,
                None,
                "a value (required)",
                kind="missing_value",
                study_ids=sid,
                cause="every row needs its study_id" if name == "study_id" else None,
            )
    _value_checks(raw, numbers, sid, coll)
    result = pd.DataFrame(out)
    for c in frame.columns:
        if c not in specs:
            result[c] = frame[c].reset_index(drop=True)
    if raw.name == "ncs":
        rules.check_ncs(raw, result, sid, coll)
        rules.check_special_kinds(raw, result, sid, coll)
    elif raw.name == "emg":
        rules.check_emg(raw, result, sid, coll)
    return result


def _value_checks(
    raw: RawTable, numbers: Mapping[str, pd.Series], sid: pd.Series, coll: Collector
) -> None:
    """The spec's range, whole-number and physiological checks (one pandera schema)."""
    if not numbers:
        return
    specs = columns_of(raw.name)
    for (col, kind), mask in value_failures(raw.name, pd.DataFrame(numbers)).items():
        spec = specs[col]
        if kind == "implausible":
            expected = f"{spec.expected}; above {spec.impossible_above:g} is not physiological"
            cause: str | pd.Series = "impossible magnitude: check the unit and the value"
        else:
            expected, cause = spec.expected, _range_cause(spec, numbers[col])
        coll.rows(raw, mask, col, numbers[col], expected, kind=kind, study_ids=sid, cause=cause)


def _rows_without_study(raw: RawTable, ids: pd.Series, coll: Collector) -> None:
    """A ncs/emg row without study_id may be part of the studies next to it: reject those."""
    missing = ids.isna().to_numpy()
    if not missing.any():
        return
    known = ids.where(~missing)
    before, after = known.ffill(), known.bfill()
    for neighbour in (before, after):
        mask = missing & neighbour.notna().to_numpy()
        coll.rows(
            raw,
            mask,
            "study_id",
            None,
            "every row of this study to carry its study_id",
            kind="missing_value",
            study_ids=neighbour,
            cause="a row without study_id lies among this study's rows and may belong to it",
        )


def validate_tables(
    tables: Mapping[str, RawTable],
    source: str,
    earlier: Sequence[Problem] = (),
) -> tuple[Bundle, ValidationReport]:
    """Normalise and cross-check the raw tables of one bundle (as read by ``read_tables``).

    ``earlier`` are problems found before the tables existed (JSON structure); they are listed
    first and count like the others.
    """
    coll = Collector()
    coll.file_level.extend(earlier)
    coll.error_ids.update(p.study_id for p in earlier if p.severity == "error" and p.study_id)
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        if name in tables:
            frames[name] = _normalise(tables[name], coll)
        else:
            coll.file(
                Problem(
                    source,
                    None,
                    None,
                    None,
                    f"table '{name}' is missing (expected {name}.csv or {name}.parquet)",
                    kind="missing_file",
                )
            )
            frames[name] = empty_table_of(name)
    sid = frames["studies"]["study_id"]
    if "studies" in tables:
        dup = (sid.duplicated(keep=False) & sid.notna()).to_numpy()
        coll.rows(
            tables["studies"],
            dup,
            "study_id",
            sid,
            "a study_id unique in the bundle",
            kind="duplicate_study_id",
            study_ids=sid,
            cause="the same study listed twice",
        )
    known = set(sid.dropna())
    for name in ("ncs", "emg"):
        if name in tables:
            s = frames[name]["study_id"]
            if not tables[name].grouped:
                _rows_without_study(tables[name], s, coll)
            if "studies" in tables:
                orphan = (s.notna() & ~s.isin(known)).to_numpy()
                coll.rows(
                    tables[name],
                    orphan,
                    "study_id",
                    s,
                    "a study_id listed in studies",
                    kind="unknown_study_id",
                    study_ids=s,
                )
    problems = coll.problems()
    all_ids = (
        known | set(frames["ncs"]["study_id"].dropna()) | set(frames["emg"]["study_id"].dropna())
    )
    file_level = any(p.severity == "error" and p.kind in FILE_LEVEL_KINDS for p in problems)
    invalid = set(all_ids) if file_level else set(coll.error_ids)
    invalid |= {s for s in all_ids if not _ID_RE.fullmatch(str(s))}
    report = ValidationReport(
        problems=problems,
        n_rows={name: len(frames[name]) for name in TABLE_NAMES},
        invalid_study_ids=invalid,
        n_studies=len(known),
        n_valid_studies=len(known - invalid),
    )
    bundle = Bundle(studies=frames["studies"], ncs=frames["ncs"], emg=frames["emg"])
    logger.info(
        "validated a bundle: %d studies (%d valid), %d errors, %d warnings",
        report.n_studies,
        report.n_valid_studies,
        len(report.errors),
        len(report.warnings),
    )
    return bundle, report


def empty_table_of(name: str) -> pd.DataFrame:
    """An empty canonical table (contract columns, canonical dtypes)."""
    from bundle.tables import TABLES

    return empty_table(TABLES[name])
