"""The prediction and the study's findings as an HL7 FHIR ``DiagnosticReport`` with ``Observation``s.

:func:`fhir_report` turns one :class:`models.prediction.StudyPrediction` and the study's
validated tables into a FHIR ``Bundle`` (type ``collection``) holding one ``DiagnosticReport``
and the ``Observation``s it lists in ``result``; the document is validated with
``fhir.resources`` (FHIR **R4B**, the closest release to the R4 most hospital systems run that
``fhir.resources`` 8 ships; R4B's ``DiagnosticReport`` and ``Observation`` are those of R4) and
returned as a JSON-ready dict. Pure: no clock, no file, no network; the same input gives the
same document (resource ids are UUIDs derived from the study id and the model version).

Content (``docs/fhir.md``):

* the report: ``status`` (``preliminary`` unless the caller says a clinician reviewed it),
  category HL7 v2-0074 ``EN`` (electroneuro), ``code`` as text (no LOINC code for an
  electrodiagnostic study was found to cite), the subject as the pseudonymous patient (or
  study) id only, ``effectiveDateTime`` when the study has a ``study_date``, ``conclusion``
  (headline, probabilities, flags, supported mimics) and ``conclusionCode`` as text (the
  clinical reference documents no SNOMED CT codes);
* one ``Observation`` per class probability, the pattern, each flag reason and each mimic
  check;
* one ``Observation`` per NCS value (distal latency, amplitude, segment velocity, F latency)
  in UCUM units (``ms``, ``mV``, ``uV``, ``m/s``) with the patient's reference limit as
  ``referenceRange`` (distal limits on the distal site only) and an L/H/N interpretation.

No other study value leaves: not the age, sex, height, temperature, site or needle-EMG grades
(the report carries the NCS values because its reference ranges are stated on them).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from bundle.tables import Bundle
from features.limits import ncs_limits
from features.vocab import CLASS_LABELS
from models.mimics import STATUS_TEXT, MimicStatus
from models.prediction import StudyPrediction

#: the FHIR release the export validates against (module docstring says why)
FHIR_VERSION = "4.3.0"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: the pseudonymous identifiers' systems (local to the lab that exports; map them on import)
STUDY_ID_SYSTEM = "urn:emgdx:study-id"
PATIENT_ID_SYSTEM = "urn:emgdx:patient-id"
#: namespace of the deterministic resource UUIDs
_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-4f4e-9a57-0c2f1d6b7e11")
#: UCUM code of each unit the contract uses
UCUM_UNITS: dict[str, str] = {
    "ms": "ms",
    "mV": "mV",
    "µV": "uV",
    "uV": "uV",
    "m/s": "m/s",
    "%": "%",
}
#: the report's statuses this export writes
REPORT_STATUSES: tuple[str, ...] = ("preliminary", "final")
#: DiagnosticReport.code: no LOINC code for an EMG/NCS study was found to cite, so text only
REPORT_CODE_TEXT = "Electrodiagnostic study (nerve conduction and needle EMG): decision support"
DISCLAIMER = "emgdx is decision support, not a diagnosis; read with the history and the raw study."

_KIND_TEXT = {"motor": "motor", "sensory": "sensory", "f_wave": "F-wave"}


def _uuid(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '|'.join(parts))}"


def _quantity(value: float, unit: str, digits: int = 2) -> dict[str, Any]:
    """A UCUM quantity (``unit`` as the contract writes it, e.g. ``µV`` -> ``uV``)."""
    code = UCUM_UNITS[unit]
    return {"value": round(float(value), digits), "unit": code, "system": UCUM, "code": code}


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _pct(p: float) -> str:
    return f"{100.0 * p:.0f} %"


def conclusion_text(pred: StudyPrediction) -> str:
    """The report's conclusion: headline, probabilities, flags and supported mimics, one text."""
    label = CLASS_LABELS.get(pred.diagnosis, pred.diagnosis)
    probs = ", ".join(
        f"{CLASS_LABELS.get(c, c)} {_pct(p)}"
        for c, p in sorted(pred.probabilities.items(), key=lambda kv: -kv[1])
    )
    parts = [
        f"Model suggestion: {label} ({_pct(pred.probabilities.get(pred.diagnosis, math.nan))}); "
        f"{pred.pattern} pattern ({_pct(pred.pattern_probability)}).",
        f"Probabilities: {probs}.",
    ]
    if pred.flag_reasons:
        parts.append("Flags: " + "; ".join(r.text for r in pred.flag_reasons) + ".")
    if pred.mimic_check is not None:
        supported = [m.name for m in pred.mimic_check if m.status is MimicStatus.SUPPORTED]
        parts.append("Mimics supported by the findings: " + (", ".join(supported) or "none") + ".")
    parts.append(DISCLAIMER)
    return " ".join(parts)


