"""Cell parsing: raw cells (text, or values as a Parquet file or a JSON document stored them)
to canonical values, one function per kind of column of :mod:`bundle.spec`.

Each parser returns the canonical column plus a mask of the cells it refused; it never guesses:
a boolean, a date, an object or a non-finite value in a number column is refused (not 0 or 1),
an object in a text column is refused (not its ``repr``). Distinct values are parsed once and
broadcast (vectorised for millions of rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bundle import vocab

#: refused marker inside the parsers (a cell that is not of the column's kind)
BAD: Any = type("Bad", (), {"__repr__": lambda self: "BAD"})()
_MISSING_TEXT = {"na", "n/a", "nan", "null", "none", "-", "nd", "n.d."}


def is_missing(x: Any) -> bool:
    """True for the cell values that mean "empty" (None, NaN, NA, NaT, blank text)."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, float) and math.isnan(x):
        return True
    if isinstance(x, np.floating) and bool(np.isnan(x)):
        return True
    return isinstance(x, str) and not x.strip()


def _map(s: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """(``fn`` of each cell, mask of cells ``fn`` refused as :data:`BAD`); missing -> NaN.

    ``fn`` runs once per distinct non-missing value; the refused mask is computed on the
    distinct values too, so a column of millions of rows costs a factorisation.
    """
    values = s.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True) if len(values) else "empty"
    if kind not in ("string", "empty", "floating", "integer", "bytes"):
        # True == 1 and False == 0 to a hash table: booleans are mapped on their own
        flags = np.fromiter((isinstance(v, bool | np.bool_) for v in values), bool, len(values))
        if flags.any() and not flags.all():
            out, bad = _map(pd.Series(np.where(flags, None, values), index=s.index), fn)
            out[flags] = [fn(v) for v in values[flags]]
            bad[flags] = [v is BAD for v in out[flags]]
            return out, bad
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # an unhashable cell (a JSON array or object): map every cell
        out = np.empty(len(values), dtype=object)
        out[:] = [np.nan if is_missing(v) else fn(v) for v in values]
        return out, np.fromiter((v is BAD for v in out), bool, len(out))
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [np.nan if is_missing(u) else fn(u) for u in uniques]
    mapped[-1] = np.nan
    refused = np.fromiter((v is BAD for v in mapped), bool, len(mapped))
    return mapped[codes], refused[codes]


def map_cells(s: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """Apply ``fn`` to each distinct non-missing cell once, then broadcast; missing -> NaN."""
    return pd.Series(_map(s, fn)[0], index=s.index, dtype=object)


def cell_text(x: Any) -> Any:
    """One cell as shown in a problem: trimmed text; integral floats as ``1`` not ``1.0``."""
    if is_missing(x):
        return np.nan
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    if isinstance(x, float | np.floating) and np.isfinite(x) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, bytes):
        return f"<{len(x)} bytes>"
    if isinstance(x, dict | list):
        return f"<JSON {'object' if isinstance(x, dict) else 'array'}>"
    return str(x).strip()


def _text_cell(x: Any) -> Any:
    """A text cell: strings trimmed; whole integers (JSON, Parquet) as their digits; else BAD."""
    if isinstance(x, str):
        return x.strip() or np.nan
    if isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_):
        return str(int(x))
    return BAD


