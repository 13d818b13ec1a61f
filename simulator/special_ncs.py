"""The optional NCS kinds: tibial H-reflex and repetitive nerve stimulation rows (issue 11, item 7).

Which labs and studies record them, what disease does to them, and their rows. Numbers cite
``clinical-reference.md`` (``T1.3`` = table T1.3, ``§7.1``/``§7.4`` = section 7); ``†`` marks a
value the reference does not give (a modelling choice or a textbook value not re-checked).

* **Who records them** [sim]: 70 % of labs record H-reflexes and 75 % RNS; an H-reflex in
  55 % of lumbosacral-radiculopathy and 25 % of neuropathy work-ups of those labs (T5.1:
  "H-reflex for S1"; T5.1b allows two in radiculopathy and PN), on both sides in 90 % (it is
  read side to side, T1.3), only where the study tested a leg; RNS in 60 % of myopathy and 35 %
  of ALS work-ups (T5.1 myopathy row: "repetitive nerve stimulation if NMJ disease is in the
  differential"; T5.1b: NMJ tests in myopathy and ALS), 85 % when the examiner suspects
  myasthenia (fatigable weakness) †.
* **Normal H-reflex**: Braddom & Johnson nomogram (T1.3 †, :mod:`features.limits_special`)
  with between-subject SD 1.8 ms (§7.1) split into a subject part shared by both sides and a
  small side part, plus the latency-reading noise of :mod:`simulator.measurement`, so a
  left-right difference above 1.5 ms occurs in about 1 % of healthy people (T1.3 ULN).
  Amplitude log-normal, median 2 mV, subject log-SD 0.5 †, side log-SD 0.27 so that the
  smaller/larger ratio averages about 0.74 (Jankus 1994, T1.3: 0.74 ± 0.17). Bilaterally
  absent in 8 % of people from 60 y (Falco 1994, T1.3: 92 % bilaterally recordable at 60-88 y).
* **S1 radiculopathy** (§7.4: "S1: H latency +1.5-3 ms or absent in 60 % [sim]"): on the
  affected side in 60 % of S1 roots (alone or with L5), one third absent and two thirds
  delayed by 1.5-3 ms with the amplitude × 0.2-0.8 † (T3.5: ratio < 0.4 is a sign).
* **Polyneuropathy** †: the H-reflex travels the tibial nerve and S1 roots like the tibial F
  wave, so its latency takes the tibial F-latency factor of the latent state (up to 2 × in
  demyelinating PN, §7.4) and is absent with the tibial F; Ia-afferent loss follows the sural
  SNAP factor (absent with P (0.5 − factor)/0.4, bilateral through one draw per subject) and
  demyelinating slowing the tibial CV factor (absent with P (0.8 − factor)/0.3, at most 0.85).
* **RNS decrement** (1st to 4th response at 3 Hz): healthy 1 ± 1.5 % †, so below 10 %;
  myasthenia :func:`simulator.out_of_scope.myasthenia_decrement_pct`; ALS a mild decrement
  in 35 % (3-13 %) † (documented since Mulder, Lambert & Eaton 1959; not in the reference);
  myopathy 2-9 % in 10 % †. Recorded from the ulnar nerve at ADM, and the median at APB in 40 %
  [sim]; the first CMAP follows the motor-unit normals and the latent CMAP factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundle.tables import NCS_COLUMNS
from features.limits_special import h_latency_expected_ms, leg_length_cm
from features.vocab import CLASSES
from simulator import measurement as ms
from simulator.latent import Latent
from simulator.out_of_scope import CONDITIONS, myasthenia_decrement_pct
from simulator.patients import Subjects
from simulator.protocols import (
    LOWER_MOTOR,
    LOWER_SENSORY,
    MOTOR_UNITS,
    REFERRALS,
    SENSORY_UNITS,
    Sampling,
)

#: share of labs that record each kind [sim]
P_LAB_RECORDS_H = 0.70
P_LAB_RECORDS_RNS = 0.75
#: P(H-reflex | referral) in a lab that records it [sim; T5.1, T5.1b]
P_H_GIVEN_REFERRAL: dict[str, float] = {"lumbar_radic": 0.55, "neuropathy": 0.25}
P_H_BILATERAL = 0.9
#: P(RNS | referral) in a lab that records it [sim; T5.1, T5.1b]; myasthenia suspected: 0.85 †
P_RNS_GIVEN_REFERRAL: dict[str, float] = {"myopathy": 0.60, "als": 0.35}
P_RNS_MYASTHENIA = 0.85
#: healthy H-reflex: subject and side latency SD (ms) around the nomogram; with the reading
#: noise (~0.37 ms at 30 ms) the total is the 1.8 ms of §7.1
H_SUBJECT_SD_MS, H_SIDE_SD_MS = 1.75, 0.2
H_AMP_MEDIAN_MV, H_AMP_SUBJECT_LOG_SD, H_AMP_SIDE_LOG_SD = 2.0, 0.5, 0.27
#: bilaterally absent in healthy people from 60 y (Falco 1994, T1.3: 92 % recordable)
P_H_ABSENT_ELDERLY, H_ELDERLY_YEARS = 0.08, 60.0
#: S1 root: share with an abnormal H-reflex and the latency added (§7.4 [sim])
P_S1_H_ABNORMAL, S1_H_DELAY_MS, P_S1_H_ABSENT_GIVEN_ABNORMAL = 0.60, (1.5, 3.0), 1 / 3
RNS_UNITS: tuple[str, ...] = ("ulnar_adm", "median_apb")
P_RNS_MEDIAN = 0.4
RNS_NORMAL_PCT = (1.0, 1.5)  # mean, SD of a healthy decrement †

_SIDES = np.array(["L", "R"], dtype=object)
_TIBIAL = MOTOR_UNITS.index("tibial_ah")
_SURAL = SENSORY_UNITS.index("sural")


@dataclass(frozen=True)
class SpecialLabs:
    """Per lab whether it records H-reflexes and RNS."""

    records_h: np.ndarray
    records_rns: np.ndarray


@dataclass(frozen=True)
class SpecialEffects:
    """Disease effects on the optional kinds, per study (the latent state of this module).

    Attributes
    ----------
    h_add_ms : ndarray, shape (n, 2)
        Latency added on each side (L, R) by a root lesion.
    h_amp : ndarray, shape (n, 2)
        Amplitude factor.
    h_absent : ndarray of bool, shape (n, 2)
    rns_decrement_pct : ndarray, shape (n,)
        Decrement a neuromuscular-junction disorder (or ALS, myopathy) adds.
    """

    h_add_ms: np.ndarray
    h_amp: np.ndarray
    h_absent: np.ndarray
    rns_decrement_pct: np.ndarray


@dataclass(frozen=True)
class SpecialSampling:
    """Which studies recorded an H-reflex (per side) and RNS (per unit of :data:`RNS_UNITS`)."""

    h_reflex: np.ndarray
    rns: np.ndarray
    rns_side: np.ndarray


def lab_habits(n_labs: int, seed: int, scale: float) -> SpecialLabs:
    """Which labs record the optional kinds (own child seed: other lab habits are unchanged)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x48, 0x52]))
    u = rng.random((2, n_labs))
    return SpecialLabs(u[0] < P_LAB_RECORDS_H * scale, u[1] < P_LAB_RECORDS_RNS * scale)


