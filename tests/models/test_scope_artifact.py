"""The out-of-scope detector is part of the model artifact: copied in, counted in the version,
loaded from ``<model>/scope`` only, and reported in the CSV output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from features.build import build_features
from models import scope
from models.artifact import content_version
from models.oos_eval import oos_training_features
from models.prediction import to_flat_frame
from models.predictor import Predictor
from simulator.cohort import simulate_cohort


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X_in = build_features(simulate_cohort(300, 11))
    X_oos, cond = oos_training_features(150, 12)
    det = scope.train_detector(X_in.iloc[:240], X_oos, cond, X_in.iloc[240:], num_boost_round=8)
    out = tmp_path_factory.mktemp("scope") / "scope"
    det.save(out)
    return out


def test_files_digest_changes_with_the_detector(detector_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(detector_dir, other)
    assert scope.files_digest(other) == scope.files_digest(detector_dir)
    meta = other / "scope.json"
    meta.write_text(meta.read_text().replace('"threshold"', '"threshold" ', 1))
    assert scope.files_digest(other) != scope.files_digest(detector_dir)


def test_model_with_a_copied_detector_uses_it_and_the_sibling_is_ignored(
    detector_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    shutil.copytree(detector_dir, tmp_path / "scope")  # a sibling data/scope: not the model's
    assert Predictor.from_dir(model).scope_detector is None
    scope.copy_into_model(detector_dir, model)
    pred = Predictor.from_dir(model)
    assert pred.scope_detector is not None
    bundle = simulate_cohort(8, 3)
    frame = to_flat_frame(pred.predict_bundle(bundle))
    for col in ("headline", "scope", "p_outside", "outside_most_like", "focal_findings"):
        assert col in frame.columns
    assert set(frame["scope"]) <= {"in_scope", "outside", "insufficient"}
    assert frame["headline"].str.len().gt(0).all()


def test_content_version_counts_the_parts_digest(tiny_model_dir: Path) -> None:
    from models.artifact import load_model_dir

    loaded = load_model_dir(tiny_model_dir)
    base = content_version(loaded.booster, loaded.meta.calibrator)
    assert content_version(loaded.booster, loaded.meta.calibrator, parts_digest="a") != base
