"""Simulator parameters and the emgdx simulate command."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bundle.load import load_bundle
from features.vocab import GENERAL_LAB_PRIOR
from pipelines.config import ParamsError
from pipelines.simulate import main
from simulator.labs import make_labs
from simulator.parameters import DEFAULT_CLASS_MIX, SimulatorParams, load_normals


def test_class_mix_is_normalised_and_checked() -> None:
    p = SimulatorParams(class_mix={"normal": 2.0, "als": 2.0})
    assert p.class_mix["normal"] == pytest.approx(0.5)
    assert p.class_mix["myopathy"] == 0.0
    with pytest.raises(ValidationError, match="mnd"):
        SimulatorParams(class_mix={"mnd": 1.0})
    with pytest.raises(ValidationError):
        SimulatorParams(label_noise=0.9)
    with pytest.raises(ValidationError):
        SimulatorParams(unknown_knob=1)  # type: ignore[call-arg]


def test_priors_sum_to_one() -> None:
    assert sum(DEFAULT_CLASS_MIX.values()) == pytest.approx(1.0)
    assert sum(GENERAL_LAB_PRIOR.values()) == pytest.approx(1.0)
    assert GENERAL_LAB_PRIOR["normal"] > 0.75  # CR7.5: about 80 % of general-lab studies


def test_every_normal_value_cites_a_source() -> None:
    normals = load_normals()
    assert normals["source"].str.len().min() > 5
    # CR7.1: median motor 9.5 mV, sural 15 µV at age 40
    assert normals.loc["median_apb", "amp_median"] == 9.5
    assert normals.loc["sural", "amp_median"] == 15


def test_more_labs_than_archetypes() -> None:
    labs = make_labs(7, 0)
    assert [lab.site_id for lab in labs][-2:] == ["lab-f", "lab-g"]
    with pytest.raises(ValueError, match="n_sites"):
        make_labs(0, 0)


def test_cli_writes_a_valid_bundle_with_params_file(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("simulate:\n  n_studies: 50\n  seed: 4\n  n_sites: 3\n  label_noise: 0.0\n")
    out = tmp_path / "sim"
    assert (
        main(
            [
                "--params",
                str(params),
                "--n-studies",
                "120",
                "--out",
                str(out),
                "--format",
                "parquet",
            ]
        )
        == 0
    )
    bundle, report = load_bundle(out)
    assert report.ok
    assert len(bundle.studies) == 120  # the flag overrides the file
    assert set(bundle.studies["site_id"]) <= {"lab-a", "lab-b", "lab-c"}


def test_cli_rejects_bad_params(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("simulate:\n  label_noise: 2\n")
    with pytest.raises(ParamsError, match=r"simulate\.label_noise = 2: expected"):
        main(["--params", str(params), "--out", str(tmp_path / "x")])


def test_cli_without_params_uses_the_config_defaults(tmp_path: Path) -> None:
    from pipelines.config import SimulateParams

    out = tmp_path / "sim"
    assert main(["--n-studies", "30", "--seed", "2", "--out", str(out)]) == 0
    assert SimulateParams().format == "parquet"
    assert {p.suffix for p in out.iterdir() if p.is_file()} == {".parquet"}
