"""Comorbidity overlays that real labs see beside any diagnosis (CR7.5, T6, T2.5).

Incidental carpal tunnel syndrome, a mild diabetic axonal neuropathy beside another
diagnosis, lumbar paraspinal fibrillations in asymptomatic adults (rising with age) and
benign fasciculations. Age-related sural loss, obesity and cold limbs are part of the
healthy baseline (:mod:`simulator.ncs`).
"""

from __future__ import annotations

import numpy as np

from features.vocab import CLASSES, MUSCLES
from simulator.diseases import Context, axonal_pn
from simulator.latent import Latent
from simulator.protocols import MOTOR_UNITS, SENSORY_UNITS

_APB = MUSCLES.index("abductor_pollicis_brevis")
_ULNAR_HAND = [MUSCLES.index(m) for m in ("first_dorsal_interosseous", "abductor_digiti_minimi")]
_PERONEAL = [
    MUSCLES.index(m)
    for m in ("tibialis_anterior", "extensor_digitorum_brevis", "extensor_hallucis_longus")
]
_LUMBAR_PARA = MUSCLES.index("lumbar_paraspinal")
_CALF = [MUSCLES.index(m) for m in ("medial_gastrocnemius", "soleus", "tibialis_anterior")]
_FOOT = [MUSCLES.index(m) for m in ("extensor_digitorum_brevis", "abductor_hallucis")]


def cts(n: int, ctx: Context, p_cts: float, rng: np.random.Generator) -> tuple[Latent, np.ndarray]:
    """Incidental carpal tunnel syndrome overlay.

    Probability ``p_cts`` x 1.4 in women x 1.5 in diabetics (CR7.5: 20-25 % of subjects);
    60 % bilateral. Severity c ~ Beta(1.5, 3): median DML +0.3-2.8 ms, median D2 peak latency
    +0.3-1.8 ms (median-ulnar difference > 0.5-0.8 ms, Atroshi 2003), SNAP x (1 - 0.9c), CMAP
    falls and APB denervates only when severe.

    Returns
    -------
    Latent, ndarray of bool
        Effects for all ``n`` studies and the per-study CTS flag.
    """
    lat = {k: v.copy() for k, v in Latent.identity(n, len(MUSCLES)).__dict__.items()}
    subj = ctx.subjects
    p = p_cts * np.where(subj.female, 1.4, 1.0) * np.where(subj.diabetes, 1.5, 1.0)
    has = rng.random(n) < np.clip(p, 0.0, 0.95)
    bilateral = rng.random(n) < 0.6
    sym = np.stack([ctx.index_side == 0, ctx.index_side == 1], axis=1)
    sides = has[:, None] & (sym | bilateral[:, None])  # (n, 2)
    c = rng.beta(1.5, 3.0, (n, 2)) * sides
    mi, si = MOTOR_UNITS.index("median_apb"), SENSORY_UNITS.index("median_d2")
    lat["dml_add_ms"][:, mi, :] = np.where(sides, 0.3 + 2.5 * c, 0.0)
    lat["slat_add_ms"][:, si, :] = np.where(sides, 0.3 + 1.5 * c, 0.0)
    lat["snap"][:, si, :] = np.where(sides, 1.0 - 0.9 * c, 1.0)
    lat["s_absent"][:, si, :] = sides & (c > 0.85)
    sev = np.clip((c - 0.4) / 0.6, 0.0, 1.0)
    lat["cmap"][:, mi, :] = 1.0 - 0.7 * sev
    lat["loss"][:, _APB, :] = (0.8 * sev).astype(np.float32)
    lat["fib"][:, _APB, :] = np.where(
        (c > 0.6) & (rng.random((n, 2)) < 0.5), 1.0 + sev, 0.0
    ).astype(np.float32)
    lat["reinn"][:, _APB, :] = (0.6 * sev).astype(np.float32)
    return Latent(**lat), has


def diabetic_pn(
    dx: np.ndarray, ctx: Context, p_overlay: float, rng: np.random.Generator
) -> tuple[np.ndarray, Latent]:
    """Mild diabetic axonal neuropathy beside another diagnosis (T6; Bromberg 1991).

    Returns the study indices that carry it and their effects (severity 0.05-0.35).
    """
    eligible = ctx.subjects.diabetes & (dx != CLASSES.index("axonal_pn"))
    idx = np.flatnonzero(eligible & (rng.random(dx.size) < p_overlay))
    sev = rng.uniform(0.05, 0.35, idx.size)
    return idx, axonal_pn(idx, ctx, rng, severity=sev)


def incidental_emg(
    n: int, ctx: Context, p_paraspinal: float, p_benign_fasc: float, rng: np.random.Generator
) -> Latent:
    """Lumbar paraspinal fibs in asymptomatic adults and benign fasciculations.

    Lumbar paraspinal fibs/PSW in 14.5 % at about age 50, rising with age (Date 1996, T2.5);
    benign fasciculations in calf and foot muscles of ``p_benign_fasc`` x the cohort's
    ``benign_fasc_scale`` of subjects (T2.4 [sim]).
    """
    lat = {k: v.copy() for k, v in Latent.identity(n, len(MUSCLES)).__dict__.items()}
    age = ctx.subjects.age_years
    p = np.clip(p_paraspinal * (1.0 + 0.03 * (age - 50.0)), 0.02, 0.4)
    has = rng.random(n) < p
    both = rng.random(n) < 0.4
    sym = np.stack([ctx.index_side == 0, ctx.index_side == 1], axis=1)
    sides = has[:, None] & (sym | both[:, None])
    lat["fib"][:, _LUMBAR_PARA, :] = np.where(sides, 1.0 + 0.4 * rng.random((n, 2)), 0.0).astype(
        np.float32
    )
    benign = rng.random(n) < p_benign_fasc * ctx.phys["benign_fasc_scale"]
    for m, pm in [(i, 0.6) for i in _CALF] + [(i, 0.4) for i in _FOOT]:
        on = benign[:, None] & (rng.random((n, 2)) < pm)
        lat["fasc"][:, m, :] = np.where(on, 1.0, 0.0).astype(np.float32)
    return Latent(**lat)


