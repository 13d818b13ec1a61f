"""Nerve conduction responses from the healthy baseline, the latent state and the lab.

Healthy baseline per subject (CR7.1): normal latencies and CVs, log-normal amplitudes, with
the covariate slopes of CR7.2 (age, height, sex, BMI, temperature). A subject-level
conduction factor is shared by all nerves and each nerve's value is shared by both sides, so
left-right differences stay within the side-to-side limits of T1.6. Disease effects are then
applied from :class:`~simulator.latent.Latent`, and the lab's distance convention, offsets,
noise, technical errors and rounding are applied last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundle.tables import NCS_COLUMNS
from simulator import measurement as ms
from simulator.latent import Latent
from simulator.patients import Subjects
from simulator.protocols import MOTOR_UNITS, SENSORY_UNITS, Sampling

#: F persistence mean, SD (%) per motor unit (T1.3 Nobrega 2004: ulnar 83 +- 19, tibial
#: 97 +- 5; median and peroneal [sim])
F_PERSISTENCE: dict[str, tuple[float, float]] = {
    "median_apb": (80.0, 18.0),
    "ulnar_adm": (83.0, 19.0),
    "peroneal_edb": (55.0, 25.0),
    "tibial_ah": (97.0, 5.0),
}
SENSORY_RISE_MS = 0.65  # onset-to-peak time: CR7.1 peak latencies vs distance / CV [sim]
SIDES = np.array(["L", "R"], dtype=object)


@dataclass
class _Rows:
    """Column buffers for one table (appended block by block, concatenated once)."""

    cols: dict[str, list[np.ndarray]]

    @staticmethod
    def new(columns: dict[str, str]) -> _Rows:
        return _Rows({c: [] for c in columns})

    def add(self, k: int, **values: object) -> None:
        for c, buf in self.cols.items():
            v = values.get(c)
            if v is None:
                buf.append(np.full(k, np.nan))
            elif isinstance(v, np.ndarray):
                buf.append(v)
            else:
                buf.append(np.full(k, v, dtype=object))

    def frame(self, kinds: dict[str, str]) -> pd.DataFrame:
        data = {}
        for c, buf in self.cols.items():
            arr = np.concatenate(buf) if buf else np.array([])
            data[c] = arr.astype(float) if kinds[c] == "float" else arr.astype(object)
        return pd.DataFrame(data)


def _cv_age_delta(age: np.ndarray) -> np.ndarray:
    """CV change with age, m/s: -0.5 per decade 40-60, -1.5 per decade after 60 (CR7.2)."""
    return -0.05 * np.clip(age - 40.0, 0.0, 20.0) - 0.15 * np.maximum(age - 60.0, 0.0)


def _amp_age(age: np.ndarray, pct_per_yr: float, from_yr: float) -> np.ndarray:
    """Amplitude factor relative to age 40 (exponential decline after ``from_yr``; CR7.2)."""
    return np.exp(pct_per_yr / 100.0 * (np.maximum(age, from_yr) - max(40.0, from_yr)))


def render_ncs(
    study_ids: np.ndarray,
    subjects: Subjects,
    latent: Latent,
    sampling: Sampling,
    lab: dict[str, np.ndarray],
    normals: pd.DataFrame,
    segments: pd.DataFrame,
    outlier_rate: float,
    snap_distance_exponent: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Render the ``ncs`` table (canonical contract columns) for one chunk of studies.

    Parameters
    ----------
    study_ids : ndarray of str, shape (n,)
    subjects : Subjects
    latent : Latent
    sampling : Sampling
        Which responses each study tested.
    lab : dict of ndarray
        Lab fields already indexed per study (each array has shape (n,)).
    normals, segments : DataFrame
        :func:`simulator.parameters.load_normals` and ``load_segments``.
    outlier_rate : float
        Share of responses with a technical error.
    snap_distance_exponent : float
        SNAP amplitude scales with (distance / reference) ** -exponent.
    rng : numpy.random.Generator
    """
    n = study_ids.size
    rows = _Rows.new(NCS_COLUMNS)
    age, height = subjects.age_years, subjects.height_cm
    z_global = rng.normal(size=n)  # subject-level conduction factor
    for ui, unit in enumerate(MOTOR_UNITS):
        _motor_unit(
            ui,
            unit,
            study_ids,
            subjects,
            latent,
            sampling,
            lab,
            normals,
            segments,
            outlier_rate,
            z_global,
            rows,
            rng,
        )
    for si, unit in enumerate(SENSORY_UNITS):
        r = normals.loc[unit]
        lower = r["limb"] == "lower"
        temp = subjects.foot_temp_c if lower else subjects.hand_temp_c
        cold = np.clip((30.0 if lower else 32.0) - temp, 0.0, None)
        z_cv, z_amp = rng.normal(size=n), rng.normal(size=n)
        cv_bio = ms.biological_sd(r["cv_sd_m_s"], 0.03 * r["cv_mean_m_s"])
        # the reference SD already holds the covariate spread (sex x1.4 in the arms: log-SD 0.17;
        # height 9 cm x 0.5 %/cm: 0.045; BMI in the legs: 0.03), so remove it with the noise
        cov_sd = np.hypot(0.17, 0.045) if not lower else np.hypot(0.045, 0.03)
        amp_bio = float(
            ms.biological_sd(ms.biological_sd(r["amp_log_sd"], ms.SNAP_NOISE_LOG_SD), cov_sd)
        )
        for side in (0, 1):
            ii = np.flatnonzero(sampling.sensory[:, si, side])
            k = ii.size
            if k == 0:
                continue
            cv0 = r["cv_mean_m_s"] + cv_bio * (
                0.5 * z_global[ii] + 0.7 * z_cv[ii] + 0.5 * rng.normal(size=k)
            )
            cv0 = cv0 + _cv_age_delta(age[ii]) - 1.5 * cold[ii]  # CR7.2 age; T1.5 temperature
            if lower:
                cv0 = cv0 - 0.1 * (height[ii] - 170.0)  # CR7.2 height, leg CV
            cv_true = np.maximum(cv0, 20.0) / latent.slat[ii, si, side]
            d_ref = float(r["distance_mm"])
            d = lab["sural_mm"][ii] if unit == "sural" else np.full(k, d_ref)
            onset = d / cv_true
            rise = SENSORY_RISE_MS * np.exp(rng.normal(0.0, 0.1, k)) * (1.0 + 0.02 * cold[ii])
            peak = onset + rise + latent.slat_add_ms[ii, si, side]
            amp = r["amp_median"] * np.exp(amp_bio * (0.6 * z_amp[ii] + 0.8 * rng.normal(size=k)))
            amp = amp * _amp_age(age[ii], r["age_amp_pct_per_yr"], r["age_amp_from_yr"])
            amp = amp * np.exp(-0.005 * (height[ii] - 170.0))  # CR7.2 height
            if not lower:
                amp = amp * np.where(subjects.female[ii], 1.18, 1.0 / 1.18)  # CR7.2 sex x1.4
            else:
                amp = amp * np.exp(-0.01 * np.maximum(subjects.bmi[ii] - 25.0, 0.0))  # CR7.2 BMI
            amp = amp * (1.0 + 0.02 * cold[ii])  # CR7.2 temperature
            amp = amp * (d / d_ref) ** (-snap_distance_exponent)  # T1.4 Horowitz & Krarup
            amp = amp * latent.snap[ii, si, side] * lab["amp_scale"][ii]
            distal_f, _, dist_err = ms.technical_error(k, outlier_rate, rng)
            amp_m = np.minimum(
                ms.jitter_log(amp * distal_f, ms.SNAP_NOISE_LOG_SD, rng), ms.SENSORY_MAX_UV
            )
            absent = latent.s_absent[ii, si, side] | (amp_m < ms.SENSORY_FLOOR_UV)
            if lower:  # absence acceptable in the elderly: p 0.05 at 75, rising (CR7.2, Tavee 2014)
                absent |= rng.random(k) < np.clip(0.05 * np.exp((age[ii] - 75.0) / 6.0), 0.0, 0.6)
            peak_m = ms.jitter_latency(peak, rng) + lab["latency_offset_ms"][ii]
            onset_m = ms.jitter_latency(onset, rng)
            d_m = np.round(d * dist_err * (1.0 + rng.normal(0.0, ms.DISTANCE_NOISE_CV, k)))
            vel = ms.blank(d_m / onset_m, lab["p_sensory_velocity"][ii], rng)
            dec_l, dec_a = lab["decimals_latency"][ii], lab["decimals_amplitude"][ii]
            rows.add(
                k,
                study_id=study_ids[ii],
                nerve=str(r["nerve"]),
                side=SIDES[side],
                kind="sensory",
                stim_site=str(r["stim_site"]),
                recording_site=str(r["recording_site"]),
                latency_ms=np.where(absent, np.nan, ms.round_to(peak_m, dec_l)),
                amplitude=np.where(absent, 0.0, np.maximum(ms.round_to(amp_m, dec_a), 1.0)),
                distance_mm=d_m,
                velocity_m_s=np.where(absent, np.nan, np.round(vel, 1)),
            )
    return rows.frame(NCS_COLUMNS)


