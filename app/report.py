"""The generated summary and impression of an EMG report: a pure function over typed objects.

:func:`impression` reads a :class:`ReportFindings` (the abnormal values of the study's tables,
already judged against their limits by :mod:`app.findings` / :mod:`app.tables`) and the
:class:`models.prediction.StudyPrediction`, and writes the prose an electromyographer signs:
a summary per table, then the impression (pattern, severity, localisation, focal findings,
mimics considered). It reads nothing else, so unit tests build both by hand.

Severity is a plain rule on the recorded findings (not a published grading; see docs/web.md):
severe when a motor response is absent or two sensory responses are absent, or fibrillations
reach 3+; moderate when a distal CMAP is below its limit, a CMAP drops across a segment, or
fibrillations reach 2+; mild for any other abnormal value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from features.vocab import CLASS_LABELS
from models.mimics import MimicCheck, MimicStatus
from models.prediction import StudyPrediction

PATTERN_WORDS = {"neurogenic": "neurogenic", "myopathic": "myopathic", "normal": "normal"}


@dataclass(frozen=True)
class TableSummary:
    """What one table of the study shows: how many items were examined and which are abnormal.

    Attributes
    ----------
    title : str
        "Motor nerve conduction", "Needle EMG", ...
    n_examined : int
        Responses (NCS) or muscles (EMG) recorded.
    abnormal : tuple of str
        One phrase per abnormal item, with its value and limit
        (e.g. "left median: onset latency 5.8 ms (≤ 4.4 ms)").
    """

    title: str
    n_examined: int
    abnormal: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportFindings:
    """The recorded findings of a study, as the impression needs them.

    ``absent_motor`` / ``absent_sensory`` count responses with amplitude 0 (a finding, not a
    missing value); ``low_distal_cmap`` and ``cmap_drop`` count motor responses below their
    distal limit / beyond the allowed drop; ``max_fib_grade`` is the highest fibrillation grade
    recorded (None when no muscle was graded). ``focal_findings`` are the sentences of
    :mod:`features.focal` ("right median neuropathy at the wrist, moderate"); empty when none.
    """

    tables: tuple[TableSummary, ...]
    absent_motor: int = 0
    absent_sensory: int = 0
    low_distal_cmap: int = 0
    cmap_drop: int = 0
    max_fib_grade: float | None = None
    focal_findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Impression:
    """The prose of the report: summary lines, then the impression lines."""

    summary: list[str]
    impression: list[str]
    severity: str
    focal_findings: list[str] = field(default_factory=list)
    mimics_considered: list[str] = field(default_factory=list)


def in_sentence(label: str) -> str:
    """A class label inside a sentence: "Radiculopathy" -> "radiculopathy", "ALS …" kept."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def severity(f: ReportFindings) -> str:
    """ "none", "mild", "moderate" or "severe" by the rule of the module docstring."""
    n_abnormal = sum(len(t.abnormal) for t in f.tables)
    fib = f.max_fib_grade or 0.0
    if f.absent_motor > 0 or f.absent_sensory >= 2 or fib >= 3:
        return "severe"
    if f.low_distal_cmap > 0 or f.cmap_drop > 0 or fib >= 2:
        return "moderate"
    return "mild" if n_abnormal else "none"


def _summary_line(t: TableSummary) -> str:
    noun = "muscle" if "EMG" in t.title else "response"
    noun += "" if t.n_examined == 1 else "s"
    if t.n_examined == 0:
        return f"{t.title}: not examined."
    if not t.abnormal:
        return f"{t.title}: {t.n_examined} {noun} examined, all within normal limits."
    return f"{t.title}: {t.n_examined} {noun} examined; abnormal: " + "; ".join(t.abnormal) + "."


def _mimic_phrase(m: MimicCheck) -> str:
    return f"{m.name}: {m.status_text.lower()}"


def _mimics(pred: StudyPrediction) -> list[str]:
    return [_mimic_phrase(m) for m in (pred.mimic_check or [])]


def _supported_mimics(pred: StudyPrediction) -> list[str]:
    return [m.name for m in (pred.mimic_check or []) if m.status is MimicStatus.SUPPORTED]


def impression(findings: ReportFindings, pred: StudyPrediction | None) -> Impression:
    """Summary and impression of one study (pure: reads only its arguments).

    Parameters
    ----------
    findings : ReportFindings
        The study's tables and counts of abnormal values.
    pred : StudyPrediction or None
        The model's prediction (None: no model; the impression then states the findings only).

    Returns
    -------
    Impression
        ``summary``: one line per table; ``impression``: the electrodiagnostic conclusion,
        the localisation when one was made, the focal findings, the mimics considered.
    """
    summary = [_summary_line(t) for t in findings.tables]
    sev = severity(findings)
    examined = sum(t.n_examined for t in findings.tables)
    lines: list[str] = []
    if examined == 0:
        lines.append("No nerve conduction or needle EMG findings were recorded: no impression.")
    elif sev == "none":
        lines.append(
            "Normal study: the nerves and muscles examined show no electrodiagnostic evidence "
            "of a neuropathy, radiculopathy, motor neuron disease or myopathy."
        )
    else:
        pattern = PATTERN_WORDS.get(pred.pattern, pred.pattern) if pred else None
        lead = "Abnormal study"
        lead += f" with a {pattern} pattern" if pattern and pattern != "normal" else ""
        lines.append(f"{lead}, {sev}.")
    if pred is not None and examined:
        label = CLASS_LABELS.get(pred.diagnosis, pred.diagnosis)
        rule = (pred.guideline or {}).get("rule_diagnosis")
        rule_label = CLASS_LABELS.get(str(rule), None) if rule else None
        if pred.scope is not None and pred.scope.status != "in_scope":
            lines.append(pred.scope.reason)
        elif pred.diagnosis != "normal" or sev != "none":
            text = f"The findings are most consistent with {in_sentence(label)}"
            if rule_label and rule_label != label:
                text += f"; published criteria point to {in_sentence(rule_label)}"
            lines.append(text + ".")
        loc = pred.localisation
        if loc is not None and loc.localisable and pred.diagnosis == "radiculopathy":
            lines.append(f"Localisation: {loc.summary}")
    focal = list(findings.focal_findings)
    if focal:
        lines.append("Focal findings: " + "; ".join(focal) + ".")
    mimics = _mimics(pred) if pred is not None else []
    supported = _supported_mimics(pred) if pred is not None else []
    if supported:
        lines.append(
            "A mimic is supported by the findings: " + ", ".join(supported) + "; consider it."
        )
    if mimics:
        lines.append("Mimics considered: " + "; ".join(mimics) + ".")
    return Impression(summary, lines, sev, focal, mimics)
