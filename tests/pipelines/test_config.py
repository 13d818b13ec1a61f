"""The typed config is the one source of defaults, and a bad params file is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from emgdx import cli
from pipelines.config import Params, ParamsError, load_params

ROOT = Path(__file__).resolve().parents[2]


def test_config_defaults_equal_the_committed_params_yaml() -> None:
    assert load_params(ROOT / "params.yaml") == Params()


def test_missing_params_file_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="no such params file"):
        load_params(tmp_path / "params.yaml")


def test_mistyped_value_names_file_key_value_and_expectation(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  num_leaves: many\n  augment:\n    n_copies: -1\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    lines = str(info.value).splitlines()
    assert (
        lines[0]
        == f"{path}: train.num_leaves = 'many': expected a valid integer, unable to parse string as an integer"
    )
    assert lines[1].startswith(
        f"{path}: train.augment.n_copies = -1: expected greater than or equal to 0"
    )


def test_unknown_and_non_mapping_params(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  num_leafs: 63\n")
    with pytest.raises(ParamsError, match=r"train\.num_leafs: unknown key"):
        load_params(path)
    path.write_text("- a list\n")
    with pytest.raises(ParamsError, match="expected a mapping of sections"):
        load_params(path)
    path.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML at line"):
        load_params(path)


def test_emgdx_prints_the_params_error_in_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("split:\n  seed: x\n")
    status = cli.main(["split", "--bundle", str(tmp_path), "--out", str(tmp_path / "s"),
                       "--params", str(path)])  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"emgdx split: {path}: split.seed = 'x': expected a valid integer, unable to parse string as an integer"
    ]
