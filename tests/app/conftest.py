"""Fixtures of the web tests: a tiny trained model, a small bundle, the app and a live server."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.pdf import CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_STUDY = ROOT / "docs" / "examples" / "study.json"
CHROMIUM = Path("/usr/bin/chromium")
#: Debian Chromium driven by Playwright, no network beyond loopback (stack notes §6)
CHROMIUM_ARGS = [f for f in CHROMIUM_FLAGS if f != "--no-pdf-header-footer"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small trained model directory (saved-model contract), built once per session."""
    from tests.helpers.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("app-model") / "model", n_studies=400, seed=0)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated bundle folder (CSV), listed on the start page."""
    from bundle.writers import write_bundle
    from simulator.cohort import simulate_cohort

    return write_bundle(simulate_cohort(12, 7), tmp_path_factory.mktemp("app-bundle") / "bundle")


@pytest.fixture
def example_study() -> dict[str, Any]:
    """The contract's single-study JSON example (a fresh copy per test)."""
    return copy.deepcopy(json.loads(EXAMPLE_STUDY.read_text()))


@pytest.fixture(scope="session")
def app_settings(tiny_model_dir: Path, bundle_dir: Path) -> Any:
    """Settings pointing at the tiny model and the small bundle."""
    from app.settings import Settings

    return Settings(model=str(tiny_model_dir), bundle=bundle_dir, max_upload_bytes=200_000, top_k=6)


@pytest.fixture(scope="session")
def client(app_settings: Any) -> Iterator[Any]:
    """A TestClient around ``create_app(settings)`` (lifespan run: model and bundle loaded)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(app_settings)) as c:
        assert c.app.state.emgdx.bundle_ready.wait(120), "the bundle did not load"
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    """A running ``emgdx serve``: its base URL and its log file."""

    url: str
    log_path: Path


@pytest.fixture(scope="session")
def live_server(
    tiny_model_dir: Path, bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``emgdx serve`` on 127.0.0.1 and a free port, polled on /api/health, stopped at the end."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "emgdx",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(tiny_model_dir),
        "--bundle",
        str(bundle_dir),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"emgdx serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                    )
                try:
                    with urllib.request.urlopen(f"{url}/api/health", timeout=1) as r:
                        health = json.loads(r.read())
                        if health["model_loaded"] and health["bundle_loaded"]:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"emgdx serve did not answer within 60 s:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.2)
            yield LiveServer(url, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launch arguments: Debian's Chromium, no browser download."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A laptop screen: 1280 × 800."""
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def big_client(tiny_model_dir: Path, bundle_dir: Path) -> Any:
    """An app of its own with the default request limits (20 MB body, 64 MiB expanded, 200
    studies); uploads stored by hostile-input tests do not reach the shared ``client``."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(model=str(tiny_model_dir), bundle=bundle_dir, top_k=3)
    with TestClient(create_app(settings)) as c:
        assert c.app.state.emgdx.bundle_ready.wait(120)
        yield c
