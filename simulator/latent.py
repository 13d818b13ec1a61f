"""Latent physiological state of each study, the bridge between disease and measurement.

Disease processes and comorbidity overlays never write measured values; they write effects on
axons, myelin and muscle fibres here, and :mod:`simulator.ncs` and :mod:`simulator.needle`
turn the state into findings in the same way for every class.

Shapes: motor and sensory arrays are ``(n, unit, side)`` with units in
:data:`simulator.protocols.MOTOR_UNITS` / :data:`~simulator.protocols.SENSORY_UNITS` order and
side 0 = L, 1 = R; segment arrays add a last axis for the proximal segments (1 and 2);
muscle arrays are ``(n, muscle, side)`` in :data:`features.vocab.MUSCLES` order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

N_MOTOR = 5
N_SENSORY = 5
N_SEGMENTS = 2

#: how two effects on the same field combine
_RULES: dict[str, str] = {
    # motor nerve (n, 5, 2)
    "cmap": "mul",  # CMAP amplitude factor (axon loss)
    "dml": "mul",  # distal motor latency factor
    "dml_add_ms": "add",  # additive distal latency (entrapment at the wrist)
    "cv": "mul",  # conduction velocity factor, all segments
    "dur": "mul",  # distal CMAP negative-peak duration factor
    "f_lat": "mul",  # minimal F latency factor
    "f_pers": "mul",  # F persistence factor
    "f_absent": "or",
    # segments (n, 5, 2, 2)
    "cb": "union",  # amplitude drop fraction across the segment (conduction block)
    "td": "add",  # duration increase fraction across the segment (temporal dispersion)
    "seg_cv": "mul",  # extra CV factor of one segment (focal slowing: entrapment, CIDP)
    # sensory (n, 5, 2)
    "snap": "mul",  # SNAP amplitude factor
    "slat": "mul",  # sensory latency factor (slowing)
    "slat_add_ms": "add",
    "s_absent": "or",
    # muscles (n, 39, 2)
    "loss": "union",  # fraction of motor units lost
    "block": "union",  # fraction of motor units blocked (recruitment only)
    "reinn": "max",  # chronic reinnervation (0-1): long, large units
    "fib": "max",  # fibrillation/PSW level (0 = none, ~1-4 = grade)
    "fasc": "max",  # fasciculation level
    "myo": "max",  # myopathic fibre loss (0-1): short, small, polyphasic units
    "pseudo": "max",  # share of large pseudo-neurogenic units (IBM)
    "unstable": "max",  # probability that MUAPs are unstable
    "crd": "max",  # complex repetitive discharge level
    "myotonia": "max",  # myotonic discharge level
    "umn": "max",  # probability of reduced activation (upper motor neuron / effort)
}
_IDENTITY: dict[str, float] = {"mul": 1.0, "add": 0.0, "or": 0.0, "union": 0.0, "max": 0.0}


@dataclass(frozen=True)
class Latent:
    """Latent state of ``n`` studies (see the module docstring for shapes and meanings)."""

    cmap: np.ndarray
    dml: np.ndarray
    dml_add_ms: np.ndarray
    cv: np.ndarray
    dur: np.ndarray
    f_lat: np.ndarray
    f_pers: np.ndarray
    f_absent: np.ndarray
    cb: np.ndarray
    td: np.ndarray
    seg_cv: np.ndarray
    snap: np.ndarray
    slat: np.ndarray
    slat_add_ms: np.ndarray
    s_absent: np.ndarray
    loss: np.ndarray
    block: np.ndarray
    reinn: np.ndarray
    fib: np.ndarray
    fasc: np.ndarray
    myo: np.ndarray
    pseudo: np.ndarray
    unstable: np.ndarray
    crd: np.ndarray
    myotonia: np.ndarray
    umn: np.ndarray

    @staticmethod
    def identity(n: int, n_muscles: int) -> Latent:
        """A healthy state for ``n`` studies."""
        shapes = {
            "motor": (n, N_MOTOR, 2),
            "segment": (n, N_MOTOR, 2, N_SEGMENTS),
            "sensory": (n, N_SENSORY, 2),
            "muscle": (n, n_muscles, 2),
        }
        kind = {
            "cb": "segment",
            "seg_cv": "segment",
            "td": "segment",
            "snap": "sensory",
            "slat": "sensory",
            "slat_add_ms": "sensory",
            "s_absent": "sensory",
        }
        arrays = {}
        for f in fields(Latent):
            k = kind.get(f.name, "muscle" if _is_muscle(f.name) else "motor")
            rule = _RULES[f.name]
            dtype = bool if rule == "or" else (np.float32 if k == "muscle" else np.float64)
            arrays[f.name] = np.full(shapes[k], _IDENTITY[rule], dtype=dtype)
        return Latent(**arrays)

    def combine(self, other: Latent) -> Latent:
        """Return a new state with both sets of effects (same shapes)."""
        out = {}
        for f in fields(Latent):
            a, b = getattr(self, f.name), getattr(other, f.name)
            rule = _RULES[f.name]
            if rule == "mul":
                out[f.name] = a * b
            elif rule == "add":
                out[f.name] = a + b
            elif rule == "or":
                out[f.name] = a | b
            elif rule == "union":
                out[f.name] = 1.0 - (1.0 - a) * (1.0 - b)
            else:
                out[f.name] = np.maximum(a, b)
        return Latent(**out)

    def scatter(self, idx: np.ndarray, sub: Latent) -> Latent:
        """Return a new state where rows ``idx`` are combined with ``sub`` (one row per index)."""
        if idx.size == 0:
            return self
        merged = self.take(idx).combine(sub)
        out = {}
        for f in fields(Latent):
            arr = getattr(self, f.name).copy()
            arr[idx] = getattr(merged, f.name)
            out[f.name] = arr
        return replace(self, **out)

    def take(self, idx: np.ndarray) -> Latent:
        """Rows ``idx`` as a new state."""
        return Latent(**{f.name: getattr(self, f.name)[idx] for f in fields(Latent)})


def _is_muscle(name: str) -> bool:
    return name in {
        "loss",
        "block",
        "reinn",
        "fib",
        "fasc",
        "myo",
        "pseudo",
        "unstable",
        "crd",
        "myotonia",
        "umn",
    }
