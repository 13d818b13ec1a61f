"""Orchestration: simulate a labelled cohort as a :class:`~bundle.tables.Bundle`.

Order of generation per chunk of studies (each chunk has its own child seed of
``np.random.SeedSequence(seed)``, so the output is identical for a seed and a chunk size):

1. diagnosis from the class mix, subtype (ALS onset, CMT1/CIDP/AIDP, myopathy kind, root);
2. lab (P(lab | diagnosis) follows the lab's share and how tertiary it is), symptomatic side,
   repeat visits of a patient;
3. subject (age, sex, height, BMI, diabetes, limb temperature);
4. latent physiology: disease process + comorbidity overlays;
5. referral question (noisy in the diagnosis) -> protocol -> what was tested;
6. rendering of NCS and needle EMG with the lab's offsets, noise and habits;
7. label noise on ``diagnosis``;
8. the optional H-reflex and RNS rows (:mod:`simulator.special_ncs`), from a child generator
   of the chunk's, so every other value is the same with and without them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from bundle.tables import NCS_COLUMNS, STUDY_COLUMNS, Bundle
from bundle.writers import BundleWriter
from features.vocab import CLASSES, MUSCLES
from simulator import comorbidity, diseases, out_of_scope, special_ncs
from simulator.anatomy import ROOTS, Anatomy, build_anatomy
from simulator.examination import extend_needle_for_findings, visibly_abnormal
from simulator.labs import lab_table, make_labs
from simulator.latent import Latent
from simulator.ncs import render_ncs
from simulator.needle import render_emg
from simulator.parameters import SimulatorParams, load_muap_normals, load_normals, load_segments
from simulator.patients import Subjects, draw_subjects
from simulator.physiology import physiology_table, study_physiology
from simulator.protocols import (
    MOTOR_UNITS,
    SENSORY_UNITS,
    Sampling,
    draw_referral,
    draw_sampling,
    extend_for_findings,
)
from simulator.reporting import apply_habits, draw_habits, omit_normal_muscles

logger = logging.getLogger(__name__)

#: file name of the per-study physiology side table written next to the bundle tables
PHYSIOLOGY_FILE = "physiology.parquet"
#: ground-truth columns of the side table (never read by the model)
TRUTH_COLUMNS: tuple[str, ...] = ("subtype", "index_side", "root_levels", "condition")
#: one boolean truth column per focal neuropathy site (simulator.out_of_scope.focal_truth)
FOCAL_TRUTH_COLUMNS: tuple[str, ...] = (
    "focal_median_wrist",
    "focal_ulnar_elbow",
    "focal_fibular_head",
)

_CLS = {c: i for i, c in enumerate(CLASSES)}
#: how much more a tertiary lab sees of each class (T5.2: tertiary labs see more ALS, myopathy,
#: demyelinating PN; general labs more normals) [sim]
_TERTIARY_AFFINITY = np.array([-0.5, 2.0, 0.0, 1.5, 1.5, -0.2])


@dataclass(frozen=True)
class _Reference:
    normals: pd.DataFrame
    segments: pd.DataFrame
    muap: pd.DataFrame
    anatomy: Anatomy
    labs: dict[str, np.ndarray]
    site_ids: np.ndarray
    special_labs: special_ncs.SpecialLabs


def _reference(params: SimulatorParams, seed: int) -> _Reference:
    labs = make_labs(params.n_sites, seed)
    table = lab_table(labs)
    return _Reference(
        normals=load_normals(),
        segments=load_segments(),
        muap=load_muap_normals(),
        anatomy=build_anatomy(),
        labs=table,
        site_ids=np.array([lab.site_id for lab in labs], dtype=object),
        special_labs=special_ncs.lab_habits(len(labs), seed, params.special_ncs),
    )


def _resolve_roots(src: np.ndarray) -> np.ndarray:
    """Follow repeat-visit links to the first visit of each patient."""
    root = src.copy()
    for _ in range(64):
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    return root


def _context(
    sub: Subjects,
    ref: _Reference,
    index_side: np.ndarray,
    anchor: np.ndarray,
    phys: dict[str, np.ndarray],
) -> diseases.Context:
    nm = ref.normals
    lat_uln = np.array(
        [
            (nm.loc[u, "lat_mean_ms"] + 2 * nm.loc[u, "lat_sd_ms"]) / nm.loc[u, "lat_mean_ms"]
            for u in MOTOR_UNITS
        ]
    )
    cv_lln = np.array(
        [
            (nm.loc[u, "cv_mean_m_s"] - 2 * nm.loc[u, "cv_sd_m_s"]) / nm.loc[u, "cv_mean_m_s"]
            for u in MOTOR_UNITS
        ]
    )
    f_uln = np.array(
        [
            (nm.loc[u, "f_mean_ms"] + 2 * nm.loc[u, "f_sd_ms"]) / nm.loc[u, "f_mean_ms"]
            if np.isfinite(nm.loc[u, "f_mean_ms"])
            else 1.15
            for u in MOTOR_UNITS
        ]
    )
    return diseases.Context(
        subjects=sub,
        anatomy=ref.anatomy,
        index_side=index_side,
        anchor=anchor,
        amp_log_sd={u: float(nm.loc[u, "amp_log_sd"]) for u in SENSORY_UNITS},
        lat_uln_ratio=lat_uln,
        cv_lln_ratio=cv_lln,
        f_uln_ratio=f_uln,
        phys=phys,
    )


def _latent(
    dx: np.ndarray,
    subtype: np.ndarray,
    ctx: diseases.Context,
    params: SimulatorParams,
    rng: np.random.Generator,
    condition: np.ndarray | None = None,
) -> tuple[Latent, np.ndarray]:
    """Latent state of each study and its radiculopathy root levels ("" for other classes)."""
    n = dx.size
    cond = np.full(n, -1) if condition is None else condition
    lat = Latent.identity(n, len(MUSCLES))
    root_levels = np.full(n, "", dtype=object)
    for cls in ("als", "axonal_pn", "demyelinating_pn", "myopathy", "radiculopathy"):
        idx = np.flatnonzero((dx == _CLS[cls]) & (cond < 0))
        if idx.size == 0:
            continue
        st = subtype[idx]
        if cls == "als":
            sub = diseases.als(idx, ctx, rng)
        elif cls == "axonal_pn":
            sub = diseases.axonal_pn(idx, ctx, rng, subtype=st)
        elif cls == "demyelinating_pn":
            sub = diseases.demyelinating_pn(idx, st, ctx, rng)
        elif cls == "myopathy":
            sub = diseases.myopathy(idx, st, ctx, rng)
        else:
            sub, root_levels[idx] = diseases.radiculopathy_with_roots(idx, st, ctx, rng)
        lat = lat.scatter(idx, sub)
    if (cond >= 0).any():  # conditions outside the six (simulator/out_of_scope.py)
        lat = lat.combine(out_of_scope.oos_latent(cond, ctx, rng))
    beside = params.out_of_scope.fibular_beside_share
    if beside > 0:  # a fibular palsy beside another diagnosis
        b_idx = np.flatnonzero((cond < 0) & (rng.random(n) < beside))
        b_side = rng.integers(0, 2, b_idx.size)
        lat = lat.scatter(b_idx, out_of_scope.fibular_neuropathy(b_idx, ctx, rng, side=b_side))
    cts, _ = comorbidity.cts(n, ctx, params.p_cts, rng)
    lat = lat.combine(cts)
    lat = lat.combine(
        comorbidity.entrapments(n, ctx, params.p_une, params.p_fibular_neuropathy, rng)
    )
    d_idx, d_lat = comorbidity.diabetic_pn(dx, ctx, params.p_diabetic_pn_overlay, rng)
    lat = lat.scatter(d_idx, d_lat)
    lat = lat.combine(
        comorbidity.incidental_emg(
            n, ctx, params.p_lumbar_paraspinal_fibs, params.p_benign_fasciculations, rng
        )
    )
    return comorbidity.examiner_and_reinnervation_signs(lat, ctx, rng), root_levels


def _simulate_chunk(
    offset: int,
    n: int,
    rng: np.random.Generator,
    params: SimulatorParams,
    ref: _Reference,
    seed: int,
) -> tuple[Bundle, pd.DataFrame]:
    rng_special = rng.spawn(1)[0]  # does not advance ``rng``: other values stay the same
    mix = np.array([params.class_mix[c] for c in CLASSES])
    dx = rng.choice(len(CLASSES), size=n, p=mix)
    anchor = rng.random((n, 8))
    oos = params.out_of_scope
    condition = out_of_scope.draw_conditions(n, oos.share, oos.weights, rng)
    dx = out_of_scope.proxy_dx(condition, dx)  # the class an examiner would write
    # lab given diagnosis
    share = ref.labs["share"] / ref.labs["share"].sum()
    aff = np.maximum(
        0.05, 1.0 + _TERTIARY_AFFINITY[:, None] * (ref.labs["tertiary"][None, :] - 0.4)
    )
    p_lab = share[None, :] * aff  # (class, lab)
    p_lab = p_lab / p_lab.sum(axis=1, keepdims=True)
    cum = p_lab.cumsum(axis=1)[dx]
    lab_idx = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(share) - 1)
    # repeat visits: copy the patient-level draws of an earlier study in the chunk
    repeat = (rng.random(n) < params.p_repeat_visit) & (np.arange(n) > 0)
    src = np.arange(n)
    src[repeat] = np.floor(rng.random(repeat.sum()) * np.flatnonzero(repeat)).astype(int)
    root = _resolve_roots(src)
    dx = dx[root]
    condition = condition[root]
    anchor = anchor[root]
    same_lab = rng.random(n) < 0.85
    lab_idx = np.where(same_lab, lab_idx[root], lab_idx)
    subtype = out_of_scope.proxy_subtype(condition, diseases.draw_subtype(dx, anchor[:, 0]))
    index_side = (anchor[:, 3] < 0.5).astype(int)
    lab = {k: v[lab_idx] for k, v in ref.labs.items()}
    sub = draw_subjects(
        dx,
        subtype,
        lab["warms_limbs"].astype(bool),
        params.p_diabetes,
        params.p_diabetes_in_axonal_pn,
        rng,
    )
    visits = np.zeros(n)
    visits[repeat] = rng.uniform(0.1, 2.0, repeat.sum())
    sub = Subjects(
        age_years=np.clip(sub.age_years[root] + visits, 18.0, 100.0),
        height_cm=sub.height_cm[root],
        bmi=sub.bmi[root],
        female=sub.female[root],
        diabetes=sub.diabetes[root],
        hand_temp_c=sub.hand_temp_c,
        foot_temp_c=sub.foot_temp_c,
    )
    if (condition >= 0).any():
        sub = out_of_scope.adjust_subjects(sub, condition)
    cohort, phys, phys_index = study_physiology(
        seed, offset, n, params.physiology_block_size, params.physiology_span
    )
    ctx = _context(sub, ref, index_side, anchor, phys)
    lat, root_levels = _latent(dx, subtype, ctx, params, rng, condition)
    cervical = np.isin(subtype, [r for r in ROOTS if r[0] in "CT"])
    referral = draw_referral(dx, cervical, rng, als_like=subtype == "mmn")
    referral = out_of_scope.referral(condition, referral)
    samp = draw_sampling(
        referral, index_side, ref.labs, lab_idx, ref.anatomy.lower, ref.anatomy.axial, rng
    )
    sural = (
        lat.snap[:, SENSORY_UNITS.index("sural")] * ~lat.s_absent[:, SENSORY_UNITS.index("sural")]
    )
    peroneal = lat.cmap[:, MOTOR_UNITS.index("peroneal_edb")]
    abnormal = (sural.min(axis=1) < 0.5) | (peroneal.min(axis=1) < 0.6)
    lab_ok = rng.random(n) >= lab["p_partial"]
    samp = extend_for_findings(samp, index_side, abnormal, lab_ok, rng)
    habits = draw_habits(referral, lab, params.reporting_habits, rng)
    seen = visibly_abnormal(lat)
    samp = apply_habits(samp, habits, index_side, ref.anatomy, rng, abnormal=seen)
    samp = extend_needle_for_findings(samp, lat, ref.anatomy, habits.one_limb, rng)
    lab = dict(lab, muap_mode=np.where(habits.grades_only, "grades", lab["muap_mode"]))
    samp = _ensure_nonempty(samp, index_side)
    if (condition >= 0).any():
        samp = out_of_scope.focal_workup(samp, condition, index_side)
    keys = np.arange(n)
    ncs = render_ncs(
        keys,
        sub,
        lat,
        samp,
        lab,
        ref.normals,
        ref.segments,
        params.technical_outlier_rate,
        params.snap_distance_exponent,
        rng,
    )
    special = _special_rows(
        keys, sub, lat, samp, lab, lab_idx, ref, dx, condition, root_levels, index_side, rng_special
    )
    if len(special):
        ncs = pd.concat([ncs, special.astype(ncs.dtypes.to_dict())], ignore_index=True)
    emg = render_emg(keys, sub.age_years, lat, samp, lab, ref.muap, rng)
    emg = omit_normal_muscles(emg, ncs, habits, sub.age_years, ref.muap, rng)
    study_ids = np.array([f"S{offset + i + 1:07d}" for i in range(n)], dtype=object)
    patient_ids = np.array([f"P{offset + r + 1:07d}" for r in root], dtype=object)
    label = dx.copy()
    flip = rng.random(n) < params.label_noise
    label[flip] = (dx[flip] + rng.integers(1, len(CLASSES), flip.sum())) % len(CLASSES)
    temp_rec = rng.random(n) < lab["p_temp_recorded"]
    studies = pd.DataFrame(
        {
            "study_id": study_ids,
            "age_years": np.floor(sub.age_years).astype(float),
            "sex": np.where(
                rng.random(n) < lab["p_sex_unknown"], "U", np.where(sub.female, "F", "M")
            ).astype(object),
            "height_cm": np.where(
                rng.random(n) < lab["p_height_recorded"], np.round(sub.height_cm), np.nan
            ),
            "limb_temp_c": np.where(temp_rec, np.round(sub.hand_temp_c, 1), np.nan),
            "patient_id": patient_ids,
            "site_id": ref.site_ids[lab_idx],
            "diagnosis": np.array(CLASSES, dtype=object)[label],
        }
    )
    bundle = Bundle(studies=studies, ncs=_finish(ncs, study_ids), emg=_finish(emg, study_ids))
    truth = physiology_table(study_ids, cohort, phys, phys_index).assign(
        subtype=subtype.astype(str),
        index_side=np.where(index_side == 1, "R", "L"),
        root_levels=root_levels.astype(str),
    )
    truth["condition"] = out_of_scope.condition_labels(condition)
    for name, flag in out_of_scope.focal_truth(lat).items():
        truth[name] = flag
    return bundle, truth


def _special_rows(
    keys: np.ndarray,
    sub: Subjects,
    lat: Latent,
    samp: Sampling,
    lab: dict[str, np.ndarray],
    lab_idx: np.ndarray,
    ref: _Reference,
    dx: np.ndarray,
    condition: np.ndarray,
    root_levels: np.ndarray,
    index_side: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The H-reflex and RNS rows of one chunk (:mod:`simulator.special_ncs`)."""
    effects = special_ncs.special_effects(dx, condition, root_levels, index_side, rng)
    special = special_ncs.draw_special_sampling(
        samp,
        condition,
        index_side,
        ref.special_labs.records_h[lab_idx],
        ref.special_labs.records_rns[lab_idx],
        rng,
    )
    return special_ncs.render_special(keys, sub, lat, effects, special, lab, ref.normals, rng)


