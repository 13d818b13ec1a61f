"""Tests for features.criteria: the crit_* columns on hand-made studies."""

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


def crit(ncs=(), emg=(), age=50.0):
    b = Bundle(
        _frame([{"study_id": "s", "age_years": age}], STUDY_COLUMNS),
        _frame([{"study_id": "s", **r} for r in ncs], NCS_COLUMNS),
        _frame([{"study_id": "s", **r} for r in emg], EMG_COLUMNS),
    )
    return build_features(b).loc["s"]


LMN = {"fibs": 2, "psw": 1, "muap_duration_grade": "increased", "recruitment": "reduced"}
NORMAL = {"fibs": 0, "psw": 0, "muap_duration_grade": "normal", "recruitment": "normal"}


def test_awaji_region_count_on_als_like_study():
    emg = [
        {"muscle": "tongue", "side": "M", **NORMAL},  # bulbar spared
        {"muscle": "first_dorsal_interosseous", "side": "R", **LMN},  # ulnar C8
        {"muscle": "biceps", "side": "R", **LMN},  # musculocutaneous C5/C6
        {"muscle": "thoracic_paraspinal", "side": "R", "fibs": 2},  # active only, no MUAP data
        {"muscle": "tibialis_anterior", "side": "L", **LMN},  # deep peroneal L5
        {
            "muscle": "medial_gastrocnemius",
            "side": "L",
            "fascics": 2,
            "fibs": 0,
            "muap_duration_grade": "increased",
            "recruitment": "reduced",
        },  # tibial S1, fasc + chronic (no root shared with TA L4/L5)
    ]
    x = crit(emg=emg)
    assert x["crit_lmn_region_count"] == 3
    assert x["crit_lmn_regions_tested_count"] == 4
    assert x["crit_regions_examined_count"] == 4
    assert x["crit_lmn_region_frac"] == pytest.approx(0.75)


def test_one_root_never_makes_a_region():
    c8 = [
        {"muscle": m, "side": "R", **LMN}
        for m in ("first_dorsal_interosseous", "abductor_pollicis_brevis", "extensor_indicis")
    ]  # ulnar, median, PIN: different nerves and main roots, but all share C8
    assert crit(emg=c8)["crit_lmn_region_count"] == 0
    s1 = [
        {"muscle": m, "side": "L", **LMN}
        for m in ("medial_gastrocnemius", "gluteus_maximus", "abductor_hallucis")
    ]  # S1 via tibial, inferior gluteal, medial plantar
    assert crit(emg=s1)["crit_lmn_region_count"] == 0
    bilateral = [{"muscle": "first_dorsal_interosseous", "side": s, **LMN} for s in "LR"] + [
        {"muscle": "abductor_pollicis_brevis", "side": "L", **LMN}
    ]  # one root cannot explain both sides
    assert crit(emg=bilateral)["crit_lmn_region_count"] == 1


def test_paraspinal_is_never_the_different_root():
    emg = [
        {"muscle": "tibialis_anterior", "side": "L", **LMN},
        {"muscle": "lumbar_paraspinal", "side": "L", "fibs": 2},
    ]
    x = crit(emg=emg)
    assert x["crit_lmn_region_count"] == 0
    assert x["crit_regions_examined_count"] == 1


def test_one_limb_region_needs_two_nerves_and_two_roots():
    same_nerve = [
        {"muscle": "tibialis_anterior", "side": "L", **LMN},
        {"muscle": "extensor_hallucis_longus", "side": "L", **LMN},
    ]  # both deep peroneal
    assert crit(emg=same_nerve)["crit_lmn_region_count"] == 0
    same_root = [
        {"muscle": "tibialis_anterior", "side": "L", **LMN},
        {"muscle": "gluteus_medius", "side": "L", **LMN},
    ]  # both L5, different nerves
    assert crit(emg=same_root)["crit_lmn_region_count"] == 0


def test_single_root_frac_for_l5_pattern():
    emg = [
        {"muscle": "tibialis_anterior", "side": "L", **LMN},
        {"muscle": "tibialis_posterior", "side": "L", **LMN},
        {"muscle": "gluteus_medius", "side": "L", "fibs": 1, "recruitment": "normal"},
        {"muscle": "peroneus_longus", "side": "L", "fibs": 1},
        {"muscle": "medial_gastrocnemius", "side": "L", **NORMAL},
        {"muscle": "vastus_lateralis", "side": "L", **NORMAL},
        {"muscle": "lumbar_paraspinal", "side": "L", "fibs": 2},
    ]
    x = crit(emg=emg)
    assert x["crit_single_root_frac"] == 1.0
    assert x["crit_single_root_nerves_count"] == 4
    assert x["crit_paraspinal_active"] == 1.0
    assert x["crit_active_denervation_muscle_count"] == 5
    assert x["crit_outside_root_muscle_count"] == 0  # L5 explains all four limb muscles
    # the same lesion plus the mirror-image leg: the right-sided muscles lie beyond one root
    mirror = [{**row, "side": "R"} for row in emg if row["muscle"] != "lumbar_paraspinal"]
    both = crit(emg=emg + mirror)
    assert both["crit_outside_root_muscle_count"] == 4
    assert both["crit_single_root_frac"] == 0.5


