"""What the pages show, as plain template contexts (no scoring or SHAP logic here)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.charts import probability_bars_svg, waterfall_svg
from app.findings import emg_rows, fmt_number, ncs_rows, plain
from app.store import Dataset, StudyStore
from bundle.tables import STUDY_COLUMNS
from features.vocab import CLASS_LABELS, CLASSES
from models.prediction import StudyPrediction

#: list filter values -> label
FLAG_FILTERS: dict[str, str] = {
    "low_confidence": "Low confidence",
    "unlike_training_data": "Unlike the training data",
    "disagrees": "Guideline check disagrees",
    "invalid": "Validation errors",
}
#: guideline summary keys -> label (criteria named after their sources, see models/rules.py)
GUIDELINE_LABELS: dict[str, str] = {
    "rule_diagnosis": "Rule-based diagnosis from published criteria",
    "lmn_regions": "Regions with lower motor neuron signs (Awaji / Gold Coast)",
    "demyelinating_nerves": "Motor nerves meeting demyelination criteria (EAN/PNS)",
    "length_dependent": "Length-dependent pattern",
    "myopathic_share": "Muscles with myopathic motor units",
    "single_root": "Single-root distribution",
    "sensory": "Sensory responses",
}
#: words that mark a guideline note about a mimic the structured check covers
#: (:func:`models.rules.mimics` text -> the :mod:`models.mimics` table shows it instead)
CHECKED_MIMIC_WORDS: tuple[str, ...] = ("multifocal motor neuropathy", "kennedy disease")
#: extra study columns a lab added (e.g. free-text notes) shown in the header, at most
MAX_EXTRA_FACTS = 5
PATTERN_LABELS = {"neurogenic": "Neurogenic", "myopathic": "Myopathic", "normal": "Normal"}


@dataclass(frozen=True)
class ListRow:
    """One row of the study list."""

    key: str
    dataset: str
    study_id: str
    prediction: StudyPrediction | None
    label: str | None
    invalid: bool

    @property
    def flags(self) -> list[str]:
        """Human flag names of the row."""
        out = []
        if self.invalid:
            out.append(FLAG_FILTERS["invalid"])
        p = self.prediction
        if p is not None:
            if p.low_confidence:
                out.append(FLAG_FILTERS["low_confidence"])
            if p.unlike_training_data:
                out.append(FLAG_FILTERS["unlike_training_data"])
            if p.guideline and p.guideline.get("agrees") is False:
                out.append(FLAG_FILTERS["disagrees"])
        return out


def _label_of(ds: Dataset) -> dict[str, str]:
    """study_id -> reference diagnosis written in the file (training bundles only)."""
    studies = ds.bundle.studies
    if "diagnosis" not in studies.columns:
        return {}
    labels = studies["diagnosis"]
    keep = labels.notna()
    return dict(
        zip(studies.loc[keep, "study_id"].astype(str), labels[keep].astype(str), strict=True)
    )


def list_rows(
    store: StudyStore, diagnosis: str = "", flag: str = "", query: str = ""
) -> list[ListRow]:
    """All studies of all datasets that pass the filters, uploads first."""
    rows: list[ListRow] = []
    q = query.strip().lower()
    for ds in store.datasets():
        labels = _label_of(ds)
        for sid in ds.study_ids:
            if q and q not in sid.lower():
                continue
            row = ListRow(
                ds.key,
                ds.name,
                sid,
                ds.predictions.get(sid),
                labels.get(sid),
                sid in ds.invalid_ids,
            )
            if diagnosis and (row.prediction is None or row.prediction.diagnosis != diagnosis):
                continue
            if flag and FLAG_FILTERS.get(flag) not in row.flags:
                continue
            rows.append(row)
    return rows


def _facts(ds: Dataset, study_id: str) -> list[tuple[str, str]]:
    """The study's header facts (age, sex, height, temperature, site)."""
    r = ds.study_row(study_id)
    facts = [
        ("Age", f"{fmt_number(r.get('age_years'), 0)} years"),
        ("Sex", str(r.get("sex")) if isinstance(r.get("sex"), str) else "–"),
        ("Height", _with_unit(r.get("height_cm"), "cm")),
        (
            "Limb temperature",
            _with_unit(r.get("limb_temp_c"), "°C", 1) or "not recorded (assumed ≥ 32 °C)",
        ),
        ("Site", str(r.get("site_id")) if isinstance(r.get("site_id"), str) else "–"),
        ("Source", ds.name),
    ]
    extra = [c for c in ds.bundle.studies.columns if c not in STUDY_COLUMNS][:MAX_EXTRA_FACTS]
    facts += [(str(c).replace("_", " ").capitalize(), plain(r.get(c))) for c in extra]
    return [(k, v or "–") for k, v in facts]


