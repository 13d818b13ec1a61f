"""Disease processes: each class as a latent process with a severity spectrum and a distribution.

Every function takes the studies of one class and returns their :class:`~simulator.latent.Latent`
effects; nothing here writes a measured value. Numbers cite ``clinical-reference.md``
(``CR7.4`` = section 7.4, ``T3.1c`` = table T3.1c; ``[sim]`` = modelling choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.vocab import CLASSES, REGIONS
from simulator.anatomy import ROOTS, Anatomy
from simulator.latent import Latent
from simulator.patients import Subjects
from simulator.protocols import MOTOR_UNITS, SENSORY_UNITS

#: subtypes per class and their shares [sim unless cited]
SUBTYPES: dict[str, tuple[tuple[str, float], ...]] = {
    "normal": (("none", 1.0),),
    "als": (("limb", 1.0),),
    # length-dependent sensorimotor; sensory-predominant (sural/SPN low, motor normal);
    # severe axon loss with some slowing (arm CV 35-45 m/s, the grey zone towards
    # intermediate CMT; labelled axonal because axon loss is what it mostly is) [sim shares]
    "axonal_pn": (("axonal", 0.75), ("sensory", 0.18), ("slowing", 0.07)),
    # CIDP-like multifocal, CMT1 uniform (T3.3f), AIDP-like with sural sparing (T3.3e)
    # (+ MMN-like, 7 %: pure motor multifocal block, the classic ALS mimic, T3.6)
    # (+ intermediate CMT-like, 5 %: uniform CV 33-45 m/s with marked axon loss, the grey zone)
    "demyelinating_pn": (
        ("cidp", 0.55),
        ("cmt1", 0.19),
        ("aidp", 0.14),
        ("mmn", 0.07),
        ("intermediate", 0.05),
    ),
    # inflammatory vs non-inflammatory (Lyu 1999), IBM-like about 15 % (CR7.4)
    "myopathy": (("inflammatory", 0.50), ("noninflammatory", 0.35), ("ibm", 0.15)),
    # cervical : lumbosacral about 40 : 60 (Boluk 2021); roots CR7.4 [sim, † root frequencies]
    "radiculopathy": (
        ("C5", 0.040),
        ("C6", 0.100),
        ("C7", 0.192),
        ("C8", 0.056),
        ("T1", 0.012),
        ("L2", 0.012),
        ("L3", 0.018),
        ("L4", 0.060),
        ("L5", 0.270),
        ("S1", 0.240),
    ),
}

_M = {u: i for i, u in enumerate(MOTOR_UNITS)}
_S = {u: i for i, u in enumerate(SENSORY_UNITS)}


@dataclass(frozen=True)
class Context:
    """Everything a disease process may read (never modified).

    Attributes
    ----------
    subjects : Subjects
        Subject attributes of the whole chunk.
    anatomy : Anatomy
    index_side : ndarray of int
        Symptomatic side per study (0 = L, 1 = R).
    anchor : ndarray of float, shape (n, 8)
        Patient-level uniforms (shared by repeat visits) for onset region, root, subtype choice.
    amp_log_sd : dict
        Biological log-SD of each sensory unit's amplitude (for "-2 to -3 SD" effects).
    lat_uln_ratio, cv_lln_ratio, f_uln_ratio : ndarray, shape (5,)
        ULN/mean and LLN/mean ratios of each motor unit (to express "x ULN" effects).
    phys : dict of ndarray, shape (n,)
        Per-study values of the randomised physiology constants
        (:data:`simulator.physiology.CONSTANTS`) of the study's physiology cohort.
    """

    subjects: Subjects
    anatomy: Anatomy
    index_side: np.ndarray
    anchor: np.ndarray
    amp_log_sd: dict[str, float]
    lat_uln_ratio: np.ndarray
    cv_lln_ratio: np.ndarray
    f_uln_ratio: np.ndarray
    phys: dict[str, np.ndarray]


def draw_subtype(dx: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Subtype label per study from its class and a patient-level uniform ``u``."""
    out = np.full(dx.size, "none", dtype=object)
    for k, cls in enumerate(CLASSES):
        mask = dx == k
        names = [s for s, _ in SUBTYPES[cls]]
        p = np.array([w for _, w in SUBTYPES[cls]])
        cum = np.cumsum(p / p.sum())
        pick = np.minimum((u[mask, None] > cum[None, :]).sum(axis=1), len(names) - 1)
        out[mask] = np.array(names, dtype=object)[pick]
    return out


def _side_arrays(idx_side: np.ndarray) -> np.ndarray:
    """(n, 2) boolean: True on the symptomatic side."""
    return np.stack([idx_side == 0, idx_side == 1], axis=1)


