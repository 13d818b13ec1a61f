"""The feature engine on Dask: the same ``build_features`` code, run per partition of studies.

Every table of a bundle is re-indexed by ``study_id`` with *identical divisions* taken from the
studies table, so all rows of one study (its studies row, NCS rows and EMG rows) sit in the
same partition number of each table. :func:`build_features_dask` then calls
:func:`features.build.build_features` inside ``dd.map_partitions`` on the three co-partitioned
tables: the feature code is not duplicated, so the Dask result equals the pandas result
exactly (``tests/features/test_distributed.py`` asserts that on a LocalCluster).

Within a study the original row order is kept (a ``_seq`` column carries it through the
shuffle and is removed before the features are computed), because NCS rows are read distal
to proximal.

Nothing here starts a cluster: whichever scheduler is active (a ``distributed.Client`` made by
:func:`models.distributed.get_client`, or dask's default threads) runs the graph.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle

logger = logging.getLogger(__name__)

#: A function from a bundle to its per-study feature table (index ``study_id``).
FeatureFn = Callable[[Bundle], pd.DataFrame]

_SEQ = "_seq"


@dataclass(frozen=True)
class DaskBundle:
    """The three tables of a bundle as Dask DataFrames, co-partitioned by study.

    Attributes
    ----------
    studies, ncs, emg : dask.dataframe.DataFrame
        Indexed by ``study_id`` with identical ``divisions``; ``ncs`` and ``emg`` carry a
        ``_seq`` column holding each row's original position (for a stable order within a study).
    """

    studies: dd.DataFrame
    ncs: dd.DataFrame
    emg: dd.DataFrame

    @property
    def npartitions(self) -> int:
        """Number of study partitions."""
        return int(self.studies.npartitions)


def study_divisions(study_ids: Sequence[str] | pd.Series, npartitions: int) -> tuple[str, ...]:
    """Division boundaries that cut the sorted study ids into ``npartitions`` near-equal parts.

    Parameters
    ----------
    study_ids : sequence of str
        All study ids of the bundle (unique).
    npartitions : int
        Wanted number of partitions (fewer if there are fewer studies).

    Returns
    -------
    tuple of str
        Sorted, unique boundaries ``(first, ..., last)`` as Dask expects them.
    """
    ids = np.sort(pd.Series(study_ids, dtype=object).astype(str).unique())
    if len(ids) == 0:
        raise ValueError("Cannot partition an empty bundle: the studies table has no rows.")
    n = max(1, min(int(npartitions), len(ids)))
    cuts = np.linspace(0, len(ids) - 1, n + 1).round().astype(int)
    return tuple(dict.fromkeys(ids[cuts].tolist()))


def _with_seq(frame: dd.DataFrame) -> dd.DataFrame:
    """Add ``_seq``: the row's global position in the table (0, 1, 2, ...)."""
    ones = frame[frame.columns[0]].map_partitions(
        lambda s: pd.Series(np.ones(len(s), dtype="int64"), index=s.index), meta=(_SEQ, "int64")
    )
    return frame.assign(**{_SEQ: ones.cumsum() - 1})


def _index_by_study(frame: dd.DataFrame, divisions: tuple[str, ...]) -> dd.DataFrame:
    """Shuffle ``frame`` so that it is indexed by ``study_id`` with the given divisions."""
    frame = frame.assign(study_id=frame["study_id"].astype(str))
    return frame.set_index("study_id", divisions=list(divisions))


def partition_by_study(
    studies: dd.DataFrame, ncs: dd.DataFrame, emg: dd.DataFrame, npartitions: int
) -> DaskBundle:
    """Co-partition the three tables of a bundle by study.

    Parameters
    ----------
    studies, ncs, emg : dask.dataframe.DataFrame
        The bundle's tables with a ``study_id`` column (any partitioning, e.g. as read from
        Parquet); canonical values as in :class:`bundle.tables.Bundle`.
    npartitions : int
        Number of study partitions wanted.

    Returns
    -------
    DaskBundle
        Tables indexed by ``study_id`` with identical divisions.
    """
    ids = studies["study_id"].astype(str).compute()
    divisions = study_divisions(ids, npartitions)
    logger.info("partitioning %d studies into %d partitions", len(ids), len(divisions) - 1)
    return DaskBundle(
        studies=_index_by_study(studies, divisions),
        ncs=_index_by_study(_with_seq(ncs), divisions),
        emg=_index_by_study(_with_seq(emg), divisions),
    )


def bundle_to_dask(bundle: Bundle, npartitions: int) -> DaskBundle:
    """Turn an in-memory bundle into a :class:`DaskBundle` (for tests and small cohorts).

    Large cohorts should be read with :func:`read_dask_bundle` instead, so the driver never
    holds the whole bundle (``dd.from_pandas`` ships the frames inside the task graph).
    """
    parts = max(1, int(npartitions))
    return partition_by_study(
        dd.from_pandas(bundle.studies, npartitions=parts, sort=False),
        dd.from_pandas(bundle.ncs, npartitions=parts, sort=False),
        dd.from_pandas(bundle.emg, npartitions=parts, sort=False),
        npartitions=parts,
    )


def _table_path(path: Path, name: str) -> Path:
    """``path/NAME.parquet`` (one file) or ``path/NAME/`` (a folder of Parquet parts)."""
    for candidate in (path / f"{name}.parquet", path / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"{path}: no '{name}.parquet' file or '{name}/' folder of Parquet parts "
        f"(expected a study bundle written as Parquet)."
    )


