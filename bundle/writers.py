"""Writing bundles in the contract's file layout (CSV or Parquet), and the validated bundle.

:func:`write_bundle` turns a canonical :class:`~bundle.tables.Bundle` into ``NAME.csv`` or
``NAME.parquet`` files that read back to the same bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from bundle.spec import COLUMNS
from bundle.tables import TABLES, Bundle

_BOOLEAN_COLUMNS = frozenset(c.name for c in COLUMNS if c.dtype == "boolean")


def file_frame(
    frame: pd.DataFrame, columns: dict[str, str], *, booleans_as_text: bool = True
) -> pd.DataFrame:
    """Contract columns first (in contract order), extra columns after.

    Boolean columns of the spec (1.0/0.0/NaN in memory) are written as ``true``/``false`` text
    unless ``booleans_as_text`` is False (the canonical validated bundle keeps the floats).
    """
    ordered = [c for c in columns if c in frame.columns] + [
        c for c in frame.columns if c not in columns
    ]
    out = frame[ordered].copy()
    if booleans_as_text:
        for c in out.columns:
            if c in columns and c in _BOOLEAN_COLUMNS:
                out[c] = out[c].map({1.0: "true", 0.0: "false"})  # True == 1.0, False == 0.0
    return out


def write_bundle(
    bundle: Bundle, out_dir: str | Path, fmt: Literal["csv", "parquet"] = "csv"
) -> Path:
    """Write ``studies``, ``ncs`` and ``emg`` as ``NAME.csv`` or ``NAME.parquet`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, columns in TABLES.items():
        frame = file_frame(getattr(bundle, name), columns)
        if fmt == "csv":
            frame.to_csv(out / f"{name}.csv", index=False)
        elif fmt == "parquet":
            frame.to_parquet(out / f"{name}.parquet", index=False)
        else:
            raise ValueError(
                f"Invalid value for the 'fmt' parameter: {fmt!r}. Allowed: csv, parquet."
            )
    return out
