"""Fixtures of the verdict tests: a database of each backend, an app on it, signed-in clients."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.postgres import PostgresServer, missing_reason, start_postgres

PASSWORD = "correct-horse-9"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server on 127.0.0.1 for the session (skipped when it cannot start)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    server = start_postgres(tmp_path_factory.mktemp("pg") / "server")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file, or a new database on the test's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'verdicts.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


def make_app(db_url: str, tiny_model_dir: Path, bundle_dir: Path, **settings: Any) -> Any:
    """``create_app`` on ``db_url`` with the tiny model and bundle (anonymous reading off)."""
    from app.main import create_app
    from app.settings import Settings

    return create_app(
        Settings(
            model=str(tiny_model_dir),
            bundle=bundle_dir,
            database_url=db_url,
            **{"anonymous_read": False, **settings},
        )
    )


def add_user(app: Any, name: str, role: str, password: str = PASSWORD) -> None:
    """Create an account in the app's database."""
    from app.auth import hash_password
    from app.db import records

    with app.state.emgdx.db.session() as s:
        records.create_user(s, name, role, hash_password(password))


def csrf_of(client: Any) -> str:
    """The CSRF token of the client's session."""
    return str(client.get("/api/session").json()["csrf_token"])


def sign_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    """Sign in through the login form (its CSRF token read from the page)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the login form carries no CSRF token"
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    cwd: Path, env: dict[str, str], model: Path, *args: str
) -> tuple[subprocess.Popen[bytes], str]:
    """``emgdx serve`` in ``cwd`` on a free loopback port, polled until the model is loaded."""
    port = free_port()
    cmd = [sys.executable, "-m", "emgdx", "serve", "--port", str(port), "--model", str(model)]
    cmd += list(args)
    log = (cwd / "serve.log").open("wb")
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"emgdx serve exited: {(cwd / 'serve.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as r:
                health = json.loads(r.read())
                if health["model_loaded"] and health["bundle_loaded"]:
                    return proc, url
        except OSError:
            pass
        assert time.monotonic() < deadline, (cwd / "serve.log").read_text()[-2000:]
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`serve`."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def clean_env() -> dict[str, str]:
    """The environment without any ``EMGDX_*`` setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("EMGDX_")}
