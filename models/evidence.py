"""What the findings that remain can and cannot show: evidence per class, soft targets, limits.

A clinician concludes a class only from the findings that define it: ALS from lower motor
neuron signs in ≥ 2 regions (Gold Coast / Awaji, clinical reference T3.1a); a demyelinating
polyneuropathy from motor conduction (EFNS/PNS 2010, T3.3a); a length-dependent axonal
polyneuropathy from leg conduction studies (T3.2); radiculopathy, myopathy and motor neuron
disease from the needle study (T3.4, T3.5); a normal study needs both halves. When a study —
or a training copy thinned by augmentation — lacks the evidence that defines its class, this
module says so in three places:

* :func:`soft_targets` — the training target becomes a distribution over the classes the
  remaining findings allow (never a certainty the findings cannot carry);
* :func:`limitations` — sentences naming what is missing (shown with every prediction);
* :func:`als_assessable` — whether the findings can establish ALS at all (LMN signs in ≥ 2
  regions), used by the predictor to keep ALS below an even chance otherwise.

All functions read the feature table (every group, coverage included) and are pure; those that
take ``ev`` accept the :func:`evidence_table` already computed for the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.vocab import CLASSES, REGIONS

_K = {c: i for i, c in enumerate(CLASSES)}

#: soft targets when the defining evidence of the true class is gone [sim: modelling choices,
#: each keeps the true class plausible but not certain and spreads the rest over the classes
#: the remaining findings cannot tell apart]. Within a class, a case reached by adding an
#: abnormal finding never carries more ``normal`` than the case before it (worse is never
#: more normal, clinical/invariants.md MR7): no abnormal muscle 0.65 → one muscle or one
#: nerve 0.25 → several roots or a post-ganglionic finding 0.
SOFT_TARGETS: Mapping[str, Mapping[str, Mapping[str, float]]] = {
    "als": {
        # LMN change confined to < 2 regions: segmental (radiculopathy, multilevel root disease)
        "one_region": {"als": 0.45, "radiculopathy": 0.45, "normal": 0.10},
        # no needle study: the NCS alone cannot show motor neuron disease
        "no_emg": {
            "als": 0.30,
            "normal": 0.25,
            "radiculopathy": 0.20,
            "axonal_pn": 0.15,
            "myopathy": 0.10,
        },
    },
    "radiculopathy": {
        "no_emg": {"radiculopathy": 0.30, "normal": 0.40, "myopathy": 0.15, "als": 0.15},
        # paraspinal fibrillations alone are non-specific (14.5 % of healthy adults, T2.5)
        "no_abnormal_muscle": {"radiculopathy": 0.35, "normal": 0.65},
        # one abnormal limb muscle cannot be localised (≥ 2 muscles of one root, T3.5)
        "one_muscle": {"radiculopathy": 0.50, "normal": 0.25, "axonal_pn": 0.15, "als": 0.10},
        # abnormal muscles of one nerve only: a mononeuropathy pattern (Wilbourn & Aminoff 1998:
        # ≥ 2 muscles of one root supplied by different nerves, T3.5)
        "one_nerve": {"radiculopathy": 0.50, "normal": 0.25, "axonal_pn": 0.15, "als": 0.10},
        # neurogenic change across several roots of one limb: multilevel roots or early ALS
        "multi_root": {"radiculopathy": 0.55, "als": 0.45},
        # an abnormal SNAP in the weak limb is post-ganglionic (plexus, nerve, neuropathy):
        # a root lesion spares it (T3.5)
        "post_ganglionic": {"radiculopathy": 0.50, "axonal_pn": 0.50},
    },
    "myopathy": {
        "no_emg": {"myopathy": 0.30, "normal": 0.40, "radiculopathy": 0.15, "als": 0.15},
        "no_myopathic_muscle": {"myopathy": 0.40, "normal": 0.50, "radiculopathy": 0.10},
    },
    "demyelinating_pn": {
        # the needle study cannot show demyelination at all (MR8c): the label keeps little weight
        "no_ncs": {
            "demyelinating_pn": 0.15,
            "axonal_pn": 0.35,
            "normal": 0.25,
            "radiculopathy": 0.25,
        },
        "no_motor": {"demyelinating_pn": 0.35, "axonal_pn": 0.45, "normal": 0.20},
        # motor conduction examined but no demyelinating feature in what remains
        "no_motor_evidence": {"demyelinating_pn": 0.35, "axonal_pn": 0.40, "normal": 0.25},
    },
    "axonal_pn": {
        "no_ncs": {
            "axonal_pn": 0.30,
            "normal": 0.30,
            "radiculopathy": 0.25,
            "demyelinating_pn": 0.15,
        },
        "no_leg_ncs": {"axonal_pn": 0.45, "normal": 0.35, "demyelinating_pn": 0.20},
        # every response within its (age-adjusted) limits: no polyneuropathy shown (T3.2 case
        # definition: an abnormal attribute in ≥ 2 nerves)
        "no_abnormal_ncs": {"axonal_pn": 0.35, "normal": 0.65},
    },
}
_LEG_NCS = (
    "ncs_sural_sensory_amp_pct_lln",
    "ncs_superficial_peroneal_sensory_amp_pct_lln",
    "ncs_peroneal_motor_amp_pct_lln",
    "ncs_tibial_motor_amp_pct_lln",
)
_EMG_ABNORMAL = ("fibs", "large_muap", "reduced_recruit", "lmn_muscle")
#: a hint of demyelination in what remains (softer than the EFNS/PNS criteria on purpose: a
#: study showing any of these still carries its demyelinating label): slowest motor CV below
#: 90 % of LLN, DML above 125 % of ULN, F above 120 % of ULN (Hadden 1998 AIDP limits, T3.3e)
DEMYEL_HINT_CV_PCT_LLN = 90.0
DEMYEL_HINT_DML_PCT_ULN = 125.0
DEMYEL_HINT_F_PCT_ULN = 120.0
#: neurogenic muscles of one limb explained by one root below this share: several roots
#: (rules.RADIC_MIN_SINGLE_ROOT_FRAC is 0.7; below one half no single root dominates) [sim]
RADIC_MIN_ROOT_FRAC = 0.5
#: below this many regions examined, ALS cannot be assessed (Gold Coast: ≥ 2 regions, T3.1a)
ALS_MIN_REGIONS_EXAMINED = 2
#: the probability an unassessable ALS is kept below (strictly)
ALS_UNASSESSABLE_MAX_P = 0.45


def _col(X: pd.DataFrame, name: str, absent: float = np.nan) -> np.ndarray:
    """Column as float; ``absent`` fills a column the table does not have at all.

    A table without the coverage or criteria columns says nothing about what was examined, so
    callers pass a value that means "examined / evidence present" there (never "missing").
    """
    if name in X.columns:
        return X[name].to_numpy(dtype=float)
    return np.full(len(X), absent)


def _pos(values: np.ndarray) -> np.ndarray:
    """True where a count/value is known and > 0 (NaN = not measured = False)."""
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(values, nan=0.0) > 0


def evidence_table(X: pd.DataFrame) -> pd.DataFrame:
    """Boolean evidence per study (index of ``X``): what was examined and what it showed.

    Columns: ``has_emg``, ``has_ncs``, ``has_motor``, ``has_leg_ncs``, ``regions_examined``
    (int), ``muscles_examined`` (int), ``neurogenic_regions`` (int), ``lmn_two_regions``,
    ``abnormal_limb_muscles`` (int), ``multi_root``, ``one_nerve``, ``post_ganglionic``,
    ``demyel_evidence``, ``ncs_abnormal``, ``myopathic_muscle``.
    """
    muscles = np.nan_to_num(_col(X, "cov_muscles_count", 99.0))
    motor = np.nan_to_num(_col(X, "cov_motor_nerves_count", 99.0))
    sensory = np.nan_to_num(_col(X, "cov_sensory_nerves_count", 99.0))
    regions = np.nan_to_num(_col(X, "crit_regions_examined_count", 4.0))
    leg = np.zeros(len(X), dtype=bool) if any(c in X.columns for c in _LEG_NCS) else True
    for c in _LEG_NCS:
        leg = leg | ~np.isnan(_col(X, c))
    neuro_regions = np.zeros(len(X))
    for r in REGIONS:
        hit = np.zeros(len(X), dtype=bool)
        for f in _EMG_ABNORMAL:
            hit |= _pos(_col(X, f"emg_{r}_{f}_frac"))
        neuro_regions += hit
    lmn = np.nan_to_num(_col(X, "crit_lmn_region_count", 4.0))
    limb_abn = np.nan_to_num(_col(X, "crit_abnormal_limb_muscle_count", 99.0))
    root_frac = _col(X, "crit_single_root_frac")
    with np.errstate(invalid="ignore"):
        demyel = (
            _pos(_col(X, "crit_demyel_nerve_count", 1.0))
            | (_col(X, "ncs_motor_min_cv_pct_lln") < DEMYEL_HINT_CV_PCT_LLN)
            | (_col(X, "ncs_motor_max_lat_pct_uln") > DEMYEL_HINT_DML_PCT_ULN)
            | (_col(X, "ncs_f_max_lat_pct_uln") > DEMYEL_HINT_F_PCT_ULN)
            | _pos(_col(X, "crit_cb_nerve_count"))
        )
        multi_root = (limb_abn >= 2) & (root_frac < RADIC_MIN_ROOT_FRAC)
        one_nerve = (limb_abn >= 2) & (_col(X, "crit_single_root_nerves_count") < 2)
        post_ganglionic = _col(X, "crit_neurogenic_limb_snap_abnormal") >= 1
        ncs_abnormal = (
            _pos(_col(X, "crit_sensory_abnormal_count", 1.0))
            | _pos(_col(X, "ncs_motor_low_amp_frac"))
            | (_col(X, "crit_length_dependent") >= 1)
        )
    return pd.DataFrame(
        {
            "has_emg": muscles > 0,
            "has_ncs": (motor + sensory) > 0,
            "has_motor": motor > 0,
            "has_leg_ncs": leg,
            "regions_examined": regions.astype(int),
            "muscles_examined": muscles.astype(int),
            "neurogenic_regions": neuro_regions.astype(int),
            "lmn_two_regions": (lmn >= 2) | ((lmn >= 1) & (neuro_regions >= 2)),
            "abnormal_limb_muscles": limb_abn.astype(int),
            "multi_root": multi_root,
            "one_nerve": one_nerve,
            "post_ganglionic": post_ganglionic,
            "demyel_evidence": demyel,
            "ncs_abnormal": ncs_abnormal,
            "myopathic_muscle": _pos(_col(X, "crit_myopathic_muscle_frac", 1.0)),
        },
        index=X.index,
    )


def missing_evidence(X: pd.DataFrame, y: np.ndarray, ev: pd.DataFrame | None = None) -> np.ndarray:
    """Per row, the :data:`SOFT_TARGETS` case of class ``y`` (class names) that applies, or ""."""
    ev = evidence_table(X) if ev is None else ev
    y = np.asarray(y, dtype=object)
    case = np.full(len(X), "", dtype=object)

    def put(cls: str, name: str, mask: np.ndarray) -> None:
        sel = (y == cls) & mask & (case == "")
        case[sel] = name

    no_emg, no_ncs = ~ev["has_emg"].to_numpy(), ~ev["has_ncs"].to_numpy()
    put("als", "no_emg", no_emg)
    put("als", "one_region", ~ev["lmn_two_regions"].to_numpy())
    put("radiculopathy", "no_emg", no_emg)
    limb_abn = ev["abnormal_limb_muscles"].to_numpy()
    put("radiculopathy", "no_abnormal_muscle", limb_abn == 0)
    put("radiculopathy", "one_muscle", limb_abn == 1)
    put("radiculopathy", "one_nerve", ev["one_nerve"].to_numpy())
    put("radiculopathy", "multi_root", ev["multi_root"].to_numpy())
    put("radiculopathy", "post_ganglionic", ev["post_ganglionic"].to_numpy())
    put("myopathy", "no_emg", no_emg)
    put("myopathy", "no_myopathic_muscle", ~ev["myopathic_muscle"].to_numpy())
    put("demyelinating_pn", "no_ncs", no_ncs)
    put("demyelinating_pn", "no_motor", ~ev["has_motor"].to_numpy())
    put("demyelinating_pn", "no_motor_evidence", ~ev["demyel_evidence"].to_numpy())
    put("axonal_pn", "no_ncs", no_ncs)
    put("axonal_pn", "no_leg_ncs", ~ev["has_leg_ncs"].to_numpy())
    put("axonal_pn", "no_abnormal_ncs", ~ev["ncs_abnormal"].to_numpy())
    return case


def soft_targets(X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """Training targets (n, K) in :data:`CLASSES` order: one-hot unless evidence is missing.

    Parameters
    ----------
    X : DataFrame
        Feature rows of the training studies (or of their thinned copies).
    y : ndarray of str
        Their reference class names.
    """
    y = np.asarray(y, dtype=object)
    out = np.zeros((len(y), len(CLASSES)))
    out[np.arange(len(y)), [_K[c] for c in y]] = 1.0
    case = missing_evidence(X, y)
    for i in np.flatnonzero(case != ""):
        out[i] = 0.0
        for c, p in SOFT_TARGETS[y[i]][case[i]].items():
            out[i, _K[c]] = p
    return out


#: a remaining-findings class needs at least this target to be a conclusion (else inconclusive)
CONCLUSION_MIN_TARGET = 0.5


def electrodiagnostic_reference(X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """Per row, the conclusion the study's findings allow (class name), or "" if none.

    ``y`` is the true disease. A lab's reference label is the electromyographer's
    conclusion, which can only rest on what was examined: a radiculopathy with a normal needle
    study is reported as a normal study, an ALS examined in one region cannot be called
    either way. The conclusion is the :func:`soft_targets` class with the unique largest
    target of at least :data:`CONCLUSION_MIN_TARGET`; where no class has one the study is
    inconclusive (""). Where the evidence is present this is ``y`` itself.
    """
    t = soft_targets(X, y)
    top = t.max(axis=1)
    unique = (t == top[:, None]).sum(axis=1) == 1
    ok = unique & (top >= CONCLUSION_MIN_TARGET)
    return np.where(ok, np.asarray(CLASSES, dtype=object)[t.argmax(axis=1)], "")


def expand_soft(
    X: pd.DataFrame, targets: np.ndarray, weights: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Weighted duplication: one row per (study, class with target > 0), weight × target.

    LightGBM's multiclass objective takes hard labels; a row duplicated per class with weights
    proportional to its target minimises the same cross-entropy as the soft target. Returns the
    expanded features, integer labels and weights (a one-hot row stays one row).
    """
    rows, cls = np.nonzero(targets > 0)
    X_rep = X.iloc[rows]
    return X_rep, cls.astype(int), np.asarray(weights, dtype=float)[rows] * targets[rows, cls]


