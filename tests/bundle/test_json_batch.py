"""Several JSON documents validated at once give exactly each document's own validation."""

from __future__ import annotations

import json
import random
from typing import Any

import pandas as pd
import pytest

from bundle.json_form import load_study_documents, load_study_json, parse_json
from bundle.limits import DEFAULT_LIMITS
from tests.bundle import corrupt, fuzzing


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return fuzzing.base_document(fuzzing.base_files(4, 7))


def _same(batch: list, alone: list) -> None:
    assert len(batch) == len(alone)
    for (b_bundle, b_report), (a_bundle, a_report) in zip(batch, alone, strict=True):
        assert b_report == a_report
        for table in ("studies", "ncs", "emg"):
            pd.testing.assert_frame_equal(
                getattr(b_bundle, table).reset_index(drop=True),
                getattr(a_bundle, table).reset_index(drop=True),
                check_dtype=False,
                check_categorical=False,
            )


def _variant(base: dict[str, Any], study_id: str, **changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(base))
    doc["study_id"] = study_id
    for path, value in changes.items():
        table, _, rest = path.partition("__")
        if rest:
            row, _, key = rest.partition("__")
            doc[table][int(row)][key] = value
        else:
            doc[table] = value
    return doc


def test_valid_and_invalid_studies_validate_alike(base) -> None:
    docs = [
        _variant(base, "b-ok-1"),
        _variant(base, "b-age", age_years=500),
        _variant(base, "b-amp", ncs__0__amplitude="abc"),
        _variant(base, "b-muscle", emg__0__muscle="not_a_muscle"),
        _variant(base, "b-fibs", emg__0__fibs=7),
        _variant(base, "b-mismatch", ncs__0__study_id="other"),
        _variant(base, "b-ok-1"),  # the same study_id again: validated on its own
        _variant(base, "b extra", age_years=50),  # a malformed id: on its own
        {**_variant(base, "b-extra-key"), "notes": "x"},  # a field outside the contract
        [_variant(base, "b-list-1"), _variant(base, "b-list-2")],  # a list: on its own
        "not a study",
        _variant(base, "b-ok-2"),
    ]
    _same(
        load_study_documents(docs, "request.json"),
        [load_study_json(d, "request.json") for d in docs],
    )


@pytest.mark.parametrize("seed", range(10))
def test_hostile_documents_validate_alike(base, seed: int) -> None:
    rng = random.Random(seed)
    docs: list[Any] = []
    for i in range(25):
        doc, err = parse_json(
            corrupt.hostile_json(base, rng).files["study.json"], "r", DEFAULT_LIMITS
        )
        if err is not None:
            continue
        if isinstance(doc, dict) and doc.get("study_id") == base["study_id"]:
            doc["study_id"] = f"h{seed}-{i}"  # distinct ids, so most join the batch
        docs.append(doc)
    docs.append(_variant(base, f"ok-{seed}"))
    _same(load_study_documents(docs, "r.json"), [load_study_json(d, "r.json") for d in docs])