def _ensure_nonempty(samp: Sampling, index_side: np.ndarray) -> Sampling:
    """Every study has at least one NCS or EMG row: add the index-side median motor if none."""
    empty = ~(
        samp.motor.any(axis=(1, 2)) | samp.sensory.any(axis=(1, 2)) | samp.muscles.any(axis=(1, 2))
    )
    if not empty.any():
        return samp
    motor = samp.motor.copy()
    rows = np.flatnonzero(empty)
    motor[rows, MOTOR_UNITS.index("median_apb"), index_side[rows]] = True
    return Sampling(samp.referral, motor, samp.sensory, samp.f_wave, samp.muscles, samp.proximal)


def _finish(frame: pd.DataFrame, study_ids: np.ndarray) -> pd.DataFrame:
    """Sort rows by study (stable: keeps the within-study order) and write the real ids."""
    key = frame["study_id"].to_numpy().astype(np.int64)
    order = np.argsort(key, kind="stable")
    out = frame.iloc[order].reset_index(drop=True)
    out["study_id"] = study_ids[key[order]]
    return out


def _chunks(
    n_studies: int, seed: int, chunk_size: int
) -> list[tuple[int, int, np.random.Generator]]:
    if n_studies < 1:
        raise ValueError(f"Invalid value for 'n_studies': {n_studies}. Expected >= 1.")
    starts = list(range(0, n_studies, chunk_size))
    seqs = np.random.SeedSequence(seed).spawn(len(starts))
    return [
        (s, min(chunk_size, n_studies - s), np.random.default_rng(q))
        for s, q in zip(starts, seqs, strict=True)
    ]


