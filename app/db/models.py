"""The ORM models: users, studies received, predictions made and verdicts (append-only).

Every time is stored in UTC (:class:`UTCDateTime` returns aware datetimes on SQLite too).
A verdict is never updated: a changed conclusion is a new row, and the latest row (highest
``id``) of a study is its current verdict (:func:`app.verdicts_store.latest_verdicts`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: the roles, least to most rights: viewer reads, clinician also writes verdicts, admin also
#: manages accounts and the anonymous-read setting
ROLES: tuple[str, ...] = ("viewer", "clinician", "admin")
#: conclusions a verdict may state besides the six classes of ``features.vocab.CLASSES``
OTHER_CONCLUSIONS: tuple[str, ...] = ("out_of_scope", "insufficient")
SIDES: tuple[str, ...] = ("left", "right", "bilateral")
CONFIDENCES: tuple[str, ...] = ("low", "moderate", "high")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use app.db.models.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the app's tables."""


class User(Base):
    """A local account (password hashed with argon2 by ``pwdlib``; never stored in clear)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Setting(Base):
    """A setting the admin changes at run time (``anonymous_read``: ``"true"``/``"false"``)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Study(Base):
    """A study received: its validated bundle rows (pseudonymous) and a hash of them.

    ``content`` is ``{"studies": [row], "ncs": [rows], "emg": [rows]}`` in canonical
    values (:func:`app.verdicts_store.study_content`); the same study content is stored once.
    """

    __tablename__ = "studies"
    __table_args__ = (UniqueConstraint("study_id", "content_sha256", name="uq_study_content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[str] = mapped_column(String(64), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    site_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    predictions: Mapped[list[Prediction]] = relationship(back_populates="study")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="study", order_by="Verdict.id")


class Prediction(Base):
    """A prediction made for a study: model name and registry version, probabilities, flags."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("study_pk", "model_name", "model_version", name="uq_prediction_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(128))
    diagnosis: Mapped[str] = mapped_column(String(32))
    probability: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    low_confidence: Mapped[bool] = mapped_column(Boolean)
    unlike_training_data: Mapped[bool] = mapped_column(Boolean)
    out_of_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    study: Mapped[Study] = relationship(back_populates="predictions")


class Verdict(Base):
    """The examining clinician's conclusion on a study (append-only: never updated).

    ``conclusion`` is one of the six classes, ``out_of_scope`` (with ``out_of_scope_code``, a
    short code such as ``nmj``, ``cts``) or ``insufficient``; ``root_level`` and ``side`` when
    relevant (radiculopathy); ``agrees_with_model`` is the clinician's own answer.
    """

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    prediction_pk: Mapped[int | None] = mapped_column(ForeignKey("predictions.id"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    conclusion: Mapped[str] = mapped_column(String(32))
    out_of_scope_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    root_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    side: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confidence: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    agrees_with_model: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    study: Mapped[Study] = relationship(back_populates="verdicts")
    prediction: Mapped[Prediction | None] = relationship()
    user: Mapped[User] = relationship()
