"""Loading and validating study bundles against the data contract (``shared/spec/data-contract.md``).

:func:`load_bundle` reads a bundle (folder of CSV/Parquet, ``.zip``, or the JSON study form),
normalises it to a canonical :class:`~features.bundle.Bundle` and returns it together with a
:class:`ValidationReport` listing *every* problem found, each naming the file, 1-based data row,
column, offending value and what was expected (plus a likely cause for unit mix-ups).

Rules (see ``docs/data-contract-notes.md``):

* nothing is dropped: every row that could be read is in the bundle, and a study with an error
  is named in :attr:`ValidationReport.invalid_study_ids` (callers keep the valid ones with
  :func:`valid_subset`); a file-level problem (missing file or required column) invalidates all;
* empty means "not measured" and stays NaN; amplitude ``0`` is "no response";
* enumerations are matched case-insensitively after trimming, synonyms normalised (``vocab.py``);
* numeric ranges are checked with pandera (lazy, vectorised); plausibility rules name the
  likely cause (µV typed into a mV column, and the like), they never fix a value.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features import vocab
from features.bundle import (
    EMG_REQUIRED,
    NCS_REQUIRED,
    STUDY_REQUIRED,
    TABLES,
    Bundle,
)
from features.bundle_io import BundleReadError, RawTable, read_tables
from features.reference import load_muscles

logger = logging.getLogger(__name__)

REQUIRED: dict[str, tuple[str, ...]] = {
    "studies": STUDY_REQUIRED,
    "ncs": NCS_REQUIRED,
    "emg": EMG_REQUIRED,
}
ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_ID_RE = re.compile(ID_PATTERN)

#: Tables with fewer rows take the small-input route: ranges checked with numpy masks instead
#: of the pandera schema, distinct values mapped by a memoised loop instead of a factorisation.
#: Same rules, same results (tested); the fixed cost of pandera and pandas, not the row count,
#: dominates a single uploaded study.
SMALL_TABLE_ROWS = 1000

#: file-level problem kinds: they make every study invalid
FILE_LEVEL_KINDS: frozenset[str] = frozenset(
    {"missing_file", "missing_column", "duplicate_column", "unreadable_file"}
)

#: kinds shown in report summaries (a Problem's ``kind``), with a short description
PROBLEM_KINDS: dict[str, str] = {
    "unreadable_file": "file or document cannot be read",
    "missing_file": "table missing from the bundle",
    "missing_column": "required column missing",
    "duplicate_column": "column given twice",
    "extra_column": "column not in the contract (kept)",
    "missing_value": "required value empty",
    "bad_number": "not a number",
    "bad_id": "identifier not of the allowed form",
    "unknown_value": "value not in the vocabulary",
    "out_of_range": "number out of range",
    "unit_mixup": "value in the wrong unit",
    "implausible": "value not physiological",
    "absent_response_latency": "latency recorded for an absent response",
    "misplaced_value": "value in a column that does not apply to the row",
    "duplicate_study_id": "study_id repeated",
    "unknown_study_id": "study_id not in studies",
    "study_id_mismatch": "row's study_id differs from its study",
    "bad_json_shape": "JSON element of the wrong type",
}


# --------------------------------------------------------------------------------------------
# report types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One problem found in a bundle.

    Attributes
    ----------
    file : str
        File (or ``"<doc> ncs"`` for the JSON form) the problem is in.
    row : int or None
        1-based data row in that file (header not counted); for the JSON form the 1-based index
        within the ``ncs``/``emg`` array (or within the list of studies). None for file-level
        problems.
    column : str or None
        Column concerned, None when the problem is about the whole file/row.
    value : str or None
        The offending value as written (None for missing values and file-level problems).
    expected : str
        What the contract expects there.
    cause : str or None
        Likely cause (e.g. ``"value entered in µV"``), when one can be guessed.
    study_id : str or None
        Study the row belongs to, when known.
    severity : {"error", "warning"}
        Errors invalidate the study (or the bundle); warnings do not.
    kind : str
        Short machine-readable kind (a key of :data:`PROBLEM_KINDS`), used for summaries.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    cause: str | None = None
    study_id: str | None = None
    severity: Literal["error", "warning"] = "error"
    kind: str = "other"

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        what = "value empty" if self.value is None else f"value {self.value}"
        if self.row is None and self.value is None:
            text = f"{where}: {self.expected}"
        else:
            text = f"{where}: {what} — expected {self.expected}"
        if self.cause:
            text += f"; likely cause: {self.cause}"
        if self.severity == "warning":
            text = "warning: " + text
        return text


@dataclass
class ValidationReport:
    """Everything validation found, as data.

    Attributes
    ----------
    problems : list of Problem
        All problems, file-level first, then by table (studies, ncs, emg) and row.
    n_rows : dict of str to int
        Data rows read per table.
    invalid_study_ids : set of str
        Studies with at least one error (every study when a file-level error exists).
    n_studies : int
        Distinct study_ids in the studies table.
    n_valid_studies : int
        Of those, how many have no error.
    """

    problems: list[Problem]
    n_rows: dict[str, int]
    invalid_study_ids: set[str]
    n_studies: int = 0
    n_valid_studies: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        """``{"error": {kind: n}, "warning": {kind: n}}``."""
        out: dict[str, Counter[str]] = {"error": Counter(), "warning": Counter()}
        for p in self.problems:
            out[p.severity][p.kind] += 1
        return {sev: dict(sorted(c.items())) for sev, c in out.items()}

    def summary(self) -> dict[str, Any]:
        """Flat numbers for dashboards and DVC metrics."""
        by_kind = self.counts_by_kind()
        n_err = sum(by_kind["error"].values())
        n_warn = sum(by_kind["warning"].values())
        return {
            "n_studies": self.n_studies,
            "n_valid_studies": self.n_valid_studies,
            "n_invalid_studies": self.n_studies - self.n_valid_studies,
            "n_ncs_rows": self.n_rows.get("ncs", 0),
            "n_emg_rows": self.n_rows.get("emg", 0),
            "n_problems": n_err + n_warn,
            "n_errors": n_err,
            "n_warnings": n_warn,
            "errors_by_kind": by_kind["error"],
            "warnings_by_kind": by_kind["warning"],
        }

    def to_dict(self, max_problems: int | None = None) -> dict[str, Any]:
        """JSON-ready form: ``summary`` (numbers), ``invalid_study_ids``, ``problems``.

        Parameters
        ----------
        max_problems : int or None
            Keep only the first N problems in the ``problems`` list (None: all).
        """
        listed = self.problems if max_problems is None else self.problems[:max_problems]
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "n_rows": dict(self.n_rows),
            "invalid_study_ids": sorted(self.invalid_study_ids),
            "problems": [asdict(p) for p in listed],
            "n_problems_listed": len(listed),
        }

    def format(self, max_problems: int = 50) -> str:
        """Human-readable report: counts per kind, then the first ``max_problems`` problems."""
        s = self.summary()
        lines = [
            f"{'OK' if self.ok else 'INVALID'}: {s['n_studies']} studies "
            f"({s['n_valid_studies']} valid, {s['n_invalid_studies']} with errors), "
            f"{s['n_ncs_rows']} NCS rows, {s['n_emg_rows']} EMG rows; "
            f"{s['n_errors']} errors, {s['n_warnings']} warnings."
        ]
        for sev in ("error", "warning"):
            for kind, n in s[f"{sev}s_by_kind"].items():
                lines.append(
                    f"  {n:>8} {sev}{'s' if n != 1 else ''}: {PROBLEM_KINDS.get(kind, kind)} [{kind}]"
                )
        shown = self.problems[: max(max_problems, 0)]
        if shown:
            lines.append("")
            lines.extend(str(p) for p in shown)
        rest = len(self.problems) - len(shown)
        if rest > 0:
            lines.append(f"... and {rest} more")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# vocabularies and ranges
# --------------------------------------------------------------------------------------------
def _lookup(allowed: tuple[str, ...], synonyms: Mapping[str, str] | None = None) -> dict[str, str]:
    """Normalised token -> canonical value, for ``allowed`` values and their ``synonyms``."""
    out = {vocab.normalise_token(a): a for a in allowed}
    for k, v in (synonyms or {}).items():
        out.setdefault(vocab.normalise_token(k), v)
    return out


@cache
def _vocabularies() -> dict[tuple[str, str], tuple[dict[str, str], str]]:
    """(table, column) -> (token lookup, expected text)."""
    side_syn = {"left": "L", "right": "R"}
    spec: dict[tuple[str, str], tuple[tuple[str, ...], Mapping[str, str] | None]] = {
        ("studies", "sex"): (vocab.SEXES, {"female": "F", "male": "M", "unknown": "U"}),
        ("studies", "diagnosis"): (vocab.CLASSES, vocab.DIAGNOSIS_SYNONYMS),
        ("ncs", "nerve"): (vocab.NERVES, vocab.NERVE_SYNONYMS),
        ("ncs", "side"): (vocab.NCS_SIDES, side_syn),
        ("ncs", "kind"): (vocab.KINDS, None),
        ("emg", "muscle"): (vocab.MUSCLES, vocab.MUSCLE_SYNONYMS),
        ("emg", "side"): (vocab.EMG_SIDES, vocab.SIDE_SYNONYMS),
        ("emg", "insertional"): (vocab.INSERTIONAL, None),
        ("emg", "muap_amplitude_grade"): (vocab.SIZE_GRADES, None),
        ("emg", "muap_duration_grade"): (vocab.SIZE_GRADES, None),
        ("emg", "polyphasia_grade"): (vocab.POLYPHASIA_GRADES, None),
        ("emg", "recruitment"): (vocab.RECRUITMENT, None),
        ("emg", "activation"): (vocab.ACTIVATION, None),
    }
    out = {}
    for key, (allowed, syn) in spec.items():
        if len(allowed) > 12:
            text = f"a canonical {key[1]} name or synonym (see data contract; e.g. {', '.join(allowed[:4])}, ...)"
        else:
            text = f"one of {', '.join(allowed)}"
            if syn:
                text += f" (or synonym {', '.join(sorted(syn)[:6])})"
        out[key] = (_lookup(allowed, syn), text)
    return out


@dataclass(frozen=True)
class _Range:
    lo: float | None
    hi: float | None
    text: str
    integer: bool = False


#: numeric ranges of the contract, per table and column
RANGES: dict[str, dict[str, _Range]] = {
    "studies": {
        "age_years": _Range(0, 110, "age in years, 0–110"),
        "height_cm": _Range(50, 230, "height in cm, 50–230"),
        "limb_temp_c": _Range(20, 40, "limb temperature in °C, 20–40"),
    },
    "ncs": {
        "latency_ms": _Range(0, None, "latency in ms, ≥ 0"),
        "amplitude": _Range(0, None, "amplitude ≥ 0 (motor mV, sensory µV; 0 = no response)"),
        "duration_ms": _Range(0, None, "duration in ms, ≥ 0"),
        "distance_mm": _Range(0, None, "distance in mm, ≥ 0"),
        "velocity_m_s": _Range(0, None, "conduction velocity in m/s, ≥ 0"),
        "persistence_pct": _Range(0, 100, "F-wave persistence in %, 0–100"),
    },
    "emg": {
        **{
            c: _Range(0, 4, "an integer grade 0–4", integer=True) for c in vocab.SPONTANEOUS_COLUMNS
        },
        "muap_amplitude_uv": _Range(0, None, "MUAP amplitude in µV, ≥ 0"),
        "muap_duration_ms": _Range(0, None, "MUAP duration in ms, ≥ 0"),
        "muap_polyphasic_pct": _Range(0, 100, "share of polyphasic MUAPs in %, 0–100"),
    },
}

# Plausibility limits (data contract, "Plausibility is part of validation").
MOTOR_AMPLITUDE_MAX_MV = 50.0  # contract: above 50 is almost surely µV in a mV column
SENSORY_AMPLITUDE_MIN_UV = 0.5  # contract: below 0.5 with a latency is almost surely mV
VELOCITY_MAX_M_S = 120.0  # contract: above 120 m/s is not physiological
MUAP_AMPLITUDE_MIN_UV = 20.0  # a mean MUAP below 20 µV is not physiological; mV typed into µV


# --------------------------------------------------------------------------------------------
# problem collection (vectorised: one frame per check, turned into Problems at the end)
# --------------------------------------------------------------------------------------------
_PCOLS = ("file", "row", "column", "value", "expected", "cause", "study_id", "severity", "kind")


class _Collector:
    """Accumulates problems as small frames (cheap for millions of rows)."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.file_level: list[Problem] = []

    def file(self, problem: Problem) -> None:
        self.file_level.append(problem)

    def rows(
        self,
        raw: RawTable,
        mask: np.ndarray,
        column: str | None,
        values: pd.Series | None,
        expected: str,
        *,
        kind: str,
        study_ids: pd.Series,
        cause: str | pd.Series | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        if values is None:
            val: Any = None
        else:
            texts = _map_uniques(values.iloc[idx], _cell_text)
            val = texts.where(texts.notna(), None).to_numpy(dtype=object)
        if isinstance(cause, pd.Series):
            c = cause.iloc[idx]
            cause_arr: Any = c.astype(object).where(c.notna(), None).to_numpy()
        else:
            cause_arr = cause
        sid = study_ids.iloc[idx]
        self.frames.append(
            pd.DataFrame(
                {
                    "file": raw.file,
                    "row": raw.row[idx],
                    "column": column,
                    "value": val,
                    "expected": expected,
                    "cause": cause_arr,
                    "study_id": sid.astype(object).where(sid.notna(), None).to_numpy(),
                    "severity": severity,
                    "kind": kind,
                    "_table": list(TABLES).index(raw.name),
                    "_pos": idx,
                }
            )
        )

    def problems(self) -> list[Problem]:
        out = list(self.file_level)
        if self.frames:
            df = pd.concat(self.frames, ignore_index=True)
            df = df.sort_values(["_table", "_pos"], kind="stable")
            df = df.astype(object).where(df.notna(), None)
            cols = [df[c].to_numpy() for c in _PCOLS]
            out.extend(
                Problem(f, int(r), c, v, e, ca, s, sv, k)
                for f, r, c, v, e, ca, s, sv, k in zip(*cols, strict=True)
            )
        return out


# --------------------------------------------------------------------------------------------
# column normalisation
# --------------------------------------------------------------------------------------------
def _cell_text(x: Any) -> Any:
    """One stored value as trimmed text (NaN for empty); integral floats as ``1`` not ``1.0``."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
        return np.nan
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    if isinstance(x, float | np.floating) and np.isfinite(x) and float(x).is_integer():
        return str(int(x))
    t = str(x).strip()
    return t if t else np.nan


def _is_missing(x: Any) -> bool:
    """True for the cell values pandas treats as missing (None, NaN, NA, NaT)."""
    return (
        x is None
        or x is pd.NA
        or x is pd.NaT
        or (isinstance(x, float | np.floating) and bool(np.isnan(x)))
    )


def _map_small(s: pd.Series, fn: Any) -> np.ndarray:
    """:func:`_map_uniques` for a few rows: a memoised loop (``fn`` once per distinct value)."""
    memo: dict[Any, Any] = {}
    out = np.empty(len(s), dtype=object)
    for i, x in enumerate(s.to_numpy(dtype=object)):
        if _is_missing(x):
            out[i] = np.nan
            continue
        try:
            if x not in memo:
                memo[x] = fn(x)
            out[i] = memo[x]
        except TypeError:  # unhashable cell (a JSON array or object)
            out[i] = fn(x)
    return out


def _map_uniques(s: pd.Series, fn: Any) -> pd.Series:
    """Apply ``fn`` to each distinct non-missing value only, then broadcast (vectorised)."""
    if len(s) < SMALL_TABLE_ROWS:
        return pd.Series(_map_small(s, fn), index=s.index, dtype=object)
    try:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (a JSON array or object): map every cell
        mapped_cells = [np.nan if _cell_text(v) is np.nan else fn(v) for v in s]
        return pd.Series(mapped_cells, index=s.index, dtype=object)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques]
    mapped[-1] = np.nan
    return pd.Series(mapped[codes], index=s.index, dtype=object)


_BOOLEANS: dict[str, float] = {k: float(v) for k, v in vocab.BOOLEAN_SYNONYMS.items()}


def _lookup_token(lookup: Mapping[str, Any], value: Any) -> Any:
    """Canonical value of ``value`` in ``lookup`` (normalised token), NaN when unknown."""
    return lookup.get(vocab.normalise_token(value), np.nan)


def _as_text(s: pd.Series) -> pd.Series:
    """Trimmed text with NaN for empty/whitespace cells (values of any stored type)."""
    return _map_uniques(s, _cell_text)


def _number_cause(values: pd.Series) -> pd.Series:
    """Likely cause for text that does not parse as a number (decimal comma, unit suffix)."""
    v = values.astype(str)
    cause = pd.Series(None, index=values.index, dtype=object)
    cause[v.str.fullmatch(r"[-+]?\d+,\d+")] = "decimal comma; use a point (3.5)"
    cause[v.str.fullmatch(r"[-+]?\d+(\.\d+)?\s*[A-Za-zµ/%°]+")] = (
        "value includes a unit; give the number only"
    )
    cause[v.str.lower().isin({"na", "n/a", "nan", "null", "none", "-", "nd", "n.d."})] = (
        "use an empty cell for 'not measured'"
    )
    return cause


def _to_float(src: pd.Series) -> pd.Series:
    """Text to float64, NaN where a value does not parse (Arrow cast first, pandas as fallback)."""
    if isinstance(src.dtype, pd.StringDtype) and src.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            values = pc.cast(pa.array(src.array), pa.float64()).to_numpy(zero_copy_only=False)
            return pd.Series(values, index=src.index, dtype="float64")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
            pass  # some cell is not a plain number: let pandas coerce cell by cell
    return pd.to_numeric(src, errors="coerce").astype("float64")


def _parse_numbers(
    raw: RawTable, col: str, sids: pd.Series, coll: _Collector
) -> tuple[pd.Series, np.ndarray]:
    """Parse a number column to float64; unparseable values become problems (and NaN).

    Returns
    -------
    (numbers, missing)
        float64 values (NaN where empty or unparseable) and the mask of empty cells.
    """
    src = raw.frame[col].reset_index(drop=True)
    bad = np.zeros(len(src), dtype=bool)
    text: pd.Series | None = None
    if pd.api.types.is_numeric_dtype(src.dtype) and not pd.api.types.is_bool_dtype(src.dtype):
        num = src.astype("float64")
        text = src
        values = num.to_numpy()
    else:
        num = _to_float(src)
        values = num.to_numpy()
        unparsed = np.isnan(values) & ~src.isna().to_numpy()
        if unparsed.any():
            text = pd.Series(np.nan, index=src.index, dtype=object)
            text[unparsed] = _as_text(src[unparsed])
            bad = text.notna().to_numpy()
    infinite = np.isinf(values)
    if infinite.any():
        if text is None:
            text = pd.Series(np.nan, index=src.index, dtype=object)
        text = text.astype(object).where(~infinite, num.astype(object))
        bad = bad | infinite  # to_numpy() may be a read-only view (copy-on-write)
    missing = np.isnan(values) & ~bad
    if bad.any():
        coll.rows(
            raw,
            bad,
            col,
            text,
            "a number (empty if not measured)",
            kind="bad_number",
            study_ids=sids,
            cause=_number_cause(text.where(bad, "")),
        )
        num = num.where(~bad, np.nan)
    return num, missing


def _range_cause(table: str, col: str, values: pd.Series) -> pd.Series:
    """Likely cause for out-of-range values (unit mix-ups recognisable from the number)."""
    cause = pd.Series(None, index=values.index, dtype=object)
    if (table, col) == ("studies", "limb_temp_c"):
        cause[values.between(68, 104)] = "temperature entered in °F"
    elif (table, col) == ("studies", "height_cm"):
        cause[values.between(1.0, 2.3)] = "height entered in metres"
    elif (table, col) == ("studies", "age_years"):
        cause[values.between(1900, 2100)] = "birth year entered instead of age"
    elif col in vocab.SPONTANEOUS_COLUMNS:
        cause[values.between(0, 4) & (values % 1 != 0)] = "grades are whole numbers (use 1 not 1.5)"
    elif col.endswith("_pct"):
        cause[values.between(100, 10000)] = "value is not a percentage"
    return cause


@cache
def _range_schema(table: str) -> Any:
    """pandera schema with the contract's numeric ranges for ``table`` (built on first use)."""
    import pandera.pandas as pa

    columns = {}
    for col, r in RANGES[table].items():
        checks = []
        if r.lo is not None:
            checks.append(pa.Check.ge(r.lo))
        if r.hi is not None:
            checks.append(pa.Check.le(r.hi))
        if r.integer:
            checks.append(pa.Check(lambda s: s % 1 == 0, name="integer"))
        columns[col] = pa.Column(float, checks=checks, nullable=True, required=False)
    return pa.DataFrameSchema(columns)


def _range_failures(table: str, numbers: Mapping[str, pd.Series]) -> dict[str, np.ndarray]:
    """Column -> mask of rows outside the contract range, with pandera (large) or numpy (small)."""
    n = len(next(iter(numbers.values()))) if numbers else 0
    if n < SMALL_TABLE_ROWS:
        out = {}
        for col, r in RANGES[table].items():
            if col not in numbers:
                continue
            v = numbers[col].to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore"):
                bad = np.zeros(n, dtype=bool)
                if r.lo is not None:
                    bad |= v < r.lo
                if r.hi is not None:
                    bad |= v > r.hi
                if r.integer:
                    bad |= (v % 1 != 0) & ~np.isnan(v)
            if bad.any():
                out[col] = bad
        return out
    import pandera.errors as pa_errors

    try:
        _range_schema(table).validate(pd.DataFrame(numbers), lazy=True)
        return {}
    except pa_errors.SchemaErrors as err:
        fc = err.failure_cases
    fc = fc[fc["index"].notna() & fc["column"].isin(list(RANGES[table]))]
    out = {}
    for col, part in fc.groupby("column", sort=False):
        mask = np.zeros(n, dtype=bool)
        mask[part["index"].astype(np.int64).to_numpy()] = True
        out[str(col)] = mask
    return out


def _check_ranges(
    raw: RawTable, table: str, numbers: Mapping[str, pd.Series], sids: pd.Series, coll: _Collector
) -> None:
    """Check the contract ranges (pandera schema, lazy) and turn each failure into a Problem."""
    for col, mask in _range_failures(table, numbers).items():
        vals = numbers[col]
        coll.rows(
            raw,
            mask,
            str(col),
            vals,
            RANGES[table][str(col)].text,
            kind="out_of_range",
            study_ids=sids,
            cause=_range_cause(table, str(col), vals),
        )


def _normalise(raw: RawTable, coll: _Collector) -> pd.DataFrame:
    """Validate one raw table and return it with canonical values (all rows kept)."""
    table = raw.name
    columns = TABLES[table]
    frame = raw.frame
    n = len(frame)
    present = list(frame.columns)
    for col in REQUIRED[table]:
        if col not in present:
            similar = [c for c in present if vocab.normalise_token(c) == col]
            coll.file(
                Problem(
                    raw.file,
                    None,
                    col,
                    None,
                    f"required column '{col}' is missing",
                    cause=f"column is named {similar[0]!r}; names are lower-case snake_case"
                    if similar
                    else None,
                    kind="missing_column",
                )
            )
    for col in present:
        base = re.sub(r"\.\d+$", "", str(col))
        if col not in columns and base in columns and base in present:
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
        elif col not in columns:
            coll.file(
                Problem(
                    raw.file,
                    None,
                    str(col),
                    None,
                    f"column '{col}' is not in the contract; kept as an extra column",
                    severity="warning",
                    kind="extra_column",
                )
            )

    def text_of(col: str) -> pd.Series:
        if col in frame.columns:
            return _as_text(frame[col]).reset_index(drop=True)
        return pd.Series(np.nan, index=range(n), dtype=object)

    sid_text = text_of("study_id")
    out: dict[str, pd.Series] = {}
    vocabs = _vocabularies()
    numbers = {}
    for col, kind in columns.items():
        if col not in frame.columns:
            out[col] = pd.Series(
                np.nan, index=range(n), dtype="float64" if kind == "float" else object
            )
            continue
        if kind == "float" and col != "muap_unstable":
            num, missing = _parse_numbers(raw, col, sid_text, coll)
            out[col] = numbers[col] = num
        else:
            text = sid_text if col == "study_id" else text_of(col)
            text_na = pd.isna(text.to_numpy())
            missing = text_na
        if col in REQUIRED[table]:
            coll.rows(
                raw,
                missing,
                col,
                None,
                "a value (required)",
                kind="missing_value",
                study_ids=sid_text,
            )
        if kind == "float" and col != "muap_unstable":
            continue
        if col == "muap_unstable":
            val = _map_uniques(text, partial(_lookup_token, _BOOLEANS))
            bad = ~text_na & pd.isna(val.to_numpy())
            coll.rows(
                raw,
                bad,
                col,
                text,
                "true or false (empty if not recorded)",
                kind="unknown_value",
                study_ids=sid_text,
            )
            out[col] = val.astype("float64")
        elif kind == "cat":
            lookup, expected = vocabs[(table, col)]
            val = _map_uniques(text, partial(_lookup_token, lookup))
            canon = val.to_numpy()
            unknown = pd.isna(canon)
            coll.rows(
                raw,
                ~text_na & unknown,
                col,
                text,
                expected,
                kind="unknown_value",
                study_ids=sid_text,
            )
            if col == "sex":  # contract: sex defaults to U (unknown)
                canon = np.where(text_na, "U", canon)
                unknown = unknown & ~text_na
            # a value outside the vocabulary stays as written (the report names it)
            out[col] = pd.Series(np.where(unknown, text.to_numpy(), canon), dtype=object)
        else:  # free text / identifiers
            if col in ("study_id", "patient_id"):
                ok = _map_uniques(text, lambda u: _ID_RE.fullmatch(u) is not None).to_numpy()
                bad = ~text_na & np.asarray(ok != True, dtype=bool)  # noqa: E712
                coll.rows(
                    raw,
                    bad,
                    col,
                    text,
                    "1–64 characters of A-Z a-z 0-9 . _ -",
                    kind="bad_id",
                    study_ids=sid_text,
                    cause="spaces or other characters in the identifier"
                    if col == "study_id"
                    else None,
                )
                out[col] = text
            elif col in ("stim_site", "recording_site"):
                out[col] = _map_uniques(text, vocab.normalise_token)
            else:
                out[col] = text
    if numbers:
        _check_ranges(raw, table, numbers, sid_text, coll)
    result = pd.DataFrame(out)
    extras = [c for c in frame.columns if c not in columns]
    for c in extras:
        result[c] = frame[c].reset_index(drop=True)
    if table == "ncs":
        _check_ncs(raw, result, sid_text, coll)
    elif table == "emg":
        _check_emg(raw, result, sid_text, coll)
    return result


def _check_ncs(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: _Collector) -> None:
    """Row rules of the ncs table: required amplitude, unit mix-ups, plausibility."""
    kind, amp, lat, vel = df["kind"], df["amplitude"], df["latency_ms"], df["velocity_m_s"]
    motor, sensory = (kind == "motor").to_numpy(), (kind == "sensory").to_numpy()
    if "amplitude" in raw.frame.columns:
        coll.rows(
            raw,
            (motor | sensory) & amp.isna().to_numpy() & raw.frame["amplitude"].isna().to_numpy(),
            "amplitude",
            None,
            "an amplitude for motor/sensory rows (0 = no response)",
            kind="missing_value",
            study_ids=sids,
        )
    coll.rows(
        raw,
        motor & (amp > MOTOR_AMPLITUDE_MAX_MV).to_numpy(),
        "amplitude",
        amp,
        f"motor amplitude in mV (0–{MOTOR_AMPLITUDE_MAX_MV:g})",
        kind="unit_mixup",
        study_ids=sids,
        cause="value entered in µV",
    )
    coll.rows(
        raw,
        sensory & ((amp > 0) & (amp < SENSORY_AMPLITUDE_MIN_UV) & lat.notna()).to_numpy(),
        "amplitude",
        amp,
        f"sensory amplitude in µV (≥ {SENSORY_AMPLITUDE_MIN_UV:g} when a response was recorded)",
        kind="unit_mixup",
        study_ids=sids,
        cause="value entered in mV",
    )
    coll.rows(
        raw,
        (vel > VELOCITY_MAX_M_S).to_numpy(),
        "velocity_m_s",
        vel,
        f"conduction velocity ≤ {VELOCITY_MAX_M_S:g} m/s",
        kind="implausible",
        study_ids=sids,
        cause="not physiological; check distance (mm) and latency (ms)",
    )
    coll.rows(
        raw,
        (df["persistence_pct"].notna() & (kind != "f_wave")).to_numpy(),
        "persistence_pct",
        df["persistence_pct"],
        "persistence only on f_wave rows",
        kind="misplaced_value",
        study_ids=sids,
        severity="warning",
    )
    coll.rows(
        raw,
        ((amp == 0) & lat.notna()).to_numpy() & (motor | sensory),
        "latency_ms",
        lat,
        "no latency when the amplitude is 0 (no response)",
        kind="absent_response_latency",
        study_ids=sids,
        severity="warning",
        cause="a latency was recorded for an absent response",
    )


@cache
def _muscle_limbs() -> dict[str, str]:
    """Canonical muscle -> limb (head/axial/upper/lower), read once."""
    return load_muscles()["limb"].to_dict()


def _check_emg(raw: RawTable, df: pd.DataFrame, sids: pd.Series, coll: _Collector) -> None:
    """Row rules of the emg table: midline side only for head/axial muscles, MUAP unit mix-up."""
    limb = df["muscle"].map(_muscle_limbs())
    coll.rows(
        raw,
        ((df["side"] == "M") & limb.isin(["upper", "lower"])).to_numpy(),
        "side",
        df["side"],
        "L or R for a limb muscle (M is for midline muscles such as the tongue)",
        kind="unknown_value",
        study_ids=sids,
    )
    a = df["muap_amplitude_uv"]
    coll.rows(
        raw,
        ((a > 0) & (a < MUAP_AMPLITUDE_MIN_UV)).to_numpy(),
        "muap_amplitude_uv",
        a,
        f"mean MUAP amplitude in µV (≥ {MUAP_AMPLITUDE_MIN_UV:g} when measured)",
        kind="unit_mixup",
        study_ids=sids,
        cause="value entered in mV",
    )


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def validate_tables(
    tables: Mapping[str, RawTable],
    source: str,
    earlier: Sequence[Problem] = (),
    progress: bool = False,
) -> tuple[Bundle, ValidationReport]:
    """Normalise and cross-check the raw tables of one bundle (as read by ``read_tables``).

    ``earlier`` are problems found before the tables existed (JSON structure); they are listed
    first and count like the others.
    """
    coll = _Collector()
    coll.file_level.extend(earlier)
    frames: dict[str, pd.DataFrame] = {}
    for name in tqdm(TABLES, desc="validate", unit="table", disable=not progress):
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
            frames[name] = pd.DataFrame(
                {
                    c: pd.Series(dtype="float64" if k == "float" else object)
                    for c, k in TABLES[name].items()
                }
            )
    studies = frames["studies"]
    sid = studies["study_id"]
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
        if name in tables and "studies" in tables:
            s = frames[name]["study_id"]
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
    if any(p.severity == "error" and p.kind in FILE_LEVEL_KINDS for p in problems):
        invalid = set(all_ids)
    else:
        invalid = {p.study_id for p in problems if p.severity == "error" and p.study_id is not None}
    report = ValidationReport(
        problems=problems,
        n_rows={name: len(frames[name]) for name in TABLES},
        invalid_study_ids=invalid,
        n_studies=len(known),
        n_valid_studies=len(known - invalid),
    )
    bundle = Bundle(studies=frames["studies"], ncs=frames["ncs"], emg=frames["emg"])
    logger.info(
        "validated %s: %d studies (%d valid), %d errors, %d warnings",
        source,
        report.n_studies,
        report.n_valid_studies,
        len(report.errors),
        len(report.warnings),
    )
    return bundle, report


def _json_tables(doc: Any, source: str, coll_problems: list[Problem]) -> dict[str, RawTable]:
    """Turn the JSON study form (one object or a list) into raw tables."""
    docs = doc if isinstance(doc, list) else [doc]
    study_rows: list[dict[str, Any]] = []
    study_rownum: list[int] = []
    sub: dict[str, list[dict[str, Any]]] = {"ncs": [], "emg": []}
    sub_rownum: dict[str, list[int]] = {"ncs": [], "emg": []}
    for i, d in enumerate(docs, start=1):
        where_row = i if isinstance(doc, list) else None
        if not isinstance(d, dict):
            coll_problems.append(
                Problem(
                    source,
                    where_row,
                    None,
                    type(d).__name__,
                    "a JSON object with the study's fields",
                    kind="bad_json_shape",
                )
            )
            continue
        study = {k: v for k, v in d.items() if k not in ("ncs", "emg")}
        study_rows.append(study)
        study_rownum.append(i)
        sid = study.get("study_id")
        for name in ("ncs", "emg"):
            rows = d.get(name, [])
            if not isinstance(rows, list):
                coll_problems.append(
                    Problem(
                        source,
                        where_row,
                        name,
                        type(rows).__name__,
                        f"'{name}' as a JSON array of row objects",
                        study_id=None if sid is None else str(sid),
                        kind="bad_json_shape",
                    )
                )
                continue
            for j, r in enumerate(rows, start=1):
                if not isinstance(r, dict):
                    coll_problems.append(
                        Problem(
                            f"{source} {name}",
                            j,
                            None,
                            str(r)[:40],
                            "a JSON object (one row)",
                            study_id=None if sid is None else str(sid),
                            kind="bad_json_shape",
                        )
                    )
                    continue
                row = dict(r)
                if (
                    "study_id" in row
                    and row["study_id"] is not None
                    and str(row["study_id"]) != str(sid)
                ):
                    coll_problems.append(
                        Problem(
                            f"{source} {name}",
                            j,
                            "study_id",
                            str(row["study_id"]),
                            f"the study's own study_id ({sid}) or none",
                            study_id=None if sid is None else str(sid),
                            kind="study_id_mismatch",
                        )
                    )
                row["study_id"] = sid
                sub[name].append(row)
                sub_rownum[name].append(j)

    def frame(rows: list[dict[str, Any]], name: str) -> pd.DataFrame:
        # every contract column is present: a key left out of a row object is an empty cell
        cols = list(dict.fromkeys([*TABLES[name], *(k for r in rows for k in r)]))
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        if len(cols) > len(TABLES[name]):  # extra columns are kept as pandas reads them
            return pd.DataFrame.from_records(rows).reindex(columns=cols).astype(object)
        # contract columns only: cells as given (None/absent = empty); validation reads them
        # through text and number parsing, so this equals the from_records route, but faster
        data = {}
        for c in cols:
            cells = np.empty(len(rows), dtype=object)
            for i, r in enumerate(rows):
                cells[i] = r.get(c, np.nan)
            data[c] = cells
        return pd.DataFrame(data, copy=False)

    out = {
        "studies": RawTable(
            "studies",
            source,
            frame(study_rows, "studies"),
            np.asarray(study_rownum, dtype=np.int64),
        )
    }
    for name in ("ncs", "emg"):
        out[name] = RawTable(
            name,
            f"{source} {name}",
            frame(sub[name], name),
            np.asarray(sub_rownum[name], dtype=np.int64),
        )
    return out


def load_study_json(
    doc: dict[str, Any] | list[Any], source: str = "<json>"
) -> tuple[Bundle, ValidationReport]:
    """Validate the contract's JSON form (one study object, or a list of them).

    Parameters
    ----------
    doc : dict or list
        ``{"study_id": ..., "age_years": ..., "ncs": [{...}], "emg": [{...}]}`` or a list of
        such objects. Rows need no ``study_id`` (they take the study's).
    source : str
        Name used for ``Problem.file`` (e.g. the uploaded file name).

    Returns
    -------
    (Bundle, ValidationReport)
        As :func:`load_bundle`; rows are numbered by their 1-based index in their array.
    """
    structural: list[Problem] = []
    if not isinstance(doc, dict | list):
        structural.append(
            Problem(
                source,
                None,
                None,
                type(doc).__name__,
                "a JSON object (one study) or a list of them",
                kind="unreadable_file",
            )
        )
        doc = []
    tables = _json_tables(doc, source, structural)
    return validate_tables(tables, source, structural)


def load_bundle(path: str | Path, *, progress: bool = False) -> tuple[Bundle, ValidationReport]:
    """Read, normalise and validate a bundle; never raises for bad content.

    Parameters
    ----------
    path : str or Path
        A bundle folder (``studies``/``ncs``/``emg`` as ``.csv`` or ``.parquet``), a ``.zip``
        of one, or a ``.json`` file holding one study (or a list of studies) in the JSON form.
    progress : bool
        Show a progress bar (stderr) over the tables.

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
            doc = json.loads(p.read_text(encoding="utf-8-sig"))
        except (ValueError, OSError) as exc:
            return _unreadable(p.name, f"cannot be read as JSON: {exc}")
        return load_study_json(doc, source=p.name)
    try:
        tables = read_tables(p)
    except BundleReadError as exc:
        return _unreadable(exc.file, exc.reason)
    return validate_tables(tables, p.name or str(p), progress=progress)


def _unreadable(file: str, reason: str) -> tuple[Bundle, ValidationReport]:
    empty = {
        name: pd.DataFrame(
            {c: pd.Series(dtype="float64" if k == "float" else object) for c, k in cols.items()}
        )
        for name, cols in TABLES.items()
    }
    problem = Problem(file, None, None, None, reason, kind="unreadable_file")
    return Bundle(**empty), ValidationReport([problem], dict.fromkeys(TABLES, 0), set())


def validate_bundle(path: str | Path) -> ValidationReport:
    """Validation report of the bundle at ``path`` (``load_bundle(path)[1]``)."""
    return load_bundle(path)[1]


def valid_subset(bundle: Bundle, report: ValidationReport) -> Bundle:
    """The bundle without the studies the report found invalid (rows without a study_id dropped too)."""
    keep = [s for s in bundle.study_ids if s not in report.invalid_study_ids]
    return bundle.subset(keep)


def _json_value(v: Any, col: str) -> Any:
    if col == "muap_unstable":
        return bool(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return int(f) if f.is_integer() and col in (*vocab.SPONTANEOUS_COLUMNS,) else f
    if isinstance(v, np.integer):
        return int(v)
    return v


def study_to_json(bundle: Bundle, study_id: str) -> dict[str, Any]:
    """One study of a bundle in the contract's JSON form (empty values omitted).

    Raises
    ------
    KeyError
        If ``study_id`` is not in ``bundle.studies``.
    """
    srows = bundle.studies[bundle.studies["study_id"] == study_id]
    if srows.empty:
        raise KeyError(f"study_id {study_id!r} is not in the bundle")

    def records(df: pd.DataFrame, drop_id: bool) -> list[dict[str, Any]]:
        out = []
        for rec in df.to_dict(orient="records"):
            out.append(
                {
                    k: _json_value(v, k)
                    for k, v in rec.items()
                    if not (drop_id and k == "study_id") and not pd.isna(v)
                }
            )
        return out

    doc = records(srows.iloc[:1], drop_id=False)[0]
    doc["ncs"] = records(bundle.ncs[bundle.ncs["study_id"] == study_id], drop_id=True)
    doc["emg"] = records(bundle.emg[bundle.emg["study_id"] == study_id], drop_id=True)
    return doc
