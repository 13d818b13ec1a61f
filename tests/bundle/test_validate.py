"""Tests of bundle validation and normalisation (bundle.validate)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundle import vocab
from bundle.json_form import load_study_json, study_to_json
from bundle.load import load_bundle, valid_subset, validate_bundle
from bundle.problems import Problem, ValidationReport

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"

STUDIES = """study_id,age_years,sex,diagnosis
s1,50,F,normal
s2,60,M,als
"""
NCS = """study_id,nerve,side,kind,stim_site,recording_site,latency_ms,amplitude,distance_mm,velocity_m_s,persistence_pct
s1,median,R,motor,wrist,apb,3.5,8.9,70,,
s1,median,R,sensory,wrist,digit2,3.1,38,130,,
s1,ulnar,R,f_wave,wrist,adm,28,,,,80
s2,median,R,motor,wrist,apb,4.1,2.1,70,,
s2,median,R,motor,elbow,apb,8.6,1.9,235,52,
"""
EMG = """study_id,muscle,side,fibs,psw,muap_amplitude_uv,recruitment,muap_unstable
s1,deltoid,R,0,0,400,normal,false
s2,first_dorsal_interosseous,R,2,2,2900,reduced,true
"""


def make_bundle(path: Path, studies: str = STUDIES, ncs: str = NCS, emg: str | None = EMG) -> Path:
    """Write a small CSV bundle (a None table is left out)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in {"studies": studies, "ncs": ncs, "emg": emg}.items():
        if text is not None:
            (path / f"{name}.csv").write_text(text, encoding="utf-8")
    return path


def kinds(report: ValidationReport) -> list[tuple[str, int | None, str | None, str]]:
    return [(p.file, p.row, p.column, p.kind) for p in report.problems]


def one(report: ValidationReport, kind: str) -> Problem:
    found = [p for p in report.problems if p.kind == kind]
    assert len(found) == 1, report.format()
    return found[0]


# --- valid inputs -----------------------------------------------------------------------------
def test_small_bundle_is_valid_and_canonical(tmp_path: Path) -> None:
    bundle, report = load_bundle(make_bundle(tmp_path / "b"))
    assert report.ok, report.format()
    assert report.problems == []
    assert report.n_rows == {"studies": 2, "ncs": 5, "emg": 2}
    assert report.n_studies == 2
    assert report.n_valid_studies == 2
    assert bundle.ncs["amplitude"].dtype == np.float64
    # f_wave without amplitude is allowed and stays NaN (not measured), never 0
    assert np.isnan(bundle.ncs.loc[2, "amplitude"])
    assert bundle.emg["muap_unstable"].tolist() == [0.0, 1.0]
    assert bundle.emg["fibs"].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("name", ["bundle", "study.json"])
def test_shared_examples_validate(name: str) -> None:
    bundle, report = load_bundle(EXAMPLES / name)
    assert report.ok, report.format()
    assert report.warnings == []
    assert report.invalid_study_ids == set()
    assert len(bundle.studies) == (2 if name == "bundle" else 1)


def test_validate_bundle_returns_the_report(tmp_path: Path) -> None:
    report = validate_bundle(make_bundle(tmp_path / "b"))
    assert isinstance(report, ValidationReport)
    assert report.ok


def test_empty_cells_stay_missing_and_sex_defaults_to_unknown(tmp_path: Path) -> None:
    studies = "study_id,age_years,sex,height_cm\ns1,50,,\ns2,60,m,170\n"
    bundle, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    assert report.ok, report.format()
    assert bundle.studies["sex"].tolist() == ["U", "M"]
    assert np.isnan(bundle.studies.loc[0, "height_cm"])
    # optional columns absent from the file are present as all-missing
    assert bundle.studies["limb_temp_c"].isna().all()
    assert bundle.emg["muap_duration_ms"].isna().all()


