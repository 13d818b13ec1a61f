"""``emgdx predict``: valid studies predicted, invalid ones reported, never dropped silently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bundle.writers import write_bundle
from features.vocab import CLASSES
from pipelines.predict import main
from tests.helpers.tiny import make_tiny_cohort, make_tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("cli") / "model", n_studies=300, seed=3)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    bundle, _ = make_tiny_cohort(6, seed=4)
    out = write_bundle(bundle, tmp_path_factory.mktemp("bundle") / "b")
    ncs = pd.read_csv(out / "ncs.csv")
    bad_id = bundle.study_ids[2]
    row = ncs.index[ncs["study_id"] == bad_id][0]
    ncs["nerve"] = ncs["nerve"].astype(object)
    ncs.loc[row, "nerve"] = "sciatic_nerve_xyz"  # not in the vocabulary
    ncs.to_csv(out / "ncs.csv", index=False)
    return out, bundle.study_ids, bad_id


def test_csv_output_has_valid_studies_and_rejects_the_bad_one(
    model_dir, bundle_dir, tmp_path, caplog
) -> None:
    path, ids, bad_id = bundle_dir
    out = tmp_path / "p.csv"
    assert main([str(path), "--out", str(out), "--model", str(model_dir)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["study_id"]) == [s for s in ids if s != bad_id]
    assert {"diagnosis", *(f"p_{c}" for c in CLASSES)} <= set(frame.columns)
    assert frame[[f"p_{c}" for c in CLASSES]].sum(axis=1).round(9).eq(1).all()
    assert frame["diagnosis"].isin(CLASSES).all()
    rejected = json.loads((tmp_path / "p.csv.rejected.json").read_text())
    assert [r["study_id"] for r in rejected] == [bad_id]
    assert any("nerve" in p for p in rejected[0]["problems"])
    assert bad_id in caplog.text
    assert "sciatic_nerve_xyz" not in caplog.text  # no raw values in the log


def test_json_output_is_nested(model_dir, bundle_dir, tmp_path) -> None:
    path, ids, bad_id = bundle_dir
    out = tmp_path / "p.json"
    assert main([str(path), "--out", str(out), "--model", str(model_dir), "--top-k", "4"]) == 0
    docs = json.loads(out.read_text())
    assert len(docs) == len(ids) - 1
    assert {"probabilities", "explanation", "runner_up_explanation", "guideline"} <= set(docs[0])
    assert 0 < len(docs[0]["explanation"]) <= 4


def test_single_study_json_with_few_tests(model_dir, tmp_path) -> None:
    from models.pyfunc import example_study

    doc = tmp_path / "study.json"
    doc.write_text(json.dumps(example_study()))
    out = tmp_path / "one.csv"
    assert main([str(doc), "--out", str(out), "--model", str(model_dir)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["study_id"]) == ["example-001"]
    assert not (tmp_path / "one.csv.rejected.json").exists()


def test_exit_1_when_nothing_valid_2_when_no_model(model_dir, tmp_path) -> None:
    doc = tmp_path / "bad.json"
    doc.write_text(json.dumps({"study_id": "x1", "age_years": 999}))
    assert main([str(doc), "--out", str(tmp_path / "o.csv"), "--model", str(model_dir)]) == 1
    assert json.loads((tmp_path / "o.csv.rejected.json").read_text())[0]["study_id"] == "x1"
    from models.pyfunc import example_study

    good = tmp_path / "good.json"
    good.write_text(json.dumps(example_study()))
    assert main([str(good), "--out", str(tmp_path / "o2.csv"), "--model", str(tmp_path)]) == 2
    broken = tmp_path / "broken_model"
    shutil.copytree(model_dir, broken)
    (broken / "booster.txt").write_text("tree\nnot a booster\n")
    assert main([str(good), "--out", str(tmp_path / "o3.csv"), "--model", str(broken)]) == 2


def test_fhir_output_is_one_valid_r4b_report_per_valid_study(
    model_dir, bundle_dir, tmp_path
) -> None:
    from fhir.resources.R4B.bundle import Bundle as FhirBundle

    path, ids, bad_id = bundle_dir
    out = tmp_path / "p.ndjson"
    assert main([str(path), "--out", str(out), "--model", str(model_dir), "--format", "fhir"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == len(ids) - 1
    reported = []
    for line in lines:
        doc = FhirBundle.model_validate_json(line)
        report = doc.entry[0].resource
        assert report.get_resource_type() == "DiagnosticReport"
        reported.append(report.identifier[0].value)
    assert reported == [s for s in ids if s != bad_id]
