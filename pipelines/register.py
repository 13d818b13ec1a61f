"""``emgdx register``: log the pyfunc model, register a version, move ``@champion`` if better.

The model is logged to the MLflow run that trained it (id in ``model.json``) through
``models.pyfunc.log_pyfunc_model`` and registered under ``register.model_name``. Its validation
metric (``register.metric``, a dotted path into ``metrics.json``) is stored as a model-version
tag; the alias moves to the new version only when that value beats the current champion's.
Writes ``reports/register.json`` ``{version, champion, metric, value, previous_champion}``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models import tracking
from models.train import load_model_meta
from pipelines.config import load_params

logger = logging.getLogger(__name__)

METRIC_TAG = "validation_metric"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx register", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--metrics", type=Path, required=True, help="metrics.json from evaluate")
    parser.add_argument(
        "--report", type=Path, default=Path("reports/register.json"), help="output JSON"
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    return parser.parse_args(argv)


def lookup(doc: Mapping[str, Any], dotted: str) -> float:
    """``lookup({"valid": {"lightgbm": {"macro_f1": .9}}}, "valid.lightgbm.macro_f1") == .9``."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"metrics.json has no {dotted!r} (missing {part!r})")
        node = node[part]
    return float(node)


def champion_value(client: Any, name: str, alias: str) -> tuple[str | None, float | None]:
    """Version and stored metric of the current alias holder, ``(None, None)`` if there is none."""
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None, None
    value = mv.tags.get(METRIC_TAG)
    return str(mv.version), (float(value) if value is not None else None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the register stage; returns the exit status."""
    args = _parse_args(argv)
    p = load_params(args.params).registry
    meta = load_model_meta(args.model)
    value = lookup(json.loads(args.metrics.read_text(encoding="utf-8")), p.metric)
    from mlflow import MlflowClient

    from models.pyfunc import log_pyfunc_model  # helper D2's pyfunc (models-from-code)

    with tracking.start_run(run_id=meta.get("mlflow_run_id"), run_name="train"):
        info = log_pyfunc_model(args.model, name="model", registered_model_name=p.model_name)
    client = MlflowClient()
    version = str(info.registered_model_version)
    client.set_model_version_tag(p.model_name, version, METRIC_TAG, f"{value:.6f}")
    client.set_model_version_tag(p.model_name, version, "metric_name", p.metric)
    previous, previous_value = champion_value(client, p.model_name, p.alias)
    is_champion = previous_value is None or value > previous_value
    if is_champion:
        client.set_registered_model_alias(p.model_name, p.alias, version)
    report = {
        "model_name": p.model_name,
        "version": version,
        "champion": is_champion,
        "metric": p.metric,
        "value": round(value, 6),
        "previous_champion": previous,
        "previous_value": previous_value,
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
        f"is now @{p.alias}"
        if is_champion
        else f"does not beat @{p.alias} v{previous} ({previous_value})",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
