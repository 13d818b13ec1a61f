"""Tests for features.limits: the reference-limit API."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.limits import LIMIT_COLUMNS, limit_for, muap_limits, ncs_limits
from features.reference import load_muap_norms, load_muscles, load_ncs_limits
from features.vocab import KINDS, MUSCLES, NERVES


def test_every_row_cites_a_known_source():
    text = open("features/reference/SOURCES.md", encoding="utf-8").read()
    for table in (load_ncs_limits(), load_muap_norms().reset_index()):
        assert table["source_id"].notna().all()
        ids = {s for v in table["source_id"] for s in v.split(";")}
        for sid in ids:
            assert f"| {sid} |" in text, sid
    assert "| CR4 |" in text  # muscles.csv source


def test_tables_use_the_vocabulary():
    ncs = load_ncs_limits()
    assert set(ncs["nerve"]) <= set(NERVES)
    assert set(ncs["kind"]) <= set(KINDS)
    assert set(load_muap_norms().index) == set(MUSCLES) == set(load_muscles().index)
    # exactly one default group per nerve/kind
    defaults = ncs[ncs["is_default"] == 1].groupby(["nerve", "kind"])["recording_site"].nunique()
    assert (defaults == 1).all()


def test_warm_adult_limits_match_preston_shapiro():
    med = limit_for("median", "motor", age_years=40)
    assert (med.latency_uln_ms, med.amplitude_lln, med.amplitude_unit) == (4.4, 4.0, "mV")
    assert med.velocity_lln_m_s == 49
    assert med.f_latency_uln_ms == 31
    assert med.distal_duration_uln_ms == 6.6
    sural = limit_for("sural", "sensory", age_years=30)
    assert (sural.latency_uln_ms, sural.amplitude_lln, sural.amplitude_unit) == (4.4, 6.0, "uV")


@pytest.mark.parametrize(("age", "lln"), [(50, 6.0), (65, 3.0), (72, 1.0), (80, 0.0)])
def test_age_lowers_sural_lln_tavee(age, lln):
    assert limit_for("sural", "sensory", age_years=age).amplitude_lln == pytest.approx(lln)


def test_ulnar_snap_lln_after_60():
    assert limit_for("ulnar", "sensory", age_years=59).amplitude_lln == 17
    assert limit_for("ulnar", "sensory", age_years=61).amplitude_lln == 10


def test_cool_limb_raises_latency_uln_and_lowers_cv_lln():
    warm = limit_for("median", "motor", age_years=40, limb_temp_c=33)
    cool = limit_for("median", "motor", age_years=40, limb_temp_c=30)  # 2 °C below 32
    assert cool.latency_uln_ms == pytest.approx(4.4 * 1.10)
    assert cool.velocity_lln_m_s == pytest.approx(49 - 3.0)
    assert warm.latency_uln_ms == 4.4
    # a foot at 31 °C is warm (threshold 30 °C)
    assert limit_for("tibial", "motor", age_years=40, limb_temp_c=31).latency_uln_ms == 5.8
    # missing temperature = assumed warm
    assert limit_for("median", "motor", age_years=40, limb_temp_c=None).latency_uln_ms == 4.4


def test_height_raises_f_uln_and_age_lowers_cv():
    assert limit_for(
        "tibial", "f_wave", age_years=40, height_cm=190
    ).latency_uln_ms == pytest.approx(56 + 0.27 * 20)
    assert limit_for("median", "motor", age_years=80).velocity_lln_m_s == pytest.approx(
        49 - 1.0 - 3.0
    )


def test_unknown_site_falls_back_to_default_and_unknown_kind_is_nan():
    assert limit_for("ulnar", "motor", age_years=40, recording_site="FDI").amplitude_lln == 7.0
    assert (
        limit_for("ulnar", "motor", age_years=40, recording_site="somewhere").amplitude_lln == 6.0
    )
    radial_f = limit_for("radial", "f_wave", age_years=40)
    assert math.isnan(radial_f.latency_uln_ms)
    with pytest.raises(ValueError, match="'nerve' parameter"):
        limit_for("sciatic", "motor", age_years=40)


def test_ncs_limits_vectorised_matches_scalar_and_keeps_index():
    studies = pd.DataFrame(
        {
            "study_id": ["a", "b"],
            "age_years": [72.0, 40.0],
            "height_cm": [np.nan, 190.0],
            "limb_temp_c": [28.0, np.nan],
        }
    )
    ncs = pd.DataFrame(
        {
            "study_id": ["b", "a", "a", "zz"],
            "nerve": ["tibial", "sural", "median", "median"],
            "kind": ["f_wave", "sensory", "motor", "motor"],
            "recording_site": ["ah", None, "apb", "apb"],
        },
        index=[10, 11, 12, 13],
    )
    out = ncs_limits(ncs, studies)
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out.columns) == list(LIMIT_COLUMNS)
    assert out.loc[10, "latency_uln_ms"] == pytest.approx(56 + 0.27 * 20)
    assert out.loc[11, "amplitude_lln"] == pytest.approx(
        limit_for("sural", "sensory", age_years=72, limb_temp_c=28).amplitude_lln
    )
    assert out.loc[12, "latency_uln_ms"] == pytest.approx(4.4 * 1.2)  # 4 °C below 32
    # unknown study: covariates unknown -> age treated as 40 reference, still a limit
    assert out.loc[13, "amplitude_lln"] == 4.0


def test_cooling_corrects_latency_and_velocity_limits_but_not_amplitude_limits():
    # T1.5: the SNAP amplitude effect of cooling is inconsistent (rise to ~26 °C, fall below,
    # or none); a raised limit read a cool limb's SNAP as sensory loss (MR10)
    warm = limit_for("median", "sensory", age_years=40, limb_temp_c=33)
    cold = limit_for("median", "sensory", age_years=40, limb_temp_c=24)
    assert cold.amplitude_lln == warm.amplitude_lln
    assert cold.latency_uln_ms == pytest.approx(warm.latency_uln_ms * (1 + 0.05 * 8))
    assert cold.velocity_lln_m_s < warm.velocity_lln_m_s


def test_muap_limits_age_adjusted_duration():
    studies = pd.DataFrame({"study_id": ["a"], "age_years": [65.0]})
    emg = pd.DataFrame({"study_id": ["a", "a"], "muscle": ["deltoid", "unknown_muscle"]})
    out = muap_limits(emg, studies)
    ref = 11.4 * (1 + 0.007 * 40)
    assert out.loc[0, "duration_ref_ms"] == pytest.approx(ref)
    assert out.loc[0, "duration_uln_ms"] == pytest.approx(ref * 1.2)
    assert out.loc[0, "duration_lln_ms"] == pytest.approx(ref * 0.8)
    assert out.loc[0, "polyphasic_uln_pct"] == 35
    assert out.loc[1].isna().all()


def test_site_limits_compare_proximal_sites_with_the_drop_limit() -> None:
    import numpy as np
    import pandas as pd

    from features.limits import ncs_limits, site_limits

    ncs = pd.DataFrame(
        {
            "study_id": ["s"] * 5,
            "nerve": ["median", "median", "peroneal", "peroneal", "peroneal"],
            "side": ["L"] * 5,
            "kind": ["motor"] * 5,
            "stim_site": ["wrist", "elbow", "ankle", "fibular_head", "popliteal_fossa"],
            "recording_site": ["apb", "apb", "edb", "edb", "edb"],
            "amplitude": [4.2, 3.7, 5.0, 4.0, 2.0],
        }
    )
    studies = pd.DataFrame({"study_id": ["s"], "age_years": [50.0]})
    lim = site_limits(ncs, ncs_limits(ncs, studies))
    assert lim["is_distal"].tolist() == [True, False, True, False, False]
    assert lim["amplitude_lln"].iloc[0] == 4.0  # the distal LLN on the distal row only
    assert lim["amplitude_lln"].iloc[1:2].isna().all()
    assert lim["amplitude_drop_pct"].round(1).tolist()[1:2] == [11.9]
    assert lim["amplitude_drop_pct"].iloc[3:].round(0).tolist() == [20.0, 50.0]  # vs previous site
    assert lim["amplitude_drop_uln_pct"].tolist()[1] == 30.0
    assert lim["amplitude_drop_uln_pct"].tolist()[3:] == [25.0, 25.0]
    assert np.isnan(lim["amplitude_drop_uln_pct"].iloc[0])
