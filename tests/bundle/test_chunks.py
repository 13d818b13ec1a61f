"""Chunked reading of a Parquet bundle gives the same tables and features as reading it whole."""

from __future__ import annotations

import pandas as pd
import pytest

from bundle.chunks import iter_bundle_chunks, iter_validated_chunks, plan_chunks
from bundle.load import load_bundle
from features.build import build_features
from simulator.cohort import simulate_to_dir


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    return simulate_to_dir(tmp_path_factory.mktemp("chunks") / "b", 900, seed=5, fmt="parquet")


def test_chunks_hold_whole_studies_and_equal_the_whole_bundle(bundle_dir):
    full, report = load_bundle(bundle_dir)
    assert report.ok
    plan = plan_chunks(bundle_dir, 250)
    assert plan.n_chunks == 4
    assert plan.contiguous == {"ncs": True, "emg": True}
    parts = [b for b, _ in iter_validated_chunks(bundle_dir, 250, plan)]
    assert [len(b.studies) for b in parts] == [250, 250, 250, 150]
    for name in ("studies", "ncs", "emg"):
        joined = pd.concat([getattr(b, name) for b in parts], ignore_index=True)
        pd.testing.assert_frame_equal(joined, getattr(full, name))
    chunked = pd.concat([build_features(b) for b in parts])
    pd.testing.assert_frame_equal(chunked, build_features(full), check_exact=True)


def test_unsorted_table_is_chunked_correctly_with_file_row_numbers(bundle_dir, tmp_path):
    for name in ("studies", "emg"):
        (tmp_path / f"{name}.parquet").write_bytes((bundle_dir / f"{name}.parquet").read_bytes())
    ncs = pd.read_parquet(bundle_dir / "ncs.parquet").sample(frac=1.0, random_state=0)
    ncs.loc[ncs.index[5], "amplitude"] = -3.0  # an invalid value at file row 6
    ncs.to_parquet(tmp_path / "ncs.parquet", index=False)
    full, full_report = load_bundle(tmp_path)
    plan = plan_chunks(tmp_path, 300)
    assert plan.contiguous["ncs"] is False
    parts = list(iter_validated_chunks(tmp_path, 300, plan))
    rows = [p.row for _, r in parts for p in r.problems if p.column == "amplitude"]
    assert rows == [p.row for p in full_report.problems if p.column == "amplitude"]
    assert 6 in rows
    chunked = pd.concat([build_features(b) for b, _ in parts])
    pd.testing.assert_frame_equal(chunked, build_features(full), check_exact=True)
    valid = list(iter_bundle_chunks(tmp_path, 300))
    assert sum(len(b.studies) for b in valid) == 900 - len(full_report.invalid_study_ids)


def test_missing_parquet_table_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"studies\.parquet: missing"):
        plan_chunks(tmp_path, 10)
