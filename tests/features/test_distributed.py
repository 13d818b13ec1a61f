"""The Dask feature engine equals the pandas engine, on a LocalCluster bound to 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.tables import TABLES, Bundle
from features.distributed import (
    build_features_dask,
    bundle_to_dask,
    read_dask_bundle,
    study_divisions,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bundle"


def _read_example(name: str) -> pd.DataFrame:
    frame = pd.read_csv(EXAMPLES / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
    kinds = TABLES[name]
    for col, kind in kinds.items():
        if col not in frame.columns:
            frame[col] = np.nan
        if kind == "float" and col != "muap_unstable":
            frame[col] = frame[col].astype("float64")
    if "muap_unstable" in frame.columns:
        frame["muap_unstable"] = (
            frame["muap_unstable"].map({"true": 1.0, "false": 0.0}).astype("float64")
        )
    return frame[list(kinds)]


def _example_cohort(n_copies: int, seed: int) -> Bundle:
    """The two example studies copied ``n_copies`` times with jittered numbers, shuffled."""
    rng = np.random.default_rng(seed)
    tables = {name: _read_example(name) for name in TABLES}
    out = {}
    for name, frame in tables.items():
        copies = []
        for i in range(n_copies):
            copy = frame.assign(study_id=frame["study_id"] + f"-{i:04d}")
            for col, kind in TABLES[name].items():
                if kind == "float" and name != "studies" and col not in {"muap_unstable"}:
                    copy[col] = copy[col] * rng.uniform(0.6, 1.4, len(copy))
            copies.append(copy)
        out[name] = pd.concat(copies, ignore_index=True)
    studies = out["studies"].sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return Bundle(studies=studies, ncs=out["ncs"], emg=out["emg"])


def _order_sensitive_features() -> Callable[[Bundle], pd.DataFrame]:
    """A stand-in feature function whose result depends on the row order within a study.

    Built in a closure: pytest imports this module in "importlib" mode, so Dask workers cannot
    import it by name, and a nested function is shipped to them by value (cloudpickle).
    """

    def features(bundle: Bundle) -> pd.DataFrame:
        ncs, emg = bundle.ncs, bundle.emg
        g = ncs.groupby("study_id", sort=False)
        out = pd.DataFrame(
            {
                "first_latency_ms": g["latency_ms"].first(),
                "last_amplitude": g["amplitude"].last(),
                "max_amplitude": g["amplitude"].max(),
                "n_motor": (ncs["kind"] == "motor").groupby(ncs["study_id"]).sum(),
            }
        )
        out["n_muscles"] = emg.groupby("study_id").size()
        out["first_fibs"] = emg.groupby("study_id")["fibs"].first()
        out = out.reindex(bundle.studies["study_id"]).astype("float64")
        out.index.name = "study_id"
        return out

    return features


@pytest.fixture(scope="module")
def client():
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        memory_limit="2GiB",
    )
    dask_client = distributed.Client(cluster)
    yield dask_client
    dask_client.close()
    cluster.close()


@pytest.fixture(scope="module")
def cohort() -> Bundle:
    try:
        from simulator.cohort import simulate_cohort
    except ImportError:
        return _example_cohort(150, seed=7)
    return simulate_cohort(300, seed=11)


def test_study_divisions_cover_all_ids_and_are_sorted():
    ids = [f"s{i:03d}" for i in range(10)][::-1]
    divisions = study_divisions(ids, 3)
    assert divisions == ("s000", "s003", "s006", "s009")
    assert study_divisions(["a"], 4) == ("a",)
    with pytest.raises(ValueError, match="empty bundle"):
        study_divisions([], 2)


def test_every_study_sits_in_one_partition_of_each_table(client):
    bundle = _example_cohort(40, seed=3)
    dbundle = bundle_to_dask(bundle, npartitions=4)
    assert dbundle.studies.divisions == dbundle.ncs.divisions == dbundle.emg.divisions
    assert dbundle.npartitions == 4
    for table in (dbundle.ncs, dbundle.emg):
        part_of = table.map_partitions(
            lambda df, partition_info=None: pd.Series(partition_info["number"], index=df.index),
            meta=(None, "int64"),
        ).compute()
        assert part_of.groupby(level=0).nunique().max() == 1


def test_dask_engine_keeps_row_order_within_a_study(client):
    bundle = _example_cohort(60, seed=5)
    fn = _order_sensitive_features()
    expected = fn(bundle)
    got = build_features_dask(bundle_to_dask(bundle, npartitions=3), fn)
    result = got.compute()
    assert result.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(result.loc[expected.index], expected, check_exact=True)


def test_dask_build_features_equals_pandas_exactly(client, cohort):
    from features import build

    expected = build.build_features(cohort)
    result = build_features_dask(bundle_to_dask(cohort, npartitions=4)).compute()
    assert len(result) == cohort.studies["study_id"].nunique()
    assert list(result.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        result.loc[expected.index], expected, check_exact=True, check_index_type=False
    )


def test_dask_reads_a_parquet_bundle(client, tmp_path):
    bundle = _example_cohort(30, seed=9)
    for name in TABLES:
        frame = getattr(bundle, name)
        if name == "emg":
            frame = frame.assign(
                muap_unstable=frame["muap_unstable"].map({1.0: "true", 0.0: "false"})
            )
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    fn = _order_sensitive_features()
    expected = fn(bundle)
    result = build_features_dask(read_dask_bundle(tmp_path, npartitions=2), fn).compute()
    pd.testing.assert_frame_equal(result.loc[expected.index], expected, check_exact=True)
