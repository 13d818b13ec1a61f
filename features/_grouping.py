"""Vectorised group reductions on integer keys (NaN-aware), shared by the feature modules."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pandas as pd


def group_min(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Minimum of ``values`` per key in ``[0, size)``, ignoring NaN; NaN for keys with no value."""
    out = np.full(size, np.nan)
    np.fmin.at(out, keys, values)
    return out


def group_max(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Maximum of ``values`` per key, ignoring NaN; NaN for keys with no value."""
    out = np.full(size, np.nan)
    np.fmax.at(out, keys, values)
    return out


def group_count(keys: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray:
    """Number of non-NaN ``values`` (all rows when ``values`` is None) per key, as float."""
    if values is None:
        return np.bincount(keys, minlength=size).astype(float)
    return np.bincount(keys, weights=~np.isnan(values), minlength=size).astype(float)


def group_sum(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum of non-NaN ``values`` per key (0 for keys with none; ±inf as ``np.nan_to_num``)."""
    weights = np.where(np.isnan(values), 0.0, values)
    if np.isinf(weights).any():
        weights = np.nan_to_num(weights)
    return np.bincount(keys, weights=weights, minlength=size)


def group_frac(keys: np.ndarray, flags: np.ndarray, size: int) -> np.ndarray:
    """Share of rows with flag 1 among rows where the flag is known (NaN when none is known)."""
    known = group_count(keys, flags, size)
    hits = group_sum(keys, flags, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known > 0, hits / known, np.nan)


def group_any(keys: np.ndarray, flags: np.ndarray, size: int) -> np.ndarray:
    """1.0 if any known flag is 1, 0.0 if flags are known and all 0, NaN if none is known."""
    return group_max(keys, flags, size)


def n_unique_per_group(keys: np.ndarray, items: np.ndarray, size: int) -> np.ndarray:
    """Number of distinct non-negative integer ``items`` per key (float)."""
    keep = items >= 0
    if not keep.any():
        return np.zeros(size)
    k, it = keys[keep], items[keep].astype(np.int64)
    pairs = np.unique(k.astype(np.int64) * (int(it.max()) + 1) + it)
    return np.bincount(pairs // (int(it.max()) + 1), minlength=size).astype(float)


def flag(cond: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Float flag: 1.0 where ``cond``, 0.0 where not, NaN where not ``known``."""
    return np.where(known, cond.astype(float), np.nan)


def vocab_codes(values: pd.Series | np.ndarray, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``vocabulary`` (int64; -1 when missing or unknown).

    Same result as ``pd.Categorical(values, categories=vocabulary).codes``, but hashes only the
    distinct values (``pd.factorize``) and looks those up, which is several times faster on
    both one study and a whole cohort.
    """
    return lookup_values(values, _vocab_index(vocabulary), -1).astype(np.int64)


#: Inputs up to this length are mapped value by value instead of through ``pd.factorize``.
_SMALL = 256


@cache
def _vocab_index(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {v: i for i, v in enumerate(vocabulary)}


def lookup_values(
    values: pd.Series | np.ndarray, mapping: Mapping[object, float], default: float
) -> np.ndarray:
    """``mapping[value]`` for each value (``default`` for missing or unmapped values), as numpy.

    Equivalent to ``Series.map(mapping)`` with ``default`` for NaN, for string-valued inputs.
    """
    dtype = np.float64 if isinstance(default, float) else np.int64
    if len(values) <= _SMALL:
        # one study: a dict lookup per value is cheaper than hashing through pd.factorize
        items = (
            values.to_numpy(dtype=object)
            if isinstance(values, pd.Series)
            else np.asarray(values, dtype=object)
        )
        return np.array([_get(mapping, v, default) for v in items], dtype=dtype)
    codes, uniques = pd.factorize(values)
    lut = np.array([mapping.get(u, default) for u in uniques] + [default], dtype=dtype)
    return lut[codes]


def _get(mapping: Mapping[object, float], value: object, default: float) -> float:
    """``mapping.get`` that treats every missing marker (None, NaN, pd.NA) as missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return default
    return mapping.get(value, default)


def as_arrays(table: pd.DataFrame | Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """Column name -> numpy array view of a DataFrame (a mapping of arrays is returned as is).

    The feature modules pass their intermediate tables as plain dicts of aligned arrays: building
    and filtering DataFrames costs more than the arithmetic for one study.
    """
    if isinstance(table, pd.DataFrame):
        return {c: table[c].to_numpy() for c in table.columns}
    return table


def numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as float64 numpy (non-numbers NaN; all NaN when the column is absent)."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    col = frame[name]
    if col.dtype == np.float64:
        return col.to_numpy()
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
