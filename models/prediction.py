"""The prediction output of the contract, as typed objects (JSON keeps the nesting, CSV flattens).

Every producer (``emgdx predict``, the MLflow pyfunc, the web app and ``POST /api/predict``)
returns :class:`StudyPrediction` objects and serialises them only through
:meth:`StudyPrediction.to_dict` and :func:`to_flat_frame`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from features.vocab import CLASSES
from models.flags import FlagReason
from models.focal import FocalFinding
from models.scope import ScopeAssessment


@dataclass(frozen=True)
class Contribution:
    """One finding that pushed the prediction, in clinical terms.

    Attributes
    ----------
    feature : str
        Feature name (registry key).
    label : str
        Human label from the feature registry (e.g. "Sural SNAP amplitude").
    group : str
        Clinical group (NCS motor, NCS sensory, F-wave, spontaneous activity, MUAP,
        recruitment, distribution, coverage, patient).
    value : float | None
        Feature value (None when not measured).
    value_text : str
        The value in clinical units (e.g. "3 µV, 40 % of LLN").
    limit_text : str
        The reference limit it is judged against (e.g. "LLN 7.5 µV"), or "".
    shap : float
        SHAP contribution in log-odds of the explained class.
    sentence : str
        A sentence a clinician can read.
    """

    feature: str
    label: str
    group: str
    value: float | None
    value_text: str
    limit_text: str
    shap: float
    sentence: str


@dataclass(frozen=True)
class StudyPrediction:
    """The contract's prediction for one study.

    ``flag_reasons`` say why ``low_confidence`` or ``unlike_training_data`` is set, each a
    code and its sentence (:class:`models.flags.FlagReason`).
    """

    study_id: str
    diagnosis: str
    probabilities: dict[str, float]
    pattern: str
    pattern_probability: float
    explanation: list[Contribution]
    model_name: str
    model_version: str
    low_confidence: bool
    unlike_training_data: bool
    flag_reasons: list[FlagReason] = field(default_factory=list)
    runner_up: str | None = None
    runner_up_explanation: list[Contribution] = field(default_factory=list)
    base_value: float | None = None
    group_contributions: dict[str, float] = field(default_factory=dict)
    guideline: dict[str, Any] = field(default_factory=dict)
    limitations: list[str] = field(default_factory=list)
    #: focal neuropathies at entrapment sites, beside any class (models.focal)
    focal_findings: list[FocalFinding] = field(default_factory=list)
    #: whether the six classes apply: in scope / outside / insufficient (models.scope)
    scope: ScopeAssessment | None = None
    #: what the page states first; never a confident in-scope class when scope says otherwise
    headline: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Nested JSON-ready form (the contract's JSON output)."""
        return asdict(self)


def to_flat_frame(predictions: list[StudyPrediction], top_k: int = 3) -> pd.DataFrame:
    """Flatten predictions to the contract's CSV form: one row a study, ``p_<class>`` columns."""
    rows = []
    for p in predictions:
        row: dict[str, Any] = {
            "study_id": p.study_id,
            "diagnosis": p.diagnosis,
            **{f"p_{c}": p.probabilities.get(c, float("nan")) for c in CLASSES},
            "pattern": p.pattern,
            "p_pattern": p.pattern_probability,
            "runner_up": p.runner_up,
            "low_confidence": p.low_confidence,
            "unlike_training_data": p.unlike_training_data,
            "flag_codes": " ".join(r.code for r in p.flag_reasons),
            "flag_reasons": "; ".join(r.text for r in p.flag_reasons),
            "limitations": " ".join(p.limitations),
            "model_name": p.model_name,
            "model_version": p.model_version,
        }
        for i, c in enumerate(p.explanation[:top_k], start=1):
            row[f"reason_{i}"] = c.sentence
            row[f"reason_{i}_shap"] = c.shap
        rows.append(row)
    return pd.DataFrame(rows)
