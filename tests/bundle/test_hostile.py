"""Hostile input named in issue 9: each case is a problem naming where, never a crash or a guess."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.json_form import load_study_json, parse_json
from bundle.limits import ReadLimits
from bundle.load import load_bundle, valid_subset
from bundle.problems import MAX_VALUE_CHARS, log_text
from bundle.tables import Bundle
from tests.bundle import corrupt

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
STUDY = json.loads((EXAMPLES / "study.json").read_text())


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "b"
    out.mkdir()
    for p in (EXAMPLES / "bundle").iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    return out


def _kinds(report) -> set[str]:  # noqa: ANN001
    return {p.kind for p in report.problems}


def _doc(**changes: object) -> dict:
    doc = json.loads(json.dumps(STUDY))
    doc.update(changes)
    return doc


# --- study_id --------------------------------------------------------------------------------
def test_a_study_without_study_id_is_an_error_and_never_predicted(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    studies = (b / "studies.csv").read_text().splitlines()
    first_id = studies[1].split(",")[0]
    studies[1] = "," + studies[1].split(",", 1)[1]
    (b / "studies.csv").write_text("\n".join(studies) + "\n")
    bundle, report = load_bundle(b)
    assert "nan" not in bundle.study_ids
    assert first_id not in bundle.study_ids
    (p,) = [p for p in report.errors if p.column == "study_id" and p.file == "studies.csv"]
    assert (p.row, p.kind) == (1, "missing_value")
    assert all(isinstance(s, str) and s != "nan" for s in valid_subset(bundle, report).study_ids)


def test_bundle_study_ids_never_turn_an_empty_id_into_text() -> None:
    studies = pd.DataFrame({"study_id": ["a", np.nan, None, ""]})
    empty = pd.DataFrame({"study_id": pd.Series(dtype=object)})
    assert Bundle(studies, empty, empty).study_ids == ["a"]


def test_a_ncs_row_without_study_id_rejects_the_studies_it_may_belong_to(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    lines = (b / "ncs.csv").read_text().splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1]  # data row 2
    (b / "ncs.csv").write_text("\n".join(lines) + "\n")
    bundle, report = load_bundle(b)
    neighbour = lines[1].split(",")[0]
    assert neighbour in report.invalid_study_ids
    assert neighbour not in valid_subset(bundle, report).study_ids
    p = next(p for p in report.errors if p.study_id == neighbour and p.column == "study_id")
    assert "may belong to it" in (p.cause or "")


def test_json_study_without_id_is_rejected_with_its_row() -> None:
    doc = _doc()
    del doc["study_id"]
    bundle, report = load_study_json([_doc(), doc])
    assert valid_subset(bundle, report).study_ids == [STUDY["study_id"]]
    assert any(p.row == 2 and p.column == "study_id" and p.study_id is None for p in report.errors)


# --- silent coercion ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("ncs", "amplitude", False),
        ("emg", "psw", True),
        ("emg", "fibs", [1]),
        ("ncs", "latency_ms", {"v": 3}),
        (None, "age_years", True),
        (None, "age_years", "61"),  # text that is a number is fine (not a problem)
    ],
)
def test_json_booleans_and_objects_in_number_columns_are_bad_number(
    table: str | None, column: str, value: object
) -> None:
    doc = _doc()
    (doc[table][0] if table else doc)[column] = value
    _, report = load_study_json(doc)
    hits = [p for p in report.errors if p.column == column]
    if value == "61":
        assert not hits
        return
    (p,) = hits
    assert p.kind == "bad_number"


@pytest.mark.parametrize("kind", ["bool", "timedelta", "datetime", "bytes"])
def test_parquet_columns_of_other_types_are_bad_number(tmp_path: Path, kind: str) -> None:
    from bundle.writers import write_bundle

    bundle, _ = load_bundle(EXAMPLES / "bundle")
    out = write_bundle(bundle, tmp_path / "p", fmt="parquet")
    studies = pd.read_parquet(out / "studies.parquet")
    n = len(studies)
    studies["age_years"] = {
        "bool": [True] * n,
        "timedelta": pd.to_timedelta(np.arange(n), unit="D"),
        "datetime": pd.Timestamp("1960-01-01") + pd.to_timedelta(np.arange(n), unit="D"),
        "bytes": [b"61"] * n,
    }[kind]
    studies.to_parquet(out / "studies.parquet")
    b, report = load_bundle(out)
    bad = [p for p in report.errors if p.column == "age_years"]
    assert len(bad) == n
    assert {p.kind for p in bad} == {"bad_number"}
    assert b.studies["age_years"].isna().all()  # never 0/1, days or seconds


@pytest.mark.parametrize("value", [float("inf"), {"a": 1}, 3.5, True])
def test_objects_and_numbers_in_text_columns_are_refused(value: object) -> None:
    doc = _doc()
    doc["ncs"][0]["stim_site"] = value
    _, report = load_study_json(doc)
    (p,) = [p for p in report.errors if p.column == "stim_site"]
    assert p.kind == "unknown_value"
    assert "text" in p.expected


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("latency_ms", 1e300, "implausible"),
        ("distance_mm", 5e6, "implausible"),
        ("duration_ms", 9e9, "implausible"),
        ("velocity_m_s", 2e4, "implausible"),
    ],
)
def test_impossible_magnitudes_are_errors_with_a_likely_cause(
    column: str, value: float, kind: str
) -> None:
    doc = _doc()
    doc["ncs"][0][column] = value
    _, report = load_study_json(doc)
    (p,) = [p for p in report.errors if p.column == column]
    assert p.kind == kind
    assert p.cause


# --- unreadable files name where and what ------------------------------------------------------
@pytest.mark.parametrize(
    ("transform", "needle"),
    [
        (lambda t: t.replace(",", ";").encode(), "separated by semicolons"),
        (lambda t: t.replace(",", "\t").encode(), "separated by tabs"),
        (lambda t: t.encode("utf-16"), "UTF-16"),
        (lambda t: t.replace("F", "é").encode("latin-1"), "Windows-1252 / Latin-1"),
        (lambda t: t.replace(",", ",\x00", 1).encode(), "NUL byte at line 1"),
        (lambda t: t.replace("\n", '\n"', 1).encode(), "line"),
    ],
)
def test_wrong_delimiter_encoding_and_damage_are_said(
    tmp_path: Path, transform, needle: str
) -> None:  # noqa: ANN001
    b = _copy(tmp_path)
    (b / "studies.csv").write_bytes(transform((b / "studies.csv").read_text()))
    _, report = load_bundle(b)
    (p,) = [p for p in report.errors if p.file == "studies.csv"]
    assert p.kind == "unreadable_file"
    assert needle in p.expected
    assert "required column" not in p.expected


def test_a_header_named_otherwise_names_the_column(tmp_path: Path) -> None:
    b = _copy(tmp_path)
    text = (b / "studies.csv").read_text()
    (b / "studies.csv").write_text(text.replace("study_id", "Study_ID", 1))
    _, report = load_bundle(b)
    (p,) = [p for p in report.errors if p.kind == "missing_column"]
    assert "Study_ID" in (p.cause or "")


@pytest.mark.parametrize(
    "op", ["encrypted", "deflate64", "corrupt_deflate", "lying_size", "truncated", "not_zip"]
)
def test_zip_tricks_are_problems_naming_the_archive(tmp_path: Path, op: str) -> None:
    files = {p.name: p.read_bytes() for p in (EXAMPLES / "bundle").iterdir()}

    class Pick:  # a random.Random that always picks ``op``
        def choice(self, seq):  # noqa: ANN001, ANN201
            return op if op in seq else seq[0]

        def randrange(self, a, b=None):  # noqa: ANN001, ANN201
            return (a if b is None else b) // 2

        def randbytes(self, n):  # noqa: ANN001, ANN201
            return bytes(range(256))[:n]

    data, _ = corrupt._zip_case(Pick(), files)  # type: ignore[arg-type]
    (tmp_path / "b.zip").write_bytes(data)
    bundle, report = load_bundle(tmp_path / "b.zip")
    assert not valid_subset(bundle, report).study_ids
    assert report.errors
    assert all(p.file.startswith("b.zip") for p in report.errors[:1])


def test_zip_expansion_is_capped_by_declared_and_by_actual_size(tmp_path: Path) -> None:
    limits = ReadLimits(max_expanded_bytes=1 << 20)
    (tmp_path / "honest.zip").write_bytes(corrupt.zip_bomb(4 << 20))
    _, report = load_bundle(tmp_path / "honest.zip", limits=limits)
    assert [p.kind for p in report.errors] == ["too_large"]
    assert "would expand to 4 MiB" in report.errors[0].expected
    buf = io.BytesIO()  # a member that claims 100 bytes and expands to 4 MiB
    buf.write(corrupt.zip_bomb(4 << 20, declared=100))
    (tmp_path / "lying.zip").write_bytes(buf.getvalue())
    _, report = load_bundle(tmp_path / "lying.zip", limits=limits)
    assert report.errors[0].kind in {"too_large", "unreadable_file"}
    assert zipfile.is_zipfile(tmp_path / "lying.zip")


# --- JSON caps -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "levels deep"),
        ('{"a": 1, "a": 2}', "given twice"),
        ('{"study_id": "x"', "valid JSON"),
        ("\ufeff{}".encode("utf-16").decode("latin-1"), "UTF"),
    ],
)
def test_json_structure_caps(text: str, needle: str) -> None:
    doc, problem = parse_json(
        text.encode("latin-1") if "UTF" in needle else text.encode(), "d.json"
    )
    assert doc is None
    assert problem is not None
    assert needle in problem.expected


def test_json_numbers_too_long_or_not_finite_are_bad_number_in_their_cell() -> None:
    text = json.dumps(_doc(height_cm=0)).replace('"height_cm": 0', '"height_cm": ' + "9" * 5000)
    doc, problem = parse_json(text.encode(), "d.json")
    assert problem is None
    _, report = load_study_json(doc)
    (p,) = [p for p in report.errors if p.column == "height_cm"]
    assert p.kind == "bad_number"
    assert p.value == "<a number of 5000 characters>"
    doc, _ = parse_json(b'{"study_id": "x", "age_years": Infinity}', "d.json")
    _, report = load_study_json(doc)
    assert [p.kind for p in report.errors if p.column == "age_years"] == ["bad_number"]


def test_json_studies_per_document_are_capped() -> None:
    docs = [_doc(study_id=f"s{i}") for i in range(30)]
    bundle, report = load_study_json(docs, limits=ReadLimits(max_json_studies=10))
    assert [p.kind for p in report.errors] == ["too_large"]
    assert "at most 10 studies" in report.errors[0].expected
    assert not valid_subset(bundle, report).study_ids


# --- messages ----------------------------------------------------------------------------------
def test_long_values_are_cut_in_problems_and_absent_from_log_text() -> None:
    doc = _doc()
    doc["ncs"][0]["amplitude"] = "x" * 10_000
    _, report = load_study_json(doc)
    (p,) = [p for p in report.errors if p.column == "amplitude"]
    assert len(p.value) < MAX_VALUE_CHARS + 30
    assert "10000 characters" in p.value
    assert len(str(p)) < 400
    assert "xxx" not in log_text(p)