def _motor_unit(
    ui: int,
    unit: str,
    study_ids: np.ndarray,
    subjects: Subjects,
    latent: Latent,
    sampling: Sampling,
    lab: dict[str, np.ndarray],
    normals: pd.DataFrame,
    segments: pd.DataFrame,
    outlier_rate: float,
    z_global: np.ndarray,
    rows: _Rows,
    rng: np.random.Generator,
) -> None:
    """Append the motor rows (distal + proximal sites) and F-wave rows of one motor unit."""
    n = study_ids.size
    r = normals.loc[unit]
    segs = segments[segments["unit"] == unit].sort_values("order")
    lower = r["limb"] == "lower"
    age, height = subjects.age_years, subjects.height_cm
    temp = subjects.foot_temp_c if lower else subjects.hand_temp_c
    cold = np.clip((30.0 if lower else 32.0) - temp, 0.0, None)
    z_cv, z_lat, z_amp, z_f = (rng.normal(size=n) for _ in range(4))
    cv_bio = ms.biological_sd(r["cv_sd_m_s"], 0.03 * r["cv_mean_m_s"])
    lat_bio = ms.biological_sd(r["lat_sd_ms"], 0.025 * r["lat_mean_ms"])
    amp_bio = float(ms.biological_sd(r["amp_log_sd"], ms.CMAP_NOISE_LOG_SD))
    for side in (0, 1):
        ii = np.flatnonzero(sampling.motor[:, ui, side])
        k = ii.size
        if k == 0:
            continue
        cv0 = r["cv_mean_m_s"] + cv_bio * (
            0.5 * z_global[ii] + 0.7 * z_cv[ii] + 0.5 * rng.normal(size=k)
        )
        cv0 = cv0 + _cv_age_delta(age[ii]) - 1.5 * cold[ii]  # CR7.2 age, T1.5 temperature
        if lower:
            cv0 = cv0 - 0.1 * (height[ii] - 170.0)  # CR7.2 height
        cv0 = np.maximum(cv0, 25.0)
        cv_f = latent.cv[ii, ui, side]
        dml = (r["lat_mean_ms"] + lat_bio * (0.6 * z_lat[ii] + 0.8 * rng.normal(size=k))) * (
            1.0 + 0.05 * cold[ii]
        )
        dml = (
            np.maximum(dml, 0.6 * r["lat_mean_ms"]) * latent.dml[ii, ui, side]
            + latent.dml_add_ms[ii, ui, side]
        )
        d_ref = float(r["distance_mm"])
        d = lab["median_motor_mm"][ii] if unit == "median_apb" else np.full(k, d_ref)
        dml = dml + (d - d_ref) / (0.7 * cv0 * cv_f)  # distance convention (70 vs 80 mm)
        amp = r["amp_median"] * np.exp(amp_bio * (0.6 * z_amp[ii] + 0.8 * rng.normal(size=k)))
        amp = amp * _amp_age(age[ii], r["age_amp_pct_per_yr"], r["age_amp_from_yr"])
        if unit == "tibial_ah":
            amp = amp * np.exp(-0.01 * np.maximum(subjects.bmi[ii] - 25.0, 0.0))  # CR7.2 BMI
        amp = amp * latent.cmap[ii, ui, side] * lab["amp_scale"][ii]
        dur = (
            r["duration_mean_ms"]
            * np.exp(rng.normal(0.0, 0.1, k))
            * latent.dur[ii, ui, side]
            * (1.0 + 0.02 * cold[ii])
        )
        distal_f, prox_f, dist_err = ms.technical_error(k, outlier_rate, rng)
        amp = amp * distal_f
        noise_shared = rng.normal(0.0, ms.CMAP_NOISE_LOG_SD, k)
        amp_m = np.minimum(amp * np.exp(noise_shared), ms.MOTOR_MAX_MV)
        absent = amp_m < ms.MOTOR_FLOOR_MV
        lat_m = ms.jitter_latency(dml, rng) + lab["latency_offset_ms"][ii]
        dec_l, dec_a = lab["decimals_latency"][ii], np.maximum(lab["decimals_amplitude"][ii], 1)
        dur_keep = rng.random(k) < lab["p_duration"][ii]
        common = {
            "study_id": study_ids[ii],
            "nerve": str(r["nerve"]),
            "side": SIDES[side],
            "kind": "motor",
            "recording_site": str(r["recording_site"]),
        }
        rows.add(
            k,
            **common,
            stim_site=str(r["stim_site"]),
            latency_ms=np.where(absent, np.nan, ms.round_to(lat_m, dec_l)),
            amplitude=np.where(absent, 0.0, np.maximum(ms.round_to(amp_m, dec_a), 0.1)),
            duration_ms=np.where(absent | ~dur_keep, np.nan, np.round(dur, 1)),
            distance_mm=np.round(d * (1.0 + rng.normal(0.0, ms.DISTANCE_NOISE_CV, k))),
        )
        # proximal sites (velocity on the proximal row only)
        prox = sampling.proximal[ii, ui, side]
        prev_true, prev_meas, prev_amp, prev_dur = dml, lat_m, amp, dur
        for j, seg in enumerate(segs.itertuples(index=False)):
            seg_len = seg.segment_mm_at_170cm * height[ii] / 170.0 * rng.uniform(0.97, 1.03, k)
            seg_cv = (cv0 + seg.cv_offset_m_s) * cv_f * latent.seg_cv[ii, ui, side, j]
            lat_true = prev_true + seg_len / seg_cv
            a = prev_amp * (1.0 - rng.uniform(0.0, 0.08, k)) * (1.0 - latent.cb[ii, ui, side, j])
            if j == 0:
                a = a * prox_f
            du = prev_dur * (1.0 + rng.uniform(0.0, 0.06, k) + latent.td[ii, ui, side, j])
            a_m = np.minimum(a * np.exp(noise_shared + rng.normal(0.0, 0.04, k)), ms.MOTOR_MAX_MV)
            lm = ms.jitter_latency(lat_true, rng) + lab["latency_offset_ms"][ii]
            lm = np.maximum(lm, prev_meas + 0.2)
            seg_m = np.round(seg_len * dist_err * (1.0 + rng.normal(0.0, ms.DISTANCE_NOISE_CV, k)))
            ab = absent | (a_m < ms.MOTOR_FLOOR_MV)
            lm_r = ms.round_to(lm, dec_l)
            prev_r = ms.round_to(prev_meas, dec_l)
            vel = seg_m / np.maximum(lm_r - prev_r, 0.1)
            # ulnar above-elbow site is recorded in about 70 % of studies with proximal sites
            inc = prox if j == 0 else prox & (rng.random(k) < 0.7)
            if j > 0 and sampling.all_sites is not None:
                inc = inc | (prox & sampling.all_sites[ii, ui, side])
            sel = np.flatnonzero(inc)
            if sel.size:
                rows.add(
                    sel.size,
                    study_id=study_ids[ii][sel],
                    nerve=str(r["nerve"]),
                    side=SIDES[side],
                    kind="motor",
                    recording_site=str(r["recording_site"]),
                    stim_site=str(seg.stim_site),
                    latency_ms=np.where(ab, np.nan, lm_r)[sel],
                    amplitude=np.where(ab, 0.0, np.maximum(ms.round_to(a_m, dec_a), 0.1))[sel],
                    duration_ms=np.where(ab | ~dur_keep, np.nan, np.round(du, 1))[sel],
                    distance_mm=seg_m[sel],
                    velocity_m_s=np.where(ab, np.nan, np.round(np.minimum(vel, 119.0), 1))[sel],
                )
            prox = inc
            prev_true, prev_meas, prev_amp, prev_dur = lat_true, lm, a, du
        # F-waves (minimal F latency, persistence)
        if unit not in F_PERSISTENCE:
            continue
        fsel = np.flatnonzero(sampling.f_wave[ii, ui, side])
        if fsel.size == 0:
            continue
        jj = ii[fsel]
        f_bio = ms.biological_sd(r["f_sd_ms"], ms.F_NOISE_CV * r["f_mean_ms"])
        f_true = r["f_mean_ms"] + r["f_slope_ms_per_cm"] * (height[jj] - 170.0) + f_bio * z_f[jj]
        f_true = f_true * (1.0 + 0.01 * cold[jj]) * latent.f_lat[jj, ui, side]
        f_true = f_true + (_cv_age_delta(age[jj]) * -0.15)  # slower with age, mirrors CV (CR7.2)
        pm, psd = F_PERSISTENCE[unit]
        pers = np.clip(rng.normal(pm, psd, fsel.size), 5.0, 100.0) * latent.f_pers[jj, ui, side]
        pers = np.round(pers / 10.0) * 10.0  # typically 10-20 stimuli: steps of 10 % (T1.3)
        f_abs = latent.f_absent[jj, ui, side] | absent[fsel] | (pers <= 0)
        f_m = ms.jitter_relative(f_true, ms.F_NOISE_CV, rng)
        rows.add(
            fsel.size,
            study_id=study_ids[jj],
            nerve=str(r["nerve"]),
            side=SIDES[side],
            kind="f_wave",
            stim_site=str(r["stim_site"]),
            recording_site=str(r["recording_site"]),
            latency_ms=np.where(f_abs, np.nan, ms.round_to(f_m, dec_l[fsel])),
            persistence_pct=np.where(f_abs, 0.0, pers),
        )
