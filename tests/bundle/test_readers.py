"""Tests of bundle reading/writing (bundle.readers, bundle.writers) and file-format round trips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.load import load_bundle
from bundle.readers import BundleReadError
from bundle.sources import read_tables
from bundle.tables import Bundle
from bundle.writers import write_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def example() -> Bundle:
    bundle, report = load_bundle(EXAMPLES / "bundle")
    assert report.ok
    # add a JSON-only study so tables hold midline sides, booleans and MUAP numbers
    other, report = load_bundle(EXAMPLES / "study.json")
    assert report.ok
    return Bundle(
        *(
            pd.concat([getattr(bundle, n), getattr(other, n)], ignore_index=True)
            for n in ("studies", "ncs", "emg")
        )
    )


def assert_bundles_equal(a: Bundle, b: Bundle) -> None:
    for name in ("studies", "ncs", "emg"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_then_load_round_trip(tmp_path: Path, example: Bundle, fmt: str) -> None:
    write_bundle(example, tmp_path / "out", fmt=fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"emg.{fmt}",
        f"ncs.{fmt}",
        f"studies.{fmt}",
    ]
    back, report = load_bundle(tmp_path / "out")
    assert report.ok, report.format()
    assert_bundles_equal(back, example)
    assert back.emg["muap_unstable"].isna().sum() == example.emg["muap_unstable"].isna().sum()


@pytest.mark.parametrize("inner", ["", "export/"])
def test_zip_round_trip(tmp_path: Path, example: Bundle, inner: str) -> None:
    write_bundle(example, tmp_path / "out")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (tmp_path / "out").iterdir():
            zf.write(f, f"{inner}{f.name}")
        zf.writestr("__MACOSX/._studies.csv", "junk")
    back, report = load_bundle(archive)
    assert report.ok, report.format()
    assert_bundles_equal(back, example)


def test_zip_problems_name_the_member(tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (EXAMPLES / "bundle").iterdir():
            text = f.read_text()
            if f.name == "ncs.csv":
                text = text.replace("wrist,apb,3.5,8.9", "wrist,apb,3.5,8900")
            zf.writestr(f"x/{f.name}", text)
    _, report = load_bundle(archive)
    assert [(p.file, p.row, p.kind) for p in report.errors] == [
        ("b.zip:x/ncs.csv", 1, "unit_mixup")
    ]


def test_parquet_with_native_types(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame({"study_id": ["a", "b"], "age_years": [40, 71], "sex": ["f", None]}).to_parquet(
        folder / "studies.parquet"
    )
    pd.DataFrame(
        {
            "study_id": ["a", "b"],
            "nerve": ["Sural", "sural"],
            "side": ["L", "R"],
            "kind": ["sensory", "sensory"],
            "stim_site": ["calf", "calf"],
            "amplitude": [12.0, 0.0],
            "latency_ms": [3.5, np.nan],
        }
    ).to_parquet(folder / "ncs.parquet")
    pd.DataFrame(
        {
            "study_id": ["a", "b"],
            "muscle": ["TA", "deltoid"],
            "side": ["L", "R"],
            "fibs": pd.array([0, None], dtype="Int64"),
            "muap_unstable": pd.array([True, None], dtype="boolean"),
        }
    ).to_parquet(folder / "emg.parquet")
    bundle, report = load_bundle(folder)
    assert report.ok, report.format()
    assert bundle.studies["age_years"].tolist() == [40.0, 71.0]
    assert bundle.studies["sex"].tolist() == ["F", "U"]
    assert bundle.emg["muscle"].tolist() == ["tibialis_anterior", "deltoid"]
    assert bundle.emg["fibs"].iloc[0] == 0.0
    assert np.isnan(bundle.emg["fibs"].iloc[1])
    assert bundle.emg["muap_unstable"].iloc[0] == 1.0
    assert np.isnan(bundle.emg["muap_unstable"].iloc[1])


def test_read_tables_keeps_raw_text_and_row_numbers(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "studies.csv").write_text("study_id,age_years\n a ,NA\nb,\n")
    tables = read_tables(folder)
    assert set(tables) == {"studies"}
    raw = tables["studies"]
    assert raw.file == "studies.csv"
    assert raw.row.tolist() == [1, 2]
    assert raw.frame["study_id"].tolist() == [" a ", "b"]  # not trimmed here
    assert raw.frame["age_years"].iloc[0] == "NA"  # not read as missing
    assert pd.isna(raw.frame["age_years"].iloc[1])


def test_read_tables_refuses_two_files_for_one_table(tmp_path: Path) -> None:
    write_bundle(load_bundle(EXAMPLES / "bundle")[0], tmp_path / "b", fmt="csv")
    write_bundle(load_bundle(EXAMPLES / "bundle")[0], tmp_path / "b", fmt="parquet")
    with pytest.raises(BundleReadError, match="more than once"):
        read_tables(tmp_path / "b")
    _, report = load_bundle(tmp_path / "b")
    assert [p.kind for p in report.problems] == ["unreadable_file"]


def test_read_tables_rejects_other_files(tmp_path: Path) -> None:
    f = tmp_path / "studies.xlsx"
    f.write_bytes(b"PK")
    with pytest.raises(BundleReadError, match="not a bundle"):
        read_tables(f)


def test_write_bundle_rejects_unknown_format(tmp_path: Path, example: Bundle) -> None:
    with pytest.raises(ValueError, match="Invalid value for the 'fmt' parameter: 'xlsx'"):
        write_bundle(example, tmp_path, fmt="xlsx")  # type: ignore[arg-type]


@pytest.mark.parametrize("row", ["a,40,F,extra", "a"])
def test_ragged_csv_row_is_an_error_not_a_silent_fix(tmp_path: Path, row: str) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "studies.csv").write_text(f"study_id,age_years,sex\n{row}\n")
    with pytest.raises(
        BundleReadError, match=r"studies\.csv: line 2 has \d cells, the header has 3"
    ) as err:
        read_tables(folder)
    assert err.value.line == 2
    assert "extra" not in str(err.value)  # a parser's message quoting the row is never passed on
