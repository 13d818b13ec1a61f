"""The mimic check on the study page: a table beside ALS / neurogenic calls, absent elsewhere."""

from __future__ import annotations

import html
import re
from typing import Any


def _section(page: str) -> str:
    m = re.search(r'<section class="card" id="mimic-check">(.*?)</section>', page, re.S)
    assert m, "no mimic section"
    return m.group(1)


def test_study_page_shows_each_mimic_with_its_status_and_values(client: Any) -> None:
    ds = client.app.state.emgdx.store.get("bundle")
    checked = [p for p in ds.predictions.values() if p.mimic_check]
    unchecked = [p for p in ds.predictions.values() if not p.mimic_check]
    assert checked, "the small bundle must hold a neurogenic call"
    p = checked[0]
    section = _section(client.get(f"/study/bundle/{p.study_id}").text)
    rows = re.findall(r'<tr class="mimic-(\w+)" data-mimic="(\w+)">(.*?)</tr>', section, re.S)
    assert [(code, status) for status, code, _ in rows] == [
        (m.code, m.status.value) for m in p.mimic_check
    ]
    for (_, _, cells), m in zip(rows, p.mimic_check, strict=True):
        assert html.escape(m.name) in cells
        assert f">{m.status_text}</td>" in cells
        assert html.escape(m.sentence) in cells
        for f in m.findings:
            assert html.escape(f"{f.label}: {f.value_text}") in cells
    if unchecked:
        page = client.get(f"/study/bundle/{unchecked[0].study_id}").text
        assert 'id="mimic-check"' not in page
        assert 'id="guideline"' in page


def test_fhir_route_returns_a_valid_r4b_report_of_a_loaded_study(client: Any) -> None:
    from fhir.resources.R4B.bundle import Bundle as FhirBundle

    ds = client.app.state.emgdx.store.get("bundle")
    sid = next(iter(ds.predictions))
    r = client.get(f"/api/studies/{sid}/fhir")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    doc = FhirBundle.model_validate_json(r.text)
    report = doc.entry[0].resource
    assert report.get_resource_type() == "DiagnosticReport"
    assert report.identifier[0].value == sid
    page = client.get(f"/study/bundle/{sid}").text
    link = re.search(r'id="fhir-link" href="([^"]+)"', page).group(1)
    assert html.unescape(link) == f"/api/studies/{sid}/fhir?dataset=bundle"
    assert client.get(html.unescape(link)).status_code == 200
    missing = client.get("/api/studies/no-such-study/fhir")
    assert missing.status_code == 404
    assert missing.json()["errors"]
    assert client.get(f"/api/studies/{sid}/fhir", params={"dataset": "u999"}).status_code == 404


def test_guideline_box_leaves_the_checked_mimics_to_the_table(client: Any) -> None:
    from dataclasses import replace

    from app.views import guideline_mimic_notes

    ds = client.app.state.emgdx.store.get("bundle")
    p = next(p for p in ds.predictions.values() if p.mimic_check)
    notes = [
        "Motor conduction block ...: consider multifocal motor neuropathy (an ALS mimic)",
        "Neurogenic change with non-length-dependent sensory loss: consider Kennedy disease",
        "Focal slowing across the elbow: a mononeuropathy at an entrapment site",
    ]
    checked = replace(p, guideline={**p.guideline, "mimics": notes})
    assert guideline_mimic_notes(checked) == notes[2:]
    # without the structured check the guideline keeps every note
    assert guideline_mimic_notes(replace(checked, mimic_check=None)) == notes
