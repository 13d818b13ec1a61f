"""The JSON API: ``GET /api/health`` and ``POST /api/predict`` (the contract's JSON output)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.uploads import load_json_document, parse_json_bytes, problem

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["api"])


class Health(BaseModel):
    """Liveness and the loaded model."""

    status: str = "ok"
    model_loaded: bool
    model_name: str | None = None
    model_version: str | None = None
    model_source: str | None = None
    message: str | None = None
    bundle_loaded: bool = False
    studies: int = 0


class ContributionOut(BaseModel):
    """One finding of the explanation (see ``models.prediction.Contribution``)."""

    feature: str
    label: str
    group: str
    value: float | None
    value_text: str
    limit_text: str
    shap: float = Field(description="SHAP contribution in log-odds of the explained class")
    sentence: str


class PredictionOut(BaseModel):
    """The contract's prediction for one study (see ``models.prediction.StudyPrediction``)."""

    study_id: str
    diagnosis: str
    probabilities: dict[str, float]
    pattern: str
    pattern_probability: float
    explanation: list[ContributionOut]
    model_name: str
    model_version: str
    low_confidence: bool
    unlike_training_data: bool
    flag_reasons: list[str] = []
    runner_up: str | None = None
    runner_up_explanation: list[ContributionOut] = []
    base_value: float | None = None
    group_contributions: dict[str, float] = {}
    guideline: dict[str, Any] = {}
    limitations: list[str] = Field(
        default=[], description="what the study cannot show because it was not examined"
    )


class ProblemOut(BaseModel):
    """One validation problem, as ``emgdx validate`` reports it."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    expected: str | None = None
    cause: str | None = None
    study_id: str | None = None
    severity: str = "error"
    kind: str | None = None


class RejectedOut(BaseModel):
    """A posted study that was not predicted, with the problems that say why.

    ``study_id`` is None for an error that belongs to no study (a study without identifier).
    """

    study_id: str | None = None
    problems: list[ProblemOut]


class PredictResponse(BaseModel):
    """Predictions of the valid posted studies, the rejected ones, and the decision-support statement."""

    predictions: list[PredictionOut]
    rejected: list[RejectedOut] = Field(
        default=[], description="studies of the document that were not predicted, with why"
    )
    warnings: list[ProblemOut] = []
    disclaimer: str


class ErrorResponse(BaseModel):
    """Errors with the same row/column detail as ``emgdx validate``."""

    errors: list[ProblemOut]


_STUDY_EXAMPLE = {
    "study_id": "demo-001",
    "age_years": 61,
    "sex": "M",
    "ncs": [
        {
            "nerve": "median",
            "side": "R",
            "kind": "motor",
            "stim_site": "wrist",
            "latency_ms": 4.1,
            "amplitude": 2.1,
        },
        {
            "nerve": "sural",
            "side": "R",
            "kind": "sensory",
            "stim_site": "calf",
            "latency_ms": 3.9,
            "amplitude": 9.0,
        },
    ],
    "emg": [
        {
            "muscle": "first_dorsal_interosseous",
            "side": "R",
            "fibs": 2,
            "psw": 2,
            "recruitment": "reduced",
        }
    ],
}


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Liveness plus whether a model is loaded (and which)."""
    state = request.app.state.emgdx
    p = state.predictor
    return Health(
        model_loaded=p is not None,
        model_name=getattr(p, "name", None),
        model_version=getattr(p, "version", None),
        model_source=state.model_source,
        message=state.model_error,
        bundle_loaded=state.bundle_ready.is_set(),
        studies=sum(len(d.study_ids) for d in state.store.datasets()),
    )


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses={
        413: {
            "model": ErrorResponse,
            "description": "Body larger than the upload limit, or more studies than allowed",
        },
        422: {"model": ErrorResponse, "description": "No valid study: the errors, row by row"},
        503: {"model": ErrorResponse, "description": "No model loaded"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "description": "One study in the contract's JSON form (study fields plus "
                        "'ncs' and 'emg' arrays), or a list of them.",
                        "oneOf": [
                            {"type": "object"},
                            {"type": "array", "items": {"type": "object"}},
                        ],
                    },
                    "example": _STUDY_EXAMPLE,
                }
            },
        }
    },
)
async def predict(request: Request, top_k: Annotated[int | None, Query(ge=1, le=50)] = None) -> Any:
    """Predict and explain one study (or a list) given in the contract's JSON form."""
    state = request.app.state.emgdx
    if state.predictor is None:
        return JSONResponse(
            {"errors": [problem("(model)", state.model_error or "No model loaded.")]}, 503
        )
    limits = state.settings.read_limits()
    doc, err = parse_json_bytes(await request.body(), "request.json", limits)
    if err is not None:
        return JSONResponse({"errors": [err]}, 413 if err.get("kind") == "too_large" else 422)
    k = top_k or state.settings.top_k
    return await run_in_threadpool(_predict_document, state, doc, k, limits)


def _predict_document(state: Any, doc: Any, top_k: int, limits: Any) -> Any:
    """Validate and predict the valid studies; list the rejected (runs in the thread pool).

    The policy of ``emgdx predict`` and the upload page: every valid study is predicted, every
    other one is listed under ``rejected`` with its problems. 422 only when no study is valid,
    413 when the document holds more studies than allowed.
    """
    result = load_json_document(doc, "request.json", limits)
    valid = result.valid
    if result.too_large:
        log.info("predict refused: over a size limit")
        return JSONResponse({"errors": result.errors}, 413)
    if valid is None or not valid.study_ids:
        errors = result.errors or [problem("request.json", "No study found in the document.")]
        log.info("predict rejected: %d errors", len(errors))
        return JSONResponse({"errors": errors}, 422)
    predictions = state.predictor.predict_bundle(valid, top_k=top_k)
    rejected = result.rejected()
    log.info("predict: %d studies, %d rejected", len(predictions), len(rejected))
    warnings = [
        p
        for p in result.problems
        if p.get("severity") == "warning" and p.get("study_id") not in result.invalid_ids
    ]
    return {
        "predictions": [p.to_dict() for p in predictions],
        "rejected": rejected,
        "warnings": warnings,
        "disclaimer": state.disclaimer,
    }
