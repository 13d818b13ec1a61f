"""The FastAPI application: ``create_app(settings)`` wires the model, the studies and the routes.

The model is loaded once at start-up (lifespan) from ``settings.model``, else the registry
alias ``models:/emgdx@champion`` if a registry is there, else ``data/model``. When no model is
found the app still starts: every page says how to train one and ``POST /api/predict``
answers 503.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import LoginLimiter
from app.batching import PredictionBatcher
from app.db.session import Database
from app.settings import Settings
from app.store import PredictorLike, StudyStore, build_dataset
from app.uploads import UploadTooLargeError, problem

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DISCLAIMER = (
    "Decision support, not a diagnosis: the electrodiagnostic conclusion remains the "
    "responsibility of the examining clinician, who must review the raw study."
)
TRAIN_HINT = (
    "Train one with `make run`, or start the server with `--model <model dir or MLflow URI>`."
)


@dataclass
class AppState:
    """Everything the routes need, built once at start-up."""

    settings: Settings
    templates: Jinja2Templates
    store: StudyStore
    predictor: PredictorLike | None = None
    model_source: str | None = None
    model_error: str | None = None
    bundle_error: str | None = None
    #: set once the configured bundle is loaded (or failed, or there is none)
    bundle_ready: threading.Event = field(default_factory=threading.Event)
    #: studies of the configured bundle predicted so far and to predict (background progress)
    bundle_progress: tuple[int, int] | None = None
    disclaimer: str = DISCLAIMER
    extra: dict[str, Any] = field(default_factory=dict)
    #: where uploads are predicted (``settings.predict_concurrency`` threads; see ``Settings``)
    executor: ThreadPoolExecutor | None = None
    #: where ``POST /api/predict`` is predicted (concurrent requests share model calls)
    batcher: PredictionBatcher | None = None
    #: the verdicts database (``app.db``), migrated when the app is built
    db: Database | None = None
    #: failed sign-ins per user and address (``app.auth``)
    limiter: LoginLimiter = field(default_factory=LoginLimiter)


def load_predictor(settings: Settings) -> tuple[PredictorLike | None, str | None, str | None]:
    """Load the model once: ``settings.model``, else the registered champion, else ``data/model``.

    Returns
    -------
    (predictor, source, error)
        The predictor and where it came from, or ``None`` and a message saying what was tried
        and how to train a model.
    """
    from models.errors import ReportedError
    from models.predictor import ModelNotFoundError, Predictor

    try:
        predictor = (
            Predictor.load(settings.model)
            .with_prior(settings.prior)
            .with_threads(settings.threads_per_worker())
        )
    except ModelNotFoundError as exc:
        log.warning("no model loaded from %s", settings.model or "the default locations")
        return None, None, str(exc)
    except ReportedError:
        # a model that is there but wrong (artifact, feature mismatch) or a registry that cannot
        # be read: an error at start-up (`emgdx serve` exits 2 with the message), never a page
        # served by another model
        raise
    except (ValueError, OSError) as exc:
        log.warning("the model at %s could not be loaded: %s", settings.model, type(exc).__name__)
        return None, None, f"The model at {settings.model} could not be loaded: {exc}. {TRAIN_HINT}"
    source = predictor.source or settings.model
    log.info("model %s %s loaded from %s", predictor.name, predictor.version, source)
    return predictor, source, None


def _load_configured_bundle(state: AppState) -> None:
    """Load, validate and predict the configured bundle folder into the store (then set ready)."""
    try:
        _load_bundle_into(state)
    except Exception as exc:  # noqa: BLE001 — a background thread: report on the page, not silently
        log.error("the configured bundle could not be loaded: %s", type(exc).__name__)
        state.bundle_error = (
            f"The configured bundle could not be loaded: {type(exc).__name__}: {exc}"
        )
    finally:
        state.bundle_ready.set()


def _load_bundle_into(state: AppState) -> None:
    from app.uploads import load_bundle_path

    folder = state.settings.bundle_dir()
    if folder is None:
        return
    if not folder.exists():
        state.bundle_error = f"The configured bundle {folder} does not exist."
        log.warning("configured bundle folder is missing")
        return
    result = load_bundle_path(folder, folder.name)
    if result.bundle is None:
        state.bundle_error = "; ".join(p["cause"] for p in result.problems)
        return
    # list the studies at once (flags and limits, no predictions), then predict in the
    # background chunk by chunk: the list fills in with a progress count meanwhile
    dataset = build_dataset("bundle", f"bundle {folder.name}", result, None, state.settings.top_k)
    state.store.add(dataset)
    if state.predictor is not None and result.report is not None:
        predict_in_background_chunks(state, dataset, result)


def predict_in_background_chunks(state: AppState, dataset: Any, loaded: Any) -> None:
    """Predict a listed dataset chunk by chunk, publishing predictions and the progress count."""
    from bundle.load import valid_subset
    from models.service import CHUNK_STUDIES, rejected_studies

    predictor = state.predictor
    if predictor is None:
        return
    valid = valid_subset(loaded.bundle, loaded.report)
    ids = valid.study_ids
    state.bundle_progress = (0, len(ids))
    for start in range(0, len(ids), CHUNK_STUDIES):
        part = ids[start : start + CHUNK_STUDIES]
        chunk = valid if len(part) == len(ids) else valid.subset(part)
        for p in predictor.predict_bundle(chunk, top_k=state.settings.top_k):
            dataset.predictions[p.study_id] = p
        state.bundle_progress = (start + len(part), len(ids))
    dataset.rejected = rejected_studies(loaded.report)


class BodySizeLimit:
    """ASGI middleware: reject request bodies above ``limit`` bytes with 413.

    A declared ``Content-Length`` above the limit is refused before reading; a body streamed
    without one is counted and the read fails with :class:`UploadTooLargeError`.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = _too_large_response(scope["path"], UploadTooLargeError(self.limit))
            await response(scope, receive, send)
            return
        seen = 0
        exceeded = False
        replied = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise UploadTooLargeError(self.limit)
            return message

        async def guarded(message: Message) -> None:
            # whatever the app answers once the body ran over (FastAPI turns a failed form
            # parse into 400), the client gets the 413 that says why
            nonlocal replied
            if not exceeded:
                await send(message)
            elif not replied:
                replied = True
                response = _too_large_response(scope["path"], UploadTooLargeError(self.limit))
                await response(scope, receive, send)

        await self.app(scope, limited, guarded)


