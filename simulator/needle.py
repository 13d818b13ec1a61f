"""Needle EMG findings per muscle, derived from the latent state the same way for every class.

Spontaneous activity is graded from latent levels with examiner noise and the lab's grading
tendency (T2.4). MUAP size follows motor-unit physiology: reinnervation lengthens and enlarges
units (T2.2: duration +30-80 %, amplitude x 1.5-3), myopathic fibre loss shortens and shrinks
them (duration -20 to -50 %, amplitude x 0.4-0.8, polyphasia 20-60 %), IBM adds large
pseudo-neurogenic units. Recruitment follows the fraction of motor units lost or blocked
(reduced / discrete / none) or myopathic weakness (early) (T2.3). Normal MUAP values per
muscle come from T2.1 with an age slope of +0.7 %/yr duration from age 25 (CR7.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bundle.tables import EMG_COLUMNS
from features.vocab import MUSCLES
from simulator import measurement as ms
from simulator.latent import Latent
from simulator.ncs import SIDES, _Rows
from simulator.protocols import Sampling

_GRADES = np.array(["decreased", "normal", "increased"], dtype=object)
_POLY = np.array(["normal", "increased"], dtype=object)
_RECRUIT = np.array(["normal", "reduced", "early", "discrete", "none"], dtype=object)
_INSERT = np.array(["normal", "increased", "decreased"], dtype=object)
_ACT = np.array(["normal", "reduced"], dtype=object)


def _grade(
    level: np.ndarray, bias: np.ndarray, spurious_p: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Observed 0-4 grade from a latent level (0 = none) with examiner noise."""
    k = level.shape[0]
    seen = np.clip(np.round(level + bias + rng.normal(0.0, 0.4, k)), 0, 4)
    spurious = (rng.random(k) < spurious_p).astype(float)
    return np.where(level > 0, seen, spurious)


