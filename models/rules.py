"""Rule-based classifier from published electrodiagnostic criteria (the transparent baseline).

It reads only the ``crit_*`` columns of the feature table (helper A computes them per study) and
applies the criteria in a fixed order, first match wins:

1. ALS — Awaji/Gold Coast region counting: lower-motor-neuron change in ≥2 of the 4 regions
   (Gold Coast, Shefner 2020; T3.1a), or in 1 region with active denervation in ≥3 muscles not
   explained by one root [sim: "possible" category]; sensory conduction essentially normal
   (abnormal sensory responses argue against ALS: T3.1c, T3.6 Kennedy disease) and no
   conduction block in ≥2 nerves (multifocal motor neuropathy, T3.6);
2. demyelinating PN — EFNS/PNS 2010 CIDP criteria: a demyelinating abnormality (DML, CV,
   F-latency, conduction block, dispersion) in ≥2 motor nerves, or 1 nerve plus a block or
   abnormal sensory responses in ≥2 nerves (EAN/PNS 2021; ``shared/reference/clinical-reference.md``
   T3.3a, T3.3b);
3. myopathy — short, small, polyphasic MUAPs / early recruitment in a sizeable share of the
   muscles sampled, not outnumbered by neurogenic muscles (T3.4);
4. axonal PN — abnormal sensory responses in ≥2 nerves (England 2005 case definition, T3.2),
   a length-dependent gradient, or a sural/radial amplitude ratio below its age limit (0.40,
   Rutkove 1997; 0.25 from 60 y; 0.08 from 70 y; T3.2);
5. radiculopathy — sensory responses normal (lesion proximal to the DRG) with neurogenic change
   in muscles of one root supplied by ≥2 different nerves, or with active paraspinal
   denervation, or active denervation in ≥2 muscles (Wilbourn & Aminoff 1998, T3.5);
6. otherwise normal.

Missing criteria columns (NaN) never satisfy a rule: a criterion that could not be assessed is
not evidence. Thresholds are module constants with their source, not tunable parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.criteria import CRITERIA_COLUMNS
from features.vocab import CLASSES

#: EFNS/PNS 2010 (T3.3a): definite needs the abnormality in 2 nerves
DEMYEL_MIN_NERVES = 2
#: Gold Coast 2020 (T3.1a): LMN dysfunction in ≥2 regions
ALS_MIN_LMN_REGIONS = 2
#: at most this many abnormal sensory responses still count as "sensory normal" for ALS
#: (minor sural change in 17 % of ALS, Pugdahl 2008; T3.1c)
ALS_MAX_SENSORY_ABNORMAL = 1
#: England 2005 (T3.2): abnormal attribute in ≥2 nerves
AXONAL_MIN_SENSORY_ABNORMAL = 2
#: Rutkove 1997 (T3.2): SRAR < 0.40, 90 % sensitive and specific
SRAR_LIMIT = 0.40
#: share of muscles with myopathic MUAPs that calls a myopathy [sim; T3.4 proximal > distal]
MYOPATHIC_MIN_FRAC = 0.25
#: Wilbourn & Aminoff 1998 (T3.5): ≥2 muscles of one root supplied by different nerves
RADIC_MIN_NERVES = 2
#: share of neurogenic muscles explained by a single root [sim]
RADIC_MIN_SINGLE_ROOT_FRAC = 0.7
#: "possible" ALS: one LMN region plus active denervation in this many muscles … [sim]
ALS_MIN_ACTIVE_MUSCLES_ONE_REGION = 3
#: … that one root explains less than this share of [sim]
ALS_MAX_SINGLE_ROOT_FRAC = 0.5
#: conduction block in this many nerves points to MMN / demyelination, not ALS (T3.6)
ALS_MAX_CB_NERVES = 1
#: active denervation in this many muscles with normal sensory responses [sim; T3.5]
RADIC_MIN_ACTIVE_MUSCLES = 2

#: the criteria columns the rules read (features.criteria is the one place they are defined)
CRIT_COLUMNS: tuple[str, ...] = CRITERIA_COLUMNS


def _col(X: pd.DataFrame, name: str) -> np.ndarray:
    """Float array of a criteria column, all-NaN when the column is absent."""
    if name in X.columns:
        return X[name].to_numpy(dtype=float)
    return np.full(len(X), np.nan)


def _masks(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean mask per rule (NaN comparisons are False, so unassessed never fires)."""
    demyel = _col(X, "crit_demyel_nerve_count")
    cb = _col(X, "crit_cb_nerve_count")
    myo = _col(X, "crit_myopathic_muscle_frac")
    neuro = _col(X, "crit_neurogenic_muscle_frac")
    lmn = _col(X, "crit_lmn_region_count")
    sens_abn = _col(X, "crit_sensory_abnormal_count")
    length_dep = _col(X, "crit_length_dependent")
    srar_pct = _col(X, "crit_srar_pct_lln")
    root_frac = _col(X, "crit_single_root_frac")
    root_nerves = _col(X, "crit_single_root_nerves_count")
    paraspinal = _col(X, "crit_paraspinal_active")
    active = _col(X, "crit_active_denervation_muscle_count")
    with np.errstate(invalid="ignore"):
        sensory_abnormal = sens_abn >= AXONAL_MIN_SENSORY_ABNORMAL
        sensory_against_als = (sens_abn > ALS_MAX_SENSORY_ABNORMAL) | (length_dep >= 1)
        lmn_pattern = (lmn >= ALS_MIN_LMN_REGIONS) | (
            (lmn >= 1)
            & (root_frac < ALS_MAX_SINGLE_ROOT_FRAC)
            & (active >= ALS_MIN_ACTIVE_MUSCLES_ONE_REGION)
        )
        one_root = (
            (root_nerves >= RADIC_MIN_NERVES)
            | (paraspinal >= 1)
            | (root_frac >= RADIC_MIN_SINGLE_ROOT_FRAC)
        )
        return {
            "als": lmn_pattern & ~sensory_against_als & ~(cb > ALS_MAX_CB_NERVES),
            "demyelinating_pn": (demyel >= DEMYEL_MIN_NERVES)
            | ((demyel >= 1) & ((cb >= 1) | sensory_abnormal)),
            "myopathy": (myo >= MYOPATHIC_MIN_FRAC) & ~(neuro > myo),
            "axonal_pn": sensory_abnormal | (length_dep >= 1) | (srar_pct < 100),
            "radiculopathy": (((neuro > 0) & one_root) | (active >= RADIC_MIN_ACTIVE_MUSCLES))
            & ~sensory_abnormal,
        }