def _wants_json(path: str) -> bool:
    return path.startswith("/api/")


def _too_large_response(path: str, exc: UploadTooLargeError) -> Response:
    if _wants_json(path):
        return JSONResponse(
            {"errors": [problem("(request)", str(exc), expected=f"at most {exc.limit} bytes")]}, 413
        )
    body = (
        "<!doctype html><meta charset='utf-8'><title>Upload too large</title>"
        f"<p role='alert'>{exc}</p><p><a href='/'>Back to the study list</a></p>"
    )
    return HTMLResponse(body, 413)


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(
    settings: Settings | None = None,
    *,
    loaded: tuple[PredictorLike | None, str | None, str | None] | None = None,
) -> FastAPI:
    """Build the web page + JSON API.

    Parameters
    ----------
    settings : Settings | None
        Deployment settings; ``None`` reads ``EMGDX_*`` environment variables.
    loaded : tuple, optional
        :func:`load_predictor`'s result when the caller loaded the model already (``emgdx
        serve`` does, to fail before listening); otherwise the app loads it at start-up.
    """
    from starlette.middleware.sessions import SessionMiddleware

    from app import api, routes, verdicts
    from app.auth import session_secret
    from app.db.migrate import upgrade

    settings = settings or Settings()
    # the database first: the session key is kept in it (created and migrated if new)
    upgrade(settings.database())
    db = Database(settings.database())
    log.info("database %s", db.safe_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: AppState = app.state.emgdx
        state.predictor, state.model_source, state.model_error = (
            loaded if loaded is not None else load_predictor(settings)
        )
        state.executor = ThreadPoolExecutor(
            settings.predict_concurrency, thread_name_prefix="emgdx-predict"
        )
        if state.predictor is not None:
            state.batcher = PredictionBatcher(
                state.predictor, source=api.SOURCE, max_batch=settings.max_batch_requests
            )
        # a large bundle takes a while: serve (and say "loading") meanwhile
        threading.Thread(
            target=_load_configured_bundle, args=(state,), name="emgdx-bundle", daemon=True
        ).start()
        try:
            yield
        finally:
            state.executor.shutdown(wait=False, cancel_futures=True)
            if state.batcher is not None:
                state.batcher.close()
            db.dispose()

    app = FastAPI(
        title="emgdx",
        summary="Decision support for electrodiagnosis (NCS + needle EMG). Not a diagnosis.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.emgdx = AppState(
        settings=settings,
        templates=_templates(),
        store=StudyStore(settings.max_uploads),
        db=db,
        limiter=LoginLimiter(settings.login_max_failures, settings.login_window_s),
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_upload_bytes)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(db),
        session_cookie="emgdx_session",
        max_age=12 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    reader = [Depends(verdicts.require_reader)]
    app.include_router(api.router, dependencies=reader)
    app.include_router(verdicts.router)
    app.include_router(verdicts.api_router)
    app.include_router(routes.router, dependencies=reader)

    @app.exception_handler(UploadTooLargeError)
    async def too_large(request: Request, exc: UploadTooLargeError) -> Response:
        return _too_large_response(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            problem(
                "(request)",
                str(e.get("msg", "invalid")),
                column=".".join(str(x) for x in e.get("loc", ())),
                expected=str(e.get("type", "")),
            )
            for e in exc.errors()
        ]
        return JSONResponse({"errors": errors}, 422)

    @app.exception_handler(verdicts.SignInRequired)
    async def sign_in_required(request: Request, exc: verdicts.SignInRequired) -> Response:
        if _wants_json(request.url.path):
            return JSONResponse({"errors": [problem("(request)", str(exc))]}, 401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request.url.path):
            return JSONResponse(
                {"errors": [problem("(request)", str(exc.detail))]}, exc.status_code
            )
        return routes.render(request, "error.html", {"message": str(exc.detail)}, exc.status_code)

    return app
