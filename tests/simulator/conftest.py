"""Shared simulated cohorts for the simulator tests (built once per session)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.bundle import Bundle
from features.limits import ncs_limits
from simulator.cohort import simulate_cohort
from simulator.parameters import SimulatorParams


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
