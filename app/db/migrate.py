"""Alembic migrations run from code: ``emgdx serve`` at start and ``emgdx db upgrade``.

The migration scripts ship in the package (``app/db/migrations``); no ``alembic.ini`` is
needed: :func:`alembic_config` builds the configuration for a URL.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db.session import make_engine, normalise_url

log = logging.getLogger(__name__)
#: Alembic's own INFO lines (plugins, context) say nothing a user needs
logging.getLogger("alembic").setLevel(logging.WARNING)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """The Alembic configuration of the packaged migrations for the database at ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' must be doubled in an ini value (a password may hold one)
    rendered = normalise_url(url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at ``url`` to ``revision``; return the revision it is at."""
    command.upgrade(alembic_config(url), revision)
    rev = current(url)
    log.info("database %s at revision %s", normalise_url(url).render_as_string(), rev)
    return rev


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None``: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision shipped in the package."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
