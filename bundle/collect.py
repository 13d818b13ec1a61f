"""Collecting problems cheaply: one small frame per check, turned into Problems at the end."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from bundle.parse import cell_text, map_cells
from bundle.problems import Problem
from bundle.readers import RawTable
from bundle.tables import TABLES

_PCOLS = ("file", "row", "column", "value", "expected", "cause", "study_id", "severity", "kind")


class Collector:
    """Accumulates problems as small frames (cheap for millions of rows)."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []
        self.file_level: list[Problem] = []
        #: study_ids (as read, never cut) that have at least one error
        self.error_ids: set[str] = set()

    def file(self, problem: Problem) -> None:
        self.file_level.append(problem)

    def rows(
        self,
        raw: RawTable,
        mask: np.ndarray,
        column: str | None,
        values: pd.Series | None,
        expected: str,
        *,
        kind: str,
        study_ids: pd.Series,
        cause: str | pd.Series | None = None,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        if values is None:
            val: Any = None
        else:
            texts = map_cells(values.iloc[idx], cell_text)
            val = texts.where(texts.notna(), None).to_numpy(dtype=object)
        if isinstance(cause, pd.Series):
            c = cause.iloc[idx]
            cause_arr: Any = c.astype(object).where(c.notna(), None).to_numpy()
        else:
            cause_arr = cause
        sid = study_ids.iloc[idx]
        if severity == "error":
            self.error_ids.update(x for x in sid.tolist() if isinstance(x, str))
        self.frames.append(
            pd.DataFrame(
                {
                    "file": raw.file,
                    "row": raw.row[idx],
                    "column": column,
                    "value": val,
                    "expected": expected,
                    "cause": cause_arr,
                    "study_id": sid.astype(object).where(sid.notna(), None).to_numpy(),
                    "severity": severity,
                    "kind": kind,
                    "_table": list(TABLES).index(raw.name),
                    "_pos": idx,
                }
            )
        )

    def problems(self) -> list[Problem]:
        out = list(self.file_level)
        if self.frames:
            df = pd.concat(self.frames, ignore_index=True)
            df = df.sort_values(["_table", "_pos"], kind="stable")
            df = df.astype(object).where(df.notna(), None)
            cols = [df[c].to_numpy() for c in _PCOLS]
            out.extend(
                Problem(f, int(r), c, v, e, ca, s, sv, k)
                for f, r, c, v, e, ca, s, sv, k in zip(*cols, strict=True)
            )
        return out
