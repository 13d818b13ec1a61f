"""The examiner follows the findings: a needle screen that finds denervation is extended.

A needle screen is a first pass. When a limb muscle of the screen is visibly abnormal, the
electromyographer samples more muscles to say where the lesion is:

* **localising a root**: muscles that share a main root with the abnormal one but are
  supplied by *other* nerves, in the same limb, and that level's paraspinals. A root lesion
  is shown by >= 2 muscles of one root supplied by different nerves with the nerve-specific
  pattern ruled out (Wilbourn & Aminoff 1998, T3.5); the Dillingham screen only decides that
  a study is abnormal, it is not meant to localise (Dillingham et al. 2000, T5.1).
* **an ALS work-up** looks for lower motor neuron signs in further regions: one muscle of
  each region not yet examined (Gold Coast / Awaji: LMN signs in >= 2 of 4 regions, T3.1a;
  the ALS protocol's four regions, T5.1).

How often an examiner extends, and by how many muscles, is not published: the shares below
are [sim †]. "Visibly abnormal" is read from the latent state with the thresholds at which
:mod:`simulator.needle` renders a finding the examiner sees (fibrillations, enlarged units
of chronic reinnervation, or a clear loss of units).
"""

from __future__ import annotations

import numpy as np

from features.vocab import REGIONS
from simulator.anatomy import Anatomy
from simulator.latent import Latent
from simulator.protocols import REFERRALS, Sampling

#: P(the examiner extends a study whose screen found an abnormal limb muscle) [sim †]
P_EXTEND_ROOT = 0.75
#: most extra muscles sampled to localise a root (1 to this many, uniformly) [sim †]
MAX_ROOT_MUSCLES = 3
#: P(adding the level's paraspinals when they were not examined) [sim †]
P_ADD_PARASPINAL = 0.5
#: P(an ALS work-up adds one muscle of a region it had not examined) [sim †]
P_EXTEND_REGION = 0.7

#: latent thresholds of a finding the examiner sees (simulator.needle renders these)
_FIB_VISIBLE = 0.5
_REINN_VISIBLE = 0.25
_LOSS_VISIBLE = 0.5


def visibly_abnormal(lat: Latent) -> np.ndarray:
    """(n, muscle, side) True where the needle study of that muscle would show a finding."""
    return (
        (lat.fib >= _FIB_VISIBLE)
        | (lat.reinn >= _REINN_VISIBLE)
        | (lat.loss >= _LOSS_VISIBLE)
        | (lat.myo >= _REINN_VISIBLE)
    )


def extend_needle_for_findings(
    samp: Sampling,
    lat: Latent,
    anatomy: Anatomy,
    one_limb: np.ndarray,
    rng: np.random.Generator,
) -> Sampling:
    """Add the muscles an examiner samples after an abnormal screen (module docstring).

    Parameters
    ----------
    samp : Sampling
        What each study tested so far (after the lab's reporting habits).
    lat : Latent
        Latent state: decides which examined muscles are visibly abnormal.
    anatomy : Anatomy
    one_limb : ndarray of bool, shape (n,)
        Studies limited to one limb: extended within that limb only (no new regions).
    rng : numpy.random.Generator

    Returns
    -------
    Sampling
        ``samp`` with more muscles; NCS masks unchanged.
    """
    muscles = samp.muscles.copy()
    n, m, _ = muscles.shape
    limb = anatomy.upper | anatomy.lower
    seen = visibly_abnormal(lat) & muscles & limb[None, :, None]
    trigger = seen.any(axis=(1, 2))
    roots = anatomy.main_root.astype(float)  # (M, R)
    para = anatomy.axial
    for i in np.flatnonzero(trigger & (rng.random(n) < P_EXTEND_ROOT)):
        for side in (0, 1):
            hit = np.flatnonzero(seen[i, :, side])
            if hit.size == 0:
                continue
            shared_root = (roots[hit].sum(axis=0) > 0)[None, :]
            nerves = np.unique(anatomy.nerve[hit])
            same_limb = (anatomy.upper & anatomy.upper[hit].any()) | (
                anatomy.lower & anatomy.lower[hit].any()
            )
            cand = np.flatnonzero(
                ((roots * shared_root).sum(axis=1) > 0)
                & same_limb
                & ~np.isin(anatomy.nerve, nerves)
                & ~muscles[i, :, side]
            )
            if cand.size:
                k = min(cand.size, int(rng.integers(1, MAX_ROOT_MUSCLES + 1)))
                muscles[i, rng.choice(cand, size=k, replace=False), side] = True
            regions = np.unique(anatomy.region[hit])
            level_para = np.flatnonzero(para & np.isin(anatomy.region, regions))
            if (
                level_para.size
                and not muscles[i, level_para, side].any()
                and rng.random() < P_ADD_PARASPINAL
            ):
                muscles[i, rng.choice(level_para), side] = True
    als_workup = trigger & (samp.referral == REFERRALS.index("als")) & ~one_limb
    for i in np.flatnonzero(als_workup):
        examined = np.unique(anatomy.region[muscles[i].any(axis=1)])
        side = int(rng.integers(0, 2))
        for r in range(len(REGIONS)):
            if r in examined or rng.random() >= P_EXTEND_REGION:
                continue
            cand = np.flatnonzero(anatomy.region == r)
            if cand.size:
                muscles[i, rng.choice(cand), side] = True
    return Sampling(samp.referral, samp.motor, samp.sensory, samp.f_wave, muscles, samp.proximal)
