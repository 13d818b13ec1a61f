"""The clinicians' pages: study list, study page, upload (thin handlers, server-rendered)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import check_csrf_if_signed_in
from app.store import build_dataset
from app.uploads import LoadResult, load_saved_files, save_upload
from app.views import FLAG_FILTERS, list_rows, report_header, study_context
from features.vocab import CLASS_LABELS, CLASSES

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
#: file-name endings kept on the saved copy (the loaders dispatch on them)
SAFE_SUFFIXES = frozenset({".json", ".zip", ".csv", ".parquet"})


def _state(request: Request) -> Any:
    return request.app.state.emgdx


#: how the footer states the class prevalence the probabilities assume (docs/confidence.md)
PRIOR_TEXT: dict[str, str] = {
    "training": "Probabilities assume the class mix the model was trained on.",
    "general_lab": "Probabilities are restated for a general EMG lab's referral mix "
    "(about 80 % normal studies).",
}


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render ``template`` with the context every page needs (model, disclaimer)."""
    from app.auth import csrf_token, current_user

    state = _state(request)
    predictor = state.predictor
    base = {
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "model_name": getattr(predictor, "name", None),
        "model_version": getattr(predictor, "version", None),
        "prior_text": PRIOR_TEXT.get(getattr(predictor, "prior", "training"), ""),
        "model_error": state.model_error,
        "bundle_error": state.bundle_error,
        "bundle_loading": not state.bundle_ready.is_set(),
        "bundle_progress": state.bundle_progress,
        "disclaimer": state.disclaimer,
        "class_labels": CLASS_LABELS,
        "max_upload": _size_text(state.settings.max_upload_bytes),
    }
    return state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def _size_text(n_bytes: int) -> str:
    """A byte count for people: "20 MB", "195 KB"."""
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / 1024 / 1024:.0f} MB"
    return f"{max(n_bytes // 1024, 1)} KB"


@router.get("/", response_class=HTMLResponse)
def study_list(
    request: Request,
    diagnosis: Annotated[str, Query(max_length=40)] = "",
    flag: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The study list: every study of the configured bundle and the uploads, with filters."""
    state = _state(request)
    diagnosis = diagnosis if diagnosis in CLASSES else ""
    flag = flag if flag in FLAG_FILTERS else ""
    rows = list_rows(state.store, diagnosis, flag, q)
    size = state.settings.page_size
    pages = max(1, -(-len(rows) // size))
    page = min(page, pages)
    return render(
        request,
        "index.html",
        {
            "rows": rows[(page - 1) * size : page * size],
            "n_rows": len(rows),
            "page": page,
            "pages": pages,
            "filters": {"diagnosis": diagnosis, "flag": flag, "q": q},
            "classes": CLASSES,
            "flag_filters": FLAG_FILTERS,
            "datasets": state.store.datasets(),
        },
    )


@router.get("/study/{key}/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, key: str, study_id: str) -> Response:
    """One study: tables with abnormal values highlighted, prediction, explanation, guideline."""
    ds = _state(request).store.get(key)
    if ds is None or not ds.has(study_id):
        raise HTTPException(
            404, "This study is not loaded (uploads are kept for the session only)."
        )
    from app.verdicts import form_context, history_of

    context = {**study_context(ds, study_id), **form_context(request)}
    context.update(dataset_key=key, verdicts=history_of(request, study_id))
    return render(request, "study.html", context)


def _report_context(request: Request, key: str, study_id: str) -> dict[str, Any]:
    ds = _state(request).store.get(key)
    if ds is None or not ds.has(study_id):
        raise HTTPException(
            404, "This study is not loaded (uploads are kept for the session only)."
        )
    return {**study_context(ds, study_id), "header": report_header(ds, study_id)}


@router.get("/study/{key}/{study_id}/report", response_class=HTMLResponse)
def report_page(request: Request, key: str, study_id: str) -> Response:
    """The printable EMG report: header, tables with limits, impression, then the model."""
    return render(request, "report.html", _report_context(request, key, study_id))


@router.get("/study/{key}/{study_id}/report.pdf")
def report_pdf(request: Request, key: str, study_id: str) -> Response:
    """The EMG report as a PDF (headless Chromium on the server, see :mod:`app.pdf`)."""
    from markupsafe import Markup

    from app.pdf import PdfUnavailable, html_to_pdf

    static = Path(__file__).parent / "static"
    css = (static / "style.css").read_text() + "\n@media print {\n"
    css += (static / "print.css").read_text() + "\n}\n"
    context = {**_report_context(request, key, study_id), "inline_css": Markup(css)}
    html = render(request, "report.html", context).body
    try:
        pdf = html_to_pdf(bytes(html).decode("utf-8"))
    except PdfUnavailable as e:
        raise HTTPException(503, str(e)) from None
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in study_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="report-{name}.pdf"'},
    )


@router.get("/studies/{study_id}/report.pdf")
def report_pdf_by_id(request: Request, study_id: str) -> Response:
    """The PDF report of the first loaded dataset holding ``study_id``."""
    for ds in _state(request).store.datasets():
        if ds.has(study_id):
            return report_pdf(request, ds.key, study_id)
    raise HTTPException(404, "This study is not loaded (uploads are kept for the session only).")


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request) -> Response:
    """The upload form on its own page."""
    return render(request, "upload.html", {"result": None, "dataset": None})


@router.post(
    "/upload", response_class=HTMLResponse, dependencies=[Depends(check_csrf_if_signed_in)]
)
async def upload(request: Request, files: Annotated[list[UploadFile], File()]) -> Response:
    """Validate an uploaded bundle or study JSON, predict its valid studies, show problems row by row."""
    state = _state(request)
    limit = state.settings.max_upload_bytes
    names = [Path((f.filename or "upload").replace("\\", "/")).name or "upload" for f in files]
    with tempfile.TemporaryDirectory(prefix="emgdx-upload-") as tmp:
        budget = limit
        saved = []
        for i, (f, name) in enumerate(zip(files, names, strict=True)):
            suffix = Path(name).suffix.lower()
            dest = Path(tmp) / f"part{i}{suffix if suffix in SAFE_SUFFIXES else ''}"
            budget -= await save_upload(f, dest, budget, limit)
            saved.append((name, dest))
        result: LoadResult = await run_in_threadpool(
            load_saved_files, saved, Path(tmp), state.settings.read_limits()
        )
    dataset = None
    if result.bundle is not None and result.bundle.study_ids:
        key = state.store.next_upload_key()
        dataset = await asyncio.get_running_loop().run_in_executor(
            state.executor,
            build_dataset,
            key,
            ", ".join(names),
            result,
            state.predictor,
            state.settings.top_k,
        )
        state.store.add(dataset)
    n_valid = 0 if dataset is None else len(dataset.study_ids) - len(dataset.invalid_ids)
    log.info(
        "upload: %d files, %d problems, %d valid studies", len(files), len(result.problems), n_valid
    )
    status = 413 if result.too_large else 200 if n_valid else 422
    return render(
        request,
        "upload.html",
        {"result": result, "dataset": dataset, "n_valid": n_valid, "file_names": names},
        status_code=status,
    )
