"""One-vs-rest LightGBM heads with per-class monotone constraints (physiology-consistent model).

LightGBM's multiclass objective takes one ``monotone_constraints`` vector for every class, so
"slower conduction never pushes away from demyelinating" cannot be said for one class only.
Here each class is its own binary head (its raw score is that head's log-odds), trained on the
same evidence-aware, weighted rows as the multiclass model, with its own constraints
(:func:`monotone_directions`, :func:`owners`):

* velocities and latencies are read, of the disease heads, by the demyelinating head alone
  (slowing raises it), and by the normal head (slowing lowers it); conduction block and
  dispersion by the demyelinating head (raising it) and the ALS head (lowering it) only;
* the SNAPs are read by the axonal head (a lost SNAP raises it) and by the normal, ALS,
  radiculopathy and myopathy heads (a lost SNAP lowers them: those processes spare the
  SNAPs); contrasts of two SNAPs (side and leg/arm ratios) by none;
* lower CMAPs never raise the normal head and never lower a disease head; worse needle
  findings never raise the normal head; more LMN regions never lower ALS;
* the normal head never reads the pattern features that tell diseases apart
  (:func:`normal_blind`).

The heads' raw scores are calibrated jointly in the gated form of :mod:`models.calibration`:
P(normal) from the normal head alone, the diseases sharing the rest by a tempered softmax, so
no worse finding can make a study more normal (MR7). Each head is explained by exact TreeSHAP,
so the explanation stays additive in the class's raw score.

:class:`OvRBooster` offers the slice of the ``lightgbm.Booster`` interface the product uses
(``predict`` with ``raw_score`` / ``pred_contrib``, ``feature_name``, ``num_feature``,
``num_model_per_iteration``, ``feature_importance``, ``best_iteration``, ``save_model``), so
the predictor, explanation, evaluation and MLflow code take either model unchanged. It is saved
as one text file: a header line, then each head's LightGBM model text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.vocab import CLASSES

HEADER = "emgdx-ovr-monotone"
_SEP = "\n=== emgdx head ===\n"


class OvRBooster:
    """Six binary LightGBM heads behaving like one multiclass booster (class order CLASSES)."""

    def __init__(self, heads: Sequence[lgb.Booster]) -> None:
        if len(heads) != len(CLASSES):
            raise ValueError(f"need {len(CLASSES)} heads, got {len(heads)}")
        self.heads = list(heads)
        names = heads[0].feature_name()
        if any(h.feature_name() != names for h in heads):
            raise ValueError("all heads must use the same features in the same order")

    # --- the Booster interface the product uses ----------------------------------------------
    @property
    def best_iteration(self) -> int:
        """Largest best iteration of the heads (for logs and reports)."""
        return max(int(h.best_iteration or h.current_iteration()) for h in self.heads)

    def feature_name(self) -> list[str]:
        """Feature names (the same for every head)."""
        return self.heads[0].feature_name()

    def num_feature(self) -> int:
        """Number of features."""
        return self.heads[0].num_feature()

    def num_model_per_iteration(self) -> int:
        """One raw score per class, like a multiclass booster."""
        return len(self.heads)

    def predict(
        self,
        X: Any,
        *,
        raw_score: bool = False,
        pred_contrib: bool = False,
        num_threads: int = 0,
        **_: Any,
    ) -> np.ndarray:
        """Raw scores (n, K), or TreeSHAP contributions (n, K·(F+1)) laid out per class.

        Probabilities (neither flag) are the softmax of the raw scores.
        """
        kw = {"num_threads": num_threads} if num_threads else {}
        if pred_contrib:
            parts = [np.asarray(h.predict(X, pred_contrib=True, **kw)) for h in self.heads]
            return np.concatenate(parts, axis=1)
        raw = np.column_stack([np.asarray(h.predict(X, raw_score=True, **kw)) for h in self.heads])
        if raw_score:
            return raw
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def feature_importance(self, importance_type: str = "split") -> np.ndarray:
        """Importance summed over the heads."""
        return np.sum([h.feature_importance(importance_type) for h in self.heads], axis=0)

    # --- persistence ----------------------------------------------------------------------------
    def model_to_string(self) -> str:
        """The saved form: header line, then each head's model text (best iteration)."""
        texts = [h.model_to_string(num_iteration=h.best_iteration or None) for h in self.heads]
        return f"{HEADER} {len(self.heads)}" + _SEP + _SEP.join(texts)

    def save_model(self, filename: str, num_iteration: int | None = None) -> OvRBooster:
        """Write :meth:`model_to_string` to ``filename`` (``num_iteration`` is per head)."""
        Path(filename).write_text(self.model_to_string(), encoding="utf-8")
        return self

    @classmethod
    def from_string(cls, text: str) -> OvRBooster:
        """Read the saved form."""
        head, *models = text.split(_SEP)
        m = re.match(rf"^{HEADER} (\d+)$", head.strip())
        if m is None or int(m.group(1)) != len(models):
            raise ValueError(f"not an {HEADER} model file")
        return cls([lgb.Booster(model_str=t) for t in models])


