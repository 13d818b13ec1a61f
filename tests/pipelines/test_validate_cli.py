"""Tests of ``emgdx validate`` (pipelines.validate)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from emgdx import cli
from pipelines.validate import main

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def bad_bundle(tmp_path: Path) -> Path:
    """The must-show bundle: µV motor amplitude, unknown muscle, duplicate study_id, no age."""
    path = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "bundle", path)
    ncs = (path / "ncs.csv").read_text()
    (path / "ncs.csv").write_text(ncs.replace("wrist,apb,4.0,6.2", "wrist,apb,4.0,6200"))
    emg = (path / "emg.csv").read_text()
    (path / "emg.csv").write_text(emg.replace("demo-myo-001,iliopsoas", "demo-myo-001,psoas"))
    lines = (path / "studies.csv").read_text().splitlines()
    rows = [line.split(",") for line in [*lines, lines[1]]]
    age = rows[0].index("age_years")
    (path / "studies.csv").write_text(
        "\n".join(",".join(r[:age] + r[age + 1 :]) for r in rows) + "\n"
    )
    return path


@pytest.fixture
def one_bad_study(tmp_path: Path) -> Path:
    """Example bundle where only demo-axpn-001 has an error."""
    path = tmp_path / "one"
    shutil.copytree(EXAMPLES / "bundle", path)
    ncs = (path / "ncs.csv").read_text()
    (path / "ncs.csv").write_text(ncs.replace("wrist,apb,4.0,6.2", "wrist,apb,4.0,6200"))
    return path


def test_valid_bundle_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(EXAMPLES / "bundle")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 2 studies (2 valid, 0 with errors)")


def test_valid_json_study_through_the_dispatcher(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(EXAMPLES / "study.json")]) == 0
    assert "OK: 1 studies" in capsys.readouterr().out


def test_must_show_bundle_exits_1_listing_every_problem(
    bad_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(bad_bundle)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID: 2 studies (0 valid, 2 with errors)")
    assert "studies.csv, column age_years: required column 'age_years' is missing" in out
    assert "studies.csv row 1, column study_id: value demo-myo-001" in out
    assert "studies.csv row 3, column study_id: value demo-myo-001" in out
    assert (
        "ncs.csv row 13, column amplitude: value 6200 — expected motor amplitude in mV (0–50); "
        "likely cause: value entered in µV"
    ) in out
    assert "emg.csv row 2, column muscle: value psoas" in out


def test_report_json_and_listing_cap(
    bad_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "reports" / "validation.json"
    assert main([str(bad_bundle), "--max-problems", "2", "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "... and 3 more" in out
    assert "emg.csv row 2" not in out
    doc = json.loads(report.read_text())
    assert doc["summary"]["n_studies"] == 2
    assert doc["summary"]["n_valid_studies"] == 0
    assert doc["summary"]["n_errors"] == 5
    assert doc["summary"]["errors_by_kind"] == {
        "duplicate_study_id": 2,
        "missing_column": 1,
        "unit_mixup": 1,
        "unknown_value": 1,
    }
    assert len(doc["problems"]) == 5  # the JSON report lists all
    assert doc["invalid_study_ids"] == ["demo-axpn-001", "demo-myo-001"]


def test_out_writes_only_valid_studies(
    one_bad_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "validated"
    assert main(["--in", str(one_bad_study), "--out", str(out)]) == 1
    assert main(["--in", str(one_bad_study), "--out", str(out), "--allow-invalid"]) == 0
    studies = pd.read_parquet(out / "studies.parquet")
    ncs = pd.read_parquet(out / "ncs.parquet")
    assert studies["study_id"].tolist() == ["demo-myo-001"]
    assert set(ncs["study_id"]) == {"demo-myo-001"}
    assert "demo-axpn-001" not in set(pd.read_parquet(out / "emg.parquet")["study_id"])
    assert "1 valid, 1 with errors" in capsys.readouterr().out


def test_allow_invalid_still_fails_when_nothing_is_valid(bad_bundle: Path) -> None:
    assert main([str(bad_bundle), "--allow-invalid"]) == 1


def test_bundle_given_twice_is_a_usage_error(bad_bundle: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(bad_bundle), "--in", str(bad_bundle)])
    assert exc.value.code == 2


def test_missing_path_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent")]) == 1
    assert "does not exist" in capsys.readouterr().out
