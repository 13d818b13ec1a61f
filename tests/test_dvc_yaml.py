"""dvc.yaml, params.yaml and the emgdx commands stay consistent with each other."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
import yaml

from emgdx import cli
from pipelines.config import Params, load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_committed_params_parse_with_every_section():
    params = load_params(ROOT / "params.yaml")
    assert params.simulate.n_studies >= 1000
    assert "coverage" in params.train.exclude_groups, "coverage must not vote by default"
    assert params.split.holdout_site


def test_unknown_key_in_params_is_rejected(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train:\n  num_leafs: 63\n")
    with pytest.raises(ValueError, match="num_leafs"):
        load_params(bad)


def test_every_stage_runs_an_emgdx_command_whose_module_exists(stages):
    for name, stage in stages.items():
        argv = shlex.split(stage["cmd"])
        assert argv[0] == "emgdx", f"stage {name} does not run emgdx"
        module_name, _ = cli.COMMANDS[argv[1]]
        module = importlib.import_module(module_name)
        assert callable(module.main)
        module_file = "pipelines/" + module_name.split(".")[-1] + ".py"
        assert module_file in stage["deps"], f"stage {name} must depend on its own module"


def test_stage_params_are_sections_of_the_typed_config(stages):
    fields = {f.alias or n for n, f in Params.model_fields.items()}
    for name, stage in stages.items():
        for section in stage.get("params", []):
            assert section in fields, f"stage {name} tracks unknown params section {section}"


def test_pipeline_is_connected(stages):
    outs = {str(o) for s in stages.values() for o in s.get("outs", []) if isinstance(o, str)}
    for name in ("features", "split", "train", "evaluate"):
        data_deps = [d for d in stages[name]["deps"] if str(d).startswith("data/")]
        assert data_deps, name
        # a dep is an out, or a file inside an out folder (evaluate reads data/raw/physiology.parquet)
        assert all(d in outs or any(d.startswith(o + "/") for o in outs) for d in data_deps), name


def test_plots_are_images_so_dvc_plots_show_needs_no_cdn(stages, tmp_path):
    """Vega plots (CSV/JSON) make ``dvc plots show`` load vega from a CDN; images do not."""
    import subprocess
    import sys

    plots = [next(iter(p)) if isinstance(p, dict) else p
             for s in stages.values() for p in s.get("plots", [])]  # fmt: skip
    assert plots
    assert all(p.endswith(".png") for p in plots), plots
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "-o", str(tmp_path / "plots")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-1000:]
    page = (tmp_path / "plots" / "index.html").read_text()
    assert "<script" not in page
    assert "http" not in page
    assert page.count("<img") == len(plots)
