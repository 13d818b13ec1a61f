"""What the app writes to and reads from its database (no web code: plain functions on a session).

Studies are stored once per content (their validated bundle rows, :func:`study_content`),
predictions once per study and model version, verdicts appended (:func:`add_verdict`); the
current verdict of a study is its latest row (:func:`latest_verdicts`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import (
    CONFIDENCES,
    OTHER_CONCLUSIONS,
    ROLES,
    SIDES,
    Prediction,
    Setting,
    Study,
    User,
    Verdict,
    utcnow,
)
from bundle.tables import Bundle
from features.vocab import CLASSES
from models.prediction import StudyPrediction

#: every conclusion a verdict may state
CONCLUSIONS: tuple[str, ...] = (*CLASSES, *OTHER_CONCLUSIONS)
#: a spinal root: C5-C8, T1-T12, L1-L5, S1-S2 (optionally "L5-S1" for two)
ROOT_LEVEL = re.compile(
    r"^(C[5-8]|T(1[0-2]|[1-9])|L[1-5]|S[12])(-(C[5-8]|T(1[0-2]|[1-9])|L[1-5]|S[12]))?$"
)
USER_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
#: the admin's run-time setting: may pages be read without signing in
ANONYMOUS_READ = "anonymous_read"


class VerdictIn(BaseModel):
    """A verdict as submitted (form or JSON), checked before it is stored.

    Attributes
    ----------
    conclusion : str
        One of the six classes, ``out_of_scope`` or ``insufficient``.
    out_of_scope_code : str | None
        A short code (``nmj``, ``cts``, ...; 1-32 of ``a-z0-9_``), required for
        ``out_of_scope`` and only then.
    root_level, side : str | None
        The root (``L5``, ``C7``, ``L5-S1``) and side, for a radiculopathy.
    confidence : {"low", "moderate", "high"}
        The clinician's confidence in the conclusion.
    comment : str
        Free text, at most 2,000 characters.
    agrees_with_model : bool | None
        The clinician's own answer; ``None`` when no prediction was shown.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    conclusion: Literal[CONCLUSIONS]  # type: ignore[valid-type]
    out_of_scope_code: str | None = Field(None, pattern=r"^[a-z0-9_]{1,32}$")
    root_level: str | None = Field(None, max_length=8)
    side: Literal[SIDES] | None = None  # type: ignore[valid-type]
    confidence: Literal[CONFIDENCES] = "moderate"  # type: ignore[valid-type]
    comment: str = Field("", max_length=2000)
    agrees_with_model: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> VerdictIn:
        if self.conclusion == "out_of_scope" and not self.out_of_scope_code:
            raise ValueError("an out-of-scope conclusion needs a short code (e.g. nmj, cts)")
        if self.conclusion != "out_of_scope" and self.out_of_scope_code:
            raise ValueError("out_of_scope_code is only for an out-of-scope conclusion")
        if self.root_level and not ROOT_LEVEL.match(self.root_level):
            raise ValueError("root_level: expected a spinal root such as L5, C7 or L5-S1")
        if self.root_level and self.conclusion != "radiculopathy":
            raise ValueError("root_level is only for a radiculopathy")
        return self


# -- studies and predictions -------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts: NaN and NA become ``None``, numpy scalars plain Python."""
    out = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                clean[str(k)] = None
            elif hasattr(v, "item"):
                clean[str(k)] = v.item()
            else:
                clean[str(k)] = v
        out.append(clean)
    return out


def study_content(bundle: Bundle, study_id: str) -> dict[str, list[dict[str, Any]]]:
    """The study's rows of the three tables (canonical values; the contract holds no names)."""
    one = bundle.subset([study_id])
    return {"studies": _records(one.studies), "ncs": _records(one.ncs), "emg": _records(one.emg)}


