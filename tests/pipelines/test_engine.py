"""`engine: dask` in params.yaml gives the features stage exactly the pandas engine's table."""

from __future__ import annotations

import pandas as pd
import pytest

from bundle.writers import write_bundle
from pipelines import featurize
from simulator.cohort import simulate_cohort


@pytest.mark.parametrize("npartitions", [3])
def test_features_stage_with_dask_engine_equals_pandas_engine(tmp_path, npartitions):
    bundle_dir = write_bundle(simulate_cohort(300, seed=5), tmp_path / "bundle", "parquet")
    params = tmp_path / "params.yaml"
    params.write_text(
        "engine:\n  engine: dask\n  n_workers: 2\n"
        f"  npartitions: {npartitions}\n  memory_limit: 1GiB\n"
    )
    assert featurize.main([str(bundle_dir), "--out", str(tmp_path / "pandas.parquet")]) == 0
    assert (
        featurize.main(
            [str(bundle_dir), "--out", str(tmp_path / "dask.parquet"), "--params", str(params)]
        )
        == 0
    )
    expected = pd.read_parquet(tmp_path / "pandas.parquet")
    got = pd.read_parquet(tmp_path / "dask.parquet")
    assert len(expected) == 300
    pd.testing.assert_frame_equal(got, expected)
