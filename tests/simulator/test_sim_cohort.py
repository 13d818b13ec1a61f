"""Cohort-level behaviour: determinism, contract validity, classes, protocol variety, labs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.load import load_bundle
from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from bundle.writers import write_bundle
from features.vocab import CLASSES
from simulator.cohort import simulate_cohort, simulate_to_dir
from simulator.parameters import SimulatorParams


def test_same_seed_gives_identical_tables() -> None:
    a = simulate_cohort(300, 7)
    b = simulate_cohort(300, 7)
    for name in ("studies", "ncs", "emg"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = simulate_cohort(300, 8)
    assert not a.ncs["amplitude"].equals(c.ncs["amplitude"])


def test_chunks_are_deterministic_and_ids_unique() -> None:
    params = SimulatorParams(chunk_size=150)
    a = simulate_cohort(400, 3, params)
    b = simulate_cohort(400, 3, params)
    pd.testing.assert_frame_equal(a.emg, b.emg)
    assert a.studies["study_id"].is_unique
    assert len(a.studies) == 400
    assert set(a.ncs["study_id"]) <= set(a.studies["study_id"])


def test_columns_and_dtypes_follow_the_bundle(sim_cohort: Bundle) -> None:
    for frame, columns in (
        (sim_cohort.studies, STUDY_COLUMNS),
        (sim_cohort.ncs, NCS_COLUMNS),
        (sim_cohort.emg, EMG_COLUMNS),
    ):
        assert list(frame.columns) == list(columns)
        for col, kind in columns.items():
            if kind == "float":
                assert frame[col].dtype == np.float64, col


def test_simulated_bundle_passes_validation(tmp_path: Path) -> None:
    bundle = simulate_cohort(1500, 11)
    write_bundle(bundle, tmp_path / "b", "csv")
    loaded, report = load_bundle(tmp_path / "b")
    assert report.ok, report.problems[:5]
    assert len(loaded.studies) == 1500


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_chunked_writer_matches_in_memory_bundle(tmp_path: Path, fmt: str) -> None:
    params = SimulatorParams(chunk_size=200)
    out = simulate_to_dir(tmp_path / fmt, 500, 5, params, fmt=fmt)  # type: ignore[arg-type]
    loaded, report = load_bundle(out)  # the readers ignore physiology.parquet
    assert report.ok, report.problems[:5]
    phys = pd.read_parquet(out / "physiology.parquet")
    assert phys["study_id"].tolist() == loaded.studies["study_id"].tolist()
    direct = simulate_cohort(500, 5, params)
    assert len(loaded.ncs) == len(direct.ncs)
    np.testing.assert_allclose(
        loaded.ncs["amplitude"].to_numpy(), direct.ncs["amplitude"].to_numpy(), rtol=1e-9
    )


def test_all_six_classes_near_the_default_mix(sim_cohort: Bundle) -> None:
    share = sim_cohort.studies["diagnosis"].value_counts(normalize=True)
    assert set(share.index) == set(CLASSES)
    # CR7.5 training prior: normal 30, radiculopathy 20, axonal 20, others 10 (per cent)
    assert share["normal"] == pytest.approx(0.30, abs=0.03)
    assert share["als"] == pytest.approx(0.10, abs=0.02)


def test_studies_differ_in_what_was_tested(sim_cohort: Bundle) -> None:
    ncs, emg = sim_cohort.ncs, sim_cohort.emg
    nerve_sets = (
        ncs.assign(k=ncs["nerve"] + ncs["kind"] + ncs["side"])
        .groupby("study_id")["k"]
        .agg(lambda s: tuple(sorted(set(s))))
    )
    muscle_sets = (
        emg.assign(k=emg["muscle"] + emg["side"])
        .groupby("study_id")["k"]
        .agg(lambda s: tuple(sorted(set(s))))
    )
    assert nerve_sets.nunique() > 300
    assert muscle_sets.nunique() > 300
    n_muscles = emg.groupby("study_id").size()
    assert n_muscles.min() <= 3
    assert n_muscles.max() >= 16
    # some studies are NCS only (partial protocols, CTS-type referrals)
    assert (~sim_cohort.studies["study_id"].isin(emg["study_id"])).mean() > 0.02


def test_als_workups_are_larger_and_include_the_split_hand(
    sim_cohort: Bundle, sim_emg: pd.DataFrame
) -> None:
    per_study = sim_emg.groupby("study_id").agg(n=("muscle", "size"), dx=("dx", "first"))
    # T5.1 / T2.5: about 16 muscles in ALS work-ups vs 6-10 routine
    assert (
        per_study.loc[per_study["dx"] == "als", "n"].mean()
        > 1.5 * per_study.loc[per_study["dx"] == "normal", "n"].mean()
    )
    motor = sim_cohort.ncs[
        (sim_cohort.ncs["kind"] == "motor") & (sim_cohort.ncs["stim_site"] == "wrist")
    ]
    assert {"apb", "adm", "fdi"} <= set(motor["recording_site"])


def test_patients_with_repeat_visits(sim_cohort: Bundle) -> None:
    studies = sim_cohort.studies
    visits = studies.groupby("patient_id").size()
    assert 0.03 < (visits > 1).mean() < 0.15
    repeat = studies[studies["patient_id"].isin(visits[visits > 1].index)]
    # a patient's visits share diagnosis, sex and height (when written: sex U, height missing)
    known = repeat.assign(sex=repeat["sex"].where(repeat["sex"] != "U"))
    assert (known.groupby("patient_id")[["sex", "height_cm"]].nunique() <= 1).all().all()
    assert (known.groupby("patient_id")["diagnosis"].nunique() == 1).all()


def test_labs_differ_in_habits(sim_cohort: Bundle) -> None:
    studies, ncs, emg = sim_cohort.studies, sim_cohort.ncs, sim_cohort.emg
    assert set(studies["site_id"]) == {"lab-a", "lab-b", "lab-c", "lab-d", "lab-e"}
    temp_missing = studies.groupby("site_id")["limb_temp_c"].apply(lambda s: s.isna().mean())
    assert temp_missing["lab-d"] == 1.0
    assert temp_missing["lab-a"] < 0.15
    site = ncs["study_id"].map(studies.set_index("study_id")["site_id"])
    sural = ncs[(ncs["nerve"] == "sural")].assign(site=site)
    med_dist = sural.groupby("site")["distance_mm"].median()
    assert med_dist["lab-d"] == pytest.approx(100, abs=5)
    assert med_dist["lab-a"] == pytest.approx(140, abs=5)
    e_site = emg["study_id"].map(studies.set_index("study_id")["site_id"])
    numeric = emg["muap_duration_ms"].notna().groupby(e_site).mean()
    assert numeric["lab-d"] == 0.0
    assert numeric["lab-a"] > 0.9


def test_missing_cells_and_no_response_rows(sim_cohort: Bundle) -> None:
    ncs = sim_cohort.ncs
    sens_motor = ncs[ncs["kind"] != "f_wave"]
    assert (sens_motor["amplitude"] == 0).any()
    absent = sens_motor[sens_motor["amplitude"] == 0]
    assert absent["latency_ms"].isna().all()
    assert sens_motor["amplitude"].notna().all()
    motor = ncs[ncs["kind"] == "motor"]
    distal = motor[motor["stim_site"].isin(["wrist", "ankle"])]
    assert distal["velocity_m_s"].isna().all()  # velocity only on proximal rows
    assert motor["velocity_m_s"].notna().any()
    f = ncs[ncs["kind"] == "f_wave"]
    assert f["amplitude"].isna().all()
    assert f["persistence_pct"].between(0, 100).all()
    assert 0.05 < ncs.loc[ncs["kind"] == "motor", "duration_ms"].isna().mean() < 0.95


def test_optional_study_fields_sometimes_missing(sim_cohort: Bundle) -> None:
    studies = sim_cohort.studies
    by_site = studies.groupby("site_id")["height_cm"].apply(lambda s: s.isna().mean())
    assert by_site["lab-d"] > 0.4
    assert by_site["lab-a"] < 0.1
    assert (studies["sex"] == "U").any()
    assert studies["age_years"].notna().all()


def test_label_noise_rate() -> None:
    params = SimulatorParams(class_mix={"normal": 1.0}, label_noise=0.2)
    studies = simulate_cohort(3000, 2, params).studies
    assert (studies["diagnosis"] != "normal").mean() == pytest.approx(0.2, abs=0.03)
