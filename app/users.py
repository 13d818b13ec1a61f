"""``emgdx users``: local accounts of the web app (``add``, ``list``).

``emgdx users add --name NAME --role viewer|clinician|admin`` asks for the password twice (or
reads one line from standard input with ``--password-stdin``); the password is never an
argument, so it never shows in the shell history, ``ps`` or a log. The database is migrated
first (``EMGDX_DATABASE_URL``, else ``emgdx.db`` here).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from app.db.models import ROLES


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx users", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add an account")
    add.add_argument("--name", required=True, help="user name (1-64 of A-Z a-z 0-9 . _ @ -)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--url", default=None, help="database URL (default EMGDX_DATABASE_URL)")
    ls = sub.add_parser("list", help="list the accounts (name, role, created)")
    ls.add_argument("--url", default=None, help="database URL (default EMGDX_DATABASE_URL)")
    return parser.parse_args(argv)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emgdx users add|list``; exit 1 on a name, role or password that cannot be used."""
    from sqlalchemy import select

    from app.auth import hash_password
    from app.db import migrate, records
    from app.db.cli import database_url
    from app.db.models import User
    from app.db.session import Database

    args = _parse(argv)
    url = database_url(args.url)
    migrate.upgrade(url)
    db = Database(url)
    try:
        if args.action == "list":
            with db.session() as s:
                for u in s.scalars(select(User).order_by(User.id)):
                    sys.stdout.write(f"{u.name}\t{u.role}\t{records.when(u.created_at)}\n")
            return 0
        try:
            hashed = hash_password(_password(args.password_stdin))
            with db.session() as s:
                records.create_user(s, args.name, args.role, hashed)
        except (records.AccountError, ValueError) as exc:
            sys.stderr.write(f"emgdx users: {exc}\n")
            return 1
        sys.stdout.write(f"user {args.name} ({args.role}) added to {db.safe_url}\n")
        return 0
    finally:
        db.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
