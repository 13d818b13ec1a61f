"""Sign-in, verdicts, the review queue and the admin page (thin handlers over ``app.db``).

Pages: ``GET/POST /login``, ``POST /logout``, ``POST /study/{key}/{study_id}/verdict`` (the
study page's form), ``GET /review`` (the queue), ``GET/POST /admin``. JSON:
``GET /api/session`` (who is signed in, and the CSRF token for the calls below),
``POST /api/verdicts``, ``GET /api/verdicts/{study_id}`` (the audit trail). Every POST needs the
session's CSRF token; writing a verdict needs a clinician (403 otherwise).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from app import auth
from app.db import records
from app.db.models import CONFIDENCES, OTHER_CONCLUSIONS, SIDES, Verdict
from app.db.session import Database
from app.review import REASONS, SORT_KEYS, queue_rows
from features.vocab import CLASS_LABELS, CLASSES

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["verdicts"])
#: paths every visitor may open (sign-in, liveness)
OPEN_PATHS = frozenset({"/api/health", "/login", "/api/session"})
OTHER_LABELS = {
    "out_of_scope": "Out of scope (give a short code)",
    "insufficient": "Insufficient study",
}


class SignInRequired(Exception):
    """Reading needs an account (the admin has not allowed anonymous reading)."""

    def __str__(self) -> str:
        return "Sign in to read this page (anonymous reading is off)."


def require_reader(request: Request) -> None:
    """Let the request read when anonymous reading is on or someone is signed in."""
    if request.url.path in OPEN_PATHS or auth.current_user(request) is not None:
        return
    if not auth.anonymous_read(request):
        raise SignInRequired


def _state(request: Request) -> Any:
    return request.app.state.emgdx


def _db(request: Request) -> Database:
    db = _state(request).db
    if db is None:
        raise HTTPException(503, "No database configured.")
    return db


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    from app.routes import render

    return render(request, template, context, status)


# -- sign-in -----------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: Annotated[str, Query(max_length=200)] = "/") -> Response:  # noqa: A002
    """The sign-in form."""
    with _db(request).session() as s:
        no_users = records.count_users(s) == 0
    return _render(
        request, "login.html", {"next": _safe_next(next), "error": None, "no_users": no_users}
    )


def _safe_next(target: str) -> str:
    """Only a path of this site (no scheme, no host, no ``//``)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", dependencies=[Depends(auth.check_csrf)])
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=200)] = "/",  # noqa: A002
) -> Response:
    """Check the password; a wrong one counts towards the rate limit (429 beyond it)."""
    state = _state(request)
    ip = _client_ip(request)
    wait = state.limiter.retry_after_s(name, ip)
    if wait > 0:
        log.warning("sign-in refused: too many failures (user or address)")
        return _render(
            request,
            "login.html",
            {
                "next": _safe_next(next),
                "no_users": False,
                "error": f"Too many failed sign-ins. Try again in {int(wait) + 1} s.",
            },
            429,
        )
    with _db(request).session() as s:
        user = records.user_by_name(s, name)
        ok = auth.verify_password(password, None if user is None else user.password_hash)
        who = None if user is None or not ok else auth.CurrentUser(user.id, user.name, user.role)
    if who is None:
        state.limiter.failed(name, ip)
        log.info("sign-in failed")
        return _render(
            request,
            "login.html",
            {"next": _safe_next(next), "no_users": False, "error": "Wrong user name or password."},
            401,
        )
    state.limiter.succeeded(name)
    auth.sign_in(request, who)
    log.info("user %s signed in", who.id)
    return RedirectResponse(_safe_next(next), 303)


@router.post("/logout", dependencies=[Depends(auth.check_csrf)])
def logout(request: Request) -> Response:
    """End the session."""
    auth.sign_out(request)
    return RedirectResponse("/login", 303)


@api_router.get("/session")
def session_info(request: Request) -> dict[str, Any]:
    """Who is signed in (``null``: nobody) and the session's CSRF token for POST calls."""
    user = auth.current_user(request)
    return {
        "user": None if user is None else {"name": user.name, "role": user.role},
        "csrf_token": auth.csrf_token(request),
        "anonymous_read": auth.anonymous_read(request),
    }


# -- verdicts ----------------------------------------------------------------------------------


