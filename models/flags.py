"""Why a prediction is flagged: a code per reason, its text derived from the code.

Every reason a prediction carries (low confidence, unlike the training data) is a
:class:`FlagReason`: a :class:`FlagCode` that programs test and count, and a sentence for the
clinician built from the code's template (:data:`FLAG_TEMPLATES`) and the study's figures.
:func:`flag_reasons` computes them for a whole batch from arrays (no per-study model calls).
See ``docs/confidence.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from features.vocab import CLASS_LABELS


class FlagCode(StrEnum):
    """The reasons a prediction is flagged (the values are the JSON and CSV form)."""

    #: the top two classes are closer than the model's low-confidence margin
    CLOSE_CALL = "close_call"
    #: the predicted class lacks the evidence the findings examined would need to show
    NOT_ESTABLISHED = "not_established"
    #: ALS predicted with abnormal sensory responses (a mimic or a neuropathy is likelier)
    ALS_SENSORY_MIMIC = "als_sensory_mimic"
    #: the study lies outside the training data's profile
    UNLIKE_TRAINING_DATA = "unlike_training_data"


#: codes that make a prediction low-confidence (the others set ``unlike_training_data``)
LOW_CONFIDENCE_CODES: frozenset[FlagCode] = frozenset(
    {FlagCode.CLOSE_CALL, FlagCode.NOT_ESTABLISHED, FlagCode.ALS_SENSORY_MIMIC}
)

#: the sentence of each code; ``{...}`` fields are filled by :func:`flag_text`
FLAG_TEMPLATES: dict[FlagCode, str] = {
    FlagCode.CLOSE_CALL: (
        "top two classes close: {top} {p_top:.2f} vs {second} {p_second:.2f} "
        "(margin below {margin:.2f})"
    ),
    FlagCode.NOT_ESTABLISHED: "{top} is not established by the findings examined{detail}",
    FlagCode.ALS_SENSORY_MIMIC: (
        "sensory responses abnormal: consider a mimic (e.g. Kennedy disease) or a neuropathy "
        "rather than ALS"
    ),
    FlagCode.UNLIKE_TRAINING_DATA: "unlike the training data: {detail}",
}


@dataclass(frozen=True)
class FlagReason:
    """One reason a prediction is flagged.

    Attributes
    ----------
    code : FlagCode
        What the reason is (stable, for programs).
    text : str
        The sentence shown to the clinician (:func:`flag_text` of the code).
    """

    code: FlagCode
    text: str


def flag_text(code: FlagCode, **fields: object) -> str:
    """The sentence of ``code`` with the study's figures filled in (see :data:`FLAG_TEMPLATES`)."""
    return FLAG_TEMPLATES[code].format(**fields)


def flag_reasons(
    classes: Sequence[str],
    proba: np.ndarray,
    top: np.ndarray,
    second: np.ndarray,
    *,
    margin: float,
    unsupported: np.ndarray,
    limitations: Sequence[Sequence[str]],
    als_sensory_abnormal: np.ndarray,
    unlike: np.ndarray | None,
    unlike_reasons: Sequence[str] | None,
) -> list[list[FlagReason]]:
    """The flag reasons of every study of a batch, in a fixed order of codes.

    Parameters
    ----------
    classes : sequence of str, length K
        Class names in the columns' order of ``proba``.
    proba : ndarray, shape (n, K)
        The product's probabilities.
    top, second : ndarray of int, shape (n,)
        Column of the predicted class and of the runner-up.
    margin : float
        Top-1 minus top-2 probability below which the call is close.
    unsupported : ndarray of bool, shape (n,)
        The predicted class lacks its evidence (or the ALS cap changed the probabilities).
    limitations : sequence of sequence of str, length n
        What each study cannot show because it was not examined.
    als_sensory_abnormal : ndarray of bool, shape (n,)
        More abnormal sensory responses than the ALS criteria tolerate.
    unlike, unlike_reasons : ndarray of bool and sequence of str, length n, or None
        The unlike-the-training-data verdict and its reasons (None without a profile).

    Returns
    -------
    list of list of FlagReason
        One list per study (empty when nothing is flagged).
    """
    rows = np.arange(len(proba))
    p_top, p_second = proba[rows, top], proba[rows, second]
    close = (p_top - p_second) < margin
    als_mimic = als_sensory_abnormal & (np.asarray(classes, dtype=object)[top] == "als")
    out: list[list[FlagReason]] = []
    for i in range(len(proba)):
        reasons: list[FlagReason] = []
        top_label = CLASS_LABELS[classes[top[i]]]
        if close[i]:
            reasons.append(_reason(
                FlagCode.CLOSE_CALL, top=top_label, p_top=p_top[i],
                second=CLASS_LABELS[classes[second[i]]], p_second=p_second[i], margin=margin,
            ))  # fmt: skip
        if unsupported[i]:
            detail = ": " + " ".join(limitations[i]) if limitations[i] else ""
            reasons.append(_reason(FlagCode.NOT_ESTABLISHED, top=top_label, detail=detail))
        if als_mimic[i]:
            reasons.append(_reason(FlagCode.ALS_SENSORY_MIMIC))
        if unlike is not None and unlike_reasons is not None and unlike[i]:
            reasons.append(_reason(FlagCode.UNLIKE_TRAINING_DATA, detail=unlike_reasons[i]))
        out.append(reasons)
    return out


def _reason(code: FlagCode, **fields: object) -> FlagReason:
    return FlagReason(code, flag_text(code, **fields))


def is_low_confidence(reasons: Sequence[FlagReason]) -> bool:
    """Whether the reasons make the prediction low-confidence (see :data:`LOW_CONFIDENCE_CODES`)."""
    return any(r.code in LOW_CONFIDENCE_CODES for r in reasons)


def is_unlike_training_data(reasons: Sequence[FlagReason]) -> bool:
    """Whether one reason says the study is unlike the training data."""
    return any(r.code is FlagCode.UNLIKE_TRAINING_DATA for r in reasons)
