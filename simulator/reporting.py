"""Real reporting habits: what a lab writes down is less than what a protocol would test.

Real EMG reports are partial and messy. Per lab (:class:`simulator.labs.Lab`) and per study:

* **EMG-only** reports: NCS not done, or "NCS normal" written without numbers, so there are
  no NCS rows (more often for radiculopathy referrals, rarely for neuropathy ones);
* **one-limb** studies: NCS and needle EMG of the symptomatic limb only (plus that region's
  paraspinals);
* **short muscle lists**: 2-7 muscles kept of the protocol's list (real reports list 2-7
  muscles far more often than 15);
* **abnormal-muscles-only** reports: normal muscles mostly omitted (85 %), keeping one
  normal muscle in half of the studies whose needle EMG was entirely normal;
* **grades only**: MUAP size and polyphasia as grades in a lab that usually writes numbers.

Every habit's lab probability is multiplied by ``SimulatorParams.reporting_habits`` (0 turns
them off). Every study keeps at least one NCS or EMG row. All shares are [sim].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.vocab import REGIONS
from simulator.anatomy import Anatomy
from simulator.protocols import LOWER_MOTOR, LOWER_SENSORY, REFERRALS, Sampling

#: EMG-only reports by referral (radiculopathy screens often skip or do not write NCS) [sim]
_EMG_ONLY_BY_REFERRAL = {
    "als": 0.3,
    "neuropathy": 0.2,
    "lumbar_radic": 2.0,
    "cervical_radic": 2.0,
    "upper_limb": 0.3,
    "myopathy": 1.0,
}
#: one-limb studies by referral (ALS and neuropathy work-ups need several limbs) [sim]
_ONE_LIMB_BY_REFERRAL = {
    "als": 0.2,
    "neuropathy": 0.4,
    "lumbar_radic": 1.5,
    "cervical_radic": 1.5,
    "upper_limb": 1.5,
    "myopathy": 0.8,
}
#: which limb a one-limb study keeps: 1 = arm, 0 = leg, 0.5 = either [sim]
_ARM_BY_REFERRAL = {
    "als": 0.5,
    "neuropathy": 0.1,
    "lumbar_radic": 0.0,
    "cervical_radic": 1.0,
    "upper_limb": 1.0,
    "myopathy": 0.5,
}
_P_OMIT_NORMAL = 0.85
#: a short list keeps an abnormal muscle before the normal ones with this probability [sim †]
_P_SHORT_LIST_KEEPS_ABNORMAL = 0.8
_P_KEEP_ONE_NORMAL = 0.5


@dataclass(frozen=True)
class Habits:
    """Per-study reporting habits (boolean arrays of shape (n,))."""

    emg_only: np.ndarray
    one_limb: np.ndarray
    arm: np.ndarray
    short_list: np.ndarray
    abnormal_only: np.ndarray
    grades_only: np.ndarray


def _by_referral(table: dict[str, float], referral: np.ndarray) -> np.ndarray:
    return np.array([table[r] for r in REFERRALS])[referral]


def draw_habits(
    referral: np.ndarray, lab: dict[str, np.ndarray], scale: float, rng: np.random.Generator
) -> Habits:
    """Draw each study's reporting habits from its lab's rates (x ``scale``) and referral."""
    n = referral.size
    names = ("p_emg_only", "p_one_limb", "p_abnormal_only", "p_grades_only", "p_short_list")
    p = {k: np.clip(lab[k] * scale, 0.0, 1.0) for k in names}
    emg_only = rng.random(n) < p["p_emg_only"] * _by_referral(_EMG_ONLY_BY_REFERRAL, referral)
    one_limb = rng.random(n) < p["p_one_limb"] * _by_referral(_ONE_LIMB_BY_REFERRAL, referral)
    arm = rng.random(n) < _by_referral(_ARM_BY_REFERRAL, referral)
    return Habits(
        emg_only=emg_only,
        one_limb=one_limb,
        arm=arm,
        short_list=rng.random(n) < p["p_short_list"],
        abnormal_only=rng.random(n) < p["p_abnormal_only"],
        grades_only=(rng.random(n) < p["p_grades_only"]) & (lab["muap_mode"] != "grades"),
    )


def apply_habits(
    samp: Sampling,
    habits: Habits,
    index_side: np.ndarray,
    anatomy: Anatomy,
    rng: np.random.Generator,
    abnormal: np.ndarray | None = None,
) -> Sampling:
    """Restrict what each study reports (one limb, short muscle list, EMG only).

    ``abnormal`` (n, muscle, side) marks muscles whose needle study shows a finding: a short
    list keeps them first (a report lists the muscles that carry the conclusion) with
    :data:`_P_SHORT_LIST_KEEPS_ABNORMAL`.

    EMG-only applies only to studies that still have a muscle after the other habits, so a
    study never loses all its rows here (:func:`simulator.cohort._ensure_nonempty` still
    guarantees at least one row).
    """
    motor, sensory, muscles = samp.motor.copy(), samp.sensory.copy(), samp.muscles.copy()
    n = motor.shape[0]
    # one limb: the symptomatic arm or leg, with that region's paraspinals
    ol = habits.one_limb
    if ol.any():
        side_mask = np.stack([index_side == 0, index_side == 1], axis=1)  # (n, 2)
        keep_arm = (ol & habits.arm)[:, None] & side_mask
        keep_leg = (ol & ~habits.arm)[:, None] & side_mask
        cerv_para = anatomy.axial & (anatomy.region == REGIONS.index("cervical"))
        lumb_para = anatomy.axial & (anatomy.region == REGIONS.index("lumbosacral"))
        arm_m = (anatomy.upper | cerv_para)[None, :, None]
        leg_m = (anatomy.lower | lumb_para)[None, :, None]
        keep_mus = (keep_arm[:, None, :] & arm_m) | (keep_leg[:, None, :] & leg_m)
        muscles = np.where(ol[:, None, None], muscles & keep_mus, muscles)
        keep_mot = (keep_arm[:, None, :] & ~LOWER_MOTOR[None, :, None]) | (
            keep_leg[:, None, :] & LOWER_MOTOR[None, :, None]
        )
        keep_sen = (keep_arm[:, None, :] & ~LOWER_SENSORY[None, :, None]) | (
            keep_leg[:, None, :] & LOWER_SENSORY[None, :, None]
        )
        motor = np.where(ol[:, None, None], motor & keep_mot, motor)
        sensory = np.where(ol[:, None, None], sensory & keep_sen, sensory)
    # short list: keep a random 2-7 of the tested muscles
    sl = habits.short_list
    if sl.any():
        flat = muscles.reshape(n, -1)
        score = rng.random(flat.shape)
        if abnormal is not None:
            first = abnormal.reshape(n, -1) & (
                rng.random(flat.shape) < _P_SHORT_LIST_KEEPS_ABNORMAL
            )
            score = np.where(first, score - 1.0, score)
        score = np.where(flat, score, np.inf)
        rank = np.argsort(np.argsort(score, axis=1), axis=1)
        k = rng.integers(2, 8, n)
        keep = rank < k[:, None]
        flat = np.where(sl[:, None], flat & keep, flat)
        muscles = flat.reshape(muscles.shape)
    # EMG only: no NCS rows (only if a muscle is left)
    eo = habits.emg_only & muscles.any(axis=(1, 2))
    motor &= ~eo[:, None, None]
    sensory &= ~eo[:, None, None]
    return Sampling(
        samp.referral,
        motor,
        sensory,
        samp.f_wave & motor,
        muscles,
        samp.proximal & motor,
    )


def _normal_rows(emg: pd.DataFrame, age_years: np.ndarray, muap: pd.DataFrame) -> np.ndarray:
    """Rows whose needle findings are all normal (what an abnormal-only report leaves out)."""
    quiet = np.ones(len(emg), dtype=bool)
    for col in ("fibs", "psw", "fascics", "crd", "myotonia"):
        quiet &= ~(emg[col].to_numpy(dtype=float) > 0)
    quiet &= emg["recruitment"].to_numpy() == "normal"
    for col, normal in (
        ("muap_amplitude_grade", "normal"),
        ("muap_duration_grade", "normal"),
        ("polyphasia_grade", "normal"),
    ):
        v = emg[col].to_numpy()
        quiet &= pd.isna(v) | (v == normal)
    quiet &= ~(emg["muap_unstable"].to_numpy(dtype=float) > 0)
    dur = emg["muap_duration_ms"].to_numpy(dtype=float)
    key = emg["study_id"].to_numpy().astype(np.int64)
    ref = emg["muscle"].map(muap["duration_ms"]).to_numpy(dtype=float)
    ref = ref * (1.0 + 0.007 * np.maximum(age_years[key] - 25.0, 0.0))
    ratio = dur / ref
    quiet &= np.isnan(ratio) | ((ratio > 0.8) & (ratio < 1.2))
    return quiet


def omit_normal_muscles(
    emg: pd.DataFrame,
    ncs: pd.DataFrame,
    habits: Habits,
    age_years: np.ndarray,
    muap: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Drop most normal muscles of abnormal-only reports; keep >= 1 row per study.

    ``emg`` and ``ncs`` carry integer study keys (before the real ids are written). A study
    whose needle EMG was entirely normal keeps one normal muscle with P 0.5, and always when it
    has no NCS row.
    """
    if not habits.abnormal_only.any() or emg.empty:
        return emg
    key = emg["study_id"].to_numpy().astype(np.int64)
    normal = _normal_rows(emg, age_years, muap)
    drop = habits.abnormal_only[key] & normal & (rng.random(len(emg)) < _P_OMIT_NORMAL)
    n = habits.abnormal_only.size
    kept = np.bincount(key[~drop], minlength=n)
    has_ncs = np.zeros(n, dtype=bool)
    has_ncs[ncs["study_id"].to_numpy().astype(np.int64)] = True
    rescue_study = (kept == 0) & (~has_ncs | (rng.random(n) < _P_KEEP_ONE_NORMAL))
    first = np.zeros(len(emg), dtype=bool)
    _, first_idx = np.unique(key, return_index=True)
    first[first_idx] = True
    drop &= ~(first & rescue_study[key])
    return emg.loc[~drop].reset_index(drop=True)


__all__ = ["Habits", "apply_habits", "draw_habits", "omit_normal_muscles"]