class VerdictRequest(BaseModel):
    """``POST /api/verdicts``: which loaded study, and the verdict."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    study_id: str
    verdict: records.VerdictIn


def store_verdict(request: Request, key: str, study_id: str, verdict: records.VerdictIn) -> Verdict:
    """Store the study (once), its prediction (once per model version) and a new verdict."""
    user = auth.require_role(request, "clinician")
    ds = _state(request).store.get(key)
    if ds is None or not ds.has(study_id):
        raise HTTPException(
            404, "This study is not loaded (uploads are kept for the session only)."
        )
    if study_id in ds.invalid_ids:
        raise HTTPException(422, "This study has validation errors: correct it before judging it.")
    pred = ds.predictions.get(study_id)
    if verdict.agrees_with_model is None and pred is not None:
        verdict = verdict.model_copy(
            update={"agrees_with_model": verdict.conclusion == pred.diagnosis}
        )
    with _db(request).session() as s:
        study = records.get_or_create_study(s, records.study_content(ds.bundle, study_id))
        stored_pred = None if pred is None else records.record_prediction(s, study, pred)
        account = records.user_by_name(s, user.name)
        if account is None:
            raise HTTPException(403, "Your account no longer exists or is disabled.")
        row = records.add_verdict(s, study, verdict, account, stored_pred)
    log.info("verdict %d stored by user %d", row.id, user.id)
    return row


def _form_verdict(
    conclusion: str,
    out_of_scope_code: str,
    root_level: str,
    side: str,
    confidence: str,
    comment: str,
    agrees: str,
) -> records.VerdictIn:
    try:
        return records.VerdictIn(
            conclusion=conclusion,
            out_of_scope_code=out_of_scope_code or None,
            root_level=root_level.upper() or None,
            side=side or None,
            confidence=confidence,
            comment=comment,
            agrees_with_model={"yes": True, "no": False}.get(agrees),
        )
    except ValidationError as exc:
        msgs = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'verdict'}: {e['msg']}" for e in exc.errors()
        )
        raise HTTPException(422, f"The verdict was not stored: {msgs}.") from exc


@router.post("/study/{key}/{study_id}/verdict", dependencies=[Depends(auth.check_csrf)])
def verdict_form(
    request: Request,
    key: str,
    study_id: str,
    conclusion: Annotated[str, Form(max_length=32)],
    confidence: Annotated[str, Form(max_length=16)] = "moderate",
    out_of_scope_code: Annotated[str, Form(max_length=32)] = "",
    root_level: Annotated[str, Form(max_length=8)] = "",
    side: Annotated[str, Form(max_length=16)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    agrees: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The study page's verdict form: store it, back to the study page."""
    auth.require_role(request, "clinician")
    v = _form_verdict(conclusion, out_of_scope_code, root_level, side, confidence, comment, agrees)
    store_verdict(request, key, study_id, v)
    return RedirectResponse(f"/study/{key}/{study_id}#verdicts", 303)


def _verdict_json(v: Verdict) -> dict[str, Any]:
    return {
        "id": v.id,
        "study_id": v.study.study_id,
        "conclusion": v.conclusion,
        "out_of_scope_code": v.out_of_scope_code,
        "root_level": v.root_level,
        "side": v.side,
        "confidence": v.confidence,
        "comment": v.comment,
        "agrees_with_model": v.agrees_with_model,
        "user": v.user.name,
        "created_at": records.when(v.created_at),
        "model_version": None if v.prediction is None else v.prediction.model_version,
    }


@api_router.post("/verdicts", status_code=201, dependencies=[Depends(auth.check_csrf)])
def post_verdict(request: Request, body: VerdictRequest) -> dict[str, Any]:
    """Append a verdict on a loaded study (clinician or admin; CSRF header required)."""
    row = store_verdict(request, body.dataset, body.study_id, body.verdict)
    with _db(request).session() as s:
        stored = s.get(Verdict, row.id)
        assert stored is not None
        return _verdict_json(stored)


@api_router.get("/verdicts/{study_id}", dependencies=[Depends(require_reader)])
def get_verdicts(request: Request, study_id: str) -> dict[str, Any]:
    """Every verdict on ``study_id``, oldest first; ``current`` is the latest."""
    with _db(request).session() as s:
        rows = [_verdict_json(v) for v in records.verdict_history(s, study_id)]
    return {"study_id": study_id, "verdicts": rows, "current": rows[-1] if rows else None}


def history_of(request: Request, study_id: str) -> list[dict[str, Any]]:
    """The study page's audit trail (oldest first)."""
    db = _state(request).db
    if db is None:
        return []
    with db.session() as s:
        return [_verdict_json(v) for v in records.verdict_history(s, study_id)]


def form_context(request: Request) -> dict[str, Any]:
    """What ``_verdict_form.html`` needs besides the study."""
    user = auth.current_user(request)
    return {
        "can_judge": user is not None and user.can("clinician"),
        "conclusions": [(c, CLASS_LABELS.get(c, c)) for c in CLASSES]
        + [(c, OTHER_LABELS[c]) for c in OTHER_CONCLUSIONS],
        "sides": SIDES,
        "confidences": CONFIDENCES,
    }


# -- review queue and admin --------------------------------------------------------------------


@router.get("/review", dependencies=[Depends(require_reader)])
def review(
    request: Request,
    sort: Annotated[str, Query(max_length=20)] = "probability",
    order: Annotated[str, Query(max_length=4)] = "asc",
    reason: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The review queue: disagreements, low-confidence and out-of-scope studies, sortable."""
    state = _state(request)
    sort = sort if sort in SORT_KEYS else "probability"
    reason = reason if reason in REASONS else ""
    with _db(request).session() as s:
        rows = queue_rows(
            state.store,
            records.latest_verdicts(s),
            reason=reason,
            sort=sort,
            descending=order == "desc",
        )
    size = state.settings.page_size
    return _render(
        request,
        "review.html",
        {
            "rows": rows[:size],
            "n_rows": len(rows),
            "sort": sort,
            "order": "desc" if order == "desc" else "asc",
            "reason": reason,
            "reasons": REASONS,
            "sort_keys": SORT_KEYS,
        },
    )


@router.get("/admin")
def admin_page(request: Request) -> Response:
    """The admin's settings (anonymous reading)."""
    auth.require_role(request, "admin")
    return _render(request, "admin.html", {"anonymous_read": auth.anonymous_read(request)})


@router.post("/admin", dependencies=[Depends(auth.check_csrf)])
def admin_save(
    request: Request, anonymous_read: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """Save the anonymous-read setting (admin only)."""
    user = auth.require_role(request, "admin")
    with _db(request).session() as s:
        records.set_setting(
            s, records.ANONYMOUS_READ, "true" if anonymous_read == "on" else "false"
        )
    log.info("user %d set anonymous_read=%s", user.id, anonymous_read == "on")
    return RedirectResponse("/admin", 303)
