"""Run the pipeline stages on a tiny simulated project (for tests and the report notebook).

One place that knows the stage order and arguments outside ``dvc.yaml``, so tests that need a
trained project do not each re-type the command lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bundle.validated import write_validated
from features.build import build_features
from simulator.cohort import simulate_cohort


def make_tiny_project(root: Path, params: Mapping[str, Any], *, n_studies: int, seed: int) -> Path:
    """Write a validated bundle, its feature table and ``params.yaml`` under ``root``."""
    bundle = simulate_cohort(n_studies, seed)
    write_validated(bundle, root / "data" / "validated")
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


#: the project root (where params.yaml, dvc.yaml and data/ live)
PROJECT_DIR = Path(__file__).resolve().parents[2]


def _pipeline_model_current(project: Path) -> bool:
    """True when ``data/model`` exists and DVC reports the train stage up to date."""
    import subprocess
    import sys

    if not (project / "data" / "model" / "booster.txt").is_file():
        return False
    try:
        out = subprocess.run(
            [sys.executable, "-m", "dvc", "status", "train", "--json"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() in ("{}", "")


def train_pipeline_model(root: Path, *, project: Path = PROJECT_DIR) -> Path:
    """Run ``simulate`` → ``validate`` → ``features`` → ``split`` → ``train`` as ``make run`` does.

    The committed ``params.yaml`` of ``project`` is used unchanged; everything is written under
    ``root`` (MLflow too: ``MLFLOW_TRACKING_URI`` points into ``root`` while the stages run and
    is restored afterwards). Returns the model directory.
    """
    import os

    from pipelines import featurize, simulate, split, train, validate

    params = project / "params.yaml"
    d = root / "data"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"  # never the project's
    steps = [
        ("simulate", simulate.main, ["--params", str(params), "--out", str(d / "raw")]),
        (
            "validate",
            validate.main,
            ["--in", str(d / "raw"), "--out", str(d / "validated"), "--allow-invalid"],
        ),
        (
            "features",
            featurize.main,
            [
                "--in",
                str(d / "validated"),
                "--out",
                str(d / "features" / "features.parquet"),
                "--params",
                str(params),
            ],
        ),
        (
            "split",
            split.main,
            ["--bundle", str(d / "validated"), "--out", str(d / "splits"), "--params", str(params)],
        ),
        (
            "train",
            train.main,
            [
                "--bundle",
                str(d / "validated"),
                "--features",
                str(d / "features" / "features.parquet"),
                "--splits",
                str(d / "splits" / "splits.parquet"),
                "--out",
                str(d / "model"),
                "--report",
                str(root / "reports" / "train.json"),
                "--params",
                str(params),
            ],
        ),
    ]
    try:
        for name, main, argv in steps:
            status = main(argv)
            if status != 0:
                raise RuntimeError(f"stage {name} exited with {status}")
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    return d / "model"


def pipeline_model_dir(root: Path, *, project: Path = PROJECT_DIR) -> Path:
    """``data/model`` when it is current with ``dvc.lock``, else a model trained under ``root``."""
    if _pipeline_model_current(project):
        return project / "data" / "model"
    return train_pipeline_model(root, project=project)