def simulate_cohort_with_physiology(
    n_studies: int, seed: int, params: SimulatorParams | None = None, progress: bool = False
) -> tuple[Bundle, pd.DataFrame]:
    """Simulate a cohort and return it with its per-study physiology side table.

    Returns
    -------
    Bundle
        As :func:`simulate_cohort`.
    DataFrame
        One row per study: ``study_id``, ``cohort`` (physiology cohort number), one float
        column per constant of :data:`simulator.physiology.CONSTANTS` (the drawn value),
        ``physiology_index`` (mean position of the constants within their ranges, 0-1), and
        the truth the bundle does not carry (:data:`TRUTH_COLUMNS`): ``subtype`` (the true
        class's subtype: the root ``"L5"`` for a radiculopathy, ``"cidp"``, ``"none"``, ...),
        ``index_side`` (the symptomatic side, ``"L"``/``"R"``) and ``root_levels`` (a
        radiculopathy's root or two adjacent roots, ``"L5"`` / ``"L5+S1"``; ``""`` otherwise),
        ``condition`` (``"in_scope"`` or the out-of-scope condition) and one boolean column per
        focal neuropathy site (:data:`FOCAL_TRUTH_COLUMNS`). The true class is not the ``diagnosis`` column, which carries label noise.
    """
    params = params or SimulatorParams()
    ref = _reference(params, seed)
    parts = [
        _simulate_chunk(start, size, rng, params, ref, seed)
        for start, size, rng in tqdm(
            _chunks(n_studies, seed, params.chunk_size),
            disable=not progress,
            desc="simulate",
            unit="chunk",
        )
    ]
    logger.info("simulated %d studies in %d chunk(s)", n_studies, len(parts))
    if len(parts) == 1:
        return parts[0]
    bundles = [p[0] for p in parts]
    bundle = Bundle(
        studies=pd.concat([p.studies for p in bundles], ignore_index=True),
        ncs=pd.concat([p.ncs for p in bundles], ignore_index=True),
        emg=pd.concat([p.emg for p in bundles], ignore_index=True),
    )
    return bundle, pd.concat([p[1] for p in parts], ignore_index=True)


