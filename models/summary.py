"""The headline of a pipeline run: one small table for ``reports/summary.md`` and DVC.

:func:`build_summary` reads the documents the stages write (``metrics.json`` of evaluate,
``physiology.json``, ``clinical.json``, ``evalset.json``) into a typed :class:`Summary`;
:func:`render_markdown` writes it as a page and :func:`summary_metrics` as the few numbers
``dvc metrics show`` and MLflow's ``summary/`` section list. Pure functions: the report stage
(:mod:`pipelines.report`) reads the files and writes the results.

Everything here is a function of the code, data and parameters, so the committed page is the
same after a fresh run on any machine. Whether the model became ``@champion`` is not: it depends
on the local registry's history, so that decision is in the git-ignored
``reports/register.json``, the register stage's log and the registry's tags, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import ReportedError

#: the models of the headline table, as ``metrics.json`` names them, and their column titles
MODELS: tuple[tuple[str, str], ...] = (
    ("lightgbm", "LightGBM"),
    ("logreg", "logistic regression"),
    ("rules", "published-criteria rules"),
)

#: the rows of the headline table: ``metrics.json`` key and what it scores
SCORE_SETS: tuple[tuple[str, str], ...] = (
    ("test", "test studies, against the true disease"),
    ("heldout_site", "held-out lab, against the true disease"),
    ("test_ed_reference", "test studies, against the electrodiagnostic conclusion"),
    ("heldout_site_ed_reference", "held-out lab, against the electrodiagnostic conclusion"),
)


class SummaryError(ReportedError, ValueError):
    """A report the summary needs lacks a field (the message names the file and the key)."""


@dataclass(frozen=True)
class ScoreRow:
    """One row of the headline table: macro-F1 of each model on one score set.

    ``share_of_studies`` is the share of the split scored (the conclusion rows leave out the
    studies whose findings allow no conclusion); None when the whole split is scored.
    """

    key: str
    label: str
    macro_f1: Mapping[str, float]
    share_of_studies: float | None = None


@dataclass(frozen=True)
class EvalsetScores:
    """The model's scores on the fixed evaluation set (``reports/evalset.json`` of register).

    ``evalset`` is its label (``v1@<sha>``), ``model_version`` the content version of the model
    scored; ``heldout`` the evaluation set's held-out lab and ``vignettes_passed`` the clinical
    vignettes met (None when not scored).
    """

    evalset: str
    model_version: str
    macro_f1: float
    heldout: float | None = None
    vignettes_passed: int | None = None


@dataclass(frozen=True)
class Summary:
    """The headline of one run; the optional parts are None when their stage did not run."""

    rows: tuple[ScoreRow, ...]
    ece_test: float
    ece_heldout_site: float | None
    physiology_in_range: float | None = None
    physiology_heldout: float | None = None
    vignettes_passed: int | None = None
    vignettes: int | None = None
    evalset: EvalsetScores | None = None
    #: radiculopathy localisation over the studies with abnormal EMG of the affected limb:
    #: simulated root within the root set named, and side (``metrics.json: localisation``)
    localisation_root: float | None = None
    localisation_side: float | None = None
    #: the largest distance of a class's prediction-set coverage from nominal on the held-out
    #: lab, training prior (``metrics.json: conformal.heldout_site.max_class_gap``)
    conformal_gap_heldout: float | None = None


def _get(doc: Mapping[str, Any], dotted: str, source: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise SummaryError(f"{source}: no {dotted!r} (missing {part!r}); re-run its stage")
        node = node[part]
    return node


def _number(doc: Mapping[str, Any], dotted: str, source: str) -> float:
    value = _get(doc, dotted, source)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SummaryError(f"{source}: {dotted} = {value!r}: expected a number")
    return float(value)


def score_rows(metrics: Mapping[str, Any], source: str = "metrics.json") -> tuple[ScoreRow, ...]:
    """The headline rows present in ``metrics`` (``test`` is required, the others optional)."""
    _get(metrics, "test", source)
    rows = []
    for key, label in SCORE_SETS:
        if key not in metrics:
            continue
        f1 = {m: _number(metrics, f"{key}.{m}.macro_f1", source) for m, _ in MODELS}
        share = metrics[key]["lightgbm"].get("share_of_studies")
        rows.append(ScoreRow(key, label, f1, None if share is None else float(share)))
    return tuple(rows)


def evalset_of(doc: Mapping[str, Any], source: str = "evalset.json") -> EvalsetScores:
    """The scores of ``evalset.json``."""
    heldout = doc.get("heldout")
    vignettes = doc.get("vignettes_passed")
    return EvalsetScores(
        evalset=str(_get(doc, "evalset", source)),
        model_version=str(_get(doc, "model_version", source)),
        macro_f1=_number(doc, "metric", source),
        heldout=None if heldout is None else _number(doc, "heldout", source),
        vignettes_passed=None
        if vignettes is None
        else int(_number(doc, "vignettes_passed", source)),
    )


def build_summary(
    metrics: Mapping[str, Any],
    *,
    physiology: Mapping[str, Any] | None = None,
    clinical: Mapping[str, Any] | None = None,
    evalset: Mapping[str, Any] | None = None,
) -> Summary:
    """The :class:`Summary` of the stage documents given (None: that stage did not run).

    Raises
    ------
    SummaryError
        A document lacks a field the summary needs (named with its file).
    """
    return Summary(
        rows=score_rows(metrics),
        ece_test=_number(metrics, "test.lightgbm.ece", "metrics.json"),
        ece_heldout_site=(
            _number(metrics, "heldout_site.lightgbm.ece", "metrics.json")
            if "heldout_site" in metrics
            else None
        ),
        physiology_in_range=(
            None
            if physiology is None
            else _number(physiology, "macro_f1_in_range", "physiology.json")
        ),
        physiology_heldout=(
            None
            if physiology is None
            else _number(physiology, "macro_f1_heldout_physiology", "physiology.json")
        ),
        vignettes_passed=(
            None
            if clinical is None
            else int(_number(clinical, "vignettes_passed", "clinical.json"))
        ),
        vignettes=None
        if clinical is None
        else int(_number(clinical, "vignettes", "clinical.json")),
        evalset=None if evalset is None else evalset_of(evalset),
        localisation_root=_optional(
            metrics, "localisation.root_set_accuracy_abnormal", "metrics.json"
        ),
        localisation_side=_optional(metrics, "localisation.side_accuracy_abnormal", "metrics.json"),
        conformal_gap_heldout=_optional(
            metrics, "conformal.heldout_site.max_class_gap", "metrics.json"
        ),
    )


def _optional(doc: Mapping[str, Any], dotted: str, source: str) -> float | None:
    """``dotted``'s number, or None when its section is absent (that part did not run)."""
    top = dotted.split(".")[0]
    if top not in doc:
        return None
    value = _get(doc, dotted, source)
    return None if value is None else _number(doc, dotted, source)