def content_sha256(content: dict[str, Any]) -> str:
    """A stable hash of a study's content (keys sorted)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def get_or_create_study(session: Session, content: dict[str, list[dict[str, Any]]]) -> Study:
    """The stored study with this content, stored now if it is new (safe under concurrency)."""
    row = content["studies"][0]
    study_id = str(row["study_id"])
    digest = content_sha256(content)
    query = select(Study).where(Study.study_id == study_id, Study.content_sha256 == digest)
    found = session.scalar(query)
    if found is not None:
        return found
    study = Study(
        study_id=study_id,
        patient_id=row.get("patient_id"),
        site_id=row.get("site_id"),
        content_sha256=digest,
        content=content,
        received_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(study)
    except IntegrityError:  # another request stored it first
        found = session.scalar(query)
        assert found is not None
        return found
    return study


def is_out_of_scope(pred: StudyPrediction) -> bool:
    """Whether a prediction says the study is outside the six classes or the training data.

    Reads what the prediction carries: an ``out_of_scope`` attribute if the model service sets
    one, a flag code starting with ``out_of_scope``, or ``unlike_training_data``.
    """
    if bool(getattr(pred, "out_of_scope", False)) or pred.unlike_training_data:
        return True
    return any(str(r.code).startswith("out_of_scope") for r in pred.flag_reasons)


def record_prediction(session: Session, study: Study, pred: StudyPrediction) -> Prediction:
    """The stored prediction of ``study`` by this model version (stored now if new)."""
    query = select(Prediction).where(
        Prediction.study_pk == study.id,
        Prediction.model_name == pred.model_name,
        Prediction.model_version == pred.model_version,
    )
    found = session.scalar(query)
    if found is not None:
        return found
    stored = Prediction(
        study_pk=study.id,
        model_name=pred.model_name,
        model_version=pred.model_version,
        diagnosis=pred.diagnosis,
        probability=float(pred.probabilities.get(pred.diagnosis, float("nan"))),
        probabilities={k: float(v) for k, v in pred.probabilities.items()},
        low_confidence=bool(pred.low_confidence),
        unlike_training_data=bool(pred.unlike_training_data),
        out_of_scope=is_out_of_scope(pred),
        flags=[str(r.code) for r in pred.flag_reasons],
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:
        found = session.scalar(query)
        assert found is not None
        return found
    return stored


# -- verdicts ----------------------------------------------------------------------------------


def add_verdict(
    session: Session,
    study: Study,
    verdict: VerdictIn,
    user: User,
    prediction: Prediction | None = None,
) -> Verdict:
    """Append a verdict (never updates one): who, when (UTC), what."""
    agrees = verdict.agrees_with_model
    row = Verdict(
        study_pk=study.id,
        prediction_pk=None if prediction is None else prediction.id,
        user_id=user.id,
        conclusion=verdict.conclusion,
        out_of_scope_code=verdict.out_of_scope_code,
        root_level=verdict.root_level,
        side=verdict.side,
        confidence=verdict.confidence,
        comment=verdict.comment,
        agrees_with_model=agrees,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def latest_verdicts(session: Session) -> list[Verdict]:
    """The current (latest) verdict of every study that has one, newest first."""
    latest = select(func.max(Verdict.id)).group_by(Verdict.study_pk).scalar_subquery()
    return list(
        session.scalars(select(Verdict).where(Verdict.id.in_(latest)).order_by(Verdict.id.desc()))
    )


def verdict_history(session: Session, study_id: str) -> list[Verdict]:
    """Every verdict on the studies with ``study_id``, oldest first (the audit trail)."""
    query = select(Verdict).join(Study).where(Study.study_id == study_id).order_by(Verdict.id)
    return list(session.scalars(query))


def count_verdicts(session: Session) -> int:
    """Verdict rows stored."""
    return int(session.scalar(select(func.count()).select_from(Verdict)) or 0)


# -- accounts and settings ---------------------------------------------------------------------


class AccountError(ValueError):
    """A user name, role or password that cannot be used (the message says why)."""


def create_user(session: Session, name: str, role: str, password_hash: str) -> User:
    """Add an account; the name must be new, the role one of :data:`ROLES`."""
    if not USER_NAME.match(name):
        raise AccountError(f"user name {name!r}: expected 1-64 of A-Z a-z 0-9 . _ @ -")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"user {name!r} exists already")
    user = User(name=name, role=role, password_hash=password_hash, active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, name: str) -> User | None:
    """The active account called ``name``."""
    return session.scalar(select(User).where(User.name == name, User.active.is_(True)))


def count_users(session: Session) -> int:
    """Accounts stored."""
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def get_setting(session: Session, key: str) -> str | None:
    """A run-time setting's value, ``None`` when never set."""
    row = session.get(Setting, key)
    return None if row is None else row.value


def set_setting(session: Session, key: str, value: str) -> None:
    """Set a run-time setting (insert or update)."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()


def when(dt: datetime) -> str:
    """A stored time as ISO 8601 UTC text (``2026-12-02T12:00:00Z``)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
