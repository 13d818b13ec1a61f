"""Band tests of the simulated H-reflex and RNS rows (simulator/special_ncs.py).

Bounds cite ``clinical-reference.md`` (copied here): T1.3 H reflex — Braddom & Johnson
nomogram †, §7.1 "30 (1.8) at 170 cm", side-to-side latency ULN 1.5 ms (1.8 ms elderly),
amplitude ratio mean 0.74 ± 0.17 (Jankus 1994), 92 % bilaterally recordable at 60-88 y (Falco
1994); §7.4 "S1: H latency +1.5-3 ms or absent in 60 % [sim]". RNS: a decrement above 10 %
points to a neuromuscular-junction disorder (data contract); the myasthenia share (80 %) and
the ALS / myopathy decrements are † (module docstring).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundle.load import load_bundle
from bundle.writers import write_bundle
from features.limits_special import h_latency_expected_ms, leg_length_cm
from simulator.cohort import simulate_cohort, simulate_cohort_with_physiology
from simulator.parameters import OutOfScopeParams, SimulatorParams


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, pd.DataFrame, object]:
    oos = OutOfScopeParams(share=0.1, weights={"myasthenia": 1.0})
    bundle, truth = simulate_cohort_with_physiology(
        6000, 20261203, SimulatorParams(label_noise=0.0, out_of_scope=oos)
    )
    studies = bundle.studies.set_index("study_id")
    t = truth.set_index("study_id")
    info = studies[["age_years", "height_cm", "diagnosis"]].join(
        t[["condition", "root_levels", "index_side"]]
    )
    return bundle.ncs, info, bundle


def _h_wide(ncs: pd.DataFrame) -> pd.DataFrame:
    h = ncs[ncs["kind"] == "h_reflex"]
    return h.pivot_table(
        index="study_id", columns="side", values=["latency_ms", "amplitude"], aggfunc="first"
    )


def test_special_rows_pass_validation_with_no_problem(cohort, tmp_path) -> None:
    ncs, _, bundle = cohort
    assert {"h_reflex", "rns"} <= set(ncs["kind"])
    _, report = load_bundle(write_bundle(bundle, tmp_path / "b", "parquet"))
    assert report.ok
    assert not report.problems, report.format()


def test_healthy_h_reflex_follows_the_nomogram(cohort) -> None:
    ncs, info, _ = cohort
    w = _h_wide(ncs)
    ok = info.loc[w.index]
    sel = (ok["diagnosis"] == "normal") & ok["height_cm"].notna() & (ok["age_years"] < 60)
    w, ok = w[sel.to_numpy()], ok[sel]
    exp = h_latency_expected_ms(ok["age_years"], leg_length_cm(ok["height_cm"].to_numpy()))
    resid = (w["latency_ms"]["L"] - exp).dropna()
    assert len(resid) > 60
    assert -0.7 <= resid.mean() <= 1.0  # lab latency offsets only
    assert 1.4 <= resid.std() <= 2.3  # §7.1: SD 1.8 ms
    both = w.dropna()
    delay = (both["latency_ms"]["L"] - both["latency_ms"]["R"]).abs()
    assert (delay > 1.5).mean() <= 0.04  # T1.3: ULN 1.5 ms
    a = both["amplitude"]
    ratio = np.minimum(a["L"], a["R"]) / np.maximum(a["L"], a["R"])
    assert 0.66 <= ratio.mean() <= 0.82  # Jankus 1994: 0.74 ± 0.17
    assert (ratio < 0.4).mean() <= 0.06


def test_bilateral_absence_in_healthy_elderly_only(cohort) -> None:
    ncs, info, _ = cohort
    w = _h_wide(ncs).dropna(subset=[("amplitude", "L"), ("amplitude", "R")])
    ok = info.loc[w.index]
    both_absent = ((w["amplitude"]["L"] == 0) & (w["amplitude"]["R"] == 0)).to_numpy()
    normal = (ok["diagnosis"] == "normal").to_numpy()
    old = (ok["age_years"] >= 60).to_numpy()
    assert 0.02 <= both_absent[normal & old].mean() <= 0.16  # Falco 1994: 8 % not bilateral
    assert both_absent[normal & ~old].mean() <= 0.02


def test_s1_radiculopathy_h_reflex_abnormal_on_the_affected_side(cohort) -> None:
    ncs, info, _ = cohort
    w = _h_wide(ncs).dropna(subset=[("amplitude", "L"), ("amplitude", "R")])
    ok = info.loc[w.index]
    radic = (ok["diagnosis"] == "radiculopathy").to_numpy()
    s1 = ok["root_levels"].str.split("+").map(lambda r: "S1" in r).to_numpy() & radic
    aff = np.where(ok["index_side"] == "L", "L", "R")
    other = np.where(aff == "L", "R", "L")
    amp, lat = w["amplitude"].to_numpy(), w["latency_ms"].to_numpy()
    col = {"L": 0, "R": 1}
    i = np.arange(len(w))
    a_aff, a_oth = amp[i, [col[s] for s in aff]], amp[i, [col[s] for s in other]]
    l_aff, l_oth = lat[i, [col[s] for s in aff]], lat[i, [col[s] for s in other]]
    abnormal = ((a_aff == 0) & (a_oth > 0)) | (l_aff - l_oth > 1.5)
    assert s1.sum() >= 40
    assert 0.42 <= abnormal[s1].mean() <= 0.78  # §7.4: 60 %
    assert abnormal[radic & ~s1].mean() <= 0.08  # L5 and cervical roots: side noise only


def test_polyneuropathy_h_reflex_absent_or_prolonged_on_both_sides(cohort) -> None:
    ncs, info, _ = cohort
    w = _h_wide(ncs).dropna(subset=[("amplitude", "L"), ("amplitude", "R")])
    ok = info.loc[w.index]
    exp = h_latency_expected_ms(ok["age_years"], leg_length_cm(ok["height_cm"].to_numpy()))
    uln = exp + 3.6
    off = lambda s: (w["amplitude"][s] == 0) | (w["latency_ms"][s] > uln)  # noqa: E731
    both = (off("L") & off("R")).to_numpy()
    dx = ok["diagnosis"].to_numpy()
    assert (dx == "demyelinating_pn").sum() >= 20
    assert both[dx == "demyelinating_pn"].mean() >= 0.5  # † demyelinating: most
    assert both[dx == "axonal_pn"].mean() >= 0.25  # † afferent loss
    assert both[dx == "normal"].mean() <= 0.1


def test_rns_decrement_above_10_pct_in_myasthenia_only_mild_elsewhere(cohort) -> None:
    ncs, info, _ = cohort
    r = ncs[ncs["kind"] == "rns"]
    worst = r.groupby("study_id")["decrement_pct"].max()
    ok = info.loc[worst.index]
    mg = (ok["condition"] == "myasthenia").to_numpy()
    dx = ok["diagnosis"].to_numpy()
    high = (worst > 10).to_numpy()
    assert mg.sum() >= 150
    assert 0.68 <= high[mg].mean() <= 0.92  # † 80 % of generalised myasthenia
    assert high[~mg & (dx != "als")].mean() <= 0.01  # normal: below 10 % with noise
    assert 0.02 <= high[~mg & (dx == "als")].mean() <= 0.2  # † mild decrement in ALS
    assert r["recording_site"].isin(["adm", "apb"]).all()


def test_without_the_optional_kinds_the_cohort_is_unchanged() -> None:
    a = simulate_cohort(400, 5)
    b = simulate_cohort(400, 5, SimulatorParams(special_ncs=0.0))
    assert not b.ncs["kind"].isin(["h_reflex", "rns"]).any()
    core = a.ncs[~a.ncs["kind"].isin(["h_reflex", "rns"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(core, b.ncs)
    pd.testing.assert_frame_equal(a.emg, b.emg)
    pd.testing.assert_frame_equal(a.studies, b.studies)
