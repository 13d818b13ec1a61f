"""The metamorphic relations of ``clinical/invariants.md`` (MR1-MR12), see ``docs/invariants.md``.

Three parts:

* unit tests of the transforms on tiny hand-built bundles (no model);
* every transform's output still passes validation (no model);
* one test per relation against the pipeline model, on the vignettes invariants.md names and,
  for the generic relations, on 2,000 simulated studies. Each asserts 0 violations.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bundle.load import load_bundle
from bundle.tables import EMG_COLUMNS, NCS_COLUMNS, STUDY_COLUMNS, Bundle
from features.vocab import CLASSES
from models import metamorphic_muscles as M
from models import metamorphic_transforms as T
from models.metamorphic import (
    EPSILON,
    RelationRun,
    simulated_runs,
    validate_written,
    vignette_runs,
)
from models.metamorphic_core import apply_per_target, concat, one_per_study, tag
from models.metamorphic_evidence import (
    _apply_change,
    deletion_variants,
    mr7_worse,
    worse_candidates,
)
from models.metamorphic_io import MIXUPS
from models.metamorphic_regions import add_normal_regions, missing_regions, spread_limb
from models.metamorphic_relations import (
    _apply_block,
    _apply_sensory,
    absent_targets,
    block_targets,
    mr1_slowing,
    sensory_targets,
)
from models.predictor import Predictor
from pipelines import predict as predict_cli
from pipelines import validate as validate_cli
from simulator.cohort import simulate_cohort

SIM_STUDIES = 2000
SIM_SEED = 20260611


# --------------------------------------------------------------------------------------------
# tiny hand-built bundles
# --------------------------------------------------------------------------------------------
def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=list(columns))
    for col, kind in columns.items():
        frame[col] = frame[col].astype("float64" if kind == "float" else object)
    return frame


def tiny_bundle() -> Bundle:
    """One study: median motor (wrist, elbow) + F, sural, and two EMG rows."""
    sid = "t1"
    ncs = [
        {"study_id": sid, "nerve": "median", "side": "R", "kind": "motor", "stim_site": "wrist",
             "recording_site": "apb", "latency_ms": 3.5, "amplitude": 10.0, "duration_ms": 5.0, "distance_mm": 70.0},
        {"study_id": sid, "nerve": "median", "side": "R", "kind": "motor", "stim_site": "elbow",
             "recording_site": "apb", "latency_ms": 7.4, "amplitude": 9.6, "duration_ms": 5.2, "distance_mm": 225.0,
             "velocity_m_s": 57.7},
        {"study_id": sid, "nerve": "median", "side": "R", "kind": "f_wave", "stim_site": "wrist",
             "recording_site": "apb", "latency_ms": 24.4, "persistence_pct": 70.0},
        {"study_id": sid, "nerve": "sural", "side": "L", "kind": "sensory", "stim_site": "calf",
             "recording_site": "lateral_malleolus", "latency_ms": 3.6, "amplitude": 16.0, "distance_mm": 140.0},
    ]  # fmt: skip
    emg = [
        M.normal_muscle_row(sid, "tibialis_anterior", "L"),
        M.normal_muscle_row(sid, "lumbar_paraspinal", "L"),
    ]
    studies = [{"study_id": sid, "age_years": 45.0, "sex": "F", "height_cm": 180.0, "limb_temp_c": 33.0,
                    "patient_id": "p1", "site_id": "lab-a", "diagnosis": "normal"}]  # fmt: skip
    return Bundle(
        studies=_frame(studies, STUDY_COLUMNS),
        ncs=_frame(ncs, NCS_COLUMNS),
        emg=_frame(emg, EMG_COLUMNS),
    )


def _copy(b: Bundle) -> Bundle:
    return Bundle(b.studies.copy(), b.ncs.copy(), b.emg.copy())


def _assert_same(a: Bundle, b: Bundle) -> None:
    for name in ("studies", "ncs", "emg"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_s_b_half_halves_velocities_and_doubles_dml() -> None:
    b = tiny_bundle()
    before = _copy(b)
    out = T.slow_motor(b, 0.5, distal=True)
    _assert_same(b, before)  # input untouched
    lat, vel = out.ncs["latency_ms"].to_numpy(), out.ncs["velocity_m_s"].to_numpy()
    assert lat[0] == pytest.approx(7.0)
    assert vel[1] == pytest.approx(57.7 * 0.5)
    assert lat[1] == pytest.approx(7.0 + 225.0 / (57.7 * 0.5))
    assert lat[2] == pytest.approx(7.0 + (24.4 - 3.5) / 0.5)  # F' = DML' + (F - DML) / f
    assert lat[3] == 3.6  # sensory untouched
    # the proximal velocity recomputed from the new latencies is velocity * f
    assert 225.0 / (lat[1] - lat[0]) == pytest.approx(vel[1])


def test_second_recording_site_is_its_own_distal_first_response() -> None:
    """Ulnar to FDI beside ulnar to ADM: the FDI row is a distal row, not a proximal site."""
    b = tiny_bundle()
    extra = b.ncs.iloc[[0]].assign(nerve="ulnar", recording_site="fdi", latency_ms=4.3)
    adm = b.ncs.iloc[[0, 1]].assign(nerve="ulnar", recording_site="adm")
    ncs = pd.concat([b.ncs, adm, extra], ignore_index=True)
    out = T.slow_motor(Bundle(b.studies, ncs, b.emg), 0.5, distal=True)
    assert out.ncs["latency_ms"].iat[-1] == pytest.approx(8.6)  # DML / f, like any distal row
    assert T.response_position(ncs).tolist() == [0, 1, 0, 0, 0, 1, 0]


def test_s_a_keeps_distal_latency_and_f() -> None:
    out = T.slow_motor(tiny_bundle(), 0.8, distal=False)
    lat = out.ncs["latency_ms"].to_numpy()
    assert lat[0] == 3.5
    assert lat[2] == 24.4
    assert lat[1] == pytest.approx(3.5 + 225.0 / (57.7 * 0.8))


def test_lengthen_distal_latency_keeps_velocity() -> None:
    b = tiny_bundle()
    t = b.ncs.iloc[[0]][list(T.RESPONSE_KEYS)]
    out = T.lengthen_distal_latency(b, t, 0.2)
    lat = out.ncs["latency_ms"].to_numpy()
    assert lat[0] == pytest.approx(4.2)
    assert lat[1] - lat[0] == pytest.approx(7.4 - 3.5)
    assert out.ncs["velocity_m_s"].equals(b.ncs["velocity_m_s"])
    assert lat[2] == 24.4


def test_swap_sides_swaps_l_and_r_only() -> None:
    b = tiny_bundle()
    b = M.upsert_emg_rows(b, M.emg_frame([M.normal_muscle_row("t1", "tongue", "M")]))
    out = T.swap_sides(b)
    assert out.ncs["side"].tolist() == ["L", "L", "L", "R"]
    assert out.emg["side"].tolist() == ["R", "R", "M"]
    _assert_same(T.swap_sides(out), b)


def test_permute_rows_keeps_distal_first_order() -> None:
    b = concat([tiny_bundle(), T.rename_studies(tiny_bundle(), {"t1": "t2"})])
    out = T.permute_rows(b, seed=3)
    assert sorted(out.study_ids) == ["t1", "t2"]
    assert len(out.ncs) == len(b.ncs)
    assert len(out.emg) == len(b.emg)
    for _, rows in out.ncs.groupby(list(T.RESPONSE_KEYS), sort=False):
        lat = rows["latency_ms"].to_numpy()
        assert (np.diff(lat) > 0).all()
        assert np.isnan(rows["velocity_m_s"].iloc[0])


def test_rename_studies_renames_every_table() -> None:
    out = T.rename_studies(tiny_bundle(), {"t1": "X1"}, patient_prefix="Q")
    assert set(out.ncs["study_id"]) == set(out.emg["study_id"]) == {"X1"}
    assert out.studies["patient_id"].tolist() == ["Q00000"]


def test_normal_and_neurogenic_rows_follow_invariants() -> None:
    limb = M.normal_muscle_row("s", "biceps", "R")
    assert limb["insertional"] == "normal"
    assert limb["recruitment"] == "normal"
    assert all(limb[c] == 0.0 for c in ("fibs", "psw", "fascics", "crd", "myotonia"))
    assert all(limb[c] == "normal" for c in T.MUAP_GRADE_COLUMNS)
    assert limb["muap_unstable"] == 0.0
    para = M.normal_muscle_row("s", "thoracic_paraspinal", "R")
    assert all(para[c] == 0.0 for c in ("fibs", "psw", "fascics", "crd", "myotonia"))
    for c in (*T.MUAP_GRADE_COLUMNS, "recruitment", "muap_unstable", "muap_duration_ms"):
        assert pd.isna(para[c])
    neuro = M.neurogenic_muscle_row("s", "tibialis_anterior", "L")
    assert (neuro["fibs"], neuro["psw"], neuro["fascics"]) == (2.0, 2.0, 2.0)
    assert neuro["insertional"] == "increased"
    assert neuro["recruitment"] == "reduced"
    assert all(neuro[c] == "increased" for c in T.MUAP_GRADE_COLUMNS)


def test_absent_is_not_deleted() -> None:
    b = tiny_bundle()
    t = b.ncs.iloc[[3]][list(T.RESPONSE_KEYS)]
    absent = T.make_absent(b, t)
    assert absent.ncs["amplitude"].iat[3] == 0.0
    assert np.isnan(absent.ncs["latency_ms"].iat[3])
    deleted = T.delete_tests(b, ncs_targets=t)
    assert len(deleted.ncs) == 3
    assert "sural" not in set(deleted.ncs["nerve"])


def test_normal_response_versions() -> None:
    b = tiny_bundle()
    sural = b.ncs.iloc[[3]][list(T.RESPONSE_KEYS)]
    out = T.normal_response(T.make_absent(b, sural), sural)
    row = out.ncs[out.ncs["nerve"] == "sural"].iloc[0]
    assert (row["amplitude"], row["latency_ms"]) == (12.0, 3.7)
    f = b.ncs.iloc[[2]][list(T.RESPONSE_KEYS)]
    out = T.normal_response(T.make_f_absent(b, f), f)
    f_row = out.ncs[out.ncs["kind"] == "f_wave"].iloc[0]
    assert f_row["latency_ms"] == pytest.approx(25.0 + 0.15 * 10)  # 180 cm
    assert f_row["persistence_pct"] > 0
    assert out.ncs["kind"].tolist() == b.ncs["kind"].tolist()  # the row stays in place


def test_cool_limb_only_lowers() -> None:
    b = tiny_bundle()
    assert T.cool_limb(b, 27.0).studies["limb_temp_c"].iat[0] == 27.0
    cold = b.studies.assign(limb_temp_c=22.0)
    assert T.cool_limb(Bundle(cold, b.ncs, b.emg), 24.0).studies["limb_temp_c"].iat[0] == 22.0
    warm = b.studies.assign(limb_temp_c=np.nan)
    assert T.cool_limb(Bundle(warm, b.ncs, b.emg), 24.0).studies["limb_temp_c"].iat[0] == 24.0


def test_unit_mixups_change_the_intended_values() -> None:
    b = tiny_bundle()
    assert T.motor_amplitude_in_uv(b).ncs["amplitude"].iat[0] == 10000.0
    assert T.motor_amplitude_in_uv(b).ncs["amplitude"].iat[3] == 16.0
    assert T.sensory_amplitude_in_mv(b).ncs["amplitude"].iat[3] == pytest.approx(0.016)
    assert T.temperature_in_f(b).studies["limb_temp_c"].iat[0] == pytest.approx(91.4)
    assert T.height_in_m(b).studies["height_cm"].iat[0] == pytest.approx(1.8)


def test_synonyms_read_back_canonical(tmp_path: Path) -> None:
    b = M.upsert_emg_rows(tiny_bundle(), M.emg_frame([M.normal_muscle_row("t1", "biceps", "R")]))
    raw = T.with_synonyms(b)
    assert "right" in set(raw.emg["side"])
    assert "TA" in set(raw.emg["muscle"])
    loaded, report = load_bundle(_write(raw, tmp_path))
    assert report.ok, report.format()
    assert loaded.emg["muscle"].tolist() == b.emg["muscle"].tolist()
    assert loaded.emg["side"].tolist() == b.emg["side"].tolist()
    assert loaded.ncs["kind"].tolist() == b.ncs["kind"].tolist()


def _write(b: Bundle, path: Path) -> Path:
    from bundle.writers import write_bundle

    return write_bundle(b, path)


def test_relation_logic_with_a_fake_model() -> None:
    """A model that reads slowing as *less* demyelinating is caught; a constant one is not."""

    def constant(bundle: Bundle) -> pd.DataFrame:
        return pd.DataFrame(1 / 6, index=pd.Index(bundle.study_ids), columns=list(CLASSES))

    def backwards(bundle: Bundle) -> pd.DataFrame:
        v = bundle.ncs.groupby("study_id")["velocity_m_s"].min().reindex(bundle.study_ids)
        demy = (v.fillna(60) / 200).clip(0, 1).to_numpy()
        p = np.column_stack(
            [1 - demy] + [np.zeros_like(demy)] * 2 + [demy] + [np.zeros_like(demy)] * 2
        )
        return pd.DataFrame(p, index=pd.Index(bundle.study_ids), columns=list(CLASSES))

    b = tiny_bundle()
    assert mr1_slowing(constant, b).ok
    caught = mr1_slowing(backwards, b)
    assert not caught.ok
    assert caught.n_checked == 8 + 6
    assert all(v.study_id == "t1" for v in caught.violations)
    assert mr7_worse(constant, b).n_checked == len(worse_candidates(b))


# --------------------------------------------------------------------------------------------
# transformed bundles still validate (no model)
# --------------------------------------------------------------------------------------------
def _all_motor_cands(b: Bundle, change: str) -> Bundle:
    cands = worse_candidates(b)
    t = one_per_study(cands[cands["change"] == change], seed=1)
    return concat(apply_per_target(b, t, "x", lambda bb, tt: _apply_change(change, bb, tt)))


def _untagged(b: Bundle) -> Bundle:
    """Variant bundles renamed to contract-valid ids (``~`` is not allowed in a study_id)."""
    return T.rename_studies(b, {s: f"v{i:06d}" for i, s in enumerate(b.study_ids)})


TRANSFORMS = {
    "S_A(0.7)": lambda b: T.slow_motor(b, 0.7, distal=False),
    "S_B(0.55)": lambda b: T.slow_motor(b, 0.55, distal=True),
    "snap_x0.3": lambda b: T.shrink_sensory_all(b, 0.3),
    "MR2a": lambda b: concat(apply_per_target(b, one_per_study(sensory_targets(b), 2), "x", _apply_sensory)),
    "MR3": lambda b: concat([add_normal_regions(b, s, missing_regions(b, s)) for s in b.study_ids[:20]]),
    "MR5": lambda b: concat([st[1] for s in b.study_ids[:40] if (st := spread_limb(b, s))]),
    "MR6": lambda b: concat(apply_per_target(b, block_targets(b), "x", _apply_block)),
    "MR8a": lambda b: concat([tag(v, "x", n) for n, v in deletion_variants(b, b.study_ids[0])]),
    "MR9_N": lambda b: concat(apply_per_target(b, absent_targets(b)[absent_targets(b)["has_normal"]].assign(variant="n"), "x", T.normal_response)),
    "cool_24": lambda b: T.cool_limb(b, 24.0),
    "LR_swap": T.swap_sides,
    "permuted": lambda b: T.permute_rows(b, 5),
    **{f"MR7 {c}": (lambda b, c=c: _all_motor_cands(b, c)) for c in (
        "cmap_x0.5", "snap_x0.5", "dml_+20%", "sensory_lat_+20%", "motor_S_A(0.8)", "f_lat_+20%",
        "f_absent", "fibs+1", "fascics+1", "recruitment_early", "amp_grade_decreased",
        "polyphasia_increased", "muap_duration_q", "muap_amplitude_q", "muap_unstable")},
}  # fmt: skip


@pytest.fixture(scope="module")
def small_simulated() -> Bundle:
    """300 simulated studies: the transforms must keep them valid too."""
    return simulate_cohort(300, seed=SIM_SEED)


@pytest.mark.parametrize("source", ["vignettes", "small_simulated"])
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transformed_bundles_validate(
    name: str, source: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    out = TRANSFORMS[name](request.getfixturevalue(source))
    assert len(out.studies) > 0
    report = validate_written(_untagged(out), tmp_path)
    assert report.ok, report.format(max_problems=5)


# --------------------------------------------------------------------------------------------
# the relations against the pipeline model
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def invariants_model_dir(request: pytest.FixtureRequest) -> Path:
    """``clinical_model_dir``, or the model folder named by ``EMGDX_INVARIANTS_MODEL`` if set.

    The variable lets a developer check the relations against a given model (for example
    ``data/model`` while ``dvc.lock`` is being changed) without retraining.
    """
    given = os.environ.get("EMGDX_INVARIANTS_MODEL")
    if given:
        return Path(given)
    return request.getfixturevalue("clinical_model_dir")


@pytest.fixture(scope="session")
def invariants_predictor(invariants_model_dir: Path) -> Predictor:
    """The model the relations are checked against."""
    return Predictor.from_dir(invariants_model_dir)


@pytest.fixture(scope="session")
def simulated() -> Bundle:
    """2,000 simulated studies (fixed seed) for the generic relations."""
    return simulate_cohort(SIM_STUDIES, seed=SIM_SEED)


def _report(result) -> str:  # noqa: ANN001
    return f"ε={EPSILON}\n" + result.summary(max_listed=15)


@pytest.mark.parametrize("run", vignette_runs(), ids=lambda r: r.name)
def test_relation_on_vignettes(
    run: RelationRun, invariants_predictor: Predictor, vignettes: Bundle
) -> None:
    result = run.run(invariants_predictor, vignettes)
    assert result.n_checked > 0
    assert result.ok, _report(result)


@pytest.mark.parametrize("run", simulated_runs(), ids=lambda r: r.name)
def test_relation_on_simulated(
    run: RelationRun, invariants_predictor: Predictor, simulated: Bundle
) -> None:
    result = run.run(invariants_predictor, simulated)
    assert result.n_checked > 0
    assert result.ok, _report(result)


@pytest.mark.parametrize("mixup", MIXUPS, ids=lambda m: m[0])
def test_mr11_cli_rejects_unit_mixups(
    mixup: tuple, vignettes: Bundle, invariants_model_dir: Path, tmp_path: Path
) -> None:
    """``emgdx validate`` exits 1; ``emgdx predict`` predicts only the unchanged studies."""
    _, transform, table, column, kind, _ = mixup
    mixed = transform(vignettes)
    folder = _write(mixed, tmp_path / "bundle")
    assert validate_cli.main([str(folder), "--max-problems", "0"]) == 1
    before, after = getattr(vignettes, table)[column], getattr(mixed, table)[column]
    changed_mask = (before != after) & before.notna() & (after != 0)
    changed = set(getattr(vignettes, table).loc[changed_mask, "study_id"])
    unchanged = set(vignettes.study_ids) - changed
    out = tmp_path / "pred.csv"
    argv = [str(folder), "--out", str(out), "--model", str(invariants_model_dir)]
    assert predict_cli.main(argv) == (0 if unchanged else 1)
    if unchanged:
        assert set(pd.read_csv(out)["study_id"]) == unchanged
    rejected = json.loads(out.with_name(out.name + ".rejected.json").read_text())
    assert {r["study_id"] for r in rejected} == changed
    for r in rejected:
        assert any(d["kind"] == kind and d["cause"] and d["row"] for d in r["details"])


@pytest.mark.parametrize("mixup", MIXUPS, ids=lambda m: m[0])
def test_mr11_api_rejects_unit_mixups(
    mixup: tuple, vignettes: Bundle, invariants_model_dir: Path, invariants_predictor: Predictor
) -> None:
    """``POST /api/predict``: a changed study gets 422 naming the row and cause, no probabilities;
    an unchanged one is predicted exactly as the library predicts the original."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from bundle.json_form import study_to_json
    from models.clinical import CLINICAL_DIR

    _, transform, table, column, kind, cause = mixup
    mixed = transform(vignettes)
    before, after = getattr(vignettes, table)[column], getattr(mixed, table)[column]
    changed_mask = (before != after) & before.notna() & (after != 0)
    changed = set(getattr(vignettes, table).loc[changed_mask, "study_id"])
    unchanged = [s for s in vignettes.study_ids if s not in changed][:3]
    original = {p.study_id: p.probabilities for p in invariants_predictor.predict_bundle(vignettes)}
    settings = Settings(model=str(invariants_model_dir), bundle=CLINICAL_DIR / "vignettes")
    with TestClient(create_app(settings)) as client:
        for sid in sorted(changed):
            r = client.post("/api/predict", json=study_to_json(mixed, sid))
            assert r.status_code == 422, sid
            body = r.json()
            assert "predictions" not in body
            assert any(
                e["kind"] == kind and e["row"] and cause in (e["cause"] or "")
                for e in body["errors"]
            ), sid
        for sid in unchanged:
            r = client.post("/api/predict", json=study_to_json(mixed, sid))
            assert r.status_code == 200, sid
            got = r.json()["predictions"][0]["probabilities"]
            assert got == pytest.approx(original[sid], abs=1e-6), sid
