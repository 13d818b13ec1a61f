"""JSON API: health, predict (contract output + explanation), row-level 422, 413, 503, OpenAPI."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from features.vocab import CLASSES


def test_health_reports_the_loaded_model(client: Any) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["model_loaded"] is True
    assert body["model_name"] == "emgdx"
    assert body["model_version"].startswith("unregistered (model tiny-")  # a model directory


def test_predict_returns_the_contract_output(client: Any, example_study: dict[str, Any]) -> None:
    r = client.post("/api/predict", json=example_study)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "not a diagnosis" in body["disclaimer"]
    (p,) = body["predictions"]
    assert p["study_id"] == "demo-als-001"
    assert set(p["probabilities"]) == set(CLASSES)
    assert math.isclose(sum(p["probabilities"].values()), 1.0, abs_tol=1e-6)
    assert p["diagnosis"] == max(p["probabilities"], key=p["probabilities"].get)
    assert p["pattern"] in {"neurogenic", "myopathic", "normal"}
    assert 0.0 <= p["pattern_probability"] <= 1.0
    assert p["model_version"] == client.get("/api/health").json()["model_version"]
    assert 1 <= len(p["explanation"]) <= 6  # top_k of the test settings
    shaps = [abs(c["shap"]) for c in p["explanation"]]
    assert shaps == sorted(shaps, reverse=True)
    assert all(c["sentence"] and c["label"] for c in p["explanation"])
    assert isinstance(p["low_confidence"], bool)
    assert isinstance(p["unlike_training_data"], bool)
    assert "rule_diagnosis" in p["guideline"]


def test_predict_list_and_top_k(client: Any, example_study: dict[str, Any]) -> None:
    second = copy.deepcopy(example_study)
    second["study_id"] = "demo-002"
    r = client.post("/api/predict?top_k=3", json=[example_study, second])
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["study_id"] for p in preds] == ["demo-als-001", "demo-002"]
    assert all(len(p["explanation"]) == 3 for p in preds)


def test_predict_422_names_row_and_column(client: Any, example_study: dict[str, Any]) -> None:
    example_study["ncs"][1]["amplitude"] = "abc"
    example_study["emg"][2]["muscle"] = "not_a_muscle"
    r = client.post("/api/predict", json=example_study)
    assert r.status_code == 422
    errors = r.json()["errors"]
    amp = [e for e in errors if e["column"] == "amplitude"]
    assert amp
    assert amp[0]["row"] == 2
    assert amp[0]["value"] == "abc"
    assert "ncs" in amp[0]["file"]
    assert amp[0]["study_id"] == "demo-als-001"
    assert amp[0]["expected"]
    muscle = [e for e in errors if e["column"] == "muscle"]
    assert muscle
    assert muscle[0]["row"] == 3
    assert "emg" in muscle[0]["file"]


def test_predict_unit_mixup_names_likely_cause(client: Any, example_study: dict[str, Any]) -> None:
    example_study["ncs"][0]["amplitude"] = 2100  # µV typed into the motor mV column
    r = client.post("/api/predict", json=example_study)
    assert r.status_code == 422
    (err,) = [e for e in r.json()["errors"] if e["column"] == "amplitude"]
    assert err["row"] == 1
    assert err["cause"]


def test_predict_bad_json_and_wrong_shape(client: Any) -> None:
    r = client.post(
        "/api/predict", content=b'{"study_id": "x",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["kind"] == "unreadable_file"
    assert (
        "valid JSON (Expecting property name enclosed in double quotes at line 1, column 18)"
        in (err["expected"])
    )
    r = client.post("/api/predict", json="just a string")
    assert r.status_code == 422
    assert r.json()["errors"]


def test_predict_too_large_is_413(client: Any, app_settings: Any) -> None:
    body = json.dumps(
        {"study_id": "big", "age_years": 50, "notes": "x" * (app_settings.max_upload_bytes + 10)}
    )
    r = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "larger than the limit" in r.json()["errors"][0]["cause"]


def test_openapi_schema_served(client: Any) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/predict" in paths
    assert "/api/health" in paths
    assert "requestBody" in paths["/api/predict"]["post"]
    assert "/" not in paths  # the HTML pages are not part of the API schema


@pytest.fixture(scope="module")
def no_model_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    missing = tmp_path_factory.mktemp("nomodel") / "model"
    with TestClient(create_app(Settings(model=str(missing), bundle=None))) as c:
        yield c


def test_without_model_health_says_so_and_predict_is_503(
    no_model_client: Any, example_study: dict[str, Any]
) -> None:
    h = no_model_client.get("/api/health")
    assert h.status_code == 200
    assert h.json()["model_loaded"] is False
    assert "make run" in h.json()["message"]
    r = no_model_client.post("/api/predict", json=example_study)
    assert r.status_code == 503
    assert "make run" in r.json()["errors"][0]["cause"]
    page = no_model_client.get("/")
    assert page.status_code == 200
    assert "make run" in page.text
    assert 'id="model-missing"' in page.text