def parse_text(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Text column: (trimmed text with NaN for empty, missing mask, refused mask)."""
    values, bad = _map(raw, _text_cell)
    out = pd.Series(values, index=raw.index, dtype=object).where(~bad, np.nan)
    missing = pd.isna(out.to_numpy()) & ~bad
    return out, missing, bad


def _number_cell(x: Any) -> Any:
    """A number cell: int/float (finite) or text that parses as a finite number; else BAD."""
    if isinstance(x, bool | np.bool_):
        return BAD
    if isinstance(x, int | np.integer):
        f = float(x) if abs(int(x)) < 10**300 else math.inf
    elif isinstance(x, float | np.floating):
        f = float(x)
    elif isinstance(x, str):
        t = x.strip()
        if "_" in t or not t.isascii():  # Python's float() takes 1_000 and Arabic-Indic digits
            return BAD
        try:
            f = float(t)
        except ValueError:
            return BAD
    else:  # dates, durations, bytes, JSON objects and arrays, markers of the JSON reader
        return BAD
    return f if math.isfinite(f) else BAD


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Number column: (float64 with NaN for empty/refused, missing mask, refused mask).

    Plain numeric storage (int or float, not bool) takes a vectorised path; anything else is
    parsed cell by distinct cell. Booleans, temporal values, objects and non-finite numbers
    are refused.
    """
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype):
        bad = raw.notna().to_numpy()
        return pd.Series(np.nan, index=raw.index, dtype="float64"), ~bad, bad
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        num = raw.astype("float64")
        values = num.to_numpy()
        bad = np.isinf(values)
        missing = np.isnan(values)
        return num.where(~bad, np.nan), missing, bad
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            fast = _arrow_float(raw)
            if fast is not None:
                values = fast.to_numpy()
                given = raw.notna().to_numpy()
                bad = np.isinf(values) | (np.isnan(values) & given)  # "nan", "inf" as text
                return fast.where(~bad, np.nan), ~given, bad
        parsed, bad = _map(raw, _number_cell)
        num = pd.Series(np.where(bad, np.nan, parsed), index=raw.index).astype("float64")
        return num, np.isnan(num.to_numpy()) & ~bad, bad
    # datetimes, timedeltas, categories, intervals...: nothing here is a number
    missing = raw.isna().to_numpy()
    return pd.Series(np.nan, index=raw.index, dtype="float64"), missing, ~missing


def _arrow_float(raw: pd.Series) -> pd.Series | None:
    """Arrow's cast of a text column to float64 (None when some cell is not a plain number)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(pa.array(raw.array), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return None
    return pd.Series(values, index=raw.index, dtype="float64")


def number_cause(text: pd.Series) -> pd.Series:
    """Likely cause for a refused number cell (decimal comma, unit suffix, placeholder, type)."""
    v = text.astype(str)
    cause = pd.Series(None, index=text.index, dtype=object)
    cause[v.str.fullmatch(r"[-+]?\d+,\d+")] = "decimal comma; use a point (3.5)"
    cause[v.str.fullmatch(r"[-+]?\d+(\.\d+)?\s*[A-Za-zµ/%°]+")] = (
        "value includes a unit; give the number only"
    )
    cause[v.str.lower().isin(_MISSING_TEXT)] = "use an empty cell for 'not measured'"
    cause[v.str.lower().isin({"true", "false"})] = "a true/false value, not a number"
    cause[v.str.fullmatch(r"[-+]?(inf|infinity)", case=False)] = "not a finite number"
    cause[v.str.fullmatch(r"[-+]?\d{41,}.*|.*e[-+]?\d{3,}", case=False)] = (
        "too long or too large to be a measurement"
    )
    cause[v.str.startswith("<")] = "not a number"
    return cause


def lookup(allowed: tuple[str, ...], synonyms: Mapping[str, str] | None = None) -> dict[str, str]:
    """Normalised token -> canonical value, for ``allowed`` values and their ``synonyms``."""
    out = {vocab.normalise_token(a): a for a in allowed}
    for k, v in (synonyms or {}).items():
        out.setdefault(vocab.normalise_token(k), v)
    return out


def parse_category(text: pd.Series, table: Mapping[str, str]) -> tuple[pd.Series, np.ndarray]:
    """Canonical spelling of each text cell (as written when unknown) and the unknown mask."""
    canon = map_cells(text, lambda u: table.get(vocab.normalise_token(u), np.nan)).to_numpy()
    given = ~pd.isna(text.to_numpy())
    unknown = given & pd.isna(canon)
    return pd.Series(np.where(unknown, text.to_numpy(), canon), dtype=object), unknown


_BOOLEANS: dict[str, float] = {k: float(v) for k, v in vocab.BOOLEAN_SYNONYMS.items()}


def parse_boolean(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Boolean column: (1.0/0.0/NaN, missing mask, refused mask); real booleans accepted."""

    def cell(x: Any) -> Any:
        if isinstance(x, bool | np.bool_):
            return float(x)
        if isinstance(x, str):
            return _BOOLEANS.get(vocab.normalise_token(x), BAD)
        if isinstance(x, int | np.integer) and int(x) in (0, 1):
            return float(x)
        return BAD

    parsed, bad = _map(raw, cell)
    out = pd.Series(np.where(bad, np.nan, parsed), index=raw.index).astype("float64")
    return out, np.isnan(out.to_numpy()) & ~bad, bad
