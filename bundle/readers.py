"""Reading the tables of a bundle as the user wrote them: CSV, Parquet, a folder of them.

:func:`read_tables` returns the tables *raw* (every CSV cell as text, Parquet columns as
stored) with the 1-based data row of each row, so :mod:`bundle.validate` can name the file and
row of every problem. A file that cannot be read at all raises :class:`BundleReadError` with
the line and what was expected, in our own words: a parser's message (which may quote a row of
patient values) is never passed on. Wrong encodings (UTF-16, Windows-1252) and wrong delimiters
(``;``, tab, ``|``) are recognised and said, never guessed around. Zip archives are read by
:mod:`bundle.zipped`; :func:`bundle.sources.read_tables` picks the reader for a path. Nothing here interprets, fills or drops a value, and the user's files are
only ever opened for reading.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: file suffixes a table may have, in order of preference
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")
_CSV_EXPECTED = "CSV (comma-separated, UTF-8, header row)"


class BundleReadError(ValueError):
    """A bundle (or one of its files) could not be read at all.

    Attributes
    ----------
    file : str
        File (or bundle path) that failed.
    reason : str
        What went wrong and what was expected, in words (never a quoted cell).
    line : int or None
        1-based line of the file where reading failed, when known.
    kind : str
        Problem kind (``unreadable_file``, ``too_large``, ``duplicate_column``).
    """

    def __init__(
        self, file: str, reason: str, *, line: int | None = None, kind: str = "unreadable_file"
    ) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
        self.line = line
        self.kind = kind


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
    grouped : bool
        Rows belong to their study by structure (the JSON form), not by their study_id cell.
    """

    name: str
    file: str
    frame: pd.DataFrame
    row: np.ndarray
    grouped: bool = False

    @classmethod
    def from_frame(cls, name: str, file: str, frame: pd.DataFrame) -> RawTable:
        """Wrap a frame read from a file, numbering its rows 1..n."""
        frame = frame.reset_index(drop=True)
        return cls(name, file, frame, np.arange(1, len(frame) + 1, dtype=np.int64))


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 text of ``data`` (a UTF-8 BOM is dropped); other encodings are refused and named."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BundleReadError(file, "is UTF-16 text; save it as UTF-8 (CSV UTF-8)", line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        raise BundleReadError(
            file,
            f"holds a NUL byte at line {_line_of(data, nul)}: not plain text "
            "(UTF-16 or a binary file?); expected " + _CSV_EXPECTED,
            line=_line_of(data, nul),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        try:
            data.decode("cp1252")
            guess = "it looks like Windows-1252 / Latin-1"
        except UnicodeDecodeError:
            guess = "it is not text"
        raise BundleReadError(
            file,
            f"is not UTF-8 text (line {line}, byte {exc.start + 1}); {guess}: save it as UTF-8",
            line=line,
        ) from None


def _check_header(text: str, file: str) -> None:
    """Refuse an empty file and a header split by another delimiter than the comma."""
    start = len(text) - len(text.lstrip("\r\n")) if text[:1] in ("\r", "\n") else 0
    end = text.find("\n", start)
    header = text[start : end if end >= 0 else len(text)].rstrip("\r")
    if not header.strip():
        raise BundleReadError(file, f"is empty; expected {_CSV_EXPECTED}", line=1)
    if "," in header:
        return
    for delim, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if delim in header:
            hint = " (with decimal commas: use '.' for decimals)" if delim == ";" else ""
            raise BundleReadError(
                file,
                f"columns are separated by {name}, not commas (line 1); export it as "
                f"comma-separated CSV{hint}",
                line=1,
            )


def _locate_csv_error(text: str, file: str) -> BundleReadError:
    """Find the first line Python's strict CSV reader or the header width refuses."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    width: int | None = None
    try:
        for row in reader:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                return BundleReadError(
                    file,
                    f"line {reader.line_num} has {len(row)} cells, the header has {width}; "
                    f"expected {_CSV_EXPECTED} with the same number of cells in every row",
                    line=reader.line_num,
                )
    except csv.Error as exc:  # messages name the fault, never a cell
        return BundleReadError(
            file,
            f"is not valid CSV at line {reader.line_num} ({exc}); expected {_CSV_EXPECTED}",
            line=reader.line_num,
        )
    return BundleReadError(file, f"cannot be read as {_CSV_EXPECTED}")


def read_csv(data: bytes, file: str) -> pd.DataFrame:
    """Every cell as text, NaN only for an empty cell; a malformed file raises :class:`BundleReadError`.

    The Arrow parser is used for speed; when it refuses the file, Python's strict CSV reader
    finds the line and the fault, so the message names it (and quotes no cell).
    """
    text = decode_text(data, file)
    _check_header(text, file)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            engine="pyarrow",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except Exception:  # noqa: BLE001 - any parser failure: locate it ourselves
        raise _locate_csv_error(text, file) from None
    return frame


def read_parquet(data: bytes | Path, file: str) -> pd.DataFrame:
    """A Parquet file's columns as stored; an unreadable file raises :class:`BundleReadError`."""
    import pyarrow.parquet as pq

    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        table = pq.read_table(source)
        names = table.column_names
        if len(set(names)) != len(names):
            raise BundleReadError(
                file,
                "a column appears more than once; give each column once",
                kind="duplicate_column",
            )
        return table.to_pandas()
    except BundleReadError:
        raise
    except Exception:  # noqa: BLE001 - corrupt or unsupported Parquet of any kind
        raise BundleReadError(
            file, "cannot be read as Parquet (a corrupt or truncated file?)"
        ) from None


def read_file(data: bytes | Path, file: str, suffix: str) -> pd.DataFrame:
    """Read one CSV (all cells as text) or Parquet file; raise :class:`BundleReadError` if unreadable."""
    if suffix == ".csv":
        if isinstance(data, Path):
            try:
                data = data.read_bytes()
            except OSError as exc:
                raise BundleReadError(file, f"cannot be opened ({exc.strerror})") from None
        return read_csv(data, file)
    return read_parquet(data, file)


def pick_tables(candidates: dict[str, list[str]], where: str) -> dict[str, str]:
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
