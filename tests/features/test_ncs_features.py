"""Tests for features.ncs via build_features on tiny hand-made bundles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.build import build_features


def _frame(rows, columns):
    df = pd.DataFrame(rows)
    for c, k in columns.items():
        if c not in df.columns:
            df[c] = np.nan
        elif k == "float":
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df[list(columns)]


def feats(ncs_rows, age=40.0, temp=np.nan, height=np.nan):
    b = Bundle(
        _frame(
            [{"study_id": "s", "age_years": age, "limb_temp_c": temp, "height_cm": height}],
            STUDY_COLUMNS,
        ),
        _frame([{"study_id": "s", **r} for r in ncs_rows], NCS_COLUMNS),
        _frame([], EMG_COLUMNS),
    )
    return build_features(b).loc["s"]


def motor(nerve, side, site, lat, amp, vel=np.nan, dur=np.nan):
    return {
        "nerve": nerve,
        "side": side,
        "kind": "motor",
        "stim_site": site,
        "latency_ms": lat,
        "amplitude": amp,
        "velocity_m_s": vel,
        "duration_ms": dur,
    }


def sensory(nerve, side, lat, amp):
    return {
        "nerve": nerve,
        "side": side,
        "kind": "sensory",
        "stim_site": "x",
        "latency_ms": lat,
        "amplitude": amp,
    }


def test_absent_response_is_zero_pct_not_nan_and_untested_is_nan():
    x = feats([sensory("sural", "L", np.nan, 0.0)])
    assert x["ncs_sural_sensory_amp_pct_lln"] == 0.0
    assert np.isnan(x["ncs_sural_sensory_lat_pct_uln"])
    assert np.isnan(x["ncs_radial_sensory_amp_pct_lln"])
    assert np.isnan(x["ncs_median_motor_amp_pct_lln"])


def test_worse_side_wins_and_side_ratio():
    x = feats([motor("median", "L", "wrist", 3.0, 8.0), motor("median", "R", "wrist", 5.5, 2.0)])
    assert x["ncs_median_motor_amp_pct_lln"] == pytest.approx(50.0)  # 2 / 4 mV
    assert x["ncs_median_motor_lat_pct_uln"] == pytest.approx(125.0)  # 5.5 / 4.4 ms
    assert x["ncs_median_motor_amp_side_ratio"] == pytest.approx(50.0 / 200.0)


def test_block_dispersion_and_slowest_segment():
    x = feats(
        [
            motor("ulnar", "R", "wrist", 3.0, 10.0, dur=5.0),
            motor("ulnar", "R", "below_elbow", 7.0, 9.0, vel=47.0, dur=5.5),
            motor("ulnar", "R", "above_elbow", 9.0, 4.0, vel=33.0, dur=8.0),
        ]
    )
    # the above-elbow row ends the across-elbow segment: focal, left out of the block,
    # dispersion and velocity of the nerve (EFNS/PNS: entrapment sites excluded). The forearm is
    # slowed below its LLN (49 m/s), so this is not an isolated lesion and the nerve is read
    assert x["ncs_ulnar_motor_cb_ratio"] == pytest.approx(0.9)
    assert x["ncs_ulnar_motor_td_ratio"] == pytest.approx(1.1)
    assert x["ncs_ulnar_motor_cv_pct_lln"] == pytest.approx(100 * 47 / 49)
    assert x["ncs_ulnar_motor_dur_pct_uln"] == pytest.approx(100 * 5.0 / 6.7)
    assert x["ncs_ulnar_elbow_cv_drop_pct"] == pytest.approx(100 * (47.0 - 33.0) / 47.0)
    assert x["ncs_ulnar_elbow_cb_ratio"] == pytest.approx(4.0 / 9.0)


def test_an_isolated_ulnar_neuropathy_at_the_elbow_is_not_read_for_the_six_classes():
    x = feats(
        [
            motor("ulnar", "R", "wrist", 3.0, 10.0, dur=5.0),
            motor("ulnar", "R", "below_elbow", 7.0, 9.0, vel=55.0, dur=5.5),
            motor("ulnar", "R", "above_elbow", 9.0, 4.0, vel=33.0, dur=8.0),
        ]
    )
    # forearm within limits, slowing and a block across the elbow: an isolated UNE (AAEM), whose
    # nerve is left out (features.focal.outside_focal_territories): "not measured", not normal
    assert np.isnan(x["ncs_ulnar_motor_amp_pct_lln"])
    assert np.isnan(x["ncs_ulnar_elbow_cv_drop_pct"])
    assert x["cov_motor_sites_count"] == 0


def test_focal_slowing_is_relative_so_uniform_slowing_leaves_it_unchanged():
    # invariant MR1: slowing every segment by the same factor is diffuse slowing, not "less
    # focal"; the drop in m/s would shrink by the factor (14 -> 9.8 m/s), the % drop stays
    def study(f: float) -> pd.Series:
        return feats(
            [
                motor("ulnar", "R", "wrist", 3.0, 10.0, dur=5.0),
                motor("ulnar", "R", "below_elbow", 7.0, 9.0, vel=47.0 * f, dur=5.5),
                motor("ulnar", "R", "above_elbow", 9.0, 4.0, vel=33.0 * f, dur=8.0),
            ]
        )

    full, slowed = study(1.0), study(0.7)
    assert slowed["ncs_ulnar_elbow_cv_drop_pct"] == pytest.approx(
        full["ncs_ulnar_elbow_cv_drop_pct"]
    )
    assert slowed["ncs_ulnar_motor_cv_pct_lln"] < full["ncs_ulnar_motor_cv_pct_lln"]


def test_forearm_block_counts_and_long_segment_is_not_focal():
    x = feats(
        [
            motor("ulnar", "R", "wrist", 3.0, 10.0, dur=5.0),
            motor("ulnar", "R", "above_elbow", 9.0, 4.0, vel=33.0, dur=8.0),
        ]
    )  # wrist to above elbow without a below-elbow site: not an across-elbow segment
    assert x["ncs_ulnar_motor_cb_ratio"] == pytest.approx(0.4)
    assert x["ncs_ulnar_motor_cv_pct_lln"] == pytest.approx(100 * 33 / 49)
    assert np.isnan(x["ncs_ulnar_elbow_cv_drop_pct"])


def test_second_recording_site_is_its_own_response_not_a_proximal_site():
    fdi = motor("ulnar", "R", "wrist", 4.0, 4.6)
    fdi["recording_site"] = "fdi"
    x = feats([motor("ulnar", "R", "wrist", 3.0, 14.3), fdi])
    assert np.isnan(x["ncs_ulnar_motor_cb_ratio"])  # 4.6 / 14.3 is not a conduction block
    assert x["ncs_ulnar_motor_amp_pct_lln"] == pytest.approx(100 * 4.6 / 7.0)  # FDI LLN 7 mV


def test_f_wave_height_adjusted_and_cool_limb_limit():
    x = feats(
        [
            {
                "nerve": "tibial",
                "side": "L",
                "kind": "f_wave",
                "stim_site": "ankle",
                "latency_ms": 61.4,
            }
        ],
        height=190.0,
    )
    assert x["ncs_tibial_f_lat_pct_uln"] == pytest.approx(100 * 61.4 / (56 + 0.27 * 20))
    warm = feats([motor("median", "L", "wrist", 4.84, 8.0)])
    cool = feats([motor("median", "L", "wrist", 4.84, 8.0)], temp=30.0)
    assert warm["ncs_median_motor_lat_pct_uln"] == pytest.approx(110.0)
    assert cool["ncs_median_motor_lat_pct_uln"] == pytest.approx(100.0)


def test_f_latency_within_its_limit_reads_as_the_limit_and_is_shown_as_within():
    # MR9: a normal F-wave (here 47 ms against a 56 ms limit) must not read as more slowed
    # than none; within the limit every latency is the same non-finding
    from features.catalog import describe_value

    def f_wave(latency_ms: float) -> dict:
        return {
            "nerve": "tibial",
            "side": "L",
            "kind": "f_wave",
            "stim_site": "ankle",
            "latency_ms": latency_ms,
        }

    short, normal, long = (feats([f_wave(v)], height=170.0) for v in (40.0, 47.0, 70.0))
    assert short["ncs_tibial_f_lat_pct_uln"] == normal["ncs_tibial_f_lat_pct_uln"] == 100.0
    assert normal["ncs_f_max_lat_pct_uln"] == 100.0
    assert long["ncs_tibial_f_lat_pct_uln"] == pytest.approx(100 * 70.0 / 56.0)
    assert describe_value("ncs_tibial_f_lat_pct_uln", 100.0) == "within the upper limit"
    assert describe_value("ncs_tibial_f_lat_pct_uln", 125.0) == "125 % of the upper limit"


def test_age_lowers_sural_limit_in_features():
    young = feats([sensory("sural", "L", 3.5, 3.0)], age=45)
    old = feats([sensory("sural", "L", 3.5, 3.0)], age=65)
    assert young["ncs_sural_sensory_amp_pct_lln"] == pytest.approx(50.0)
    assert old["ncs_sural_sensory_amp_pct_lln"] == pytest.approx(100.0)


def test_median_ulnar_latency_difference_same_side_only():
    x = feats(
        [
            sensory("median", "L", 4.1, 15),
            sensory("ulnar", "L", 3.0, 20),
            sensory("ulnar", "R", 2.0, 20),
        ]
    )
    # ulnar latency scaled to the median reference (D2 13 cm ULN 3.5 ms vs D5 11 cm ULN 3.1 ms)
    assert x["ncs_median_ulnar_sensory_lat_diff_ms"] == pytest.approx(4.1 - 3.5 * 3.0 / 3.1)
