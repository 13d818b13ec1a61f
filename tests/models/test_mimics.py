"""The ALS-mimic check on hand-built feature rows: each mimic supported, not supported, and not
assessable, and "not measured" never read as normal."""

from __future__ import annotations

import math

import pytest

from models.mimics import (
    MIMIC_COLUMNS,
    MimicStatus,
    check_cervical,
    check_ibm,
    check_mimics,
    check_mmn,
    check_post_polio,
    check_sbma,
    needs_mimic_check,
    supported_codes,
)

S, N, A = MimicStatus.SUPPORTED, MimicStatus.NOT_SUPPORTED, MimicStatus.NOT_ASSESSABLE


def _als_row(**changes: float) -> dict[str, float]:
    """A textbook ALS study: LMN signs in 3 of 4 regions, normal SNAPs and conduction, no block."""
    row = dict.fromkeys(MIMIC_COLUMNS, math.nan)
    row.update(
        ncs_median_motor_cb_ratio=0.95,
        ncs_ulnar_motor_cb_ratio=0.92,
        ncs_peroneal_motor_cb_ratio=0.9,
        ncs_median_motor_amp_pct_lln=150.0,
        ncs_ulnar_motor_amp_pct_lln=140.0,
        ncs_peroneal_motor_amp_pct_lln=120.0,
        ncs_tibial_motor_amp_pct_lln=130.0,
        crit_cb_nerve_count=0.0,
        crit_sensory_abnormal_count=0.0,
        crit_sensory_tested_count=4.0,
        crit_non_length_dependent_sensory=0.0,
        crit_lmn_region_count=3.0,
        crit_lmn_regions_tested_count=4.0,
        crit_regions_examined_count=4.0,
        crit_myopathic_muscle_frac=0.0,
        crit_neurogenic_muscle_frac=0.7,
        crit_active_denervation_muscle_count=8.0,
        ncs_sensory_upper_min_amp_pct_lln=140.0,
        ncs_sensory_lower_min_amp_pct_lln=130.0,
        emg_proximal_myopathic_frac=0.0,
        emg_distal_myopathic_frac=0.0,
    )
    for r, share in (("bulbar", 0.0), ("cervical", 0.8), ("thoracic", 1.0), ("lumbosacral", 0.6)):
        for s in ("lmn_muscle", "fibs", "large_muap", "reduced_recruit", "fasc"):
            row[f"emg_{r}_{s}_frac"] = share
    row.update(changes)
    return row


def _cervical_only(**changes: float) -> dict[str, float]:
    row = _als_row(crit_lmn_region_count=1.0)
    for r in ("bulbar", "thoracic", "lumbosacral"):
        for s in ("lmn_muscle", "fibs", "large_muap", "reduced_recruit", "fasc"):
            row[f"emg_{r}_{s}_frac"] = 0.0
    row.update(changes)
    return row


def test_a_textbook_als_study_supports_no_mimic():
    checks = check_mimics(_als_row())
    assert [c.code for c in checks] == ["mmn", "sbma", "ibm", "post_polio", "cervical"]
    assert [c.status for c in checks] == [N, N, N, N, N]
    assert supported_codes(checks) == ""


# --- MMN -----------------------------------------------------------------------------------------


def test_mmn_block_with_normal_sensory_is_supported_and_names_the_nerve():
    c = check_mmn(_als_row(ncs_ulnar_motor_cb_ratio=0.4, crit_cb_nerve_count=1.0))
    assert c.status is S
    assert "ulnar" in c.sentence
    assert "definite" in c.sentence
    ulnar = next(f for f in c.findings if f.feature == "ncs_ulnar_motor_cb_ratio")
    assert ulnar.value_text == "0.40 (60 % drop; distal CMAP 140 % of LLN)"
    assert "30 %" in ulnar.limit_text
    assert "20 % of LLN" in ulnar.limit_text
    assert c.status_text == "supported"


def test_mmn_probable_block_and_the_tibial_limit():
    assert (
        "probable"
        in check_mmn(_als_row(ncs_median_motor_cb_ratio=0.65, crit_cb_nerve_count=1.0)).sentence
    )
    # a 40 % tibial drop is below the tibial limit (50 %): not listed as a blocked nerve
    c = check_mmn(
        _als_row(
            ncs_tibial_motor_cb_ratio=0.6, ncs_median_motor_cb_ratio=0.6, crit_cb_nerve_count=1.0
        )
    )
    assert "median" in c.sentence
    assert "tibial" not in c.sentence