def is_ovr_text(text: str) -> bool:
    """True when a saved booster text is an :class:`OvRBooster`."""
    return text.startswith(HEADER)


def load_any_booster(text: str) -> lgb.Booster | OvRBooster:
    """A multiclass ``lightgbm.Booster`` or an :class:`OvRBooster` from its saved text."""
    return OvRBooster.from_string(text) if is_ovr_text(text) else lgb.Booster(model_str=text)


# --- constraints -------------------------------------------------------------------------------
#: needle-EMG shares and counts whose rise is a worse finding (neurogenic or myopathic)
_EMG_WORSE_SUFFIXES: tuple[str, ...] = (
    "_fibs_frac",
    "_fasc_frac",
    "_large_muap_frac",
    "_small_muap_frac",
    "_poly_muap_frac",
    "_reduced_recruit_frac",
    "_early_recruit_frac",
    "_lmn_muscle_frac",
    "_neurogenic_frac",
    "_myopathic_frac",
    "_crd_frac",
    "_myotonia_frac",
    "_unstable_frac",
    "_fib_grade",
)
_NEUROPATHY = ("axonal_pn", "demyelinating_pn")
#: shares of muscles with signs of ongoing denervation-reinnervation: never lower the ALS head
_ONGOING_DENERVATION_SUFFIXES: tuple[str, ...] = ("_fasc_frac", "_unstable_frac")


def demyelination_only(name: str) -> bool:
    """Features that are evidence of demyelination and of nothing else: motor velocities,
    distal, F and sensory peak latencies, conduction block outside entrapment sites,
    dispersion, and the EFNS/PNS nerve counts. Of the disease heads only the demyelinating
    head uses them (the normal head reads slowing; the ALS head block and dispersion,
    :func:`owners`), so slowing lowers P(normal) and raises P(demyelinating) at the expense of
    every other disease (invariants MR1, MR6, MR10)."""
    if not name.startswith(("ncs_", "crit_")):
        return False
    return (
        name.endswith("_motor_cv_pct_lln")
        or name == "ncs_motor_min_cv_pct_lln"
        or "_motor_lat_pct_uln" in name
        or "_sensory_lat_pct_uln" in name
        or name in ("ncs_motor_max_lat_pct_uln", "ncs_f_max_lat_pct_uln")
        or name.endswith("_f_lat_pct_uln")
        or name.endswith("_motor_td_ratio")
        or (name.endswith("_cb_ratio") and "elbow" not in name and "fibular" not in name)
        or name in ("crit_demyel_nerve_count", "crit_cb_nerve_count")
    )


#: sensory findings derived from the SNAPs (besides the amplitudes themselves)
_SNAP_DERIVED_WORSE_HIGH: tuple[str, ...] = (
    "crit_sensory_abnormal_count",
    "ncs_sensory_abnormal_frac",
    "crit_non_length_dependent_sensory",
    "crit_neurogenic_limb_snap_abnormal",
)


def sensory_loss_only(name: str) -> bool:
    """SNAP amplitudes and the criteria derived from them: the axonal and normal heads use them.

    A lost SNAP is evidence of sensory axon loss: it raises the axonal head and, through it,
    lowers ALS, radiculopathy, myopathy and normal in proportion (MR2b, MR7) while the
    neuropathy mass only rises (MR2a). A lost SNAP also lowers the other disease heads, which
    raises the demyelinating share of the disease mass; so SNAP limits are not corrected for
    cooling (features.limits), or a cool limb would read as sensory loss and raise
    P(demyelinating) (MR10).
    """
    sensory = "_sensory_" in name or name.startswith("ncs_sensory_")
    return (
        (sensory and name.endswith("_amp_pct_lln"))
        or name in _SNAP_DERIVED_WORSE_HIGH
        or name == "crit_srar_pct_lln"
    )


