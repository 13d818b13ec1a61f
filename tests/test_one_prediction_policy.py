"""One policy: CLI, API, web upload and pyfunc give the same predictions and the same rejects.

One bundle of three studies in the contract's JSON form, one of them invalid (a fibrillation
grade of 7), goes through ``emgdx predict``, ``POST /api/predict``, the upload page and the
MLflow pyfunc; all four predict the same two studies with the same numbers and reject the same
study for the same problem (:mod:`models.service`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bundle.json_form import study_to_json
from features.vocab import CLASSES
from tests.helpers.tiny import make_tiny_cohort, make_tiny_model

BAD_ID = "policy-bad"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("policy") / "model", n_studies=300, seed=5)


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    """Two valid studies and one with a fibrillation grade outside 0-4."""
    bundle, _ = make_tiny_cohort(2, seed=6)
    docs = [study_to_json(bundle, s) for s in bundle.study_ids]
    bad = json.loads(json.dumps(docs[0]))
    bad["study_id"] = BAD_ID
    bad["emg"][0]["fibs"] = 7
    return [docs[0], bad, docs[1]]


def _where(problem: dict[str, Any]) -> tuple[Any, ...]:
    """A problem without its file name (each entry point names the input its own way)."""
    return (problem["study_id"], problem["row"], problem["column"], problem["kind"])


def _numbers(prediction: dict[str, Any]) -> tuple[Any, ...]:
    return (
        prediction["study_id"],
        prediction["diagnosis"],
        prediction["runner_up"],
        tuple(round(prediction["probabilities"][c], 12) for c in CLASSES),
        tuple(c["feature"] for c in prediction["explanation"]),
        tuple(round(c["shap"], 12) for c in prediction["explanation"]),
        tuple(r["code"] for r in prediction["flag_reasons"]),
        tuple(prediction["prediction_set"]),
        prediction["prediction_set_coverage"],
    )


def _cli(model_dir: Path, documents: list[dict[str, Any]], tmp: Path) -> tuple[list, list]:
    from pipelines.predict import main

    path = tmp / "studies.json"
    path.write_text(json.dumps(documents))
    out = tmp / "cli.json"
    args = [str(path), "--out", str(out), "--model", str(model_dir), "--top-k", "5"]
    assert main(args) == 0
    rejected = json.loads((tmp / "cli.json.rejected.json").read_text())
    return json.loads(out.read_text()), [
        (r["study_id"], [_where(p) for p in r["details"]]) for r in rejected
    ]


def _api_and_upload(
    model_dir: Path, documents: list[dict[str, Any]]
) -> tuple[tuple[list, list], tuple[list, list]]:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(model=str(model_dir), bundle=None, top_k=5))) as client:
        r = client.post("/api/predict", json=documents)
        assert r.status_code == 200, r.text
        body = r.json()
        api = (
            body["predictions"],
            [(x["study_id"], [_where(p) for p in x["problems"]]) for x in body["rejected"]],
        )
        page = client.post(
            "/upload",
            files={"files": ("studies.json", json.dumps(documents), "application/json")},
        )
        assert page.status_code == 200
        (dataset,) = [d for d in client.app.state.emgdx.store.datasets() if d.key != "bundle"]
        upload = (
            [dataset.predictions[s].to_dict() for s in dataset.predictions],
            [(x.study_id, [_where(p.to_dict()) for p in x.problems]) for x in dataset.rejected],
        )
    return api, upload


def _pyfunc(model_dir: Path, documents: list[dict[str, Any]]) -> tuple[list, list]:
    from models.pyfunc import EmgdxModel

    model = EmgdxModel()
    model.load_context(type("Context", (), {"artifacts": {"model_dir": str(model_dir)}})())
    frame = model.predict(None, pd.DataFrame({"study_json": [json.dumps(d) for d in documents]}))
    ok = frame["error"] == ""
    predictions = [json.loads(s) for s in frame.loc[ok, "prediction_json"]]
    rejected = frame.loc[~ok, ["study_id", "error"]].itertuples(index=False)
    return predictions, [(s, e) for s, e in rejected]


def test_cli_api_upload_and_pyfunc_agree(model_dir, documents, tmp_path) -> None:
    # the pyfunc's flat output keeps JSON_TOP_K contributions: compare at its top_k
    from models.pyfunc import JSON_TOP_K

    cli_preds, cli_rejected = _cli(model_dir, documents, tmp_path)
    (api_preds, api_rejected), (up_preds, up_rejected) = _api_and_upload(model_dir, documents)
    py_preds, py_rejected = _pyfunc(model_dir, documents)

    expected_ids = [documents[0]["study_id"], documents[2]["study_id"]]
    for preds in (cli_preds, api_preds, up_preds, py_preds):
        assert [p["study_id"] for p in preds] == expected_ids
    reference = [_numbers(p) for p in cli_preds]
    assert [_numbers(p) for p in api_preds] == reference
    assert [_numbers(p) for p in up_preds] == reference
    # the pyfunc explains JSON_TOP_K findings; the first five are the same ones
    assert JSON_TOP_K >= 5
    assert [_numbers({**p, "explanation": p["explanation"][:5]}) for p in py_preds] == reference

    assert [s for s, _ in cli_rejected] == [BAD_ID]
    assert api_rejected == cli_rejected
    assert up_rejected == cli_rejected
    (where,) = cli_rejected[0][1]
    assert where == (BAD_ID, 1, "fibs", "out_of_range")
    assert [s for s, _ in py_rejected] == [BAD_ID]
    assert "fibs" in py_rejected[0][1]