def test_synonyms_are_normalised(tmp_path: Path) -> None:
    studies = "study_id,age_years,diagnosis\ns1,50,CIDP\ns2,60, MND \n"
    ncs = (
        "study_id,nerve,side,kind,stim_site,amplitude\n"
        "s1,fibular,Left,Motor,Fibular Head,3.0\n"
        "s2,Superficial_Fibular,right,sensory,Lateral Calf,9\n"
    )
    emg = "study_id,muscle,side,recruitment,muap_unstable\ns1,FDI,left,Reduced,Yes\ns2,genioglossus,Midline,normal,FALSE\n"
    bundle, report = load_bundle(make_bundle(tmp_path / "b", studies, ncs, emg))
    assert report.ok, report.format()
    assert bundle.studies["diagnosis"].tolist() == ["demyelinating_pn", "als"]
    assert bundle.ncs["nerve"].tolist() == ["peroneal", "superficial_peroneal"]
    assert bundle.ncs["side"].tolist() == ["L", "R"]
    assert bundle.ncs["kind"].tolist() == ["motor", "sensory"]
    assert bundle.ncs["stim_site"].tolist() == ["fibular_head", "lateral_calf"]
    assert bundle.emg["muscle"].tolist() == ["first_dorsal_interosseous", "tongue"]
    assert bundle.emg["side"].tolist() == ["L", "M"]
    assert bundle.emg["recruitment"].tolist() == ["reduced", "normal"]
    assert bundle.emg["muap_unstable"].tolist() == [1.0, 0.0]


def test_extra_columns_are_kept_with_a_warning(tmp_path: Path) -> None:
    studies = "study_id,age_years,referring_ward\ns1,50,neuro\ns2,60,icu\n"
    bundle, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    assert report.ok
    p = one(report, "extra_column")
    assert (p.file, p.column, p.severity) == ("studies.csv", "referring_ward", "warning")
    assert bundle.studies["referring_ward"].tolist() == ["neuro", "icu"]
    assert list(bundle.studies.columns)[-1] == "referring_ward"


# --- the must-show bundle ---------------------------------------------------------------------
def test_must_show_bundle_lists_every_problem_with_its_row(tmp_path: Path) -> None:
    studies = "study_id,sex\ns1,F\ns2,M\ns1,F\n"  # age_years missing, s1 twice
    ncs = NCS.replace("s2,median,R,motor,wrist,apb,4.1,2.1", "s2,median,R,motor,wrist,apb,4.1,2100")
    emg = EMG.replace("s1,deltoid", "s1,psoas_major")
    bundle, report = load_bundle(make_bundle(tmp_path / "b", studies, ncs, emg))
    assert not report.ok
    assert kinds(report) == [
        ("studies.csv", None, "age_years", "missing_column"),
        ("studies.csv", 1, "study_id", "duplicate_study_id"),
        ("studies.csv", 3, "study_id", "duplicate_study_id"),
        ("ncs.csv", 4, "amplitude", "unit_mixup"),
        ("emg.csv", 1, "muscle", "unknown_value"),
    ]
    mixup = one(report, "unit_mixup")
    assert mixup.value == "2100"
    assert mixup.study_id == "s2"
    assert mixup.cause == "value entered in µV"
    assert str(mixup) == (
        "ncs.csv row 4, column amplitude: value 2100 — expected motor amplitude in mV (0–50); "
        "likely cause: value entered in µV"
    )
    assert one(report, "unknown_value").value == "psoas_major"
    # a missing required column is file-level: every study is invalid, but all rows are kept
    assert report.invalid_study_ids == {"s1", "s2"}
    assert report.n_valid_studies == 0
    assert len(bundle.studies) == 3
    assert len(bundle.ncs) == 5
    assert bundle.emg["muscle"].tolist() == ["psoas_major", "first_dorsal_interosseous"]
    assert bundle.studies["age_years"].isna().all()


def test_problem_in_one_study_invalidates_only_that_study(tmp_path: Path) -> None:
    ncs = NCS.replace("s2,median,R,motor,wrist,apb,4.1,2.1", "s2,median,R,motor,wrist,apb,4.1,2100")
    bundle, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    assert report.invalid_study_ids == {"s2"}
    assert report.n_valid_studies == 1
    valid = valid_subset(bundle, report)
    assert valid.study_ids == ["s1"]
    assert set(valid.ncs["study_id"]) == {"s1"}
    assert len(bundle.ncs) == 5  # nothing dropped from the loaded bundle


# --- one test per kind of problem -------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    _, report = load_bundle(make_bundle(tmp_path / "b", emg=None))
    p = one(report, "missing_file")
    assert "emg.csv or emg.parquet" in p.expected
    assert p.row is None
    assert report.invalid_study_ids == {"s1", "s2"}


def test_missing_required_value_and_motor_amplitude(tmp_path: Path) -> None:
    ncs = NCS.replace("s1,median,R,motor,wrist,apb,3.5,8.9", "s1,,R,motor,wrist,apb,3.5,")
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    assert [(p.row, p.column) for p in report.problems if p.kind == "missing_value"] == [
        (1, "nerve"),
        (1, "amplitude"),
    ]
    assert report.invalid_study_ids == {"s1"}


