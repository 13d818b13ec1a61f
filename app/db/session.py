"""The engine and sessions of the app's database (SQLite by default, PostgreSQL by URL).

:func:`normalise_url` turns ``postgresql://`` into SQLAlchemy's psycopg 3 form and a relative
SQLite path into an absolute one; :class:`Database` holds one engine and its session factory.
SQLite runs in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` transactions, so concurrent
verdict writes queue instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

#: the database of ``emgdx serve`` when ``EMGDX_DATABASE_URL`` is not set (git-ignored)
DEFAULT_SQLITE_FILE = "emgdx.db"
#: seconds an SQLite writer waits for the lock held by another one
SQLITE_BUSY_TIMEOUT_S = 30


def default_url(project: Path | None = None) -> str:
    """``sqlite:///<project>/emgdx.db`` (the current directory by default)."""
    return f"sqlite:///{(project or Path.cwd()).resolve() / DEFAULT_SQLITE_FILE}"


def normalise_url(url: str) -> URL:
    """The SQLAlchemy URL of ``url``: ``postgresql://`` uses psycopg 3; SQLite paths absolute.

    Raises
    ------
    ValueError
        The URL is not SQLite or PostgreSQL (message without the password).
    """
    u = make_url(url)
    if u.drivername in {"postgresql", "postgres"}:
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and not Path(u.database).is_absolute():
            u = u.set(database=str(Path(u.database).resolve()))
    elif u.get_backend_name() != "postgresql":
        raise ValueError(
            f"database URL {u.render_as_string(hide_password=True)}: expected sqlite:///FILE "
            "or postgresql://USER@HOST/DB"
        )
    return u


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite: WAL, foreign keys on, busy timeout)."""
    u = normalise_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            u, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # the driver's own transaction handling off: SQLAlchemy emits BEGIN IMMEDIATE below
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # take the write lock at the start: a reader that later writes cannot deadlock with
            # another writer (busy_timeout then queues the writers instead of failing them)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(u, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """One engine and its session factory.

    Parameters
    ----------
    url : str
        ``sqlite:///FILE`` or ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL without its password (for logs)."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back on an exception."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        """Close the engine's connections."""
        self.engine.dispose()