#: pattern features: which disease, not whether abnormal. A single worse finding can move them
#: either way (halving the radial SNAP raises the sural/radial ratio; halving an arm SNAP can
#: end a length-dependent pattern), so the normal head, which alone sets P(normal) under the
#: gated calibration (models.calibration), never uses them (MR7: worse is never more normal)
_NORMAL_BLIND_EXACT: tuple[str, ...] = (
    "crit_srar_pct_lln",
    "crit_length_dependent",
    "crit_non_length_dependent_sensory",
    "ncs_sensory_lower_upper_ratio",
    "ncs_split_hand_ratio",
    "ncs_median_ulnar_sensory_lat_diff_ms",
    "crit_single_root_frac",
    "crit_single_root_nerves_count",
    "crit_cts_pattern",
    "crit_focal_entrapment",
    "emg_proximal_distal_myopathic_diff",
)


def normal_blind(name: str) -> bool:
    """Features the normal head never uses (:data:`_NORMAL_BLIND_EXACT`, side ratios, CMAP
    durations and the focal entrapment segments)."""
    return (
        name in _NORMAL_BLIND_EXACT
        or name.endswith(("_amp_side_ratio", "_motor_dur_pct_uln"))
        or "_elbow_" in name
        or "_fibular_head_" in name
    )


def conduction_block(name: str) -> bool:
    """Conduction block outside the entrapment sites (per-nerve ratios and the nerve count)."""
    return (
        name.startswith("ncs_")
        and name.endswith("_cb_ratio")
        and "elbow" not in name
        and "fibular" not in name
    ) or name == "crit_cb_nerve_count"


#: the heads that read the SNAPs: a lost SNAP raises the axonal head and lowers the others. A
#: root lesion spares the SNAPs (pre-ganglionic, T3.5), so do myopathy and motor neuron disease
#: (T3.1c; Kennedy disease and neuronopathies are the sensory mimics, T3.6): a lost SNAP never
#: raises radiculopathy, myopathy, ALS or normal, and never lowers the neuropathy mass (MR2a)
_SNAP_HEADS: tuple[str, ...] = ("axonal_pn", "normal", "als", "radiculopathy", "myopathy")


def snap_contrast(name: str) -> bool:
    """SNAP side ratios, the leg/arm SNAP ratio and the median-ulnar sensory latency difference:
    contrasts of two SNAPs, so losing one SNAP moves them either way (an absent sural beside a
    present one reads as "asymmetric", not as a neuropathy). No head reads them; the SNAP
    amplitudes themselves carry the sensory evidence (MR2a). A normal median SNAP added beside
    the ulnar one gave a median-ulnar difference of 0.05 ms ("not carpal tunnel"), and the
    demyelinating head then read a long median motor latency as demyelination: the normal
    response raised the neuropathy mass over "not measured" (MR9). The CTS pattern itself
    (``crit_cts_pattern``) still excludes the median DML from the demyelination criteria."""
    return (
        name.endswith("_sensory_amp_side_ratio")
        or name == "ncs_sensory_lower_upper_ratio"
        or name == "ncs_median_ulnar_sensory_lat_diff_ms"
    )