def test_bad_number_names_decimal_comma(tmp_path: Path) -> None:
    ncs = NCS.replace("3.1,38,130", '3.1,"38,5",130')
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "bad_number")
    assert (p.row, p.column, p.value) == (2, "amplitude", "38,5")
    assert "decimal comma" in (p.cause or "")


def test_bad_number_with_unit_suffix(tmp_path: Path) -> None:
    studies = STUDIES.replace("s1,50,", "s1,50 y,")
    _, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    p = one(report, "bad_number")
    assert (p.row, p.column, p.value) == (1, "age_years", "50 y")
    assert "unit" in (p.cause or "")


def test_bad_study_id(tmp_path: Path) -> None:
    studies = STUDIES.replace("s1,50", "study one,50")
    _, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    p = next(p for p in report.problems if p.kind == "bad_id")
    assert (p.row, p.column, p.value) == (1, "study_id", "study one")
    assert "study one" in report.invalid_study_ids


def test_unknown_study_id_in_ncs(tmp_path: Path) -> None:
    ncs = NCS + "s9,ulnar,R,motor,wrist,adm,3,8,70,,\n"
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "unknown_study_id")
    assert (p.file, p.row, p.value) == ("ncs.csv", 6, "s9")
    assert report.n_valid_studies == 2


def test_unknown_diagnosis_and_nerve_side(tmp_path: Path) -> None:
    studies = STUDIES.replace("s2,60,M,als", "s2,60,M,guillain_barre")
    ncs = NCS.replace("s1,median,R,sensory", "s1,median,M,sensory")
    _, report = load_bundle(make_bundle(tmp_path / "b", studies, ncs))
    unknown = [
        (p.file, p.row, p.column, p.value) for p in report.problems if p.kind == "unknown_value"
    ]
    assert unknown == [
        ("studies.csv", 2, "diagnosis", "guillain_barre"),
        ("ncs.csv", 2, "side", "M"),  # midline is for EMG only
    ]


@pytest.mark.parametrize(
    ("column", "value", "cause"),
    [
        ("limb_temp_c", "91", "temperature entered in °F"),
        ("height_cm", "1.75", "height entered in metres"),
        ("age_years", "1961", "birth year entered instead of age"),
        ("age_years", "-3", None),
    ],
)
def test_out_of_range_study_values(
    tmp_path: Path, column: str, value: str, cause: str | None
) -> None:
    if column == "age_years":
        studies = f"study_id,age_years\ns1,{value}\ns2,60\n"
    else:
        studies = f"study_id,age_years,{column}\ns1,50,{value}\ns2,60,\n"
    _, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    p = one(report, "out_of_range")
    assert (p.row, p.column, p.value, p.cause) == (1, column, value, cause)
    assert report.invalid_study_ids == {"s1"}


def test_grades_must_be_integers_0_to_4(tmp_path: Path) -> None:
    emg = EMG.replace("s1,deltoid,R,0,0", "s1,deltoid,R,1.5,7")
    _, report = load_bundle(make_bundle(tmp_path / "b", emg=emg))
    got = sorted((p.column, p.value) for p in report.problems if p.kind == "out_of_range")
    assert got == [("fibs", "1.5"), ("psw", "7")]


def test_percent_above_100(tmp_path: Path) -> None:
    ncs = NCS.replace(",,80", ",,180")
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "out_of_range")
    assert (p.row, p.column, p.value) == (3, "persistence_pct", "180")


def test_sensory_amplitude_in_mv(tmp_path: Path) -> None:
    ncs = NCS.replace("3.1,38,130", "3.1,0.038,130")
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "unit_mixup")
    assert (p.row, p.column, p.value, p.cause) == (2, "amplitude", "0.038", "value entered in mV")


def test_muap_amplitude_in_mv(tmp_path: Path) -> None:
    emg = EMG.replace(",2900,", ",2.9,")
    _, report = load_bundle(make_bundle(tmp_path / "b", emg=emg))
    p = one(report, "unit_mixup")
    assert (p.file, p.row, p.column, p.cause) == (
        "emg.csv",
        2,
        "muap_amplitude_uv",
        "value entered in mV",
    )


def test_velocity_above_120_is_not_physiological(tmp_path: Path) -> None:
    ncs = NCS.replace("235,52,", "235,520,")
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "implausible")
    assert (p.row, p.column, p.value) == (5, "velocity_m_s", "520")
    assert "distance" in (p.cause or "")


