"""``emgdx register``: log the pyfunc model, register a version, move ``@champion`` if better.

The model is logged to the MLflow run that trained it (id in ``model.json``) through
``models.pyfunc.log_pyfunc_model`` and registered under ``register.model_name``. Its scores —
the deciding metric (``register.metric``, a dotted path into ``metrics.json``), the held-out-lab
metric and the clinical vignettes passed (``--clinical``) — are stored as model-version tags;
the alias moves to the new version only under the champion rule (:mod:`models.champion`: a
margin on the metric, no loss beyond a tolerance on the held-out lab or the vignettes).
Writes ``reports/register.json`` with the decision and its reasons.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models import tracking
from models.champion import Rule, Scores, decide
from models.train import load_model_meta
from pipelines.config import load_params

logger = logging.getLogger(__name__)

METRIC_TAG = "validation_metric"
HELDOUT_TAG = "heldout_metric"
VIGNETTES_TAG = "vignettes_passed"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx register", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json from evaluate")
    parser.add_argument(
        "--report", type=Path, default=Path("reports/register.json"), help="output JSON"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument(
        "--clinical", type=Path, default=None, help="clinical.json of the clinical stage"
    )
    return parser.parse_args(argv)


def lookup(doc: Mapping[str, Any], dotted: str) -> float:
    """``lookup({"valid": {"lightgbm": {"macro_f1": .9}}}, "valid.lightgbm.macro_f1") == .9``."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"metrics.json has no {dotted!r} (missing {part!r})")
        node = node[part]
    return float(node)


def _float_tag(tags: Mapping[str, str], key: str) -> float | None:
    value = tags.get(key)
    return float(value) if value is not None else None


def champion_scores(client: Any, name: str, alias: str) -> tuple[str | None, Scores | None]:
    """Version and stored scores of the current alias holder, ``(None, None)`` if none.

    A holder registered before the deciding metric was tagged counts as no champion.
    """
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None, None
    metric = _float_tag(mv.tags, METRIC_TAG)
    if metric is None:
        return str(mv.version), None
    vignettes = _float_tag(mv.tags, VIGNETTES_TAG)
    return str(mv.version), Scores(
        metric,
        _float_tag(mv.tags, HELDOUT_TAG),
        int(vignettes) if vignettes is not None else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the register stage; returns the exit status."""
    args = _parse_args(argv)
    p = load_params(args.params).registry
    meta = load_model_meta(args.model)
    metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    value = lookup(metrics, p.metric)
    try:
        heldout: float | None = lookup(metrics, p.heldout_metric)
    except KeyError:
        heldout = None
    vignettes = None
    if args.clinical is not None:
        vignettes = int(json.loads(args.clinical.read_text(encoding="utf-8"))["vignettes_passed"])
    candidate = Scores(value, heldout, vignettes)
    from mlflow import MlflowClient

    from models.pyfunc import log_pyfunc_model  # helper D2's pyfunc (models-from-code)

    with tracking.start_run(run_id=meta.get("mlflow_run_id"), run_name="train"):
        info = log_pyfunc_model(args.model, name="model", registered_model_name=p.model_name)
    client = MlflowClient()
    version = str(info.registered_model_version)
    previous, previous_scores = champion_scores(client, p.model_name, p.alias)
    client.set_model_version_tag(p.model_name, version, METRIC_TAG, f"{value:.6f}")
    client.set_model_version_tag(p.model_name, version, "metric_name", p.metric)
    if heldout is not None:
        client.set_model_version_tag(p.model_name, version, HELDOUT_TAG, f"{heldout:.6f}")
    if vignettes is not None:
        client.set_model_version_tag(p.model_name, version, VIGNETTES_TAG, str(vignettes))
    decision = decide(
        candidate,
        previous_scores,
        Rule(p.min_gain, p.max_heldout_drop, p.max_vignette_drop),
    )
    is_champion = decision.promote
    if is_champion:
        client.set_registered_model_alias(p.model_name, p.alias, version)
    client.set_model_version_tag(
        p.model_name, version, "champion_decision", "; ".join(decision.reasons)[:5000]
    )
    report = {
        "model_name": p.model_name,
        "version": version,
        "champion": is_champion,
        "reasons": list(decision.reasons),
        "metric": p.metric,
        "value": round(value, 6),
        "heldout_value": round(heldout, 6) if heldout is not None else None,
        "vignettes_passed": vignettes,
        "previous_champion": previous,
        "previous_value": previous_scores.metric if previous_scores else None,
        "model_uri": info.model_uri,
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "register: %s version %s (%s=%.4f) %s",
        p.model_name,
        version,
        p.metric,
        value,
        f"is now @{p.alias}" if is_champion else f"stays behind @{p.alias} v{previous}",
    )
    logger.info("register: %s", "; ".join(decision.reasons))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
