"""Accounts in the web app: password hashing, sign-in, roles, CSRF tokens, login rate limit.

* Passwords are hashed with argon2 (``pwdlib``); a hash is never logged or shown.
* The signed-in user lives in Starlette's signed session cookie (``SessionMiddleware``,
  ``itsdangerous``); its key is made once and kept in the database, so sessions survive a
  restart and every worker process accepts them.
* CSRF: a random token per session (synchronizer token). Every form carries it as the hidden
  field ``csrf_token``, every state-changing JSON call as the header ``X-CSRF-Token``;
  :func:`check_csrf` refuses a POST without the session's token (403).
* Roles: ``viewer`` reads, ``clinician`` also writes verdicts, ``admin`` also changes the
  anonymous-read setting. Reading without an account only when that setting allows it.
* Failed sign-ins are limited per user name and per client address (:class:`LoginLimiter`).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from pwdlib import PasswordHash

from app.db import records
from app.db.models import ROLES
from app.db.session import Database

#: argon2id with pwdlib's recommended parameters
HASHER = PasswordHash.recommended()
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECRET_KEY = "session_secret"
#: a hash to verify against when the user does not exist (same time either way)
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2 hash of ``password``; at least 8 characters are required."""
    if len(password) < 8:
        raise records.AccountError("the password must have at least 8 characters")
    return HASHER.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches ``password_hash`` (``None``: a missing user, always False)."""
    if password_hash is None:
        HASHER.verify(password, _DUMMY_HASH)
        return False
    return bool(HASHER.verify(password, password_hash))


def session_secret(db: Database) -> str:
    """The session-signing key kept in the database (made at the first start)."""
    with db.session() as s:
        value = records.get_setting(s, SESSION_SECRET_KEY)
        if value is None:
            value = secrets.token_urlsafe(48)
            records.set_setting(s, SESSION_SECRET_KEY, value)
        return value


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as the pages see it (no password hash)."""

    id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        """Whether the user's role is ``role`` or above (viewer < clinician < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)


class LoginLimiter:
    """Failed sign-ins per user name and per client address in a sliding window (in memory).

    Parameters
    ----------
    max_failures : int
        Failures allowed per key within ``window_s``; one more is refused (429) until the
        oldest failure leaves the window.
    window_s : float
        The window, in seconds.

    Each server process keeps its own counts (with ``--workers N`` an attacker gets N times the
    attempts); a successful sign-in clears the user's failures.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def retry_after_s(self, user: str, ip: str) -> float:
        """Seconds until a sign-in is allowed again for this user or address (0: allowed)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self.window_s - (now - q[0])
                for q in (self._recent(f"user:{user}", now), self._recent(f"ip:{ip}", now))
                if len(q) >= self.max_failures
            ]
        return max(waits, default=0.0)

    def failed(self, user: str, ip: str) -> None:
        """Count a failed sign-in."""
        now = time.monotonic()
        with self._lock:
            self._recent(f"user:{user}", now).append(now)
            self._recent(f"ip:{ip}", now).append(now)

    def succeeded(self, user: str) -> None:
        """Forget the user's failures."""
        with self._lock:
            self._failures.pop(f"user:{user}", None)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token.

    The token is read from the ``X-CSRF-Token`` header, else the ``csrf_token`` form field.
    """
    expected = request.session.get(CSRF_FIELD)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise HTTPException(403, "Missing or wrong CSRF token: reload the page and try again.")


async def check_csrf_if_signed_in(request: Request) -> None:
    """:func:`check_csrf` for a request of a signed-in session (the upload form).

    A forged request can only abuse the authority of a victim's session; a visitor who is not
    signed in has none (anonymous reading lets anyone upload directly).
    """
    if current_user(request) is not None:
        await check_csrf(request)


def current_user(request: Request) -> CurrentUser | None:
    """The signed-in user, or ``None``."""
    data: Any = request.session.get("user")
    if not isinstance(data, dict):
        return None
    try:
        return CurrentUser(int(data["id"]), str(data["name"]), str(data["role"]))
    except (KeyError, TypeError, ValueError):
        return None


def sign_in(request: Request, user: CurrentUser) -> None:
    """Put ``user`` in a fresh session (a new CSRF token too)."""
    request.session.clear()
    request.session["user"] = {"id": user.id, "name": user.name, "role": user.role}
    csrf_token(request)


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()


def anonymous_read(request: Request) -> bool:
    """Whether pages may be read without signing in (the admin's setting, else the default)."""
    state = request.app.state.emgdx
    db: Database | None = state.db
    if db is None:
        return bool(state.settings.anonymous_read)
    with db.session() as s:
        value = records.get_setting(s, records.ANONYMOUS_READ)
    return state.settings.anonymous_read if value is None else value == "true"


def require_role(request: Request, role: str) -> CurrentUser:
    """The signed-in user if their role is ``role`` or above; else 403."""
    user = current_user(request)
    if user is None:
        raise HTTPException(403, "Sign in to do this.")
    if not user.can(role):
        raise HTTPException(403, f"Your role ({user.role}) cannot do this: it needs {role}.")
    return user
