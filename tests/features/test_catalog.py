"""Tests for features.catalog: the feature registry and value wording."""

from __future__ import annotations

import math
import re

import pytest

from features.catalog import (
    FEATURES,
    GROUPS,
    LIMIT_KINDS,
    TESTED_COUNT_COLUMNS,
    describe_value,
    feature_info,
)


def test_registry_entries_are_complete_and_named_by_the_rules():
    for name, info in FEATURES.items():
        assert info.name == name
        assert re.fullmatch(r"[a-z0-9_]+", name)
        assert info.group in GROUPS
        assert info.limit_kind in LIMIT_KINDS
        assert info.label
        assert info.description
    assert all(FEATURES[n].group == "coverage" for n in FEATURES if n.startswith("cov_"))
    crit = [n for n in FEATURES if n.startswith("crit_")]
    assert all(FEATURES[n].group == "criteria" for n in crit if n not in TESTED_COUNT_COLUMNS)
    # counts of what was tested follow the referral question: coverage, never a vote
    assert {FEATURES[n].group for n in TESTED_COUNT_COLUMNS} == {"coverage"}
    assert "crit_lmn_regions_tested_count" in TESTED_COUNT_COLUMNS


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("ncs_sural_sensory_amp_pct_lln", 0.0, "absent response"),
        ("ncs_sural_sensory_amp_pct_lln", 40.0, "40 % of the lower limit"),
        ("ncs_median_motor_lat_pct_uln", 162.4, "162 % of the upper limit"),
        ("ncs_median_motor_lat_pct_uln", math.nan, "not measured"),
        ("crit_lmn_region_count", math.nan, "not assessable"),
        ("crit_lmn_region_count", 3.0, "3 of 4 regions"),
        ("crit_length_dependent", 1.0, "yes"),
        ("emg_cervical_fibs_frac", 0.5, "50 % of muscles"),
        ("crit_srar", 0.123, "0.12"),
    ],
)
def test_describe_value(name, value, text):
    assert describe_value(name, value) == text


def test_describe_count_with_tested_context():
    row = {"crit_regions_examined_count": 3.0, "crit_motor_tested_count": 4.0}
    assert describe_value("crit_lmn_region_count", 2.0, row=row) == "2 of 3 regions tested"
    assert describe_value("crit_demyel_nerve_count", 2.0, row=row) == "2 of 4 motor nerves"


def test_unknown_feature_names_close_matches():
    with pytest.raises(KeyError, match="Unknown feature 'ncs_sural_amp'"):
        feature_info("ncs_sural_amp")