def als_assessable(X: pd.DataFrame, ev: pd.DataFrame | None = None) -> np.ndarray:
    """True where the findings can establish ALS: LMN signs in ≥ 2 regions (Gold Coast, T3.1a).

    Also counted: LMN signs in one region with neurogenic change in another. A study with
    fewer than 2 regions examined can never qualify; adding normal muscles of a new region
    never makes it qualify (clinical/invariants.md MR3), adding LMN regions does (MR4).
    """
    return (evidence_table(X) if ev is None else ev)["lmn_two_regions"].to_numpy()


def cap_unassessable_als(proba: np.ndarray, assessable: np.ndarray, als_index: int) -> np.ndarray:
    """Keep P(ALS) at most :data:`ALS_UNASSESSABLE_MAX_P` where the findings cannot establish it.

    The excess goes to the other *diseases* in proportion to their probabilities (Bayes' rule
    with ALS's likelihood scaled down among the abnormal classes), so their ranking is kept and
    P(normal) is untouched: LMN signs too few to establish ALS are still abnormal findings, and
    a cap that fed P(normal) would make a worse study look more normal (invariants MR7). If the
    other diseases hold nothing, the excess goes to radiculopathy, the segmental alternative.
    Columns are in :data:`features.vocab.CLASSES` order.
    """
    p = np.asarray(proba, dtype=float).copy()
    over = ~np.asarray(assessable) & (p[:, als_index] > ALS_UNASSESSABLE_MAX_P)
    if not over.any():
        return p
    sub = p[over]
    excess = sub[:, als_index] - ALS_UNASSESSABLE_MAX_P
    others = np.ones(p.shape[1], dtype=bool)
    others[[als_index, _K["normal"]]] = False
    mass = sub[:, others].sum(axis=1)
    share = np.where(
        (mass > 1e-9)[:, None],
        sub[:, others] / np.maximum(mass, 1e-12)[:, None],
        (np.flatnonzero(others) == _K["radiculopathy"])[None, :].astype(float),
    )
    sub[:, others] += excess[:, None] * share
    sub[:, als_index] = ALS_UNASSESSABLE_MAX_P
    p[over] = sub
    return p