def test_mmn_a_drop_over_a_tiny_distal_cmap_is_not_named_a_block():
    # ulnar: 60 % drop, but the distal CMAP is 10 % of LLN (too small to judge a block)
    c = check_mmn(
        _als_row(
            ncs_ulnar_motor_cb_ratio=0.4,
            ncs_ulnar_motor_amp_pct_lln=10.0,
            ncs_median_motor_cb_ratio=0.6,
            crit_cb_nerve_count=1.0,
        )
    )
    assert "in median" in c.sentence
    assert "ulnar" not in c.sentence


def test_mmn_block_with_abnormal_sensory_is_not_supported():
    c = check_mmn(
        _als_row(
            ncs_ulnar_motor_cb_ratio=0.4, crit_cb_nerve_count=1.0, crit_sensory_abnormal_count=2.0
        )
    )
    assert c.status is N
    assert "demyelinating" in c.sentence


def test_mmn_without_proximal_stimulation_or_sensory_nerves_is_not_assessable():
    row = _als_row()
    for n in ("median", "ulnar", "peroneal"):
        row[f"ncs_{n}_motor_cb_ratio"] = math.nan
    c = check_mmn(row)
    assert c.status is A
    assert c.findings[0].value_text == "not measured"
    # a block, but no sensory nerve studied: missing is not "normal"
    c = check_mmn(
        _als_row(
            ncs_ulnar_motor_cb_ratio=0.4,
            crit_cb_nerve_count=1.0,
            crit_sensory_abnormal_count=math.nan,
            crit_sensory_tested_count=0.0,
        )
    )
    assert c.status is A


# --- Kennedy disease -------------------------------------------------------------------------------


def test_sbma_abnormal_snaps_beside_widespread_lmn_signs():
    c = check_sbma(
        _als_row(
            crit_sensory_abnormal_count=3.0,
            crit_non_length_dependent_sensory=1.0,
            ncs_sensory_upper_min_amp_pct_lln=40.0,
        )
    )
    assert c.status is S
    assert "arm worse than leg" in c.sentence
    snap = next(f for f in c.findings if f.feature == "ncs_sensory_upper_min_amp_pct_lln")
    assert snap.value_text == "40 % of the lower limit"
    # one minor abnormality is what ALS tolerates, even an arm SNAP without a length gradient
    assert check_sbma(_als_row(crit_sensory_abnormal_count=1.0)).status is N
    one_arm = _als_row(crit_sensory_abnormal_count=1.0, crit_non_length_dependent_sensory=1.0)
    assert check_sbma(one_arm).status is N


def test_sbma_not_widespread_or_not_assessable():
    abnormal = {"crit_sensory_abnormal_count": 3.0}
    assert check_sbma(_als_row(**abnormal, crit_lmn_region_count=1.0)).status is N
    assert (
        check_sbma(
            _als_row(**abnormal, crit_lmn_region_count=1.0, crit_lmn_regions_tested_count=2.0)
        ).status
        is A
    )
    assert check_sbma(_als_row(**abnormal, crit_lmn_region_count=math.nan)).status is A
    no_snaps = check_sbma(
        _als_row(crit_sensory_abnormal_count=math.nan, crit_sensory_tested_count=0.0)
    )
    assert no_snaps.status is A
    assert no_snaps.findings[0].value_text == "no sensory nerve studied"


# --- IBM -------------------------------------------------------------------------------------------


def test_ibm_myopathic_units_mixed_with_neurogenic():
    c = check_ibm(_als_row(crit_myopathic_muscle_frac=0.4, emg_distal_myopathic_frac=0.5))
    assert c.status is S
    assert "mixed with neurogenic units" in c.sentence
    assert "distal" in c.sentence
    assert c.findings[0].value_text == "40 % of muscles"
    few = check_ibm(_als_row(crit_myopathic_muscle_frac=0.1))
    assert few.status is N
    assert "10 %" in few.sentence
    assert check_ibm(_als_row(crit_myopathic_muscle_frac=math.nan)).status is A


# --- post-polio ----------------------------------------------------------------------------------


def _stable(**changes: float) -> dict[str, float]:
    row = _als_row(crit_active_denervation_muscle_count=0.0)
    for r in ("bulbar", "cervical", "thoracic", "lumbosacral"):
        row[f"emg_{r}_fasc_frac"] = 0.0
    row.update(changes)
    return row