def test_latency_with_absent_response_is_a_warning(tmp_path: Path) -> None:
    ncs = NCS.replace("3.1,38,130", "3.1,0,130")
    bundle, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "absent_response_latency")
    assert (p.row, p.severity) == (2, "warning")
    assert report.ok
    assert report.invalid_study_ids == set()
    assert bundle.ncs.loc[1, "amplitude"] == 0.0  # 0 = no response, kept as a finding


def test_bad_boolean(tmp_path: Path) -> None:
    emg = EMG.replace("reduced,true", "reduced,maybe")
    _, report = load_bundle(make_bundle(tmp_path / "b", emg=emg))
    p = one(report, "unknown_value")
    assert (p.row, p.column, p.value) == (2, "muap_unstable", "maybe")


def test_missing_column_hints_at_case(tmp_path: Path) -> None:
    studies = STUDIES.replace("study_id,age_years", "study_id,Age_Years")
    _, report = load_bundle(make_bundle(tmp_path / "b", studies=studies))
    p = one(report, "missing_column")
    assert p.column == "age_years"
    assert "'Age_Years'" in (p.cause or "")


def test_unreadable_path_is_reported_not_raised(tmp_path: Path) -> None:
    report = validate_bundle(tmp_path / "nope")
    assert not report.ok
    assert one(report, "unreadable_file").expected == "does not exist"


# --- report -----------------------------------------------------------------------------------
def test_listing_cap_and_summary(tmp_path: Path) -> None:
    rows = "".join(f"s1,median,R,motor,wrist,apb,3,{1000 + i},70,,\n" for i in range(30))
    ncs = NCS + rows
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    assert len(report.errors) == 30
    text = report.format(max_problems=5)
    assert "... and 25 more" in text
    assert "30 errors: value in the wrong unit [unit_mixup]" in text
    assert text.count("likely cause: value entered in µV") == 5
    d = report.to_dict(max_problems=3)
    assert d["summary"]["n_errors"] == 30
    assert d["summary"]["errors_by_kind"] == {"unit_mixup": 30}
    assert d["summary"]["n_valid_studies"] == 1
    assert len(d["problems"]) == 3
    json.dumps(d)  # serialisable
    rows_listed = [p.row for p in report.problems]
    assert rows_listed == sorted(rows_listed)


def test_files_are_not_modified(tmp_path: Path) -> None:
    ncs = NCS.replace("3.1,38,130", '3.1," 38,5 ",130')
    path = make_bundle(tmp_path / "b", ncs=ncs)
    before = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in path.iterdir()}
    load_bundle(path)
    after = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in path.iterdir()}
    assert before == after


# --- JSON form --------------------------------------------------------------------------------
def test_json_rows_are_numbered_within_their_array() -> None:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    doc["ncs"][3]["persistence_pct"] = 140
    doc["emg"][1]["muscle"] = "psoas"
    original = copy.deepcopy(doc)
    _, report = load_study_json(doc, source="upload.json")
    assert doc == original  # input not mutated
    assert [(p.file, p.row, p.column) for p in report.errors] == [
        ("upload.json ncs", 4, "persistence_pct"),
        ("upload.json emg", 2, "muscle"),
    ]
    assert report.invalid_study_ids == {"demo-als-001"}


def test_json_list_of_studies_and_mismatched_row_id() -> None:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    other = copy.deepcopy(doc)
    other["study_id"] = "demo-als-002"
    other["emg"][0]["study_id"] = "someone-else"
    bundle, report = load_study_json([doc, other], source="batch.json")
    assert bundle.study_ids == ["demo-als-001", "demo-als-002"]
    p = one(report, "study_id_mismatch")
    assert (p.file, p.row, p.study_id) == ("batch.json emg", 1, "demo-als-002")
    assert report.invalid_study_ids == {"demo-als-002"}
    assert report.n_valid_studies == 1


def test_json_with_wrong_shape_is_reported() -> None:
    _, report = load_study_json({"study_id": "a", "age_years": 40, "ncs": {"nerve": "median"}})
    assert not report.ok
    assert one(report, "bad_json_shape").column == "ncs"
    assert report.invalid_study_ids == {"a"}