#: rule order (first match wins)
RULE_ORDER: tuple[str, ...] = ("als", "demyelinating_pn", "myopathy", "axonal_pn", "radiculopathy")


def classify_rules(X: pd.DataFrame) -> pd.Series:
    """Class per study from the published criteria (first matching rule, else ``normal``).

    Parameters
    ----------
    X : DataFrame
        Feature table (index ``study_id``) holding the ``crit_*`` columns; others are ignored.

    Returns
    -------
    Series
        One of :data:`features.vocab.CLASSES` per row, same index as ``X``.
    """
    masks = _masks(X)
    label = np.select([masks[c] for c in RULE_ORDER], list(RULE_ORDER), default="normal")
    return pd.Series(label, index=X.index, name="rule_diagnosis", dtype=object)


def rules_proba(X: pd.DataFrame, confidence: float = 0.9) -> np.ndarray:
    """One-hot-like probabilities of the rule call (for AUC/ECE next to the models).

    The called class gets ``confidence``, the others share the rest equally.
    """
    pred = classify_rules(X).to_numpy()
    k = len(CLASSES)
    proba = np.full((len(pred), k), (1.0 - confidence) / (k - 1))
    proba[np.arange(len(pred)), [CLASSES.index(p) for p in pred]] = confidence
    return proba


def _count_text(n: float, of: float, noun: str) -> str:
    if np.isnan(of) or of == 0:
        return "not assessable"
    n_txt = "0" if np.isnan(n) else f"{n:.0f}"
    return f"{n_txt} of {of:.0f} {noun}"