def _uniform(rng: np.random.Generator, lo: float, hi: float, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(lo, hi, shape)


def _muscle_findings(
    lat: dict[str, np.ndarray],
    loss: np.ndarray,
    involved: np.ndarray,
    p_fib: np.ndarray | float,
    fib_level: np.ndarray,
    p_chronic: np.ndarray | float,
    reinn_level: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Write loss/fib/reinn for involved muscles into the workspace dict ``lat`` (local helper)."""
    shape = loss.shape
    lat["loss"] = np.where(involved, loss, 0.0).astype(np.float32)
    has_fib = involved & (rng.random(shape) < p_fib)
    lat["fib"] = np.where(has_fib, fib_level, 0.0).astype(np.float32)
    chronic = involved & (rng.random(shape) < p_chronic)
    lat["reinn"] = np.where(chronic, np.clip(reinn_level, 0.0, 1.0), 0.0).astype(np.float32)


def _new(n: int, ctx: Context) -> dict[str, np.ndarray]:
    base = Latent.identity(n, ctx.anatomy.region.size)
    return {k: v.copy() for k, v in base.__dict__.items()}


def als(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """ALS: lower motor neuron loss spreading from an onset region (CR7.4, T3.1c, T2.5).

    Onset region bulbar 33 %, cervical 28 %, lumbosacral 36 %, thoracic 3 %; 1-4 contiguous
    regions (10/25/35/30 %); intrinsic hand muscles lose units earlier (split hand); per involved muscle fibs P 0.6 (bulbar 0.1), fasciculations P 0.35 (12 % of
    patients none), chronic reinnervation P 0.8 (bulbar 0.6); CMAP factor min(1, (1-L)/0.5);
    split hand (ADM loss 0.6 x APB/FDI); conduction >= 0.8 LLN; SNAPs normal in 83 %.
    """
    n = idx.size
    an = ctx.anatomy
    lat = _new(n, ctx)
    a = ctx.anchor[idx]
    onset_cum = np.cumsum([0.33, 0.28, 0.03, 0.36])  # bulbar, cervical, thoracic, lumbosacral
    onset = np.minimum((a[:, 1, None] > onset_cum[None, :]).sum(axis=1), 3)
    k = 1 + np.minimum((a[:, 2, None] > np.cumsum([0.10, 0.25, 0.35])[None, :]).sum(axis=1), 3)
    lo = np.maximum(0, onset - k + 1)
    hi = np.minimum(onset, 4 - k)
    start = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    reg = np.arange(4)[None, :]
    involved_region = (reg >= start[:, None]) & (reg < (start + k)[:, None])  # (n, 4)
    sev = 0.95 * rng.beta(3.5, 1.5, n)  # onset-region motor unit loss L in [0, 0.95] (CR7.4)
    spread = _uniform(rng, 0.4, 1.0, (n, 4))  # later regions less affected [sim]
    region_loss = np.where(reg == onset[:, None], sev[:, None], sev[:, None] * spread)
    region_loss = np.where(involved_region, region_loss, 0.0)
    # asymmetry: the symptomatic side is worse
    sym = _side_arrays(ctx.index_side[idx])
    side_f = np.where(sym, 1.0, _uniform(rng, 0.4, 1.0, (n, 2)))  # (n, 2)
    m_reg = an.region  # (M,)
    base = region_loss[:, m_reg][:, :, None] * side_f[:, None, :]  # (n, M, 2)
    base = np.where(an.bulbar[None, :, None], region_loss[:, m_reg][:, :, None], base)
    # intrinsic hand muscles (thenar complex, FDI) are hit earlier: the split-hand phenomenon
    # (Menon 2013, T3.1c) [sim factor]
    hand = np.zeros(an.region.size)
    hand[[an.recording_idx[_M["median_apb"]], an.recording_idx[_M["ulnar_fdi"]]]] = 1.0
    split = ctx.phys["als_split_hand"][idx] - 1.0  # CR7.4: 1.6 [randomised, physiology.py]
    jit = _uniform(rng, 0.6, 1.3, base.shape) * (1.0 + split[:, None, None] * hand[None, :, None])
    loss = np.clip(base * jit, 0.0, 0.95)
    # clinically uninvolved regions: about 40 % of muscles still abnormal (Liu 2018)
    sub = (~involved_region[:, m_reg])[:, :, None] & (rng.random(base.shape) < 0.4)
    loss = np.where(sub, _uniform(rng, 0.1, 0.4, base.shape), loss)
    # split hand: ADM loss = 0.6 x mean(APB, FDI) (CR7.4 [sim])
    apb, adm, fdi = (
        an.recording_idx[_M["median_apb"]],
        an.recording_idx[_M["ulnar_adm"]],
        an.recording_idx[_M["ulnar_fdi"]],
    )
    loss[:, adm] = 0.6 * 0.5 * (loss[:, apb] + loss[:, fdi])
    involved = loss > 0.05
    p_fib = np.where(an.bulbar[None, :, None], 0.10, 0.70)  # T2.5: 58 % of all sampled muscles
    p_chronic = np.where(an.bulbar[None, :, None], 0.60, 0.80)
    _muscle_findings(
        lat,
        loss,
        involved,
        p_fib,
        1.0 + 2.5 * loss * _uniform(rng, 0.5, 1.2, loss.shape),
        p_chronic,
        loss * _uniform(rng, 0.9, 1.7, loss.shape),
        rng,
    )
    fasc_prop = np.where(
        rng.random(n) < 0.12, 0.0, np.exp(rng.normal(0.0, 0.4, n))
    )  # T2.5: 12 % none
    has_fasc = involved & (rng.random(loss.shape) < 0.35 * fasc_prop[:, None, None])
    lat["fasc"] = np.where(has_fasc, 1.0 + 2.0 * rng.random(loss.shape), 0.0).astype(np.float32)
    lat["unstable"] = np.where(lat["reinn"] > 0, 0.6, 0.0).astype(np.float32)
    lat["umn"] = np.where(involved, 0.25, 0.0).astype(np.float32)
    # CMAP factor from the recording muscle (CR7.4)
    rec_loss = loss[:, an.recording_idx, :].astype(float)  # (n, 5, 2)
    cmap = np.minimum(1.0, (1.0 - rec_loss) / 0.5)
    lat["cmap"] = cmap
    deficit = 1.0 - cmap
    lat["cv"] = 1.0 - deficit * _uniform(
        rng, 0.0, 0.2, cmap.shape
    )  # CV >= 0.8 LLN (Cornblath 1992)
    lat["dml"] = 1.0 + deficit * _uniform(rng, 0.0, 0.2, cmap.shape)
    lat["f_lat"] = 1.0 + deficit * _uniform(rng, 0.0, 0.15, cmap.shape)
    lat["f_pers"] = 1.0 - rec_loss
    lat["f_absent"] = cmap < 0.08
    # sensory: 17 % have one SNAP at -2 to -3 SD (Pugdahl 2008)
    mild = rng.random(n) < 0.17
    which = np.where(rng.random(n) < 0.5, _S["sural"], rng.integers(0, len(SENSORY_UNITS), n))
    side = rng.integers(0, 2, n)
    sd = np.array([ctx.amp_log_sd[u] for u in SENSORY_UNITS])[which]
    factor = np.exp(-_uniform(rng, 2.0, 3.0, n) * sd)
    rows = np.flatnonzero(mild)
    lat["snap"][rows, which[rows], side[rows]] = factor[rows]
    return Latent(**lat)


def _ramp(s: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """0 below ``onset``, rising linearly to 1 at severity 1 (stocking-glove spread)."""
    return np.clip((s - onset) / np.maximum(1.0 - onset, 1e-6), 0.0, 1.0)


def axonal_pn(
    idx: np.ndarray,
    ctx: Context,
    rng: np.random.Generator,
    severity: np.ndarray | None = None,
    subtype: np.ndarray | None = None,
) -> Latent:
    """Length-dependent axonal polyneuropathy (CR7.4 axonal PN, T3.2).

    Stocking-glove spread: sural/SPN (1 - S) and EDB (1 - k S) fall first; the median and
    ulnar SNAPs only once S passes an arm onset (0.30-0.55) and reach absence near S = 1; the
    radial SNAP later still (preserved longest); median/ulnar CMAPs last. CV x (1 - 0.15 S)
    with a floor of 0.72-0.85 x normal (van Asseldonk 2005; diabetes adds 5-10 % slowing, T6);
    distal-to-proximal EMG gradient. Subtypes: ``sensory`` (sensory-predominant: SNAPs fall,
    motor nearly normal) and ``slowing`` (severe axon loss with arm CV 35-45 m/s, the grey
    zone). Randomised constants: :mod:`simulator.physiology`.
    """
    n = idx.size
    an = ctx.anatomy
    lat = _new(n, ctx)
    ph = {k: v[idx] for k, v in ctx.phys.items()}
    sub = np.full(n, "axonal", dtype=object) if subtype is None else subtype
    sensory = (sub == "sensory")[:, None]
    slowing = (sub == "slowing")[:, None]
    s = rng.beta(3.0, 1.6, n) if severity is None else severity  # EDX-confirmed PN: mostly moderate
    s = np.where(sub == "slowing", rng.uniform(0.75, 1.0, n), s)
    s = np.where(sub == "sensory", rng.beta(2.5, 2.0, n), s)
    s2 = np.clip(s[:, None] * _uniform(rng, 0.85, 1.15, (n, 2)), 0.0, 1.0)  # per side
    # sensory: stocking-glove order of loss (T3.2) with the arm onset randomised
    arm_on = ph["axonal_arm_snap_onset"][:, None]
    rad_on = np.minimum(arm_on + ph["axonal_radial_lag"][:, None], 0.9)
    for u in ("sural", "superficial_peroneal"):
        lat["snap"][:, _S[u], :] = np.clip(1.0 - s2, 0.02, 1.0)
    for u in ("median_d2", "ulnar_d5"):
        s_n = np.clip(s2 * _uniform(rng, 0.93, 1.07, (n, 2)), 0.0, 1.0)  # per nerve
        f = (1.0 - 0.15 * s2) * (1.0 - _ramp(s_n, arm_on))
        lat["snap"][:, _S[u], :] = np.clip(f, 0.02, 1.0)
        lat["s_absent"][:, _S[u], :] = f < 0.12
    f_rad = (1.0 - 0.1 * s2) * (1.0 - 0.8 * _ramp(s2, rad_on))
    lat["snap"][:, _S["radial_snuffbox"], :] = np.clip(f_rad, 0.05, 1.0)
    lat["s_absent"][:, _S["sural"], :] = (1.0 - s2) < 0.15
    lat["s_absent"][:, _S["superficial_peroneal"], :] = (1.0 - s2) < 0.2
    # motor: EDB and AH first (k randomised), hand CMAPs only once the arms are involved
    k_edb = ph["axonal_edb_k"][:, None]
    arm_m = _ramp(s2, np.minimum(arm_on + 0.1, 0.9))
    motor_scale = np.where(sensory, 0.15, 1.0)  # sensory-predominant: motor nearly spared
    cmap_f = {
        "peroneal_edb": 1.0 - k_edb * s2 * motor_scale,
        "tibial_ah": 1.0 - 0.85 * k_edb * s2 * motor_scale,
        "median_apb": 1.0 - (0.1 * s2 + 0.5 * arm_m) * motor_scale,
        "ulnar_adm": 1.0 - (0.1 * s2 + 0.5 * arm_m) * motor_scale,
        "ulnar_fdi": 1.0 - (0.12 * s2 + 0.55 * arm_m) * motor_scale,
    }
    for u, f in cmap_f.items():
        lat["cmap"][:, _M[u], :] = np.clip(f, 0.0, 1.0)
    diab = ctx.subjects.diabetes[idx]
    slow = 1.0 - 0.15 * s2 * _uniform(rng, 0.7, 1.1, (n, 2))
    slow = slow * np.where(diab[:, None], _uniform(rng, 0.90, 0.95, (n, 2)), 1.0)
    slow = np.maximum(slow, ph["axonal_cv_floor"][:, None])  # van Asseldonk 2005 (T3.2)
    cv = np.repeat(slow[:, None, :], 5, axis=1)
    # grey zone: severe axon loss with arm CV 35-45 m/s (about 0.64-0.79 x normal) [sim]
    leg_u = np.array([0, 0, 0, 1, 1], dtype=bool)[None, :, None]
    grey = np.where(
        leg_u, _uniform(rng, 0.72, 0.86, (n, 5, 2)), _uniform(rng, 0.64, 0.79, (n, 5, 2))
    )
    lat["cv"] = np.where(slowing[:, :, None], grey, cv)
    lat["slat"] = 1.0 / np.repeat(np.where(slowing, 0.8, slow)[:, None, :], 5, axis=1)
    lat["dml"] = 1.0 + 0.2 * s2[:, None, :] * rng.random((n, 5, 2)) * np.where(
        slowing[:, :, None], 1.8, 1.0
    )
    lat["f_lat"] = 1.0 + 0.15 * s2[:, None, :] * rng.random((n, 5, 2))
    lat["f_absent"] = lat["cmap"] < 0.1
    # EMG: local severity falls with the length index
    lam = an.length[None, :, None]
    thr = 1.0 - lam
    s_m = np.clip((s2[:, None, :] - thr) / np.maximum(1.0 - thr, 1e-6), 0.0, 1.0)
    s_m = np.where(lam > 0, s_m, 0.0) * np.where(sensory, 0.15, 1.0)[:, :, None]
    involved = s_m > 0.02
    _muscle_findings(
        lat,
        0.85 * s_m,
        involved,
        ph["axonal_fib_p"][:, None, None] * s_m,
        1.0 + 1.5 * s_m,
        np.minimum(1.0, 1.3 * s_m),
        s_m * _uniform(rng, 0.6, 1.2, s_m.shape),
        rng,
    )
    p_fasc = ph["fasc_neurogenic_p"][:, None, None]
    lat["fasc"] = np.where(involved & (rng.random(s_m.shape) < p_fasc), 1.0, 0.0).astype(np.float32)
    # Reinnervating units are unstable in any active neurogenic process, not only in ALS
    # (T2.2: "immature reinnervation with unstable NMJs"); less often than in ALS [sim].
    p_unst = ph["unstable_reinnervation_p"][:, None, None]
    lat["unstable"] = np.where(lat["reinn"] > 0, p_unst, 0.0).astype(np.float32)
    # F persistence falls with the number of surviving motor axons, whatever the cause
    # (T3.1c: persistence falls as motor units are lost) [sim: by about half the CMAP deficit,
    # with a wide spread, so that it is a weak, noisy sign as in practice, not a hallmark].
    deficit = (1.0 - lat["cmap"]) * _uniform(rng, 0.3, 0.9, lat["cmap"].shape)
    lat["f_pers"] = np.clip(1.0 - deficit, 0.05, 1.0)
    return Latent(**lat)


def demyelinating_pn(
    idx: np.ndarray, subtype: np.ndarray, ctx: Context, rng: np.random.Generator
) -> Latent:
    """Demyelinating PN: CIDP-like multifocal, CMT1 uniform or AIDP-like (CR7.4, T3.3a-f)."""
    n = idx.size
    an = ctx.anatomy
    lat = _new(n, ctx)
    s = rng.beta(2.0, 2.0, n)
    uln = ctx.lat_uln_ratio[None, :, None]
    lln = ctx.cv_lln_ratio[None, :, None]
    fuln = ctx.f_uln_ratio[None, :, None]
    shape = (n, 5, 2)
    cidp = (subtype == "cidp")[:, None, None]
    aidp = (subtype == "aidp")[:, None, None]
    # CMT1 and intermediate CMT: uniform slowing, severity (axon loss) grows with age (T3.3f:
    # CMAP, not CV, tracks disability; slope randomised, physiology.py)
    hered = (subtype == "cmt1") | (subtype == "intermediate")
    cmt = hered[:, None, None]
    age = ctx.subjects.age_years[idx]
    s_age = ctx.phys["cmt1_age_slope"][idx] * (age - 5.0) + rng.normal(0.0, 0.15, n)
    s_age = s_age + np.where(subtype == "intermediate", 0.15, 0.0)  # more axonal [sim]
    s = np.where(hered, np.clip(s_age, 0.02, 1.0), s)
    # --- acquired (CIDP / AIDP): per nerve, not every nerve (T3.3d) ---
    p_nerve = np.array([0.40, 0.40, 0.40, 0.35, 0.55])[None, :, None] * (0.5 + s[:, None, None])
    p_nerve = np.where(aidp, 0.6, p_nerve)
    affected = rng.random(shape) < p_nerve
    affected[:, _M["ulnar_fdi"]] = affected[:, _M["ulnar_adm"]]
    acq = (cidp | aidp) & affected
    f_dml = rng.random(shape) < np.where(aidp, 0.6, 0.45)
    f_cv = rng.random(shape) < np.where(aidp, 0.5, 0.6)
    dml = np.where(acq & f_dml, uln * _uniform(rng, 1.5, 2.5, shape), 1.0)
    dml = np.where(aidp & acq & f_dml, uln * _uniform(rng, 1.1, 1.6, shape), dml)
    cv = np.where(acq, _uniform(rng, 0.75, 0.92, shape), _uniform(rng, 0.88, 1.0, shape))
    cv = np.where(acq & f_cv, lln * _uniform(rng, 0.4, 0.7, shape), cv)
    f_pro = rng.random(shape) < 0.55
    f_lat = np.where(acq & f_pro, fuln * _uniform(rng, 1.3, 2.0, shape), 1.0 / np.sqrt(cv))
    f_abs = acq & (rng.random(shape) < np.where(aidp, 0.35, 0.12))
    cb_p = np.where(aidp, 0.3, 0.25)
    has_cb = acq & (rng.random(shape) < cb_p)
    seg = rng.integers(0, 2, shape)
    cb = np.zeros((n, 5, 2, 2))
    drop = _uniform(rng, 0.3, 0.8, shape)
    cb[..., 0] = np.where(has_cb & (seg == 0), drop, 0.0)
    cb[..., 1] = np.where(has_cb & (seg == 1), drop, 0.0)
    td_p = np.where(np.arange(5)[None, :, None] == _M["tibial_ah"], 0.5, 0.15)
    has_td = acq & (rng.random(shape) < td_p)
    td = np.zeros((n, 5, 2, 2))
    td[..., 0] = np.where(has_td, _uniform(rng, 0.3, 1.0, shape), 0.0)
    dur = np.where(acq & (rng.random(shape) < 0.35), _uniform(rng, 1.3, 1.8, shape), 1.0)
    # secondary axon loss (CR7.4: CMAP x 0.3-1.0)
    sec = rng.random(shape) < s[:, None, None]
    cmap = np.where(sec, _uniform(rng, 0.3, 1.0, shape), 1.0)
    cmap = np.where(aidp, np.where(acq, _uniform(rng, 0.3, 1.0, shape), 1.0), cmap)
    # --- CMT1: uniform slowing 15-35 m/s in the arms, r > 0.9 (T3.3f) ---
    v_arm = np.where(
        subtype == "intermediate", rng.uniform(33.0, 45.0, n), rng.uniform(17.0, 35.0, n)
    )
    v_arm = v_arm[:, None, None]
    means = np.array([57.0, 60.0, 59.7, 48.0, 49.0])[None, :, None]
    leg = np.array([0, 0, 0, 1, 1], dtype=bool)[None, :, None]
    cmt_cv = np.where(leg, 0.85 * v_arm, v_arm) * _uniform(rng, 0.96, 1.04, shape) / means
    # length-dependent axon loss: leg CMAPs reach absence in severe (older) adults (T3.3f)
    s_leg = np.clip(s[:, None, None] * _uniform(rng, 1.0, 1.5, shape), 0.0, 1.0)
    cmt_len = np.where(leg, 1.0 - s_leg, 1.0 - 0.35 * s[:, None, None])
    lat["cv"] = np.where(cmt, cmt_cv, cv)
    cmt_dml = np.where((subtype == "intermediate")[:, None, None], 1.3, 2.0)
    lat["dml"] = np.where(cmt, uln * cmt_dml * _uniform(rng, 0.85, 1.15, shape), dml)
    lat["f_lat"] = np.where(cmt, cmt_cv**-0.85, f_lat)
    lat["f_absent"] = np.where(cmt, cmt_len < 0.1, f_abs)
    lat["f_pers"] = np.where(acq, _uniform(rng, 0.3, 1.0, shape), 1.0)
    lat["cmap"] = np.where(cmt, np.clip(cmt_len * _uniform(rng, 0.85, 1.15, shape), 0.0, 1.0), cmap)
    lat["dur"] = np.where(cmt, 1.25, dur)
    lat["cb"] = np.where(cmt[..., None], 0.0, cb)
    lat["td"] = np.where(cmt[..., None], 0.0, td)
    # --- sensory ---
    ss = (n, 5, 2)
    ab = rng.random(ss) < (0.45 + 0.3 * s[:, None, None])
    snap = np.where(ab, _uniform(rng, 0.1, 0.7, ss), 1.0)
    slat = np.where(ab, _uniform(rng, 1.1, 1.6, ss), 1.0)
    sural_spare = (subtype == "aidp")[:, None] & (rng.random((n, 2)) < 0.75)  # Yadegari 2014
    snap[:, _S["sural"]] = np.where(sural_spare, 1.0, snap[:, _S["sural"]])
    slat[:, _S["sural"]] = np.where(sural_spare, 1.0, slat[:, _S["sural"]])
    cmt_s = hered[:, None, None]
    legs_s = np.array([0, 0, 0, 1, 1], dtype=bool)[None, :, None]
    snap = np.where(
        cmt_s, np.where(legs_s, 1.0 - s[:, None, None], _uniform(rng, 0.2, 0.7, ss)), snap
    )
    slat = np.where(cmt_s, 1.0 / np.clip(cmt_cv.mean(axis=1, keepdims=True), 0.25, 1.0), slat)
    lat["snap"] = np.clip(snap, 0.02, 1.0)
    lat["slat"] = slat
    lat["s_absent"] = (snap < 0.12) | (cmt_s & legs_s & (s[:, None, None] > 0.7))
    lat["s_absent"] |= cmt_s & ~legs_s & (s[:, None, None] > 0.85) & (rng.random(ss) < 0.5)
    # early AIDP: about 13 % near-normal (T3.3e)
    early = (subtype == "aidp") & (rng.random(n) < 0.13)
    # --- EMG: distal neurogenic if axonal, recruitment reduced by block ---
    axon = 1.0 - lat["cmap"]  # (n, 5, 2)
    leg_loss = np.maximum(axon[:, _M["peroneal_edb"]], axon[:, _M["tibial_ah"]])  # (n, 2)
    arm_loss = np.maximum(axon[:, _M["median_apb"]], axon[:, _M["ulnar_adm"]])
    lam = an.length[None, :, None]
    limb_loss = np.where(an.lower[None, :, None], leg_loss[:, None, :], arm_loss[:, None, :])
    s_m = np.clip(limb_loss * (lam / 0.8), 0.0, 0.9) * (lam > 0)
    involved = s_m > 0.05
    _muscle_findings(
        lat,
        s_m,
        involved,
        np.where(aidp[:, :1], 0.15, 0.4),
        1.0 + s_m,
        np.where(aidp[:, :1], 0.1, 0.7),
        s_m * _uniform(rng, 0.5, 1.2, s_m.shape),
        rng,
    )
    blk = np.maximum(lat["cb"].max(axis=3), 0.0)  # (n, 5, 2)
    leg_b = np.maximum(blk[:, _M["peroneal_edb"]], blk[:, _M["tibial_ah"]])
    arm_b = np.maximum(blk[:, _M["median_apb"]], blk[:, _M["ulnar_adm"]])
    lat["block"] = (
        np.where(an.lower[None, :, None], leg_b[:, None, :], arm_b[:, None, :])
        * (an.upper | an.lower)[None, :, None]
    ).astype(np.float32)
    mmn = np.flatnonzero(subtype == "mmn")
    if mmn.size:
        sub = _mmn(mmn.size, ctx, rng)
        for k, v in sub.items():
            lat[k][mmn] = v
    out = Latent(**lat)
    if early.any():
        e = np.flatnonzero(early)
        healthy = Latent.identity(e.size, an.region.size)
        fields_ = {k: v.copy() for k, v in out.__dict__.items()}
        for k, v in healthy.__dict__.items():
            fields_[k][e] = v
        out = Latent(**fields_)
    return out


def myopathy(
    idx: np.ndarray, subtype: np.ndarray, ctx: Context, rng: np.random.Generator
) -> Latent:
    """Myopathy with proximal predominance (CR7.4, T3.4, T2.5).

    Involvement P 0.8 proximal / 0.3 distal / 0.7 paraspinal; MUAP duration -20 to -50 %,
    amplitude x 0.4-0.8, polyphasia 20-60 %, early recruitment; fibs in 66 % of inflammatory,
    30 % of non-inflammatory, 62.5 % of IBM; IBM-like with about 20 % large pseudo-neurogenic
    units (Brannagan 1997); CMAP x 0.5-1.0 only in the severe 20 %.
    """
    n = idx.size
    an = ctx.anatomy
    lat = _new(n, ctx)
    s = rng.beta(2.5, 2.0, n)
    shape = (n, an.region.size, 2)
    ibm = (subtype == "ibm")[:, None, None]
    p_inv = np.where(an.proximal, 0.8, np.where(an.distal, 0.3, np.where(an.axial, 0.7, 0.1)))
    names = np.array(an.region.size * [""], dtype=object)
    quads_fingers = np.zeros(an.region.size, dtype=bool)
    from features.vocab import MUSCLES  # local: names only

    names[:] = MUSCLES
    quads_fingers[
        np.isin(
            names,
            [
                "vastus_lateralis",
                "vastus_medialis",
                "rectus_femoris",
                "flexor_carpi_ulnaris",
                "flexor_carpi_radialis",
            ],
        )
    ] = True
    p_ibm = np.where(quads_fingers, 0.9, np.where(an.lower & an.distal, 0.6, 0.4))
    p = np.where(ibm, p_ibm[None, :, None], p_inv[None, :, None])
    involved = rng.random(shape) < p
    myo = np.clip(s[:, None, None] * _uniform(rng, 0.5, 1.2, shape), 0.0, 0.95)
    lat["myo"] = np.where(involved, myo, 0.0).astype(np.float32)
    irritable_p = np.select([subtype == "inflammatory", subtype == "ibm"], [0.66, 0.625], 0.30)
    irritable = rng.random(n) < irritable_p
    has_fib = involved & irritable[:, None, None] & (rng.random(shape) < 0.7)
    lat["fib"] = np.where(has_fib, 1.0 + 2.0 * myo, 0.0).astype(np.float32)
    lat["pseudo"] = np.where(
        ibm & involved & an.lower[None, :, None], _uniform(rng, 0.15, 0.4, shape), 0.0
    ).astype(np.float32)
    chronic = (subtype == "noninflammatory") & (rng.random(n) < 0.15)  # CRDs (Lyu 1999)
    lat["crd"] = np.where(
        chronic[:, None, None] & involved & (rng.random(shape) < 0.3), 1.0 + rng.random(shape), 0.0
    ).astype(np.float32)
    myotonic = (subtype == "noninflammatory") & (
        rng.random(n) < 0.10
    )  # myotonic dystrophy subset [sim]
    lat["myotonia"] = np.where(
        myotonic[:, None, None] & (rng.random(shape) < 0.7) & ~an.bulbar[None, :, None],
        1.0 + 2.0 * rng.random(shape),
        0.0,
    ).astype(np.float32)
    severe = s > 0.75  # about the most severe 20 % of Beta(2.5, 2)
    lat["cmap"] = np.where(severe[:, None, None], _uniform(rng, 0.5, 1.0, (n, 5, 2)), 1.0)
    return Latent(**lat)


def radiculopathy(
    idx: np.ndarray,
    subtype: np.ndarray,
    ctx: Context,
    rng: np.random.Generator,
    severity: np.ndarray | None = None,
    months: np.ndarray | None = None,
) -> Latent:
    """Radiculopathy at one root C5-T1 or L2-S1 (:func:`radiculopathy_with_roots`'s latent state)."""
    return radiculopathy_with_roots(idx, subtype, ctx, rng, severity, months)[0]


def radiculopathy_with_roots(
    idx: np.ndarray,
    subtype: np.ndarray,
    ctx: Context,
    rng: np.random.Generator,
    severity: np.ndarray | None = None,
    months: np.ndarray | None = None,
) -> tuple[Latent, np.ndarray]:
    """Radiculopathy at one root C5-T1 or L2-S1 (15 % two adjacent roots), one side (CR7.4, T3.5).

    Returns the latent state and, per study, the root levels drawn (the ground truth of the
    localisation score, :mod:`models.localisation_eval`): ``"L5"``, or ``"L5+S1"`` (in
    :data:`~simulator.anatomy.ROOTS` order) when a second, milder adjacent root is involved.

    Myotome muscles involved with P rising with severity. Fibs need 2-3 weeks (T2.4) and fade
    over months; chronic neurogenic MUAPs build up over the first months; in the subacute
    phase (about 1-6 months) both are found in the *same* denervated muscles (one shared draw
    for a randomised share of muscles, T3.5). Paraspinal fibs P 0.45-0.85 at onset, decaying.
    CMAP of a myotome recording muscle falls once the lesion takes more than its reinnervation
    reserve (25-50 % of units; L5 -> EDB, S1 -> AH, C8/T1 -> ADM/FDI/APB; T3.5). SNAPs normal
    (lesion proximal to the DRG). Reinnervating units unstable and involved muscles
    fasciculating at randomised rates (:mod:`simulator.physiology`).
    """
    n = idx.size
    an = ctx.anatomy
    lat = _new(n, ctx)
    ph = {k: v[idx] for k, v in ctx.phys.items()}
    root = np.array([ROOTS.index(r) for r in subtype])
    months = (
        np.exp(rng.normal(np.log(4.0), 1.1, n)) if months is None else months
    )  # median 4 months since onset [sim]
    s = rng.beta(1.4, 3.2, n) if severity is None else severity
    sym = _side_arrays(ctx.index_side[idx])  # (n, 2)
    w = np.where(
        an.main_root[:, root].T, 1.0, np.where(an.any_root[:, root].T, 0.45, 0.0)
    )  # (n, M)
    # 15 % two adjacent roots (e.g. L5 + S1 in canal stenosis), the second one milder [sim]
    step = np.where(rng.random(n) < 0.5, -1, 1)
    second = root + step
    same_region = (second >= 0) & (second < len(ROOTS)) & ((second <= 4) == (root <= 4))
    second = np.where(same_region, second, root - step)
    two = rng.random(n) < 0.15
    w2 = 0.6 * np.where(
        an.main_root[:, second].T, 1.0, np.where(an.any_root[:, second].T, 0.45, 0.0)
    )
    w = np.where(two[:, None], np.maximum(w, w2), w)
    w = np.where(an.axial[None, :], 0.0, w)
    shape = (n, an.region.size, 2)
    w3 = w[:, :, None] * sym[:, None, :]
    involved = (w3 > 0) & (rng.random(shape) < w3 * (0.4 + 0.5 * s[:, None, None]))
    axon_loss = np.clip(s[:, None, None] * w3 * _uniform(rng, 0.5, 1.3, shape), 0.0, 0.9)
    loss = np.where(involved, axon_loss, 0.0)
    acute_f = np.minimum(1.0, months / 0.6)  # fibs need about 2-3 weeks (T2.4)
    p_fib = (0.15 + 0.55 * np.exp(-months / 6.0)) * acute_f
    reinn_t = 1.0 - np.exp(-months / 2.0)
    p_chronic = 0.85 * reinn_t
    # one shared uniform for fibs and chronic change in a coupled muscle: both are signs of
    # the same denervation, so they co-occur in the same muscles (T3.5) [sim coupling]
    u_fib = rng.random(shape)
    coupled = rng.random(shape) < ph["radic_fib_chronic_coupling"][:, None, None]
    u_chr = np.where(coupled, u_fib, rng.random(shape))
    has_fib = involved & (u_fib < p_fib[:, None, None])
    chronic = involved & (u_chr < p_chronic[:, None, None])
    lat["loss"] = loss.astype(np.float32)
    fib_level = 1.0 + 1.5 * s[:, None, None] * rng.random(shape)
    lat["fib"] = np.where(has_fib, fib_level, 0.0).astype(np.float32)
    reinn = np.clip(
        np.maximum(loss, 0.3) * _uniform(rng, 0.9, 1.6, shape) * reinn_t[:, None, None], 0.0, 1.0
    )
    lat["reinn"] = np.where(chronic, reinn, 0.0).astype(np.float32)
    # paraspinals of the root's region, symptomatic side
    cervical = root <= ROOTS.index("T1")
    para_region = np.where(cervical, REGIONS.index("cervical"), REGIONS.index("lumbosacral"))
    para = an.axial[None, :] & (an.region[None, :] == para_region[:, None])  # (n, M)
    p_para = ph["radic_paraspinal_fib_p"] * np.exp(-months / 9.0) * acute_f
    para_fib = para[:, :, None] & sym[:, None, :] & (rng.random(shape) < p_para[:, None, None])
    lat["fib"] = np.where(para_fib, 1.0 + rng.random(shape), lat["fib"]).astype(np.float32)
    p_unst = ph["unstable_reinnervation_p"][:, None, None]
    active = ((months > 1) & (months < 12))[:, None, None]
    lat["unstable"] = np.where(
        (lat["reinn"] > 0), np.where(active, p_unst, 0.3 * p_unst), 0.0
    ).astype(np.float32)
    lat["crd"] = np.where(
        (lat["reinn"] > 0.3) & (months > 12)[:, None, None] & (rng.random(shape) < 0.05), 1.0, 0.0
    ).astype(np.float32)
    p_fasc = ph["fasc_neurogenic_p"][:, None, None]
    lat["fasc"] = np.where(involved & (rng.random(shape) < p_fasc), 1.0, 0.0).astype(np.float32)
    # CMAP of a myotome recording muscle: normal until the lesion exceeds the reserve that
    # reinnervation covers, then falling (T3.5: low CMAP only with severe axon loss)
    reserve = ph["radic_cmap_reserve"][:, None, None]
    rec_loss = axon_loss[:, an.recording_idx, :].astype(float)
    lat["cmap"] = np.clip((1.0 - rec_loss) / (1.0 - reserve), 0.1, 1.0)
    return Latent(**lat), _root_levels(root, np.where(two, second, root))


def _root_levels(root: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``"L5"`` where ``second == root``, else both levels in ROOTS order (``"L5+S1"``)."""
    names = np.array(ROOTS, dtype=object)
    lo, hi = np.minimum(root, second), np.maximum(root, second)
    return np.where(lo == hi, names[lo], names[lo] + "+" + names[hi]).astype(object)


def _mmn(n: int, ctx: Context, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Multifocal motor neuropathy-like effects (T3.6; EFNS/PNS 2010 MMN guideline).

    Definite conduction block (50-90 % drop, duration increase <= 25 %) outside entrapment
    sites in arm nerves (P 0.55 per nerve and side) more than leg nerves (P 0.25); sensory
    conduction normal; distal axon loss in 40 % of blocked nerves; weakness (reduced
    recruitment) and some chronic denervation and fasciculations in the blocked territory.
    """
    an = ctx.anatomy
    lat = _new(n, ctx)
    shape = (n, 5, 2)
    leg = np.array([0, 0, 0, 1, 1], dtype=bool)[None, :, None]
    blocked = rng.random(shape) < np.where(leg, 0.25, 0.55)
    blocked[:, _M["ulnar_fdi"]] = blocked[:, _M["ulnar_adm"]]
    seg = rng.integers(0, 2, shape)
    drop = _uniform(rng, 0.5, 0.9, shape)
    cb = np.zeros((n, 5, 2, 2))
    cb[..., 0] = np.where(blocked & (seg == 0), drop, 0.0)
    cb[..., 1] = np.where(blocked & (seg == 1), drop, 0.0)
    # a block on segment 1 of a nerve without a second segment falls on the first
    cb[:, [_M["median_apb"], _M["tibial_ah"]], :, 0] = np.maximum(
        cb[:, [_M["median_apb"], _M["tibial_ah"]], :, 0],
        cb[:, [_M["median_apb"], _M["tibial_ah"]], :, 1],
    )
    lat["cb"] = cb
    lat["td"] = np.where(blocked[..., None], _uniform(rng, 0.0, 0.25, (n, 5, 2, 2)), 0.0)
    axon = blocked & (rng.random(shape) < 0.4)
    lat["cmap"] = np.where(axon, _uniform(rng, 0.5, 1.0, shape), 1.0)
    lat["cv"] = np.where(blocked, _uniform(rng, 0.85, 1.0, shape), 1.0)
    lat["f_absent"] = blocked & (rng.random(shape) < 0.3)
    blk = cb.max(axis=3)
    leg_b = np.maximum(blk[:, _M["peroneal_edb"]], blk[:, _M["tibial_ah"]])
    arm_b = np.maximum(blk[:, _M["median_apb"]], blk[:, _M["ulnar_adm"]])
    distal = (an.distal | (an.length >= 0.5))[None, :, None]
    lat["block"] = (
        np.where(an.lower[None, :, None], leg_b[:, None, :], arm_b[:, None, :]) * distal
    ).astype(np.float32)
    a_leg = 1.0 - np.minimum(lat["cmap"][:, _M["peroneal_edb"]], lat["cmap"][:, _M["tibial_ah"]])
    a_arm = 1.0 - np.minimum(lat["cmap"][:, _M["median_apb"]], lat["cmap"][:, _M["ulnar_adm"]])
    loss = np.where(an.lower[None, :, None], a_leg[:, None, :], a_arm[:, None, :]) * distal * 0.8
    involved = loss > 0.05
    _muscle_findings(lat, loss, involved, 0.3, 1.0 + loss, 0.7, loss * 1.2, rng)
    fasc = (lat["block"] > 0) & (rng.random(lat["block"].shape) < 0.2)
    lat["fasc"] = np.where(fasc, 1.0 + rng.random(fasc.shape), 0.0).astype(np.float32)
    return lat
