"""``data.extra_bundles``: exported verdicts appended to training, weighted, scored apart.

An empty list changes nothing (the validated bundle is byte-for-byte the one of today); a
non-empty one adds the studies with their weight and source, refuses clashing ids, weights
the training rows, and a tiny retrain logs the bundle as an MLflow input and scores the real
studies by split and site.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bundle.writers import write_bundle
from simulator.cohort import simulate_cohort
from tests.helpers.verdicts import retrain_with_extra


def _relabelled(n: int, seed: int, prefix: str, out: Path) -> Path:
    bundle = simulate_cohort(n, seed)
    for frame in (bundle.studies, bundle.ncs, bundle.emg):
        frame["study_id"] = prefix + frame["study_id"].astype(str)
    bundle.studies["patient_id"] = prefix + bundle.studies["patient_id"].astype(str)
    bundle.studies["site_id"] = "real-lab"
    return write_bundle(bundle, out)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.parquet")):
        h.update(f.read_bytes())
    return h.hexdigest()


def _validate(raw: Path, out: Path, params: Path | None) -> int:
    from pipelines import validate

    argv = ["--in", str(raw), "--out", str(out), "--allow-invalid"]
    return validate.main(argv + ([] if params is None else ["--params", str(params)]))


def test_an_empty_list_leaves_the_validated_bundle_unchanged(tmp_path: Path) -> None:
    raw = write_bundle(simulate_cohort(30, 2), tmp_path / "raw")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"data": {"bundle": str(raw), "extra_bundles": []}}))
    assert _validate(raw, tmp_path / "before", None) == 0
    assert _validate(raw, tmp_path / "after", params) == 0
    assert _digest(tmp_path / "before") == _digest(tmp_path / "after")


def test_extra_studies_are_appended_with_weight_and_source(tmp_path: Path) -> None:
    raw = write_bundle(simulate_cohort(30, 2), tmp_path / "raw")
    extra = _relabelled(8, 9, "real-", tmp_path / "export")
    params = tmp_path / "params.yaml"
    doc = {"data": {"bundle": str(raw), "extra_bundles": [{"path": str(extra), "weight": 4}]}}
    params.write_text(yaml.safe_dump(doc))
    assert _validate(raw, tmp_path / "validated", params) == 0
    studies = pd.read_parquet(tmp_path / "validated" / "studies.parquet")
    assert len(studies) == 38
    real = studies["study_id"].str.startswith("real-")
    assert (studies.loc[real, "sample_weight"] == 4.0).all()
    assert (studies.loc[~real, "sample_weight"] == 1.0).all()
    assert (studies.loc[real, "source_bundle"] == str(extra)).all()
    assert (studies.loc[~real, "source_bundle"] == "").all()


def test_clashing_study_ids_are_refused_with_the_bundle_named(tmp_path: Path) -> None:
    from pipelines.config import ExtraBundle
    from pipelines.extra_bundles import ExtraBundleError, append_extra

    main = simulate_cohort(10, 2)
    extra = write_bundle(simulate_cohort(5, 3), tmp_path / "export")  # the same S000000x ids
    with pytest.raises(ExtraBundleError, match=r"export: 5 study_id\(s\) already"):
        append_extra(main, [ExtraBundle(path=str(extra), weight=2)])


def test_study_weights_multiply_the_training_rows_weights() -> None:
    from models.params import AugmentParams, TrainParams
    from models.train import train_model
    from tests.helpers.tiny import labels_for, make_tiny_cohort, tiny_splits

    bundle, X = make_tiny_cohort(300, 1)
    y = pd.Series(labels_for(bundle, X), index=X.index)
    split = tiny_splits(X.index, 1)
    p = TrainParams(model="multiclass", num_boost_round=15, early_stopping_rounds=15,
                    num_leaves=7, min_data_in_leaf=5, num_threads=1,
                    augment=AugmentParams(n_copies=0))  # fmt: skip
    plain = train_model(X, y, split, p, baseline=False)
    ones = train_model(X, y, split, p, baseline=False, study_weight=pd.Series(1.0, index=X.index))
    heavy = pd.Series(np.where(y == "myopathy", 20.0, 1.0), index=X.index)
    weighted = train_model(X, y, split, p, baseline=False, study_weight=heavy)
    dump = plain.booster.model_to_string
    assert dump() == ones.booster.model_to_string()  # weight 1 everywhere: the same model
    assert dump() != weighted.booster.model_to_string()


@pytest.mark.slow
def test_a_tiny_retrain_logs_the_bundle_and_scores_real_studies(tmp_path: Path) -> None:
    extra = _relabelled(40, 9, "real-", tmp_path / "export")
    out = retrain_with_extra(tmp_path / "project", extra, weight=3)
    assert "extra:export" in out.input_datasets
    real = out.metrics["real_studies"]
    assert real["not_trained_on"]["n"] >= 1
    assert set(real["not_trained_on"]["by_site"]) == {"real-lab"}
    assert 0.0 <= real["not_trained_on"]["accuracy"] <= 1.0
    assert int((out.studies["sample_weight"] == 3.0).sum()) == 40