def guideline_summary(X: pd.DataFrame) -> list[dict]:
    """The criteria read out per study, for the clinician's "guideline check" panel.

    Returns
    -------
    list of dict
        One dict per row with keys ``rule_diagnosis``, ``lmn_regions``, ``demyelinating_nerves``,
        ``length_dependent``, ``myopathic_share``, ``single_root``, ``sensory`` (all str) and
        ``notes`` (list of str).
    """
    diag = classify_rules(X).to_numpy()
    cols = {c: _col(X, c) for c in CRIT_COLUMNS}
    out: list[dict] = []
    for i in range(len(X)):
        v = {c: float(a[i]) for c, a in cols.items()}
        notes: list[str] = []
        sens_abn, sens_n = v["crit_sensory_abnormal_count"], v["crit_sensory_tested_count"]
        lmn = v["crit_lmn_region_count"]
        if lmn >= ALS_MIN_LMN_REGIONS and sens_abn > ALS_MAX_SENSORY_ABNORMAL:
            notes.append(
                "Abnormal sensory responses argue against ALS (consider Kennedy disease or a neuropathy)"
            )
        if lmn >= 1 and v["crit_lmn_regions_tested_count"] < 3:
            notes.append(
                "Fewer than 3 regions sampled: region counting (Awaji/Gold Coast) is incomplete"
            )
        if v["crit_cts_pattern"] >= 1:
            notes.append(
                "Focal median slowing at the wrist (carpal tunnel pattern) is not counted as demyelination"
            )
        if v["crit_cb_nerve_count"] >= 1:
            notes.append(f"Conduction block in {v['crit_cb_nerve_count']:.0f} nerve(s)")
        if np.isnan(sens_n) or sens_n == 0:
            notes.append("No sensory nerve studied: a neuropathy cannot be excluded")
        if v["crit_paraspinal_active"] >= 1:
            notes.append("Active denervation in paraspinal muscles")
        ld = v["crit_length_dependent"]
        length_text = "not assessable" if np.isnan(ld) else ("yes" if ld >= 1 else "no")
        if not np.isnan(v["crit_srar"]):
            pct = v.get("crit_srar_pct_lln", float("nan"))
            lim = v["crit_srar"] * 100.0 / pct if pct and not np.isnan(pct) else SRAR_LIMIT
            length_text += f" (sural/radial ratio {v['crit_srar']:.2f}, limit {lim:.2f} for age)"
        myo, neuro = v["crit_myopathic_muscle_frac"], v["crit_neurogenic_muscle_frac"]
        myo_text = "not assessable" if np.isnan(myo) else f"{myo:.0%} of muscles myopathic"
        if not np.isnan(neuro):
            myo_text += f", {neuro:.0%} neurogenic"
        rf, rn = v["crit_single_root_frac"], v["crit_single_root_nerves_count"]
        root_text = (
            "not assessable"
            if np.isnan(rf)
            else f"{rf:.0%} of neurogenic muscles share one root"
            + ("" if np.isnan(rn) else f", {rn:.0f} different nerves")
        )
        out.append(
            {
                "rule_diagnosis": str(diag[i]),
                "lmn_regions": _count_text(
                    lmn, v["crit_lmn_regions_tested_count"], "regions tested"
                ),
                "demyelinating_nerves": _count_text(
                    v["crit_demyel_nerve_count"], v["crit_motor_tested_count"], "motor nerves"
                ),
                "length_dependent": length_text,
                "myopathic_share": myo_text,
                "single_root": root_text,
                "sensory": _count_text(sens_abn, sens_n, "sensory responses abnormal"),
                "notes": notes,
            }
        )
    return out


#: MMN: definite conduction block outside entrapment sites with normal sensory conduction
#: (EFNS/PNS 2010 MMN guideline; clinical reference T3.6: block is the MMN-versus-ALS sign)
MMN_MIN_CB_NERVES = 1


def mimics(X: pd.DataFrame) -> list[list[str]]:
    """Per study, disorders outside the six classes that the findings point to (named, cited).

    Each sentence names the finding and the disorder it suggests, so the clinician can check
    it; an empty list means no mimic pattern was recognised. Reads only ``crit_*`` columns.
    """
    cb = _col(X, "crit_cb_nerve_count")
    sens_abn = _col(X, "crit_sensory_abnormal_count")
    sens_n = _col(X, "crit_sensory_tested_count")
    lmn = _col(X, "crit_lmn_region_count")
    neuro = _col(X, "crit_neurogenic_muscle_frac")
    nld = _col(X, "crit_non_length_dependent_sensory")
    focal = _col(X, "crit_focal_entrapment")
    post = _col(X, "crit_neurogenic_limb_snap_abnormal")
    length_dep = _col(X, "crit_length_dependent")
    demyel = _col(X, "crit_demyel_nerve_count")
    out: list[list[str]] = []
    with np.errstate(invalid="ignore"):
        for i in range(len(X)):
            notes: list[str] = []
            if cb[i] >= MMN_MIN_CB_NERVES and sens_abn[i] == 0 and sens_n[i] > 0:
                notes.append(
                    "Motor conduction block outside entrapment sites with normal sensory "
                    "responses: consider multifocal motor neuropathy (an ALS mimic; EFNS/PNS 2010)"
                )
            if nld[i] >= 1 and (lmn[i] >= 1 or neuro[i] > 0):
                notes.append(
                    "Neurogenic change with non-length-dependent sensory loss (arm SNAPs worse "
                    "than leg SNAPs): consider Kennedy disease (SBMA) rather than ALS"
                )
            elif nld[i] >= 1 and demyel[i] == 0 and not neuro[i] > 0:
                notes.append(
                    "Sensory loss without a length gradient, motor conduction and needle EMG "
                    "normal: sensory neuronopathy (ganglionopathy) pattern"
                )
            if focal[i] >= 1:
                notes.append(
                    "Focal slowing or block across the elbow or fibular head: a mononeuropathy "
                    "at an entrapment site (ulnar at the elbow, peroneal at the fibular head), "
                    "not a polyneuropathy"
                )
            if post[i] >= 1 and not length_dep[i] >= 1 and focal[i] != 1:
                notes.append(
                    "Abnormal SNAP in the limb with neurogenic muscles: the lesion lies beyond "
                    "the dorsal root ganglion (plexus or nerve), not in the root or anterior horn"
                )
            out.append(notes)
    return out
