"""What the pages show, as plain template contexts (no scoring or SHAP logic here)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from app.charts import probability_bars_svg, waterfall_svg
from app.findings import Cell, emg_rows, fmt_number, plain
from app.report import ReportFindings, TableSummary, impression, in_sentence
from app.store import Dataset, StudyStore
from app.tables import NcsTable, median_ulnar, ncs_tables, side_to_side
from bundle.tables import STUDY_COLUMNS
from features.vocab import CLASS_LABELS, CLASSES
from models.flags import FlagCode
from models.prediction import Contribution, StudyPrediction

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
        """Human flag names of the row (only flags that change a decision, see :func:`decision_flags`)."""
        out = [FLAG_FILTERS["invalid"]] if self.invalid else []
        if self.prediction is not None:
            out += [FLAG_FILTERS[k] for k in dict.fromkeys(decision_flag_kinds(self.prediction))]
        return out


def guideline_changes_decision(pred: StudyPrediction) -> bool:
    """The guideline check disagrees in a way that changes the decision.

    True when the rule-based diagnosis and the model differ and one of them is ALS (the
    criteria for ALS are unmet while the model says ALS, or met while it says otherwise),
    and the model's prediction set does not already name the rule's diagnosis. Other
    disagreements are shown quietly in the guideline section, not as a flag.
    """
    g = pred.guideline or {}
    rule = g.get("rule_diagnosis")
    if g.get("agrees") is not False or not rule or str(rule) == pred.diagnosis:
        return False
    if len(pred.prediction_set) > 1 and str(rule) in pred.prediction_set:
        return False
    return "als" in {str(rule), pred.diagnosis}


def decision_flag_kinds(pred: StudyPrediction) -> list[str]:
    """The :data:`FLAG_FILTERS` key of each flag :func:`decision_flags` shows."""
    return [k for k, _ in _decision_flags(pred)]


def decision_flags(pred: StudyPrediction) -> list[str]:
    """The flags of a study, one clear sentence each, only those that change a decision.

    * ALS is called with abnormal sensory responses: always.
    * A disease call (not a normal study) that the findings examined do not establish, when
      the prediction set names that class alone; a "normal" call, or one whose set already
      names other classes, shows quietly (the set and "What this study cannot show").
    * A close call when ALS is the call; other close calls show quietly as the runner-up and
      the prediction set ("normal or radiculopathy", "radiculopathy or ALS").
    * Unlike the training data: always, once, with its reason.
    * The guideline check disagrees: only when :func:`guideline_changes_decision`.
    """
    return [t for _, t in _decision_flags(pred)]


def _decision_flags(pred: StudyPrediction) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    als_call = pred.diagnosis == "als"
    for r in pred.flag_reasons:
        text = r.text[:1].upper() + r.text[1:]
        if r.code is FlagCode.CLOSE_CALL and not als_call:
            continue
        if r.code is FlagCode.NOT_ESTABLISHED and (
            pred.diagnosis == "normal" or len(pred.prediction_set) > 1
        ):
            continue
        kind = (
            "unlike_training_data" if r.code is FlagCode.UNLIKE_TRAINING_DATA else "low_confidence"
        )
        out.append((kind, text + ("" if text.endswith(".") else ".")))
    if guideline_changes_decision(pred):
        rule = str((pred.guideline or {}).get("rule_diagnosis"))
        out.append(
            (
                "disagrees",
                f"Published criteria point to {in_sentence(CLASS_LABELS.get(rule, rule))}, not "
                f"{in_sentence(CLASS_LABELS.get(pred.diagnosis, pred.diagnosis))}: review the study.",
            )
        )
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
    tables = ncs_tables(ncs, nflags)
    ctx: dict[str, Any] = {
        "ds": ds,
        "study_id": study_id,
        "facts": _facts(ds, study_id),
        "reference_label": _label_of(ds).get(study_id),
        "pred": pred,
        "problems": ds.problems_of(study_id),
        "invalid": study_id in ds.invalid_ids,
        "ncs_tables": tables,
        "side_to_side": side_to_side(ncs, nflags),
        "median_ulnar": median_ulnar(ncs, nflags),
        "emg_rows": emg_rows(emg, eflags),
        "report": impression(
            report_findings(
                tables, emg, eflags, tuple(f.text for f in pred.focal_findings) if pred else ()
            ),
            pred,
        ),
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
    examined = [c for c in pred.explanation if is_examined(c)]
    not_examined = [c for c in pred.explanation if not is_examined(c)]
    not_examined_shap = float(sum(c.shap for c in not_examined))
    ctx.update(
        diagnosis_label=label,
        pattern_label=PATTERN_LABELS.get(pred.pattern, pred.pattern),
        runner_up_label=CLASS_LABELS.get(pred.runner_up or "", pred.runner_up),
        prob_svg=probability_bars_svg(probs, CLASS_LABELS, predicted=pred.diagnosis),
        waterfall=waterfall_svg(
            examined, label, pred.base_value, total, not_examined_shap, probs[pred.diagnosis]
        ),
        examined=examined,
        not_examined=not_examined,
        runner_up_for=[c for c in pred.runner_up_explanation if c.shap < 0 and is_examined(c)],
        guideline=guideline_items(pred.guideline or {}),
        guideline_notes=list((pred.guideline or {}).get("notes") or []),
        guideline_mimics=guideline_mimic_notes(pred),
        guideline_agrees=(pred.guideline or {}).get("agrees"),
        guideline_changes_decision=guideline_changes_decision(pred),
        flags=decision_flags(pred),
        rule_label=CLASS_LABELS.get(str((pred.guideline or {}).get("rule_diagnosis")), None),
    )
    return ctx


#: explanation groups that describe the patient or what was tested, not a finding
CONTEXT_GROUPS = frozenset({"patient", "coverage"})


def is_examined(c: Contribution) -> bool:
    """Whether a contribution rests on a finding that was measured (never headline the rest).

    Not measured / not assessable values and the patient's details (age, height) or the count
    of what was tested are "not examined" findings: they are listed apart, never as reasons.
    """
    return c.value is not None and c.group not in CONTEXT_GROUPS


def _side_word(side: str) -> str:
    return {"L": "left", "R": "right"}.get(side.upper(), "") if side != "–" else ""


def _ncs_summary(t: NcsTable) -> TableSummary:
    out = []
    for r in t.rows:
        bad = [
            f"{c.label.lower()} {r.cells[c.key].text}"
            + (f" ({r.cells[c.key].limit})" if r.cells[c.key].limit else "")
            for c in t.columns
            if r.cells[c.key].abnormal
        ]
        if bad:
            where = " ".join(w for w in (_side_word(r.side), r.nerve) if w)
            site = f" ({r.stim_site})" if r.stim_site != "–" else ""
            out.append(f"{where}{site}: " + ", ".join(bad))
    return TableSummary(t.title, len({(r.nerve, r.side) for r in t.rows}), tuple(out))


#: needle EMG columns named in the summary, in display order
EMG_SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("insertional", "insertional activity"),
    ("fibs", "fibrillations"),
    ("psw", "positive sharp waves"),
    ("fascics", "fasciculations"),
    ("crd", "complex repetitive discharges"),
    ("myotonia", "myotonic discharges"),
    ("muap_amplitude", "MUAP amplitude"),
    ("muap_duration", "MUAP duration"),
    ("polyphasia", "polyphasia"),
    ("recruitment", "recruitment"),
    ("activation", "activation"),
    ("unstable", "unstable MUAPs"),
)


def report_findings(
    tables: list[NcsTable],
    emg: pd.DataFrame,
    eflags: pd.DataFrame,
    focal_findings: tuple[str, ...] = (),
) -> ReportFindings:
    """The typed findings :func:`app.report.impression` reads, from the study's tables and the
    focal findings :mod:`features.focal` stated (one sentence each)."""
    summaries = [_ncs_summary(t) for t in tables]
    emg_abn = []
    for r in emg_rows(emg, eflags):
        bad = []
        for key, name in EMG_SUMMARY_COLUMNS:
            c = r[key]
            if isinstance(c, Cell) and c.abnormal:
                lim = f" ({c.limit})" if c.limit and key not in SPONTANEOUS_KEYS else ""
                bad.append(f"{name} {c.text}{lim}")
        if bad:
            where = " ".join(w for w in (_side_word(str(r["side"])), str(r["muscle"])) if w)
            emg_abn.append(f"{where}: " + ", ".join(bad))
    summaries.append(TableSummary("Needle EMG", len(emg), tuple(emg_abn)))
    motor = [t for t in tables if t.kind == "motor"]
    sensory = [t for t in tables if t.kind == "sensory"]

    def count(ts: list[NcsTable], test: Any) -> int:
        return sum(1 for t in ts for r in t.rows if test(r))

    fibs = pd.to_numeric(emg["fibs"], errors="coerce") if "fibs" in emg else pd.Series([])
    return ReportFindings(
        tables=tuple(summaries),
        absent_motor=count(motor, lambda r: r.cells["amplitude"].text.startswith("0 (")),
        absent_sensory=count(sensory, lambda r: r.cells["amplitude"].text.startswith("0 (")),
        low_distal_cmap=count(motor, lambda r: r.cells["amplitude"].abnormal),
        cmap_drop=count(motor, lambda r: r.cells["drop"].abnormal),
        max_fib_grade=None if fibs.dropna().empty else float(fibs.max()),
        focal_findings=focal_findings,
    )


SPONTANEOUS_KEYS = frozenset({"fibs", "psw", "fascics", "crd", "myotonia"})


def report_header(ds: Dataset, study_id: str) -> list[tuple[str, str]]:
    """The report header: pseudonym, patient facts, and the fields the contract does not carry.

    Study date, indication, referring physician and examiner are not in the data contract:
    they print as "not recorded" (never invented) with a line to fill in by hand.
    """
    r = ds.study_row(study_id)
    patient = plain(r.get("patient_id"))
    facts = [("Study", study_id), ("Patient (pseudonym)", patient)]
    facts += [(k, v) for k, v in _facts(ds, study_id) if k != "Source"]
    for name in ("Study date", "Indication", "Referring physician", "Examiner"):
        facts.append((name, "not recorded"))
    return facts
