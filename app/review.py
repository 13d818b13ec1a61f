"""The review queue: studies a clinician should look at again, as plain rows (no web code).

A study is queued when its current verdict disagrees with the model, when its prediction is
low-confidence, or when it is out of scope (:func:`app.db.records.is_out_of_scope`). Rows come
from the database (studies with verdicts) and from the loaded datasets (flagged predictions not
yet judged); each names the model and version that made the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.db.models import Verdict
from app.db.records import is_out_of_scope
from app.store import StudyStore

#: queue reasons -> label
REASONS: dict[str, str] = {
    "disagreement": "Clinician disagrees",
    "low_confidence": "Low confidence",
    "out_of_scope": "Out of scope",
}
#: sortable columns -> how a row sorts by them
SORT_KEYS = ("study", "probability", "model_version", "reason", "verdict_at")


@dataclass
class QueueRow:
    """One study of the review queue."""

    study_id: str
    dataset_key: str | None
    model_name: str | None
    model_version: str | None
    diagnosis: str | None
    probability: float | None
    reasons: list[str] = field(default_factory=list)
    verdict: str | None = None
    verdict_by: str | None = None
    verdict_at: datetime | None = None

    def sort_value(self, key: str) -> tuple[int, object]:
        """A comparable value for column ``key`` (missing values sort last)."""
        value: object = {
            "study": self.study_id,
            "probability": self.probability,
            "model_version": self.model_version,
            "reason": ",".join(self.reasons),
            "verdict_at": self.verdict_at,
        }[key]
        return (1, "") if value is None else (0, value)


def _disagrees(v: Verdict) -> bool:
    if v.agrees_with_model is not None:
        return not v.agrees_with_model
    return v.prediction is not None and v.prediction.diagnosis != v.conclusion


def queue_rows(
    store: StudyStore,
    latest: list[Verdict],
    *,
    reason: str = "",
    sort: str = "probability",
    descending: bool = False,
) -> list[QueueRow]:
    """The queue: judged studies from ``latest`` verdicts, flagged unjudged ones from ``store``."""
    where: dict[str, str] = {}
    for ds in store.datasets():
        for sid in ds.study_ids:
            where.setdefault(sid, ds.key)
    rows: dict[str, QueueRow] = {}
    for v in latest:
        sid = v.study.study_id
        if sid in rows:
            continue
        p = v.prediction
        row = QueueRow(
            sid,
            where.get(sid),
            None if p is None else p.model_name,
            None if p is None else p.model_version,
            None if p is None else p.diagnosis,
            None if p is None else p.probability,
            verdict=v.conclusion,
            verdict_by=v.user.name,
            verdict_at=v.created_at,
        )
        if _disagrees(v):
            row.reasons.append("disagreement")
        if p is not None and p.low_confidence:
            row.reasons.append("low_confidence")
        if (p is not None and p.out_of_scope) or v.conclusion == "out_of_scope":
            row.reasons.append("out_of_scope")
        rows[sid] = row
    for ds in store.datasets():
        for sid, pred in ds.predictions.items():
            if sid in rows:
                continue
            reasons = [
                r
                for r, on in (
                    ("low_confidence", pred.low_confidence),
                    ("out_of_scope", is_out_of_scope(pred)),
                )
                if on
            ]
            if reasons:
                rows[sid] = QueueRow(
                    sid,
                    ds.key,
                    pred.model_name,
                    pred.model_version,
                    pred.diagnosis,
                    float(pred.probabilities.get(pred.diagnosis, 0.0)),
                    reasons,
                )
    out = [r for r in rows.values() if r.reasons and (not reason or reason in r.reasons)]
    key = sort if sort in SORT_KEYS else "probability"
    present = [r for r in out if r.sort_value(key)[0] == 0]
    missing = [r for r in out if r.sort_value(key)[0] == 1]
    present.sort(key=lambda r: r.sort_value(key), reverse=descending)
    return present + missing
