"""Reading uploads: a bundle zip, the three tables as CSV/Parquet, or a single-study JSON.

Uploaded bytes are copied into a private temporary directory under fixed names (the client's
file name is only ever displayed, escaped, never used as a path) while counting against the
size limit. Reading and validation are :mod:`bundle`'s (under the request's
:class:`~bundle.limits.ReadLimits`: zip expansion, JSON depth, number length and studies per
document); its problems are plain dicts of the same shape as ``emgdx validate --report``
(:meth:`bundle.problems.Problem.to_dict`), shown row by row on the page and by the API.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bundle.limits import DEFAULT_LIMITS, ReadLimits
from bundle.problems import ValidationReport
from bundle.tables import Bundle

log = logging.getLogger(__name__)

PROBLEM_FIELDS = (
    "file",
    "row",
    "column",
    "value",
    "expected",
    "cause",
    "study_id",
    "severity",
    "kind",
)
TABLE_NAMES = ("studies", "ncs", "emg")
CHUNK_BYTES = 1024 * 1024
NEUTRAL_SOURCE = "upload.json"


class UploadTooLargeError(Exception):
    """The request body exceeds ``max_upload_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The upload is larger than the limit of {limit / 1024 / 1024:.1f} MB "
            f"({limit} bytes). Split the bundle or ask the administrator to raise "
            "EMGDX_MAX_UPLOAD_BYTES."
        )
        self.limit = limit


@dataclass
class LoadResult:
    """A loaded upload: the bundle and its validation (``None`` when nothing could be read).

    ``report`` is what :func:`models.service.predict_validated` takes with the bundle (the one
    partial-acceptance policy); ``problems`` are its problems as plain dicts for the page, or
    the request's own problems when nothing could be read.
    """

    bundle: Bundle | None
    problems: list[dict[str, Any]] = field(default_factory=list)
    invalid_ids: set[str] = field(default_factory=set)
    report: ValidationReport | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.get("severity", "error") == "error"]

    @property
    def too_large(self) -> bool:
        """True when the input was refused for a size limit (answered with 413)."""
        return any(p.get("kind") == "too_large" for p in self.problems)


