"""Conditions an EMG lab meets that are not among the six classes (issue 11, item 1).

Each condition is a latent process like :mod:`simulator.diseases`: it writes effects on axons,
myelin and muscle fibres into a :class:`~simulator.latent.Latent` and never a measured value, so
:mod:`simulator.ncs` and :mod:`simulator.needle` render it in the same way as every class.

How such a study is labelled (see ``docs/out-of-scope.md``): the contract's ``diagnosis`` allows
only the six classes, so the bundle carries the **closest in-scope class an examiner forced to
choose would write** (:data:`PROXY_CLASS`: Kennedy disease -> ALS, sensory neuronopathy -> axonal
PN, ...). That class also drives the referral question, the lab and the subject's demographics.
The truth is the ``condition`` column of the physiology side table (``physiology.parquet``):
``in_scope`` for the six classes, else the condition name; training must give those studies
soft targets rather than teach them as certain members of the proxy class.

Numbers cite ``clinical-reference.md`` (``T3.6`` = table T3.6, ``T1.1`` = table T1.1, ``T6`` =
table T6 "Coexisting CTS"); ``†`` marks a modelling choice where the reference has no number.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from features.vocab import CLASSES, MUSCLES
from simulator.anatomy import ROOTS
from simulator.diseases import Context, radiculopathy
from simulator.latent import Latent
from simulator.parameters import OOS_CONDITIONS
from simulator.patients import Subjects
from simulator.protocols import MOTOR_UNITS, REFERRALS, SENSORY_UNITS, Sampling

#: the out-of-scope conditions, in a fixed order (``condition`` codes of the truth table)
CONDITIONS: tuple[str, ...] = OOS_CONDITIONS

#: truth label of the six classes in the ``condition`` column
IN_SCOPE = "in_scope"

#: the in-scope class the examiner would write when forced to choose (bundle ``diagnosis``),
#: which also decides referral, lab and demographics [†: our reading of T3.6 / T5.2]
PROXY_CLASS: dict[str, str] = {
    "carpal_tunnel": "normal",
    "ulnar_neuropathy_elbow": "normal",
    "fibular_neuropathy": "radiculopathy",  # foot drop: referred as L5 radiculopathy
    "brachial_plexopathy": "radiculopathy",
    "kennedy": "als",
    "sensory_neuronopathy": "axonal_pn",
    "myasthenia": "myopathy",  # fatigable weakness referred as myopathy
    "post_polio": "als",
    "cervical_myelopathy": "als",
}

#: the root that the proxy subtype carries (cervical vs lumbar referral for radiculopathy proxies)
PROXY_SUBTYPE: dict[str, str] = {
    "fibular_neuropathy": "L5",
    "brachial_plexopathy": "C6",
}

#: the referral question of each condition (into :data:`simulator.protocols.REFERRALS`) [†]
REFERRAL: dict[str, str] = {
    "carpal_tunnel": "upper_limb",
    "ulnar_neuropathy_elbow": "upper_limb",
    "fibular_neuropathy": "lumbar_radic",
    "brachial_plexopathy": "cervical_radic",
    "kennedy": "als",
    "sensory_neuronopathy": "neuropathy",
    "myasthenia": "myopathy",
    "post_polio": "als",
    "cervical_myelopathy": "als",
}

#: focal conditions: the finding :mod:`features.focal` must report
FOCAL_CONDITIONS: dict[str, str] = {
    "carpal_tunnel": "median_wrist",
    "ulnar_neuropathy_elbow": "ulnar_elbow",
    "fibular_neuropathy": "fibular_head",
}

_M = {u: i for i, u in enumerate(MOTOR_UNITS)}
_S = {u: i for i, u in enumerate(SENSORY_UNITS)}
_MU = {m: i for i, m in enumerate(MUSCLES)}
_UPPER_TRUNK = ("C5", "C6")
_LOWER_TRUNK = ("C8", "T1")


def _new(n: int) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in Latent.identity(n, len(MUSCLES)).__dict__.items()}


def _sym(ctx: Context, idx: np.ndarray) -> np.ndarray:
    s = ctx.index_side[idx]
    return np.stack([s == 0, s == 1], axis=1)


def carpal_tunnel(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Carpal tunnel syndrome, mild / moderate / severe, 60 % bilateral (T6, CR7.5, T1.2).

    Severity c ~ U(0.15, 1) on the symptomatic side (the other side x U(0, 0.8) when
    bilateral): median D2 peak latency +0.5-2.0 ms (so the median-ulnar sensory difference is
    above 0.5 ms, Atroshi 2003, T1.2), SNAP x (1 - 0.85 c), absent above c = 0.85; DML
    +0.4-3.0 ms from moderate (c > 0.35) on; CMAP x (1 - 0.8 (c - 0.6)/0.4) and APB
    denervation only when severe (c > 0.6) [† grade cut-offs].
    """
    n = idx.size
    lat = _new(n)
    sym = _sym(ctx, idx)
    c_sym = rng.uniform(0.15, 1.0, n)
    bilateral = rng.random(n) < 0.6
    c_other = np.where(bilateral, c_sym * rng.uniform(0.0, 0.8, n), 0.0)
    c = np.where(sym, c_sym[:, None], c_other[:, None])
    on = c > 0.0
    mi, si = _M["median_apb"], _S["median_d2"]
    lat["slat_add_ms"][:, si, :] = np.where(on, 0.5 + 1.5 * c, 0.0)
    lat["snap"][:, si, :] = np.where(on, 1.0 - 0.85 * c, 1.0)
    lat["s_absent"][:, si, :] = c > 0.85
    moderate = np.clip((c - 0.35) / 0.65, 0.0, 1.0)
    lat["dml_add_ms"][:, mi, :] = np.where(c > 0.35, 0.4 + 2.6 * moderate, 0.0)
    severe = np.clip((c - 0.6) / 0.4, 0.0, 1.0)
    lat["cmap"][:, mi, :] = 1.0 - 0.8 * severe
    apb = _MU["abductor_pollicis_brevis"]
    lat["loss"][:, apb, :] = (0.85 * severe).astype(np.float32)
    lat["reinn"][:, apb, :] = (0.7 * severe).astype(np.float32)
    lat["fib"][:, apb, :] = np.where(
        (severe > 0.2) & (rng.random((n, 2)) < 0.6), 1.0 + 2.0 * severe, 0.0
    ).astype(np.float32)
    return Latent(**lat)


