"""The prediction service: one policy for valid, invalid and anonymous studies; micro-batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundle.json_form import load_study_json, study_to_json
from models.predictor import Predictor
from models.service import predict_documents, predict_many, predict_validated, rejected_studies


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: Path) -> Predictor:
    return Predictor.load(tiny_model_dir)


@pytest.fixture(scope="module")
def documents(fresh_cohort) -> list[dict]:
    bundle, _ = fresh_cohort
    return [study_to_json(bundle, s) for s in bundle.study_ids[:4]]


def test_invalid_and_anonymous_studies_are_rejected_the_rest_predicted(
    predictor, documents
) -> None:
    bad = {**json.loads(json.dumps(documents[1])), "study_id": "svc-bad", "age_years": 500}
    anonymous = {k: v for k, v in documents[2].items() if k != "study_id"}
    result = predict_documents(predictor, [documents[0], bad, anonymous, documents[3]], top_k=3)
    assert [p.study_id for p in result.predictions] == [
        documents[0]["study_id"],
        documents[3]["study_id"],
    ]
    ids = result.rejected_ids
    assert ids[0] == "svc-bad"
    assert None in ids  # the study without an identifier is accounted for
    (bad_entry,) = [r for r in result.rejected if r.study_id == "svc-bad"]
    assert any(p.column == "age_years" and p.kind == "out_of_range" for p in bad_entry.problems)
    assert all(p.severity == "error" for p in result.errors)


def test_rejected_studies_lists_errors_of_no_study_with_every_study(predictor, documents) -> None:
    anonymous = {k: v for k, v in documents[0].items() if k != "study_id"}
    bad = {**documents[1], "study_id": "svc-bad-2", "age_years": -3}
    _, report = load_study_json([anonymous, bad], source="t.json")
    rejected = rejected_studies(report)
    general = [p for p in report.errors if p.study_id is None]
    assert general
    (study,) = [r for r in rejected if r.study_id == "svc-bad-2"]
    assert study.problems[-len(general) :] == general
    assert [r.problems for r in rejected if r.study_id is None] == [[p] for p in general]


def test_a_micro_batch_equals_one_call_per_input(predictor, documents) -> None:
    same_id_twice = [documents[0], documents[0]]  # study_ids recur across requests
    inputs = [load_study_json(d, source="r.json") for d in [*same_id_twice, documents[1:3]]]
    batched = predict_many(predictor, inputs, top_k=4)
    for (bundle, report), got in zip(inputs, batched, strict=True):
        alone = predict_validated(predictor, bundle, report, top_k=4)
        assert got == alone


def test_a_micro_batch_keeps_each_inputs_rejects(predictor, documents) -> None:
    bad = {**documents[1], "study_id": "svc-bad-3", "age_years": 500}
    inputs = [load_study_json(d, source="r.json") for d in (documents[0], bad, [bad, documents[2]])]
    first, only_bad, mixed = predict_many(predictor, inputs, top_k=2)
    assert first.rejected == []
    assert len(first.predictions) == 1
    assert only_bad.predictions == []
    assert only_bad.rejected_ids == ["svc-bad-3"]
    assert [p.study_id for p in mixed.predictions] == [documents[2]["study_id"]]
    assert mixed.rejected_ids == ["svc-bad-3"]
