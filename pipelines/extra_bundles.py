"""Labelled extra bundles (``params.yaml: data.extra_bundles``) appended to the training bundle.

The ``validate`` stage validates each extra bundle like the main one and appends its valid
studies with two study columns the later stages read: ``sample_weight`` (the bundle's weight;
1 for the main bundle's studies) and ``source_bundle`` (the extra bundle's path; empty for the
main bundle). Without extra bundles nothing is added, so the validated bundle is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bundle.load import load_bundle, valid_subset
from bundle.tables import Bundle
from models.errors import ReportedError
from pipelines.config import ExtraBundle

#: study columns added when extra bundles are appended
WEIGHT_COLUMN = "sample_weight"
SOURCE_COLUMN = "source_bundle"


class ExtraBundleError(ReportedError, ValueError):
    """An extra bundle that cannot be appended (unreadable, invalid, or clashing study ids)."""


@dataclass(frozen=True)
class ExtraSummary:
    """What one extra bundle contributed (counts only)."""

    path: str
    weight: float
    n_studies: int
    n_valid_studies: int
    n_errors: int


def _tag(bundle: Bundle, weight: float, source: str) -> Bundle:
    studies = bundle.studies.copy()
    studies[WEIGHT_COLUMN] = float(weight)
    studies[SOURCE_COLUMN] = source
    return Bundle(studies=studies, ncs=bundle.ncs, emg=bundle.emg)


def append_extra(main: Bundle, extras: list[ExtraBundle]) -> tuple[Bundle, list[ExtraSummary]]:
    """``main`` plus the valid studies of each extra bundle, tagged with weight and source.

    Raises
    ------
    ExtraBundleError
        An extra bundle has no valid labelled study, or repeats a ``study_id`` already present
        (the message names the bundle, the first clashing ids and how many clash).
    """
    if not extras:
        return main, []
    parts = [_tag(main, 1.0, "")]
    seen = set(main.study_ids)
    summaries = []
    for extra in extras:
        bundle, report = load_bundle(extra.path)
        valid = valid_subset(bundle, report)
        labelled = valid.studies["diagnosis"].notna() if "diagnosis" in valid.studies else None
        if labelled is None or not bool(labelled.any()):
            raise ExtraBundleError(
                f"params.yaml: data.extra_bundles: {extra.path}: no valid study with a diagnosis "
                f"({report.n_valid_studies} of {report.n_studies} studies valid; run "
                f"'emgdx validate {extra.path}' for the problems)"
            )
        clash = sorted(seen.intersection(valid.study_ids))
        if clash:
            raise ExtraBundleError(
                f"params.yaml: data.extra_bundles: {extra.path}: {len(clash)} study_id(s) already "
                f"in the training data, e.g. {', '.join(clash[:3])}; expected ids unique across "
                "bundles (give each lab's studies its own prefix)"
            )
        seen.update(valid.study_ids)
        parts.append(_tag(valid, extra.weight, extra.path))
        summaries.append(
            ExtraSummary(
                extra.path,
                extra.weight,
                report.n_studies,
                report.n_valid_studies,
                len(report.errors),
            )
        )
    merged = Bundle(
        studies=pd.concat([b.studies for b in parts], ignore_index=True),
        ncs=pd.concat([b.ncs for b in parts], ignore_index=True),
        emg=pd.concat([b.emg for b in parts], ignore_index=True),
    )
    return merged, summaries


def study_weights(studies: pd.DataFrame) -> pd.Series | None:
    """``study_id`` -> training weight, or ``None`` when no extra bundle was appended."""
    if WEIGHT_COLUMN not in studies.columns:
        return None
    return pd.Series(
        studies[WEIGHT_COLUMN].astype("float64").to_numpy(),
        index=studies["study_id"].astype(str),
        name=WEIGHT_COLUMN,
    )


def extra_sources(studies: pd.DataFrame) -> pd.Series:
    """``study_id`` -> extra bundle path of the appended real studies (empty when none)."""
    if SOURCE_COLUMN not in studies.columns:
        return pd.Series(dtype=object)
    src = studies[SOURCE_COLUMN].fillna("").astype(str)
    keep = src != ""
    return pd.Series(src[keep].to_numpy(), index=studies.loc[keep, "study_id"].astype(str))