def special_effects(
    dx: np.ndarray,
    condition: np.ndarray,
    root_levels: np.ndarray,
    index_side: np.ndarray,
    rng: np.random.Generator,
) -> SpecialEffects:
    """Disease effects on the H-reflex (S1 roots) and the RNS decrement (module docstring)."""
    n = dx.size
    h_add, h_amp = np.zeros((n, 2)), np.ones((n, 2))
    h_absent = np.zeros((n, 2), dtype=bool)
    s1 = np.array(["S1" in str(r).split("+") for r in root_levels], dtype=bool)
    hit = s1 & (rng.random(n) < P_S1_H_ABNORMAL)
    absent = hit & (rng.random(n) < P_S1_H_ABSENT_GIVEN_ABNORMAL)
    delay = rng.uniform(*S1_H_DELAY_MS, n)
    amp = rng.uniform(0.2, 0.8, n)
    rows = np.arange(n)
    side = np.asarray(index_side, dtype=int)
    h_add[rows[hit], side[hit]] = delay[hit]
    h_amp[rows[hit], side[hit]] = amp[hit]
    h_absent[rows[absent], side[absent]] = True
    dec = np.zeros(n)
    in_scope = condition < 0
    als = in_scope & (dx == CLASSES.index("als")) & (rng.random(n) < 0.35)
    dec = np.where(als, rng.uniform(3.0, 13.0, n), dec)
    myo = in_scope & (dx == CLASSES.index("myopathy")) & (rng.random(n) < 0.10)
    dec = np.where(myo, rng.uniform(2.0, 9.0, n), dec)
    mg = condition == CONDITIONS.index("myasthenia")
    dec[mg] = myasthenia_decrement_pct(int(mg.sum()), rng)
    return SpecialEffects(h_add, h_amp, h_absent, dec)


