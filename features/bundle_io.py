"""Reading and writing bundles in the contract's file layout.

Writing (:func:`write_bundle`) turns a canonical :class:`~features.bundle.Bundle` into
``NAME.csv`` or ``NAME.parquet`` files. Reading (:func:`read_tables`) returns the tables *raw*,
exactly as the user wrote them (every CSV cell as text, Parquet columns as stored), with the
1-based data row number of each row, so :mod:`features.contract` can validate them and name the
file and row of every problem. Nothing here interprets, fills or drops a value, and the user's
files are only ever opened for reading.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
import pandas as pd

from features.bundle import TABLES, Bundle

#: file suffixes a table may have, in order of preference
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")


class BundleReadError(ValueError):
    """A bundle (or one of its files) could not be read at all.

    Attributes
    ----------
    file : str
        File (or bundle path) that failed.
    reason : str
        What went wrong, in words.
    """

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class RawTable:
    """One table as read from its file, before any validation.

    Attributes
    ----------
    name : str
        ``studies``, ``ncs`` or ``emg``.
    file : str
        File name shown in problems (e.g. ``ncs.csv`` or ``study.json ncs``).
    frame : DataFrame
        The columns as read: CSV cells as text (NaN only for an empty cell), Parquet and JSON
        values as stored. Indexed ``0..n-1``.
    row : ndarray of int64, shape (n,)
        1-based data row of each row in ``file`` (header not counted; for the JSON form, the
        1-based index within the study's ``ncs``/``emg`` array).
    """

    name: str
    file: str
    frame: pd.DataFrame
    row: np.ndarray

    @classmethod
    def from_frame(cls, name: str, file: str, frame: pd.DataFrame) -> RawTable:
        """Wrap a frame read from a file, numbering its rows 1..n."""
        frame = frame.reset_index(drop=True)
        return cls(name, file, frame, np.arange(1, len(frame) + 1, dtype=np.int64))


def _read_csv(data: bytes | Path) -> pd.DataFrame:
    """Every cell as text, NaN only for an empty cell; a row with the wrong number of cells is an error.

    The Arrow parser is used for speed; when it refuses a file, pandas' C parser is run (with
    its warnings as errors, so a ragged row is never silently truncated or turned into an index)
    because its message names the offending line.
    """
    options: dict[str, object] = {
        "dtype": str,
        "keep_default_na": False,
        "na_values": [""],
        "encoding": "utf-8-sig",
    }

    def source() -> io.BytesIO | Path:
        return io.BytesIO(data) if isinstance(data, bytes) else data

    try:
        return pd.read_csv(source(), engine="pyarrow", **options)  # type: ignore[call-overload]
    except (ValueError, ImportError) as arrow_error:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                pd.read_csv(source(), index_col=False, **options)  # type: ignore[call-overload]
            except pd.errors.ParserWarning as exc:
                raise pd.errors.ParserError(
                    f"a row has more cells than the header ({exc})"
                ) from exc
        raise arrow_error


def _read_one(data: bytes | Path, file: str, suffix: str) -> pd.DataFrame:
    """Read one CSV (all cells as text) or Parquet file; raise :class:`BundleReadError` if unreadable."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        if suffix == ".csv":
            return _read_csv(data)
        return pd.read_parquet(source)
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # ParserError is a ValueError
        kind = "CSV (comma-separated, UTF-8, header row)" if suffix == ".csv" else "Parquet"
        raise BundleReadError(file, f"cannot be read as {kind}: {exc}") from exc


def _pick(candidates: dict[str, list[str]], where: str) -> dict[str, str]:
    """Choose one file per table among ``candidates`` (table -> file names); refuse ambiguity."""
    chosen: dict[str, str] = {}
    for name, files in candidates.items():
        if len(files) > 1:
            raise BundleReadError(
                where,
                f"table {name!r} is given more than once ({', '.join(sorted(files))}); keep one",
            )
        if files:
            chosen[name] = files[0]
    return chosen


def _read_folder(folder: Path) -> dict[str, RawTable]:
    candidates = {
        name: [f"{name}{sfx}" for sfx in TABLE_SUFFIXES if (folder / f"{name}{sfx}").is_file()]
        for name in TABLES
    }
    chosen = _pick(candidates, str(folder))
    return {
        name: RawTable.from_frame(name, file, _read_one(folder / file, file, Path(file).suffix))
        for name, file in chosen.items()
    }


def _read_zip(path: Path) -> dict[str, RawTable]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleReadError(path.name, f"is not a readable zip archive: {exc}") from exc
    with archive:
        members = [
            PurePosixPath(m.filename)
            for m in archive.infolist()
            if not m.is_dir() and "__MACOSX" not in m.filename
        ]
        wanted = {f"{n}{s}" for n in TABLES for s in TABLE_SUFFIXES}
        hits = [m for m in members if m.name in wanted]
        if not hits:
            return {}
        depth = min(len(m.parts) for m in hits)
        folders = {m.parent for m in hits if len(m.parts) == depth}
        if len(folders) > 1:
            raise BundleReadError(
                path.name,
                f"holds several bundles ({', '.join(sorted(map(str, folders)))}); zip one bundle",
            )
        top = [m for m in hits if len(m.parts) == depth]
        candidates = {name: [str(m) for m in top if m.stem == name] for name in TABLES}
        chosen = _pick(candidates, path.name)
        out: dict[str, RawTable] = {}
        for name, member in chosen.items():
            file = f"{path.name}:{member}"
            frame = _read_one(archive.read(member), file, PurePosixPath(member).suffix)
            out[name] = RawTable.from_frame(name, file, frame)
        return out


def read_tables(path: str | Path) -> dict[str, RawTable]:
    """Read the raw tables of a bundle folder or ``.zip`` (tables missing from it are absent).

    Parameters
    ----------
    path : str or Path
        A folder holding ``studies``, ``ncs`` and ``emg`` as ``NAME.csv`` or ``NAME.parquet``,
        or a ``.zip`` of such files (possibly inside one sub-folder).

    Returns
    -------
    dict of str to RawTable
        Table name -> raw table. A table whose file is absent is simply not in the dict.

    Raises
    ------
    BundleReadError
        If the path does not exist, is not a folder or zip, a table is given twice, or a file
        cannot be parsed at all.
    """
    p = Path(path)
    if not p.exists():
        raise BundleReadError(str(p), "does not exist")
    if p.is_dir():
        return _read_folder(p)
    if p.suffix.lower() == ".zip":
        return _read_zip(p)
    raise BundleReadError(
        p.name, "is not a bundle: expected a folder, a .zip of one, or a .json study document"
    )


def file_frame(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Contract columns first (in contract order), extra columns after; booleans as true/false."""
    ordered = [c for c in columns if c in frame.columns] + [
        c for c in frame.columns if c not in columns
    ]
    out = frame[ordered].copy()
    if "muap_unstable" in out.columns:
        out["muap_unstable"] = out["muap_unstable"].map(
            {1.0: "true", 0.0: "false"}  # True == 1.0, False == 0.0
        )
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
