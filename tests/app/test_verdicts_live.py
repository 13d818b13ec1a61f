"""The verdicts database behind a real server on 127.0.0.1: concurrent writes, ``emgdx serve``.

* 50 verdicts sent at once (bounded: 25 connections) over loopback to uvicorn: the database
  then holds exactly 50, on SQLite and on PostgreSQL.
* ``emgdx serve`` with no configuration creates ``emgdx.db`` in its directory and migrates it;
  with ``EMGDX_DATABASE_URL=postgresql://...`` the same server runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.verdict_fixtures import (
    PASSWORD,
    add_user,
    clean_env,
    db_url,  # noqa: F401  (fixture)
    make_app,
    postgres_server,  # noqa: F401  (fixture)
    serve,
    stop_server,
)
from tests.helpers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
N_WRITES = 50
MAX_CONNECTIONS = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def uvicorn_app(db_url: str, tiny_model_dir: Path, bundle_dir: Path) -> Iterator[tuple[str, Any]]:  # noqa: F811
    """The app served by uvicorn in a thread on 127.0.0.1 (stopped at the end)."""
    import uvicorn

    app = make_app(db_url, tiny_model_dir, bundle_dir)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started or not app.state.emgdx.bundle_ready.is_set():
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    add_user(app, "dr_a", "clinician")
    try:
        yield url, app
    finally:
        server.should_exit = True
        thread.join(10)


async def _send_all(url: str, study_ids: list[str]) -> list[int]:
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        page = await client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = await client.post(
            "/login", data={"name": "dr_a", "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code in (200, 303), r.text
        token = (await client.get("/api/session")).json()["csrf_token"]

        async def one(i: int) -> int:
            body = {
                "dataset": "bundle",
                "study_id": study_ids[i % len(study_ids)],
                "verdict": {"conclusion": "normal", "comment": f"write {i}"},
            }
            resp = await client.post("/api/verdicts", json=body, headers={"X-CSRF-Token": token})
            return resp.status_code

        return list(await asyncio.gather(*(one(i) for i in range(N_WRITES))))


def test_50_concurrent_verdict_writes_lose_nothing(uvicorn_app: tuple[str, Any]) -> None:
    from app.db import records

    url, app = uvicorn_app
    ids = app.state.emgdx.store.get("bundle").study_ids[:4]  # the same studies, concurrently
    # in a thread of its own: a Playwright test earlier in the session leaves an event loop
    # running in this one, and asyncio.run() refuses to start inside it
    with ThreadPoolExecutor(1) as pool:
        statuses = pool.submit(asyncio.run, _send_all(url, ids)).result()
    assert statuses == [201] * N_WRITES
    with app.state.emgdx.db.session() as s:
        assert records.count_verdicts(s) == N_WRITES
        # each study and its prediction stored once, however many verdicts raced for it
        from sqlalchemy import func, select

        from app.db.models import Prediction, Study

        assert s.scalar(select(func.count()).select_from(Study)) == len(ids)
        assert s.scalar(select(func.count()).select_from(Prediction)) == len(ids)
        comments = {v.comment for s_id in ids for v in records.verdict_history(s, s_id)}
    assert comments == {f"write {i}" for i in range(N_WRITES)}


def test_serve_with_no_configuration_creates_and_migrates_sqlite(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from app.db.migrate import current, head

    proc, url = serve(tmp_path, clean_env(), tiny_model_dir)
    try:
        assert (tmp_path / "emgdx.db").is_file()
        assert current(f"sqlite:///{tmp_path / 'emgdx.db'}") == head()
        with urllib.request.urlopen(f"{url}/login") as r:  # signed out: the sign-in page
            assert "emgdx users add" in r.read().decode()  # no account yet: says how
    finally:
        stop_server(proc)


def test_serve_runs_on_postgresql_from_the_url_setting(
    tiny_model_dir: Path,
    tmp_path: Path,
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    from sqlalchemy import create_engine, text

    from app.db.migrate import head
    from app.db.session import normalise_url

    pg_url = postgres_server.new_database()
    env = {**clean_env(), "EMGDX_DATABASE_URL": pg_url}
    proc, url = serve(tmp_path, env, tiny_model_dir)
    try:
        assert not (tmp_path / "emgdx.db").exists()
        engine = create_engine(normalise_url(pg_url))
        with engine.connect() as conn:
            assert conn.execute(text("select version_num from alembic_version")).scalar() == head()
            # the session key the server made lives in PostgreSQL
            assert conn.execute(text("select count(*) from settings")).scalar() == 1
        engine.dispose()
        r = httpx.get(f"{url}/api/session")
        assert r.status_code == 200
        assert r.json()["user"] is None
    finally:
        stop_server(proc)
