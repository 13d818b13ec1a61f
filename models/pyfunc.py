"""The MLflow pyfunc wrapper: study JSON documents in, the contract's prediction output out.

Logged as *models-from-code* (the stack notes' recommendation: nothing is pickled, the model
directory travels as an artifact, ``features``/``models`` travel as ``code_paths``), so
``mlflow.pyfunc.load_model("models:/emgdx@champion").predict(df)`` works on any machine with the
pinned requirements and no network.

Input: a DataFrame with a ``study_json`` column (one contract JSON document per row, as a
string or dict), or a list of study dicts, or one study dict. Output: the flat prediction frame
(:func:`models.prediction.to_flat_frame`) plus ``prediction_json`` (the nested form) and
``error`` (validation problems of a rejected study; its other columns are empty), the one policy of
:mod:`models.service`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import pandas as pd

from models.prediction import to_flat_frame
from models.service import PredictionResult

logger = logging.getLogger(__name__)

#: reasons per study in the flat output
FLAT_TOP_K = 3
#: contributions per explanation in ``prediction_json``
JSON_TOP_K = 8
INPUT_COLUMN = "study_json"
_ENTRY_SCRIPT = """\
# models-from-code entry point for the emgdx pyfunc (written by models.pyfunc.log_pyfunc_model)
import mlflow

from models.pyfunc import EmgdxModel

