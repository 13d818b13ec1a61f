"""Focal findings (features/focal.py) on hand-built studies: CTS grades, AAEM UNE, fibular head (T1.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.focal import focal_findings, outside_focal_territories

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


def test_isolated_une_leaves_the_ulnar_territory_out_of_the_six_class_view() -> None:
    rows = _ulnar_elbow(60, 38, 9.5, 6.0) + [
        _row("ulnar", "L", "sensory", "wrist", "digit5", 2.6, 6.0, 110),
        _row("ulnar", "R", "motor", "wrist", "adm", 2.8, 10.0, 70),
        _row("median", "L", "motor", "wrist", "apb", 3.5, 9.0, 70),
    ]
    emg = [
        ["S1", "first_dorsal_interosseous", "L", 2.0, 2.0, "reduced", "long"],
        ["S1", "abductor_digiti_minimi", "L", 1.0, 1.0, "reduced", "long"],
        ["S1", "first_dorsal_interosseous", "R", 0.0, 0.0, "normal", "normal"],
        ["S1", "biceps", "L", 0.0, 0.0, "normal", "normal"],
    ]
    b = _bundle(rows, emg)
    out, left = outside_focal_territories(b)
    assert [f.site for f in left["S1"]] == ["ulnar_elbow"]
    # the left ulnar's motor and sensory rows and its hand muscles are out; the right ulnar,
    # the median and the biceps stay; the input bundle is unchanged
    assert set(zip(out.ncs["nerve"], out.ncs["side"], strict=True)) == {
        ("ulnar", "R"),
        ("median", "L"),
    }
    assert sorted(zip(out.emg["muscle"], out.emg["side"], strict=True)) == [
        ("biceps", "L"),
        ("first_dorsal_interosseous", "R"),
    ]
    assert len(b.ncs) == 6
    assert len(b.emg) == 4


def test_a_slowed_forearm_is_a_neuropathy_not_an_isolated_lesion() -> None:
    # across-elbow slowing and a drop, but the forearm is slowed below its LLN too (CIDP):
    # the finding is stated, the ulnar rows stay in the six-class view
    b = _bundle(_ulnar_elbow(38, 28, 9.5, 6.0))
    (found,) = focal_findings(b)["S1"]
    assert found.site == "ulnar_elbow"
    assert not found.isolated
    out, left = outside_focal_territories(b)
    assert left == {}
    assert len(out.ncs) == 3


def test_carpal_tunnel_is_never_left_out() -> None:
    b = _bundle(_median_ulnar(4.6, 2.7, 5.8, d2_amp=8.0))
    out, left = outside_focal_territories(b)
    assert left == {}
    assert out is b


def test_a_left_out_territory_is_named_in_the_limitations() -> None:
    une = outside_focal_territories(_bundle(_ulnar_elbow(60, 38, 9.5, 6.0)))[1]["S1"][0]
    assert une.left_out_text.startswith("The left ulnar findings and the muscles supplied below")


def test_denervation_outside_the_territory_keeps_the_territory_in() -> None:
    # an abnormal APB (median, C8/T1) beside the ulnar hand muscles: a root or anterior horn
    # process is as likely as a UNE with an incidental elbow finding, so nothing is left out
    rows = _ulnar_elbow(60, 38, 9.5, 6.0)
    fdi = ["S1", "first_dorsal_interosseous", "L", 2.0, 2.0, "reduced", "long"]
    apb = ["S1", "abductor_pollicis_brevis", "L", 1.0, 0.0, "reduced", "long"]
    assert outside_focal_territories(_bundle(rows, [fdi]))[1]
    assert outside_focal_territories(_bundle(rows, [fdi, apb]))[1] == {}
    apb_right = ["S1", "abductor_pollicis_brevis", "R", 1.0, 0.0, "reduced", "long"]
    assert outside_focal_territories(_bundle(rows, [fdi, apb_right]))[1]  # the other arm
    para = ["S1", "cervical_paraspinal", "L", 1.0, 0.0, "normal", "normal"]
    assert outside_focal_territories(_bundle(rows, [fdi, para]))[1] == {}
