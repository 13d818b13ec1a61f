"""Stage smoke test: split -> train -> evaluate -> register on a tiny simulated cohort.

Runs in ``tmp_path`` with its own SQLite MLflow store; checks the files DVC tracks, the MLflow
run that links them and the champion rule of the registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers.pipeline import make_tiny_project, run_tiny_stages

TINY_PARAMS = {
    "split": {"holdout_site": "lab-d", "seed": 1},
    "train": {
        "model": "multiclass",
        "num_boost_round": 40,
        "early_stopping_rounds": 10,
        "num_leaves": 7,
        "min_data_in_leaf": 10,
        "num_threads": 1,
        "augment": {"n_copies": 1},
        "logreg": {"max_iter": 200},
    },
    "evaluate": {"shap_sample": 50},
}


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory) -> Path:
    """A tiny project: validated bundle, features and params (nothing trained yet)."""
    return make_tiny_project(tmp_path_factory.mktemp("project"), TINY_PARAMS, n_studies=500, seed=3)


ROOT = Path(__file__).resolve().parents[2]


def _register(root: Path) -> dict:
    from pipelines import register

    argv = [
        "--model",
        str(root / "data" / "model"),
        "--metrics",
        str(root / "reports" / "metrics.json"),
        "--evalset",
        str(ROOT / "evalsets" / "v1"),
        "--vignettes",
        str(ROOT / "clinical"),
    ]
    out = root / "reports" / "register.json"
    scores = root / "reports" / "evalset.json"
    argv += ["--scores", str(scores), "--report", str(out), "--params", str(root / "params.yaml")]
    assert register.main(argv) == 0
    return json.loads(out.read_text())


def _count_validations(mp: pytest.MonkeyPatch) -> list[str]:
    """Record every call of the one validation function (``bundle.validate.validate_tables``)."""
    import bundle.json_form
    import bundle.load
    import bundle.validate

    calls: list[str] = []
    original = bundle.validate.validate_tables

    def counted(tables, source, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(source)
        return original(tables, source, *args, **kwargs)

    for module in (bundle.validate, bundle.load, bundle.json_form):
        mp.setattr(module, "validate_tables", counted)
    return calls


def test_validate_then_features_validates_the_bundle_once(tmp_path, monkeypatch) -> None:
    """``emgdx validate --out`` validates; ``emgdx features`` on its output only reads it."""
    from bundle.validated import is_validated
    from bundle.writers import write_bundle
    from pipelines import featurize, validate
    from simulator.cohort import simulate_cohort

    raw = write_bundle(simulate_cohort(20, 4), tmp_path / "raw", fmt="parquet")
    calls = _count_validations(monkeypatch)
    assert validate.main(["--in", str(raw), "--out", str(tmp_path / "validated")]) == 0
    assert is_validated(tmp_path / "validated")
    out = tmp_path / "features.parquet"
    assert featurize.main(["--in", str(tmp_path / "validated"), "--out", str(out)]) == 0
    assert len(calls) == 1
    assert featurize.main(["--in", str(raw), "--out", str(out)]) == 0  # a raw bundle: validated
    assert len(calls) == 2


@pytest.fixture(scope="module")
def ran(pipeline_dir, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.chdir(pipeline_dir)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{pipeline_dir / 'mlflow.db'}")
    calls = _count_validations(mp)
    try:
        run_tiny_stages(pipeline_dir)
        assert calls == [], (
            "split, train and evaluate must read the validated bundle, not validate it"
        )
        first = _register(pipeline_dir)
        # a second registration of an equally good model must not take the alias
        second = _register(pipeline_dir)
        yield pipeline_dir, first, second
    finally:
        mp.undo()


def test_splits_keep_patients_together_and_hold_out_the_site(ran):
    root, *_ = ran
    splits = pd.read_parquet(root / "data" / "splits" / "splits.parquet")
    assert splits.groupby("patient_id")["split"].nunique().max() == 1
    assert set(splits.loc[splits["site_id"] == "lab-d", "split"]) == {"heldout_site"}


def test_model_dir_and_metrics_for_all_three_models(ran):
    root, *_ = ran
    model = root / "data" / "model"
    assert {"booster.txt", "model.json", "ood_profile.json"} <= {p.name for p in model.iterdir()}
    assert (model / "baselines" / "logreg.skops").exists()
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    for s in ("test", "heldout_site", "robustness_half", "robustness_protocol_swap"):
        assert set(metrics[s]) >= {"lightgbm", "logreg", "rules"}
    # the reported test macro-F1 is the one of the written confusion table
    from sklearn.metrics import f1_score

    conf = pd.read_csv(root / "reports" / "plots" / "confusion.csv")
    recomputed = f1_score(conf["actual"], conf["predicted"], average="macro")
    assert metrics["test"]["lightgbm"]["macro_f1"] == pytest.approx(recomputed, abs=1e-3)
    assert metrics["test"]["lightgbm"]["macro_f1"] > 0.35  # chance is about 1/6
    assert set(metrics["gap_test_minus_heldout"]) == {"lightgbm", "logreg", "rules"}
    # scored against what the findings allow: a subset of the studies, never all inconclusive
    for s in ("test_ed_reference", "heldout_site_ed_reference", "test_evidence_present"):
        share = metrics[s]["lightgbm"]["share_of_studies"]
        assert 0.3 < share <= 1.0
    assert (
        metrics["test_ed_reference"]["lightgbm"]["share_of_studies"]
        >= metrics["test_evidence_present"]["lightgbm"]["share_of_studies"]
    )
    detail = json.loads((root / "reports" / "metrics_detail.json").read_text())
    assert set(detail["by_site"]) >= {"lab-d"}
    assert set(detail["test"]["lightgbm"]["per_class"]) == {
        "normal",
        "als",
        "axonal_pn",
        "demyelinating_pn",
        "myopathy",
        "radiculopathy",
    }
    # the prediction sets: per class on both held-out splits, at both priors, and the headline
    conformal = detail["conformal"]
    assert conformal["nominal_coverage"] == 0.9
    for s in ("test", "heldout_site"):
        for prior in ("training", "general_lab"):
            table = conformal[s][prior]
            assert set(table["per_class"]) == set(detail["test"]["lightgbm"]["per_class"])
            assert 0 <= table["min_class_coverage"] <= table["coverage"] <= 1
            assert 0 <= table["mean_set_size"] <= 6
        assert metrics["conformal"][s]["mean_set_size"] == conformal[s]["training"]["mean_set_size"]
    assert 0.5 < conformal["heldout_site"]["training"]["coverage"]
    confusion = pd.read_csv(root / "reports" / "plots" / "confusion.csv")
    assert list(confusion.columns) == ["study_id", "actual", "predicted"]
    for png in (
        "confusion_test.png",
        "reliability.png",
        "shap_summary.png",
        "feature_importance.png",
        "risk_coverage.png",
    ):
        assert (root / "reports" / "plots" / png).stat().st_size > 1000


def test_one_mlflow_run_holds_params_metrics_and_plots(ran):
    import mlflow

    root, *_ = ran
    meta = json.loads((root / "data" / "model" / "model.json").read_text())
    record = json.loads((root / "data" / "model.run.json").read_text())  # beside, not inside
    assert record["model_version"] == meta["version"]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    run = client.get_run(record["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["model_version"] == meta["version"]
    assert "train/time_fit_s" in run.data.metrics  # timings in MLflow, not in the files
    assert not any(
        k.startswith("time_") for k in json.loads((root / "reports" / "train.json").read_text())
    )
    assert "timing" not in json.loads((root / "reports" / "metrics_detail.json").read_text())
    assert run.data.params["num_leaves"] == "7"
    # named <stage>-<git short sha>-<params hash>, described, with its input dataset
    assert re.fullmatch(r"train-([0-9a-f]{7}|nogit)-[0-9a-f]{8}", run.info.run_name)
    assert run.data.tags["mlflow.note.content"].startswith("emgdx train: LightGBM (multiclass")
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "features"
    assert json.loads(dataset.dataset.source)["uri"].endswith("features.parquet")
    assert json.loads(dataset.dataset.profile)["num_rows"] == 500
    # one section per stage or score set in MLflow's views (``<section>/<name>``)
    assert "test/lightgbm.macro_f1" in run.data.metrics
    assert "train/valid_macro_f1_lightgbm" in run.data.metrics
    sections = {name.split("/")[0] for name in run.data.metrics}
    assert {"train", "test", "heldout_site", "valid", "by_site", "conformal"} <= sections
    assert all("/" in name for name in run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "plots/shap_summary.png" in artifacts


def test_champion_moves_only_under_the_champion_rule(ran):
    root, first, second = ran
    assert first["champion"] is True
    assert first["reasons"] == ["no current champion"]
    evalset = json.loads((ROOT / "evalsets" / "v1" / "evalset.json").read_text())
    assert first["evalset"].startswith(evalset["version"] + "@")
    assert second["evalset"] == first["evalset"]
    # the same model again, scored with the champion on the same fixed set: equal scores
    assert second["champion"] is False
    assert second["previous_champion"] == first["version"]
    assert second["previous_champion_scores"] == second["candidate"]
    assert second["reasons"][0] == "metric +0.0000: below the margin of +0.0050"
    assert 0.2 < second["candidate"]["metric"] < 1
    assert second["candidate"]["heldout"] is not None
    assert 0 <= second["candidate"]["vignettes_passed"] <= 48
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("emgdx", "champion").version) == first["version"]
    tags = client.get_model_version("emgdx", second["version"]).tags
    assert tags["evalset"] == second["evalset"]
    assert tags["champion_decision"].startswith("metric +0.0000: below the margin")


def test_a_person_promotes_and_rolls_back_with_who_and_why(ran, monkeypatch, capsys):
    import mlflow

    from emgdx import cli

    root, first, second = ran
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    params = ["--params", str(root / "params.yaml")]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")

    def champion() -> str:
        return str(client.get_model_version_by_alias("emgdx", "champion").version)

    status = cli.main(["register", "--promote", second["version"], "--reason", "reviewed",
                       "--by", "dr-a", *params])  # fmt: skip
    assert status == 0
    assert champion() == second["version"]
    tags = client.get_model_version("emgdx", second["version"]).tags
    assert (tags["promoted_by"], tags["promoted_reason"]) == ("dr-a", "reviewed")
    assert cli.main(["register", "--rollback", "--reason", "worse on ward", "--by", "dr-b",
                     *params]) == 0  # fmt: skip
    assert champion() == first["version"]
    assert client.get_model_version("emgdx", first["version"]).tags["rolled_back_by"] == "dr-b"
    history = json.loads(client.get_registered_model("emgdx").tags["champion_history"])
    assert [(h["version"], h["action"]) for h in history] == [
        (first["version"], "promoted"),
        (second["version"], "promoted"),
        (first["version"], "rolled_back"),
    ]
    capsys.readouterr()
    # nothing before the first champion: a clear one-line error, exit 2
    assert cli.main(["register", "--rollback", "--reason", "x", *params]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"emgdx register: registered model emgdx: no champion before v{first['version']} in its history; use --promote VERSION"
    ]
    assert cli.main(["register", "--promote", "999", "--reason", "x", *params]) == 2
    assert "has no version 999" in capsys.readouterr().err
    assert champion() == first["version"]


def test_report_summarises_the_run_with_the_evaluation_set(ran, monkeypatch):
    """``emgdx report`` after register: the page (nothing of the local registry in it), and a
    ``summary/`` section in the model's run."""
    import mlflow

    from pipelines import report

    root, _, second = ran
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    reports = root / "reports"
    argv = ["--metrics", str(reports / "metrics.json"), "--evalset", str(reports / "evalset.json"),
            "--physiology", str(reports / "none.json"), "--clinical", str(reports / "none.json"),
            "--model", str(root / "data" / "model"),
            "--out", str(reports / "summary.md"), "--json", str(reports / "summary.json")]  # fmt: skip
    assert report.main(argv) == 0
    page = (reports / "summary.md").read_text()
    meta = json.loads((root / "data" / "model" / "model.json").read_text())
    scores = json.loads((reports / "evalset.json").read_text())
    assert scores["model_version"] == meta["version"]
    assert scores["metric"] == second["candidate"]["metric"]
    assert f"Model {meta['version']} on the fixed evaluation set `{second['evalset']}`" in page
    assert f"v{second['version']}" not in page  # the registry's number is local, not committed
    record = json.loads((root / "data" / "model.run.json").read_text())
    assert second["mlflow_run_id"] == record["mlflow_run_id"]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    logged = client.get_run(record["mlflow_run_id"]).data.metrics
    numbers = json.loads((reports / "summary.json").read_text())
    assert logged["summary/macro_f1.heldout_site"] == numbers["macro_f1"]["heldout_site"]
    assert numbers["evalset"]["macro_f1"] == round(scores["metric"], 4)
