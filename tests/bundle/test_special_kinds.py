"""The two optional NCS kinds of the contract: ``h_reflex`` and ``rns`` with ``decrement_pct``.

Data contract (docs/data-contract.md, "Two optional kinds extend the NCS table"): the tibial
H-reflex recorded from soleus and repetitive nerve stimulation of a motor nerve with its
decrement (−100–100 %, rns rows only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bundle.json_form import load_study_json, study_to_json
from bundle.load import load_bundle
from bundle.problems import Problem, ValidationReport
from bundle.writers import write_bundle

STUDIES = """study_id,age_years,sex,height_cm
s1,50,F,165
s2,72,M,
"""
HEADER = (
    "study_id,nerve,side,kind,stim_site,recording_site,latency_ms,amplitude,distance_mm,"
    "velocity_m_s,persistence_pct,decrement_pct\n"
)
GOOD_ROWS = [
    "s1,tibial,L,h_reflex,popliteal_fossa,soleus,30.1,2.4,,,,",
    "s1,tibial,R,H_Reflex,popliteal_fossa,Soleus,31.0,1.9,,,,",
    "s1,ulnar,R,rns,wrist,ADM,,9.8,,,,4.5",
    "s2,median,L,rns,wrist,abductor_pollicis_brevis,,7.1,,,,-3",
    "s2,tibial,L,h_reflex,popliteal_fossa,soleus,,0,,,,",
    "s2,median,L,motor,wrist,apb,3.6,8.0,70,,,",
]


def bundle_dir(tmp_path: Path, rows: list[str]) -> Path:
    d = tmp_path / "b"
    d.mkdir(exist_ok=True)
    (d / "studies.csv").write_text(STUDIES, encoding="utf-8")
    (d / "ncs.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    (d / "emg.csv").write_text("study_id,muscle,side\n", encoding="utf-8")
    return d


def only(report: ValidationReport, kind: str) -> Problem:
    found = [p for p in report.problems if p.kind == kind]
    assert len(found) == 1, report.format()
    return found[0]


def test_good_h_reflex_and_rns_rows_validate_and_normalise(tmp_path: Path) -> None:
    bundle, report = load_bundle(bundle_dir(tmp_path, GOOD_ROWS))
    assert report.ok, report.format()
    assert not report.problems, report.format()
    ncs = bundle.ncs
    assert ncs["kind"].tolist()[:5] == ["h_reflex", "h_reflex", "rns", "rns", "h_reflex"]
    assert ncs["recording_site"].tolist()[1:3] == ["soleus", "adm"]
    assert ncs["decrement_pct"].tolist()[2:4] == [4.5, -3.0]
    assert ncs["decrement_pct"].iloc[[0, 1, 4, 5]].isna().all()  # not measured, never 0
    assert str(ncs["decrement_pct"].dtype) == "float64"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_decrement_survives_the_writers_and_the_json_form(tmp_path: Path, fmt: str) -> None:
    bundle, _ = load_bundle(bundle_dir(tmp_path, GOOD_ROWS))
    again, report = load_bundle(write_bundle(bundle, tmp_path / f"out-{fmt}", fmt))  # type: ignore[arg-type]
    assert report.ok, report.format()
    assert again.ncs["decrement_pct"].tolist()[2:4] == [4.5, -3.0]
    doc = study_to_json(bundle, "s1")
    rns = [r for r in doc["ncs"] if r["kind"] == "rns"]
    assert rns == [
        {
            "nerve": "ulnar",
            "side": "R",
            "kind": "rns",
            "stim_site": "wrist",
            "recording_site": "adm",
            "amplitude": 9.8,
            "decrement_pct": 4.5,
        }
    ]
    one, report = load_study_json(doc, source="s1.json")
    assert report.ok, report.format()
    assert one.ncs["decrement_pct"].dropna().tolist() == [4.5]


def test_rns_row_without_decrement_is_an_error_naming_the_row(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,ulnar,L,rns,wrist,adm,,9.0,,,,"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "missing_value")
    assert (p.file, p.row, p.column, p.severity, p.study_id) == (
        "ncs.csv",
        7,
        "decrement_pct",
        "error",
        "s1",
    )
    assert "decrement_pct for rns rows" in str(p)
    assert report.invalid_study_ids == {"s1"}


def test_decrement_on_another_kind_is_an_error_with_its_value(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:5], "s2,median,L,motor,wrist,apb,3.6,8.0,70,,,12"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "misplaced_value")
    assert (p.row, p.column, p.value, p.severity) == (6, "decrement_pct", "12", "error")
    assert str(p).startswith("ncs.csv row 6, column decrement_pct: value 12 — expected ")
    assert "only on rns rows" in p.expected
    assert report.invalid_study_ids == {"s2"}


def test_decrement_out_of_range_is_an_error(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], "s1,ulnar,R,rns,wrist,adm,,9.8,,,,-140"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "out_of_range")
    assert (p.row, p.column, p.value) == (3, "decrement_pct", "-140")
    assert "−100–100" in p.expected


@pytest.mark.parametrize(
    ("row", "column", "value", "expected"),
    [
        ("s1,median,L,h_reflex,popliteal_fossa,soleus,30,2,,,,", "nerve", "median", "tibial"),
        ("s1,tibial,L,h_reflex,popliteal_fossa,ah,30,2,,,,", "recording_site", "ah", "soleus"),
        ("s1,sural,L,rns,ankle,edb,,3,,,,2", "nerve", "sural", "motor nerve"),
        ("s1,ulnar,L,rns,wrist,apb,,3,,,,2", "recording_site", "apb", "muscle of the"),
    ],
)
def test_h_reflex_and_rns_sites_must_fit_the_kind(
    tmp_path: Path, row: str, column: str, value: str, expected: str
) -> None:
    _, report = load_bundle(bundle_dir(tmp_path, [*GOOD_ROWS, row]))
    p = only(report, "kind_site_mismatch")
    assert (p.row, p.column, p.value, p.severity) == (7, column, value, "error")
    assert expected in p.expected
    assert not report.ok


def test_h_reflex_elsewhere_than_the_popliteal_fossa_is_a_warning(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,tibial,L,h_reflex,ankle,soleus,30,2,,,,"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "kind_site_mismatch")
    assert (p.column, p.value, p.severity) == ("stim_site", "ankle", "warning")
    assert report.ok


def test_h_reflex_amplitude_in_microvolts_is_a_unit_mixup(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,tibial,L,h_reflex,popliteal_fossa,soleus,30,2400,,,,"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "unit_mixup")
    assert (p.row, p.column, p.value) == (7, "amplitude", "2400")
    assert p.expected.startswith("h_reflex / rns amplitude in mV")


def test_a_latency_with_an_absent_h_reflex_is_a_warning(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,tibial,L,h_reflex,popliteal_fossa,soleus,30,0,,,,"]
    _, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "absent_response_latency")
    assert (p.row, p.severity) == (7, "warning")


def test_json_rns_row_without_decrement_names_its_row() -> None:
    doc = {
        "study_id": "j1",
        "age_years": 40,
        "ncs": [
            {"nerve": "ulnar", "side": "R", "kind": "rns", "stim_site": "wrist", "amplitude": 9},
        ],
        "emg": [],
    }
    _, report = load_study_json(doc, source="up.json")
    p = only(report, "missing_value")
    assert (p.file, p.row, p.column) == ("up.json ncs", 1, "decrement_pct")


@pytest.mark.parametrize("latency", ["4.5", "85"])
def test_an_implausible_h_latency_is_a_warning_naming_the_value(
    tmp_path: Path, latency: str
) -> None:
    rows = [*GOOD_ROWS, f"s1,tibial,L,h_reflex,popliteal_fossa,soleus,{latency},2,,,,"]
    bundle, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "implausible")
    assert (p.row, p.column, p.value, p.severity) == (7, "latency_ms", latency, "warning")
    assert "20–80 ms" in p.expected
    assert report.ok  # kept, not dropped: the feature code judges it against its limits
    assert len(bundle.ncs) == 7


def test_an_empty_h_reflex_row_is_a_warning_and_stays_not_measured(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "s1,tibial,L,h_reflex,popliteal_fossa,soleus,,,,,,"]
    bundle, report = load_bundle(bundle_dir(tmp_path, rows))
    p = only(report, "missing_value")
    assert (p.row, p.column, p.severity) == (7, "latency_ms", "warning")
    last = bundle.ncs.iloc[6]
    assert np.isnan(last["amplitude"])  # not 0 (absent)
    assert np.isnan(last["latency_ms"])
