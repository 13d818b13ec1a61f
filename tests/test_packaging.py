"""Install extras: the clinicians' server needs neither DVC nor Dask; ``[dev]`` is everything."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_extras_split_serve_pipeline_dask_and_dev_holds_them_all():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core, extras = _names(project["dependencies"]), project["optional-dependencies"]
    assert not {"dvc", "dask", "fastapi", "uvicorn"} & core
    assert "dvc" not in _names(extras["serve"])
    assert "dask" not in _names(extras["serve"])
    assert _names(extras["pipeline"]) == {"dvc"}
    assert _names(extras["dask"]) == {"dask"}
    assert "emgdx[serve,pipeline,dask]" in extras["dev"]


def test_the_server_and_predict_import_neither_dvc_nor_dask():
    code = (
        "import sys, app.main, app.serve, pipelines.predict, models.pyfunc\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'dvc', 'dask', 'distributed'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.strip() == ""
