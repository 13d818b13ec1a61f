"""An RNS decrement above 10 % is outside the six classes by rule (models.scope.nmj_assessments)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.build import build_features
from models import scope
from models.predictor import Predictor


def _X(flags: list[float], decs: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"rns_decrement_abnormal": flags, "rns_max_decrement_pct": decs})


def test_decrement_above_10_pct_is_outside_and_says_nmj() -> None:
    inside = scope.ScopeAssessment("in_scope", 0.05, None, "Within the six classes.")
    thin = scope.ScopeAssessment("insufficient", 0.1, None, "Not enough examined to say.")
    out = scope.nmj_assessments(
        [inside, inside, thin, None], _X([1.0, 0.0, 1.0, np.nan], [25.0, 6.0, 14.0, np.nan])
    )
    assert out[0] is not None
    assert (out[0].status, out[0].most_like) == ("outside", "neuromuscular_junction")
    assert "RNS decrement 25 % (limit 10 %)" in out[0].reason
    assert "neuromuscular-junction disorder" in out[0].reason
    assert out[1] is inside  # 6 %: unchanged
    assert out[2] is not None
    assert out[2].status == "outside"  # the decrement is itself the finding
    assert out[3] is None  # no RNS, no detector: nothing said
    head = scope.headline("myopathy", out[0], [])
    assert head == (
        "Outside the six classes — most like a neuromuscular-junction disorder "
        "(e.g. myasthenia gravis)"
    )
    assert scope.headline_class("myopathy", out[0], False) is None


def test_a_decrement_beside_denervation_keeps_the_six_classes() -> None:
    # ALS and other denervating disease decrement through immature reinnervating end-plates
    inside = scope.ScopeAssessment("in_scope", 0.05, None, "Within the six classes.")
    X = _X([1.0, 1.0, 1.0], [18.0, 18.0, 18.0]).assign(
        emg_cervical_fibs_frac=[0.5, 0.0, np.nan],
        emg_lumbosacral_large_muap_frac=[0.0, 0.25, 0.0],
    )
    out = scope.nmj_assessments([inside, inside, inside], X)
    assert out[0] is inside
    assert out[1] is inside
    assert out[2] is not None
    assert out[2].status == "outside"  # no denervation seen


def test_without_rns_columns_nothing_changes() -> None:
    inside = scope.ScopeAssessment("in_scope", 0.05, None, "")
    assert scope.nmj_assessments([inside], pd.DataFrame(index=[0])) == [inside]


def test_predictor_headlines_a_decrement_as_an_nmj_disorder(
    tiny_model_dir: Path, fresh_cohort: tuple[Bundle, pd.DataFrame]
) -> None:
    bundle, _ = fresh_cohort
    X = build_features(bundle)
    calm = np.flatnonzero(~scope._denervated(X))  # a decrement without denervation
    sid = str(bundle.studies["study_id"].iloc[calm[0]])
    rns = pd.DataFrame(
        [
            {
                "study_id": sid,
                "nerve": "ulnar",
                "side": "R",
                "kind": "rns",
                "stim_site": "wrist",
                "recording_site": "adm",
                "amplitude": 9.0,
                "decrement_pct": 28.0,
            }
        ]
    ).reindex(columns=bundle.ncs.columns)
    ncs = pd.concat([bundle.ncs, rns.astype(bundle.ncs.dtypes.to_dict())], ignore_index=True)
    pred = Predictor.load(tiny_model_dir)
    with_rns = {p.study_id: p for p in pred.predict_bundle(Bundle(bundle.studies, ncs, bundle.emg))}
    without = {p.study_id: p for p in pred.predict_bundle(bundle)}
    p = with_rns[sid]
    assert p.scope is not None
    assert p.scope.status == "outside"
    assert p.headline.startswith("Outside the six classes — most like a neuromuscular-junction")
    other = str(bundle.studies["study_id"].iloc[calm[1]])
    assert with_rns[other].headline == without[other].headline  # other studies untouched


def test_the_out_of_scope_report_counts_the_rule_like_the_product() -> None:
    from models.oos_eval import _as_stated

    inside = scope.ScopeAssessment("in_scope", 0.05, None, "")
    M = np.tile(np.eye(6)[0], (2, 1))  # normal leads: the ALS rule does not apply
    out = _as_stated([inside, inside], _X([1.0, np.nan], [30.0, np.nan]), M, np.ones(2, bool))
    assert [a.status for a in out] == ["outside", "in_scope"]
