"""The prediction output of the contract, as typed objects (JSON keeps the nesting, CSV flattens).

Every producer (``emgdx predict``, the MLflow pyfunc, the web app and ``POST /api/predict``)
returns :class:`StudyPrediction` objects and serialises them only through
:meth:`StudyPrediction.to_dict` and :func:`to_flat_frame`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from features.focal import FocalFinding
from features.vocab import CLASSES
from models.flags import FlagReason
from models.localisation import Localisation
from models.mimics import MimicCheck, supported_codes
from models.scope import ScopeAssessment

#: between the classes of a prediction set in the CSV form ("radiculopathy|als")
SET_SEPARATOR = "|"


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
    code and its sentence (:class:`models.flags.FlagReason`). ``mimic_check`` is the ALS-mimic
    check (:mod:`models.mimics`), filled when ALS is called or the pattern is neurogenic, else
    None. ``localisation`` is the most
    likely radiculopathy root and side (:class:`models.localisation.Localisation`), filled when
    the top class or the runner-up is radiculopathy or the pattern is neurogenic, else None.

    ``prediction_set`` is the class-conditional conformal set (:mod:`models.conformal`): the
    classes, in decreasing probability, that the study's probabilities do not rule out at
    nominal coverage ``prediction_set_coverage`` per class (e.g. 0.9); it may be empty (no
    class fits) and is empty with ``prediction_set_coverage`` None for a model saved without
    thresholds (``model.json`` schema 1 or 2).
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
    mimic_check: list[MimicCheck] | None = None
    localisation: Localisation | None = None
    prediction_set: list[str] = field(default_factory=list)
    prediction_set_coverage: float | None = None
    #: focal neuropathies at entrapment sites, beside any class (features.focal)
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
            # "radiculopathy|als": the conformal set in probability order ("" when empty)
            "prediction_set": SET_SEPARATOR.join(p.prediction_set),
            "prediction_set_coverage": p.prediction_set_coverage,
            "low_confidence": p.low_confidence,
            "unlike_training_data": p.unlike_training_data,
            "flag_codes": " ".join(r.code for r in p.flag_reasons),
            "flag_reasons": "; ".join(r.text for r in p.flag_reasons),
            "limitations": " ".join(p.limitations),
            "mimics_supported": supported_codes(p.mimic_check),
            **_localisation_columns(p.localisation),
            **_scope_columns(p),
            "model_name": p.model_name,
            "model_version": p.model_version,
        }
        for i, c in enumerate(p.explanation[:top_k], start=1):
            row[f"reason_{i}"] = c.sentence
            row[f"reason_{i}_shap"] = c.shap
        rows.append(row)
    return pd.DataFrame(rows)


def _scope_columns(p: StudyPrediction) -> dict[str, Any]:
    """``headline``, ``scope`` (in_scope / outside / insufficient; None without a detector),
    ``p_outside``, ``outside_most_like`` and ``focal_findings`` ("; "-separated sentences)."""
    sc = p.scope
    return {
        "headline": p.headline,
        "scope": sc.status if sc is not None else None,
        "p_outside": sc.probability if sc is not None else None,
        "outside_most_like": sc.most_like if sc is not None else None,
        "focal_findings": "; ".join(f.text for f in p.focal_findings),
    }


def _localisation_columns(loc: Localisation | None) -> dict[str, Any]:
    """``radic_root``, ``radic_side``, ``radic_confidence`` (None when not localised)."""
    named = loc is not None and loc.localisable
    return {
        "radic_root": loc.root if named and loc is not None else None,
        "radic_side": loc.side if named and loc is not None else None,
        "radic_confidence": loc.confidence if named and loc is not None else None,
    }
