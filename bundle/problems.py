"""Problems and validation reports: the one shape every consumer shows.

A :class:`Problem` names the file, the 1-based data row, the column, the offending value
(truncated to :data:`MAX_VALUE_CHARS`), what was expected and the likely cause. The CLI prints
``str(problem)``, the JSON report, the API, the web page and the pyfunc model use
:meth:`Problem.to_dict`, and logs use :func:`log_text`, which never carries a value the user
gave (nor a column or file name that is not the contract's).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

#: longest value shown in a problem (longer ones are cut, with their length said)
MAX_VALUE_CHARS = 40
#: longest file or column name shown in a problem
MAX_NAME_CHARS = 80
#: the contract's identifier form (study_id, patient_id)
ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_ID = re.compile(ID_PATTERN)


def clip(text: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` as a one-line string of at most about ``limit`` characters (its length said when cut)."""
    s = str(text).replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "\\0")
    if len(s) <= limit:
        return s
    return f"{s[:limit]}… ({len(s)} characters)"


#: file-level problem kinds: they make every study invalid
FILE_LEVEL_KINDS: frozenset[str] = frozenset(
    {"missing_file", "missing_column", "duplicate_column", "unreadable_file", "too_large"}
)

#: kinds shown in report summaries (a Problem's ``kind``), with a short description
PROBLEM_KINDS: dict[str, str] = {
    "unreadable_file": "file or document cannot be read",
    "too_large": "file, archive or document over a size limit",
    "missing_file": "table missing from the bundle",
    "missing_column": "required column missing",
    "duplicate_column": "column given twice",
    "extra_column": "column not in the contract (kept)",
    "missing_value": "required value empty",
    "bad_number": "not a number",
    "bad_id": "identifier not of the allowed form",
    "unknown_value": "value not in the vocabulary",
    "out_of_range": "number out of range",
    "unit_mixup": "value in the wrong unit",
    "implausible": "value not physiological",
    "absent_response_latency": "latency recorded for an absent response",
    "misplaced_value": "value in a column that does not apply to the row",
    "kind_site_mismatch": "nerve or site that does not fit the row's kind (h_reflex, rns)",
    "duplicate_study_id": "study_id repeated",
    "unknown_study_id": "study_id not in studies",
    "study_id_mismatch": "row's study_id differs from its study",
    "bad_json_shape": "JSON element of the wrong type",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in a bundle.

    Attributes
    ----------
    file : str
        File (or ``"<doc> ncs"`` for the JSON form) the problem is in.
    row : int or None
        1-based data row in that file (header not counted); for the JSON form the 1-based index
        within the ``ncs``/``emg`` array (or within the list of studies). None for file-level
        problems.
    column : str or None
        Column concerned, None when the problem is about the whole file/row.
    value : str or None
        The offending value as written (None for missing values and file-level problems).
    expected : str
        What the contract expects there.
    cause : str or None
        Likely cause (e.g. ``"value entered in µV"``), when one can be guessed.
    study_id : str or None
        Study the row belongs to, when known.
    severity : {"error", "warning"}
        Errors invalidate the study (or the bundle); warnings do not.
    kind : str
        Short machine-readable kind (a key of :data:`PROBLEM_KINDS`), used for summaries.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    cause: str | None = None
    study_id: str | None = None
    severity: Literal["error", "warning"] = "error"
    kind: str = "other"

    def __post_init__(self) -> None:
        # values and names the user gave are shown cut (never a megabyte cell in a message)
        if self.value is not None:
            object.__setattr__(self, "value", clip(self.value))
        object.__setattr__(self, "file", clip(self.file, MAX_NAME_CHARS))
        if self.column is not None:
            object.__setattr__(self, "column", clip(self.column, MAX_NAME_CHARS))
        if self.study_id is not None:
            object.__setattr__(self, "study_id", clip(self.study_id, MAX_NAME_CHARS))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shape of the CLI's JSON report, the API and the web page)."""
        return asdict(self)

    def relocated(self, *, file: str | None = None, row: int | None = None) -> Problem:
        """The same problem under another file name and/or row (the value is not cut again).

        ``dataclasses.replace`` would run the cutting of ``__post_init__`` on values already
        cut; this keeps them as they are and cuts only the new file name.
        """
        moved = copy.copy(self)
        if file is not None:
            object.__setattr__(moved, "file", clip(file, MAX_NAME_CHARS))
        if row is not None:
            object.__setattr__(moved, "row", row)
        return moved

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        what = "value empty" if self.value is None else f"value {self.value}"
        if self.row is None and self.value is None:
            text = f"{where}: {self.expected}"
        else:
            text = f"{where}: {what} — expected {self.expected}"
        if self.cause:
            text += f"; likely cause: {self.cause}"
        if self.severity == "warning":
            text = "warning: " + text
        return text


@dataclass
class ValidationReport:
    """Everything validation found, as data.

    Attributes
    ----------
    problems : list of Problem
        All problems, file-level first, then by table (studies, ncs, emg) and row.
    n_rows : dict of str to int
        Data rows read per table.
    invalid_study_ids : set of str
        Studies with at least one error (every study when a file-level error exists).
    n_studies : int
        Distinct study_ids in the studies table.
    n_valid_studies : int
        Of those, how many have no error.
    """

    problems: list[Problem]
    n_rows: dict[str, int]
    invalid_study_ids: set[str]
    n_studies: int = 0
    n_valid_studies: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        """``{"error": {kind: n}, "warning": {kind: n}}``."""
        out: dict[str, Counter[str]] = {"error": Counter(), "warning": Counter()}
        for p in self.problems:
            out[p.severity][p.kind] += 1
        return {sev: dict(sorted(c.items())) for sev, c in out.items()}

    def summary(self) -> dict[str, Any]:
        """Flat numbers for dashboards and DVC metrics."""
        by_kind = self.counts_by_kind()
        n_err = sum(by_kind["error"].values())
        n_warn = sum(by_kind["warning"].values())
        return {
            "n_studies": self.n_studies,
            "n_valid_studies": self.n_valid_studies,
            "n_invalid_studies": self.n_studies - self.n_valid_studies,
            "n_ncs_rows": self.n_rows.get("ncs", 0),
            "n_emg_rows": self.n_rows.get("emg", 0),
            "n_problems": n_err + n_warn,
            "n_errors": n_err,
            "n_warnings": n_warn,
            "errors_by_kind": by_kind["error"],
            "warnings_by_kind": by_kind["warning"],
        }

    def to_dict(self, max_problems: int | None = None) -> dict[str, Any]:
        """JSON-ready form: ``summary`` (numbers), ``invalid_study_ids``, ``problems``.

        Parameters
        ----------
        max_problems : int or None
            Keep only the first N problems in the ``problems`` list (None: all).
        """
        listed = self.problems if max_problems is None else self.problems[:max_problems]
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "n_rows": dict(self.n_rows),
            "invalid_study_ids": sorted(self.invalid_study_ids),
            "problems": [p.to_dict() for p in listed],
            "n_problems_listed": len(listed),
        }

    def format(self, max_problems: int = 50) -> str:
        """Human-readable report: counts per kind, then the first ``max_problems`` problems."""
        s = self.summary()
        lines = [
            f"{'OK' if self.ok else 'INVALID'}: {s['n_studies']} studies "
            f"({s['n_valid_studies']} valid, {s['n_invalid_studies']} with errors), "
            f"{s['n_ncs_rows']} NCS rows, {s['n_emg_rows']} EMG rows; "
            f"{s['n_errors']} errors, {s['n_warnings']} warnings."
        ]
        for sev in ("error", "warning"):
            for kind, n in s[f"{sev}s_by_kind"].items():
                lines.append(
                    f"  {n:>8} {sev}{'s' if n != 1 else ''}: {PROBLEM_KINDS.get(kind, kind)} [{kind}]"
                )
        shown = self.problems[: max(max_problems, 0)]
        if shown:
            lines.append("")
            lines.extend(str(p) for p in shown)
        rest = len(self.problems) - len(shown)
        if rest > 0:
            lines.append(f"... and {rest} more")
        return "\n".join(lines)


def log_text(problem: Problem, contract_columns: frozenset[str] | None = None) -> str:
    """A problem for a log line: where and what was expected, never the value.

    The column is named only when it is a contract column (a header the user wrote may hold
    anything), and the study only by its identifier.
    """
    if contract_columns is None:
        from bundle.spec import COLUMNS

        contract_columns = frozenset(c.name for c in COLUMNS)
    where = "input" if problem.row is None else f"row {problem.row}"
    if problem.column is not None:
        where += (
            f", column {problem.column}" if problem.column in contract_columns else ", a column"
        )
    text = f"{where}: [{problem.kind}] expected {clip(problem.expected, 120)}"
    if problem.study_id and _ID.fullmatch(problem.study_id):
        text = f"[{problem.study_id}] {text}"
    return text
