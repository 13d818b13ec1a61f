"""A throw-away PostgreSQL server on 127.0.0.1 for the database tests (Debian's package).

:func:`start_postgres` runs ``initdb`` and ``pg_ctl start`` from ``/usr/lib/postgresql/*/bin``
in a temporary folder (as the ``postgres`` user when the tests run as root: the server refuses
root), on a free port, trust authentication on loopback only; :meth:`PostgresServer.stop`
stops it. :func:`missing_reason` says why no server can be started (the tests skip with it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

USER = "emgdx"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def missing_reason() -> str | None:
    """Why no PostgreSQL server can be started here, or ``None`` when one can."""
    if _bin_dir() is None:
        return (
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb missing): "
            "apt-get install postgresql (.ci/run does it)"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL refuses to start as root"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'emgdx[serve]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: its data folder, port and the ``pg_ctl`` to stop it."""

    root: Path
    port: int
    bin_dir: Path

    def url(self, database: str = "postgres") -> str:
        """``postgresql://emgdx@127.0.0.1:PORT/DATABASE``."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "stop"],
            check=False,
        )


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=check)


def start_postgres(root: Path) -> PostgresServer:
    """``initdb`` + ``pg_ctl start`` under ``root`` on 127.0.0.1 and a free port."""
    bin_dir = _bin_dir()
    assert bin_dir is not None, missing_reason()
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
        for parent in list(root.parents)[:-1]:  # let postgres reach its folder
            parent.chmod(parent.stat().st_mode | 0o011)
    data = root / "data"
    _run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-N", "-E", "UTF8"])
    port = _free_port()
    opts = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=120"
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ]
    )
    return PostgresServer(root, port, bin_dir)
