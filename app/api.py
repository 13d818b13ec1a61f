"""The JSON API: ``GET /api/health``, ``POST /api/predict`` (the contract's JSON output) and
``GET /api/studies/{study_id}/fhir`` (a loaded study's report as HL7 FHIR R4B, docs/fhir.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter

from app.uploads import parse_json_bytes, problem
from bundle.problems import Problem
from bundle.tables import Bundle
from models.prediction import StudyPrediction
from models.service import PredictionResult, RejectedStudy

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["api"])
#: the name of a posted document in its problems
SOURCE = "request.json"


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


@dataclass(frozen=True)
class PredictResponse:
    """Predictions of the valid posted studies, the rejected ones, and the decision-support statement.

    The domain objects themselves (:class:`models.prediction.StudyPrediction`,
    :class:`models.service.RejectedStudy`, :class:`bundle.problems.Problem`): FastAPI derives
    the schema from them, so there is no second copy of their fields to keep in step.
    """

    predictions: list[StudyPrediction]
    rejected: list[RejectedStudy]
    warnings: list[Problem]
    disclaimer: str


@dataclass(frozen=True)
class ErrorResponse:
    """Errors with the same row/column detail as ``emgdx validate``."""

    errors: list[Problem]


#: serialises a response in one pass (no second validation of objects the service built)
_RESPONSE = TypeAdapter(PredictResponse)


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
async def predict(
    request: Request, top_k: Annotated[int | None, Query(ge=1, le=50)] = None
) -> Response:
    """Predict and explain one study (or a list) given in the contract's JSON form."""
    state = request.app.state.emgdx
    if state.predictor is None:
        return JSONResponse(
            {"errors": [problem("(model)", state.model_error or "No model loaded.")]}, 503
        )
    limits = state.settings.read_limits()
    doc, err = parse_json_bytes(await request.body(), SOURCE, limits)
    if err is not None:
        return JSONResponse({"errors": [err]}, 413 if err.get("kind") == "too_large" else 422)
    k = top_k or state.settings.top_k
    future = state.batcher.submit(doc, top_k=k, limits=limits)
    return _response(state, await asyncio.wrap_future(future))


def _response(state: Any, result: PredictionResult) -> Response:
    """The answer to one posted document, by the policy of :mod:`models.service`.

    Shared with ``emgdx predict``, the upload page and the pyfunc: every valid study is
    predicted, every other one is listed under ``rejected`` with its problems. 422 only when
    no study is valid, 413 when the document holds more studies than allowed.
    """
    if any(p.kind == "too_large" for p in result.errors):
        log.info("predict refused: over a size limit")
        return JSONResponse({"errors": _dicts(result.errors)}, 413)
    if not result.predictions:
        errors = _dicts(result.errors) or [problem(SOURCE, "No study found in the document.")]
        log.info("predict rejected: %d errors", len(errors))
        return JSONResponse({"errors": errors}, 422)
    log.info("predict: %d studies, %d rejected", len(result.predictions), len(result.rejected))
    body = PredictResponse(result.predictions, result.rejected, result.warnings, state.disclaimer)
    return Response(_RESPONSE.dump_json(body), media_type="application/json")


FHIR_MEDIA_TYPE = "application/fhir+json"


@router.get(
    "/studies/{study_id}/fhir",
    responses={
        200: {
            "content": {FHIR_MEDIA_TYPE: {}},
            "description": "A FHIR R4B Bundle: the DiagnosticReport and its Observations",
        },
        404: {"model": ErrorResponse, "description": "No loaded study has this id"},
        422: {"model": ErrorResponse, "description": "The study is invalid: not predicted"},
        503: {"model": ErrorResponse, "description": "No model loaded, or not predicted yet"},
    },
)
def study_fhir(
    request: Request,
    study_id: Annotated[str, Path(max_length=64)],
    dataset: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """A loaded study's prediction and NCS findings as a FHIR DiagnosticReport (R4B Bundle).

    The study is looked up in the configured bundle and the uploads (``dataset`` picks one by
    its key when a study id is in several; otherwise the first that holds it, uploads first).
    """
    from models.fhir import fhir_report

    state = request.app.state.emgdx
    found = [
        ds
        for ds in state.store.datasets()
        if (dataset is None or ds.key == dataset) and ds.has(study_id)
    ]
    if not found:
        return JSONResponse({"errors": [problem("(study)", "No loaded study has this id.")]}, 404)
    ds = found[0]
    if study_id in ds.invalid_ids:
        return JSONResponse({"errors": ds.problems_of(study_id)}, 422)
    pred = ds.predictions.get(study_id)
    if pred is None:
        message = state.model_error or "The study has not been predicted yet."
        return JSONResponse({"errors": [problem("(model)", message)]}, 503)
    ncs, _ = ds.ncs_of(study_id)
    emg, _ = ds.emg_of(study_id)
    studies = ds.bundle.studies.iloc[[ds.study_ids.index(study_id)]]
    doc = fhir_report(pred, Bundle(studies, ncs, emg))
    log.info("fhir export: 1 study, %d resources", len(doc.get("entry", [])))
    return Response(json.dumps(doc, ensure_ascii=False), media_type=FHIR_MEDIA_TYPE)


def _dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems in the JSON form of ``emgdx validate --report``."""
    return [p.to_dict() for p in problems]
