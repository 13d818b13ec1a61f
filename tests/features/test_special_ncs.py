"""The H-reflex and RNS features: values, NaN = not measured, and the S1 side function."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundle.tables import Bundle
from features.build import build_features
from features.catalog import FEATURES, describe_value
from features.limits_special import h_reflex_limits
from features.special_ncs import (
    SPECIAL_NCS_COLUMNS,
    h_reflex_sides,
    h_reflex_supports_s1,
    special_ncs_features,
)
from tests.features.test_build import example_bundle, make_bundle

ULN_45 = h_reflex_limits(45, 170).latency_uln_ms  # 34.0 ms


def h_row(side: str, lat: float | None, amp: float | None, sid: str = "s") -> dict:
    return {
        "study_id": sid,
        "nerve": "tibial",
        "side": side,
        "kind": "h_reflex",
        "stim_site": "popliteal_fossa",
        "recording_site": "soleus",
        "latency_ms": np.nan if lat is None else lat,
        "amplitude": np.nan if amp is None else amp,
    }


def rns_row(dec: float, sid: str = "s") -> dict:
    return {
        "study_id": sid,
        "nerve": "ulnar",
        "side": "R",
        "kind": "rns",
        "stim_site": "wrist",
        "recording_site": "adm",
        "amplitude": 9.0,
        "decrement_pct": dec,
    }


def feats(rows: list[dict], age: float = 45.0) -> dict[str, float]:
    ncs = pd.DataFrame(rows)
    out = special_ncs_features(ncs, np.zeros(len(ncs), int), np.array([age]), np.array([170.0]))
    return {k: float(v[0]) for k, v in out.items()}


def s1(rows: list[dict], age: float = 45.0) -> list[float]:
    ncs = pd.DataFrame(rows)
    sides = h_reflex_sides(ncs, np.zeros(len(ncs), int), np.array([age]), np.array([170.0]))
    return h_reflex_supports_s1(sides, np.array([age]))[0].tolist()


def test_normal_symmetric_h_reflex() -> None:
    f = feats([h_row("L", 30.0, 2.0), h_row("R", 30.8, 1.8)])
    assert f["h_reflex_latency_excess_ms"] == pytest.approx(30.8 - ULN_45)
    assert f["h_reflex_side_delay_ms"] == pytest.approx(0.8)
    assert f["h_reflex_amp_side_ratio"] == pytest.approx(0.9)
    assert (f["h_reflex_absent"], f["h_reflex_asymmetric"], f["h_reflex_abnormal"]) == (0, 0, 0)
    assert s1([h_row("L", 30.0, 2.0), h_row("R", 30.8, 1.8)]) == [0.0, 0.0]


def test_side_delay_beyond_1_5_ms_is_asymmetric_and_supports_s1_on_the_later_side() -> None:
    rows = [h_row("L", 30.0, 2.0), h_row("R", 31.7, 1.8)]
    f = feats(rows)
    assert f["h_reflex_side_delay_ms"] == pytest.approx(1.7)
    assert f["h_reflex_asymmetric"] == 1.0
    assert f["h_reflex_abnormal"] == 1.0
    assert s1(rows) == [0.0, 1.0]
    # from 60 y the limit is 1.8 ms (Falco 1994): the same 1.7 ms is within limits
    assert feats(rows, age=65)["h_reflex_asymmetric"] == 0.0
    assert s1(rows, age=65) == [0.0, 0.0]


def test_one_sided_absence_supports_s1_on_that_side_at_any_age() -> None:
    rows = [h_row("L", None, 0.0), h_row("R", 30.0, 2.0)]
    for age in (45.0, 75.0):
        f = feats(rows, age)
        assert (f["h_reflex_absent"], f["h_reflex_asymmetric"]) == (1.0, 1.0)
        assert f["h_reflex_amp_side_ratio"] == 0.0
        assert s1(rows, age) == [1.0, 0.0]


def test_bilateral_absence_is_abnormal_only_before_60() -> None:
    rows = [h_row("L", None, 0.0), h_row("R", None, 0.0)]
    young, old = feats(rows, 45), feats(rows, 70)
    assert young["h_reflex_abnormal"] == 1.0
    assert old["h_reflex_abnormal"] == 0.0  # Falco 1994: 92 % bilaterally recordable
    assert young["h_reflex_asymmetric"] == old["h_reflex_asymmetric"] == 0.0
    assert np.isnan(young["h_reflex_latency_excess_ms"])
    assert s1(rows, 45) == [1.0, 1.0]
    assert s1(rows, 70) == [0.0, 0.0]


def test_prolonged_beyond_nomogram_and_small_amplitude() -> None:
    rows = [h_row("L", ULN_45 + 0.5, 2.0), h_row("R", ULN_45 + 0.2, 0.6)]
    f = feats(rows)
    assert f["h_reflex_latency_excess_ms"] == pytest.approx(0.5)
    assert f["h_reflex_amp_side_ratio"] == pytest.approx(0.3)
    assert f["h_reflex_abnormal"] == 1.0
    assert s1(rows) == [1.0, 1.0]  # L prolonged, R prolonged and small (< 0.4 x L)


def test_only_one_side_recorded_leaves_side_features_not_measured() -> None:
    rows = [h_row("L", 30.0, 2.0), h_row("R", None, None)]  # the empty row says nothing
    f = feats(rows)
    assert np.isnan(f["h_reflex_side_delay_ms"])
    assert np.isnan(f["h_reflex_asymmetric"])
    assert f["h_reflex_abnormal"] == 0.0
    out = s1(rows)
    assert out[0] == 0.0
    assert np.isnan(out[1])


def test_rns_decrement_features() -> None:
    f = feats([rns_row(4.0), rns_row(18.0)])
    assert f["rns_max_decrement_pct"] == 18.0
    assert f["rns_decrement_abnormal"] == 1.0
    assert feats([rns_row(9.5)])["rns_decrement_abnormal"] == 0.0


def test_without_h_reflex_or_rns_rows_every_special_feature_is_not_measured() -> None:
    X = build_features(example_bundle())
    assert X[list(SPECIAL_NCS_COLUMNS)].isna().all().all()
    assert describe_value("h_reflex_absent", np.nan) == "not measured"


def test_special_rows_change_no_other_feature_and_do_not_touch_the_input() -> None:
    base = example_bundle()
    sid = base.studies["study_id"].tolist()
    extra = make_bundle(
        [], [h_row("R", None, 0.0, sid[0]), h_row("L", 31.0, 2.0, sid[0]), rns_row(25, sid[1])], []
    ).ncs
    ncs = pd.concat([base.ncs, extra], ignore_index=True)
    before = ncs.copy()
    X0 = build_features(base)
    X1 = build_features(Bundle(base.studies, ncs, base.emg))
    pd.testing.assert_frame_equal(ncs, before)
    others = [c for c in X0.columns if c not in SPECIAL_NCS_COLUMNS]
    pd.testing.assert_frame_equal(X0[others], X1[others])
    assert X1.loc[sid[0], "h_reflex_asymmetric"] == 1.0
    assert np.isnan(X1.loc[sid[1], "h_reflex_absent"])
    assert X1.loc[sid[1], "rns_decrement_abnormal"] == 1.0
    assert np.isnan(X1.loc[sid[0], "rns_max_decrement_pct"])


def test_catalog_entries() -> None:
    for c in SPECIAL_NCS_COLUMNS:
        assert FEATURES[c].group == "special_ncs"
    assert describe_value("rns_decrement_abnormal", 1.0) == "yes"
    assert describe_value("rns_max_decrement_pct", 18.0) == "18 %"
