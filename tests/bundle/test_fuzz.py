"""Fuzz suite: corrupted bundles and hostile JSON documents through the loader (issue 9).

Invariants (:mod:`tests.bundle.fuzzing`): no uncaught exception; every study either predicted
or rejected with a reason; no prediction without a valid id; no problem message longer than the
cap; no planted value in a log line. The CI-sized run (``make test``) draws a few hundred cases
with a fixed derivation; ``make fuzz`` sets ``EMGDX_FUZZ=1`` for more, random ones (and then
runs the fixed corpus of ``python -m tests.bundle.fuzzing``).
"""

from __future__ import annotations

import os
import random
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bundle import corrupt, fuzzing

LONG = os.environ.get("EMGDX_FUZZ") == "1"
N_BUNDLES = 1200 if LONG else 500
N_JSON = 300 if LONG else 200
_SETTINGS = {
    "deadline": None,
    "derandomize": not LONG,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
}


@cache
def _base() -> tuple[dict[str, bytes], dict]:
    files = fuzzing.base_files()
    return files, fuzzing.base_document(files)


@cache
def _loader():  # noqa: ANN202
    return fuzzing.default_loader()


def _assert_ok(outcome: fuzzing.Outcome) -> None:
    assert outcome.crash is None, f"{outcome.name}: {outcome.crash}"
    assert not outcome.violations, f"{outcome.name}: {sorted(set(outcome.violations))}"


@settings(max_examples=N_BUNDLES, **_SETTINGS)
@given(seed=st.integers(0, 2**63))
def test_corrupted_bundles_keep_the_invariants(seed: int) -> None:
    files, _ = _base()
    _assert_ok(fuzzing.check(corrupt.corrupt_bundle(files, random.Random(seed)), _loader()))


@settings(max_examples=N_JSON, **_SETTINGS)
@given(seed=st.integers(0, 2**63))
def test_hostile_json_documents_keep_the_invariants(seed: int) -> None:
    _, doc = _base()
    _assert_ok(fuzzing.check(corrupt.hostile_json(doc, random.Random(seed)), _loader()))


def test_the_harness_sees_a_violation() -> None:
    """The invariants can fail: a loader that predicts an empty id is caught."""
    files, _ = _base()

    def careless(path):  # noqa: ANN001, ANN202
        b, r, _ = _loader()(path)
        return b, r, ["", *list(b.studies["study_id"].dropna())]

    outcome = fuzzing.check(corrupt.Case("plain", dict(files)), careless)
    assert "predicted a study without a valid id" in outcome.violations