def test_post_polio_chronic_units_without_active_denervation():
    c = check_post_polio(_stable())
    assert c.status is S
    assert "70 %" in c.sentence
    assert check_post_polio(_stable(crit_active_denervation_muscle_count=2.0)).status is N
    assert check_post_polio(_stable(emg_lumbosacral_fasc_frac=0.2)).status is N
    assert check_post_polio(_stable(crit_neurogenic_muscle_frac=0.0)).status is N


def test_post_polio_missing_fibs_or_fasciculations_is_not_read_as_none():
    assert check_post_polio(_stable(crit_active_denervation_muscle_count=math.nan)).status is A
    row = _stable()
    for r in ("bulbar", "cervical", "thoracic", "lumbosacral"):
        row[f"emg_{r}_fasc_frac"] = math.nan
    c = check_post_polio(row)
    assert c.status is A
    assert "fasciculations were not recorded" in c.sentence
    assert check_post_polio(_stable(crit_neurogenic_muscle_frac=math.nan)).status is A


# --- cervical ------------------------------------------------------------------------------------


def test_cervical_lmn_signs_confined_to_the_neck():
    c = check_cervical(_cervical_only())
    assert c.status is S
    assert "3 other region(s)" in c.sentence
    # the ALS row has thoracic and lumbosacral change
    als = check_cervical(_als_row())
    assert als.status is N
    assert "thoracic" in als.sentence
    assert "lumbosacral" in als.sentence
    # chronic change alone (no LMN sign) in the legs still goes beyond the neck
    assert check_cervical(_cervical_only(emg_lumbosacral_large_muap_frac=0.3)).status is N
    assert check_cervical(_cervical_only(emg_cervical_lmn_muscle_frac=0.0)).status is N


def test_cervical_needs_another_region_examined():
    assert check_cervical(_cervical_only(crit_regions_examined_count=1.0)).status is A
    assert check_cervical(_cervical_only(crit_regions_examined_count=2.0)).status is S
    row = dict.fromkeys(MIMIC_COLUMNS, math.nan)
    assert check_cervical(row).status is A


def test_an_empty_row_is_not_assessable_everywhere_never_normal():
    checks = check_mimics({})
    assert {c.status for c in checks} == {A}
    for c in checks:
        assert c.findings
        assert all(f.value is None for f in c.findings)


def test_who_gets_the_check_and_the_csv_codes():
    assert needs_mimic_check("als", "neurogenic")
    assert needs_mimic_check("radiculopathy", "neurogenic")
    assert needs_mimic_check("als", "myopathic")
    assert not needs_mimic_check("myopathy", "myopathic")
    checks = check_mimics(_cervical_only(crit_active_denervation_muscle_count=0.0))
    assert supported_codes(checks) == "cervical"
    assert supported_codes(None) is None


@pytest.mark.parametrize(
    "check", [check_mmn, check_sbma, check_ibm, check_post_polio, check_cervical]
)
def test_checks_do_not_modify_the_row(check):
    row = _als_row()
    before = dict(row)
    check(row)
    assert row.keys() == before.keys()
    assert all((math.isnan(row[k]) and math.isnan(v)) or row[k] == v for k, v in before.items())


# --- attached to the prediction ------------------------------------------------------------------


def test_predictions_carry_the_check_exactly_for_als_or_neurogenic_calls(
    tiny_model_dir, fresh_cohort
):
    import json

    from models.prediction import to_flat_frame
    from models.predictor import Predictor

    preds = Predictor.load(tiny_model_dir).predict_features(fresh_cohort[1])
    checked = [p for p in preds if p.mimic_check is not None]
    assert checked, "the cohort must hold neurogenic calls"
    assert any(p.mimic_check is None for p in preds), "and others"
    for p in preds:
        assert (p.mimic_check is not None) == (p.diagnosis == "als" or p.pattern == "neurogenic")
    flat = to_flat_frame(preds).set_index("study_id")
    for p in checked:
        codes = {c.code for c in p.mimic_check if c.status is MimicStatus.SUPPORTED}
        cell = flat.loc[p.study_id, "mimics_supported"]
        assert set(filter(None, cell.split("|"))) == codes
    doc = json.loads(json.dumps(checked[0].to_dict()))
    first = doc["mimic_check"][0]
    assert first["code"] == "mmn"
    assert first["status"] in {"supported", "not_supported", "not_assessable"}
    assert {"feature", "label", "value", "value_text", "limit_text"} <= set(first["findings"][0])