def test_json_list_element_of_wrong_type_leaves_other_studies_valid() -> None:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    bundle, report = load_study_json([doc, "oops"], source="batch.json")
    p = one(report, "bad_json_shape")
    assert (p.file, p.row, p.value) == ("batch.json", 2, "a string")
    assert report.invalid_study_ids == set()
    assert report.n_valid_studies == 1
    assert not report.ok


def test_json_problems_are_listed_in_study_order() -> None:
    first = json.loads((EXAMPLES / "study.json").read_text())
    second = copy.deepcopy(first)
    second["study_id"] = "demo-als-002"
    first["ncs"][5]["amplitude"] = 0.01  # sensory in mV
    second["ncs"][0]["amplitude"] = 2100  # motor in µV
    _, report = load_study_json([first, second], source="b.json")
    assert [(p.study_id, p.row) for p in report.problems] == [
        ("demo-als-001", 6),
        ("demo-als-002", 1),
    ]


def test_not_json_object_is_unreadable() -> None:
    bundle, report = load_study_json(42)  # type: ignore[arg-type]
    assert one(report, "unreadable_file").value == "int"
    assert len(bundle.studies) == 0


def test_study_to_json_round_trip() -> None:
    bundle, _ = load_bundle(EXAMPLES / "bundle")
    for sid in bundle.study_ids:
        doc = study_to_json(bundle, sid)
        assert "study_id" not in doc["ncs"][0]
        back, report = load_study_json(json.loads(json.dumps(doc)))
        assert report.ok, report.format()
        want = bundle.subset([sid])
        for name in ("studies", "ncs", "emg"):
            pd.testing.assert_frame_equal(getattr(back, name), getattr(want, name))
    with pytest.raises(KeyError, match="nobody"):
        study_to_json(bundle, "nobody")


def test_shared_example_copy_is_untouched(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "bundle", tmp_path / "b")
    bundle, report = load_bundle(tmp_path / "b")
    assert report.ok
    assert bundle.ncs["velocity_m_s"].notna().sum() == 1
    assert (bundle.ncs["amplitude"] == 0).sum() == 2


def test_midline_side_only_for_midline_muscles(tmp_path: Path) -> None:
    emg = EMG.replace("s1,deltoid,R", "s1,deltoid,M") + "s1,tongue,M,0,0,,normal,\n"
    _, report = load_bundle(make_bundle(tmp_path / "b", emg=emg))
    p = one(report, "unknown_value")
    assert (p.row, p.column, p.value) == (1, "side", "M")


def test_persistence_on_a_motor_row_is_a_warning(tmp_path: Path) -> None:
    ncs = NCS.replace("3.5,8.9,70,,", "3.5,8.9,70,,50")
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "misplaced_value")
    assert (p.row, p.column, p.severity) == (1, "persistence_pct", "warning")
    assert report.ok


def test_json_key_left_out_is_a_missing_value_of_that_row() -> None:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    doc["ncs"].append({"nerve": "ulnar", "side": "R", "kind": "motor", "amplitude": 7.0})
    del doc["age_years"]
    _, report = load_study_json(doc, source="s.json")
    assert [(p.file, p.row, p.column, p.kind) for p in report.problems] == [
        ("s.json", 1, "age_years", "missing_value"),
        ("s.json ncs", 9, "stim_site", "missing_value"),
    ]


_NERVE_SPELLINGS = [(n, n) for n in vocab.NERVES] + list(vocab.NERVE_SYNONYMS.items())
_MUSCLE_SPELLINGS = [(m, m) for m in vocab.MUSCLES] + list(vocab.MUSCLE_SYNONYMS.items())


@settings(max_examples=40, deadline=None)
@given(
    nerve=st.sampled_from(_NERVE_SPELLINGS),
    muscle=st.sampled_from(_MUSCLE_SPELLINGS),
    upper=st.lists(st.booleans(), min_size=40, max_size=40),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_any_case_and_padding_of_a_vocabulary_value_is_accepted(
    nerve: tuple[str, str], muscle: tuple[str, str], upper: list[bool], pad: str
) -> None:
    def spell(word: str) -> str:
        mixed = "".join(c.upper() if u else c for c, u in zip(word, upper * 3, strict=False))
        return f"{pad}{mixed}{pad}"

    doc = {
        "study_id": "h1",
        "age_years": 40,
        "ncs": [
            {
                "nerve": spell(nerve[0]),
                "side": spell("left"),
                "kind": "motor",
                "stim_site": "ankle",
                "amplitude": 3,
            }
        ],
        "emg": [{"muscle": spell(muscle[0]), "side": "R"}],
    }
    bundle, report = load_study_json(doc)
    assert report.ok, report.format()
    assert bundle.ncs.loc[0, "nerve"] == nerve[1]
    assert bundle.ncs.loc[0, "side"] == "L"
    assert bundle.emg.loc[0, "muscle"] == muscle[1]


def test_duplicate_column_is_a_file_level_error(tmp_path: Path) -> None:
    ncs = (
        "study_id,nerve,side,kind,stim_site,amplitude,amplitude\n"
        "s1,median,R,motor,wrist,8.9,8.8\n"
        "s2,median,R,motor,wrist,2.1,2.0\n"
    )
    _, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "duplicate_column")
    assert (p.file, p.column) == ("ncs.csv", "amplitude")
    assert report.invalid_study_ids == {"s1", "s2"}