def problem(
    file: str,
    cause: str,
    *,
    row: int | None = None,
    column: str | None = None,
    value: Any = None,
    expected: str | None = None,
    study_id: str | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    """One problem in the same shape as the contract's ``Problem``."""
    return {
        "file": file,
        "row": row,
        "column": column,
        "value": value,
        "expected": expected,
        "cause": cause,
        "study_id": study_id,
        "severity": severity,
        "kind": "request",
    }


def _jsonable(value: Any) -> Any:
    """A problem value as JSON-safe data (NaN -> None, numpy scalars -> Python)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if f != f else f


def problem_dicts(report: Any) -> list[dict[str, Any]]:
    """The problems of a :class:`bundle.problems.ValidationReport` as plain dicts."""
    out = []
    for p in getattr(report, "problems", []):
        d = {k: getattr(p, k, None) for k in PROBLEM_FIELDS}
        d["value"] = _jsonable(d["value"])
        d["row"] = None if d["row"] is None else _jsonable(d["row"])
        d["severity"] = str(d["severity"] or "error")
        out.append(d)
    return out


def _from_report(bundle: Bundle, report: ValidationReport, private: str, shown: str) -> LoadResult:
    """The loaded result, with the private name of the input replaced by the one shown."""
    renamed = [
        p.relocated(file=shown + p.file[len(private) :]) if p.file.startswith(private) else p
        for p in report.problems
    ]
    report = replace(report, problems=renamed)
    invalid = {str(s) for s in report.invalid_study_ids}
    return LoadResult(bundle, problem_dicts(report), invalid, report)


def load_json_document(doc: Any, source: str, limits: ReadLimits = DEFAULT_LIMITS) -> LoadResult:
    """Validate a parsed single-study JSON document (an object, or a list of objects)."""
    from bundle.json_form import load_study_json

    if not isinstance(doc, dict | list):
        return LoadResult(
            None,
            [
                problem(
                    source,
                    "The document must be a study object or a list of study objects.",
                    expected="JSON object with study fields plus 'ncs' and 'emg' arrays",
                )
            ],
        )
    # the loader logs its source: give it a neutral name (a client's file name may name the
    # patient) and put the real name back into the problems shown to the user
    bundle, report = load_study_json(doc, source=NEUTRAL_SOURCE, limits=limits)
    return _from_report(bundle, report, NEUTRAL_SOURCE, source)


def parse_json_bytes(
    data: bytes, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[Any, dict[str, Any] | None]:
    """Parse JSON bytes under ``limits``; on failure ``(None, problem)`` naming line and column."""
    from bundle.json_form import parse_json

    doc, err = parse_json(data, source, limits)
    return doc, None if err is None else err.to_dict()


def _table_name(filename: str) -> tuple[str, str] | None:
    """(table, suffix) for ``studies.csv``-style names, else ``None``."""
    path = Path(filename.replace("\\", "/")).name.lower()
    for suffix in (".csv", ".parquet"):
        if path.endswith(suffix) and path[: -len(suffix)] in TABLE_NAMES:
            return path[: -len(suffix)], suffix
    return None


def load_saved_files(
    files: list[tuple[str, Path]], workdir: Path, limits: ReadLimits = DEFAULT_LIMITS
) -> LoadResult:
    """Load uploaded files already saved under ``workdir``.

    Parameters
    ----------
    files : list of (client file name, saved path)
        What was uploaded. One ``.json`` (single study or list), one ``.zip`` (a bundle of
        CSV or Parquet tables), or the ``studies``/``ncs``/``emg`` tables as ``.csv`` or
        ``.parquet`` files.
    workdir : Path
        A private temporary directory for unpacking.
    limits : ReadLimits
        Size limits of the request (zip expansion, JSON caps).
    """
    if not files:
        return LoadResult(
            None,
            [
                problem(
                    "(none)",
                    "No file was uploaded.",
                    expected="a .zip, .json, .csv or .parquet file",
                )
            ],
        )
    names = [name for name, _ in files]
    if len(files) == 1 and names[0].lower().endswith(".json"):
        name, path = files[0]
        doc, err = parse_json_bytes(path.read_bytes(), name, limits)
        return LoadResult(None, [err]) if err else load_json_document(doc, name, limits)
    if len(files) == 1 and names[0].lower().endswith(".zip"):
        name, path = files[0]
        if not zipfile.is_zipfile(path):
            return LoadResult(
                None,
                [
                    problem(
                        name,
                        "The file is not a valid zip archive.",
                        expected="a zip of studies, ncs and emg tables",
                    )
                ],
            )
        return load_bundle_path(path, name, limits)
    tables = [(_table_name(n), n, p) for n, p in files]
    bad = [n for t, n, _ in tables if t is None]
    if bad:
        return LoadResult(
            None,
            [
                problem(
                    n,
                    "Unsupported file name or type.",
                    expected="one .zip or .json file, or studies/ncs/emg as .csv or .parquet",
                )
                for n in bad
            ],
        )
    folder = workdir / "bundle"
    folder.mkdir(parents=True, exist_ok=True)
    for (table, suffix), _, path in tables:  # type: ignore[misc]
        path.replace(folder / f"{table}{suffix}")
    return load_bundle_path(folder, ", ".join(names), limits)


def load_bundle_path(path: Path, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> LoadResult:
    """Run the bundle loader on a folder or ``.zip`` (it reports, never raises, for bad input)."""
    from bundle.load import load_bundle

    bundle, report = load_bundle(path, limits=limits)
    # the saved file's private name -> the name the user gave
    return _from_report(bundle, report, path.name, name)


async def save_upload(upload: Any, dest: Path, budget: int, limit: int) -> int:
    """Copy an ``UploadFile`` to ``dest`` in chunks; return the bytes written.

    Raises
    ------
    UploadTooLargeError
        When the file would exceed the remaining ``budget`` of the request's ``limit``.
    """
    written = 0
    with dest.open("wb") as out:
        while chunk := await upload.read(CHUNK_BYTES):
            written += len(chunk)
            if written > budget:
                raise UploadTooLargeError(limit)
            out.write(chunk)
    return written
