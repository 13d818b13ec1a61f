"""Rule-based classifier on hand-made criteria rows (one archetype per class)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.rules import CRIT_COLUMNS, classify_rules, guideline_summary, rules_proba

NORMAL = {
    "crit_lmn_region_count": 0,
    "crit_lmn_regions_tested_count": 3,
    "crit_demyel_nerve_count": 0,
    "crit_cb_nerve_count": 0,
    "crit_motor_tested_count": 4,
    "crit_sensory_abnormal_count": 0,
    "crit_sensory_tested_count": 4,
    "crit_length_dependent": 0,
    "crit_srar": 0.8,
    "crit_srar_pct_lln": 200.0,
    "crit_myopathic_muscle_frac": 0.0,
    "crit_neurogenic_muscle_frac": 0.0,
    "crit_active_denervation_muscle_count": 0,
    "crit_single_root_frac": np.nan,
    "crit_single_root_nerves_count": 0,
    "crit_outside_root_muscle_count": 0,
    "crit_paraspinal_active": 0,
    "crit_cts_pattern": 0,
    "crit_regions_examined_count": 3,
    "crit_lmn_region_frac": 0.0,
    "crit_abnormal_limb_muscle_count": 0,
    "crit_focal_entrapment": 0,
    "crit_non_length_dependent_sensory": 0,
    "crit_neurogenic_limb_snap_abnormal": np.nan,
}
ROWS = {
    "normal": NORMAL,
    "als": {
        **NORMAL,
        "crit_lmn_region_count": 3,
        "crit_neurogenic_muscle_frac": 0.7,
        "crit_active_denervation_muscle_count": 6,
        "crit_single_root_frac": 0.3,
        "crit_single_root_nerves_count": 2,
    },
    "axonal_pn": {
        **NORMAL,
        "crit_sensory_abnormal_count": 3,
        "crit_length_dependent": 1,
        "crit_srar": 0.2,
        "crit_srar_pct_lln": 50.0,
        "crit_neurogenic_muscle_frac": 0.3,
    },
    "demyelinating_pn": {
        **NORMAL,
        "crit_demyel_nerve_count": 3,
        "crit_cb_nerve_count": 1,
        "crit_sensory_abnormal_count": 2,
    },
    "myopathy": {**NORMAL, "crit_myopathic_muscle_frac": 0.6},
    "radiculopathy": {
        **NORMAL,
        "crit_lmn_region_count": 1,
        "crit_neurogenic_muscle_frac": 0.3,
        "crit_single_root_frac": 1.0,
        "crit_single_root_nerves_count": 2,
        "crit_paraspinal_active": 1,
    },
}


def _frame(rows: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index")[list(CRIT_COLUMNS)].astype(float)


def test_each_archetype_row_gets_its_class():
    X = _frame(ROWS)
    assert classify_rules(X).to_dict() == {k: k for k in ROWS}


def test_abnormal_sensory_responses_turn_als_into_a_neuropathy_and_say_why():
    kennedy = {**ROWS["als"], "crit_sensory_abnormal_count": 3, "crit_length_dependent": 0}
    X = _frame({"kennedy": kennedy})
    assert classify_rules(X).iloc[0] == "axonal_pn"
    notes = guideline_summary(X)[0]["notes"]
    assert any("argue against ALS" in n for n in notes)


def test_unassessed_criteria_never_fire():
    X = pd.DataFrame({c: [np.nan] for c in CRIT_COLUMNS}, index=["empty"])
    assert classify_rules(X).iloc[0] == "normal"
    summary = guideline_summary(X)[0]
    assert summary["lmn_regions"] == "not assessable"
    assert summary["sensory"] == "not assessable"


def test_one_demyelinating_nerve_alone_is_not_enough():
    X = _frame({"one": {**NORMAL, "crit_demyel_nerve_count": 1}})
    assert classify_rules(X).iloc[0] == "normal"


def test_missing_columns_are_treated_as_not_assessed():
    X = pd.DataFrame({"crit_myopathic_muscle_frac": [0.5]}, index=["s"])
    assert classify_rules(X).iloc[0] == "myopathy"


def test_guideline_summary_text_counts_regions_and_nerves():
    s = guideline_summary(_frame({"als": ROWS["als"]}))[0]
    assert s["rule_diagnosis"] == "als"
    assert s["lmn_regions"] == "3 of 3 regions tested"
    assert s["demyelinating_nerves"] == "0 of 4 motor nerves"
    assert set(s) == {
        "rule_diagnosis",
        "lmn_regions",
        "demyelinating_nerves",
        "length_dependent",
        "myopathic_share",
        "single_root",
        "sensory",
        "notes",
    }


def test_rules_proba_puts_confidence_on_the_called_class():
    p = rules_proba(_frame(ROWS), confidence=0.9)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p.max(axis=1) == pytest.approx(np.full(len(ROWS), 0.9))


def test_mimic_notes_name_mmn_kennedy_entrapment_and_plexus():
    from models.rules import mimics

    rows = {
        "mmn": {**NORMAL, "crit_cb_nerve_count": 2, "crit_neurogenic_muscle_frac": 0.3},
        "kennedy": {
            **NORMAL,
            "crit_lmn_region_count": 2,
            "crit_non_length_dependent_sensory": 1,
            "crit_sensory_abnormal_count": 4,
        },
        "une": {**NORMAL, "crit_focal_entrapment": 1},
        "plexus": {**NORMAL, "crit_neurogenic_limb_snap_abnormal": 1},
        "normal": NORMAL,
    }
    notes = dict(zip(rows, mimics(_frame(rows)), strict=True))
    assert "multifocal motor neuropathy" in notes["mmn"][0]
    assert "Kennedy" in notes["kennedy"][0]
    assert "entrapment" in notes["une"][0]
    assert "dorsal root ganglion" in notes["plexus"][0]
    assert notes["normal"] == []
