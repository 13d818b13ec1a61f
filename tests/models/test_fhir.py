"""The FHIR export: one study's report validates as FHIR R4B, carries UCUM units and the limits,
and nothing of the study beyond the report's NCS values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from bundle.tables import Bundle
from features.vocab import CLASSES
from models.fhir import UCUM, fhir_report
from models.predictor import Predictor

UNITS = {"%", "ms", "mV", "uV", "m/s"}


@pytest.fixture(scope="module")
def study(tiny_model_dir: Path, fresh_cohort):
    """One neurogenic call of the fresh cohort: its prediction and its own tables."""
    bundle = fresh_cohort[0]
    preds = Predictor.load(tiny_model_dir).predict_bundle(bundle)
    p = next(p for p in preds if p.mimic_check is not None)
    sid = p.study_id
    one = Bundle(
        bundle.studies[bundle.studies.study_id == sid],
        bundle.ncs[bundle.ncs.study_id == sid],
        bundle.emg[bundle.emg.study_id == sid],
    )
    return p, one


def _resources(doc: dict) -> list[dict]:
    return [e["resource"] for e in doc["entry"]]


def test_the_export_of_one_study_validates_and_links_its_results(study):
    p, one = study
    doc = fhir_report(p, one)
    parsed = FhirBundle.model_validate(doc)  # parse back with fhir.resources (R4B)
    assert parsed.type == "collection"
    report, *obs = _resources(doc)
    assert report["resourceType"] == "DiagnosticReport"
    assert report["status"] == "preliminary"
    assert report["code"]["text"].startswith("Electrodiagnostic study")
    assert report["subject"] == {
        "identifier": {"system": "urn:emgdx:patient-id", "value": one.studies.patient_id.iloc[0]}
    }
    urls = {e["fullUrl"] for e in doc["entry"][1:]}
    assert {r["reference"] for r in report["result"]} == urls
    assert len(report["result"]) == len(obs)
    assert report["conclusionCode"][0]["text"] in report["conclusion"]
    probs = [o for o in obs if o["code"]["text"].startswith("Probability of ")]
    assert len(probs) == len(CLASSES)
    assert sum(o["valueQuantity"]["value"] for o in probs) == pytest.approx(100.0, abs=0.5)
    mimics = [o for o in obs if o["code"]["text"].startswith("ALS mimic check: ")]
    assert [o["valueCodeableConcept"]["text"] for o in mimics] == [
        m.status_text for m in p.mimic_check
    ]
    assert fhir_report(p, one) == doc  # deterministic: same ids, same content


def test_values_are_ucum_with_reference_ranges_from_the_limits(study):
    p, one = study
    obs = _resources(fhir_report(p, one))[1:]
    quantities = [o["valueQuantity"] for o in obs if "valueQuantity" in o]
    quantities += [
        r[k] for o in obs for r in o.get("referenceRange", []) for k in ("low", "high") if k in r
    ]
    assert quantities
    for q in quantities:
        assert q["system"] == UCUM
        assert q["code"] in UNITS
        assert q["unit"] == q["code"]
    ncs = [o for o in obs if "bodySite" in o]
    assert len(ncs) >= len(one.ncs)  # every row has at least its amplitude or latency
    for o in ncs:
        text, unit = o["code"]["text"], o["valueQuantity"]["code"]
        if text.endswith("amplitude"):
            assert unit == ("mV" if " motor," in text else "uV")
        elif text.endswith("velocity"):
            assert unit == "m/s"
        else:
            assert unit == "ms"
        for r in o.get("referenceRange", []):
            bound = r.get("low") or r.get("high")
            assert bound["code"] == unit
            value, limit = o["valueQuantity"]["value"], bound["value"]
            flag = o["interpretation"][0]["coding"][0]["code"]
            if "high" in r:
                assert flag == ("H" if value > limit else "N")
            else:
                assert flag == ("L" if value < limit else "N")
    # a distal amplitude carries the table's value
    row = one.ncs[one.ncs.kind == "motor"].iloc[0]
    side = "left" if row.side == "L" else "right"
    amp = next(
        o
        for o in ncs
        if o["code"]["text"].startswith(f"{side} {row.nerve} motor, stimulation {row.stim_site}")
        and o["code"]["text"].endswith("amplitude")
    )
    assert amp["valueQuantity"]["value"] == pytest.approx(row.amplitude, abs=0.01)


def test_no_study_value_leaves_beyond_what_the_report_carries(study):
    p, one = study
    doc = fhir_report(p, one)
    text = json.dumps(doc)
    for key in ("birthDate", "gender", "age", "height", "temperature", "site_id", "fibs"):
        assert f'"{key}"' not in text
    s = one.studies.iloc[0]
    assert str(s.site_id) not in text
    # needle EMG rows are not exported, so no muscle name appears
    for muscle in one.emg.muscle.astype(str).unique():
        assert muscle not in text


def test_status_is_checked_and_final_is_the_callers_to_say(study):
    p, one = study
    doc = fhir_report(p, one, status="final")
    assert {r["status"] for r in _resources(doc)} == {"final"}
    with pytest.raises(ValueError, match="Invalid value for the 'status' parameter"):
        fhir_report(p, one, status="amended")  # type: ignore[arg-type]


def test_study_date_becomes_the_effective_date(study):
    p, one = study
    dated = Bundle(one.studies.assign(study_date="2026-11-30"), one.ncs, one.emg)
    report = _resources(fhir_report(p, dated))[0]
    assert report["effectiveDateTime"] == "2026-11-30"
    assert "effectiveDateTime" not in _resources(fhir_report(p, one))[0]
