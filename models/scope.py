"""Out-of-scope / insufficient-evidence assessment and the six-class probabilities that respect it.

A learnt detector (one LightGBM multiclass head over "in scope" + the non-focal conditions of
:mod:`simulator.out_of_scope`) says how likely a study lies **outside the six classes** and
which condition it is most like; coverage says whether **enough was examined to say** at all.
Focal neuropathies (carpal tunnel, ulnar at the elbow, fibular at the head) are not learnt here:
they are found by published criteria (:mod:`features.focal`) and stated beside any class (a
normal study with an incidental CTS *is* a CTS study, so no detector could separate them).

The six-class probabilities stay (they sum to 1) but follow the mixture a model trained with
soft targets for out-of-scope studies would learn: ``p'(c) = (1 - q) p(c) + sum_k q_k t_k(c)``
with ``q_k`` the detector's probability of condition ``k`` and ``t_k`` its soft target
(:data:`SOFT_TARGETS`: the proxy class 0.5, the rest spread; never a certain member of a class).
See ``docs/out-of-scope.md``.

A **neuromuscular-junction disorder** is not learnt either: a repetitive-stimulation decrement
above 10 % (``rns_decrement_abnormal``, :mod:`features.special_ncs`; data contract) says it by
rule (:func:`nmj_assessments`), so such a study is never headlined as a confident in-scope
class, whatever the routine study looks like (myasthenia's is normal).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.vocab import CLASS_LABELS, CLASSES, REGIONS
from models.evidence import cap_unassessable_als

#: conditions the detector learns (the focal ones go to features.focal; myasthenia with a normal
#: routine study is indistinguishable from normal without repetitive stimulation)
LEARNT_CONDITIONS: tuple[str, ...] = (
    "brachial_plexopathy",
    "kennedy",
    "sensory_neuronopathy",
    "post_polio",
    "cervical_myelopathy",
)
OUTCOMES: tuple[str, ...] = ("in_scope", *LEARNT_CONDITIONS)

#: the class an examiner forced to choose would write (as simulator.out_of_scope.PROXY_CLASS)
_PROXY = {
    "brachial_plexopathy": "radiculopathy",
    "kennedy": "als",
    "sensory_neuronopathy": "axonal_pn",
    "post_polio": "als",
    "cervical_myelopathy": "als",
}
#: soft target of each condition over the six classes: the classes an examiner forced to choose
#: among the six would consider, the proxy first, never a certainty, and (almost) nothing on a
#: class the pattern argues against [† modelling choice, reasoned from the physiology]:
#: - plexopathy: a focal neurogenic limb like a root lesion, but postganglionic, so the limb's
#:   SNAPs are low; abnormal sensory responses argue against anterior horn disease (ALS 0.05)
#:   and a one-limb pattern against a generalised neuropathy; mild cases read normal;
#: - Kennedy (SBMA): LMN signs in several regions with normal motor conduction, as in ALS; the
#:   SNAP loss is non-length-dependent (neuronopathy), unlike an axonal polyneuropathy;
#: - sensory neuronopathy: absent SNAPs with normal motor studies (axonal PN the nearest class);
#: - post-polio and cervical myelopathy: old or segmental LMN change, ALS or root-like.
SOFT_TARGETS: dict[str, dict[str, float]] = {
    "brachial_plexopathy": {"radiculopathy": 0.45, "axonal_pn": 0.25, "normal": 0.2,
                            "als": 0.05, "demyelinating_pn": 0.05},
    "kennedy": {"als": 0.6, "axonal_pn": 0.15, "radiculopathy": 0.15, "demyelinating_pn": 0.05,
                "normal": 0.05},
    "sensory_neuronopathy": {"axonal_pn": 0.6, "normal": 0.25, "demyelinating_pn": 0.1,
                             "radiculopathy": 0.05},
    "post_polio": {"als": 0.45, "radiculopathy": 0.35, "axonal_pn": 0.1, "normal": 0.1},
    "cervical_myelopathy": {"als": 0.45, "radiculopathy": 0.45, "normal": 0.1},
}  # fmt: skip
#: studies of these simulated conditions teach the detector "not outside": focal neuropathies
#: are reported by features.focal beside any class, myasthenia's routine study is normal
IN_SCOPE_CONDITIONS: tuple[str, ...] = (
    "carpal_tunnel",
    "ulnar_neuropathy_elbow",
    "fibular_neuropathy",
    "myasthenia",
)

LABELS: dict[str, str] = {
    "brachial_plexopathy": "a brachial plexopathy",
    "kennedy": "Kennedy disease (SBMA)",
    "sensory_neuronopathy": "a sensory neuronopathy",
    "post_polio": "post-polio (old stable denervation)",
    "cervical_myelopathy": "cervical myelopathy / amyotrophy",
    "neuromuscular_junction": "a neuromuscular-junction disorder (e.g. myasthenia gravis)",
}
#: the rule-based condition of :func:`nmj_assessments` (``most_like``)
NMJ = "neuromuscular_junction"

#: "not enough examined to say": fewer nerves and muscles than any class needs (T5.1 minimum
#: protocols: at least one motor and one sensory nerve, or a needle screen of >= 3 muscles) [†]
MIN_NERVES = 2
MIN_MUSCLES = 3

Status = Literal["in_scope", "outside", "insufficient"]

#: the detector's folder inside a model directory, and its files
SCOPE_DIR = "scope"
_FILES = ("scope.json", "scope_booster.txt")


def files_digest(directory: str | Path) -> str:
    """SHA-256 (hex) over the detector's saved files, for the model's content version."""
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update(name.encode("utf-8"))
        digest.update((Path(directory) / name).read_bytes())
    return digest.hexdigest()


def copy_into_model(directory: str | Path, model_dir: str | Path) -> Path:
    """Copy a saved detector into ``model_dir/scope`` (one model artifact); returns that folder."""
    target = Path(model_dir) / SCOPE_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name in _FILES:
        shutil.copyfile(Path(directory) / name, target / name)
    return target


@dataclass(frozen=True)
class ScopeAssessment:
    """Whether the six classes apply to a study.

    Attributes
    ----------
    status : {"in_scope", "outside", "insufficient"}
    probability : float
        Detector probability that the study lies outside the six classes (0-1).
    most_like : str or None
        The learnt condition it is most like (when outside), or None.
    reason : str
        One sentence for the page.
    """

    status: Status
    probability: float
    most_like: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "probability": self.probability,
            "most_like": self.most_like,
            "reason": self.reason,
        }


#: counts of what was examined, outside the coverage group: like coverage, they say which work-up
#: a study had, and each out-of-scope condition is simulated with its referral's work-up (the
#: count of regions examined, 4 for an ALS work-up, said "cervical myelopathy" for a bulbar-onset
#: ALS, vig_als_02)
_EXAMINED_COUNTS: frozenset[str] = frozenset(
    {
        "crit_lmn_regions_tested_count",
        "crit_motor_tested_count",
        "crit_sensory_tested_count",
        "crit_regions_examined_count",
    }
)


def detector_columns(columns: list[str] | pd.Index) -> list[str]:
    """Features the detector uses: all but coverage and the counts of what was examined (what
    was tested must not vote)."""
    return [c for c in columns if not str(c).startswith("cov_") and str(c) not in _EXAMINED_COUNTS]


def _col(X: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(X[name], dtype=float) if name in X.columns else np.full(len(X), np.nan)


def excluded_conditions(X: pd.DataFrame) -> np.ndarray:
    """(n, len(LEARNT_CONDITIONS)) True where the study's findings rule a condition out.

    A learnt detector weighs everything; a few findings are, by the physiology, incompatible
    with a condition whatever else the study shows, and the detector is not left to learn them
    from simulated examples (it did not: a bulbar-onset ALS with tongue fibrillations was "most
    like cervical myelopathy" at 72-84 %):

    * **cervical myelopathy** spares the bulbar and thoracic segments (T3.6; Kuncl 1988): LMN
      signs (fibrillations or LMN-type muscles) in a bulbar or thoracic muscle rule it out;
    * **brachial plexopathy** is post-ganglionic, so the territory's SNAPs are lost (T3.5: a
      normal SNAP places the lesion proximal to the dorsal root ganglion): every arm SNAP
      within its limit, with an upper-trunk SNAP (median or radial) and the lower-trunk one
      (ulnar) both recorded, rules it out.

    A finding not measured (NaN) never rules anything out.
    """
    out = np.zeros((len(X), len(LEARNT_CONDITIONS)), dtype=bool)
    with np.errstate(invalid="ignore"):
        lmn = np.zeros(len(X), dtype=bool)
        for region in ("bulbar", "thoracic"):
            for sign in ("lmn_muscle", "fibs"):
                lmn |= _col(X, f"emg_{region}_{sign}_frac") > 0
        upper_trunk = np.fmax(
            _col(X, "ncs_median_sensory_amp_pct_lln"), _col(X, "ncs_radial_sensory_amp_pct_lln")
        )
        snaps_normal = (
            (_col(X, "ncs_sensory_upper_min_amp_pct_lln") >= 100)
            & (upper_trunk >= 100)
            & (_col(X, "ncs_ulnar_sensory_amp_pct_lln") >= 100)
        )
    out[:, LEARNT_CONDITIONS.index("cervical_myelopathy")] = lmn
    out[:, LEARNT_CONDITIONS.index("brachial_plexopathy")] = snaps_normal
    return out


def apply_exclusions(Q: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Detector probabilities with the excluded conditions' mass given to "in scope"."""
    Q = np.array(Q, dtype=float, copy=True)
    if len(Q) == 0:
        return Q
    moved = np.where(excluded, Q[:, 1:], 0.0)
    Q[:, 1:] -= moved
    Q[:, 0] += moved.sum(axis=1)
    return Q


