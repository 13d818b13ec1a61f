"""Vectorised group reductions on integer keys (NaN-aware), shared by the feature modules."""

from __future__ import annotations

import numpy as np


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
    """Sum of non-NaN ``values`` per key (0 for keys with none)."""
    return np.bincount(keys, weights=np.nan_to_num(values), minlength=size)


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