def limitations(X: pd.DataFrame, ev: pd.DataFrame | None = None) -> list[list[str]]:
    """Per study, sentences naming what the study cannot show because it was not examined."""
    ev = evidence_table(X) if ev is None else ev
    out: list[list[str]] = []
    for row in ev.itertuples():
        notes: list[str] = []
        if not row.has_emg:
            notes.append(
                "Needle EMG not done: radiculopathy, myopathy and motor neuron disease (ALS) "
                "are not assessed."
            )
        elif row.regions_examined < ALS_MIN_REGIONS_EXAMINED:
            notes.append(
                f"Needle EMG examined {row.regions_examined} of 4 regions (bulbar, cervical, "
                "thoracic, lumbosacral): ALS cannot be assessed from one region; the Gold Coast "
                "criteria need lower motor neuron signs in at least 2."
            )
        elif row.abnormal_limb_muscles > 0 and not row.lmn_two_regions:
            notes.append(
                "Lower motor neuron signs in fewer than 2 regions: the findings do not establish "
                "ALS (the Gold Coast criteria need at least 2)."
            )
        if row.has_emg and row.muscles_examined == 1:
            notes.append(
                "Only one muscle examined: a neurogenic finding cannot be localised (root, "
                "plexus, nerve or polyneuropathy need ≥ 2 muscles of different nerves)."
            )
        if not row.has_ncs:
            notes.append(
                "Nerve conduction studies not done: a polyneuropathy (axonal or demyelinating) "
                "is not assessed."
            )
        elif not row.has_motor:
            notes.append(
                "No motor nerve conduction: demyelination, which is defined on motor "
                "conduction, cannot be assessed."
            )
        elif not row.has_leg_ncs:
            notes.append(
                "No leg nerve conduction: a length-dependent polyneuropathy, which starts in the "
                "legs, cannot be assessed."
            )
        out.append(notes)
    return out


def class_lacks_evidence(
    X: pd.DataFrame, classes: np.ndarray, ev: pd.DataFrame | None = None
) -> np.ndarray:
    """True where the named class of each row is not supported by the evidence examined.

    A class lacks evidence when its :func:`missing_evidence` case applies, or — for ``normal``
    — when the needle study or the NCS was not done (a normal half-study is not a normal study).
    """
    ev = evidence_table(X) if ev is None else ev
    classes = np.asarray(classes, dtype=object)
    lacks = missing_evidence(X, classes, ev) != ""
    half = ~(ev["has_emg"].to_numpy() & ev["has_ncs"].to_numpy())
    return lacks | ((classes == "normal") & half)
