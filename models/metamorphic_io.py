"""Metamorphic relations about input and presentation: MR11 (unit mix-ups) and MR12 (exact).

Both go through files: a transformed bundle is written with
:func:`bundle.writers.write_bundle` and read back with
:func:`bundle.load.load_valid`, the path ``emgdx validate`` and ``emgdx predict`` take.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bundle.json_form import study_to_json
from bundle.load import load_bundle, valid_subset
from bundle.problems import ValidationReport
from bundle.tables import TABLES, Bundle
from bundle.writers import write_bundle
from models import metamorphic_transforms as T
from models.metamorphic_core import (
    EXACT,
    SEP,
    Checker,
    PredictFn,
    PredictorLike,
    ProbaFn,
    RelationResult,
    concat,
    predict_fn,
    present,
    proba_fn,
    tag,
)
from models.prediction import Contribution, StudyPrediction


def validate_written(bundle: Bundle, out_dir: str | Path, fmt: str = "csv") -> ValidationReport:
    """Write ``bundle`` to ``out_dir`` (CSV or Parquet) and validate it as ``emgdx validate`` does."""
    path = write_bundle(bundle, out_dir, fmt=fmt)  # type: ignore[arg-type]
    return load_bundle(path)[1]


# --------------------------------------------------------------------------------------------
# MR11: unit mix-ups are rejected
# --------------------------------------------------------------------------------------------
#: (name, transform, table, column, rows it changes, problem kind, words of the likely cause)
MIXUPS: tuple[tuple[str, Callable[[Bundle], Bundle], str, str, str, str], ...] = (
    ("a_motor_uV", T.motor_amplitude_in_uv, "ncs", "amplitude", "unit_mixup", "µV"),
    ("b_sensory_mV", T.sensory_amplitude_in_mv, "ncs", "amplitude", "unit_mixup", "mV"),
    ("c_muap_mV", T.muap_amplitude_in_mv, "emg", "muap_amplitude_uv", "unit_mixup", "mV"),
    ("d_temp_F", T.temperature_in_f, "studies", "limb_temp_c", "out_of_range", "°F"),
    ("e_height_m", T.height_in_m, "studies", "height_cm", "out_of_range", "metres"),
)


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, column: str) -> np.ndarray:
    """Positions of the rows whose ``column`` changed to another non-zero value."""
    a = before[column].to_numpy(float)
    b = after[column].to_numpy(float)
    return np.flatnonzero(~np.isnan(a) & (a != b) & (b != 0))


def mr11_unit_mixups(
    model: PredictorLike | ProbaFn, bundle: Bundle, work_dir: str | Path | None = None
) -> RelationResult:
    """MR11: each unit mix-up is named on every changed row, its studies rejected, the rest unchanged.

    Parameters
    ----------
    model : Predictor or callable
        Probabilities of the studies that stay valid must equal those of the original (exact).
    bundle : Bundle
        The whole bundle (every mix-up is applied to all of it).
    work_dir : path, optional
        Where the mixed-up bundles are written (default: a temporary folder).
    """
    proba = proba_fn(model)
    original = proba(bundle)
    check = Checker("MR11 unit mix-ups")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(work_dir or tmp)
        for name, transform, table, column, kind, cause in MIXUPS:
            mixed = transform(bundle)
            rows = changed_rows(getattr(bundle, table), getattr(mixed, table), column)
            loaded, report = load_bundle(write_bundle(mixed, root / name))
            flagged = {
                (p.row, p.column)
                for p in report.problems
                if p.kind == kind and p.severity == "error" and cause in (p.cause or "")
            }
            sids = getattr(bundle, table)["study_id"].to_numpy()
            for pos in rows:
                ok = (int(pos) + 1, column) in flagged
                check.holds(
                    ok,
                    str(sids[pos]),
                    f"MR11({name}) {table} row {pos + 1}",
                    f"no {kind} ({cause}) problem on the changed row",
                )
            hit = set(sids[rows])
            for sid in bundle.study_ids:
                if sid in hit:
                    check.holds(
                        sid in report.invalid_study_ids,
                        sid,
                        f"MR11({name})",
                        "study with a changed value not rejected",
                    )
                else:
                    check.holds(
                        sid not in report.invalid_study_ids,
                        sid,
                        f"MR11({name})",
                        "unchanged study rejected",
                    )
            kept = valid_subset(loaded, report)
            after = proba(kept) if kept.study_ids else original.iloc[0:0]
            for sid in after.index:
                before_p, after_p = original.loc[sid].to_dict(), after.loc[sid].to_dict()
                diff = max(abs(before_p[c] - after_p[c]) for c in before_p)
                check.holds(
                    diff <= EXACT,
                    str(sid),
                    f"MR11({name})",
                    f"unchanged study predicted differently (|Δp| {diff:.2g})",
                    before_p,
                    after_p,
                )
    return check.result()


# --------------------------------------------------------------------------------------------
# MR12: presentation never changes the answer
# --------------------------------------------------------------------------------------------
def _contribution_diffs(
    a: Sequence[Contribution], b: Sequence[Contribution], where: str
) -> list[str]:
    if len(a) != len(b):
        return [f"{where}: {len(a)} vs {len(b)} contributions"]
    out = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for f in ("feature", "label", "group", "value_text", "limit_text", "sentence"):
            if getattr(x, f) != getattr(y, f):
                out.append(f"{where}[{i}].{f} differs")
        if (x.value is None) != (y.value is None) or (
            x.value is not None and abs(x.value - y.value) > EXACT
        ):  # type: ignore[operator]
            out.append(f"{where}[{i}].value differs")
        if abs(x.shap - y.shap) > EXACT:
            out.append(f"{where}[{i}].shap differs")
    return out


def prediction_differences(a: StudyPrediction, b: StudyPrediction) -> list[str]:
    """What differs between two predictions of the same study (names only, no values)."""
    out = [
        f"p_{c} differs"
        for c in a.probabilities
        if abs(a.probabilities[c] - b.probabilities.get(c, np.nan)) > EXACT
        or np.isnan(b.probabilities.get(c, np.nan))
    ]
    for f in (
        "diagnosis",
        "pattern",
        "runner_up",
        "low_confidence",
        "unlike_training_data",
        "flag_reasons",
    ):
        if getattr(a, f) != getattr(b, f):
            out.append(f"{f} differs")
    out += _contribution_diffs(a.explanation, b.explanation, "explanation")
    out += _contribution_diffs(
        a.runner_up_explanation, b.runner_up_explanation, "runner_up_explanation"
    )
    return out


def _round_trips(sub: Bundle, root: Path, parts: str) -> list[Bundle]:
    """MR12 (d) and (f): the bundle read back from Parquet, a zip, JSON documents, synonyms."""
    out = []
    if "d" in parts:
        out.append(
            tag(
                load_bundle(write_bundle(sub, root / "parquet", fmt="parquet"))[0],
                "mr12",
                "parquet",
            )
        )
        csv_dir = write_bundle(sub, root / "csv")
        with zipfile.ZipFile(root / "bundle.zip", "w") as zf:
            for name in TABLES:
                zf.write(csv_dir / f"{name}.csv", f"bundle/{name}.csv")
        out.append(tag(load_bundle(root / "bundle.zip")[0], "mr12", "zip"))
        docs = []
        for i, sid in enumerate(sub.study_ids):
            path = root / "json" / f"study{i}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(study_to_json(sub, sid)), encoding="utf-8")
            docs.append(load_bundle(path)[0])
        if docs:
            out.append(tag(concat(docs), "mr12", "json"))
    if "f" in parts:
        out.append(
            tag(
                load_bundle(write_bundle(T.with_synonyms(sub), root / "synonyms"))[0],
                "mr12",
                "synonyms",
            )
        )
    return out


def mr12_presentation(
    model: PredictorLike | PredictFn,
    bundle: Bundle,
    study_ids: Sequence[str] | None = None,
    *,
    parts: str = "abcdef",
    seed: int = 12,
    explain_sample: int | None = None,
) -> RelationResult:
    """MR12 (exact): L/R swap, permutation, renaming, file round trips, alone vs in the bundle, synonyms.

    ``parts`` selects the transforms (letters of invariants.md MR12). Predictions must agree in
    every probability (|Δp| <= 1e-6), the diagnosis, the flags and the explanations.
    ``explain_sample``: compare full predictions (flags, explanations) for a seeded sample of
    this many studies only, and the probabilities of all (large simulated cohorts).
    """
    predict = predict_fn(model)
    ids = present(study_ids, bundle)
    sub = bundle.subset(ids)
    variants: list[Bundle] = []
    back: dict[str, tuple[str, str]] = {}
    if "a" in parts:
        variants.append(tag(T.swap_sides(sub), "mr12", "LR_swap"))
    if "b" in parts:
        variants.append(tag(T.permute_rows(sub, seed), "mr12", "permuted"))
    if "c" in parts:
        new = {sid: f"X{i:06d}" for i, sid in enumerate(ids)}
        variants.append(T.rename_studies(sub, new, patient_prefix="Q"))
        back.update({v: (k, "renamed") for k, v in new.items()})
    with tempfile.TemporaryDirectory() as tmp:
        variants += _round_trips(sub, Path(tmp), parts)
    check = Checker("MR12 presentation (exact)")
    explained = set(ids)
    if explain_sample is not None and explain_sample < len(ids):
        rng = np.random.default_rng(seed)
        explained = set(rng.choice(np.asarray(ids, dtype=object), explain_sample, replace=False))
        proba = proba_fn(model)  # type: ignore[arg-type]
        base_p = proba(sub)
        for sid, variant, row in _split(proba(concat(variants)), back):
            if sid in explained:
                continue
            diff = float(np.max(np.abs(base_p.loc[sid].to_numpy() - row.to_numpy())))
            check.holds(
                diff <= EXACT,
                sid,
                variant,
                "probabilities differ",
                base_p.loc[sid].to_dict(),
                row.to_dict(),
            )
    base_source = bundle if "e" in parts else sub.subset(explained)
    base = {p.study_id: p for p in predict(base_source) if p.study_id in explained}
    keep = [v.subset([s for s in v.study_ids if _origin(s, back) in explained]) for v in variants]
    predicted = predict(concat(keep)) if keep else []
    if "e" in parts:
        predicted += [p for sid in ids for p in predict(bundle.subset([sid]))]
        back.update({sid: (sid, "alone") for sid in ids})
    seen: set[tuple[str, str]] = set()
    for p in predicted:
        sid, variant = _parse(p.study_id, back)
        seen.add((sid, variant))
        diffs = prediction_differences(base[sid], p)
        check.holds(
            not diffs, sid, variant, "; ".join(diffs[:4]), base[sid].probabilities, p.probabilities
        )
    expected = {(sid, v) for sid in explained for v in _expected_variants(parts)}
    for sid, variant in sorted(expected - seen):
        check.holds(False, sid, variant, "study missing from the prediction")
    return check.result()


def _parse(vid: str, back: dict[str, tuple[str, str]]) -> tuple[str, str]:
    if vid in back:
        return back[vid]
    sid, _, variant = vid.split(SEP)
    return sid, variant


def _origin(vid: str, back: dict[str, tuple[str, str]]) -> str:
    return _parse(vid, back)[0]


def _split(frame: pd.DataFrame, back: dict[str, tuple[str, str]]):  # noqa: ANN202
    for vid, row in frame.iterrows():
        sid, variant = _parse(str(vid), back)
        yield sid, variant, row


def _expected_variants(parts: str) -> list[str]:
    names = {
        "a": ["LR_swap"],
        "b": ["permuted"],
        "c": ["renamed"],
        "d": ["parquet", "zip", "json"],
        "e": ["alone"],
        "f": ["synonyms"],
    }
    return [n for letter in parts for n in names.get(letter, [])]


__all__ = [
    "MIXUPS",
    "mr11_unit_mixups",
    "mr12_presentation",
    "prediction_differences",
    "validate_written",
]
