"""``emgdx db``: migrate the verdicts database by hand (``emgdx serve`` migrates at start).

``emgdx db upgrade [--url URL]`` runs the packaged Alembic migrations up to the newest;
``emgdx db current`` prints the revision the database is at. The URL defaults to
``EMGDX_DATABASE_URL``, else ``emgdx.db`` in the current directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def database_url(given: str | None) -> str:
    """``given``, else the app's setting (``EMGDX_DATABASE_URL`` or ``sqlite:///emgdx.db``)."""
    if given:
        return given
    from app.settings import Settings

    return Settings().database()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx db upgrade|current``."""
    from app.db import migrate
    from app.db.session import normalise_url

    parser = argparse.ArgumentParser(prog="emgdx db", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["upgrade", "current"])
    parser.add_argument("--url", default=None, help="database URL (default EMGDX_DATABASE_URL)")
    args = parser.parse_args(argv)
    url = database_url(args.url)
    shown = normalise_url(url).render_as_string(hide_password=True)
    if args.action == "upgrade":
        rev = migrate.upgrade(url)
        sys.stdout.write(f"{shown}: at revision {rev} (newest {migrate.head()})\n")
    else:
        sys.stdout.write(f"{shown}: at revision {migrate.current(url) or 'none'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
