"""Focal findings (models/focal.py) on hand-built studies: CTS grades, AAEM UNE, fibular head (T1.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from models.focal import focal_findings

_NCS_COLS = [
    "study_id", "nerve", "side", "kind", "stim_site", "recording_site", "latency_ms",
    "amplitude", "duration_ms", "distance_mm", "velocity_m_s", "persistence_pct",
]  # fmt: skip
_EMG_COLS = ["study_id", "muscle", "side", "fibs", "psw", "recruitment", "muap_duration_grade"]


def _row(nerve, side, kind, stim, rec, lat, amp, dist, vel=np.nan):
    return ["S1", nerve, side, kind, stim, rec, lat, amp, np.nan, dist, vel, np.nan]


def _bundle(ncs_rows, emg_rows=()) -> Bundle:
    studies = pd.DataFrame(
        {"study_id": ["S1"], "age_years": [50.0], "sex": ["F"], "height_cm": [165.0],
         "limb_temp_c": [33.0], "patient_id": ["P1"], "site_id": ["lab-a"],
         "diagnosis": [None]}
    )  # fmt: skip
    emg = pd.DataFrame(list(emg_rows), columns=_EMG_COLS)
    return Bundle(studies=studies, ncs=pd.DataFrame(ncs_rows, columns=_NCS_COLS), emg=emg)


def _median_ulnar(d2_lat, d5_lat, dml, d2_amp=30.0, apb_amp=9.0):
    return [
        _row("median", "R", "motor", "wrist", "apb", dml, apb_amp, 70),
        _row("ulnar", "R", "motor", "wrist", "adm", 2.8, 10.0, 70),
        _row("median", "R", "sensory", "wrist", "digit2", d2_lat, d2_amp, 130),
        _row("ulnar", "R", "sensory", "wrist", "digit5", d5_lat, 30.0, 110),
    ]


def test_normal_median_and_ulnar_give_no_finding() -> None:
    assert focal_findings(_bundle(_median_ulnar(3.0, 2.6, 3.6))) == {}


def test_issue_11_textbook_carpal_tunnel_is_moderate_on_the_right() -> None:
    # issue 11: DML 5.8 ms, median sensory 4.6 ms / 8 µV, median-ulnar difference > 0.5 ms
    found = focal_findings(_bundle(_median_ulnar(4.6, 2.7, 5.8, d2_amp=8.0)))["S1"]
    assert [(f.site, f.side, f.severity) for f in found] == [("median_wrist", "R", "moderate")]
    diff = next(v for v in found[0].values if v.name.startswith("median-ulnar"))
    assert diff.value > 0.5
    assert diff.abnormal
    assert found[0].text == "right median neuropathy at the wrist (carpal tunnel), moderate"


def test_cts_grades_mild_and_severe() -> None:
    mild = focal_findings(_bundle(_median_ulnar(3.9, 2.6, 3.8)))["S1"][0]
    assert mild.severity == "mild"  # sensory only (difference ~0.9 ms), DML normal
    severe = focal_findings(_bundle(_median_ulnar(np.nan, 2.6, 6.5, d2_amp=0.0, apb_amp=2.0)))
    assert severe["S1"][0].severity == "severe"  # absent median SNAP, low CMAP


def test_diffuse_slowing_is_not_carpal_tunnel() -> None:
    # median and ulnar equally slow (a polyneuropathy): no median-ulnar difference
    rows = _median_ulnar(4.2, 3.7, 5.0)
    rows[1] = _row("ulnar", "R", "motor", "wrist", "adm", 4.5, 10.0, 70)
    assert focal_findings(_bundle(rows)) == {}


def _ulnar_elbow(be_cv, ae_cv, be_amp, ae_amp):
    return [
        _row("ulnar", "L", "motor", "wrist", "adm", 2.8, 10.0, 70),
        _row("ulnar", "L", "motor", "below_elbow", "adm", 6.5, be_amp, 220, be_cv),
        _row("ulnar", "L", "motor", "above_elbow", "adm", 9.0, ae_amp, 100, ae_cv),
    ]


def test_aaem_une_needs_two_abnormalities_or_a_definite_block() -> None:
    assert focal_findings(_bundle(_ulnar_elbow(60, 55, 9.5, 9.0))) == {}
    assert focal_findings(_bundle(_ulnar_elbow(55, 48, 9.5, 9.0))) == {}  # one criterion only
    found = focal_findings(_bundle(_ulnar_elbow(60, 38, 9.5, 9.0)))["S1"]
    assert [(f.site, f.side, f.severity) for f in found] == [("ulnar_elbow", "L", "mild")]
    block = focal_findings(_bundle(_ulnar_elbow(60, 55, 9.5, 4.0)))["S1"][0]
    assert block.severity == "moderate"  # drop 58 % > 50 %: definite block


def test_fibular_head_slowing_and_needle_controls() -> None:
    rows = [
        _row("peroneal", "R", "motor", "ankle", "edb", 4.5, 5.0, 90),
        _row("peroneal", "R", "motor", "fibular_head", "edb", 11.0, 4.8, 300, 47.0),
        _row("peroneal", "R", "motor", "popliteal_fossa", "edb", 14.0, 2.5, 100, 33.0),
    ]
    emg = [
        ["S1", "tibialis_anterior", "R", 2.0, 1.0, "reduced", "normal"],
        ["S1", "tibialis_posterior", "R", 0.0, 0.0, "normal", "normal"],
    ]
    found = focal_findings(_bundle(rows, emg))["S1"]
    assert [(f.site, f.severity) for f in found] == [("fibular_head", "severe")]
    assert "normal" in found[0].criteria  # tibialis posterior normal: not L5
    rows[2] = _row("peroneal", "R", "motor", "popliteal_fossa", "edb", 13.0, 4.6, 100, 50.0)
    assert focal_findings(_bundle(rows)) == {}
