"""A path to the raw tables of a bundle: a folder of CSV/Parquet files, or a zip of one."""

from __future__ import annotations

from pathlib import Path

from bundle.limits import DEFAULT_LIMITS, ReadLimits
from bundle.readers import TABLE_SUFFIXES, BundleReadError, RawTable, pick_tables, read_file
from bundle.tables import TABLES
from bundle.zipped import read_zip


def _read_folder(folder: Path) -> dict[str, RawTable]:
    candidates = {
        name: [f"{name}{sfx}" for sfx in TABLE_SUFFIXES if (folder / f"{name}{sfx}").is_file()]
        for name in TABLES
    }
    chosen = pick_tables(candidates, str(folder))
    return {
        name: RawTable.from_frame(name, file, read_file(folder / file, file, Path(file).suffix))
        for name, file in chosen.items()
    }


def read_tables(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, RawTable]:
    """Read the raw tables of a bundle folder or ``.zip`` (tables missing from it are absent).

    Parameters
    ----------
    path : str or Path
        A folder holding ``studies``, ``ncs`` and ``emg`` as ``NAME.csv`` or ``NAME.parquet``,
        or a ``.zip`` of such files (possibly inside one sub-folder).
    limits : ReadLimits
        Size limits (zip expansion).

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
        return read_zip(p, limits)
    raise BundleReadError(
        p.name, "is not a bundle: expected a folder, a .zip of one, or a .json study document"
    )