def draw_special_sampling(
    samp: Sampling,
    condition: np.ndarray,
    index_side: np.ndarray,
    records_h: np.ndarray,
    records_rns: np.ndarray,
    rng: np.random.Generator,
) -> SpecialSampling:
    """Draw which studies record an H-reflex and RNS (module docstring for the shares)."""
    n = samp.referral.size
    names = np.array(REFERRALS, dtype=object)[samp.referral]
    p_h = np.array([P_H_GIVEN_REFERRAL.get(str(r), 0.0) for r in names]) * records_h
    leg = samp.motor[:, LOWER_MOTOR].any(axis=(1, 2)) | samp.sensory[:, LOWER_SENSORY].any(
        axis=(1, 2)
    )
    has_h = leg & (rng.random(n) < p_h)
    both = rng.random(n) < P_H_BILATERAL
    side = np.asarray(index_side, dtype=int)
    h = np.zeros((n, 2), dtype=bool)
    h[:, 0] = has_h & (both | (side == 0))
    h[:, 1] = has_h & (both | (side == 1))
    p_rns = np.array([P_RNS_GIVEN_REFERRAL.get(str(r), 0.0) for r in names])
    p_rns = np.where(condition == CONDITIONS.index("myasthenia"), P_RNS_MYASTHENIA, p_rns)
    has_rns = rng.random(n) < p_rns * records_rns
    rns = np.stack([has_rns, has_rns & (rng.random(n) < P_RNS_MEDIAN)], axis=1)
    return SpecialSampling(h, rns, side)


