"""Score the radiculopathy localiser on simulated studies against the simulated root and side.

The truth comes from the simulator's side table (``physiology.parquet``: ``subtype``,
``index_side``, ``root_levels``; :data:`simulator.cohort.TRUTH_COLUMNS`), never from the bundle.
Scored: the true radiculopathies (``subtype`` a root, whatever the noisy ``diagnosis`` label
says) **with needle EMG of the affected limb** (at least one limb muscle of that limb, on the
symptomatic side). Two root scores: **exact** (``root_accuracy*``), the top root is the
simulated root or, for a two-root lesion, one of the two; **within the root set named**
(``root_set_accuracy*``, the issue's "correct (within the exact root)"), the simulated root is
among the one or two adjacent roots the localiser names ("C5-C6" when the muscles examined
share both roots, :func:`models.localisation.root_set`; ``two_root_share`` says how often).
The side is correct when it is the symptomatic side. Reported over three denominators
(:func:`score_localisation`; a "not localisable" answer counts as not correct):

1. all those studies (``root_accuracy``, ``side_accuracy``);
2. those with at least one abnormal muscle in the affected limb, on either side
   (``*_abnormal``): the studies whose EMG gives the localiser something to work with;
3. the localised ones (``*_localised``: a root named, definite or tentative) and, within them,
   the definite ones (``*_definite``: the >= 2-muscle rule met) and tentative ones;

by level, with the calibration of the stated confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.reference import load_muscles
from models.localisation import (
    ABNORMAL_FROM,
    ROOTS,
    TENTATIVE,
    Localisation,
    StudyFindings,
    findings_from_tables,
    localise_findings,
)

#: the columns of the truth table the scorer reads
TRUTH_READ: tuple[str, ...] = ("study_id", "subtype", "index_side", "root_levels")
#: bins of the confidence calibration table
CALIBRATION_BINS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: column of the confusion table for "not localisable"
NONE = "none"


@dataclass(frozen=True)
class LevelScore:
    """Scores of one simulated root level (``n`` studies)."""

    n: int
    root_accuracy: float | None
    root_accuracy_localised: float | None
    side_accuracy_localised: float | None
    not_localisable_share: float | None
    root_set_accuracy: float | None = None
    n_abnormal: int = 0
    root_accuracy_abnormal: float | None = None
    root_set_accuracy_abnormal: float | None = None
    side_accuracy_abnormal: float | None = None


@dataclass(frozen=True)
class CalibrationBin:
    """Studies whose confidence falls in ``[low, high)``: mean confidence and accuracy."""

    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class LocalisationScore:
    """The localiser's scores on the radiculopathies with EMG of the affected limb.

    A share over no study (no localised study, a level without studies) is None, never NaN.

    Attributes
    ----------
    n_radiculopathies : int
        True radiculopathies in the cohort.
    n_scored : int
        Those with needle EMG of the affected limb (the denominator).
    n_localised : int
        Those the localiser named a root for (definite or tentative).
    root_accuracy, side_accuracy : float
        Exact root (side) correct, over ``n_scored`` (not localisable = not correct).
    root_accuracy_localised, side_accuracy_localised : float
        The same over ``n_localised``.
    n_abnormal, root_accuracy_abnormal, side_accuracy_abnormal
        The studies with at least one abnormal muscle in the affected limb, and the accuracy
        over them (not localisable = not correct).
    n_definite, root_accuracy_definite, side_accuracy_definite
        The definite calls (>= 2-muscle rule) and their accuracy.
    n_tentative, root_accuracy_tentative, side_accuracy_tentative, calibration_error_tentative
        The tentative calls, their accuracy and the calibration error of their confidence.
    not_localisable_share : float
        Share of ``n_scored`` answered "not localisable".
    root_set_accuracy, root_set_accuracy_abnormal, root_set_accuracy_localised : float
        The simulated root among the roots named (one, or two adjacent), side correct or not,
        over ``n_scored``, ``n_abnormal`` and ``n_localised``.
    two_root_share : float
        Share of the localised studies answered with two adjacent roots.
    calibration_error : float
        Expected calibration error of the confidence (the set's share) against root set and
        side correct
        (localised studies; weighted mean |accuracy - confidence| over :data:`CALIBRATION_BINS`).
    by_level : dict
        :class:`LevelScore` per simulated (first) root.
    calibration : list of CalibrationBin
    confusion : DataFrame
        Counts: simulated root (rows, :data:`ROOTS`) by localised root (columns, plus ``none``).
    reasons : dict
        Count of each "not localisable" reason (its words up to the first parenthesis or colon).
    """

    n_radiculopathies: int
    n_scored: int
    n_localised: int
    root_accuracy: float | None
    side_accuracy: float | None
    root_accuracy_localised: float | None
    side_accuracy_localised: float | None
    not_localisable_share: float | None
    calibration_error: float | None
    by_level: dict[str, LevelScore]
    calibration: list[CalibrationBin]
    confusion: pd.DataFrame = field(repr=False)
    reasons: dict[str, int] = field(default_factory=dict)
    n_abnormal: int = 0
    root_accuracy_abnormal: float | None = None
    side_accuracy_abnormal: float | None = None
    n_definite: int = 0
    root_accuracy_definite: float | None = None
    side_accuracy_definite: float | None = None
    n_tentative: int = 0
    root_accuracy_tentative: float | None = None
    side_accuracy_tentative: float | None = None
    calibration_error_tentative: float | None = None
    root_set_accuracy: float | None = None
    root_set_accuracy_abnormal: float | None = None
    root_set_accuracy_localised: float | None = None
    two_root_share: float | None = None

    def metrics(self) -> dict[str, float]:
        """Flat metrics (``root_accuracy``, ``root_accuracy_L5``, ...) for MLflow; a share of no
        study (None) is left out."""
        out: dict[str, float | None] = {
            "n_scored": float(self.n_scored),
            "root_accuracy": self.root_accuracy,
            "side_accuracy": self.side_accuracy,
            "root_accuracy_localised": self.root_accuracy_localised,
            "side_accuracy_localised": self.side_accuracy_localised,
            "not_localisable_share": self.not_localisable_share,
            "calibration_error": self.calibration_error,
            **self._tiers(),
        }
        for root, s in self.by_level.items():
            out[f"root_accuracy_{root}"] = s.root_accuracy
            out[f"root_accuracy_localised_{root}"] = s.root_accuracy_localised
            out[f"root_accuracy_abnormal_{root}"] = s.root_accuracy_abnormal
            out[f"root_set_accuracy_abnormal_{root}"] = s.root_set_accuracy_abnormal
        return {k: v for k, v in out.items() if v is not None}

    def _tiers(self) -> dict[str, float | None]:
        """The three denominators' counts and accuracies beyond all-scored and localised."""
        return {
            "n_abnormal": self.n_abnormal,
            "root_accuracy_abnormal": self.root_accuracy_abnormal,
            "side_accuracy_abnormal": self.side_accuracy_abnormal,
            "n_definite": self.n_definite,
            "root_accuracy_definite": self.root_accuracy_definite,
            "side_accuracy_definite": self.side_accuracy_definite,
            "n_tentative": self.n_tentative,
            "root_accuracy_tentative": self.root_accuracy_tentative,
            "side_accuracy_tentative": self.side_accuracy_tentative,
            "calibration_error_tentative": self.calibration_error_tentative,
            "root_set_accuracy": self.root_set_accuracy,
            "root_set_accuracy_abnormal": self.root_set_accuracy_abnormal,
            "root_set_accuracy_localised": self.root_set_accuracy_localised,
            "two_root_share": self.two_root_share,
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the ``localisation`` section of the evaluation report)."""
        return {
            "n_radiculopathies": self.n_radiculopathies,
            "n_scored": self.n_scored,
            "n_localised": self.n_localised,
            "root_accuracy": self.root_accuracy,
            "side_accuracy": self.side_accuracy,
            "root_accuracy_localised": self.root_accuracy_localised,
            "side_accuracy_localised": self.side_accuracy_localised,
            "not_localisable_share": self.not_localisable_share,
            "calibration_error": self.calibration_error,
            **self._tiers(),
            "by_level": {k: v.__dict__ for k, v in self.by_level.items()},
            "calibration": [b.__dict__ for b in self.calibration],
            "confusion": {
                str(r): dict(zip(map(str, self.confusion.columns), map(int, row), strict=True))
                for r, row in zip(self.confusion.index, self.confusion.to_numpy(), strict=True)
            },
            "not_localisable_reasons": self.reasons,
        }


def _limb_muscles() -> dict[str, str]:
    table = load_muscles()
    return {m: str(table.at[m, "limb"]) for m in table.index}


def scored_studies(bundle: Bundle, truth: pd.DataFrame) -> pd.DataFrame:
    """The true radiculopathies with needle EMG of the affected limb on the symptomatic side.

    Returns ``study_id``, ``root`` (first simulated root), ``levels`` (tuple of roots), ``side``.
    """
    missing = [c for c in TRUTH_READ if c not in truth.columns]
    if missing:
        raise ValueError(
            f"truth table: missing column(s) {missing}; expected the simulator's side table "
            f"(physiology.parquet) with {list(TRUTH_READ)}"
        )
    t = truth[truth["subtype"].isin(ROOTS)]
    levels = t["root_levels"].astype(str).str.split("+")
    limb_of = _limb_muscles()
    want = np.where(t["subtype"].isin(ROOTS[:5]), "upper", "lower")
    emg = bundle.emg
    has = emg.assign(limb=emg["muscle"].map(limb_of))[["study_id", "side", "limb"]]
    keys = set(zip(has["study_id"].astype(str), has["side"], has["limb"], strict=True))
    ok = [
        (str(s), side, lb) in keys
        for s, side, lb in zip(t["study_id"], t["index_side"], want, strict=True)
    ]
    return pd.DataFrame(
        {
            "study_id": t["study_id"].astype(str).to_numpy(),
            "root": t["subtype"].astype(str).to_numpy(),
            "levels": [tuple(v) for v in levels],
            "side": t["index_side"].astype(str).to_numpy(),
        }
    )[np.array(ok, dtype=bool)].reset_index(drop=True)


def _reason_key(reason: str) -> str:
    return reason.split("(")[0].split(":")[0].strip()


def abnormal_in_limb(findings: StudyFindings, limb: str) -> bool:
    """Whether any muscle of ``limb`` (``upper``/``lower``, either side) is abnormal."""
    limb_of = _limb_muscles()
    return any(
        limb_of.get(m.muscle) == limb and m.abnormality >= ABNORMAL_FROM for m in findings.muscles
    )


def _calibration(
    confidence: pd.Series, correct: pd.Series
) -> tuple[list[CalibrationBin], float | None]:
    """Calibration bins of ``confidence`` against ``correct`` and the expected calibration error."""
    bins, ece = [], 0.0
    edges = CALIBRATION_BINS
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (confidence >= lo) & ((confidence < hi) if hi < 1.0 else (confidence <= hi))
        k = int(sel.sum())
        if k == 0:
            continue
        mc, acc = float(confidence[sel].mean()), float(correct[sel].mean())
        bins.append(CalibrationBin(lo, hi, k, round(mc, 4), round(acc, 4)))
        ece += k * abs(acc - mc)
    return bins, (round(ece / len(confidence), 4) if len(confidence) else None)


def score_localisation(
    bundle: Bundle,
    truth: pd.DataFrame,
    localised: dict[str, Localisation] | None = None,
    findings: dict[str, StudyFindings] | None = None,
) -> LocalisationScore:
    """Score :func:`models.localisation.localise` against the simulated roots (module docstring).

    Parameters
    ----------
    bundle : Bundle
        The validated simulated bundle.
    truth : DataFrame
        The simulator's side table (columns :data:`TRUTH_READ`).
    localised : dict, optional
        Precomputed localisations by ``study_id`` (else computed here, for the scored studies).
    findings : dict, optional
        Precomputed :class:`~models.localisation.StudyFindings` by ``study_id`` (else read here).
    """
    scored = scored_studies(bundle, truth)
    n_radic = int(truth["subtype"].isin(ROOTS).sum())
    if findings is None:
        findings = findings_from_tables(bundle.subset(scored["study_id"].tolist()))
    if localised is None:
        localised = {s: localise_findings(findings[s]) for s in scored["study_id"]}
    rows = []
    for sid, root, levels, side in scored.itertuples(index=False):
        loc = localised[sid]
        limb = "upper" if root in ROOTS[:5] else "lower"
        rows.append(
            {
                "root": root,
                "pred": loc.root if loc.localisable else NONE,
                "root_ok": bool(loc.localisable and loc.root in levels),
                "set_ok": bool(loc.localisable and set(loc.roots or (loc.root,)) & set(levels)),
                "two_roots": len(loc.roots) > 1,
                "side_ok": bool(loc.localisable and loc.side == side),
                "localised": loc.localisable,
                "tentative": loc.strength == TENTATIVE,
                "abnormal": abnormal_in_limb(findings[sid], limb),
                "confidence": loc.confidence if loc.confidence is not None else np.nan,
                "reason": _reason_key(loc.reason) if not loc.localisable else "",
            }
        )
    columns = [
        "root",
        "pred",
        "root_ok",
        "set_ok",
        "two_roots",
        "side_ok",
        "localised",
        "tentative",
        "abnormal",
    ]
    r = pd.DataFrame(rows, columns=[*columns, "confidence", "reason"])
    n = len(r)
    r = r.astype(dict.fromkeys(columns[2:], bool) | {"confidence": float})
    loc_r = r.loc[r["localised"]]
    ab_r = r.loc[r["abnormal"]]
    definite = loc_r.loc[~loc_r["tentative"]]
    tentative = loc_r.loc[loc_r["tentative"]]

    def share(x: pd.Series) -> float | None:
        return round(float(x.mean()), 4) if len(x) else None

    by_level = {}
    for root in ROOTS:
        g = r[r["root"] == root]
        if len(g) == 0:
            continue
        gl, ga = g[g["localised"]], g[g["abnormal"]]
        by_level[root] = LevelScore(
            n=len(g),
            root_accuracy=share(g["root_ok"]),
            root_accuracy_localised=share(gl["root_ok"]),
            side_accuracy_localised=share(gl["side_ok"]),
            not_localisable_share=share(~g["localised"]),
            root_set_accuracy=share(g["set_ok"]),
            n_abnormal=len(ga),
            root_accuracy_abnormal=share(ga["root_ok"]),
            root_set_accuracy_abnormal=share(ga["set_ok"]),
            side_accuracy_abnormal=share(ga["side_ok"]),
        )
    bins, ece = _calibration(loc_r["confidence"], loc_r["set_ok"] & loc_r["side_ok"])
    _, ece_tentative = _calibration(
        tentative["confidence"], tentative["set_ok"] & tentative["side_ok"]
    )
    confusion = pd.crosstab(
        pd.Categorical(r["root"], categories=list(ROOTS)),
        pd.Categorical(r["pred"], categories=[*ROOTS, NONE]),
        dropna=False,
    )
    confusion.index.name, confusion.columns.name = "simulated", "localised"
    return LocalisationScore(
        n_radiculopathies=n_radic,
        n_scored=n,
        n_localised=len(loc_r),
        root_accuracy=share(r["root_ok"]),
        side_accuracy=share(r["side_ok"]),
        root_accuracy_localised=share(loc_r["root_ok"]),
        side_accuracy_localised=share(loc_r["side_ok"]),
        not_localisable_share=share(~r["localised"]),
        calibration_error=ece,
        by_level=by_level,
        calibration=bins,
        confusion=confusion,
        reasons={
            str(k): int(v) for k, v in r.loc[~r["localised"], "reason"].value_counts().items()
        },
        n_abnormal=len(ab_r),
        root_accuracy_abnormal=share(ab_r["root_ok"]),
        side_accuracy_abnormal=share(ab_r["side_ok"]),
        n_definite=len(definite),
        root_accuracy_definite=share(definite["root_ok"]),
        side_accuracy_definite=share(definite["side_ok"]),
        n_tentative=len(tentative),
        root_accuracy_tentative=share(tentative["root_ok"]),
        side_accuracy_tentative=share(tentative["side_ok"]),
        calibration_error_tentative=ece_tentative,
        root_set_accuracy=share(r["set_ok"]),
        root_set_accuracy_abnormal=share(ab_r["set_ok"]),
        root_set_accuracy_localised=share(loc_r["set_ok"]),
        two_root_share=share(loc_r["two_roots"]),
    )


#: the localisation numbers of ``metrics.json`` (:func:`localisation_headline`)
HEADLINE_KEYS: tuple[str, ...] = (
    "n_scored",
    "n_abnormal",
    "root_set_accuracy_abnormal",
    "root_accuracy_abnormal",
    "side_accuracy_abnormal",
    "root_set_accuracy",
    "root_accuracy",
    "side_accuracy",
    "two_root_share",
)


def localisation_headline(section: Mapping[str, Any]) -> dict[str, Any]:
    """The compact localisation numbers of ``metrics.json`` from :func:`localisation_report`'s
    section ``all``: :data:`HEADLINE_KEYS` and, per simulated level, the within-root-set and
    exact accuracy over the studies with abnormal EMG of the limb, and their count."""
    out: dict[str, Any] = {k: section[k] for k in HEADLINE_KEYS if k in section}
    by_level: Mapping[str, Mapping[str, Any]] = section.get("by_level", {})
    out["by_level_abnormal"] = {
        root: {
            "n": v["n_abnormal"],
            "root_set_accuracy": v["root_set_accuracy_abnormal"],
            "root_accuracy": v["root_accuracy_abnormal"],
            "side_accuracy": v["side_accuracy_abnormal"],
        }
        for root, v in by_level.items()
    }
    return out


def localisation_report(
    bundle: Bundle, truth: pd.DataFrame, heldout_ids: Sequence[str] = ()
) -> tuple[dict[str, object], dict[str, float], pd.DataFrame]:
    """The evaluate stage's ``localisation`` section: all studies, and the held-out lab's.

    Returns the JSON section (``all``, ``heldout_site`` when ``heldout_ids`` holds scored
    studies), flat metrics (``root_accuracy``, ..., ``heldout_site.root_accuracy``) and the
    confusion table of all studies (for the figure).
    """
    scored = scored_studies(bundle, truth)
    findings = findings_from_tables(bundle.subset(scored["study_id"].tolist()))
    localised = {s: localise_findings(findings[s]) for s in scored["study_id"]}
    overall = score_localisation(bundle, truth, localised, findings)
    section: dict[str, object] = {"all": overall.to_dict()}
    metrics = overall.metrics()
    held = set(map(str, heldout_ids)) & set(scored["study_id"])
    if held:
        part = score_localisation(bundle.subset(sorted(held)), truth, localised, findings)
        section["heldout_site"] = part.to_dict()
        metrics |= {f"heldout_site.{k}": v for k, v in part.metrics().items()}
    return section, metrics, overall.confusion


__all__ = [
    "CalibrationBin",
    "abnormal_in_limb",
    "LevelScore",
    "LocalisationScore",
    "localisation_headline",
    "localisation_report",
    "score_localisation",
    "scored_studies",
]