def test_empty_file_is_unreadable(tmp_path: Path) -> None:
    path = make_bundle(tmp_path / "b")
    (path / "emg.csv").write_text("")
    _, report = load_bundle(path)
    p = one(report, "unreadable_file")
    assert p.file == "emg.csv"
    assert "is empty; expected CSV" in p.expected


def test_infinite_csv_number_is_a_bad_number_not_a_crash(tmp_path: Path) -> None:
    ncs = NCS.replace("3.1,38,130", "3.1,inf,130")
    bundle, report = load_bundle(make_bundle(tmp_path / "b", ncs=ncs))
    p = one(report, "bad_number")
    assert (p.row, p.column, p.value) == (2, "amplitude", "inf")
    assert np.isnan(bundle.ncs.loc[1, "amplitude"])


def test_json_array_as_a_cell_is_reported_not_raised() -> None:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    doc["emg"][0]["fibs"] = [1]
    doc["ncs"][0]["stim_site"] = {"at": "wrist"}
    _, report = load_study_json(doc, source="s.json")
    p = one(report, "bad_number")
    assert (p.file, p.row, p.column, p.value) == ("s.json emg", 1, "fibs", "<JSON array>")
    assert report.invalid_study_ids == {doc["study_id"]}


def _snapshot(bundle: object, report: ValidationReport) -> tuple[dict[str, pd.DataFrame], dict]:
    return {n: getattr(bundle, n) for n in ("studies", "ncs", "emg")}, report.to_dict()


def _assert_same(a: tuple, b: tuple) -> None:
    for name in a[0]:
        pd.testing.assert_frame_equal(a[0][name], b[0][name], check_exact=True)
    assert a[1] == b[1]


def _broken_json() -> list[dict]:
    doc = json.loads((EXAMPLES / "study.json").read_text())
    bad = copy.deepcopy(doc)
    bad["study_id"] = "demo bad"
    bad["sex"], bad["height_cm"], bad["mrn"] = "female", "1.8", "x"
    bad["ncs"][0].update(amplitude="3,5", extra_note="n")
    bad["ncs"][1].update(amplitude=2100, velocity_m_s=float("inf"))
    bad["ncs"][2].update(nerve="bogus", persistence_pct=150)
    bad["emg"][0].update(fibs=1.5, psw=7, muap_unstable="maybe", muap_amplitude_uv=2.9)
    bad["emg"][1].update(side="M", muscle=" Tongue ", recruitment="REDUCED", crd=[1])
    bad["emg"].append({"muscle": "deltoid", "side": "M", "study_id": "other"})
    return [doc, bad, "oops"]


def test_one_validation_path_for_one_row_and_for_many() -> None:
    """The same study gives the same problems alone and as one of 900 (one spec-driven path)."""

    def bad(i: int) -> dict:
        doc = _broken_json()[1]
        doc["study_id"] = f"b{i}"
        return doc

    _, one = load_study_json([bad(0)], source="b.json")
    _, many = load_study_json([bad(i) for i in range(900)], source="b.json")
    assert one.counts_by_kind()["error"]["out_of_range"] >= 1
    assert one.summary()["n_errors"] >= 8
    for sev in ("error", "warning"):
        for kind, n in one.counts_by_kind()[sev].items():
            per_column = kind == "extra_column"  # said once per column, not per row
            assert many.counts_by_kind()[sev][kind] == (n if per_column else 900 * n), kind
    first = [p for p in many.problems if p.study_id == "b0"]
    assert [(p.file, p.row, p.column, p.kind) for p in first] == [
        (p.file, p.row, p.column, p.kind) for p in one.problems if p.study_id == "b0"
    ]
