"""Train and score the out-of-scope assessment on simulated conditions (issue 11, item 1).

:func:`oos_training_features` simulates the learnt conditions for the detector;
:func:`score_out_of_scope` simulates every condition of :mod:`simulator.out_of_scope`
(``n_per_condition`` each) and reports, per condition, the headlined-ALS share, the largest
``p_als`` before and after the soft-target mixture, the focal-finding detection rate and the
detector's recall, plus the detector's AUC and its false "outside" rate on in-scope studies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

from bundle.tables import Bundle
from features.build import build_features
from features.focal import focal_findings, focal_sites
from features.vocab import CLASSES
from models import scope
from models.evidence import als_assessable
from simulator.cohort import simulate_cohort_with_physiology
from simulator.out_of_scope import CONDITIONS, FOCAL_CONDITIONS
from simulator.parameters import OutOfScopeParams, SimulatorParams

_ALS = CLASSES.index("als")


def simulate_conditions(
    n: int, seed: int, conditions: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Features, truth table and bundle of ``n`` studies drawn from ``conditions`` only."""
    weights = {c: (1.0 if c in conditions else 0.0) for c in CONDITIONS}
    params = SimulatorParams(out_of_scope=OutOfScopeParams(share=1.0, weights=weights))
    bundle, truth = simulate_cohort_with_physiology(n, seed, params)
    return build_features(bundle), truth, bundle


def oos_training_bundle(n: int, seed: int) -> tuple[Bundle, np.ndarray]:
    """Simulated out-of-scope studies for the detector and their condition labels.

    Two thirds of the learnt conditions, one third of :data:`models.scope.IN_SCOPE_CONDITIONS`
    (focal neuropathies and myasthenia, which teach the detector "not outside").
    """
    weights = {c: 2.0 / len(scope.LEARNT_CONDITIONS) for c in scope.LEARNT_CONDITIONS}
    weights |= {c: 1.0 / len(scope.IN_SCOPE_CONDITIONS) for c in scope.IN_SCOPE_CONDITIONS}
    params = SimulatorParams(out_of_scope=OutOfScopeParams(share=1.0, weights=weights))
    bundle, truth = simulate_cohort_with_physiology(n, seed, params)
    return bundle, truth["condition"].to_numpy()


def in_scope_training_features(
    bundle: Bundle,
    study_ids: pd.Index,
    donors: Bundle,
    *,
    max_studies: int,
    p_transplant: float,
    seed: int,
) -> pd.DataFrame:
    """The detector's in-scope studies: a bounded sample, a share given outside protocols.

    Each simulated out-of-scope condition has its referral's protocol (a plexopathy the
    cervical work-up: arm nerves only), while in-scope studies come from every referral. So
    "no leg nerve studied" alone said "plexopathy" (a C5-C6 radiculopathy without leg NCS was
    called a plexopathy at 94 %). A share ``p_transplant`` of the sampled in-scope studies keep
    only the tests that a random out-of-scope study also had
    (:func:`features.augment.transplant_protocols` with ``donors``), so what was tested no
    longer tells in scope from outside (transfer lessons 1 and 3) and the detector must read
    the findings: SNAPs in the territory, paraspinals, the pattern.

    Parameters
    ----------
    bundle : Bundle
        The validated in-scope bundle.
    study_ids : Index
        The in-scope training studies to sample from.
    donors : Bundle
        The simulated out-of-scope studies (:func:`oos_training_bundle`).
    max_studies : int
        Bound on the studies sampled (the detector's cost).
    p_transplant : float
        Share of them given a donor's protocol.
    seed : int
    """
    from features.augment import transplant_protocols

    rng = np.random.default_rng(seed)
    ids = list(study_ids.astype(str))
    if len(ids) > max_studies:
        ids = list(rng.choice(np.asarray(ids, dtype=object), max_studies, replace=False))
    sub = bundle.subset(ids)
    return build_features(transplant_protocols(sub, rng, p=p_transplant, donors=donors))