def _with_unit(value: Any, unit: str, digits: int = 0) -> str:
    text = fmt_number(value, digits)
    return "" if text == "–" else f"{text} {unit}"


def guideline_items(guideline: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows of the guideline check, in a fixed clinical order."""
    items = []
    for key, label in GUIDELINE_LABELS.items():
        if key not in guideline:
            continue
        value = guideline[key]
        text = CLASS_LABELS.get(str(value), str(value)) if key == "rule_diagnosis" else str(value)
        items.append((label, text))
    return items


def guideline_mimic_notes(pred: StudyPrediction) -> list[str]:
    """The guideline's "outside the six classes" notes, less those the mimic table covers.

    When the prediction carries the structured mimic check (``_mimics.html``), its MMN and
    Kennedy-disease verdicts replace the guideline's text notes about them, so the page never
    states two verdicts on one mimic; the other notes (neuronopathy, entrapment, plexus) stay.
    """
    notes = [str(n) for n in (pred.guideline or {}).get("mimics") or []]
    if not pred.mimic_check:
        return notes
    return [n for n in notes if not any(w in n.lower() for w in CHECKED_MIMIC_WORDS)]


def study_context(ds: Dataset, study_id: str) -> dict[str, Any]:
    """Everything ``study.html`` shows for one study."""
    pred = ds.predictions.get(study_id)
    ncs, nflags = ds.ncs_of(study_id)
    emg, eflags = ds.emg_of(study_id)
    ctx: dict[str, Any] = {
        "ds": ds,
        "study_id": study_id,
        "facts": _facts(ds, study_id),
        "reference_label": _label_of(ds).get(study_id),
        "pred": pred,
        "problems": ds.problems_of(study_id),
        "invalid": study_id in ds.invalid_ids,
        "ncs_rows": ncs_rows(ncs, nflags),
        "emg_rows": emg_rows(emg, eflags),
        "n_abnormal": int(
            nflags.filter(like="abn_").to_numpy().sum()
            + eflags.filter(like="abn_").to_numpy().sum()
        ),
    }
    if pred is None:
        return ctx
    probs = {c: float(pred.probabilities.get(c, 0.0)) for c in CLASSES}
    total = None
    if pred.base_value is not None and pred.group_contributions:
        total = float(pred.base_value) + float(sum(pred.group_contributions.values()))
        if not math.isfinite(total):
            total = None
    label = CLASS_LABELS.get(pred.diagnosis, pred.diagnosis)
    ctx.update(
        diagnosis_label=label,
        pattern_label=PATTERN_LABELS.get(pred.pattern, pred.pattern),
        runner_up_label=CLASS_LABELS.get(pred.runner_up or "", pred.runner_up),
        prob_svg=probability_bars_svg(probs, CLASS_LABELS, predicted=pred.diagnosis),
        waterfall=waterfall_svg(pred.explanation, label, pred.base_value, total),
        guideline=guideline_items(pred.guideline or {}),
        guideline_notes=list((pred.guideline or {}).get("notes") or []),
        guideline_mimics=guideline_mimic_notes(pred),
        guideline_agrees=(pred.guideline or {}).get("agrees"),
        rule_label=CLASS_LABELS.get(str((pred.guideline or {}).get("rule_diagnosis")), None),
    )
    return ctx
