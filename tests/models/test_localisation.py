"""The radiculopathy localiser on hand-built studies (root level, side, SNAPs, not localisable)."""

from __future__ import annotations

import pandas as pd

from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from models.localisation import MAX_TENTATIVE_CONFIDENCE, Localisation, localise

ABNORMAL = {"fibs": 2.0, "psw": 1.0, "muap_duration_grade": "increased", "recruitment": "reduced"}
NORMAL = {"fibs": 0.0, "psw": 0.0, "muap_duration_grade": "normal", "recruitment": "normal"}


def _frame(rows: list[dict[str, object]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for c, kind in columns.items():
        frame[c] = frame[c].astype("float64" if kind == "float" else "object")
    return frame


def _study(
    abnormal: dict[str, str],
    normal: dict[str, str],
    snaps: list[tuple[str, str, float]] = (),  # type: ignore[assignment]
    age: float = 45.0,
) -> Localisation:
    """One study: muscle -> side abnormal / normal, and SNAPs (nerve, side, amplitude µV)."""
    emg = [{"study_id": "S1", "muscle": m, "side": s, **ABNORMAL} for m, s in abnormal.items()]
    emg += [{"study_id": "S1", "muscle": m, "side": s, **NORMAL} for m, s in normal.items()]
    sites = {
        "sural": ("calf", "lateral_malleolus"),
        "superficial_peroneal": ("calf", "ankle"),
        "median": ("wrist", "digit2"),
        "ulnar": ("wrist", "digit5"),
        "radial": ("forearm", "snuffbox"),
    }
    ncs = [
        {
            "study_id": "S1",
            "nerve": n,
            "side": s,
            "kind": "sensory",
            "stim_site": sites[n][0],
            "recording_site": sites[n][1],
            "latency_ms": 3.2 if amp > 0 else None,
            "amplitude": amp,
        }
        for n, s, amp in snaps
    ]
    bundle = Bundle(
        studies=_frame([{"study_id": "S1", "age_years": age, "sex": "F"}], STUDY_COLUMNS),
        ncs=_frame(ncs, NCS_COLUMNS),
        emg=_frame(emg, EMG_COLUMNS),
    )
    return localise(bundle)["S1"]


L5_LEFT = {
    "tibialis_anterior": "L",
    "peroneus_longus": "L",
    "tibialis_posterior": "L",
    "gluteus_medius": "L",
    "lumbar_paraspinal": "L",
}
LEG_NORMAL_LEFT = {"medial_gastrocnemius": "L", "vastus_lateralis": "L", "iliopsoas": "L"}


def test_l5_left_with_paraspinals_and_a_normal_fibular_snap() -> None:
    loc = _study(L5_LEFT, LEG_NORMAL_LEFT, [("superficial_peroneal", "L", 12.0)])
    assert loc.localisable
    assert (loc.root, loc.side) == ("L5", "L")
    assert loc.confidence is not None
    assert loc.confidence > 0.9
    assert loc.n_abnormal_muscles == 4
    assert loc.n_nerves == 4
    kinds = {e.kind for e in loc.supporting}
    assert {"muscle", "paraspinal", "snap"} <= kinds
    assert loc.summary.startswith("Most likely left L5 (confidence ")
    assert "4 abnormal L5 muscles of 4 nerves" in loc.summary
    assert "lumbar paraspinal fibrillations" in loc.summary
    assert "superficial fibular SNAP normal" in loc.summary
    # normal muscles of other roots are not held against L5; a candidate list is ranked
    probs = [c.probability for c in loc.candidates]
    assert probs == sorted(probs, reverse=True)
    assert loc.candidates[0].root == "L5"


def test_mirrored_study_is_localised_to_the_right() -> None:
    flip = dict.fromkeys(L5_LEFT, "R")
    loc = _study(flip, dict.fromkeys(LEG_NORMAL_LEFT, "R") | {"tibialis_anterior": "L"})
    assert (loc.root, loc.side) == ("L5", "R")


def test_s1_right() -> None:
    loc = _study(
        {"medial_gastrocnemius": "R", "soleus": "R", "gluteus_maximus": "R"},
        {"tibialis_anterior": "R", "tibialis_posterior": "R", "vastus_lateralis": "R"},
        [("sural", "R", 15.0)],
    )
    assert (loc.root, loc.side) == ("S1", "R")
    assert any(e.kind == "snap" and e.name == "sural" for e in loc.supporting)


def test_c7_against_c8() -> None:
    c7 = _study(
        {"triceps": "L", "flexor_carpi_radialis": "L", "extensor_digitorum": "L"},
        {"deltoid": "L", "biceps": "L", "first_dorsal_interosseous": "L"},
    )
    assert (c7.root, c7.side) == ("C7", "L")
    c8 = _study(
        {"first_dorsal_interosseous": "L", "flexor_carpi_ulnaris": "L", "extensor_indicis": "L"},
        {"deltoid": "L", "biceps": "L", "triceps": "L", "pronator_teres": "L"},
    )
    assert (c8.root, c8.side) == ("C8", "L")
    # the normal C7 muscles of the C8 study speak against C7
    assert c8.candidates[0].probability > 0.8


def test_l5_against_s1_by_the_normal_muscles() -> None:
    """EHL (L5, minor S1) and gluteus maximus (S1, minor L5) abnormal: the normal ones decide."""
    s1 = _study(
        {"extensor_hallucis_longus": "L", "gluteus_maximus": "L", "medial_gastrocnemius": "L"},
        {"tibialis_anterior": "L", "tibialis_posterior": "L", "gluteus_medius": "L"},
    )
    assert s1.root == "S1"
    l5 = _study(
        {"extensor_hallucis_longus": "L", "gluteus_medius": "L", "tibialis_posterior": "L"},
        {"medial_gastrocnemius": "L", "soleus": "L", "gluteus_maximus": "L"},
    )
    assert l5.root == "L5"


def test_an_absent_dermatomal_snap_argues_against_a_root_lesion() -> None:
    normal = _study(L5_LEFT, LEG_NORMAL_LEFT, [("superficial_peroneal", "L", 12.0)])
    absent = _study(L5_LEFT, LEG_NORMAL_LEFT, [("superficial_peroneal", "L", 0.0)])
    assert absent.root == normal.root == "L5"  # a SNAP does not move the level
    assert absent.root_support is not None
    assert normal.root_support is not None
    assert absent.root_support < normal.root_support - 0.15
    # without the paraspinals' evidence, an absent SNAP makes a plexus or nerve lesion likelier
    no_para = {m: s for m, s in L5_LEFT.items() if m != "lumbar_paraspinal"}
    weak = _study(no_para, LEG_NORMAL_LEFT, [("superficial_peroneal", "L", 0.0)])
    assert weak.root == "L5"
    assert weak.root_support is not None
    assert weak.root_support <= 0.5
    snap = [e for e in absent.opposing if e.kind == "snap"]
    assert snap
    assert "absent" in snap[0].text
    assert "LLN" in snap[0].text
    assert "but superficial fibular SNAP low" in absent.summary


def test_no_abnormal_limb_muscle_is_not_localisable() -> None:
    loc = _study({}, LEG_NORMAL_LEFT | {"tibialis_anterior": "L"})
    assert not loc.localisable
    assert loc.root is None
    assert loc.confidence is None
    assert loc.reason == "no abnormal limb muscle on needle EMG"
    # paraspinal fibrillations alone do not name a level
    para = _study({"lumbar_paraspinal": "L"}, LEG_NORMAL_LEFT)
    assert not para.localisable


def test_one_muscle_spanning_two_levels_gives_a_tentative_root() -> None:
    """Biceps (C5-C6) alone abnormal, deltoid (C5) normal: C6, tentative, below the cap."""
    loc = _study({"biceps": "R"}, {"deltoid": "R", "triceps": "R"})
    assert loc.localisable
    assert loc.strength == "tentative"
    assert (loc.root, loc.side) == ("C6", "R")
    assert loc.confidence is not None
    assert loc.confidence <= MAX_TENTATIVE_CONFIDENCE
    assert "only one abnormal muscle (biceps), whose roots span C5-C6" in loc.caveat
    assert loc.summary.startswith("Possibly right C6 (tentative, confidence")
    spared = [e for e in loc.supporting if e.kind == "spared_muscle"]
    assert [e.name for e in spared] == ["deltoid"]
    assert "argues against C5" in spared[0].text
    # with the deltoid abnormal too, two muscles of C5 make it definite
    both = _study({"biceps": "R", "deltoid": "R"}, {"triceps": "R"})
    assert both.strength == "definite"


def test_a_normal_muscle_of_the_rival_root_decides_a_single_muscle() -> None:
    """Tibialis anterior (L4-L5) abnormal: normal vasti (L3-L4) take L4's share to L5."""
    alone = _study({"tibialis_anterior": "L"}, {})
    spared = _study(
        {"tibialis_anterior": "L"},
        {"vastus_lateralis": "L", "vastus_medialis": "L", "rectus_femoris": "L"},
    )
    share = {
        name: {c.root: c.probability for c in loc.candidates}
        for name, loc in (("alone", alone), ("spared", spared))
    }
    assert share["spared"]["L4"] < share["alone"]["L4"] / 5
    assert share["spared"]["L5"] > share["alone"]["L5"]
    assert spared.root == "L5"
    assert spared.strength == "tentative"
    assert "vastus lateralis normal" in spared.summary
    assert not [e for e in alone.supporting if e.kind == "spared_muscle"]


def test_bilateral_symmetric_findings_are_not_localisable() -> None:
    both = {f"{m}": "L" for m in ("tibialis_anterior", "gluteus_medius", "peroneus_longus")}
    emg = _study(both, {})
    assert emg.localisable  # one side: localisable
    rows_l = dict.fromkeys(both, "L")
    rows_r = dict.fromkeys(both, "R")
    # the helper keys muscles by name, so build the right side through a second muscle set
    loc = _bilateral(rows_l, rows_r)
    assert not loc.localisable
    assert "bilateral" in loc.reason


def _bilateral(left: dict[str, str], right: dict[str, str]) -> Localisation:
    emg = [{"study_id": "S1", "muscle": m, "side": "L", **ABNORMAL} for m in left]
    emg += [{"study_id": "S1", "muscle": m, "side": "R", **ABNORMAL} for m in right]
    bundle = Bundle(
        studies=_frame([{"study_id": "S1", "age_years": 60.0}], STUDY_COLUMNS),
        ncs=_frame([], NCS_COLUMNS),
        emg=_frame(emg, EMG_COLUMNS),
    )
    return localise(bundle)["S1"]


def _l5_with(row: dict[str, object]) -> Localisation:
    emg = [
        {"study_id": "S1", "muscle": m, "side": "L", **row}
        for m in ("tibialis_anterior", "tibialis_posterior", "gluteus_medius")
    ]
    emg += [{"study_id": "S1", "muscle": "medial_gastrocnemius", "side": "L", **NORMAL}]
    bundle = Bundle(
        studies=_frame([{"study_id": "S1", "age_years": 50.0}], STUDY_COLUMNS),
        ncs=_frame([], NCS_COLUMNS),
        emg=_frame(emg, EMG_COLUMNS),
    )
    return localise(bundle)["S1"]


def test_reduced_recruitment_alone_counts_less_than_fibrillations() -> None:
    reduced = _l5_with({"fibs": 0.0, "psw": 0.0, "recruitment": "reduced"})
    fibs = _l5_with(ABNORMAL)
    assert reduced.root == fibs.root == "L5"
    assert reduced.candidates[0].score < fibs.candidates[0].score - 1.0
    assert "reduced recruitment" in reduced.supporting[0].text
    assert "fibs 2+" in fibs.supporting[0].text
    assert "fibs" not in reduced.supporting[0].text


def test_prediction_keeps_the_localisation_nested_in_json_and_flat_in_csv() -> None:
    from models.prediction import StudyPrediction, to_flat_frame

    loc = _study(L5_LEFT, LEG_NORMAL_LEFT)
    base = {
        "diagnosis": "radiculopathy",
        "probabilities": {"radiculopathy": 1.0},
        "pattern": "neurogenic",
        "pattern_probability": 1.0,
        "explanation": [],
        "model_name": "m",
        "model_version": "v",
        "low_confidence": False,
        "unlike_training_data": False,
    }
    named = StudyPrediction(study_id="S1", localisation=loc, **base)  # type: ignore[arg-type]
    none = StudyPrediction(study_id="S2", **base)  # type: ignore[arg-type]
    doc = named.to_dict()["localisation"]
    assert (doc["root"], doc["side"]) == ("L5", "L")
    assert doc["supporting"][0]["kind"] == "muscle"
    flat = to_flat_frame([named, none]).set_index("study_id")
    assert flat.loc["S1", "radic_root"] == "L5"
    assert flat.loc["S1", "radic_side"] == "L"
    assert flat.loc["S1", "radic_confidence"] == loc.confidence
    assert flat.loc["S2", ["radic_root", "radic_side", "radic_confidence"]].isna().all()


def test_one_abnormal_muscle_names_a_tentative_root_with_the_candidates() -> None:
    """The issue's case: one extensor hallucis longus abnormal, paraspinals normal."""
    loc = _study(
        {"extensor_hallucis_longus": "L"},
        {"lumbar_paraspinal": "L", "tibialis_anterior": "L", "medial_gastrocnemius": "L"},
    )
    assert loc.localisable
    assert loc.strength == "tentative"
    assert (
        loc.caveat == "only one abnormal muscle (extensor hallucis longus), whose roots span L5-S1"
    )
    assert (loc.root, loc.side) == ("L5", "L")
    assert loc.confidence == round(loc.candidates[0].probability, 3) < MAX_TENTATIVE_CONFIDENCE
    assert loc.candidates[1].root == "S1"
    # the normal tibialis anterior (L5) speaks against the root named, and is listed
    assert any(e.name == "tibialis_anterior" for e in loc.opposing)


def test_an_absent_h_reflex_tips_l5_against_s1_towards_s1() -> None:
    """EHL (L5, minor S1) and gluteus maximus (S1, minor L5): even, until the H-reflex."""
    emg = [
        {"study_id": "S1", "muscle": m, "side": "L", **ABNORMAL}
        for m in ("extensor_hallucis_longus", "gluteus_maximus")
    ]

    def run(h_amplitude_mv: float | None) -> Localisation:
        ncs = []
        if h_amplitude_mv is not None:
            ncs = [
                {
                    "study_id": "S1",
                    "nerve": "tibial",
                    "side": side,
                    "kind": "h_reflex",
                    "stim_site": "popliteal_fossa",
                    "recording_site": "soleus",
                    "latency_ms": None if amp == 0 else 30.0,
                    "amplitude": amp,
                }
                for side, amp in (("L", h_amplitude_mv), ("R", 1.5))
            ]
        bundle = Bundle(
            studies=_frame([{"study_id": "S1", "age_years": 50.0}], STUDY_COLUMNS),
            ncs=_frame(ncs, NCS_COLUMNS),
            emg=_frame(emg, EMG_COLUMNS),
        )
        return localise(bundle)["S1"]

    without, absent, present = run(None), run(0.0), run(1.4)
    p_s1 = {c.root: c.probability for c in without.candidates if c.side == "L"}["S1"]
    assert absent.root == "S1"
    assert absent.confidence is not None
    assert absent.confidence > p_s1 + 0.2
    assert any(e.kind == "h_reflex" for e in absent.supporting)
    assert present.root != "S1"


def test_muscles_shared_by_c5_and_c6_name_both_roots() -> None:
    # biceps and brachioradialis carry both C5 and C6 (T3.5b): with the C5-only spinati and the
    # C6-C7 pronator teres not examined, nothing separates the two roots, and "C5-C6" is named
    loc = _study(
        {"biceps": "R", "brachioradialis": "R"},
        {"triceps": "R", "first_dorsal_interosseous": "R", "biceps": "L"},
    )
    assert loc.localisable
    assert loc.side == "R"
    assert loc.roots == ("C5", "C6")
    assert loc.roots_label == "C5-C6"
    assert loc.root in loc.roots
    top, nxt = loc.candidates[0], loc.candidates[1]
    assert {top.root, nxt.root} == {"C5", "C6"}
    assert nxt.probability >= 0.5 * top.probability
    # the confidence is the share of the pair, more than either root alone
    assert loc.confidence is not None
    assert loc.confidence > top.probability
    assert "right C5-C6" in loc.summary
    assert "do not separate C5 from C6" in loc.summary


def test_a_root_the_muscles_single_out_is_named_alone() -> None:
    loc = _study(L5_LEFT, {"medial_gastrocnemius": "L", "vastus_lateralis": "L"})
    assert loc.roots == ("L5",)
    assert loc.roots_label == "L5"
    assert "C5" not in loc.summary
    assert "do not separate" not in loc.summary


def test_root_set_needs_an_adjacent_root_on_the_same_side_half_as_likely() -> None:
    from models.localisation import RootCandidate, root_set

    def cands(*c: tuple[str, str, float]) -> list[RootCandidate]:
        return [RootCandidate(r, s, 0.0, p) for r, s, p in c]

    assert root_set(cands(("C6", "L", 0.55), ("C5", "L", 0.30))) == ("C5", "C6")
    assert root_set(cands(("C6", "L", 0.62), ("C5", "L", 0.30))) == ("C6",)  # under half
    assert root_set(cands(("L5", "L", 0.5), ("S1", "R", 0.45))) == ("L5",)  # other side
    assert root_set(cands(("C6", "L", 0.5), ("C8", "L", 0.45))) == ("C6",)  # not adjacent
    assert root_set(cands(("T1", "L", 0.5), ("L2", "L", 0.45))) == ("T1",)  # other region
    assert root_set(cands(("S1", "R", 0.9))) == ("S1",)
