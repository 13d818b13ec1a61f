"""Shared fixtures of the model tests: one tiny trained model per session (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bundle.tables import Bundle
from tests.helpers.tiny import labels_for, make_tiny_cohort, save_tiny_model

TINY_STUDIES = 600
TINY_SEED = 0


@pytest.fixture(scope="session")
def tiny_training_cohort() -> tuple[Bundle, pd.DataFrame]:
    """The bundle and feature table the tiny model is trained on (held-in data)."""
    return make_tiny_cohort(TINY_STUDIES, TINY_SEED)


@pytest.fixture(scope="session")
def tiny_model_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_training_cohort: tuple[Bundle, pd.DataFrame]
) -> Path:
    """A saved-model directory per the contract, trained on 600 simulated studies (seed 0).

    The same as ``tests.helpers.tiny.make_tiny_model(dir, 600, 0)``, reusing the cohort fixture.
    """
    bundle, X = tiny_training_cohort
    out = tmp_path_factory.mktemp("tiny") / "model"
    return save_tiny_model(X, labels_for(bundle, X), out, seed=TINY_SEED)


@pytest.fixture(scope="session")
def fresh_cohort() -> tuple[Bundle, pd.DataFrame]:
    """A small simulated cohort the tiny model has not seen (seed 1)."""
    return make_tiny_cohort(120, 1)