def owners(name: str) -> tuple[str, ...] | None:
    """The classes whose heads alone use a feature (None: every head may use it).

    Conduction slowing belongs to the demyelinating head (it raises it) and the normal head (it
    lowers it); the SNAPs to the axonal head (a lost SNAP raises it), the normal head and the
    ALS head (a lost SNAP lowers them).
    """
    if name.endswith("_f_persist_pct"):
        # F persistence (absent F = 0 %): fewer F-waves are a demyelinating feature (EFNS I-D)
        # and never more normal. Disease heads reading it freely made a normal F raise
        # P(demyelinating) over "not measured" through the axonal head (MR9)
        return ("demyelinating_pn", "normal")
    if name == "crit_abnormal_limb_muscle_count":
        # the total mixes the muscles one root explains with those it does not: the disease
        # heads read the two apart (crit_single_root_*, crit_outside_root_muscle_count), or a
        # lesion spreading to the other limb raised the radiculopathy head (MR5)
        return ("normal",)
    if name in ("crit_lmn_region_frac", "emg_mean_fib_grade"):
        # shares over all regions / muscles examined fall when normal ones are added elsewhere:
        # that argues against ALS (MR3) and must not lower the radiculopathy head
        return ("als", "normal") if name == "crit_lmn_region_frac" else ("normal",)
    if "_sensory_lat_pct_uln" in name:
        # a nerve's SNAP latency is the slower side's: when that side's SNAP is lost the
        # latency falls to the other side's, so a lost SNAP would lower P(demyelinating) and the
        # neuropathy mass (MR2a). Demyelination is defined on motor conduction (EFNS/PNS 2010,
        # EAN/PNS 2021, T3.3a-b; sensory findings only support it): no head reads it
        return ()
    if name.endswith("_f_lat_pct_uln") or name == "ncs_f_max_lat_pct_uln":
        # an F latency is lost with the F-wave: when the normal head read it, an absent F
        # ("latency not measured") could look more normal than a present, long one (MR7).
        # Its slowing is evidence of demyelination only (T3.3); the normal head reads F
        # persistence instead
        return ("demyelinating_pn",)
    if name.endswith("_motor_amp_side_ratio"):
        # CMAP asymmetry is axon loss on one side (root, plexus, nerve, asymmetric ALS), not a
        # conduction criterion: demyelination is defined on conduction (T3.3a-b)
        return tuple(c for c in CLASSES if c != "demyelinating_pn")
    if conduction_block(name) or name.endswith("_motor_td_ratio"):
        # block and dispersion are the MMN-versus-ALS discriminators (T3.6): they raise the
        # demyelinating head and lower the ALS head. The normal head does not read them: under
        # the gated calibration the mass it gave up went to the diseases in proportion, so on an
        # ALS-looking study a forearm block raised P(ALS) (MR6: block never raises ALS). Slowed
        # conduction, long latencies and F-waves still tell the normal head a study is abnormal
        return ("demyelinating_pn", "als")
    if name == "crit_demyel_nerve_count":
        # nerves meeting a demyelination criterion, block included: read like the block itself.
        # When the normal head read it, a forearm block lowered P(normal) and the gated
        # calibration gave the freed mass to the dominant disease, ALS (MR6). Demyelination in a
        # motor nerve argues against ALS (Gold Coast / Awaji exclusions, T3.1a; MMN, T3.6)
        return ("demyelinating_pn", "als")
    if demyelination_only(name):
        # the normal head too (slower is never more normal): under the gated calibration it
        # alone sets P(normal), so it must see that a study with slowed conduction is abnormal
        return ("demyelinating_pn", "normal")
    if name in ("crit_srar", "crit_srar_pct_lln", "crit_length_dependent"):
        # the sural/radial ratio is a contrast of two SNAPs: halving the radial SNAP doubles it
        # and would read as *less* length-dependent loss (MR2a: losing a SNAP never lowers the
        # neuropathy mass). Length dependence is a contrast too: a normal arm SNAP added beside
        # a low sural turns it on, so a normal response raised the neuropathy mass over "not
        # measured" (MR9). The SNAP amplitudes themselves carry the sensory loss
        return ()
    if snap_contrast(name):
        return ()
    if sensory_loss_only(name):
        return _SNAP_HEADS
    return None


