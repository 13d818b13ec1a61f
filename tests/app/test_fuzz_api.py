"""Fuzz the web boundary: hostile JSON to ``POST /api/predict`` and corrupted bundles to
``POST /upload`` answer 200, 413 or 422 (never 500), predict only studies with a valid id, and
log no planted value."""

from __future__ import annotations

import logging
import os
import random
import re
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bundle import corrupt, fuzzing

LONG = os.environ.get("EMGDX_FUZZ") == "1"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SETTINGS = {
    "deadline": None,
    "derandomize": not LONG,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


@cache
def _base() -> tuple[dict[str, bytes], dict]:
    files = fuzzing.base_files()
    return files, fuzzing.base_document(files)


def _check_response(r: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert r.status_code in (200, 413, 422), r.status_code
    assert corrupt.PLANTED not in " ".join(rec.getMessage() for rec in caplog.records)


@settings(max_examples=400 if LONG else 80, **_SETTINGS)
@given(seed=st.integers(0, 2**63))
def test_api_hostile_json(big_client: Any, caplog: pytest.LogCaptureFixture, seed: int) -> None:
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    case = corrupt.hostile_json(_base()[1], random.Random(seed))
    body = case.files["study.json"]
    r = big_client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    _check_response(r, caplog)
    if r.status_code == 200:
        out = r.json()
        predicted = [p["study_id"] for p in out["predictions"]]
        rejected = {x["study_id"] for x in out["rejected"]}
        assert all(_ID.fullmatch(s) for s in predicted)
        assert not rejected & set(predicted)
        assert all(x["problems"] for x in out["rejected"])


@settings(max_examples=300 if LONG else 60, **_SETTINGS)
@given(seed=st.integers(0, 2**63))
def test_upload_corrupted_bundles(
    big_client: Any, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    case = corrupt.corrupt_bundle(_base()[0], random.Random(seed))
    files = [
        ("files", (name, data, "application/octet-stream")) for name, data in case.files.items()
    ]
    r = big_client.post("/upload", files=files)
    _check_response(r, caplog)
