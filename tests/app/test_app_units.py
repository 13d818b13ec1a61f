"""Units of the web app: abnormal-value flags, cell formatting, SVG charts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from app.charts import probability_bars_svg, waterfall_svg
from app.findings import distal_rows, emg_flags, fmt_number, ncs_flags, ncs_rows
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


def test_distal_rows_first_site_of_each_response() -> None:
    assert distal_rows(_ncs()).tolist() == [True, False, True, True, True]


def test_ncs_rows_show_limit_and_no_response() -> None:
    ncs = _ncs()
    rows = ncs_rows(ncs, ncs_flags(ncs, _ncs_limits()))
    assert rows[0]["amplitude"].abnormal
    assert rows[0]["amplitude"].limit == "LLN 4.1 mV"
    assert rows[0]["latency"].limit == "ULN 4.4 ms"
    assert rows[2]["amplitude"].text == "0 (no response)"
    assert rows[2]["amplitude"].abnormal
    assert rows[3]["latency"].limit == "ULN 32 ms"
    assert rows[3]["kind"] == "F wave"
    assert rows[4]["amplitude"].text == "–"
    assert not rows[4]["amplitude"].abnormal


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
    assert widths == pytest.approx([298 * 0.75, 298 * 0.25], abs=0.1)
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
