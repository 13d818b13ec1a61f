"""No value the user gave reaches a log line: validate, predict and serve with planted values.

Distinctive values are planted in cells of every kind (numbers, vocabularies, free text, ids of
rows of unknown studies), in a header, in a ragged row and in JSON documents; every log record
of ``emgdx validate``, ``emgdx predict`` and the web app (upload and API) is then searched.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bundle.writers import write_bundle
from tests.bundle.corrupt import PLANTED
from tests.helpers.tiny import make_tiny_cohort, make_tiny_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A bundle with planted cells (some studies stay valid), a ragged one, and a JSON study."""
    root = tmp_path_factory.mktemp("privacy")
    bundle, _ = make_tiny_cohort(6, seed=5)
    cells = write_bundle(bundle, root / "cells")
    studies = pd.read_csv(cells / "studies.csv", dtype=str, keep_default_na=False)
    studies.loc[0, "age_years"] = f"{PLANTED}1"
    studies.loc[1, "sex"] = f"{PLANTED}2"
    studies[f"notes {PLANTED}3"] = f"{PLANTED}4"
    studies.to_csv(cells / "studies.csv", index=False)
    ncs = pd.read_csv(cells / "ncs.csv", dtype=str, keep_default_na=False)
    ncs.loc[0, "nerve"] = f"{PLANTED}5"
    ncs.loc[1, "amplitude"] = f"{PLANTED}6"
    ncs.loc[2, "stim_site"] = "x" * 300 + PLANTED
    orphan = ncs.iloc[[3]].copy()
    orphan["study_id"] = "orphan-1"
    orphan["recording_site"] = f"{PLANTED}7"
    pd.concat([ncs, orphan]).to_csv(cells / "ncs.csv", index=False)
    ragged = write_bundle(bundle, root / "ragged")
    text = (ragged / "emg.csv").read_text().splitlines()
    text[2] = text[2] + f",{PLANTED}8,{PLANTED}9"
    (ragged / "emg.csv").write_text("\n".join(text) + "\n")
    doc = root / "study.json"
    one = json.loads((ROOT / "docs" / "examples" / "study.json").read_text())
    clean = {**json.loads(json.dumps(one)), "study_id": "clean-1"}
    one["height_cm"] = f"{PLANTED}10"
    one["ncs"][0]["amplitude"] = True
    one["emg"][0]["muscle"] = f"{PLANTED}11"
    one["comment"] = PLANTED
    doc.write_text(json.dumps([clean, one, {"age_years": PLANTED, "ncs": [{"nerve": PLANTED}]}]))
    return {"cells": cells, "ragged": ragged, "json": doc, "root": root}


@pytest.fixture(scope="module")
def big_client(tmp_path_factory: pytest.TempPathFactory, planted: dict[str, Path]) -> Any:
    """The web app with a tiny model (its own, so its uploads stay here)."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    model = make_tiny_model(tmp_path_factory.mktemp("privacy-model") / "m", n_studies=300, seed=2)
    settings = Settings(model=str(model), bundle=planted["root"] / "none", top_k=3)
    with TestClient(create_app(settings)) as c:
        yield c


def _assert_clean(lines: list[str]) -> None:
    leaked = [line for line in lines if PLANTED in line]
    assert not leaked, leaked[:3]


def _records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


def test_validate_logs_no_planted_value(planted: dict[str, Path], tmp_path: Path, caplog) -> None:
    from pipelines.validate import main

    caplog.set_level(logging.DEBUG)
    for name in ("cells", "ragged", "json"):
        code = main([str(planted[name]), "--report", str(tmp_path / f"{name}.json")])
        assert code == 1
    _assert_clean(_records(caplog))
    # and through the command line: stderr carries the log lines
    proc = subprocess.run(
        [sys.executable, "-m", "emgdx", "validate", str(planted["cells"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "INFO" in proc.stderr
    _assert_clean(proc.stderr.splitlines())


def test_predict_logs_no_planted_value(planted: dict[str, Path], tmp_path: Path, caplog) -> None:
    from pipelines.predict import main

    model = make_tiny_model(tmp_path / "model", n_studies=300, seed=1)
    caplog.set_level(logging.DEBUG)
    assert (
        main([str(planted["cells"]), "--out", str(tmp_path / "p.csv"), "--model", str(model)]) == 0
    )
    assert (
        main([str(planted["ragged"]), "--out", str(tmp_path / "r.csv"), "--model", str(model)]) == 1
    )
    assert (
        main([str(planted["json"]), "--out", str(tmp_path / "j.csv"), "--model", str(model)]) == 0
    )
    lines = _records(caplog)
    assert any("rejected" in line for line in lines)
    _assert_clean(lines)
    rejected = json.loads((tmp_path / "p.csv.rejected.json").read_text())
    assert rejected  # the user-facing file names the problems (values cut), the log does not


def test_serve_logs_no_planted_value(planted: dict[str, Path], big_client: Any, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    files = [
        ("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(planted["cells"].iterdir())
    ]
    assert big_client.post("/upload", files=files).status_code == 200
    files = [
        ("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(planted["ragged"].iterdir())
    ]
    assert big_client.post("/upload", files=files).status_code == 422
    body = planted["json"].read_bytes()
    r = big_client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert r.json()["rejected"]
    _assert_clean(_records(caplog))
