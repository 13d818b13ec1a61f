"""The study page's root-level block (app/templates/_localisation.html)."""

from __future__ import annotations

import json
import re
from typing import Any

from app.main import _templates
from models.localisation import Evidence, Localisation, RootCandidate

NEURO = {"fibs": 2, "psw": 1, "muap_duration_grade": "increased", "recruitment": "reduced"}
NORMAL = {"fibs": 0, "psw": 0, "muap_duration_grade": "normal", "recruitment": "normal"}


def _l5_study() -> dict[str, Any]:
    abnormal = ["tibialis_anterior", "peroneus_longus", "tibialis_posterior", "gluteus_medius"]
    emg = [{"muscle": m, "side": "L", **NEURO} for m in abnormal]
    emg += [{"muscle": "lumbar_paraspinal", "side": "L", "fibs": 2, "psw": 2}]
    emg += [
        {"muscle": m, "side": "L", **NORMAL} for m in ("medial_gastrocnemius", "vastus_lateralis")
    ]
    emg += [{"muscle": "tibialis_anterior", "side": "R", **NORMAL}]
    ncs = [
        {"nerve": "superficial_peroneal", "side": "L", "kind": "sensory", "stim_site": "calf",
         "recording_site": "ankle", "latency_ms": 3.4, "amplitude": 11.0, "distance_mm": 140},
        {"nerve": "sural", "side": "L", "kind": "sensory", "stim_site": "calf",
         "recording_site": "lateral_malleolus", "latency_ms": 3.6, "amplitude": 14.0, "distance_mm": 140},
        {"nerve": "peroneal", "side": "L", "kind": "motor", "stim_site": "ankle",
         "recording_site": "edb", "latency_ms": 4.6, "amplitude": 5.5, "distance_mm": 90},
        {"nerve": "tibial", "side": "L", "kind": "motor", "stim_site": "ankle",
         "recording_site": "ah", "latency_ms": 4.4, "amplitude": 9.0, "distance_mm": 90},
    ]  # fmt: skip
    return {"study_id": "demo-l5", "age_years": 48, "sex": "F", "ncs": ncs, "emg": emg}


def test_uploaded_radiculopathy_page_shows_the_root_and_side(client: Any) -> None:
    r = client.post(
        "/upload", files={"files": ("l5.json", json.dumps(_l5_study()), "application/json")}
    )
    assert r.status_code == 200
    key = re.search(r'href="/study/(u\d+)/demo-l5"', r.text).group(1)
    page = client.get(f"/study/{key}/demo-l5").text
    pattern = re.search(r'id="pattern">([^<]+)<', page).group(1)
    diagnosis = re.search(r'id="diagnosis">([^<]+)<', page).group(1)
    assert "Neurogenic" in pattern or "Radiculopathy" in diagnosis or "Radiculopathy" in page
    assert 'id="localisation"' in page
    summary = re.sub(
        r"<[^>]+>", "", re.search(r'id="localisation-summary">(.*?)</p>', page).group(1)
    )
    assert summary.startswith("Most likely left L5 (confidence ")
    assert "4 abnormal L5 muscles of 4 nerves" in summary
    assert "lumbar paraspinal fibrillations" in summary
    assert "superficial fibular SNAP normal" in summary
    # the API returns the same localisation, nested
    api = client.post("/api/predict", json=_l5_study()).json()
    loc = api["predictions"][0]["localisation"]
    assert (loc["root"], loc["side"], loc["localisable"]) == ("L5", "L", True)
    assert 0.5 <= loc["confidence"] <= 1.0


def _render(loc: Localisation | None) -> str:
    class Pred:
        localisation = loc

    return _templates().env.get_template("_localisation.html").render(pred=Pred())


def test_block_lists_evidence_for_and_against_and_the_reason_when_not_localisable() -> None:
    named = Localisation(
        localisable=True,
        root="S1",
        side="R",
        confidence=0.82,
        root_support=0.9,
        candidates=(RootCandidate("S1", "R", 7.0, 0.82), RootCandidate("L5", "R", 5.5, 0.15)),
        supporting=(Evidence("muscle", "soleus", "R", "soleus (tibial, S1): fibs 2+"),),
        opposing=(Evidence("snap", "sural", "R", "sural SNAP absent (0 µV, LLN 6 µV)"),),
        n_abnormal_muscles=1,
        n_nerves=1,
        summary="Most likely right S1 (confidence 0.82): 1 abnormal S1 muscle of 1 nerve",
    )
    html = _render(named)
    assert "Most likely right S1 (confidence 0.82)" in html
    assert "Right soleus (tibial, S1): fibs 2+" in re.search(
        r'id="localisation-for">(.*?)</ul>', html, re.S
    ).group(1)
    assert "sural SNAP absent" in re.search(
        r'id="localisation-against">(.*?)</ul>', html, re.S
    ).group(1)
    assert "right L5" in html
    assert "0.15" in html
    not_named = Localisation(
        localisable=False,
        reason="no abnormal limb muscle on needle EMG",
        summary="Not localisable: no abnormal limb muscle on needle EMG.",
    )
    html = _render(not_named)
    assert "Not localisable: no abnormal limb muscle on needle EMG." in html
    assert 'id="localisation-for"' not in html
    assert _render(None).strip() == ""
