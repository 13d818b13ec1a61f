"""The generated summary and impression (app/report.py) on hand-built studies, and the flags policy."""

from __future__ import annotations

from dataclasses import replace

from app.report import ReportFindings, TableSummary, impression, severity
from app.views import decision_flags, guideline_changes_decision
from models.flags import FlagCode, FlagReason
from models.localisation import Localisation
from models.mimics import MimicCheck, MimicStatus
from models.prediction import StudyPrediction

NORMAL_TABLES = (
    TableSummary("Motor nerve conduction", 4),
    TableSummary("Sensory nerve conduction (antidromic)", 3),
    TableSummary("Needle EMG", 6),
)


def _pred(diagnosis: str = "normal", pattern: str = "normal", **kw: object) -> StudyPrediction:
    base = StudyPrediction(
        study_id="s1",
        diagnosis=diagnosis,
        probabilities={diagnosis: 0.9},
        pattern=pattern,
        pattern_probability=0.9,
        explanation=[],
        model_name="m",
        model_version="1",
        low_confidence=False,
        unlike_training_data=False,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_normal_study_reads_as_normal_with_each_table_summarised() -> None:
    imp = impression(ReportFindings(NORMAL_TABLES), _pred())
    assert imp.severity == "none"
    assert (
        imp.summary[0] == "Motor nerve conduction: 4 responses examined, all within normal limits."
    )
    assert imp.summary[2] == "Needle EMG: 6 muscles examined, all within normal limits."
    assert imp.impression[0].startswith("Normal study")
    assert not any("consistent with" in s for s in imp.impression)


def test_radiculopathy_impression_states_localisation_severity_and_mimics() -> None:
    emg = TableSummary(
        "Needle EMG", 8, ("left tibialis anterior: fibrillations 2+, recruitment reduced",)
    )
    findings = ReportFindings((NORMAL_TABLES[0], NORMAL_TABLES[1], emg), max_fib_grade=2.0)
    loc = Localisation(localisable=True, root="L5", side="L", confidence=0.8, summary="Left L5.")
    mimics = [
        MimicCheck("mmn", "Multifocal motor neuropathy", MimicStatus.NOT_SUPPORTED),
        MimicCheck("sbma", "Kennedy disease", MimicStatus.NOT_ASSESSABLE),
    ]
    pred = _pred("radiculopathy", "neurogenic", localisation=loc, mimic_check=mimics)
    imp = impression(findings, pred)
    assert imp.severity == "moderate"  # fibrillations 2+
    assert imp.summary[2] == (
        "Needle EMG: 8 muscles examined; abnormal: left tibialis anterior: fibrillations 2+, "
        "recruitment reduced."
    )
    assert imp.impression[0] == "Abnormal study with a neurogenic pattern, moderate."
    assert "The findings are most consistent with radiculopathy." in imp.impression
    assert "Localisation: Left L5." in imp.impression
    assert imp.impression[-1] == (
        "Mimics considered: Multifocal motor neuropathy: not supported; "
        "Kennedy disease: cannot be assessed."
    )


def test_supported_mimic_focal_findings_and_guideline_difference_are_written() -> None:
    sensory = TableSummary("Sensory nerve conduction (antidromic)", 3, ("left sural: absent",))
    findings = ReportFindings(
        (NORMAL_TABLES[0], sensory),
        absent_motor=1,
        focal_findings=("right median neuropathy at the wrist, moderate",),
    )
    pred = _pred(
        "als",
        "neurogenic",
        guideline={"rule_diagnosis": "axonal_pn", "agrees": False},
        mimic_check=[MimicCheck("sbma", "Kennedy disease", MimicStatus.SUPPORTED)],
    )
    imp = impression(findings, pred)
    assert imp.severity == "severe"  # an absent motor response
    text = " ".join(imp.impression)
    assert "published criteria point to" in text
    assert "Focal findings: right median neuropathy at the wrist, moderate." in imp.impression
    assert "A mimic is supported by the findings: Kennedy disease; consider it." in imp.impression


def test_severity_rule() -> None:
    mild = ReportFindings((TableSummary("Motor nerve conduction", 2, ("x",)),))
    assert severity(mild) == "mild"
    assert severity(replace(mild, low_distal_cmap=1)) == "moderate"
    assert severity(replace(mild, cmap_drop=1)) == "moderate"
    assert severity(replace(mild, absent_sensory=2)) == "severe"
    assert severity(replace(mild, max_fib_grade=3.0)) == "severe"
    assert severity(ReportFindings(NORMAL_TABLES)) == "none"


def test_no_findings_no_impression() -> None:
    imp = impression(ReportFindings((TableSummary("Needle EMG", 0),)), None)
    assert imp.summary == ["Needle EMG: not examined."]
    assert imp.impression[0].startswith("No nerve conduction or needle EMG findings")


def test_flags_only_when_they_change_a_decision_each_one_sentence() -> None:
    close = FlagReason(FlagCode.CLOSE_CALL, "top two classes close: a vs b")
    unlike = FlagReason(FlagCode.UNLIKE_TRAINING_DATA, "unlike the training data: age 104")
    # a close call between two neuropathies is shown by the runner-up and the set, not a flag
    p = _pred("axonal_pn", runner_up="demyelinating_pn", flag_reasons=[close])
    assert decision_flags(p) == []
    # a close call is a flag when ALS is the call
    p = _pred("als", runner_up="radiculopathy", flag_reasons=[close, unlike])
    assert decision_flags(p) == [
        "Top two classes close: a vs b.",
        "Unlike the training data: age 104.",
    ]
    # guideline disagreement: quiet unless it changes the decision
    quiet = _pred("axonal_pn", guideline={"rule_diagnosis": "demyelinating_pn", "agrees": False})
    assert not guideline_changes_decision(quiet)
    assert decision_flags(quiet) == []
    loud = _pred("als", guideline={"rule_diagnosis": "radiculopathy", "agrees": False})
    assert guideline_changes_decision(loud)
    assert decision_flags(loud) == [
        "Published criteria point to radiculopathy, not ALS / motor neuron disease: review the study."
    ]


def test_not_established_flags_only_a_disease_call_the_set_names_alone() -> None:
    ne = FlagReason(FlagCode.NOT_ESTABLISHED, "radiculopathy is not established by the findings")
    alone = _pred("radiculopathy", flag_reasons=[ne], prediction_set=["radiculopathy"])
    assert decision_flags(alone) == ["Radiculopathy is not established by the findings."]
    shared = replace(alone, prediction_set=["radiculopathy", "normal"])
    assert decision_flags(shared) == []
    normal = _pred("normal", flag_reasons=[ne], prediction_set=["normal"])
    assert decision_flags(normal) == []


def test_list_shows_progress_while_predicting_and_never_no_studies_yet(client: object) -> None:
    from typing import Any

    c: Any = client
    state = c.app.state.emgdx
    saved = state.bundle_progress
    state.bundle_ready.clear()
    try:
        state.bundle_progress = (3200, 25000)
        html = c.get("/").text
        assert "3,200 of 25,000 studies predicted" in html
        assert "No studies yet" not in html
        state.bundle_progress = None  # still reading and validating
        html = c.get("/?q=no-such-study").text
        assert "being read" in html
        assert "No studies yet" not in html
    finally:
        state.bundle_progress = saved
        state.bundle_ready.set()


def test_background_prediction_fills_the_listed_dataset_chunk_by_chunk(client: object) -> None:
    from typing import Any

    from app.main import predict_in_background_chunks
    from app.store import build_dataset
    from app.uploads import load_bundle_path

    c: Any = client
    state = c.app.state.emgdx
    folder = state.settings.bundle_dir()
    loaded = load_bundle_path(folder, folder.name)
    ds = build_dataset("bg", "bg", loaded, None, 3)
    assert ds.predictions == {}
    saved = state.bundle_progress
    try:
        predict_in_background_chunks(state, ds, loaded)
        n_valid = len(ds.study_ids) - len(ds.invalid_ids)
        assert len(ds.predictions) == n_valid
        assert state.bundle_progress == (n_valid, n_valid)
    finally:
        state.bundle_progress = saved


def test_report_routes_html_pdf_and_unknown_study(client: object) -> None:
    import re
    from pathlib import Path
    from typing import Any

    import pytest

    c: Any = client
    url = re.search(r'href="(/study/[^"/]+/[^"]+)"', c.get("/").text).group(1)
    html = c.get(f"{url}/report").text
    assert "Electrodiagnostic report" in html
    assert html.count("not recorded") == 4  # date, indication, referring physician, examiner
    assert 'id="sign-off"' in html
    assert c.get("/study/bundle/no-such-study/report").status_code == 404
    assert c.get("/studies/no-such-study/report.pdf").status_code == 404
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no Chromium: the PDF route answers 503")
    study_id = url.rsplit("/", 1)[1]
    r = c.get(f"/studies/{study_id}/report.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content[:5] == b"%PDF-"