def version_label(registry_version: str | None, model_version: str | None) -> str:
    """How a model version is shown: the registry's number first, the content version beside.

    ``version_label("3", "3f2a9c1d0b7e") == "v3 (model 3f2a9c1d0b7e)"``; without a registry
    version (a model not registered) only the content version is shown.
    """
    if registry_version is None:
        return f"unregistered (model {model_version})" if model_version else "unregistered"
    if model_version:
        return f"v{registry_version} (model {model_version})"
    return f"v{registry_version}"


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_markdown(summary: Summary, *, model_name: str = "emgdx") -> str:
    """``reports/summary.md``: the headline table, then physiology, vignettes, ECE, evaluation
    set."""
    head = " | ".join(title for _, title in MODELS)
    lines = [
        "# emgdx: summary of the last pipeline run",
        "",
        "Macro-F1 (`reports/metrics.json`; the conclusion rows leave out the studies whose "
        "findings allow no conclusion):",
        "",
        f"| | {head} |",
        "|---|" + "---|" * len(MODELS),
    ]
    for row in summary.rows:
        share = "" if row.share_of_studies is None else f" ({100 * row.share_of_studies:.0f} %)"
        cells = " | ".join(_f(row.macro_f1[m]) for m, _ in MODELS)
        lines.append(f"| {row.label}{share} | {cells} |")
    lines += [
        "",
        "| | |",
        "|---|---|",
        f"| calibration error (ECE) of LightGBM, test / held-out lab | {_f(summary.ece_test)} / "
        f"{_f(summary.ece_heldout_site)} |",
        f"| held-out physiology macro-F1 (in range) | {_f(summary.physiology_heldout)} "
        f"({_f(summary.physiology_in_range)}) |",
    ]
    if summary.vignettes is not None:
        lines.append(
            f"| clinical vignettes met | {summary.vignettes_passed} of {summary.vignettes} |"
        )
    else:
        lines.append("| clinical vignettes met | – |")
    lines += [
        "| radiculopathy root within the set named / side, abnormal EMG of the limb | "
        f"{_f(summary.localisation_root)} / {_f(summary.localisation_side)} |",
        "| prediction sets: largest class coverage gap from nominal, held-out lab | "
        f"{_f(summary.conformal_gap_heldout)} |",
    ]
    e = summary.evalset
    if e is None:
        lines += ["", "Fixed evaluation set: not scored in this run."]
    else:
        heldout = "" if e.heldout is None else f", held-out lab {_f(e.heldout)}"
        lines += [
            "",
            f"Model {e.model_version} on the fixed evaluation set `{e.evalset}` (the numbers the "
            f"champion rule compares): macro-F1 {_f(e.macro_f1)}{heldout}.",
            f"Whether it became `{model_name}@champion` depends on this machine's registry: "
            "`reports/register.json` (not in git), the register stage's log, or "
            "`emgdx register --promote/--rollback`.",
        ]
    return "\n".join(lines) + "\n"


