"""EMG labs (``site_id``): systematic offsets and recording habits.

Five archetypes; ``lab-d`` is the deliberately different one (other distance conventions,
grades only, no temperature, cold limbs, generous fasciculation grading, integer rounding,
more partial protocols) so that a held-out-site evaluation is meaningful. Labs beyond the
fifth reuse an archetype with freshly drawn offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from string import ascii_lowercase

import numpy as np


@dataclass(frozen=True)
class Lab:
    """One lab's habits.

    Attributes
    ----------
    site_id : str
        Identifier written to ``studies.site_id``.
    share : float
        Relative share of studies done by the lab (before case-mix affinity).
    tertiary : float
        0 = community lab, 1 = tertiary neuromuscular centre; raises its share of ALS,
        demyelinating PN and myopathy referrals (T5.2).
    amp_scale : float
        Systematic multiplicative amplitude offset (electrodes, filters), about +-10 %.
    latency_offset_ms : float
        Systematic additive latency offset (onset marking habit).
    median_motor_mm, sural_mm : float
        Distance conventions (70 vs 80 mm; 140 vs 100 mm), with their physiological effect.
    muap_mode : str
        ``numbers``, ``grades`` or ``mixed`` (per muscle, numbers with probability 0.5).
    decimals_latency, decimals_amplitude : int
        Rounding of latencies and amplitudes in the report.
    p_temp_recorded : float
        Share of studies with ``limb_temp_c`` written.
    warms_limbs : bool
        Whether cold limbs are warmed before testing (T1.5; CR0).
    fasc_bias : float
        Added to the latent fasciculation level before grading (grading tendency).
    fib_bias : float
        Added to the latent fibrillation level before grading.
    p_proximal : float
        Probability that proximal stimulation sites are recorded for a motor nerve.
    f_wave_scale : float
        Multiplier on protocol F-wave probabilities.
    p_duration : float
        Probability that CMAP negative-peak duration is written.
    p_sensory_velocity : float
        Probability that sensory velocity is written.
    p_partial : float
        Probability of a partial protocol (one limb, no legs, no paraspinals, NCS only).
    p_unstable_recorded, p_insertional_recorded, p_activation_recorded : float
        How often these optional EMG cells are filled.
    p_height_recorded : float
        Share of studies with ``height_cm`` written.
    p_sex_unknown : float
        Share of studies exported with ``sex`` ``U``.
    p_emg_only, p_one_limb, p_abnormal_only, p_grades_only, p_short_list : float
        Reporting habits (:mod:`simulator.reporting`): EMG-only reports (NCS not done, or
        "NCS normal" without numbers), one-limb studies, reports that list mainly the abnormal
        muscles, MUAP grades only (in a lab that usually writes numbers) and short muscle
        lists (2-7 muscles) [sim].
    """

    site_id: str
    share: float
    tertiary: float
    amp_scale: float
    latency_offset_ms: float
    median_motor_mm: float
    sural_mm: float
    muap_mode: str
    decimals_latency: int
    decimals_amplitude: int
    p_temp_recorded: float
    warms_limbs: bool
    fasc_bias: float
    fib_bias: float
    p_proximal: float
    f_wave_scale: float
    p_duration: float
    p_sensory_velocity: float
    p_partial: float
    p_unstable_recorded: float
    p_insertional_recorded: float
    p_activation_recorded: float
    p_height_recorded: float = 0.95
    p_sex_unknown: float = 0.0
    p_emg_only: float = 0.04
    p_one_limb: float = 0.08
    p_abnormal_only: float = 0.15
    p_grades_only: float = 0.10
    p_short_list: float = 0.25


# Positional fields in the order of Lab (site_id, share, tertiary, amp_scale, latency_offset_ms,
# median_motor_mm, sural_mm, muap_mode, decimals_latency, decimals_amplitude, p_temp_recorded,
# warms_limbs, fasc_bias, fib_bias, p_proximal, f_wave_scale, p_duration, p_sensory_velocity,
# p_partial, p_unstable_recorded, p_insertional_recorded, p_activation_recorded).
# fmt: off
_ARCHETYPES: tuple[Lab, ...] = (
    # tertiary academic neuromuscular lab: full protocols, numbers, warms limbs
    Lab("lab-a", 0.25, 1.0, 1.00, 0.00, 80, 140, "numbers", 2, 1, 0.95, True, 0.0, 0.0,
        0.90, 1.0, 0.70, 0.60, 0.05, 0.6, 0.9, 0.5),
    # community hospital lab: grades, 70 mm median, temperature recorded half the time
    Lab("lab-b", 0.25, 0.2, 1.05, 0.10, 70, 140, "grades", 1, 1, 0.50, True, 0.0, 0.0,
        0.60, 0.7, 0.20, 0.20, 0.15, 0.1, 0.8, 0.3),
    # district general hospital: mixed MUAP habit
    Lab("lab-c", 0.20, 0.5, 0.95, -0.05, 70, 140, "mixed", 1, 1, 0.80, True, 0.0, 0.2,
        0.75, 0.9, 0.40, 0.40, 0.10, 0.3, 0.7, 0.6),
    # THE DIFFERENT LAB: other distances, grades only, no temperature, no warming,
    # generous fasciculation grading, integer amplitudes, many partial studies
    Lab("lab-d", 0.12, 0.3, 1.10, -0.20, 80, 100, "grades", 1, 0, 0.0, False, 0.8, -0.2,
        0.40, 0.5, 0.05, 0.0, 0.30, 0.0, 0.3, 0.1),
    # private outpatient lab: numbers, short protocols
    Lab("lab-e", 0.18, 0.0, 0.92, 0.05, 70, 140, "numbers", 2, 1, 0.90, True, -0.3, 0.0,
        0.55, 0.6, 0.50, 0.70, 0.25, 0.2, 0.95, 0.8),
)
# fmt: on


#: study-level export habits that differ from the defaults [sim]
_EXPORT_HABITS: dict[str, dict[str, float]] = {
    "lab-b": {"p_height_recorded": 0.7},
    "lab-d": {"p_height_recorded": 0.4, "p_sex_unknown": 0.02},
    "lab-e": {"p_sex_unknown": 0.01},
}


#: reporting habits per lab (simulator.reporting) [sim]: tertiary labs report fully; the
#: community, private and "different" labs write shorter, partial, abnormal-only reports
_REPORTING_HABITS: dict[str, dict[str, float]] = {
    "lab-a": {
        "p_emg_only": 0.02,
        "p_one_limb": 0.04,
        "p_abnormal_only": 0.04,
        "p_grades_only": 0.03,
        "p_short_list": 0.10,
    },
    "lab-b": {
        "p_emg_only": 0.07,
        "p_one_limb": 0.12,
        "p_abnormal_only": 0.25,
        "p_grades_only": 0.0,
        "p_short_list": 0.35,
    },
    "lab-c": {
        "p_emg_only": 0.04,
        "p_one_limb": 0.08,
        "p_abnormal_only": 0.12,
        "p_grades_only": 0.20,
        "p_short_list": 0.25,
    },
    "lab-d": {
        "p_emg_only": 0.10,
        "p_one_limb": 0.15,
        "p_abnormal_only": 0.35,
        "p_grades_only": 0.0,
        "p_short_list": 0.40,
    },
    "lab-e": {
        "p_emg_only": 0.06,
        "p_one_limb": 0.12,
        "p_abnormal_only": 0.20,
        "p_grades_only": 0.12,
        "p_short_list": 0.35,
    },
}


def make_labs(n_sites: int, seed: int) -> list[Lab]:
    """Return ``n_sites`` labs: the five archetypes, then jittered copies of them.

    Parameters
    ----------
    n_sites : int
        Number of labs, 1-26.
    seed : int
        Seed for the offsets of labs beyond the fifth.
    """
    if not 1 <= n_sites <= len(ascii_lowercase):
        raise ValueError(f"Invalid value for 'n_sites': {n_sites}. Expected 1-26.")
    rng = np.random.default_rng([seed, 7])
    labs = [
        replace(
            lab,
            **_EXPORT_HABITS.get(lab.site_id, {}),
            **_REPORTING_HABITS.get(lab.site_id, {}),
        )
        for lab in _ARCHETYPES[:n_sites]
    ]
    for i in range(len(_ARCHETYPES), n_sites):
        base = labs[i % len(_ARCHETYPES)]
        labs.append(
            replace(
                base,
                site_id=f"lab-{ascii_lowercase[i]}",
                amp_scale=float(np.exp(rng.normal(0.0, 0.07))),
                latency_offset_ms=float(rng.normal(0.0, 0.1)),
                fasc_bias=float(rng.normal(0.0, 0.4)),
            )
        )
    return labs


def lab_table(labs: list[Lab]) -> dict[str, np.ndarray]:
    """Column arrays over labs (one entry per lab field) for vectorised indexing."""
    fields = Lab.__dataclass_fields__
    return {name: np.array([getattr(lab, name) for lab in labs]) for name in fields}