def read_dask_bundle(path: str | Path, npartitions: int) -> DaskBundle:
    """Read a Parquet bundle lazily with Dask and co-partition it by study.

    Parameters
    ----------
    path : str or Path
        Bundle folder holding ``studies``, ``ncs`` and ``emg`` as ``NAME.parquet`` or ``NAME/``.
        Values must already be canonical (as written by the simulator or the validate stage);
        ``muap_unstable`` stored as ``"true"``/``"false"`` text is converted to 1.0/0.0.
    npartitions : int
        Number of study partitions.
    """
    root = Path(path)
    studies = dd.read_parquet(_table_path(root, "studies"))
    ncs = dd.read_parquet(_table_path(root, "ncs"))
    emg = dd.read_parquet(_table_path(root, "emg"))
    if "muap_unstable" in emg.columns:
        emg = emg.assign(
            muap_unstable=emg["muap_unstable"].map_partitions(
                _unstable_to_float, meta=("muap_unstable", "float64")
            )
        )
    return partition_by_study(studies, ncs, emg, npartitions)


def _unstable_to_float(values: pd.Series) -> pd.Series:
    """``muap_unstable`` as float 1/0/NaN whether stored as text, bool or number."""
    if pd.api.types.is_float_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    mapping = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}
    return text.map(mapping).astype("float64")


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns back to pandas' default ``str`` dtype (NaN for missing).

    Dask turns text into ``string[pyarrow]`` with ``pd.NA`` as the missing value; comparisons
    on such columns return ``pd.NA`` instead of ``False``, so the feature code would not see
    the frames the pandas engine sees.
    """
    fixes = {
        c: pd.StringDtype(storage=d.storage, na_value=np.nan)
        for c, d in frame.dtypes.items()
        if isinstance(d, pd.StringDtype) and d.na_value is pd.NA
    }
    return frame.astype(fixes) if fixes else frame


def _ordered(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Contract columns first in contract order, extras after, default RangeIndex."""
    present = [c for c in columns if c in frame.columns]
    out = frame[present + [c for c in frame.columns if c not in columns]].reset_index(drop=True)
    return _plain_strings(out)


def _partition_bundle(studies: pd.DataFrame, ncs: pd.DataFrame, emg: pd.DataFrame) -> Bundle:
    """Rebuild the :class:`Bundle` of one partition (``study_id`` back as a column)."""
    studies = studies.reset_index()
    ncs = ncs.reset_index().sort_values(_SEQ, kind="stable").drop(columns=_SEQ)
    emg = emg.reset_index().sort_values(_SEQ, kind="stable").drop(columns=_SEQ)
    return Bundle(
        studies=_ordered(studies, STUDY_COLUMNS),
        ncs=_ordered(ncs, NCS_COLUMNS),
        emg=_ordered(emg, EMG_COLUMNS),
    )


def _default_fn() -> FeatureFn:
    from features.build import build_features  # noqa: PLC0415 - the real engine, imported late

    return build_features


def _run_on_partition(
    studies: pd.DataFrame,
    ncs: pd.DataFrame,
    emg: pd.DataFrame,
    fn: FeatureFn,
    columns: list[str] | None,
) -> pd.DataFrame:
    out = fn(_partition_bundle(studies, ncs, emg))
    if columns is not None and list(out.columns) != columns:
        missing = sorted(set(columns) - set(out.columns))
        extra = sorted(set(out.columns) - set(columns))
        raise ValueError(
            "feature function returned different columns on a partition than on the meta "
            f"sample: missing {missing[:5]}, extra {extra[:5]} (features must not depend on "
            "which studies share a partition)"
        )
    return out


def _meta(dbundle: DaskBundle, fn: FeatureFn) -> pd.DataFrame:
    """Empty frame with the output columns and dtypes, from ``fn`` on the empty meta tables."""
    try:
        meta = _run_on_partition(
            dbundle.studies._meta, dbundle.ncs._meta, dbundle.emg._meta, fn, None
        )
        if meta.shape[1] > 0:
            return meta.iloc[:0]
    except Exception as err:  # noqa: BLE001 - fall back to a one-study sample below
        logger.debug("feature function failed on empty tables (%s); using a one-study sample", err)
    first = dbundle.studies.partitions[0].head(1, compute=True)
    sid = first.index[0]
    sample = _run_on_partition(
        first,
        dbundle.ncs.partitions[0].loc[sid:sid].compute(),
        dbundle.emg.partitions[0].loc[sid:sid].compute(),
        fn,
        None,
    )
    return sample.iloc[:0]


def build_features_dask(dbundle: DaskBundle, fn: FeatureFn | None = None) -> dd.DataFrame:
    """Per-study features of a co-partitioned Dask bundle, lazily.

    Parameters
    ----------
    dbundle : DaskBundle
        From :func:`partition_by_study`, :func:`bundle_to_dask` or :func:`read_dask_bundle`.
    fn : callable, optional
        ``Bundle -> DataFrame`` per-study feature function; default
        :func:`features.build.build_features` (the pandas engine, so both engines share code).

    Returns
    -------
    dask.dataframe.DataFrame
        Index ``study_id`` (sorted within and across partitions), float64 feature columns in
        the order ``fn`` returns them. Call ``.compute()`` or ``.to_parquet(...)``.
    """
    func = fn if fn is not None else _default_fn()
    meta = _meta(dbundle, func)
    return dd.map_partitions(
        _run_on_partition,
        dbundle.studies,
        dbundle.ncs,
        dbundle.emg,
        fn=func,
        columns=list(meta.columns),
        meta=meta,
        align_dataframes=False,
        enforce_metadata=False,
    )