def summary_metrics(summary: Summary) -> dict[str, Any]:
    """The few numbers of ``reports/summary.json`` (the one file ``dvc metrics show`` lists).

    ``{"macro_f1": {"test": ..., "heldout_site": ..., "test_ed": ..., "heldout_site_ed": ...},
    "ece": {...}, "physiology_heldout": ..., "vignettes_passed": ..., "evalset": {"macro_f1":
    ..., "heldout": ...}}``: LightGBM only (the baselines are in ``metrics.json``); absent parts
    are left out.
    """
    short = {
        "test": "test",
        "heldout_site": "heldout_site",
        "test_ed_reference": "test_ed",
        "heldout_site_ed_reference": "heldout_site_ed",
    }
    out: dict[str, Any] = {
        "macro_f1": {short[r.key]: round(r.macro_f1["lightgbm"], 4) for r in summary.rows},
        "ece": {"test": round(summary.ece_test, 4)},
    }
    if summary.ece_heldout_site is not None:
        out["ece"]["heldout_site"] = round(summary.ece_heldout_site, 4)
    if summary.physiology_heldout is not None:
        out["physiology_heldout"] = round(summary.physiology_heldout, 4)
    if summary.vignettes_passed is not None:
        out["vignettes_passed"] = summary.vignettes_passed
    if summary.evalset is not None:
        out["evalset"] = {"macro_f1": round(summary.evalset.macro_f1, 4)}
        if summary.evalset.heldout is not None:
            out["evalset"]["heldout"] = round(summary.evalset.heldout, 4)
    if summary.localisation_root is not None:
        out["localisation"] = {"root_in_set_abnormal_emg": summary.localisation_root}
        if summary.localisation_side is not None:
            out["localisation"]["side_abnormal_emg"] = summary.localisation_side
    if summary.conformal_gap_heldout is not None:
        out["conformal_heldout_max_class_gap"] = summary.conformal_gap_heldout
    return out


def columns(doc: Mapping[str, Any]) -> Sequence[str]:
    """The dotted leaf keys of a metrics document (what ``dvc metrics show`` makes columns of)."""
    out: list[str] = []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            out += [f"{key}.{sub}" for sub in columns(value)]
        else:
            out.append(str(key))
    return out