def examiner_and_reinnervation_signs(
    latent: Latent, ctx: Context, rng: np.random.Generator
) -> Latent:
    """Instability and fasciculations wherever physiology puts them, plus examiner false positives.

    Any reinnervating muscle (whatever the process: CTS, entrapment, secondary axon loss in
    demyelinating PN, MMN) has unstable units with the cohort's ``unstable_reinnervation_p``
    (x 0.6 for the slower processes, T2.2), and any denervated muscle fasciculates with half
    the cohort's ``fasc_neurogenic_p``; every muscle is read "unstable" by mistake at the
    cohort's ``unstable_false_positive`` rate [sim]. Combined by maximum (never lowers ALS).
    """
    ph = ctx.phys
    shape = latent.unstable.shape
    p_unst = (0.6 * ph["unstable_reinnervation_p"])[:, None, None]
    fp = ph["unstable_false_positive"][:, None, None]
    unstable = np.maximum(latent.unstable, np.where(latent.reinn > 0, p_unst, fp))
    denervated = (latent.loss > 0.05) & (latent.fasc == 0)
    p_fasc = (0.5 * ph["fasc_neurogenic_p"])[:, None, None]
    fasc = np.where(denervated & (rng.random(shape) < p_fasc), 1.0, latent.fasc)
    fields_ = dict(latent.__dict__)
    fields_["unstable"] = unstable.astype(np.float32)
    fields_["fasc"] = fasc.astype(np.float32)
    return Latent(**fields_)


def entrapments(
    n: int, ctx: Context, p_une: float, p_fibular: float, rng: np.random.Generator
) -> Latent:
    """Ulnar neuropathy at the elbow and peroneal neuropathy at the fibular head (T5.2, T1.1).

    The second commonest mononeuropathies of referral series (T5.2: "other mononeuropathy"
    4.6-7 %), folded into any class. UNE: across-elbow CV x 0.55-0.85 (a drop beyond the
    15 m/s ULN, T1.1), block 0-40 % across the elbow, ulnar SNAP and ADM/FDI CMAP lower when
    severe, FDI/ADM denervation. Fibular head: across-head CV x 0.6-0.9 (drop ULN 10 m/s), block
    20-60 % (amplitude drop ULN 25 %), TA/EDB/EHL denervation when severe. Diabetics x 1.5.
    """
    lat = {k: v.copy() for k, v in Latent.identity(n, len(MUSCLES)).__dict__.items()}
    dm = np.where(ctx.subjects.diabetes, 1.5, 1.0)
    sym = np.stack([ctx.index_side == 0, ctx.index_side == 1], axis=1)
    for unit_list, p, seg_lo, seg_hi, cb_hi, muscles, snap in (
        (("ulnar_adm",), p_une, 0.55, 0.85, 0.4, _ULNAR_HAND, "ulnar_d5"),
        (("peroneal_edb",), p_fibular, 0.6, 0.9, 0.6, _PERONEAL, None),
    ):
        has = rng.random(n) < np.clip(p * dm, 0.0, 1.0)
        sides = has[:, None] & (sym | (rng.random(n) < 0.3)[:, None])  # 30 % bilateral
        sev = rng.beta(1.5, 2.5, (n, 2)) * sides
        for u in unit_list:
            ui = MOTOR_UNITS.index(u)
            # segment index 1 is the across-elbow / across-fibular-head segment (segments.csv)
            lat["seg_cv"][:, ui, :, 1] = np.where(sides, seg_hi - (seg_hi - seg_lo) * sev, 1.0)
            lat["cb"][:, ui, :, 1] = np.where(sides, cb_hi * sev * rng.random((n, 2)), 0.0)
            lat["cmap"][:, ui, :] = 1.0 - 0.5 * np.clip(sev - 0.5, 0.0, None)
        if u == "ulnar_adm":
            lat["cmap"][:, MOTOR_UNITS.index("ulnar_fdi"), :] = lat["cmap"][
                :, MOTOR_UNITS.index("ulnar_adm"), :
            ]
        if snap is not None:
            lat["snap"][:, SENSORY_UNITS.index(snap), :] = 1.0 - 0.7 * np.clip(sev - 0.3, 0.0, None)
        loss = (0.8 * np.clip(sev - 0.5, 0.0, None)).astype(np.float32)
        for m in muscles:
            lat["loss"][:, m, :] = loss
            lat["reinn"][:, m, :] = 0.8 * loss
            lat["fib"][:, m, :] = np.where(
                (loss > 0.1) & (rng.random((n, 2)) < 0.5), 1.0 + 2.0 * loss, 0.0
            )
    return Latent(**lat)