mlflow.models.set_model(EmgdxModel())
"""
#: distributions the model needs at inference (pinned to the installed versions when logged)
_REQUIREMENTS = ("mlflow", "lightgbm", "numpy", "pandas", "scipy", "scikit-learn", "pyarrow")


def example_study() -> dict[str, Any]:
    """A small hand-written, contract-valid study (the pyfunc's input example).

    Not a real patient and not a test oracle: a 60-year-old with a few nerves and muscles.
    """
    return {
        "study_id": "example-001",
        "age_years": 60,
        "sex": "F",
        "height_cm": 168,
        "ncs": [
            {"nerve": "median", "side": "R", "kind": "motor", "stim_site": "wrist",
             "recording_site": "apb", "latency_ms": 3.6, "amplitude": 8.5, "distance_mm": 70},
            {"nerve": "median", "side": "R", "kind": "motor", "stim_site": "elbow",
             "recording_site": "apb", "latency_ms": 7.7, "amplitude": 8.1, "distance_mm": 230,
             "velocity_m_s": 56.0},
            {"nerve": "median", "side": "R", "kind": "sensory", "stim_site": "wrist",
             "recording_site": "digit2", "latency_ms": 3.2, "amplitude": 28.0,
             "distance_mm": 130},
            {"nerve": "sural", "side": "R", "kind": "sensory", "stim_site": "calf",
             "recording_site": "lateral_malleolus", "latency_ms": 3.7, "amplitude": 11.0,
             "distance_mm": 140},
            {"nerve": "peroneal", "side": "R", "kind": "motor", "stim_site": "ankle",
             "recording_site": "edb", "latency_ms": 4.9, "amplitude": 5.0, "distance_mm": 90},
            {"nerve": "tibial", "side": "R", "kind": "f_wave", "stim_site": "ankle",
             "recording_site": "ah", "latency_ms": 50.0, "persistence_pct": 80},
        ],
        "emg": [
            {"muscle": "first_dorsal_interosseous", "side": "R", "fibs": 0, "psw": 0,
             "fascics": 0, "muap_amplitude_uv": 900, "muap_duration_ms": 10.5,
             "recruitment": "normal"},
            {"muscle": "tibialis_anterior", "side": "R", "fibs": 0, "psw": 0, "fascics": 0,
             "muap_amplitude_grade": "normal", "muap_duration_grade": "normal",
             "recruitment": "normal"},
            {"muscle": "deltoid", "side": "R", "fibs": 0, "psw": 0, "fascics": 0,
             "recruitment": "normal"},
        ],
    }  # fmt: skip


def _documents(model_input: Any) -> list[Any]:
    """Normalise the accepted input forms to a list of study documents (dicts)."""
    if isinstance(model_input, pd.DataFrame):
        if INPUT_COLUMN in model_input.columns:
            raw = model_input[INPUT_COLUMN].tolist()
        else:  # a frame whose rows are study documents (MLflow's conversion of a dict list)
            raw = model_input.to_dict(orient="records")
    elif isinstance(model_input, dict):
        raw = [model_input[INPUT_COLUMN]] if INPUT_COLUMN in model_input else [model_input]
    elif isinstance(model_input, str):
        raw = [model_input]
    else:
        raw = list(model_input)
    docs = []
    for item in raw:
        if isinstance(item, dict) and set(item) == {INPUT_COLUMN}:
            item = item[INPUT_COLUMN]
        docs.append(json.loads(item) if isinstance(item, str | bytes) else item)
    return docs


class EmgdxModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper around :class:`models.predictor.Predictor` (artifact ``model_dir``)."""

    def load_context(self, context: Any) -> None:
        """Load the model directory shipped as the ``model_dir`` artifact."""
        from models.predictor import Predictor

        self._predictor = Predictor.from_dir(Path(context.artifacts["model_dir"]))

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        """Predict and explain every study document; rejected studies get an ``error``.

        ``model_input`` is a DataFrame with a ``study_json`` column, a list of study dicts or
        one study dict; returns a DataFrame. (No type hints on purpose: MLflow 3 would turn
        them into its own, stricter input validation.)
        """
        from models.service import predict_documents

        result = predict_documents(
            self._predictor, _documents(model_input), top_k=JSON_TOP_K, source="pyfunc input"
        )
        return prediction_frame(result)


def prediction_frame(result: PredictionResult) -> pd.DataFrame:
    """The pyfunc's output frame: flat predictions, ``prediction_json``, then the rejected.

    A rejected study has its ``study_id`` (None for an error of no study) and ``error`` (its
    problems, joined); its other columns are empty. A predicted study has ``error`` "".
    """
    preds = result.predictions
    flat = to_flat_frame(preds, top_k=FLAT_TOP_K)
    flat["prediction_json"] = [json.dumps(p.to_dict(), allow_nan=False) for p in preds]
    flat["error"] = ""
    rejected = [
        {"study_id": r.study_id, "error": "; ".join(str(p) for p in r.problems)}
        for r in result.rejected
    ]
    if rejected:
        flat = pd.concat([flat, pd.DataFrame(rejected)], ignore_index=True)
    return flat


def pip_requirements() -> list[str]:
    """Pinned requirements of the inference path (installed versions)."""
    reqs = []
    for dist in _REQUIREMENTS:
        try:
            reqs.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            reqs.append(dist)
    return reqs


def _code_paths() -> list[str]:
    """The project packages the pyfunc imports (shipped beside the model)."""
    import bundle
    import features
    import models

    return [str(Path(next(iter(m.__path__)))) for m in (bundle, features, models)]


def log_pyfunc_model(
    model_dir: Path, *, name: str = "model", registered_model_name: str | None = None
) -> mlflow.models.model.ModelInfo:
    """Log a saved-model directory as the emgdx pyfunc (inside the active run, or a new one).

    Parameters
    ----------
    model_dir : Path
        Saved-model directory (``booster.txt``, ``model.json``, ``ood_profile.json``).
    name : str
        Name of the logged model within the run.
    registered_model_name : str, optional
        Also register it under this name (e.g. ``"emgdx"``).

    Returns
    -------
    mlflow.models.model.ModelInfo
    """
    from mlflow.models import infer_signature

    from models.predictor import Predictor

    model_dir = Path(model_dir)
    predictor = Predictor.from_dir(model_dir)  # fail early on a broken model dir
    example = pd.DataFrame({INPUT_COLUMN: [json.dumps(example_study())]})
    model = EmgdxModel()
    model._predictor = predictor
    output = model.predict(None, example)
    signature = infer_signature(example, output)
    with tempfile.TemporaryDirectory(prefix="emgdx-pyfunc-") as tmp:
        entry = Path(tmp) / "emgdx_pyfunc_entry.py"
        entry.write_text(_ENTRY_SCRIPT)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(entry),
            artifacts={"model_dir": str(model_dir)},
            code_paths=_code_paths(),
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )
    logger.info("logged pyfunc model %s (%s)", info.model_uri, predictor.version)
    return info