def _direction(name: str) -> dict[str, int]:
    """Per-class monotone direction of one feature (+1 rising, -1 falling, absent = free).

    Directions are in the feature's own value direction. "Worse" is lower for amplitudes,
    velocities and ratios (% of LLN, block ratios) and higher for latencies (% of ULN),
    dispersion, abnormal-muscle shares and criteria counts.

    * features with :func:`owners`: monotone in those heads (worse raises a disease head and
      lowers the normal head);
    * a lower CMAP never raises the normal head and never lowers a disease head, and every worse
      needle finding never raises the normal head (MR7: worse is never more normal);
    * more LMN regions never lower ALS.
    """
    heads = owners(name)
    if name == "crit_lmn_region_frac":  # owned by ALS and normal: more LMN regions favour ALS
        return {"als": +1, "normal": -1}
    if heads is not None:
        worse = (
            -1 if name.endswith(("_cv_pct_lln", "_cb_ratio", "_pct_lln", "_persist_pct")) else +1
        )
        # worse raises a disease head and lowers the normal head; sensory loss raises only the
        # axonal head (the SNAPs are spared in root lesions, myopathy and ALS: _SNAP_HEADS)
        if heads == _SNAP_HEADS:
            return {c: (worse if c == "axonal_pn" else -worse) for c in heads}
        return {c: (-worse if c in ("normal", "als") else worse) for c in heads}
    d: dict[str, int] = {}
    if name.endswith("_motor_amp_pct_lln") or (
        name.startswith("ncs_motor_") and "amp_pct_lln" in name
    ):
        d = {c: (+1 if c == "normal" else -1) for c in CLASSES}
    elif name in ("crit_lmn_region_count", "crit_lmn_region_frac"):
        d = {"als": +1, "normal": -1}
    elif name == "crit_outside_root_muscle_count":
        # abnormal muscles no single root explains: never more radiculopathy, never less ALS,
        # never more normal (T3.5: one root, several nerves; MR5)
        d = {"radiculopathy": -1, "als": +1, "normal": -1}
    elif name == "crit_neurogenic_muscle_frac":
        # a larger share of the examined muscles neurogenic: more diffuse, so never less ALS and
        # never more radiculopathy; normal muscles added elsewhere lower it (MR3, MR5)
        d = {"als": +1, "radiculopathy": -1, "normal": -1}
    elif name in ("ncs_motor_low_amp_frac", "crit_paraspinal_active"):
        d = {"normal": -1}  # more low CMAPs, paraspinal denervation: never more normal
    elif name.endswith("_f_persist_pct"):
        d = {"normal": +1}  # fewer F-waves (absent = 0 %): never more normal
    elif (name.startswith("emg_") and name.endswith(_EMG_WORSE_SUFFIXES)) or name in (
        "crit_active_denervation_muscle_count",
        "crit_abnormal_limb_muscle_count",
        "crit_myopathic_muscle_frac",
    ):
        # the normal head only: a share of abnormal muscles also falls when normal muscles are
        # added elsewhere, which argues for a focal process (a root) against a diffuse one
        # (ALS), so the disease heads read these freely (MR3, MR5); under the gated
        # calibration the normal head alone makes MR7 hold
        d = {"normal": -1}
        if name.endswith(_ONGOING_DENERVATION_SUFFIXES):
            # fasciculations and unstable units are evidence of ongoing denervation and
            # reinnervation in ALS (Awaji / Gold Coast, T3.1a): more of them never lowers the ALS
            # head. Their shares fall when normal muscles are added elsewhere, so normal
            # muscles elsewhere can then only lower ALS (MR3); a muscle reported stable
            # ("0 % unstable") never raises it over one whose stability was not stated
            d["als"] = +1
    return d


def monotone_directions(feature_names: Sequence[str]) -> dict[str, list[int]]:
    """Per class, the LightGBM ``monotone_constraints`` vector over ``feature_names``."""
    per_feature = [_direction(f) for f in feature_names]
    return {c: [d.get(c, 0) for d in per_feature] for c in CLASSES}


def fit_ovr(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    params: Mapping[str, Any],
    *,
    num_boost_round: int,
    early_stopping_rounds: int,
    sample_weight: np.ndarray | None = None,
    progress: bool | None = None,
) -> OvRBooster:
    """Train one monotone-constrained binary head per class (same signature as ``fit_lightgbm``).

    ``y_*`` are class indices (the evidence-aware weighted rows of ``models.train``); head ``k``
    learns ``y == k``. Early stopping per head on the validation split.
    """
    from models.train import fit_lightgbm

    names = list(X_train.columns)
    directions = monotone_directions(names)
    feature_owners = [owners(f) for f in names]
    base = {k: v for k, v in params.items() if k not in ("objective", "num_class", "metric")}
    heads = []
    for k, cls in enumerate(CLASSES):
        p = {
            **base,
            "objective": "binary",
            "metric": "binary_logloss",
            "monotone_constraints": directions[cls],
            "monotone_constraints_method": "advanced",
        }
        # blind to the features another head owns (feature_contri 0: never split on)
        p["feature_contri"] = [
            0.0
            if (o is not None and cls not in o) or (cls == "normal" and normal_blind(f))
            else 1.0
            for f, o in zip(names, feature_owners, strict=True)
        ]
        heads.append(
            fit_lightgbm(
                X_train,
                (np.asarray(y_train) == k).astype(float),
                X_valid,
                (np.asarray(y_valid) == k).astype(float),
                p,
                num_boost_round=num_boost_round,
                early_stopping_rounds=early_stopping_rounds,
                sample_weight=sample_weight,
                progress=progress,
            )
        )
    return OvRBooster(heads)
