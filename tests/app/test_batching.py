"""Micro-batched API predictions equal one service call per request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.batching import PredictionBatcher
from bundle.limits import DEFAULT_LIMITS
from models.predictor import Predictor
from models.service import predict_documents


def test_batched_requests_get_their_own_results(
    tiny_model_dir: Path, example_study: dict[str, Any]
) -> None:
    predictor = Predictor.load(tiny_model_dir)
    bad = {**json.loads(json.dumps(example_study)), "study_id": "batch-bad", "age_years": 500}
    other = {**json.loads(json.dumps(example_study)), "study_id": "batch-2"}
    documents = [example_study, bad, example_study, [other, bad], "not a study", other]
    batcher = PredictionBatcher(predictor, source="request.json", max_batch=32)
    try:
        futures = [batcher.submit(d, top_k=4, limits=DEFAULT_LIMITS) for d in documents]
        batched = [f.result(timeout=120) for f in futures]
    finally:
        batcher.close()
    alone = [predict_documents(predictor, d, top_k=4, source="request.json") for d in documents]
    assert batched == alone
    assert [len(r.predictions) for r in batched] == [1, 0, 1, 1, 0, 1]
