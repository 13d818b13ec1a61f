"""Run the pipeline stages on a tiny simulated project (for tests and the report notebook).

One place that knows the stage order and arguments outside ``dvc.yaml``, so tests that need a
trained project do not each re-type the command lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from features.build import build_features
from features.bundle_io import write_bundle
from simulator.cohort import simulate_cohort


def make_tiny_project(root: Path, params: Mapping[str, Any], *, n_studies: int, seed: int) -> Path:
    """Write a validated bundle, its feature table and ``params.yaml`` under ``root``."""
    bundle = simulate_cohort(n_studies, seed)
    write_bundle(bundle, root / "data" / "validated", fmt="parquet")
    (root / "data" / "features").mkdir(parents=True, exist_ok=True)
    build_features(bundle).to_parquet(root / "data" / "features" / "features.parquet")
    (root / "params.yaml").write_text(yaml.safe_dump(dict(params)))
    return root


def run_tiny_stages(root: Path) -> None:
    """Run ``split``, ``train`` and ``evaluate`` on a project from :func:`make_tiny_project`.

    Uses whatever ``MLFLOW_TRACKING_URI`` is set (tests point it into their tmp dir).

    Raises
    ------
    RuntimeError
        Naming the stage that exited non-zero.
    """
    from pipelines import evaluate, split, train

    d = root / "data"
    common = ["--params", str(root / "params.yaml")]
    inputs = [
        "--bundle",
        str(d / "validated"),
        "--features",
        str(d / "features" / "features.parquet"),
        "--splits",
        str(d / "splits" / "splits.parquet"),
    ]
    steps = {
        "split": (split.main, ["--bundle", str(d / "validated"), "--out", str(d / "splits")]),
        "train": (
            train.main,
            [*inputs, "--out", str(d / "model"), "--report", str(root / "reports" / "train.json")],
        ),
        "evaluate": (
            evaluate.main,
            [*inputs, "--model", str(d / "model"), "--out", str(root / "reports")],
        ),
    }
    for name, (main, argv) in steps.items():
        status = main([*argv, *common])
        if status != 0:
            raise RuntimeError(f"stage {name} exited with {status}")
