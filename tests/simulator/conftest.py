"""Shared simulated cohorts for the simulator tests (built once per session)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bundle.tables import Bundle
from features.limits import ncs_limits
from features.vocab import CLASSES
from simulator import diseases
from simulator.cohort import simulate_cohort
from simulator.parameters import SimulatorParams
from simulator.patients import draw_subjects
from simulator.physiology import study_physiology


@pytest.fixture(scope="session")
def sim_cohort() -> Bundle:
    """4,000 studies, default class mix, no label noise (so the labels are the truth)."""
    return simulate_cohort(4000, 20261122, SimulatorParams(label_noise=0.0))


@pytest.fixture(scope="session")
def sim_ncs(sim_cohort: Bundle) -> pd.DataFrame:
    """NCS rows with the patient's reference limits and the true diagnosis attached."""
    ncs = sim_cohort.ncs.reset_index(drop=True)
    limits = ncs_limits(ncs, sim_cohort.studies).reset_index(drop=True)
    out = pd.concat([ncs, limits], axis=1)
    studies = sim_cohort.studies.set_index("study_id")
    out["dx"] = out["study_id"].map(studies["diagnosis"])
    out["age"] = out["study_id"].map(studies["age_years"])
    return out


@pytest.fixture(scope="session")
def sim_emg(sim_cohort: Bundle) -> pd.DataFrame:
    """EMG rows with the true diagnosis attached."""
    emg = sim_cohort.emg.copy()
    emg["dx"] = emg["study_id"].map(sim_cohort.studies.set_index("study_id")["diagnosis"])
    return emg


def make_context(
    n: int,
    seed: int,
    dx: str,
    subtype: str,
    age: float | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> tuple[diseases.Context, np.ndarray]:
    """A disease-process context for ``n`` studies of one class and subtype (for latent tests).

    Returns the context and the subtype array; ``age`` fixes every subject's age.
    """
    from simulator import cohort

    rng = np.random.default_rng(seed)
    params = SimulatorParams()
    ref = cohort._reference(params, seed)
    dx_arr = np.full(n, CLASSES.index(dx))
    sub_arr = np.full(n, subtype, dtype=object)
    subj = draw_subjects(dx_arr, sub_arr, np.ones(n, dtype=bool), 0.1, 0.55, rng)
    if age is not None:
        subj = replace(subj, age_years=np.full(n, float(age)))
    _, phys, _ = study_physiology(seed, 0, n, 500, span)
    index_side = rng.integers(0, 2, n)
    ctx = cohort._context(subj, ref, index_side, rng.random((n, 8)), phys)
    return ctx, sub_arr
