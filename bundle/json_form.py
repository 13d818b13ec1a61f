"""The contract's JSON form: one study (or a list) as a document, for the API and the web page.

:func:`parse_json` turns bytes into a document under the caps of
:class:`~bundle.limits.ReadLimits` (size, nesting depth, length of a number literal), with
``NaN``/``Infinity`` and over-long numbers kept as markers that validation refuses as
``bad_number`` at their row and column; :func:`load_study_json` validates a document through
:func:`bundle.validate.validate_tables`; :func:`study_to_json` writes one study back.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bundle import vocab
from bundle.limits import DEFAULT_LIMITS, ReadLimits
from bundle.problems import ID_PATTERN, MAX_NAME_CHARS, Problem, ValidationReport, clip
from bundle.readers import RawTable
from bundle.tables import TABLES, Bundle
from bundle.validate import validate_tables

#: what a study object of :func:`load_study_documents`' batch may hold
_STUDY_KEYS = frozenset(TABLES["studies"]) | {"ncs", "emg"}
_ROW_KEYS = {name: frozenset(TABLES[name]) for name in ("ncs", "emg")}
_ID = re.compile(ID_PATTERN)
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JsonNumber:
    """A number literal validation must refuse (``NaN``, ``Infinity``, too many characters)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        if len(self.text) > 12:
            return f"<a number of {len(self.text)} characters>"
        return self.text

    def __hash__(self) -> int:
        return hash(("JsonNumber", self.text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and other.text == self.text


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _too_deep(text: str, cap: int) -> int | None:
    """1-based line where nesting first exceeds ``cap``, or None (strings are skipped)."""
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > cap:
                return text.count("\n", 0, m.start()) + 1
        elif tok in "]}":
            depth -= 1
    return None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def parse_json(
    data: bytes, source: str, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[Any, Problem | None]:
    """Parse a JSON document; on failure ``(None, problem)`` naming line and column.

    Refused (each with a problem, never an exception): more than ``max_json_bytes``, other
    encodings than UTF-8, nesting deeper than ``max_json_depth``, a key given twice in one
    object, and invalid JSON. ``NaN``, ``Infinity`` and number literals longer than
    ``max_number_chars`` parse to :class:`JsonNumber` markers (refused later, in their cell).
    """

    def problem(text: str, line: int | None = None, kind: str = "unreadable_file") -> Problem:
        # a file-level problem: the line is named in the text (rows count data, not lines)
        return Problem(source, None, None, None, text, kind=kind)

    if len(data) > limits.max_json_bytes:
        return None, problem(
            f"a JSON document of at most {limits.max_json_bytes // (1 << 20)} MiB", kind="too_large"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, problem("UTF-8 JSON (this document is UTF-16; save it as UTF-8)", 1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, problem(f"UTF-8 JSON (the document is not UTF-8 text at line {line})", line)
    deep = _too_deep(text, limits.max_json_depth)
    if deep is not None:
        return None, problem(
            f"JSON nested at most {limits.max_json_depth} levels deep (deeper at line {deep})",
            deep,
            kind="too_large",
        )
    cap = limits.max_number_chars

    def number(s: str, kind: type) -> Any:
        return kind(s) if len(s) <= cap else JsonNumber(s)

    try:
        doc = json.loads(
            text,
            parse_constant=JsonNumber,
            parse_int=lambda s: number(s, int),
            parse_float=lambda s: number(s, float),
            object_pairs_hook=_pairs,
        )
    except _DuplicateKeyError as exc:
        return None, problem(
            f"each key once per JSON object (key '{clip(exc.key)}' is given twice)"
        )
    except json.JSONDecodeError as exc:
        return None, problem(
            f"valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", exc.lineno
        )
    except (RecursionError, ValueError):
        return None, problem("valid JSON of a reasonable size and depth")
    return doc, None


def json_tables(doc: Any, source: str, coll_problems: list[Problem]) -> dict[str, RawTable]:
    """Turn the JSON study form (one object or a list) into raw tables."""
    docs = doc if isinstance(doc, list) else [doc]
    study_rows: list[dict[str, Any]] = []
    study_rownum: list[int] = []
    sub: dict[str, list[dict[str, Any]]] = {"ncs": [], "emg": []}
    sub_rownum: dict[str, list[int]] = {"ncs": [], "emg": []}
    for i, d in enumerate(docs, start=1):
        where_row = i if isinstance(doc, list) else None
        if not isinstance(d, dict):
            coll_problems.append(
                Problem(
                    source,
                    where_row,
                    None,
                    _type_name(d),
                    "a JSON object with the study's fields",
                    kind="bad_json_shape",
                )
            )
            continue
        study = {k: v for k, v in d.items() if k not in ("ncs", "emg")}
        study_rows.append(study)
        study_rownum.append(i)
        sid = study.get("study_id")
        for name in ("ncs", "emg"):
            rows = d.get(name, [])
            if not isinstance(rows, list):
                coll_problems.append(
                    Problem(
                        source,
                        where_row,
                        name,
                        _type_name(rows),
                        f"'{name}' as a JSON array of row objects",
                        study_id=None if sid is None else str(sid),
                        kind="bad_json_shape",
                    )
                )
                continue
            for j, r in enumerate(rows, start=1):
                if not isinstance(r, dict):
                    coll_problems.append(
                        Problem(
                            f"{source} {name}",
                            j,
                            None,
                            _type_name(r),
                            "a JSON object (one row)",
                            study_id=None if sid is None else str(sid),
                            kind="bad_json_shape",
                        )
                    )
                    continue
                row = dict(r)
                if (
                    "study_id" in row
                    and row["study_id"] is not None
                    and str(row["study_id"]) != str(sid)
                ):
                    coll_problems.append(
                        Problem(
                            f"{source} {name}",
                            j,
                            "study_id",
                            str(row["study_id"]),
                            f"the study's own study_id ({sid}) or none",
                            study_id=None if sid is None else str(sid),
                            kind="study_id_mismatch",
                        )
                    )
                row["study_id"] = sid
                sub[name].append(row)
                sub_rownum[name].append(j)

    def frame(rows: list[dict[str, Any]], name: str) -> pd.DataFrame:
        # every contract column is present: a key left out of a row object is an empty cell
        cols = list(dict.fromkeys([*TABLES[name], *(k for r in rows for k in r)]))
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        if len(cols) > len(TABLES[name]):  # extra columns are kept as pandas reads them
            return pd.DataFrame.from_records(rows).reindex(columns=cols).astype(object)
        # contract columns only: cells as given (None/absent = empty); validation reads them
        # through text and number parsing, so this equals the from_records route, but faster
        data = {}
        for c in cols:
            cells = np.empty(len(rows), dtype=object)
            for i, r in enumerate(rows):
                cells[i] = r.get(c, np.nan)
            data[c] = cells
        return pd.DataFrame(data, copy=False)

    out = {
        "studies": RawTable(
            "studies",
            source,
            frame(study_rows, "studies"),
            np.asarray(study_rownum, dtype=np.int64),
        )
    }
    for name in ("ncs", "emg"):
        out[name] = RawTable(
            name,
            f"{source} {name}",
            frame(sub[name], name),
            np.asarray(sub_rownum[name], dtype=np.int64),
            grouped=True,
        )
    return out


def load_study_json(
    doc: Any, source: str = "<json>", limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[Bundle, ValidationReport]:
    """Validate the contract's JSON form (one study object, or a list of them).

    Parameters
    ----------
    doc : dict or list
        ``{"study_id": ..., "age_years": ..., "ncs": [{...}], "emg": [{...}]}`` or a list of
        such objects. Rows need no ``study_id`` (they take the study's).
    source : str
        Name used for ``Problem.file`` (e.g. the uploaded file name).
    limits : ReadLimits
        ``max_json_studies`` caps the studies of one document.

    Returns
    -------
    (Bundle, ValidationReport)
        As :func:`load_bundle`; rows are numbered by their 1-based index in their array.
    """
    structural: list[Problem] = []
    if not isinstance(doc, dict | list):
        structural.append(
            Problem(
                source,
                None,
                None,
                type(doc).__name__,
                "a JSON object (one study) or a list of them",
                kind="unreadable_file",
            )
        )
        doc = []
    if isinstance(doc, list) and len(doc) > limits.max_json_studies:
        structural = [
            Problem(
                source,
                None,
                None,
                None,
                f"at most {limits.max_json_studies} studies in one JSON document "
                f"(this one lists {len(doc)}); send them in several documents or as a bundle",
                kind="too_large",
            )
        ]
        doc = []
    tables = json_tables(doc, source, structural)
    return validate_tables(tables, source, structural)


def load_study_documents(
    docs: Sequence[Any], source: str = "<json>", limits: ReadLimits = DEFAULT_LIMITS
) -> list[tuple[Bundle, ValidationReport]]:
    """:func:`load_study_json` of each of several independent documents, at a batch's cost.

    The simple documents (one study object with a well-formed ``study_id`` and contract fields
    of plain JSON values only) are validated as lists in which every ``study_id`` is unique, and the list's problems are handed
    back to the document each names; a result that cannot be split that way (a problem naming
    no study) and every other document are validated on their own. Either way each result is
    exactly that document's :func:`load_study_json` (a test compares them); validating one
    small document costs mostly fixed per-table overhead, which a batch shares.

    Parameters
    ----------
    docs : sequence
        Parsed documents (each a study object or a list of them, or anything else).
    source, limits
        As for :func:`load_study_json`, per document.

    Returns
    -------
    list of (Bundle, ValidationReport)
        One per document, in order.
    """
    results: list[tuple[Bundle, ValidationReport] | None] = [None] * len(docs)
    groups: list[dict[str, int]] = []  # study_id -> position; ids unique within a group
    for i, doc in enumerate(docs):
        sid = _simple_study_id(doc)
        if sid is None:
            continue
        group = next((g for g in groups if sid not in g), None)
        if group is None:
            group = {}
            groups.append(group)
        group[sid] = i
    for group in groups:
        if len(group) < 2:
            continue
        together = _validated_together([docs[i] for i in group.values()], source, limits)
        if together is not None:
            for i, result in zip(group.values(), together, strict=True):
                results[i] = result
    return [
        r if r is not None else load_study_json(doc, source, limits)
        for r, doc in zip(results, docs, strict=True)
    ]


def _simple_study_id(doc: Any) -> str | None:
    """The study_id of a one-study object of contract fields only, else None."""
    if not isinstance(doc, dict):
        return None
    sid = doc.get("study_id")
    if not isinstance(sid, str) or _ID.fullmatch(sid) is None:
        return None
    if not set(doc) <= _STUDY_KEYS:
        return None
    if not all(_plain(v) for k, v in doc.items() if k not in ("ncs", "emg")):
        return None
    for name in ("ncs", "emg"):
        rows = doc.get(name, [])
        if not isinstance(rows, list):
            return None
        columns = _ROW_KEYS[name]
        for r in rows:
            if not (isinstance(r, dict) and set(r) <= columns and all(map(_plain, r.values()))):
                return None
    return sid


def _plain(value: Any) -> bool:
    """A JSON scalar read the same way whatever the other cells of its column hold."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return abs(value) < 2**53
    return value is None or kind is str or kind is bool


def _validated_together(
    docs: list[dict[str, Any]], source: str, limits: ReadLimits
) -> list[tuple[Bundle, ValidationReport]] | None:
    """Validate simple documents as one list and split the result (None if it cannot be)."""
    if len(docs) > limits.max_json_studies:
        limits = replace(limits, max_json_studies=len(docs))
    bundle, report = load_study_json(docs, source, limits)
    studies_file = clip(source, MAX_NAME_CHARS)
    by_study: dict[str, list[Problem]] = {str(d["study_id"]): [] for d in docs}
    for p in report.problems:
        if p.study_id not in by_study:
            return None  # a problem of no study or of the list itself: validate one by one
        # a study object alone is row 1 of its studies table (in the list: its position)
        by_study[p.study_id].append(p.relocated(row=1) if p.file == studies_file else p)
    out = []
    for d in docs:
        sid = str(d["study_id"])
        problems = by_study[sid]
        invalid = {sid} & report.invalid_study_ids
        n_rows = {"studies": 1, "ncs": len(d.get("ncs", [])), "emg": len(d.get("emg", []))}
        one = ValidationReport(problems, n_rows, invalid, 1, 1 - len(invalid))
        out.append((bundle.subset([sid]), one))
    return out


def _json_value(v: Any, col: str) -> Any:
    if col == "muap_unstable":
        return bool(v)
    if isinstance(v, JsonNumber):
        return str(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return int(f) if f.is_integer() and col in (*vocab.SPONTANEOUS_COLUMNS,) else f
    if isinstance(v, np.integer):
        return int(v)
    return v


def study_to_json(bundle: Bundle, study_id: str) -> dict[str, Any]:
    """One study of a bundle in the contract's JSON form (empty values omitted).

    Raises
    ------
    KeyError
        If ``study_id`` is not in ``bundle.studies``.
    """
    srows = bundle.studies[bundle.studies["study_id"] == study_id]
    if srows.empty:
        raise KeyError(f"study_id {study_id!r} is not in the bundle")

    def records(df: pd.DataFrame, drop_id: bool) -> list[dict[str, Any]]:
        out = []
        for rec in df.to_dict(orient="records"):
            out.append(
                {
                    k: _json_value(v, k)
                    for k, v in rec.items()
                    if not (drop_id and k == "study_id") and not pd.isna(v)
                }
            )
        return out

    doc = records(srows.iloc[:1], drop_id=False)[0]
    doc["ncs"] = records(bundle.ncs[bundle.ncs["study_id"] == study_id], drop_id=True)
    doc["emg"] = records(bundle.emg[bundle.emg["study_id"] == study_id], drop_id=True)
    return doc
