"""pandera schemas built from the column-spec table (:mod:`bundle.spec`).

:func:`value_schema` checks the parsed numbers of one table against the contract's ranges, the
whole-number rule of grades and the physiological ceiling of each magnitude; it is the one
range check, for one row and for ten million. :func:`canonical_schema` checks only columns and
dtypes: it is what a later pipeline stage runs on the validated bundle instead of validating
again.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from bundle.spec import ColumnSpec, columns_of

#: pandera check names -> problem kind
CHECK_KINDS: dict[str, str] = {
    "range": "out_of_range",
    "integer": "out_of_range",
    "physiological": "implausible",
}


def _checks(spec: ColumnSpec) -> list[Any]:
    import pandera.pandas as pa

    lo, hi, top = spec.lo, spec.hi, spec.impossible_above
    checks = []
    if lo is not None or hi is not None:
        lo_ = -np.inf if lo is None else lo
        hi_ = np.inf if hi is None else hi
        checks.append(pa.Check(lambda s, a=lo_, b=hi_: (s >= a) & (s <= b), name="range"))
    if spec.dtype == "grade":
        checks.append(pa.Check(lambda s: s % 1 == 0, name="integer"))
    if top is not None:
        checks.append(pa.Check(lambda s, t=top: s <= t, name="physiological"))
    return checks


@cache
def value_schema(table: str) -> Any:
    """pandera schema of the parsed number columns of ``table`` (float64, NaN = not measured)."""
    import pandera.pandas as pa

    columns = {
        name: pa.Column(float, checks=_checks(c), nullable=True, required=False)
        for name, c in columns_of(table).items()
        if c.is_numeric
    }
    return pa.DataFrameSchema(columns)


def value_failures(table: str, numbers: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(column, problem kind) -> mask of the rows failing a value check of the spec."""
    import pandera.errors as pa_errors

    if numbers.empty or not len(numbers.columns):
        return {}
    if _all_pass(table, numbers):  # the usual case, without pandera's per-call cost
        return {}
    try:
        value_schema(table).validate(numbers, lazy=True)
        return {}
    except pa_errors.SchemaErrors as err:
        fc = err.failure_cases
    fc = fc[fc["index"].notna() & fc["check"].isin(list(CHECK_KINDS))]
    out: dict[tuple[str, str], np.ndarray] = {}
    positions = pd.Index(numbers.index)
    for (col, check), part in fc.groupby(["column", "check"], sort=False):
        key = (str(col), CHECK_KINDS[str(check)])
        mask = out.setdefault(key, np.zeros(len(numbers), dtype=bool))
        mask[positions.get_indexer(part["index"].to_numpy())] = True
    # a value over the physiological ceiling is named once, as implausible
    for (col, kind), mask in list(out.items()):
        if kind == "out_of_range" and (col, "implausible") in out:
            out[(col, kind)] = mask & ~out[(col, "implausible")]
    return out


def _all_pass(table: str, numbers: pd.DataFrame) -> bool:
    """True when no measured value fails a check of :func:`value_schema` (NaN is not checked).

    The same checks as the schema's (range, whole grades, physiological ceiling), as one numpy
    pass: pandera is then asked only to name the failures.
    """
    specs = columns_of(table)
    for name in numbers.columns:
        spec = specs.get(str(name))
        if spec is None or not spec.is_numeric:
            continue
        v = numbers[name].to_numpy(dtype=np.float64, na_value=np.nan)
        v = v[~np.isnan(v)]
        if not len(v):
            continue
        if spec.lo is not None and (v < spec.lo).any():
            return False
        if spec.hi is not None and (v > spec.hi).any():
            return False
        if spec.dtype == "grade" and (v % 1 != 0).any():
            return False
        if spec.impossible_above is not None and (v > spec.impossible_above).any():
            return False
    return True


@cache
def canonical_schema(table: str) -> Any:
    """pandera schema of a canonical (validated) table: contract columns and their dtypes only."""
    import pandera.pandas as pa

    columns = {  # text columns may be object or string dtype; numbers must be float64
        name: pa.Column("float64" if c.canonical_dtype == "float64" else None, nullable=True)
        for name, c in columns_of(table).items()
    }
    return pa.DataFrameSchema(columns, strict=False, coerce=False)