def simulate_cohort(
    n_studies: int, seed: int, params: SimulatorParams | None = None, progress: bool = False
) -> Bundle:
    """Simulate ``n_studies`` labelled studies as one in-memory bundle.

    Parameters
    ----------
    n_studies : int
        Number of studies (>= 1).
    seed : int
        Seed; the same seed, ``n_studies`` and ``params`` give identical tables.
    params : SimulatorParams, optional
        Tunable parameters (defaults: :class:`SimulatorParams`).
    progress : bool
        Show a tqdm progress bar over chunks on stderr.

    Returns
    -------
    Bundle
        Canonical ``studies``, ``ncs`` and ``emg`` tables with ``diagnosis`` filled. The
        physiology side table is :func:`simulate_cohort_with_physiology`'s second result.
    """
    return simulate_cohort_with_physiology(n_studies, seed, params, progress)[0]


def simulate_to_dir(
    out: str | Path,
    n_studies: int,
    seed: int,
    params: SimulatorParams | None = None,
    fmt: Literal["csv", "parquet"] = "parquet",
    progress: bool = False,
) -> Path:
    """Simulate chunk by chunk and append to ``studies``/``ncs``/``emg`` files in ``out``.

    Memory stays bounded by one chunk, so very large cohorts can be written. The files are the
    same as :func:`bundle.writers.write_bundle` of :func:`simulate_cohort`'s bundle, plus
    the physiology side table ``physiology.parquet`` (always Parquet; the bundle readers only
    look for ``studies``/``ncs``/``emg`` and ignore it).
    """
    params = params or SimulatorParams()
    ref = _reference(params, seed)
    out_dir = Path(out)
    phys_writer: pq.ParquetWriter | None = None
    with BundleWriter(out_dir, fmt) as writer:
        try:
            for start, size, rng in tqdm(
                _chunks(n_studies, seed, params.chunk_size),
                disable=not progress,
                desc="simulate",
                unit="chunk",
            ):
                bundle, phys = _simulate_chunk(start, size, rng, params, ref, seed)
                phys_table = pa.Table.from_pandas(phys, preserve_index=False)
                if phys_writer is None:
                    phys_writer = pq.ParquetWriter(out_dir / PHYSIOLOGY_FILE, phys_table.schema)
                phys_writer.write_table(phys_table)
                writer.write(bundle)
        finally:
            if phys_writer is not None:
                phys_writer.close()
    counts = writer.counts
    logger.info(
        "wrote %d studies, %d ncs rows, %d emg rows to %s (%s)",
        counts["studies"],
        counts["ncs"],
        counts["emg"],
        out_dir,
        fmt,
    )
    return out_dir


__all__ = [
    "NCS_COLUMNS",
    "PHYSIOLOGY_FILE",
    "STUDY_COLUMNS",
    "FOCAL_TRUTH_COLUMNS",
    "TRUTH_COLUMNS",
    "SimulatorParams",
    "simulate_cohort",
    "simulate_cohort_with_physiology",
    "simulate_to_dir",
]