def test_single_root_nan_with_fewer_than_two_abnormal():
    x = crit(emg=[{"muscle": "tibialis_anterior", "side": "L", **LMN}])
    assert np.isnan(x["crit_single_root_frac"])
    # needle EMG without a paraspinal muscle: no paraspinal activity found (0), not NaN
    assert x["crit_paraspinal_active"] == 0.0


def motor(nerve, site, lat, amp, vel=np.nan):
    return {
        "nerve": nerve,
        "side": "R",
        "kind": "motor",
        "stim_site": site,
        "latency_ms": lat,
        "amplitude": amp,
        "velocity_m_s": vel,
    }


def test_conduction_block_of_60_pct_counts_as_demyelinating():
    ncs = [
        motor("ulnar", "wrist", 3.0, 10.0),
        motor("ulnar", "above_elbow", 8.0, 4.0, 55.0),
        motor("peroneal", "ankle", 4.5, 5.0),
        motor("peroneal", "fibular_head", 11.0, 4.8, 46.0),
    ]
    x = crit(ncs=ncs)
    assert x["crit_cb_nerve_count"] == 1
    assert x["crit_demyel_nerve_count"] == 1
    assert x["crit_motor_tested_count"] == 2


def test_tibial_needs_50_pct_drop_and_low_distal_cmap_excludes_block():
    ncs = [motor("tibial", "ankle", 4.5, 10.0), motor("tibial", "popliteal_fossa", 12.0, 6.0, 45.0)]
    assert crit(ncs=ncs)["crit_cb_nerve_count"] == 0  # 40 % drop in the tibial nerve
    ncs = [motor("median", "wrist", 3.5, 0.6), motor("median", "elbow", 8.0, 0.2, 55.0)]
    assert crit(ncs=ncs)["crit_cb_nerve_count"] == 0  # distal CMAP 15 % of LLN


def test_slow_cv_and_long_dml_and_cts_exclusion():
    slow = crit(
        ncs=[
            motor("peroneal", "ankle", 5.0, 4.0),
            motor("peroneal", "fibular_head", 14.0, 3.8, 25.0),
        ]
    )
    assert slow["crit_demyel_nerve_count"] == 1
    # median DML 7 ms (159 % ULN) with a CTS pattern is not counted
    cts = crit(ncs=[motor("median", "wrist", 7.0, 6.0), motor("ulnar", "wrist", 3.0, 9.0)])
    assert cts["crit_cts_pattern"] == 1
    assert cts["crit_demyel_nerve_count"] == 0


def test_sensory_counts_srar_and_length_dependence():
    def s(nerve, side, amp):
        return {
            "nerve": nerve,
            "side": side,
            "kind": "sensory",
            "stim_site": "x",
            "latency_ms": 3.0,
            "amplitude": amp,
        }

    x = crit(ncs=[s("sural", "R", 3.0), s("radial", "R", 25.0), s("median", "R", 30.0)], age=50)
    assert x["crit_sensory_abnormal_count"] == 1
    assert x["crit_sensory_tested_count"] == 3
    assert x["crit_srar"] == pytest.approx(0.12)
    assert x["crit_srar_pct_lln"] == pytest.approx(100 * 0.12 / 0.40)
    assert x["crit_length_dependent"] == 1
    old = crit(ncs=[s("sural", "R", 3.0), s("radial", "R", 25.0)], age=79)
    assert old["crit_srar_pct_lln"] == pytest.approx(100 * 0.12 / 0.08)  # normal at 79 y
    y = crit(ncs=[s("sural", "R", 15.0), s("radial", "R", 25.0)], age=50)
    assert y["crit_length_dependent"] == 0
    # a low ratio from two normal SNAPs is not sensory loss (MR9: a normal radial added beside a
    # normal sural must not make the study look more neuropathic than "radial not measured")
    w = crit(ncs=[s("sural", "R", 8.0), s("radial", "R", 40.0)], age=50)
    assert w["crit_srar"] == pytest.approx(0.2)
    assert w["crit_length_dependent"] == 0
    assert crit(ncs=[s("sural", "R", 8.0)], age=50)["crit_length_dependent"] == 0
    z = crit(emg=[{"muscle": "biceps", "side": "L", **NORMAL}])
    assert np.isnan(z["crit_length_dependent"])
    assert np.isnan(z["crit_sensory_abnormal_count"])
    assert z["crit_myopathic_muscle_frac"] == 0


def test_single_root_nerves_do_not_depend_on_the_side_order():
    left = [
        {"muscle": "tibialis_anterior", "side": "L", **LMN},
        {"muscle": "tibialis_posterior", "side": "L", **LMN},
    ]  # L5 via deep peroneal and tibial
    right = [
        {"muscle": "tibialis_anterior", "side": "R", **LMN},
        {"muscle": "extensor_hallucis_longus", "side": "R", **LMN},
    ]  # L5 via deep peroneal only
    swapped = [{**m, "side": "R" if m["side"] == "L" else "L"} for m in left + right]
    a, b = crit(emg=left + right), crit(emg=swapped)
    assert a["crit_single_root_nerves_count"] == b["crit_single_root_nerves_count"] == 2