def oos_training_features(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and condition labels of :func:`oos_training_bundle`."""
    bundle, condition = oos_training_bundle(n, seed)
    return build_features(bundle), condition


def _as_stated(
    assessed: list[scope.ScopeAssessment],
    X: pd.DataFrame,
    M: np.ndarray,
    assessable: np.ndarray,
) -> list[scope.ScopeAssessment]:
    """The assessments as the product states them (:meth:`models.predictor.Predictor`).

    An RNS decrement > 10 % is outside (:func:`models.scope.nmj_assessments`); ALS leading
    without LMN signs in two regions is "not enough to establish ALS"
    (:func:`models.scope.als_unestablished_assessments`). ``M``: the headline's probabilities.
    """
    ruled = scope.nmj_assessments(assessed, X)
    ruled = scope.als_unestablished_assessments(ruled, M.argmax(axis=1) == _ALS, assessable)
    return [b if b is not None else a for a, b in zip(assessed, ruled, strict=True)]


def score_out_of_scope(
    proba: Callable[[pd.DataFrame], np.ndarray],
    detector: scope.ScopeDetector,
    n_per_condition: int,
    seed: int,
    X_in: pd.DataFrame,
    y_in: np.ndarray | None = None,
) -> dict[str, Any]:
    """The out-of-scope report.

    Parameters
    ----------
    proba : callable
        Features -> (n, 6) six-class probabilities of the in-scope model (CLASSES order).
    detector : ScopeDetector
    n_per_condition : int
        Simulated studies of each condition (>= 40 for the issue's figures).
    seed : int
    X_in : DataFrame
        In-scope test studies (false-outside rate, AUC).
    y_in : ndarray of int, optional
        Their labels: macro-F1 before and after the mixture.
    """
    X, truth, bundle = simulate_conditions(n_per_condition * len(CONDITIONS), seed, CONDITIONS)
    cond = truth["condition"].to_numpy()
    P = proba(X)
    Q = detector.proba(X)
    ok = als_assessable(X)
    M = scope.mixed_capped(P, Q, ok)
    A = _as_stated(scope.assess(Q, detector.threshold, scope.insufficient(X)), X, M, ok)
    foc = focal_sites(focal_findings(bundle), list(bundle.studies["study_id"]))
    per: dict[str, dict[str, float]] = {}
    for c in CONDITIONS:
        rows = np.flatnonzero(cond == c)
        if rows.size == 0:
            continue
        heads = [
            scope.headline_class(CLASSES[int(np.argmax(M[i]))], A[i], bool(foc.iloc[i].any()))
            for i in rows
        ]
        entry = {
            "n": int(rows.size),
            "headline_als_share": float(np.mean([h == "als" for h in heads])),
            "headline_als_share_before": float(np.mean(np.argmax(P[rows], axis=1) == _ALS)),
            "max_p_als": float(M[rows, _ALS].max()),
            "max_p_als_before": float(P[rows, _ALS].max()),
            "p_als_ge_0_9_share": float(np.mean(M[rows, _ALS] >= 0.9)),
            "outside_share": float(np.mean([A[i].status == "outside" for i in rows])),
            "insufficient_share": float(np.mean([A[i].status == "insufficient" for i in rows])),
        }
        if c in FOCAL_CONDITIONS:
            entry["focal_detected_share"] = float(foc.iloc[rows][FOCAL_CONDITIONS[c]].mean())
        per[c] = entry
    Qi = detector.proba(X_in)
    ok_in = als_assessable(X_in)
    Pi = proba(X_in)
    Mi = scope.mixed_capped(Pi, Qi, ok_in)
    Ai = _as_stated(scope.assess(Qi, detector.threshold, scope.insufficient(X_in)), X_in, Mi, ok_in)
    learnt = np.isin(cond, scope.LEARNT_CONDITIONS)
    q_all = np.concatenate([1.0 - Qi[:, 0], 1.0 - Q[learnt, 0]])
    y_all = np.concatenate([np.zeros(len(Qi)), np.ones(int(learnt.sum()))])
    out: dict[str, Any] = {
        "conditions": per,
        "detector": {
            "threshold": detector.threshold,
            "auc": float(roc_auc_score(y_all, q_all)) if 0 < y_all.mean() < 1 else float("nan"),
            "recall_learnt": float(
                np.mean([A[i].status == "outside" for i in np.flatnonzero(learnt)])
            ),
            "false_outside_rate_in_scope": float(np.mean([a.status == "outside" for a in Ai])),
            "insufficient_rate_in_scope": float(np.mean([a.status == "insufficient" for a in Ai])),
        },
        "max_headline_als_share": max(e["headline_als_share"] for e in per.values()),
        "max_p_als": max(e["max_p_als"] for e in per.values()),
        "min_focal_detected_share": min(
            e["focal_detected_share"] for e in per.values() if "focal_detected_share" in e
        ),
    }
    if y_in is not None and len(y_in):
        out["in_scope_macro_f1"] = {
            "before": float(f1_score(y_in, Pi.argmax(axis=1), average="macro")),
            "after": float(f1_score(y_in, Mi.argmax(axis=1), average="macro")),
        }
    return out
