"""``emgdx report`` on the committed reports: the page, the numbers, one metrics file in DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from emgdx import cli

ROOT = Path(__file__).resolve().parents[2]


def test_report_writes_page_and_numbers_from_the_stage_reports(tmp_path, caplog, monkeypatch):
    for name in ("metrics.json", "physiology.json", "clinical.json", "evalset.json"):
        shutil.copy(ROOT / "reports" / name, tmp_path / name)
    # a model whose run record names a run this (the test's own) tracking store does not hold:
    # a warning, not an error; and a developer's store must not be written to
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({"schema_version": 2, "version": "x"}))
    monkeypatch.setattr(
        "pipelines.report.training_run_id", lambda model_dir: "0123456789abcdef0123456789abcdef"
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    argv = ["report", "--out", str(tmp_path / "summary.md"), "--json", str(tmp_path / "s.json")]
    for name in ("metrics", "physiology", "clinical", "evalset"):
        argv += [f"--{name}", str(tmp_path / f"{name}.json")]
    argv += ["--model", str(model)]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    numbers = json.loads((tmp_path / "s.json").read_text())
    assert numbers["macro_f1"]["heldout_site"] == metrics["heldout_site"]["lightgbm"]["macro_f1"]
    page = (tmp_path / "summary.md").read_text()
    scores = json.loads((tmp_path / "evalset.json").read_text())
    assert f"Model {scores['model_version']} on the fixed evaluation set" in page
    assert f"{metrics['test']['lightgbm']['macro_f1']:.3f}" in page
    assert "not in this tracking store" in caplog.text


def test_report_without_metrics_is_one_line_and_exit_2(tmp_path, capsys):
    status = cli.main(["report", "--metrics", str(tmp_path / "none.json")])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("none.json: missing; run `dvc repro evaluate` first")
    assert "\n" not in err


def test_dvc_metrics_lists_only_the_headline_file():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    metrics = [next(iter(m)) if isinstance(m, dict) else m
               for s in stages.values() for m in s.get("metrics", [])]  # fmt: skip
    assert metrics == ["reports/summary.json"]
    # the detailed reports are still tracked (plain outs, not cached)
    outs = {next(iter(o)) if isinstance(o, dict) else o
            for s in stages.values() for o in s.get("outs", [])}  # fmt: skip
    assert {"reports/metrics.json", "reports/physiology.json", "reports/clinical.json"} <= outs
