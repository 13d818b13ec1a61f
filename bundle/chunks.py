"""Reading a large Parquet bundle in chunks of whole studies (bounded memory).

The studies table is read whole (one row a study: ~100 MB per million studies). A chunk is
``chunk_studies`` consecutive studies of that table. For ``ncs`` and ``emg`` only the
``study_id`` column is read first, to find each row's chunk; when rows are grouped by study in
the studies-table order (as :func:`simulator.cohort.simulate_to_dir` and
:func:`bundle.writers.write_bundle` write them) every chunk is a contiguous row range and is
streamed with ``ParquetFile.iter_batches``, so memory is bounded by one chunk. Otherwise the
table is read once into Arrow memory and each chunk is taken from it (correct, but it holds that
table in memory; a warning says so).

Each chunk is validated with the contract's own checks (:mod:`bundle.validate`), with row
numbers of the original files, so problems name the real file row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bundle.readers import RawTable
from bundle.tables import TABLES, Bundle
from bundle.validate import validate_tables

if TYPE_CHECKING:
    from bundle.problems import ValidationReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkPlan:
    """Where each chunk's rows are.

    Attributes
    ----------
    study_ids : list of ndarray
        Study ids of each chunk, in studies-table order.
    rows : dict of str to list of ndarray
        For ``ncs`` and ``emg``: 0-based file rows of each chunk (sorted).
    contiguous : dict of str to bool
        Whether each table's chunks are contiguous row ranges (streaming possible).
    """

    study_ids: list[np.ndarray]
    rows: dict[str, list[np.ndarray]]
    contiguous: dict[str, bool]

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return len(self.study_ids)


def parquet_path(path: str | Path, name: str) -> Path:
    """``path/NAME.parquet`` of a bundle folder; a clear error if it is not there."""
    file = Path(path) / f"{name}.parquet"
    if not file.is_file():
        raise FileNotFoundError(
            f"{file}: missing. Chunked processing reads a bundle folder with studies.parquet, "
            "ncs.parquet and emg.parquet (convert a CSV bundle with 'emgdx validate ... "
            "--out DIR --format parquet' or bundle.writers.write_bundle(fmt='parquet'))."
        )
    return file


def plan_chunks(path: str | Path, chunk_studies: int = 50_000) -> ChunkPlan:
    """Assign every study and every NCS/EMG row of a Parquet bundle to a chunk.

    Parameters
    ----------
    path : str or Path
        Bundle folder with ``studies.parquet``, ``ncs.parquet``, ``emg.parquet``.
    chunk_studies : int
        Studies per chunk (>= 1).

    Returns
    -------
    ChunkPlan
        Rows whose ``study_id`` is not in the studies table go to the chunk of the study before
        them in the file (so validation reports them as unknown studies, with their row).
    """
    if chunk_studies < 1:
        raise ValueError(
            f"Invalid value for the 'chunk_studies' parameter: {chunk_studies!r}. Expected >= 1."
        )
    ids = pq.read_table(parquet_path(path, "studies"), columns=["study_id"]).column(0)
    study_ids = np.asarray(ids.to_pandas().astype(str).to_numpy(), dtype=object)
    n = len(study_ids)
    chunk_of_study = np.arange(n) // chunk_studies
    n_chunks = max(1, int(chunk_of_study[-1]) + 1 if n else 1)
    index = pd.Index(study_ids)
    rows: dict[str, list[np.ndarray]] = {}
    contiguous: dict[str, bool] = {}
    for name in ("ncs", "emg"):
        col = pq.read_table(parquet_path(path, name), columns=["study_id"]).column(0)
        pos = index.get_indexer(col.to_pandas().astype(str))
        chunk = np.where(pos >= 0, chunk_of_study[np.maximum(pos, 0)] if n else 0, -1)
        # a row of an unknown study rides with the chunk before it in the file
        chunk = pd.Series(chunk).replace(-1, np.nan).ffill().fillna(0).to_numpy(dtype=np.int64)
        contiguous[name] = bool(np.all(np.diff(chunk) >= 0))
        order = np.argsort(chunk, kind="stable")
        bounds = np.searchsorted(chunk[order], np.arange(n_chunks + 1))
        rows[name] = [order[bounds[k] : bounds[k + 1]] for k in range(n_chunks)]
        if not contiguous[name]:
            logger.warning(
                "%s.parquet is not grouped by study in studies order; the table is held in "
                "memory while chunking (sort it by study to stream it)",
                name,
            )
    per_chunk = [study_ids[k * chunk_studies : (k + 1) * chunk_studies] for k in range(n_chunks)]
    return ChunkPlan(study_ids=per_chunk, rows=rows, contiguous=contiguous)


def _stream_ranges(file: Path, ranges: list[np.ndarray], batch_rows: int) -> Iterator[pa.Table]:
    """Yield the rows of each contiguous range of ``file`` in turn, reading it once."""
    reader = pq.ParquetFile(file).iter_batches(batch_size=batch_rows)
    buffered: list[pa.RecordBatch] = []
    buffered_rows = 0
    start = 0  # file row of buffered[0]'s first row
    for rows in ranges:
        end = int(rows[-1]) + 1 if len(rows) else start
        while buffered_rows < end - start:
            batch = next(reader)
            buffered.append(batch)
            buffered_rows += batch.num_rows
        table = pa.Table.from_batches(buffered) if buffered else None
        take = end - start
        if table is None:
            yield pa.Table.from_batches([], schema=pq.read_schema(file))
            continue
        yield table.slice(0, take)
        rest = table.slice(take)
        buffered = rest.to_batches()
        buffered_rows = rest.num_rows
        start = end


def iter_raw_chunks(
    path: str | Path, chunk_studies: int = 50_000, plan: ChunkPlan | None = None
) -> Iterator[dict[str, RawTable]]:
    """Raw tables of each chunk of a Parquet bundle, with the files' own row numbers.

    Parameters
    ----------
    path : str or Path
        Bundle folder with ``studies.parquet``, ``ncs.parquet``, ``emg.parquet``.
    chunk_studies : int
        Studies per chunk.
    plan : ChunkPlan, optional
        From :func:`plan_chunks` (made here if not given).

    Yields
    ------
    dict of str to RawTable
        ``studies``, ``ncs``, ``emg`` of one chunk, ready for the contract's validation.
    """
    root = Path(path)
    plan = plan or plan_chunks(root, chunk_studies)
    studies_file = parquet_path(root, "studies")
    studies_all = pq.read_table(studies_file)
    sizes = [len(ids) for ids in plan.study_ids]
    study_starts = np.concatenate([[0], np.cumsum(sizes)])
    sources: dict[str, Iterator[pa.Table]] = {}
    for name in ("ncs", "emg"):
        file = parquet_path(root, name)
        if plan.contiguous[name]:
            batch = max(10_000, min(1_000_000, chunk_studies * 4))
            sources[name] = _stream_ranges(file, plan.rows[name], batch)
        else:
            whole = pq.read_table(file)
            sources[name] = (whole.take(pa.array(r)) for r in plan.rows[name])
    for k in range(plan.n_chunks):
        tables = {
            "studies": _raw(
                "studies",
                studies_all.slice(int(study_starts[k]), sizes[k]),
                np.arange(study_starts[k], study_starts[k + 1]),
            )
        }
        for name in ("ncs", "emg"):
            tables[name] = _raw(name, next(sources[name]), plan.rows[name][k])
        yield tables


def _raw(name: str, table: pa.Table, rows0: np.ndarray) -> RawTable:
    frame = table.to_pandas().reset_index(drop=True)
    return RawTable(
        name=name,
        file=f"{name}.parquet",
        frame=frame,
        row=np.asarray(rows0, dtype=np.int64) + 1,
    )


def iter_validated_chunks(
    path: str | Path, chunk_studies: int = 50_000, plan: ChunkPlan | None = None
) -> Iterator[tuple[Bundle, ValidationReport]]:
    """Each chunk normalised and validated: ``(bundle, report)`` as :func:`load_bundle` gives.

    The bundle holds every readable row of the chunk (invalid studies included); use
    :func:`bundle.load.valid_subset` to drop ``report.invalid_study_ids``.
    """

    for k, tables in enumerate(iter_raw_chunks(path, chunk_studies, plan)):
        yield validate_tables(tables, f"{Path(path).name} chunk {k + 1}")


def iter_bundle_chunks(path: str | Path, chunk_studies: int = 50_000) -> Iterator[Bundle]:
    """Valid studies of a Parquet bundle, ``chunk_studies`` whole studies at a time.

    Invalid studies are left out (logged with their count); use
    :func:`iter_validated_chunks` to see the problems.
    """
    from bundle.load import valid_subset  # noqa: PLC0415

    for bundle, report in iter_validated_chunks(path, chunk_studies):
        invalid = report.invalid_study_ids
        if invalid:
            logger.warning("%d invalid studies left out of this chunk", len(invalid))
        yield valid_subset(bundle, report) if invalid else bundle


__all__ = [
    "TABLES",
    "ChunkPlan",
    "iter_bundle_chunks",
    "iter_raw_chunks",
    "iter_validated_chunks",
    "parquet_path",
    "plan_chunks",
]
