"""Tests for features.emg: harmonised per-muscle findings and region summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.build import build_features
from features.emg import muscle_table


def _frame(rows, columns):
    df = pd.DataFrame(rows)
    for c, k in columns.items():
        if c not in df.columns:
            df[c] = np.nan
        elif k == "float":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df[list(columns)]


def table(rows, age=25.0):
    emg = _frame([{"study_id": "s", "side": "L", **r} for r in rows], EMG_COLUMNS)
    return muscle_table(emg, np.zeros(len(emg), dtype=np.int64), np.array([age]))


def test_grades_and_numbers_give_the_same_size_score():
    # deltoid reference 11.4 ms at 25 y: long > 13.68, short < 9.12; amplitude limits 200-2000 µV
    t = table(
        [
            {"muscle": "deltoid", "muap_duration_ms": 16.0, "muap_amplitude_uv": 2500},
            {
                "muscle": "deltoid",
                "muap_duration_grade": "increased",
                "muap_amplitude_grade": "increased",
            },
            {"muscle": "deltoid", "muap_duration_ms": 7.0, "muap_amplitude_uv": 150},
            {
                "muscle": "deltoid",
                "muap_duration_grade": "decreased",
                "muap_amplitude_grade": "decreased",
            },
            {"muscle": "deltoid", "muap_duration_ms": 11.0, "muap_amplitude_uv": 900},
            {
                "muscle": "deltoid",
                "muap_duration_grade": "normal",
                "muap_amplitude_grade": "normal",
            },
            {
                "muscle": "deltoid",
                "muap_duration_ms": 11.0,
                "muap_amplitude_uv": 2600,
            },  # normal length, large
            {
                "muscle": "deltoid",
                "muap_duration_grade": "normal",
                "muap_amplitude_grade": "increased",
            },
            {"muscle": "deltoid"},
        ]
    )
    assert t["size_score"].tolist()[:8] == [1, 1, -1, -1, 0, 0, 1, 1]
    assert np.isnan(t["size_score"].iloc[8])


def test_polyphasia_numbers_vs_grade_and_recruitment_flags():
    t = table(
        [
            {"muscle": "biceps", "muap_polyphasic_pct": 40, "recruitment": "early"},
            {"muscle": "biceps", "polyphasia_grade": "increased", "recruitment": "discrete"},
            {"muscle": "biceps", "muap_polyphasic_pct": 10, "recruitment": "normal"},
        ]
    )
    assert t["poly"].tolist() == [1, 1, 0]
    assert t["early"].tolist() == [1, 0, 0]
    assert t["reduced"].tolist() == [0, 1, 0]
    assert t["myopathic"].tolist() == [1, 0, 0]
    assert t["chronic"].tolist() == [0, 1, 0]


def test_fasciculations_alone_are_not_lmn_but_count_with_chronic_change():
    t = table(
        [
            {
                "muscle": "biceps",
                "fascics": 2,
                "fibs": 0,
                "psw": 0,
                "muap_duration_grade": "normal",
                "recruitment": "normal",
            },
            {
                "muscle": "biceps",
                "fascics": 2,
                "fibs": 0,
                "psw": 0,
                "muap_duration_grade": "increased",
            },
            {
                "muscle": "biceps",
                "fibs": 2,
                "recruitment": "normal",
                "muap_duration_grade": "normal",
            },
        ]
    )
    assert t["lmn"].tolist() == [0, 1, 0]
    assert t["active"].tolist() == [0, 0, 1]


def test_region_shares_ignore_unassessed_muscles():
    b = Bundle(
        _frame([{"study_id": "s", "age_years": 50}], STUDY_COLUMNS),
        _frame([], NCS_COLUMNS),
        _frame(
            [
                {
                    "study_id": "s",
                    "muscle": "tibialis_anterior",
                    "side": "L",
                    "fibs": 2,
                    "muap_duration_grade": "increased",
                },
                {"study_id": "s", "muscle": "vastus_lateralis", "side": "L", "fibs": 0},
                {"study_id": "s", "muscle": "biceps", "side": "L"},
            ],
            EMG_COLUMNS,
        ),
    )
    x = build_features(b).loc["s"]
    assert x["emg_lumbosacral_fibs_frac"] == pytest.approx(0.5)
    assert x["emg_lumbosacral_large_muap_frac"] == pytest.approx(1.0)  # only TA assessable
    # fibrillations were assessed in this study, but in no cervical or bulbar muscle: none
    # found there (0), so which regions were examined cannot stand in for the diagnosis (MR3)
    assert x["emg_cervical_fibs_frac"] == 0.0
    assert x["emg_bulbar_fibs_frac"] == 0.0
    assert x["emg_lower_distal_neurogenic_frac"] == 1.0
    assert x["emg_upper_distal_neurogenic_frac"] == 0.0


def test_region_shares_are_nan_only_where_the_finding_was_assessed_nowhere():
    b = Bundle(
        _frame(
            [{"study_id": "s", "age_years": 50}, {"study_id": "n", "age_years": 50}], STUDY_COLUMNS
        ),
        _frame([], NCS_COLUMNS),
        _frame(
            [
                # spontaneous activity only: MUAP size was assessed in no muscle
                {"study_id": "s", "muscle": "tibialis_anterior", "side": "L", "fibs": 2},
            ],
            EMG_COLUMNS,
        ),
    )
    X = build_features(b)
    assert X.loc["s", "emg_cervical_fibs_frac"] == 0.0
    assert np.isnan(X.loc["s", "emg_cervical_large_muap_frac"])
    assert np.isnan(X.loc["s", "emg_lumbosacral_large_muap_frac"])
    # no needle EMG at all: every share is "not measured"
    assert (
        X.loc["n", [c for c in X.columns if c.startswith("emg_") and c.endswith("_frac")]]
        .isna()
        .all()
    )
