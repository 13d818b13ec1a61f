"""Virtual patients: age, sex, height, BMI, diabetes and limb temperature.

Ages depend on the diagnosis and its subtype (ALS and axonal PN are older, CMT1 younger,
IBM-like myopathy older); height depends on sex; the limb temperature depends on whether the
lab warms limbs (T1.5). All draws are vectorised over studies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.vocab import CLASSES

#: (mean, SD) of age in years per class [sim, typical referral ages]
AGE_BY_CLASS: dict[str, tuple[float, float]] = {
    "normal": (48.0, 15.0),
    "als": (62.0, 11.0),
    "axonal_pn": (64.0, 12.0),
    "demyelinating_pn": (55.0, 15.0),
    "myopathy": (55.0, 16.0),
    "radiculopathy": (52.0, 13.0),
}
#: share of men per class [sim; ALS male excess, Wijesekera & Leigh 2009]
MALE_SHARE: dict[str, float] = {
    "normal": 0.45,
    "als": 0.60,
    "axonal_pn": 0.58,
    "demyelinating_pn": 0.62,
    "myopathy": 0.45,
    "radiculopathy": 0.52,
}


@dataclass(frozen=True)
class Subjects:
    """Per-study subject attributes (arrays of length n).

    Attributes
    ----------
    age_years, height_cm, bmi : ndarray of float
    female : ndarray of bool
    diabetes : ndarray of bool
    hand_temp_c, foot_temp_c : ndarray of float
        True skin temperature of hand and foot, °C.
    """

    age_years: np.ndarray
    height_cm: np.ndarray
    bmi: np.ndarray
    female: np.ndarray
    diabetes: np.ndarray
    hand_temp_c: np.ndarray
    foot_temp_c: np.ndarray


def draw_subjects(
    dx: np.ndarray,
    subtype: np.ndarray,
    warms_limbs: np.ndarray,
    p_diabetes: float,
    p_diabetes_in_axonal_pn: float,
    rng: np.random.Generator,
) -> Subjects:
    """Draw subjects for studies with diagnosis codes ``dx`` (indices into ``CLASSES``).

    Parameters
    ----------
    dx : ndarray of int, shape (n,)
        Diagnosis index per study.
    subtype : ndarray of str, shape (n,)
        Disease subtype per study (``cmt1``, ``ibm`` shift the age).
    warms_limbs : ndarray of bool, shape (n,)
        Whether the study's lab warms cold limbs.
    p_diabetes, p_diabetes_in_axonal_pn : float
        Diabetes prevalence outside / inside the axonal-PN class.
    rng : numpy.random.Generator
    """
    n = dx.size
    mean = np.array([AGE_BY_CLASS[c][0] for c in CLASSES])[dx]
    sd = np.array([AGE_BY_CLASS[c][1] for c in CLASSES])[dx]
    mean = np.where(subtype == "cmt1", 35.0, mean)
    mean = np.where(subtype == "ibm", 68.0, mean)
    sd = np.where(subtype == "ibm", 8.0, sd)
    age = np.clip(rng.normal(mean, sd), 18.0, 92.0)
    male_share = np.array([MALE_SHARE[c] for c in CLASSES])[dx]
    male_share = np.where(subtype == "ibm", 0.65, male_share)
    female = rng.random(n) >= male_share
    # height: men 176 +- 7, women 163 +- 6.5 cm; slight secular decline with age [sim]
    height = np.where(female, rng.normal(163.0, 6.5, n), rng.normal(176.0, 7.0, n))
    height = np.clip(height - 0.05 * (age - 50.0), 140.0, 205.0)
    # BMI: log-normal, median 26.5 (T1.4 obesity effect needs a realistic BMI spread) [sim]
    bmi = np.clip(np.exp(rng.normal(np.log(26.5), 0.17, n)), 16.0, 55.0)
    axonal = dx == CLASSES.index("axonal_pn")
    p_dm = np.where(axonal, p_diabetes_in_axonal_pn, p_diabetes * (0.5 + age / 100.0))
    diabetes = rng.random(n) < p_dm
    # skin temperature: warmed labs keep hands near 32-34 °C; others let cold limbs through
    # (T1.5; CR0 hand >= 32 °C, foot >= 30 °C)
    hand = np.where(warms_limbs, rng.normal(32.8, 0.9, n), rng.normal(31.2, 1.8, n))
    foot = hand - rng.uniform(0.5, 2.5, n)
    return Subjects(
        age_years=age,
        height_cm=height,
        bmi=bmi,
        female=female,
        diabetes=diabetes,
        hand_temp_c=np.clip(hand, 24.0, 36.0),
        foot_temp_c=np.clip(foot, 22.0, 35.0),
    )
