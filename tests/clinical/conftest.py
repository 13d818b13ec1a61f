"""Fixtures of the clinical tests: the vignettes and a model trained the way ``make run`` trains.

``clinical_model_dir`` is ``data/model`` when the pipeline's model is present and up to date
with the committed ``dvc.lock`` (a developer's checkout after ``make run``); otherwise (a fresh
CI clone) the pipeline stages are run once per session, on the committed ``params.yaml``, in a
temporary project (``tests.helpers.pipeline.train_pipeline_model``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bundle.tables import Bundle
from models.clinical import CLINICAL_DIR, Expectation, load_expectations, load_vignettes
from models.predictor import Predictor
from tests.helpers.pipeline import pipeline_model_dir


@pytest.fixture(scope="session")
def clinical_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory trained like ``make run`` (reused from ``data/model`` when current)."""
    return pipeline_model_dir(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="session")
def clinical_predictor(clinical_model_dir: Path) -> Predictor:
    """The loaded pipeline model."""
    return Predictor.from_dir(clinical_model_dir)


@pytest.fixture(scope="session")
def vignettes() -> Bundle:
    """The 48 textbook vignettes (``clinical/vignettes``), validated and normalised."""
    return load_vignettes(CLINICAL_DIR / "vignettes")


@pytest.fixture(scope="session")
def expectations() -> dict[str, Expectation]:
    """``clinical/expectations.csv`` parsed, by study_id."""
    return load_expectations(CLINICAL_DIR / "expectations.csv")


#: clinical tests the current model does not yet pass (issue 8 stays open for them); each is
#: run and reported as XFAIL, and turns XPASS by itself when the physiology is fixed
KNOWN_FAILURES = Path(__file__).with_name("known_failures.txt")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the listed known failures xfail (non-strict), so the yardstick stays visible."""
    if not KNOWN_FAILURES.is_file():
        return
    known = {
        line.split("#")[0].strip()
        for line in KNOWN_FAILURES.read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip()
    }
    for item in items:
        if item.name in known or item.nodeid.split("::", 1)[-1] in known:
            item.add_marker(
                pytest.mark.xfail(reason="known clinical failure (issue 8)", strict=False)
            )