def ulnar_neuropathy_elbow(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Ulnar neuropathy at the elbow, symptomatic side (AAEM practice parameter; T1.1).

    Across-elbow CV x 0.45-0.78 of the normal 57 m/s (so below 50 m/s or > 10 m/s slower than
    the forearm), a CMAP drop across the elbow of 0-60 % in half the cases (block), ADM/FDI
    CMAP, ulnar D5 SNAP and FDI/ADM/FCU denervation falling with severity [† ranges].
    """
    n = idx.size
    lat = _new(n)
    sym = _sym(ctx, idx)
    s = np.where(sym, rng.uniform(0.1, 1.0, n)[:, None], 0.0)
    on = s > 0
    for u in ("ulnar_adm", "ulnar_fdi"):
        ui = _M[u]
        # segment 1 of ulnar_adm is below-elbow -> above-elbow (simulator/data/segments.csv)
        lat["seg_cv"][:, ui, :, 1] = np.where(on, 0.78 - 0.33 * s, 1.0)
        block = on & (rng.random((n, 2)) < 0.5)
        lat["cb"][:, ui, :, 1] = np.where(block, 0.25 + 0.35 * s, 0.0)
        lat["cmap"][:, ui, :] = 1.0 - 0.7 * np.clip(s - 0.4, 0.0, None)
    lat["cb"][:, _M["ulnar_fdi"]] = lat["cb"][:, _M["ulnar_adm"]]
    lat["snap"][:, _S["ulnar_d5"], :] = 1.0 - 0.9 * np.clip(s - 0.2, 0.0, None)
    lat["s_absent"][:, _S["ulnar_d5"], :] = s > 0.9
    loss = (0.8 * np.clip(s - 0.35, 0.0, None)).astype(np.float32)
    for m in ("first_dorsal_interosseous", "abductor_digiti_minimi", "flexor_carpi_ulnaris"):
        k = 0.5 if m == "flexor_carpi_ulnaris" else 1.0  # FCU often spared (fascicular)
        lat["loss"][:, _MU[m], :] = k * loss
        lat["reinn"][:, _MU[m], :] = 0.8 * k * loss
        lat["fib"][:, _MU[m], :] = np.where(
            (k * loss > 0.1) & (rng.random((n, 2)) < 0.6), 1.0 + 2.0 * loss, 0.0
        )
    return Latent(**lat)


def fibular_neuropathy(
    idx: np.ndarray, ctx: Context, rng: np.random.Generator, side: np.ndarray | None = None
) -> Latent:
    """Fibular (peroneal) neuropathy at the fibular head, one side (T1.1 across-head limits).

    Across-head CV x 0.45-0.75 of the normal 50 m/s (a drop > 10 m/s, the ULN of T1.1), in
    70 % a CMAP drop across the head of 30-85 % (> 25 % ULN), EDB CMAP lower when severe;
    tibialis anterior, EHL, EDB and peroneus longus denervated; tibialis posterior and the
    short head of biceps femoris normal (they separate it from L5 radiculopathy and sciatic
    neuropathy); sural and tibial normal [† ranges]. ``side`` overrides the symptomatic side
    (a fibular palsy beside another diagnosis).
    """
    n = idx.size
    lat = _new(n)
    s_side = ctx.index_side[idx] if side is None else side
    sym = np.stack([s_side == 0, s_side == 1], axis=1)
    s = np.where(sym, rng.uniform(0.15, 1.0, n)[:, None], 0.0)
    on = s > 0
    ui = _M["peroneal_edb"]
    lat["seg_cv"][:, ui, :, 1] = np.where(on, 0.75 - 0.3 * s, 1.0)
    block = on & (rng.random((n, 2)) < 0.7)
    lat["cb"][:, ui, :, 1] = np.where(block, 0.3 + 0.55 * s, 0.0)
    lat["cmap"][:, ui, :] = 1.0 - 0.8 * np.clip(s - 0.5, 0.0, None)
    lat["snap"][:, _S["superficial_peroneal"], :] = 1.0 - 0.8 * np.clip(s - 0.3, 0.0, None)
    loss = (0.85 * np.clip(s - 0.2, 0.0, None) + 0.1 * on).astype(np.float32)
    for m in (
        "tibialis_anterior",
        "extensor_hallucis_longus",
        "extensor_digitorum_brevis",
        "peroneus_longus",
    ):
        lat["loss"][:, _MU[m], :] = loss
        lat["reinn"][:, _MU[m], :] = 0.7 * loss
        lat["fib"][:, _MU[m], :] = np.where(
            (loss > 0.1) & (rng.random((n, 2)) < 0.75), 1.0 + 2.0 * loss, 0.0
        )
    return Latent(**lat)


def brachial_plexopathy(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Brachial plexopathy, upper trunk (C5-C6) or lower trunk (C8-T1), one side.

    Denervation of the trunk's myotomes across several nerve territories (reusing the
    radiculopathy myotome machinery for both roots), **paraspinals normal** (the lesion is
    distal to the posterior rami) and **SNAPs in the territory low** (distal to the dorsal root
    ganglion): upper trunk radial (snuffbox) and median D2 x 0.1-0.6, lower trunk ulnar D5 x
    0.1-0.5 and the median/ulnar CMAPs lower [† ranges; upper : lower 60 : 40 †].
    """
    n = idx.size
    upper = rng.random(n) < 0.6
    sev = rng.uniform(0.45, 0.95, n)
    months = rng.uniform(1.0, 8.0, n)
    parts = []
    for k in range(2):
        roots = np.where(upper, _UPPER_TRUNK[k], _LOWER_TRUNK[k]).astype(object)
        parts.append(radiculopathy(idx, roots, ctx, rng, severity=sev, months=months))
    lat = {k: v.copy() for k, v in parts[0].combine(parts[1]).__dict__.items()}
    an = ctx.anatomy
    for f in ("loss", "fib", "reinn", "unstable", "fasc", "crd"):
        lat[f][:, an.axial, :] = 0.0  # paraspinals spared: posterior rami leave before the plexus
    sym = _sym(ctx, idx)
    factor = np.where(sym, rng.uniform(0.1, 0.6, (n, 2)), 1.0)
    for u in ("radial_snuffbox", "median_d2"):
        lat["snap"][:, _S[u], :] = np.where(upper[:, None], factor, 1.0)
    lat["snap"][:, _S["ulnar_d5"], :] = np.where(upper[:, None], 1.0, factor * 0.85)
    lat["s_absent"][:, _S["ulnar_d5"], :] = ~upper[:, None] & sym & (factor < 0.15)
    return Latent(**lat)


def _lmn(
    n: int,
    ctx: Context,
    rng: np.random.Generator,
    where: np.ndarray,
    loss_lo: float,
    loss_hi: float,
    p_fib: float,
    p_fasc: float,
    reinn_lo: float,
) -> dict[str, np.ndarray]:
    """Chronic lower-motor-neuron loss in the muscles ``where`` (n, M, 2): a shared helper."""
    lat = _new(n)
    shape = where.shape
    loss = np.where(where, rng.uniform(loss_lo, loss_hi, shape), 0.0)
    lat["loss"] = loss.astype(np.float32)
    lat["reinn"] = np.where(where, np.clip(rng.uniform(reinn_lo, 1.0, shape), 0, 1), 0.0).astype(
        np.float32
    )
    lat["fib"] = np.where(where & (rng.random(shape) < p_fib), 1.0, 0.0).astype(np.float32)
    lat["fasc"] = np.where(where & (rng.random(shape) < p_fasc), 1.0 + rng.random(shape), 0.0)
    lat["fasc"] = lat["fasc"].astype(np.float32)
    rec = loss[:, ctx.anatomy.recording_idx, :]
    lat["cmap"] = np.minimum(1.0, (1.0 - rec) / 0.6)
    lat["f_pers"] = 1.0 - 0.6 * rec
    return lat


def kennedy(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Kennedy disease (SBMA): widespread chronic LMN loss with non-length-dependent SNAP loss.

    T3.6 (Ferrante & Wilbourn 1997; Rhodes 2009; Chin J Neurol 2023): needle EMG abnormal in
    100 % with chronic > active change (all limb and bulbar regions, loss 0.3-0.75, long large
    units, fibs P 0.3, fasciculations P 0.6 †, bulbar/facial fasciculation typical); no upper
    motor neuron sign; SNAPs abnormal in 95 %, 30-80 % below normal with median/ulnar lower than
    sural; CMAP low in about a third (from the loss). Men only (set by the cohort).
    """
    n = idx.size
    an = ctx.anatomy
    shape = (n, an.region.size, 2)
    where = (~an.axial[None, :, None] | (rng.random(shape) < 0.5)) & (rng.random(shape) < 0.85)
    lat = _lmn(n, ctx, rng, where, 0.3, 0.75, 0.3, 0.6, 0.5)
    abn = rng.random(n) < 0.95
    ss = (n, len(SENSORY_UNITS), 2)
    arm = np.isin(np.arange(len(SENSORY_UNITS)), [_S["median_d2"], _S["ulnar_d5"]])
    drop = np.where(arm[None, :, None], rng.uniform(0.45, 0.8, ss), rng.uniform(0.3, 0.65, ss))
    lat["snap"] = np.where(abn[:, None, None], 1.0 - drop, 1.0)
    lat["s_absent"] = abn[:, None, None] & (lat["snap"] < 0.25) & (rng.random(ss) < 0.3)
    return Latent(**lat)


def sensory_neuronopathy(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Sensory neuronopathy (ganglionopathy): non-length-dependent, often asymmetric SNAP loss.

    Arm SNAPs as low as or lower than the leg ones (x 0.0-0.5; absent below 0.12), each nerve
    and side independently (asymmetry), motor conduction and needle EMG normal (T3.2/T3.6
    differential of a non-length-dependent pattern; ranges †).
    """
    n = idx.size
    lat = _new(n)
    ss = (n, len(SENSORY_UNITS), 2)
    sev = rng.uniform(0.5, 1.0, n)[:, None, None]
    f = 1.0 - sev * rng.uniform(0.5, 1.0, ss)
    lat["snap"] = np.clip(f, 0.02, 1.0)
    lat["s_absent"] = f < 0.12
    lat["slat"] = np.where(f < 0.5, rng.uniform(1.0, 1.15, ss), 1.0)
    return Latent(**lat)


def myasthenia(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Myasthenia gravis with routine NCS and needle EMG normal (T5.2 referrals 1.3 %).

    Routine studies are normal; in 35 % of patients a few proximal or bulbar muscles show
    moment-to-moment MUAP variation (read as "unstable", P 0.4) [† NMJ instability]. Without
    repetitive stimulation the lab cannot see the disorder; with it (simulator.special_ncs),
    the decrement of :func:`myasthenia_decrement_pct` shows it.
    """
    n = idx.size
    an = ctx.anatomy
    lat = _new(n)
    shape = (n, an.region.size, 2)
    some = (rng.random(n) < 0.35)[:, None, None]
    site = (an.proximal | an.bulbar)[None, :, None]
    lat["unstable"] = np.where(some & site, 0.4, 0.0).astype(np.float32) * np.ones(
        shape, np.float32
    )
    return Latent(**lat)


#: myasthenia on 3 Hz RNS of a hand muscle: share with a decrement above 10 % and its range
#: († textbook sensitivity of RNS in generalised myasthenia, about 75-80 %; not in the
#: clinical reference); the others (ocular or mild) 2-8 %
P_MYASTHENIA_DECREMENT = 0.8
MYASTHENIA_DECREMENT_PCT = (12.0, 50.0)


def myasthenia_decrement_pct(n: int, rng: np.random.Generator) -> np.ndarray:
    """RNS decrement (%) that myasthenia adds, per patient (rendered by simulator.special_ncs)."""
    abnormal = rng.random(n) < P_MYASTHENIA_DECREMENT
    return np.where(abnormal, rng.uniform(*MYASTHENIA_DECREMENT_PCT, n), rng.uniform(2.0, 8.0, n))


def post_polio(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Post-polio: old stable denervation in previously affected limbs (T3.6 †, T2.3).

    One to three limbs, patchy and asymmetric (each muscle of an affected limb P 0.7), loss
    0.5-0.9 with complete reinnervation (giant, long units, reduced recruitment); sparse fibs
    (P 0.1) and fasciculations (P 0.05); bulbar and sensory normal. Age is shifted up by the
    cohort (polio in childhood) [†].
    """
    n = idx.size
    an = ctx.anatomy
    shape = (n, an.region.size, 2)
    n_limbs = 1 + np.minimum((rng.random(n)[:, None] > np.array([0.5, 0.85])).sum(axis=1), 2)
    limb_order = np.argsort(rng.random((n, 4)), axis=1)  # (arm L, arm R, leg L, leg R)
    hit = np.zeros((n, 4), dtype=bool)
    for k in range(3):
        rows = n_limbs > k
        hit[rows, limb_order[rows, k]] = True
    leg = an.lower[None, :, None]
    arm = an.upper[None, :, None]
    side = np.arange(2)[None, None, :]
    limb = np.where(leg, 2 + side, np.where(arm, side, -1))  # (1, M, 2)
    limb_hit = np.take_along_axis(hit, np.clip(limb, 0, 3).reshape(1, -1).repeat(n, 0), axis=1)
    limb_hit = limb_hit.reshape(shape) & (limb >= 0)
    where = limb_hit & (rng.random(shape) < 0.7)
    lat = _lmn(n, ctx, rng, where, 0.5, 0.9, 0.1, 0.05, 0.9)
    lat["unstable"] = np.where(where, 0.1, 0.0).astype(np.float32)
    return Latent(**lat)


def cervical_myelopathy(idx: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Cervical spondylotic myelopathy / amyotrophy: LMN change confined to cervical myotomes.

    T3.6 (Kuncl 1988; Wijesekera & Leigh 2009): two or three adjacent cervical segments
    (C5-C8), both sides (the symptomatic side worse), loss 0.2-0.7 with fibs P 0.5 and chronic
    change; cervical paraspinals involved in half; **thoracic paraspinals and bulbar muscles
    spared**, leg muscles LMN-normal but with reduced activation (UMN, P 0.4); SNAPs normal
    (the lesion is proximal to the ganglion) [† ranges].
    """
    n = idx.size
    an = ctx.anatomy
    shape = (n, an.region.size, 2)
    first = rng.integers(0, 3, n)  # C5, C6 or C7
    span = rng.integers(2, 4, n)
    roots = np.arange(4)[None, :]
    seg = (roots >= first[:, None]) & (roots < (first + span)[:, None])  # (n, 4) of C5..C8
    main = an.main_root[:, :4]  # (M, 4): C5..C8 columns of ROOTS
    assert ROOTS[:4] == ("C5", "C6", "C7", "C8")
    in_myotome = (seg[:, None, :] & main[None, :, :]).any(axis=2) & ~an.axial[None, :]
    sym = _sym(ctx, idx)
    side_p = np.where(sym, 0.85, 0.55)[:, None, :]
    where = in_myotome[:, :, None] & (rng.random(shape) < side_p)
    lat = _lmn(n, ctx, rng, where, 0.2, 0.7, 0.5, 0.15, 0.3)
    cpara = np.array(MUSCLES) == "cervical_paraspinal"
    para = cpara[None, :, None] & (rng.random((n, 1, 2)) < 0.5)
    lat["fib"] = np.where(para, 1.0, lat["fib"]).astype(np.float32)
    lat["umn"] = np.where(an.lower[None, :, None] & (rng.random(shape) < 0.4), 0.6, 0.0)
    lat["umn"] = lat["umn"].astype(np.float32)
    lat["unstable"] = np.where(where, 0.4, 0.0).astype(np.float32)
    return Latent(**lat)


_PROCESSES = {
    "carpal_tunnel": carpal_tunnel,
    "ulnar_neuropathy_elbow": ulnar_neuropathy_elbow,
    "fibular_neuropathy": fibular_neuropathy,
    "brachial_plexopathy": brachial_plexopathy,
    "kennedy": kennedy,
    "sensory_neuronopathy": sensory_neuronopathy,
    "myasthenia": myasthenia,
    "post_polio": post_polio,
    "cervical_myelopathy": cervical_myelopathy,
}


def draw_conditions(
    n: int, share: float, weights: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """Condition code per study: -1 for in scope, else an index into :data:`CONDITIONS`."""
    p = np.array([weights.get(c, 0.0) for c in CONDITIONS], dtype=float)
    out = np.full(n, -1, dtype=int)
    if share <= 0 or p.sum() <= 0:
        return out
    oos = rng.random(n) < share
    out[oos] = rng.choice(len(CONDITIONS), size=int(oos.sum()), p=p / p.sum())
    return out


def proxy_dx(condition: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """The class index written in ``diagnosis``: ``dx`` in scope, the proxy class otherwise."""
    out = dx.copy()
    for k, c in enumerate(CONDITIONS):
        out[condition == k] = CLASSES.index(PROXY_CLASS[c])
    return out


def proxy_subtype(condition: np.ndarray, subtype: np.ndarray) -> np.ndarray:
    """Subtype labels with the out-of-scope studies' proxy subtype ("none" unless a root)."""
    out = subtype.copy()
    for k, c in enumerate(CONDITIONS):
        mask = condition == k
        out[mask] = PROXY_SUBTYPE.get(c, "limb" if PROXY_CLASS[c] == "als" else "none")
        if PROXY_CLASS[c] == "myopathy":
            out[mask] = "noninflammatory"
        if PROXY_CLASS[c] == "axonal_pn":
            out[mask] = "sensory"
    return out


def adjust_subjects(sub: Subjects, condition: np.ndarray) -> Subjects:
    """Demographics of the conditions that differ from their proxy class.

    Kennedy disease is X-linked: men only (T3.6). Post-polio: polio in childhood before the
    vaccines, so patients are older (age at least 55-75 y †).
    """
    kennedy = condition == CONDITIONS.index("kennedy")
    polio = condition == CONDITIONS.index("post_polio")
    floor = 55.0 + 20.0 * ((np.arange(condition.size) * 0.618034) % 1.0)  # deterministic spread
    age = np.where(polio, np.maximum(sub.age_years, floor), sub.age_years)
    return replace(sub, female=sub.female & ~kennedy, age_years=age)


def referral(condition: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Referral index per study: the drawn one in scope, the condition's own otherwise."""
    out = drawn.copy()
    for k, c in enumerate(CONDITIONS):
        out[condition == k] = REFERRALS.index(REFERRAL[c])
    return out


def oos_latent(condition: np.ndarray, ctx: Context, rng: np.random.Generator) -> Latent:
    """Latent effects of the out-of-scope studies (identity for in-scope rows)."""
    n = condition.size
    lat = Latent.identity(n, len(MUSCLES))
    for k, c in enumerate(CONDITIONS):
        idx = np.flatnonzero(condition == k)
        if idx.size:
            lat = lat.scatter(idx, _PROCESSES[c](idx, ctx, rng))
    return lat


def condition_labels(condition: np.ndarray) -> np.ndarray:
    """Truth labels for the side table: ``in_scope`` or the condition name."""
    names = np.array((IN_SCOPE, *CONDITIONS), dtype=object)
    return names[condition + 1]


def focal_truth(lat: Latent) -> dict[str, np.ndarray]:
    """Which focal lesions each study carries (any side), from its latent state.

    Covers the out-of-scope focal conditions and the overlays of :mod:`simulator.comorbidity`
    (incidental CTS, UNE, fibular neuropathy beside another diagnosis). Returns boolean
    arrays ``focal_median_wrist``, ``focal_ulnar_elbow``, ``focal_fibular_head``.
    """
    med = lat.slat_add_ms[:, _S["median_d2"], :].max(axis=1) >= 0.5
    une = lat.seg_cv[:, _M["ulnar_adm"], :, 1].min(axis=1) < 0.9
    fib = lat.seg_cv[:, _M["peroneal_edb"], :, 1].min(axis=1) < 0.9
    return {"focal_median_wrist": med, "focal_ulnar_elbow": une, "focal_fibular_head": fib}


#: what an examiner adds for a suspected focal neuropathy: (motor units with every proximal
#: site, sensory units, muscles) on the symptomatic side (AAEM CTS and UNE practice parameters;
#: T5.1; the fibular work-up adds tibialis posterior and the short head of biceps femoris to
#: tell it from L5 radiculopathy and sciatic neuropathy)
_WORKUP: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "carpal_tunnel": (
        ("median_apb", "ulnar_adm"),
        ("median_d2", "ulnar_d5"),
        ("abductor_pollicis_brevis",),
    ),
    "ulnar_neuropathy_elbow": (
        ("ulnar_adm", "median_apb"),
        ("ulnar_d5", "median_d2"),
        ("first_dorsal_interosseous", "abductor_digiti_minimi", "flexor_carpi_ulnaris"),
    ),
    "fibular_neuropathy": (
        ("peroneal_edb", "tibial_ah"),
        ("superficial_peroneal", "sural"),
        (
            "tibialis_anterior",
            "extensor_hallucis_longus",
            "tibialis_posterior",
            "biceps_femoris_short_head",
            "medial_gastrocnemius",
        ),
    ),
}


def focal_workup(samp: Sampling, condition: np.ndarray, index_side: np.ndarray) -> Sampling:
    """Add the nerves, proximal sites and muscles the examiner tests for a focal complaint."""
    motor, sensory, muscles = samp.motor.copy(), samp.sensory.copy(), samp.muscles.copy()
    proximal = samp.proximal.copy()
    all_sites = np.zeros_like(samp.motor) if samp.all_sites is None else samp.all_sites.copy()
    for name, (m_units, s_units, mus) in _WORKUP.items():
        rows = np.flatnonzero(condition == CONDITIONS.index(name))
        side = index_side[rows]
        for u in m_units:
            motor[rows, _M[u], side] = True
            if u == m_units[0]:
                proximal[rows, _M[u], side] = True
                all_sites[rows, _M[u], side] = True
        for u in s_units:
            sensory[rows, _S[u], side] = True
        for m in mus:
            muscles[rows, _MU[m], side] = True
    return Sampling(samp.referral, motor, sensory, samp.f_wave, muscles, proximal, all_sites)
