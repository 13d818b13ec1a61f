"""Muscle and nerve anatomy as arrays (from ``features.reference`` muscles.csv, CR §4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.reference import load_muscles
from features.vocab import MUSCLES, REGIONS
from simulator.protocols import MOTOR_UNITS

ROOTS: tuple[str, ...] = ("C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1")

#: recording muscle of each motor unit
RECORDING_MUSCLE: dict[str, str] = {
    "median_apb": "abductor_pollicis_brevis",
    "ulnar_adm": "abductor_digiti_minimi",
    "ulnar_fdi": "first_dorsal_interosseous",
    "peroneal_edb": "extensor_digitorum_brevis",
    "tibial_ah": "abductor_hallucis",
}

#: length index for length-dependent processes (1 = longest axons) [sim, CR7.4 axonal gradient]
_FOOT = {"extensor_digitorum_brevis", "abductor_hallucis"}
_HAND = {"first_dorsal_interosseous", "abductor_pollicis_brevis", "abductor_digiti_minimi"}


@dataclass(frozen=True)
class Anatomy:
    """Per-muscle attribute arrays in :data:`features.vocab.MUSCLES` order.

    Attributes
    ----------
    region : ndarray of int
        Index into :data:`features.vocab.REGIONS`.
    lower, upper, proximal, distal, axial, bulbar : ndarray of bool
    length : ndarray of float
        Length index 0-1 (foot 1.0, distal leg 0.8, hand 0.5, forearm 0.35, proximal leg 0.25,
        proximal arm 0.1, axial and bulbar 0).
    main_root, any_root : ndarray of bool, shape (n_muscles, n_roots)
        Root membership (dominant roots; all roots) in :data:`ROOTS` order.
    recording_idx : ndarray of int
        Muscle index of each motor unit's recording muscle.
    nerve : ndarray of int
        Code of each muscle's peripheral nerve (equal codes = same nerve).
    """

    region: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    proximal: np.ndarray
    distal: np.ndarray
    axial: np.ndarray
    bulbar: np.ndarray
    length: np.ndarray
    main_root: np.ndarray
    any_root: np.ndarray
    recording_idx: np.ndarray
    nerve: np.ndarray

    @property
    def paraspinal(self) -> np.ndarray:
        """Paraspinal muscles."""
        return self.axial


def build_anatomy() -> Anatomy:
    """Build the anatomy arrays from the shared muscle table."""
    table = load_muscles().reindex(list(MUSCLES))
    region = np.array([REGIONS.index(r) for r in table["region"]])
    limb = table["limb"].to_numpy()
    pos = table["position"].to_numpy()
    names = np.array(MUSCLES)
    lower = limb == "lower"
    upper = limb == "upper"
    length = np.zeros(len(MUSCLES))
    length[lower & (pos == "proximal")] = 0.25
    length[lower & (pos == "distal")] = 0.8
    length[np.isin(names, list(_FOOT))] = 1.0
    length[upper & (pos == "proximal")] = 0.1
    length[upper & (pos == "distal")] = 0.35
    length[np.isin(names, list(_HAND))] = 0.5
    main_root = np.array([[r in roots for r in ROOTS] for roots in table["main_roots"]])
    any_root = np.array([[r in roots for r in ROOTS] for roots in table["roots"]])
    return Anatomy(
        region=region,
        lower=lower,
        upper=upper,
        proximal=pos == "proximal",
        distal=pos == "distal",
        axial=pos == "axial",
        bulbar=pos == "bulbar",
        length=length,
        main_root=main_root,
        any_root=any_root | main_root,
        recording_idx=np.array([MUSCLES.index(RECORDING_MUSCLE[u]) for u in MOTOR_UNITS]),
        nerve=pd.factorize(table["nerve"].fillna("").to_numpy())[0],
    )
