"""Referral questions and the lab protocols they trigger (T5.1, T5.1b).

The referral follows the diagnosis only noisily (a radiculopathy screen that turns out normal,
a neuropathy referral that is ALS); normal studies come from every referral type. Each
protocol lists, per NCS response and per muscle, the probability that it is tested on the
symptomatic (index) side and on the other side. Labs then truncate protocols (no legs, no
paraspinals, NCS only, one side) and differ in how often they add F-waves and proximal sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.vocab import CLASSES, MUSCLES

MOTOR_UNITS: tuple[str, ...] = ("median_apb", "ulnar_adm", "ulnar_fdi", "peroneal_edb", "tibial_ah")
SENSORY_UNITS: tuple[str, ...] = (
    "median_d2",
    "ulnar_d5",
    "radial_snuffbox",
    "sural",
    "superficial_peroneal",
)
#: F-waves are recorded on the motor units (ulnar_fdi never carries one)
F_UNITS: tuple[str, ...] = MOTOR_UNITS
LOWER_MOTOR = np.array([u in {"peroneal_edb", "tibial_ah"} for u in MOTOR_UNITS])
LOWER_SENSORY = np.array([u in {"sural", "superficial_peroneal"} for u in SENSORY_UNITS])

REFERRALS: tuple[str, ...] = (
    "als",
    "neuropathy",
    "lumbar_radic",
    "cervical_radic",
    "upper_limb",
    "myopathy",
)

#: P(referral | diagnosis) [sim, shaped by T5.2 referral series; normals from every referral]
REFERRAL_GIVEN_DX: dict[str, tuple[float, ...]] = {
    #                  als   neuro lumbar cerv  upper  myo
    "normal": (0.04, 0.30, 0.25, 0.18, 0.17, 0.06),
    "als": (0.70, 0.10, 0.05, 0.10, 0.00, 0.05),
    "axonal_pn": (0.03, 0.80, 0.10, 0.00, 0.05, 0.02),
    "demyelinating_pn": (0.08, 0.80, 0.05, 0.00, 0.07, 0.00),
    "myopathy": (0.08, 0.12, 0.05, 0.00, 0.00, 0.75),
    "radiculopathy_cervical": (0.00, 0.05, 0.00, 0.85, 0.10, 0.00),
    "radiculopathy_lumbar": (0.00, 0.15, 0.85, 0.00, 0.00, 0.00),
    "als_mimic": (0.60, 0.30, 0.00, 0.10, 0.00, 0.00),
}


@dataclass(frozen=True)
class Protocol:
    """Inclusion probabilities (index side, other side) per item of one referral protocol."""

    motor: dict[str, tuple[float, float]]
    sensory: dict[str, tuple[float, float]]
    f_wave: dict[str, tuple[float, float]]
    muscles: dict[str, tuple[float, float]]


PROTOCOLS: dict[str, Protocol] = {
    # T5.1 suspected ALS: motor + F in >= 2 limbs incl. split hand, median/ulnar/sural sensory,
    # 4 regions, about 16 muscles (Mayo 16.5; de Carvalho 2008; Higashihara 2012)
    "als": Protocol(
        motor={
            "median_apb": (1.0, 0.7),
            "ulnar_adm": (1.0, 0.6),
            "ulnar_fdi": (0.6, 0.3),
            "peroneal_edb": (0.9, 0.5),
            "tibial_ah": (0.8, 0.4),
        },
        sensory={
            "median_d2": (0.9, 0.3),
            "ulnar_d5": (0.6, 0.1),
            "radial_snuffbox": (0.3, 0.0),
            "sural": (0.95, 0.5),
            "superficial_peroneal": (0.1, 0.0),
        },
        f_wave={
            "median_apb": (0.7, 0.3),
            "ulnar_adm": (0.7, 0.3),
            "peroneal_edb": (0.4, 0.1),
            "tibial_ah": (0.7, 0.3),
        },
        muscles={
            "tongue": (0.55, 0.0),
            "masseter": (0.15, 0.0),
            "sternocleidomastoid": (0.35, 0.1),
            "frontalis": (0.05, 0.0),
            "first_dorsal_interosseous": (0.95, 0.7),
            "abductor_pollicis_brevis": (0.6, 0.3),
            "abductor_digiti_minimi": (0.3, 0.1),
            "biceps": (0.85, 0.5),
            "deltoid": (0.6, 0.3),
            "triceps": (0.65, 0.3),
            "extensor_digitorum": (0.6, 0.3),
            "flexor_carpi_radialis": (0.2, 0.0),
            "pronator_teres": (0.2, 0.0),
            "cervical_paraspinal": (0.4, 0.1),
            "thoracic_paraspinal": (0.85, 0.35),
            "lumbar_paraspinal": (0.3, 0.0),
            "tibialis_anterior": (0.95, 0.7),
            "vastus_lateralis": (0.85, 0.5),
            "medial_gastrocnemius": (0.7, 0.4),
            "iliopsoas": (0.3, 0.1),
            "gluteus_medius": (0.15, 0.0),
        },
    ),
    # T5.1 suspected polyneuropathy: sural + peroneal minimum, then tibial, median, ulnar,
    # radial SNAP for SRAR; distal leg, one proximal leg, one hand muscle (ESTEEM; England 2005)
    "neuropathy": Protocol(
        motor={
            "median_apb": (0.7, 0.15),
            "ulnar_adm": (0.6, 0.1),
            "ulnar_fdi": (0.0, 0.0),
            "peroneal_edb": (1.0, 0.35),
            "tibial_ah": (0.85, 0.3),
        },
        sensory={
            "median_d2": (0.75, 0.15),
            "ulnar_d5": (0.65, 0.1),
            "radial_snuffbox": (0.35, 0.05),
            "sural": (1.0, 0.6),
            "superficial_peroneal": (0.35, 0.1),
        },
        f_wave={
            "median_apb": (0.3, 0.0),
            "ulnar_adm": (0.3, 0.0),
            "peroneal_edb": (0.3, 0.1),
            "tibial_ah": (0.6, 0.2),
        },
        muscles={
            "tibialis_anterior": (0.95, 0.3),
            "medial_gastrocnemius": (0.8, 0.15),
            "extensor_digitorum_brevis": (0.25, 0.0),
            "abductor_hallucis": (0.15, 0.0),
            "vastus_lateralis": (0.7, 0.05),
            "first_dorsal_interosseous": (0.7, 0.05),
            "abductor_pollicis_brevis": (0.15, 0.0),
            "iliopsoas": (0.1, 0.0),
            "biceps": (0.1, 0.0),
            "lumbar_paraspinal": (0.15, 0.0),
        },
    ),
    # T5.1 lumbosacral radiculopathy: one motor (+F), sural/SPN normal; 6-muscle screen with
    # paraspinals (Dillingham 2000)
    "lumbar_radic": Protocol(
        motor={"peroneal_edb": (0.95, 0.2), "tibial_ah": (0.85, 0.2)},
        sensory={"sural": (0.9, 0.3), "superficial_peroneal": (0.4, 0.05)},
        f_wave={"tibial_ah": (0.6, 0.1), "peroneal_edb": (0.3, 0.0)},
        muscles={
            "tibialis_anterior": (0.95, 0.1),
            "medial_gastrocnemius": (0.9, 0.1),
            "peroneus_longus": (0.5, 0.0),
            "tibialis_posterior": (0.45, 0.0),
            "vastus_lateralis": (0.8, 0.05),
            "vastus_medialis": (0.2, 0.0),
            "rectus_femoris": (0.1, 0.0),
            "iliopsoas": (0.35, 0.0),
            "adductor_longus": (0.2, 0.0),
            "gluteus_medius": (0.55, 0.0),
            "gluteus_maximus": (0.3, 0.0),
            "tensor_fasciae_latae": (0.15, 0.0),
            "biceps_femoris_short_head": (0.3, 0.0),
            "extensor_hallucis_longus": (0.3, 0.0),
            "extensor_digitorum_brevis": (0.05, 0.0),
            "abductor_hallucis": (0.1, 0.0),
            "soleus": (0.1, 0.0),
            "lumbar_paraspinal": (0.85, 0.2),
        },
    ),
    # T5.1 cervical radiculopathy: median/ulnar motor + sensory, radial SNAP; 6 muscles + paraspinals
    "cervical_radic": Protocol(
        motor={"median_apb": (0.95, 0.3), "ulnar_adm": (0.9, 0.25)},
        sensory={"median_d2": (0.95, 0.3), "ulnar_d5": (0.9, 0.2), "radial_snuffbox": (0.6, 0.1)},
        f_wave={"median_apb": (0.4, 0.0), "ulnar_adm": (0.4, 0.0)},
        muscles={
            "deltoid": (0.9, 0.05),
            "biceps": (0.85, 0.05),
            "triceps": (0.9, 0.05),
            "pronator_teres": (0.6, 0.0),
            "flexor_carpi_radialis": (0.35, 0.0),
            "extensor_digitorum": (0.7, 0.0),
            "brachioradialis": (0.3, 0.0),
            "infraspinatus": (0.25, 0.0),
            "supraspinatus": (0.15, 0.0),
            "first_dorsal_interosseous": (0.85, 0.05),
            "abductor_pollicis_brevis": (0.55, 0.0),
            "abductor_digiti_minimi": (0.2, 0.0),
            "flexor_carpi_ulnaris": (0.2, 0.0),
            "extensor_indicis": (0.2, 0.0),
            "cervical_paraspinal": (0.8, 0.15),
        },
    ),
    # hand/arm symptoms (CTS-type referral, T5.1b): bilateral median/ulnar, few arm muscles
    "upper_limb": Protocol(
        motor={"median_apb": (1.0, 0.6), "ulnar_adm": (0.9, 0.4)},
        sensory={"median_d2": (1.0, 0.6), "ulnar_d5": (0.9, 0.4), "radial_snuffbox": (0.3, 0.0)},
        f_wave={"median_apb": (0.2, 0.0), "ulnar_adm": (0.2, 0.0)},
        muscles={
            "abductor_pollicis_brevis": (0.5, 0.1),
            "first_dorsal_interosseous": (0.4, 0.0),
            "pronator_teres": (0.15, 0.0),
            "biceps": (0.1, 0.0),
            "deltoid": (0.1, 0.0),
            "triceps": (0.1, 0.0),
            "extensor_digitorum": (0.1, 0.0),
            "cervical_paraspinal": (0.1, 0.0),
        },
    ),
    # T5.1 myopathy: >= 1 motor + >= 1 sensory; proximal and distal muscles, paraspinals, one side
    "myopathy": Protocol(
        motor={
            "median_apb": (0.6, 0.0),
            "ulnar_adm": (0.4, 0.0),
            "peroneal_edb": (0.75, 0.0),
            "tibial_ah": (0.4, 0.0),
        },
        sensory={"sural": (0.8, 0.0), "median_d2": (0.5, 0.0), "ulnar_d5": (0.3, 0.0)},
        f_wave={"tibial_ah": (0.3, 0.0)},
        muscles={
            "deltoid": (0.95, 0.1),
            "biceps": (0.9, 0.1),
            "triceps": (0.5, 0.0),
            "infraspinatus": (0.2, 0.0),
            "supraspinatus": (0.1, 0.0),
            "iliopsoas": (0.75, 0.05),
            "vastus_lateralis": (0.9, 0.1),
            "vastus_medialis": (0.2, 0.0),
            "rectus_femoris": (0.2, 0.0),
            "gluteus_medius": (0.45, 0.0),
            "tibialis_anterior": (0.85, 0.05),
            "first_dorsal_interosseous": (0.6, 0.0),
            "extensor_digitorum": (0.3, 0.0),
            "flexor_carpi_ulnaris": (0.15, 0.0),
            "medial_gastrocnemius": (0.4, 0.0),
            "thoracic_paraspinal": (0.2, 0.0),
            "lumbar_paraspinal": (0.55, 0.0),
        },
    ),
}

_PARTIAL_KINDS: tuple[str, ...] = (
    "no_legs",
    "no_paraspinals",
    "ncs_only",
    "one_side",
    "few_muscles",
)
_PARTIAL_P: tuple[float, ...] = (0.25, 0.25, 0.15, 0.2, 0.15)


@dataclass(frozen=True)
class Sampling:
    """What each study tested: boolean masks (n, item, side) with side 0 = L, 1 = R."""

    referral: np.ndarray
    motor: np.ndarray
    sensory: np.ndarray
    f_wave: np.ndarray
    muscles: np.ndarray
    proximal: np.ndarray
    #: (n, motor unit, side): every proximal site recorded (the examiner crosses the suspected
    #: entrapment site, e.g. above the elbow for an ulnar neuropathy); None = lab habit only
    all_sites: np.ndarray | None = None


def draw_referral(
    dx: np.ndarray,
    radic_cervical: np.ndarray,
    rng: np.random.Generator,
    als_like: np.ndarray | None = None,
) -> np.ndarray:
    """Referral question index (into :data:`REFERRALS`) given the true diagnosis (noisy).

    ``radic_cervical`` marks radiculopathies of a cervical root; ``als_like`` marks studies
    referred like suspected ALS whatever their class (MMN-like motor neuropathy, T3.6).
    """
    keys = list(CLASSES)
    table = np.array(
        [
            REFERRAL_GIVEN_DX[k]
            if k != "radiculopathy"
            else REFERRAL_GIVEN_DX["radiculopathy_lumbar"]
            for k in keys
        ]
    )
    probs = table[dx]
    is_radic = dx == keys.index("radiculopathy")
    probs = np.where(
        (is_radic & radic_cervical)[:, None],
        np.array(REFERRAL_GIVEN_DX["radiculopathy_cervical"]),
        probs,
    )
    if als_like is not None:
        probs = np.where(als_like[:, None], np.array(REFERRAL_GIVEN_DX["als_mimic"]), probs)
    probs = probs / probs.sum(axis=1, keepdims=True)
    cum = probs.cumsum(axis=1)
    return (rng.random(dx.size)[:, None] > cum).sum(axis=1).clip(0, len(REFERRALS) - 1)


def _prob_tensor(
    referral: np.ndarray, index_side: np.ndarray, items: tuple[str, ...], attr: str
) -> np.ndarray:
    """(n, item, side) inclusion probabilities for one item family."""
    table = np.zeros((len(REFERRALS), len(items), 2))
    for r, name in enumerate(REFERRALS):
        spec = getattr(PROTOCOLS[name], attr)
        for i, item in enumerate(items):
            table[r, i] = spec.get(item, (0.0, 0.0))
    p = table[referral]  # (n, item, [ipsi, contra])
    left_is_index = (index_side == 0)[:, None]
    return np.stack(
        [
            np.where(left_is_index, p[:, :, 0], p[:, :, 1]),
            np.where(left_is_index, p[:, :, 1], p[:, :, 0]),
        ],
        axis=2,
    )


def draw_sampling(
    referral: np.ndarray,
    index_side: np.ndarray,
    lab: dict[str, np.ndarray],
    lab_idx: np.ndarray,
    lower_muscle: np.ndarray,
    paraspinal_muscle: np.ndarray,
    rng: np.random.Generator,
) -> Sampling:
    """Draw which responses and muscles each study tested.

    Parameters
    ----------
    referral : ndarray of int, shape (n,)
        Referral index per study.
    index_side : ndarray of int, shape (n,)
        Symptomatic side, 0 = L, 1 = R.
    lab : dict of ndarray
        :func:`simulator.labs.lab_table` output.
    lab_idx : ndarray of int, shape (n,)
        Lab index per study.
    lower_muscle, paraspinal_muscle : ndarray of bool, shape (n_muscles,)
        Muscle flags (lower limb; paraspinal) in :data:`features.vocab.MUSCLES` order.
    rng : numpy.random.Generator
    """
    n = referral.size
    motor = rng.random((n, len(MOTOR_UNITS), 2)) < _prob_tensor(
        referral, index_side, MOTOR_UNITS, "motor"
    )
    sensory = rng.random((n, len(SENSORY_UNITS), 2)) < _prob_tensor(
        referral, index_side, SENSORY_UNITS, "sensory"
    )
    f_scale = lab["f_wave_scale"][lab_idx][:, None, None]
    f_p = _prob_tensor(referral, index_side, F_UNITS, "f_wave") * f_scale
    f_wave = (
        rng.random((n, len(F_UNITS), 2)) < f_p
    ) & motor  # F only where the motor nerve was done
    muscles = rng.random((n, len(MUSCLES), 2)) < _prob_tensor(
        referral, index_side, MUSCLES, "muscles"
    )
    proximal = rng.random((n, len(MOTOR_UNITS), 2)) < lab["p_proximal"][lab_idx][:, None, None]
    # ALS work-ups and neuropathy work-ups look for block more often (T5.1)
    proximal |= (referral == REFERRALS.index("als"))[:, None, None] & (
        rng.random((n, len(MOTOR_UNITS), 2)) < 0.6
    )

    # partial protocols, lab-dependent
    partial = rng.random(n) < lab["p_partial"][lab_idx]
    kind = rng.choice(len(_PARTIAL_KINDS), size=n, p=np.array(_PARTIAL_P))
    no_legs = partial & (kind == 0) & (referral != REFERRALS.index("lumbar_radic"))
    motor &= ~(no_legs[:, None, None] & LOWER_MOTOR[None, :, None])
    sensory &= ~(no_legs[:, None, None] & LOWER_SENSORY[None, :, None])
    muscles &= ~(no_legs[:, None, None] & lower_muscle[None, :, None])
    no_para = partial & (kind == 1)
    muscles &= ~(no_para[:, None, None] & paraspinal_muscle[None, :, None])
    ncs_only = partial & (kind == 2)
    muscles &= ~ncs_only[:, None, None]
    one_side = partial & (kind == 3)
    other = np.stack(
        [index_side == 1, index_side == 0], axis=1
    )  # (n, 2): True on the non-index side
    drop = (one_side[:, None] & other)[:, None, :]
    motor &= ~drop
    sensory &= ~drop
    muscles &= ~drop
    few = partial & (kind == 4)
    keep_few = rng.random((n, len(MUSCLES), 2)) < 0.45
    muscles &= ~(few[:, None, None] & ~keep_few)
    f_wave &= motor
    proximal &= motor
    return Sampling(
        referral=referral,
        motor=motor,
        sensory=sensory,
        f_wave=f_wave,
        muscles=muscles,
        proximal=proximal,
    )


#: T5.1 neuropathy work-up: when sural or peroneal is abnormal, add the contralateral sural,
#: tibial, median and ulnar motor and sensory, F-waves and the radial SNAP (for the SRAR)
_EXTENSION: dict[str, dict[str, tuple[float, float]]] = {
    "motor": {
        "tibial_ah": (0.9, 0.3),
        "median_apb": (0.8, 0.2),
        "ulnar_adm": (0.7, 0.2),
        "peroneal_edb": (1.0, 0.5),
    },
    "sensory": {
        "sural": (1.0, 0.8),
        "median_d2": (0.8, 0.2),
        "ulnar_d5": (0.7, 0.1),
        "radial_snuffbox": (0.6, 0.1),
    },
    "f_wave": {"tibial_ah": (0.7, 0.2), "median_apb": (0.4, 0.0), "ulnar_adm": (0.4, 0.0)},
    "muscles": {"first_dorsal_interosseous": (0.6, 0.0), "vastus_lateralis": (0.5, 0.0)},
}


def extend_for_findings(
    samp: Sampling,
    index_side: np.ndarray,
    abnormal: np.ndarray,
    lab_ok: np.ndarray,
    rng: np.random.Generator,
) -> Sampling:
    """Extend neuropathy work-ups whose screening nerves are abnormal (T5.1, ESTEEM †).

    Parameters
    ----------
    samp : Sampling
    index_side : ndarray of int, shape (n,)
    abnormal : ndarray of bool, shape (n,)
        Screening sural or peroneal response visibly abnormal.
    lab_ok : ndarray of bool, shape (n,)
        Studies whose protocol was not truncated by the lab.
    rng : numpy.random.Generator
    """
    ext = abnormal & lab_ok & (samp.referral == REFERRALS.index("neuropathy"))
    if not ext.any():
        return samp
    idx = np.flatnonzero(ext)
    out = {}
    for attr, items in (
        ("motor", MOTOR_UNITS),
        ("sensory", SENSORY_UNITS),
        ("f_wave", F_UNITS),
        ("muscles", MUSCLES),
    ):
        table = np.zeros((len(items), 2))
        for i, item in enumerate(items):
            table[i] = _EXTENSION[attr].get(item, (0.0, 0.0))
        left = (index_side[idx] == 0)[:, None]
        p = np.stack(
            [
                np.where(left, table[None, :, 0], table[None, :, 1]),
                np.where(left, table[None, :, 1], table[None, :, 0]),
            ],
            axis=2,
        )
        mask = getattr(samp, attr).copy()
        mask[idx] |= rng.random(p.shape) < p
        out[attr] = mask
    f_wave = out["f_wave"] & out["motor"]
    proximal = samp.proximal | (
        out["motor"] & ~samp.motor & (rng.random(samp.proximal.shape) < 0.5)
    )
    return Sampling(samp.referral, out["motor"], out["sensory"], f_wave, out["muscles"], proximal)