def _observation(
    full_url: str,
    subject: dict[str, Any],
    status: str,
    code_text: str,
    *,
    category: str = "exam",
    effective: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": full_url.rsplit(":", 1)[-1],
        "status": status,
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": {"text": code_text},
        "subject": subject,
        **fields,
    }
    if effective is not None:
        obs["effectiveDateTime"] = effective
    return obs


def _interpretation(code: str) -> list[dict[str, Any]]:
    display = {"L": "Low", "H": "High", "N": "Normal"}[code]
    return [{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]


def _ncs_observations(
    ncs: pd.DataFrame, studies: pd.DataFrame
) -> list[tuple[str, str, dict[str, Any]]]:
    """(id part, code text, Observation fields) of every NCS value, with its reference range.

    Distal limits (latency ULN, amplitude LLN) are stated on the distal site (the first row of
    a response) only; a proximal site carries its amplitude without a range and its segment
    velocity against the velocity LLN; F-wave rows their minimal latency against the F ULN.
    """
    if ncs.empty:
        return []
    lim = ncs_limits(ncs, studies)
    keys = ["nerve", "side", "kind"] + (["recording_site"] if "recording_site" in ncs else [])
    distal = ncs[keys].astype(str).groupby(keys, sort=False).cumcount().eq(0).to_numpy()
    out: list[tuple[str, str, dict[str, Any]]] = []
    for i, (idx, row) in enumerate(ncs.iterrows()):
        kind = str(row["kind"])
        if kind not in _KIND_TEXT:
            continue  # h_reflex / rns: not exported yet (docs/fhir.md)
        side = "left" if row["side"] == "L" else "right"
        where = f"{side} {row['nerve']} {_KIND_TEXT[kind]}, stimulation {row['stim_site']}"
        site = row.get("recording_site")
        if isinstance(site, str) and site:
            where += f", recording {site}"
        values: list[tuple[str, str, float | None, str, float | None, str]] = []
        limits = lim.iloc[i]
        if kind == "f_wave":
            values.append(("f_latency", "minimal F-wave latency", _finite(row.get("latency_ms")),
                           "ms", _finite(limits["f_latency_uln_ms"]), "high"))  # fmt: skip
        else:
            amp_unit = "mV" if kind == "motor" else "µV"
            lat_name = "distal latency" if kind == "motor" else "peak latency"
            first = bool(distal[i])
            values += [
                ("latency", lat_name, _finite(row.get("latency_ms")), "ms",
                 _finite(limits["latency_uln_ms"]) if first else None, "high"),
                ("amplitude", "amplitude", _finite(row.get("amplitude")), amp_unit,
                 _finite(limits["amplitude_lln"]) if first else None, "low"),
                ("velocity", "conduction velocity", _finite(row.get("velocity_m_s")), "m/s",
                 _finite(limits["velocity_lln_m_s"]), "low"),
            ]  # fmt: skip
            if not first:
                values = [v for v in values if v[0] != "latency"]  # proximal onset: no limit
        for part, name, value, unit, limit, side_of_limit in values:
            if value is None:
                continue
            fields: dict[str, Any] = {
                "valueQuantity": _quantity(value, unit),
                "bodySite": {"text": where},
            }
            if limit is not None:
                bound = "high" if side_of_limit == "high" else "low"
                fields["referenceRange"] = [
                    {
                        bound: _quantity(limit, unit),
                        "text": f"{'ULN' if bound == 'high' else 'LLN'} for this patient",
                    }
                ]
                bad = value > limit if bound == "high" else value < limit
                fields["interpretation"] = _interpretation(
                    ("H" if bound == "high" else "L") if bad else "N"
                )
            out.append((f"ncs|{idx}|{part}", f"{where}: {name}", fields))
    return out


def _effective(studies: pd.DataFrame) -> str | None:
    """The study date (an extra ``study_date`` column in ISO form), or None."""
    if "study_date" not in studies.columns or studies.empty:
        return None
    raw = studies["study_date"].iloc[0]
    try:
        return dt.date.fromisoformat(str(raw)[:10]).isoformat()
    except ValueError:
        return None


def _subject(studies: pd.DataFrame, study_id: str) -> dict[str, Any]:
    """The pseudonymous patient id (else the study id) as a logical reference, nothing else."""
    pid = studies["patient_id"].iloc[0] if "patient_id" in studies.columns else None
    if isinstance(pid, str) and pid:
        return {"identifier": {"system": PATIENT_ID_SYSTEM, "value": pid}}
    return {"identifier": {"system": STUDY_ID_SYSTEM, "value": study_id}}


def fhir_report(
    pred: StudyPrediction,
    study: Bundle,
    *,
    status: Literal["preliminary", "final"] = "preliminary",
) -> dict[str, Any]:
    """The FHIR R4B ``Bundle`` (collection) of one study's report, validated, as a JSON dict.

    Parameters
    ----------
    pred : StudyPrediction
        The study's prediction.
    study : Bundle
        The study's validated tables (its ``studies`` row, ``ncs`` and ``emg`` rows; other
        studies' rows are ignored).
    status : {"preliminary", "final"}
        The report's status: ``final`` only once a clinician has reviewed it.

    Returns
    -------
    dict
        The FHIR document (``resourceType`` "Bundle").

    Raises
    ------
    ValueError
        An unknown ``status``, or a document ``fhir.resources`` does not accept (a bug).
    """
    if status not in REPORT_STATUSES:
        raise ValueError(
            f"Invalid value for the 'status' parameter: {status!r}. Allowed: "
            f"{', '.join(REPORT_STATUSES)}."
        )
    sid = pred.study_id
    studies = study.studies[study.studies["study_id"].astype(str) == sid]
    ncs = study.ncs[study.ncs["study_id"].astype(str) == sid]
    key = f"{sid}|{pred.model_name}|{pred.model_version}"
    subject = _subject(studies, sid)
    effective = _effective(studies)
    obs: list[dict[str, Any]] = []

    def add(part: str, code_text: str, category: str = "exam", **fields: Any) -> None:
        url = _uuid(key, part)
        obs.append(_observation(url, subject, status, code_text, category=category,
                                effective=effective, **fields))  # fmt: skip

    for c, p in pred.probabilities.items():
        add(f"p|{c}", f"Probability of {CLASS_LABELS.get(c, c)} (emgdx model)",
            valueQuantity=_quantity(100.0 * p, "%", 1))  # fmt: skip
    add("pattern", "Electrodiagnostic pattern (emgdx model)",
        valueCodeableConcept={"text": pred.pattern},
        component=[{"code": {"text": "Probability of the pattern"},
                    "valueQuantity": _quantity(100.0 * pred.pattern_probability, "%", 1)}])  # fmt: skip
    for r in pred.flag_reasons:
        add(f"flag|{r.code}", f"Flag: {r.code}", valueString=r.text)
    for m in pred.mimic_check or []:
        add(f"mimic|{m.code}", f"ALS mimic check: {m.name}",
            valueCodeableConcept={"text": STATUS_TEXT[m.status]},
            note=[{"text": m.sentence}])  # fmt: skip
    for part, code_text, fields in _ncs_observations(ncs, studies):
        add(part, code_text, **fields)

    report_url = _uuid(key, "report")
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": report_url.rsplit(":", 1)[-1],
        "identifier": [{"system": STUDY_ID_SYSTEM, "value": sid}],
        "status": status,
        "category": [
            {
                "coding": [
                    {"system": V2_0074, "code": "EN", "display": "Electroneuro (EEG, EMG,EP,PSG)"}
                ]
            }
        ],  # fmt: skip
        "code": {"text": REPORT_CODE_TEXT},
        "subject": subject,
        "result": [{"reference": f"urn:uuid:{o['id']}"} for o in obs],
        "conclusion": conclusion_text(pred),
        "conclusionCode": [{"text": CLASS_LABELS.get(pred.diagnosis, pred.diagnosis)}],
    }
    if effective is not None:
        report["effectiveDateTime"] = effective
    doc = {
        "resourceType": "Bundle",
        "id": _uuid(key, "bundle").rsplit(":", 1)[-1],
        "meta": {
            "tag": [
                {
                    "system": "urn:emgdx:model",
                    "code": pred.model_version,
                    "display": pred.model_name,
                }
            ]
        },  # fmt: skip
        "type": "collection",
        "entry": [{"fullUrl": report_url, "resource": report}]
        + [{"fullUrl": f"urn:uuid:{o['id']}", "resource": o} for o in obs],
    }
    return validate_fhir(doc)


def validate_fhir(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``doc`` with ``fhir.resources`` (R4B ``Bundle``) and return its JSON form.

    Raises
    ------
    ValueError
        The document is not a valid FHIR R4B Bundle (the library's message, shortened).
    """
    try:
        from fhir.resources.R4B.bundle import Bundle as FhirBundle
    except ImportError as exc:  # the optional extra is missing
        raise ImportError(
            "The FHIR export needs the 'fhir' extra: pip install 'emgdx[fhir]'."
        ) from exc
    try:
        parsed = FhirBundle.model_validate(dict(doc))
    except Exception as exc:  # pydantic.ValidationError and fhir_core's own errors
        raise ValueError(f"FHIR R4B validation failed: {str(exc)[:400]}") from exc
    return dict(json.loads(parsed.model_dump_json(exclude_none=True)))
