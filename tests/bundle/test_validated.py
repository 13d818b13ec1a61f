"""The canonical validated bundle: written once, read back schema-checked, not re-validated."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bundle.load import load_bundle, load_valid, valid_subset
from bundle.validated import StaleBundleError, is_validated, read_validated, write_validated
from bundle.writers import write_bundle
from simulator.cohort import simulate_cohort


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    raw = write_bundle(simulate_cohort(15, 2), tmp_path_factory.mktemp("raw") / "b")
    return valid_subset(*load_bundle(raw))


def test_round_trip_equals_the_validated_bundle(valid, tmp_path: Path) -> None:
    out = write_validated(valid, tmp_path / "v")
    assert is_validated(out)
    back = read_validated(out)
    for name in ("studies", "ncs", "emg"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(valid, name), check_dtype=True)
    assert load_valid(out).study_ids == valid.study_ids


def test_a_plain_parquet_bundle_is_not_taken_for_a_validated_one(valid, tmp_path: Path) -> None:
    plain = write_bundle(valid, tmp_path / "p", fmt="parquet")
    assert not is_validated(plain)


def test_a_bundle_of_another_spec_version_is_refused(valid, tmp_path: Path) -> None:
    out = write_validated(valid, tmp_path / "v")
    table = pq.read_table(out / "ncs.parquet")
    meta = {**table.schema.metadata, b"emgdx.validated_spec": b"0"}
    pq.write_table(table.replace_schema_metadata(meta), out / "ncs.parquet")
    with pytest.raises(StaleBundleError, match="run 'emgdx validate' again"):
        read_validated(out)


def test_a_validated_table_with_a_wrong_dtype_is_refused(valid, tmp_path: Path) -> None:
    out = write_validated(valid, tmp_path / "v")
    table = pq.read_table(out / "studies.parquet")
    frame = table.to_pandas()
    frame["age_years"] = frame["age_years"].astype(str)
    bad = pq.read_table(out / "studies.parquet").schema.metadata
    import pyarrow as pa

    t = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(t.replace_schema_metadata({**t.schema.metadata, **bad}), out / "studies.parquet")
    with pytest.raises(StaleBundleError, match="not a canonical validated table"):
        read_validated(out)