@dataclass(frozen=True)
class ScopeDetector:
    """The learnt out-of-scope head: booster, its features and the decision threshold."""

    booster: lgb.Booster
    feature_names: tuple[str, ...]
    threshold: float

    def proba(self, X: pd.DataFrame) -> np.ndarray:
        """(n, len(OUTCOMES)) probabilities; column 0 is in scope. Conditions the study's
        findings rule out (:func:`excluded_conditions`) give their mass to "in scope"."""
        if len(X) == 0:
            return np.zeros((0, len(OUTCOMES)))
        Xd = X.reindex(columns=list(self.feature_names)).astype(float)
        Q = np.asarray(self.booster.predict(Xd.to_numpy(), num_threads=2))
        return apply_exclusions(Q, excluded_conditions(X))

    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "scope_booster.txt").write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = {"features": list(self.feature_names), "threshold": self.threshold}
        meta["outcomes"] = list(OUTCOMES)
        (d / "scope.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @staticmethod
    def load(directory: str | Path) -> ScopeDetector | None:
        """The detector saved in ``directory``, or None when the model has none."""
        d = Path(directory)
        if not (d / "scope.json").is_file():
            return None
        meta = json.loads((d / "scope.json").read_text(encoding="utf-8"))
        booster = lgb.Booster(model_str=(d / "scope_booster.txt").read_text(encoding="utf-8"))
        return ScopeDetector(booster, tuple(meta["features"]), float(meta["threshold"]))


def train_detector(
    X_in: pd.DataFrame,
    X_oos: pd.DataFrame,
    condition: np.ndarray,
    X_in_valid: pd.DataFrame,
    *,
    false_outside_rate: float = 0.03,
    seed: int = 42,
    num_boost_round: int = 150,
    max_in_scope: int = 6000,
) -> ScopeDetector:
    """Train the detector on in-scope and out-of-scope studies (same feature table).

    The threshold on P(outside) is the ``1 - false_outside_rate`` quantile over the in-scope
    validation studies, so that about that share of in-scope studies is called outside.
    """
    cols = detector_columns(list(X_in.columns))
    if len(X_in) > max_in_scope:  # bounded cost: a random subset of the in-scope studies
        X_in = X_in.sample(max_in_scope, random_state=seed)
    codes = [LEARNT_CONDITIONS.index(c) + 1 if c in LEARNT_CONDITIONS else 0 for c in condition]
    y = np.concatenate([np.zeros(len(X_in), dtype=int), np.array(codes, dtype=int)])
    X = pd.concat([X_in[cols], X_oos.reindex(columns=cols)], ignore_index=True).astype(float)
    n_in, n_out = int((y == 0).sum()), max(int((y > 0).sum()), 1)
    w = np.where(y == 0, 1.0, n_in / n_out)  # balance in scope against outside
    params = {
        "objective": "multiclass",
        "num_class": len(OUTCOMES),
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "num_threads": 2,
        "verbose": -1,
    }
    booster = lgb.train(params, lgb.Dataset(X.to_numpy(), y, weight=w), num_boost_round)
    det = ScopeDetector(booster, tuple(cols), 0.5)
    q = 1.0 - det.proba(X_in_valid)[:, 0]
    thr = float(np.quantile(q, 1.0 - false_outside_rate)) if len(q) else 0.5
    return ScopeDetector(booster, tuple(cols), max(thr, 0.5))


def mix_probabilities(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Six-class probabilities under the soft-target mixture (rows still sum to 1).

    ``P`` (n, 6) in-scope model probabilities in :data:`CLASSES` order; ``Q`` (n, outcomes)
    detector probabilities.
    """
    T = np.array([[SOFT_TARGETS[k].get(c, 0.0) for c in CLASSES] for k in LEARNT_CONDITIONS])
    q_out = Q[:, 1:]
    return (1.0 - q_out.sum(axis=1, keepdims=True)) * P + q_out @ T


def mixed_capped(P: np.ndarray, Q: np.ndarray, assessable: np.ndarray) -> np.ndarray:
    """The soft-target mixture, then the Gold Coast ALS cap (the headline's probabilities).

    The mixture can lift P(ALS) again (Kennedy's soft target is mostly ALS), but a study with
    lower motor neuron signs in fewer than two regions cannot establish ALS whatever it is
    most like, so :func:`models.evidence.cap_unassessable_als` is applied after it.
    ``assessable`` (n,) bool: :func:`models.evidence.als_assessable` of the rows.
    """
    return cap_unassessable_als(mix_probabilities(P, Q), assessable, CLASSES.index("als"))


#: the reason stated when ALS leads but the findings cannot establish it (Gold Coast: LMN signs
#: in at least two regions)
ALS_UNESTABLISHED = (
    "Not enough to establish ALS: lower motor neuron signs in one region "
    "(the Gold Coast criteria need two of bulbar, cervical, thoracic, lumbosacral)."
)


def als_unestablished_assessments(
    scopes: Sequence[ScopeAssessment | None],
    top_is_als: np.ndarray,
    assessable: np.ndarray,
) -> list[ScopeAssessment | None]:
    """Mark in-scope studies whose most probable class is ALS but cannot be established.

    The ALS cap keeps P(ALS) below an even chance where LMN signs are found in fewer than two
    regions; it can still be the largest of six (e.g. cervical LMN signs of a myelopathy, with
    the rest of the study normal). The headline then says that the findings are insufficient
    for ALS rather than naming it. Outside and insufficient assessments are kept; ``scopes``
    is row-aligned with the two arrays (None: no detector in the model).
    """
    out = list(scopes)
    for i in np.flatnonzero(np.asarray(top_is_als, dtype=bool) & ~np.asarray(assessable)):
        prev = out[i]
        if prev is not None and prev.status != "in_scope":
            continue
        p_out = 0.0 if prev is None else prev.probability
        out[i] = ScopeAssessment("insufficient", p_out, None, ALS_UNESTABLISHED)
    return out


def insufficient(X: pd.DataFrame) -> np.ndarray:
    """True where too little was examined for any of the six classes (coverage features)."""
    nerves = X.get("cov_motor_nerves_count", 0) + X.get("cov_sensory_nerves_count", 0)
    muscles = X.get("cov_muscles_count", 0)
    nerves = np.nan_to_num(np.asarray(nerves, dtype=float))
    muscles = np.nan_to_num(np.asarray(muscles, dtype=float))
    return (nerves < MIN_NERVES) & (muscles < MIN_MUSCLES)


def assess(Q: np.ndarray, threshold: float, thin: np.ndarray) -> list[ScopeAssessment]:
    """One assessment per row from detector probabilities and the coverage check."""
    out = []
    for q_row, few in zip(Q, thin, strict=True):
        p_out = float(1.0 - q_row[0])
        like = LEARNT_CONDITIONS[int(np.argmax(q_row[1:]))]
        if few:
            out.append(
                ScopeAssessment(
                    "insufficient",
                    p_out,
                    None,
                    f"Not enough examined to say: fewer than {MIN_NERVES} nerves and "
                    f"{MIN_MUSCLES} muscles.",
                )
            )
        elif p_out >= threshold:
            out.append(
                ScopeAssessment(
                    "outside",
                    p_out,
                    like,
                    f"Outside the six classes ({100 * p_out:.0f} %): most like {LABELS[like]}.",
                )
            )
        else:
            out.append(ScopeAssessment("in_scope", p_out, None, "Within the six classes."))
    return out


def nmj_assessments(
    scopes: Sequence[ScopeAssessment | None], X: pd.DataFrame
) -> list[ScopeAssessment | None]:
    """Mark the studies whose RNS decrement is above 10 % as outside: an NMJ disorder.

    The rule wins over the detector and over "insufficient" (the decrement is itself the
    finding); studies without RNS (NaN) or with a decrement at or below 10 % keep their
    assessment. A decrement beside **denervation** on needle EMG (fibrillations or large
    neurogenic units in any region) is not called an NMJ disorder: immature reinnervating
    end-plates also decrement, as in ALS and other motor neuron or root disease, so there the
    six classes still apply (the report still prints the decrement against its limit).
    ``scopes`` is row-aligned with ``X`` (None: no detector in the model).
    """
    flag = np.asarray(X.get("rns_decrement_abnormal", np.full(len(X), np.nan)), dtype=float)
    dec = np.asarray(X.get("rns_max_decrement_pct", np.full(len(X), np.nan)), dtype=float)
    denervated = _denervated(X)
    out = list(scopes)
    for i in np.flatnonzero((flag == 1) & ~denervated):
        prev = out[i]
        p_out = 1.0 if prev is None else prev.probability  # the rule is no probability
        out[i] = ScopeAssessment(
            "outside",
            p_out,
            NMJ,
            f"RNS decrement {dec[i]:.0f} % (limit 10 %): a neuromuscular-junction disorder "
            "(e.g. myasthenia gravis) is suggested, with no denervation on needle EMG to explain "
            "it; it is outside the six classes.",
        )
    return out


def _denervated(X: pd.DataFrame) -> np.ndarray:
    """Per row, whether any region shows fibrillations or large (neurogenic) MUAPs."""
    out = np.zeros(len(X), dtype=bool)
    for r in REGIONS:
        for kind in ("fibs", "large_muap"):
            col = f"emg_{r}_{kind}_frac"
            if col in X:
                out |= np.nan_to_num(np.asarray(X[col], dtype=float), nan=0.0) > 0
    return out


def headline(diagnosis: str, scope: ScopeAssessment | None, focal_texts: list[str]) -> str:
    """The page's headline: never a confident in-scope class for an outside/insufficient study.

    ``diagnosis`` is the six-class top class; ``focal_texts`` the focal findings' sentences.
    """
    name = CLASS_LABELS.get(diagnosis, diagnosis)
    if scope is not None and scope.status == "insufficient":
        if scope.reason == ALS_UNESTABLISHED:
            return "Not enough to establish ALS: lower motor neuron signs in one region"
        return "Not enough examined to say"
    if scope is not None and scope.status == "outside":
        return f"Outside the six classes — most like {LABELS[scope.most_like or 'kennedy']}"
    if focal_texts and diagnosis == "normal":
        return "Focal neuropathy: " + "; ".join(focal_texts)
    if focal_texts:
        return f"{name}, with " + "; ".join(focal_texts)
    return name


def headline_class(diagnosis: str, scope: ScopeAssessment | None, has_focal: bool) -> str | None:
    """The in-scope class a headline states, or None when it states none (for scoring)."""
    if scope is not None and scope.status != "in_scope":
        return None
    if has_focal and diagnosis == "normal":
        return None
    return diagnosis
