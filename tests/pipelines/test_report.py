"""``emgdx report`` on the committed reports: the page, the numbers, one metrics file in DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from emgdx import cli

ROOT = Path(__file__).resolve().parents[2]


def test_report_writes_page_and_numbers_from_the_stage_reports(tmp_path, caplog, monkeypatch):
    for name in ("metrics.json", "physiology.json", "clinical.json", "register.json"):
        shutil.copy(ROOT / "reports" / name, tmp_path / name)
    # a tracking store of the test's own: the committed register.json names a run that a
    # fresh clone's store does not hold (a warning, not an error) and a developer's store
    # must not be written to
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    argv = ["report", "--out", str(tmp_path / "summary.md"), "--json", str(tmp_path / "s.json")]
    for name in ("metrics", "physiology", "clinical", "register"):
        argv += [f"--{name}", str(tmp_path / f"{name}.json")]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    numbers = json.loads((tmp_path / "s.json").read_text())
    assert numbers["macro_f1"]["heldout_site"] == metrics["heldout_site"]["lightgbm"]["macro_f1"]
    page = (tmp_path / "summary.md").read_text()
    register = json.loads((tmp_path / "register.json").read_text())
    assert f"emgdx v{register['version']}" in page
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