def render_emg(
    study_ids: np.ndarray,
    age_years: np.ndarray,
    latent: Latent,
    sampling: Sampling,
    lab: dict[str, np.ndarray],
    muap_normals: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Render the ``emg`` table (canonical contract columns) for one chunk of studies.

    Parameters
    ----------
    study_ids : ndarray of str, shape (n,)
    age_years : ndarray of float, shape (n,)
    latent : Latent
    sampling : Sampling
    lab : dict of ndarray
        Lab fields indexed per study.
    muap_normals : DataFrame
        :func:`simulator.parameters.load_muap_normals`.
    rng : numpy.random.Generator
    """
    rows = _Rows.new(EMG_COLUMNS)
    mode = lab["muap_mode"]
    for mi, muscle in enumerate(MUSCLES):
        ref = muap_normals.loc[muscle]
        for side in (0, 1):
            ii = np.flatnonzero(sampling.muscles[:, mi, side])
            k = ii.size
            if k == 0:
                continue
            loss = latent.loss[ii, mi, side].astype(float)
            block = latent.block[ii, mi, side].astype(float)
            reinn = latent.reinn[ii, mi, side].astype(float)
            myo = latent.myo[ii, mi, side].astype(float)
            pseudo = latent.pseudo[ii, mi, side].astype(float)
            age_f = 1.0 + 0.007 * np.maximum(age_years[ii] - 25.0, 0.0)  # CR7.2 MUAP age slope
            dur_norm = ref["duration_ms"] * age_f  # the reference the examiner uses
            dur_exp = dur_norm * np.exp(rng.normal(0.0, 0.06, k))  # this subject
            amp_exp = ref["amplitude_uv"] * (1.0 + 0.005 * np.maximum(age_years[ii] - 25.0, 0.0))
            amp_norm = amp_exp
            amp_exp = amp_exp * np.exp(rng.normal(0.0, 0.12, k))
            dur = dur_exp * (1.0 + 0.8 * reinn) * (1.0 - 0.6 * myo) * (1.0 + 0.6 * pseudo)
            dur = dur * np.exp(rng.normal(0.0, 0.05, k))  # mean of about 20 MUAPs
            amp = amp_exp * (1.0 + 2.0 * reinn) * (1.0 - 0.55 * myo) * (1.0 + 2.5 * pseudo)
            amp = amp * np.exp(rng.normal(0.0, 0.08, k))
            poly = ref["polyphasic_pct"] * np.exp(rng.normal(0.0, 0.3, k))
            poly = np.clip(
                poly + 25.0 * reinn * latent.unstable[ii, mi, side] + 60.0 * myo, 0.0, 100.0
            )
            # spontaneous activity
            fib = _grade(latent.fib[ii, mi, side].astype(float), lab["fib_bias"][ii], 0.005, rng)
            psw = np.where(fib > 0, np.clip(fib + rng.choice([-1.0, 0.0, 0.0, 1.0], k), 0, 4), 0.0)
            psw = np.where((fib > 0) & (psw == 0), 1.0, psw)
            fasc_spur = np.where(lab["fasc_bias"][ii] > 0.5, 0.03, 0.008)
            fasc = _grade(
                latent.fasc[ii, mi, side].astype(float), lab["fasc_bias"][ii], fasc_spur, rng
            )
            crd = _grade(latent.crd[ii, mi, side].astype(float), 0.0, 0.0, rng)
            myot = _grade(latent.myotonia[ii, mi, side].astype(float), 0.0, 0.0, rng)
            # recruitment from units lost or blocked (T2.3)
            deficit = 1.0 - (1.0 - loss) * (1.0 - block) + rng.normal(0.0, 0.07, k)
            early = (myo + rng.normal(0.0, 0.07, k) > 0.3) & (deficit < 0.3)
            rec = np.select(
                [deficit > 0.97, deficit > 0.85, deficit > 0.3, early], [4, 3, 1, 2], default=0
            )
            none = rec == 4
            # MUAP recording habit: numbers, grades or mixed
            numeric = (mode[ii] == "numbers") | ((mode[ii] == "mixed") & (rng.random(k) < 0.5))
            seen_dur = dur / dur_norm * np.exp(rng.normal(0.0, 0.05, k))
            seen_amp = amp / amp_norm * np.exp(rng.normal(0.0, 0.08, k))
            dur_g = np.select([seen_dur > 1.2, seen_dur < 0.8], [2, 0], default=1)  # T2.2 +-20 %
            amp_g = np.select([seen_amp > 1.45, seen_amp < 0.65], [2, 0], default=1)
            poly_g = (poly > max(25.0, 1.5 * ref["polyphasic_pct"])).astype(int)
            num_ok = numeric & ~none
            grade_ok = ~numeric & ~none
            insertional = np.where(fib > 0, np.where(rng.random(k) < 0.8, 1, 0), 0)
            insertional = np.where((myo > 0.8) & (rng.random(k) < 0.3), 2, insertional)
            act = (rng.random(k) < np.maximum(latent.umn[ii, mi, side], 0.03)).astype(int)
            unstable = (rng.random(k) < latent.unstable[ii, mi, side]).astype(float)
            side_label = np.full(k, SIDES[side], dtype=object)
            if muscle == "tongue":
                side_label[:] = "M"
            rows.add(
                k,
                study_id=study_ids[ii],
                muscle=muscle,
                side=side_label,
                insertional=np.where(
                    rng.random(k) < lab["p_insertional_recorded"][ii], _INSERT[insertional], None
                ),
                fibs=fib,
                psw=psw,
                fascics=fasc,
                crd=crd,
                myotonia=myot,
                muap_amplitude_uv=np.where(num_ok, np.round(amp / 10.0) * 10.0, np.nan),
                muap_duration_ms=np.where(num_ok, np.round(dur, 1), np.nan),
                muap_polyphasic_pct=np.where(num_ok, np.round(poly), np.nan),
                muap_amplitude_grade=np.where(grade_ok, _GRADES[amp_g], None),
                muap_duration_grade=np.where(grade_ok, _GRADES[dur_g], None),
                polyphasia_grade=np.where(grade_ok, _POLY[poly_g], None),
                recruitment=_RECRUIT[rec],
                activation=np.where(
                    rng.random(k) < lab["p_activation_recorded"][ii], _ACT[act], None
                ),
                muap_unstable=ms.blank(
                    np.where(none, np.nan, unstable), lab["p_unstable_recorded"][ii], rng
                ),
            )
    return rows.frame(EMG_COLUMNS)
