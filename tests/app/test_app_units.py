"""Units of the web app: abnormal-value flags, cell formatting, SVG charts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from app.charts import probability_bars_svg, waterfall_svg
from app.findings import emg_flags, fmt_number, grade_text, ncs_flags
from app.tables import median_ulnar, ncs_tables, side_to_side
from features.limits import site_limits
from models.prediction import Contribution


def _ncs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": ["s"] * 5,
            "nerve": ["median", "median", "sural", "ulnar", "tibial"],
            "kind": ["motor", "motor", "sensory", "f_wave", "motor"],
            "latency_ms": [4.6, 8.0, np.nan, 33.0, 5.0],
            "amplitude": [3.9, 4.5, 0.0, np.nan, np.nan],
            "duration_ms": [9.0, 9.0, np.nan, np.nan, np.nan],
            "velocity_m_s": [np.nan, 45.0, np.nan, np.nan, np.nan],
        }
    )


def _ncs_limits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "latency_uln_ms": [4.4, 4.4, 3.5, np.nan, 5.8],
            "amplitude_lln": [4.1, 4.1, 6.0, np.nan, 4.0],
            "amplitude_unit": ["mV", "mV", "µV", "", "mV"],
            "velocity_lln_m_s": [np.nan, 49.0, np.nan, np.nan, np.nan],
            "f_latency_uln_ms": [np.nan, np.nan, np.nan, 32.0, np.nan],
            "distal_duration_uln_ms": [6.7, 6.7, np.nan, np.nan, np.nan],
        },
        index=[10, 11, 12, 13, 14],  # limits may carry another index: aligned by position
    )


def test_ncs_flags_compare_with_limits_and_never_flag_missing() -> None:
    ncs = _ncs()
    before = ncs.copy()
    f = ncs_flags(ncs, _ncs_limits())
    pd.testing.assert_frame_equal(ncs, before)  # input not mutated
    # the proximal median site (8.0 ms) is not judged against the distal latency ULN
    assert f["abn_latency"].tolist() == [True, False, False, True, False]
    assert f["abn_amplitude"].tolist() == [True, False, True, False, False]  # 0 = no response
    assert f["abn_velocity"].tolist() == [False, True, False, False, False]
    assert f["abn_duration"].tolist() == [True, False, False, False, False]


def test_site_limits_first_site_of_each_response_is_distal() -> None:
    lim = site_limits(_ncs(), _ncs_limits())
    assert lim["is_distal"].tolist() == [True, False, True, True, True]
    # distal-only limits are dropped on the proximal median row; the segment CV LLN stays
    assert np.isnan(lim["amplitude_lln"].iloc[1])
    assert np.isnan(lim["latency_uln_ms"].iloc[1])
    assert lim["velocity_lln_m_s"].iloc[1] == 49.0


def _median_elbow(elbow_mv: float, nerve: str = "median") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": ["s", "s"],
            "nerve": [nerve, nerve],
            "side": ["L", "L"],
            "kind": ["motor", "motor"],
            "stim_site": ["wrist", "elbow"],
            "recording_site": ["apb", "apb"],
            "latency_ms": [3.6, 7.9],
            "amplitude": [4.2, elbow_mv],
            "velocity_m_s": [np.nan, 55.0],
        }
    )


def _limits2() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "latency_uln_ms": [4.4, 4.4],
            "amplitude_lln": [4.0, 4.0],
            "amplitude_unit": ["mV", "mV"],
            "velocity_lln_m_s": [49.0, 49.0],
            "f_latency_uln_ms": [np.nan, np.nan],
            "distal_duration_uln_ms": [6.6, 6.6],
        }
    )


def test_proximal_cmap_is_judged_by_its_drop_not_the_distal_lln() -> None:
    # issue 11: a median elbow CMAP of 3.7 mV was flagged against the distal LLN 4 mV
    f = ncs_flags(_median_elbow(3.7), _limits2())
    assert f["abn_amplitude"].tolist() == [False, False]
    assert f["amplitude_drop_pct"].iloc[1] == pytest.approx(100 * (1 - 3.7 / 4.2))
    assert f["amplitude_drop_uln_pct"].iloc[1] == 30.0
    # a 52 % drop is beyond the 30 % limit (EAN/PNS 2021 conduction block)
    f = ncs_flags(_median_elbow(2.0), _limits2())
    assert f["abn_amplitude"].tolist() == [False, True]
    assert f["abn_drop"].iloc[1]
    # tibial: excluded from block criteria, the drop is shown but never flagged
    f = ncs_flags(_median_elbow(1.0, "tibial"), _limits2())
    assert not f["abn_amplitude"].iloc[1]
    assert np.isnan(f["amplitude_drop_uln_pct"].iloc[1])


def test_ncs_tables_print_a_limit_beside_every_value() -> None:
    ncs = _median_elbow(2.0)
    (motor,) = ncs_tables(ncs, ncs_flags(ncs, _limits2()))
    assert motor.title == "Motor nerve conduction"
    keys = [c.key for c in motor.columns]
    assert keys == ["latency", "amplitude", "drop", "velocity"]  # empty columns left out
    assert motor.columns[0].label == "Onset latency ms"
    distal, elbow = motor.rows
    assert distal.cells["amplitude"].limit == "≥ 4 mV"
    assert distal.cells["latency"].limit == "≤ 4.4 ms"
    assert elbow.cells["amplitude"].limit == ""  # no distal LLN on the elbow row
    assert elbow.cells["drop"].text == "52 %"
    assert elbow.cells["drop"].limit == "≤ 30 %"
    assert elbow.cells["drop"].abnormal
    assert not elbow.cells["amplitude"].abnormal


def test_ncs_tables_by_kind_take_new_kinds_and_columns() -> None:
    ncs = _ncs().assign(side="R", recording_site=None)
    ncs.loc[2, "latency_ms"] = 3.0
    rns = pd.DataFrame(
        {"study_id": ["s"], "nerve": ["ulnar"], "side": ["R"], "kind": ["rns"],
         "amplitude": [8.0], "decrement_pct": [24.0]}
    )  # fmt: skip
    both = pd.concat([ncs, rns], ignore_index=True)
    lim = pd.concat([_ncs_limits().reset_index(drop=True), _ncs_limits().iloc[:1]])
    tables = ncs_tables(both, ncs_flags(both, lim))
    assert [t.kind for t in tables] == ["motor", "sensory", "f_wave", "rns"]
    rns_table = tables[-1]
    assert rns_table.title == "Repetitive nerve stimulation"
    assert "decrement" in [c.key for c in rns_table.columns]
    assert rns_table.rows[0].cells["decrement"].text == "24 %"
    assert rns_table.rows[0].cells["decrement"].limit == ""  # no limit column given here
    sensory = tables[1]
    assert sensory.columns[0].label == "Peak latency ms"
    assert sensory.rows[0].cells["amplitude"].text == "0 (no response)"


def test_side_to_side_and_median_ulnar_comparisons() -> None:
    ncs = pd.DataFrame(
        {
            "study_id": ["s"] * 4,
            "nerve": ["ulnar", "ulnar", "median", "ulnar"],
            "side": ["L", "R", "R", "R"],
            "kind": ["motor", "motor", "sensory", "sensory"],
            "latency_ms": [3.0, 3.1, 4.6, 3.16],
            "amplitude": [11.0, 6.0, 8.0, 20.0],
        }
    )
    lim = pd.DataFrame({c: [np.nan] * 4 for c in _limits2().columns})
    flags = ncs_flags(ncs, lim)
    side = side_to_side(ncs, flags)
    amp = next(c for c in side if c.what == "ulnar motor amplitude")
    assert amp.difference == "5 mV (45 %)"
    assert amp.limit == "≤ 3.6 mV"
    assert amp.abnormal
    (mu,) = median_ulnar(ncs, flags)
    assert mu.difference == "1.44 ms"
    assert mu.limit == "≤ 0.5 ms"
    assert mu.abnormal


def test_grade_text_writes_plus_grades() -> None:
    assert [grade_text(v) for v in (0.0, 2.0, 4, np.nan, None)] == ["0", "2+", "4+", "–", "–"]


def test_emg_flags() -> None:
    emg = pd.DataFrame(
        {
            "study_id": ["s", "s", "s"],
            "muscle": ["biceps", "deltoid", "tibialis_anterior"],
            "fibs": [0.0, 2.0, np.nan],
            "muap_amplitude_uv": [500.0, 3000.0, np.nan],
            "muap_duration_ms": [6.0, 11.0, np.nan],
            "muap_amplitude_grade": [None, None, "increased"],
            "recruitment": ["normal", "reduced", None],
            "muap_unstable": [0.0, 1.0, np.nan],
        }
    )
    lim = pd.DataFrame(
        {
            "duration_lln_ms": [8.0, 9.0, 10.0],
            "duration_uln_ms": [12.0, 14.0, 15.0],
            "amplitude_lln_uv": [200.0, 200.0, 200.0],
            "amplitude_uln_uv": [2000.0, 2000.0, 2000.0],
            "polyphasic_uln_pct": [15.0, 15.0, 15.0],
        }
    )
    f = emg_flags(emg, lim)
    assert f["abn_fibs"].tolist() == [False, True, False]
    assert f["abn_muap_amplitude_uv"].tolist() == [False, True, False]
    assert f["abn_muap_duration_ms"].tolist() == [True, False, False]  # short = myopathic
    assert f["abn_muap_amplitude_grade"].tolist() == [False, False, True]
    assert f["abn_recruitment"].tolist() == [False, True, False]
    assert f["abn_muap_unstable"].tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(4.10, 1, "4.1"), (70.0, 0, "70"), (np.nan, 1, "–"), (None, 1, "–"), (-0.01, 1, "0")],
)
def test_fmt_number(value: object, digits: int, text: str) -> None:
    assert fmt_number(value, digits) == text


def test_probability_bars_escape_and_scale() -> None:
    probs = {"a": 0.75, "b": 0.25}
    svg = str(probability_bars_svg(probs, {"a": "<b>A</b>", "b": "B"}, predicted="a", width=560))
    assert "<b>A</b>" not in svg
    assert "&lt;b&gt;A&lt;/b&gt;" in svg
    widths = [
        float(w)
        for w in re.findall(
            r"<rect x='210' y='[\d.]+' width='([\d.]+)' height='16' fill='#(?!eef)", svg
        )
    ]
    assert widths == pytest.approx([290 * 0.75, 290 * 0.25], abs=0.1)
    assert "75 %" in svg
    assert "25 %" in svg


def _c(shap: float, label: str = "x") -> Contribution:
    return Contribution(
        feature="f",
        label=label,
        group="g",
        value=1.0,
        value_text="1",
        limit_text="",
        shap=shap,
        sentence=f"{label} <s>",
    )


def test_waterfall_steps_add_up_to_the_score() -> None:
    svg = str(waterfall_svg([_c(1.5, "A"), _c(-0.5, "B")], "Myopathy", base_value=-1.0, total=0.3))
    values = re.findall(r"fill='#[0-9a-f]{6}'>([+-][\d.]+)</text>", svg)
    assert values == ["+1.50", "-0.50", "+0.30"]  # the last step: all other findings
    assert "<s>" not in svg
    assert "&lt;s&gt;" in svg
    assert "Score for Myopathy" in svg


def test_probabilities_never_print_100_or_0_percent() -> None:
    svg = str(probability_bars_svg({"a": 0.9996, "b": 0.0004}, {"a": "A", "b": "B"}))
    assert "100 %" not in svg
    assert "&gt; 99 %" in svg
    assert "&lt; 1 %" in svg


def test_waterfall_says_its_scale_and_groups_not_examined() -> None:
    svg = str(
        waterfall_svg(
            [_c(1.5, "A")], "ALS", base_value=-1.0, total=1.2, not_examined=0.4, probability=0.999
        )
    )
    assert "log-odds, not %" in svg
    assert "Findings not examined" in svg
    assert "+0.40" in svg
    assert "probability &gt; 99 %" in svg
