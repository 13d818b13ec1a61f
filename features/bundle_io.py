"""Writing bundles in the contract's file layout (reading and validation: :mod:`features.contract`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from features.bundle import TABLES, Bundle


def _for_file(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Contract columns first (in contract order), extra columns after; booleans as true/false."""
    ordered = [c for c in columns if c in frame.columns] + [c for c in frame.columns if c not in columns]
    out = frame[ordered].copy()
    if "muap_unstable" in out.columns:
        out["muap_unstable"] = out["muap_unstable"].map({1.0: "true", 0.0: "false", True: "true", False: "false"})
    return out


def write_bundle(bundle: Bundle, out_dir: str | Path, fmt: Literal["csv", "parquet"] = "csv") -> Path:
    """Write ``studies``, ``ncs`` and ``emg`` as ``NAME.csv`` or ``NAME.parquet`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, columns in TABLES.items():
        frame = _for_file(getattr(bundle, name), columns)
        if fmt == "csv":
            frame.to_csv(out / f"{name}.csv", index=False)
        elif fmt == "parquet":
            frame.to_parquet(out / f"{name}.parquet", index=False)
        else:
            raise ValueError(f"Invalid value for the 'fmt' parameter: {fmt!r}. Allowed: csv, parquet.")
    return out
