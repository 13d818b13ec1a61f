"""Report rows of the optional kinds: H-reflex latency with its nomogram limit, the H-reflex
side-to-side comparison with its limits, and the RNS decrement with its limit (app/tables.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from app.findings import ncs_flags
from app.tables import ncs_tables, side_to_side
from features.limits import ncs_limits
from features.limits_special import h_reflex_limits, special_ncs_limits


def _h(side: str, lat: float | None, amp: float) -> dict[str, Any]:
    return {"study_id": "s", "nerve": "tibial", "side": side, "kind": "h_reflex",
            "stim_site": "popliteal_fossa", "recording_site": "soleus",
            "latency_ms": np.nan if lat is None else lat, "amplitude": amp}  # fmt: skip


def _rns(dec: float) -> dict[str, Any]:
    return {"study_id": "s", "nerve": "ulnar", "side": "R", "kind": "rns", "stim_site": "wrist",
            "recording_site": "adm", "amplitude": 9.0, "decrement_pct": dec}  # fmt: skip


def _flags(rows: list[dict[str, Any]], age: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    ncs = pd.DataFrame(rows)
    studies = pd.DataFrame({"study_id": ["s"], "age_years": [age], "height_cm": [170.0]})
    lim = pd.concat(
        [ncs_limits(ncs, studies).reset_index(drop=True), special_ncs_limits(ncs, studies)],
        axis=1,
    )
    return ncs, ncs_flags(ncs, lim)


def test_h_latency_is_followed_by_its_nomogram_limit_and_flagged_above_it() -> None:
    uln = h_reflex_limits(45, 170).latency_uln_ms  # 34.05 ms
    ncs, flags = _flags([_h("L", 30.0, 2.0), _h("R", 35.0, 1.6)], 45)
    (h,) = ncs_tables(ncs, flags)
    assert h.title == "H reflex"
    assert [c.label for c in h.columns[:2]] == ["H latency ms", "Amplitude"]
    left, right = h.rows
    assert left.cells["latency"].limit == right.cells["latency"].limit == f"≤ {uln:.1f} ms"
    assert not left.cells["latency"].abnormal
    assert right.cells["latency"].abnormal
    assert left.cells["amplitude"].text == "2 mV"  # mV, not µV


def test_h_side_to_side_rows_carry_their_limits() -> None:
    ncs, flags = _flags([_h("L", 30.0, 2.0), _h("R", 31.7, 0.7)], 45)
    comp = {c.what: c for c in side_to_side(ncs, flags)}
    lat = comp["tibial H reflex latency"]
    assert (lat.difference, lat.limit, lat.abnormal) == ("1.7 ms", "≤ 1.5 ms", True)
    amp = comp["tibial H reflex amplitude"]
    assert (amp.limit, amp.abnormal) == ("≤ 60 %", True)  # ratio 0.35 < 0.4 (Jankus 1994)
    old = {c.what: c for c in side_to_side(*_flags([_h("L", 30.0, 2.0), _h("R", 31.7, 1.8)], 65))}
    assert old["tibial H reflex latency"].limit == "≤ 1.8 ms"  # Falco 1994, elderly
    assert not old["tibial H reflex latency"].abnormal
    assert not old["tibial H reflex amplitude"].abnormal


def test_absent_h_reflex_reads_no_response_and_the_side_difference_is_abnormal() -> None:
    ncs, flags = _flags([_h("L", None, 0.0), _h("R", 30.0, 2.0)], 45)
    (h,) = ncs_tables(ncs, flags)
    assert h.rows[0].cells["amplitude"].text == "0 (no response)"
    assert h.rows[0].cells["latency"].text == "–"  # not measured, never a number
    comp = {c.what: c for c in side_to_side(ncs, flags)}
    assert comp["tibial H reflex amplitude"].abnormal
    assert "tibial H reflex latency" not in comp


def test_rns_decrement_with_its_limit() -> None:
    ncs, flags = _flags([_rns(25.0), _rns(8.0)], 50)
    (rns,) = ncs_tables(ncs, flags)
    high, low = rns.rows
    assert [c.key for c in rns.columns] == ["amplitude", "decrement"]
    assert (high.cells["decrement"].text, high.cells["decrement"].limit) == ("25 %", "≤ 10 %")
    assert high.cells["decrement"].abnormal
    assert not low.cells["decrement"].abnormal


def test_study_page_prints_the_rows_and_the_nmj_headline(
    client: Any, example_study: dict[str, Any]
) -> None:
    example_study["ncs"] += [
        {"nerve": "tibial", "side": "L", "kind": "h_reflex", "stim_site": "popliteal_fossa",
         "recording_site": "soleus", "latency_ms": 31.0, "amplitude": 2.0},
        {"nerve": "tibial", "side": "R", "kind": "h_reflex", "stim_site": "popliteal_fossa",
         "recording_site": "soleus", "latency_ms": 33.4, "amplitude": 1.8},
        {"nerve": "ulnar", "side": "R", "kind": "rns", "stim_site": "wrist",
         "recording_site": "adm", "amplitude": 7.8, "decrement_pct": 32},
    ]  # fmt: skip
    r = client.post(
        "/upload", files={"files": ("s.json", json.dumps(example_study), "application/json")}
    )
    assert r.status_code == 200, r.text
    url = re.search(r'href="(/study/u\d+/demo-als-001)"', r.text).group(1)
    html = client.get(url).text
    uln = h_reflex_limits(61, 178).latency_uln_ms
    h_table = re.search(r'id="ncs-h_reflex".*?</table>', html, flags=re.S).group(0)
    assert h_table.count(f"≤ {uln:.1f} ms") == 2  # each side's latency, then its limit
    assert "31 ms" not in h_table  # values in the value column, limits in their own column
    rns_table = re.search(r'id="ncs-rns".*?</table>', html, flags=re.S).group(0)
    assert '<td class="num abn">32 %</td><td class="num lim-col">≤ 10 %</td>' in rns_table
    side = re.search(r'id="side-table".*?</table>', html, flags=re.S).group(0)
    assert re.search(r"tibial H reflex latency.*?2\.4 ms</td><td[^>]*>≤ 1\.8 ms", side, re.S)
    # the example is an ALS study: beside its denervation the decrement is not called an NMJ
    # disorder (reinnervating end-plates decrement too, models.scope.nmj_assessments) ...
    assert "neuromuscular-junction disorder" not in html
    # ... while the same decrement with no needle denervation is
    example_study["study_id"] = "demo-nmj-001"
    example_study["emg"] = [
        {"muscle": "biceps", "side": "R", "fibs": 0, "psw": 0, "recruitment": "normal",
         "muap_amplitude_grade": "normal", "muap_duration_grade": "normal"},
    ]  # fmt: skip
    r = client.post(
        "/upload", files={"files": ("n.json", json.dumps(example_study), "application/json")}
    )
    assert r.status_code == 200, r.text
    url = re.search(r'href="(/study/u\d+/demo-nmj-001)"', r.text).group(1)
    assert "neuromuscular-junction disorder" in client.get(url).text