def render_special(
    study_ids: np.ndarray,
    subjects: Subjects,
    latent: Latent,
    effects: SpecialEffects,
    sampling: SpecialSampling,
    lab: dict[str, np.ndarray],
    normals: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The ``h_reflex`` and ``rns`` rows of one chunk (canonical contract columns)."""
    frames = _h_rows(study_ids, subjects, latent, effects, sampling, lab, rng)
    frames += _rns_rows(study_ids, latent, effects, sampling, lab, normals, rng)
    if not frames:
        return _frame({c: np.zeros(0) for c in NCS_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def _frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
    k = len(data["study_id"])
    cols = {}
    for c, kind in NCS_COLUMNS.items():
        v = data.get(c)
        if v is None:
            cols[c] = np.full(k, np.nan) if kind == "float" else np.full(k, np.nan, dtype=object)
        else:
            cols[c] = np.asarray(v, dtype=float if kind == "float" else object)
    return pd.DataFrame(cols)


def _h_rows(
    study_ids: np.ndarray,
    subjects: Subjects,
    latent: Latent,
    effects: SpecialEffects,
    sampling: SpecialSampling,
    lab: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> list[pd.DataFrame]:
    n = study_ids.size
    age = subjects.age_years
    expected = h_latency_expected_ms(age, leg_length_cm(subjects.height_cm))
    z_lat, z_amp, u_pn = rng.normal(size=n), rng.normal(size=n), rng.random(n)
    elderly_absent = (age >= H_ELDERLY_YEARS) & (rng.random(n) < P_H_ABSENT_ELDERLY)
    frames = []
    for side in (0, 1):
        ii = np.flatnonzero(sampling.h_reflex[:, side])
        k = ii.size
        if k == 0:
            continue
        lat = expected[ii] + H_SUBJECT_SD_MS * z_lat[ii] + H_SIDE_SD_MS * rng.normal(size=k)
        lat = lat * latent.f_lat[ii, _TIBIAL, side] + effects.h_add_ms[ii, side]
        sural = latent.snap[ii, _SURAL, side] * ~latent.s_absent[ii, _SURAL, side]
        p_afferent = np.clip((0.5 - sural) / 0.4, 0.0, 1.0)
        p_demyel = np.clip((0.8 - latent.cv[ii, _TIBIAL, side]) / 0.3, 0.0, 0.85)
        absent = (
            effects.h_absent[ii, side]
            | latent.f_absent[ii, _TIBIAL, side]
            | (u_pn[ii] < np.maximum(p_afferent, p_demyel))
            | elderly_absent[ii]
        )
        amp = H_AMP_MEDIAN_MV * np.exp(
            H_AMP_SUBJECT_LOG_SD * z_amp[ii]
            + ms.biological_sd(H_AMP_SIDE_LOG_SD, ms.CMAP_NOISE_LOG_SD) * rng.normal(size=k)
        )
        amp = amp * effects.h_amp[ii, side] * np.clip(sural, 0.1, 1.0) * lab["amp_scale"][ii]
        amp_m = ms.jitter_log(amp, ms.CMAP_NOISE_LOG_SD, rng)
        absent |= amp_m < ms.MOTOR_FLOOR_MV
        lat_m = ms.jitter_latency(lat, rng) + lab["latency_offset_ms"][ii]
        dec_l, dec_a = lab["decimals_latency"][ii], np.maximum(lab["decimals_amplitude"][ii], 1)
        frames.append(
            _frame(
                {
                    "study_id": study_ids[ii],
                    "nerve": np.full(k, "tibial", dtype=object),
                    "side": np.full(k, _SIDES[side], dtype=object),
                    "kind": np.full(k, "h_reflex", dtype=object),
                    "stim_site": np.full(k, "popliteal_fossa", dtype=object),
                    "recording_site": np.full(k, "soleus", dtype=object),
                    "latency_ms": np.where(absent, np.nan, ms.round_to(lat_m, dec_l)),
                    "amplitude": np.where(absent, 0.0, np.maximum(ms.round_to(amp_m, dec_a), 0.1)),
                }
            )
        )
    return frames


def _rns_rows(
    study_ids: np.ndarray,
    latent: Latent,
    effects: SpecialEffects,
    sampling: SpecialSampling,
    lab: dict[str, np.ndarray],
    normals: pd.DataFrame,
    rng: np.random.Generator,
) -> list[pd.DataFrame]:
    frames = []
    for ui, unit in enumerate(RNS_UNITS):
        ii = np.flatnonzero(sampling.rns[:, ui])
        k = ii.size
        if k == 0:
            continue
        r = normals.loc[unit]
        side = sampling.rns_side[ii]
        m = MOTOR_UNITS.index(unit)
        amp = r["amp_median"] * np.exp(r["amp_log_sd"] * rng.normal(size=k))
        amp = amp * latent.cmap[ii, m, side] * lab["amp_scale"][ii]
        amp_m = np.minimum(ms.jitter_log(amp, ms.CMAP_NOISE_LOG_SD, rng), ms.MOTOR_MAX_MV)
        dec = effects.rns_decrement_pct[ii] + rng.normal(*RNS_NORMAL_PCT, k)
        dec = np.clip(dec, -5.0, 95.0)
        frames.append(
            _frame(
                {
                    "study_id": study_ids[ii],
                    "nerve": np.full(k, str(r["nerve"]), dtype=object),
                    "side": _SIDES[side],
                    "kind": np.full(k, "rns", dtype=object),
                    "stim_site": np.full(k, str(r["stim_site"]), dtype=object),
                    "recording_site": np.full(k, str(r["recording_site"]), dtype=object),
                    "amplitude": np.maximum(np.round(amp_m, 1), 0.1),
                    "decrement_pct": np.round(dec, 0),
                }
            )
        )
    return frames
