"""Writing bundles in the contract's file layout (CSV or Parquet), and the validated bundle.

:func:`write_bundle` turns a canonical :class:`~bundle.tables.Bundle` into ``NAME.csv`` or
``NAME.parquet`` files that read back to the same bundle; :class:`BundleWriter` appends a bundle
chunk by chunk (the simulator writes large cohorts through it, memory bounded by one chunk).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Literal

import pandas as pd
import pyarrow as pa

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


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema of a table's file form: numbers and grades float64, everything else text."""
    from bundle.spec import columns_of

    return pa.schema(
        [
            (c.name, pa.float64() if c.is_numeric else pa.string())
            for c in columns_of(table).values()
        ]
    )


class BundleWriter:
    """Append bundle chunks to ``studies``/``ncs``/``emg`` files (CSV or Parquet) in ``out_dir``.

    The files equal :func:`write_bundle` of the concatenated chunks (contract columns only).
    Use as a context manager; :attr:`counts` holds the rows written per table.
    """

    def __init__(self, out_dir: str | Path, fmt: Literal["csv", "parquet"] = "parquet") -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(
                f"Invalid value for the 'fmt' parameter: {fmt!r}. Allowed: csv, parquet."
            )
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._writers: dict[str, object] = {}

    def write(self, bundle: Bundle) -> None:
        """Append one chunk (canonical tables)."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        for name, columns in TABLES.items():
            frame = file_frame(getattr(bundle, name), columns)[list(columns)]
            schema = arrow_schema(name)
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            if name not in self._writers:
                path = self.out_dir / f"{name}.{self.fmt}"
                self._writers[name] = (
                    pacsv.CSVWriter(
                        path, schema, write_options=pacsv.WriteOptions(quoting_style="none")
                    )
                    if self.fmt == "csv"
                    else pq.ParquetWriter(path, schema)
                )
            self._writers[name].write_table(table)  # type: ignore[attr-defined]
            self.counts[name] += len(frame)

    def close(self) -> None:
        """Close every file."""
        for w in self._writers.values():
            w.close()  # type: ignore[attr-defined]
        self._writers.clear()

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
