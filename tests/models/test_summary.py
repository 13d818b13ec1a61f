"""The headline summary: rows, numbers and the page, from hand-written stage documents."""

from __future__ import annotations

import pytest

from models.summary import (
    SummaryError,
    build_summary,
    columns,
    render_markdown,
    summary_metrics,
    version_label,
)


def _scores(f1: float, **extra: float) -> dict:
    return {"macro_f1": f1, "ece": 0.04, **extra}


METRICS = {
    "test": {"lightgbm": _scores(0.811), "logreg": _scores(0.805), "rules": _scores(0.688)},
    "heldout_site": {
        "lightgbm": _scores(0.774, ece=0.064),
        "logreg": _scores(0.750),
        "rules": _scores(0.660),
    },
    "test_ed_reference": {
        m: _scores(f, share_of_studies=0.91)
        for m, f in (("lightgbm", 0.922), ("logreg", 0.923), ("rules", 0.791))
    },
    "robustness_half": {"lightgbm": _scores(0.7), "logreg": _scores(0.7), "rules": _scores(0.5)},
}
PHYSIOLOGY = {"macro_f1_in_range": 0.823, "macro_f1_heldout_physiology": 0.815}
CLINICAL = {"vignettes_passed": 47, "vignettes": 48, "vignette_pass_rate": 0.979}
EVALSET = {
    "evalset": "v1@abc",
    "model_version": "3f2a9c1d0b7e",
    "metric": 0.810583,
    "heldout": 0.755073,
    "vignettes_passed": 47,
}


def test_rows_follow_the_headline_sets_present_and_keep_their_shares():
    s = build_summary(METRICS, physiology=PHYSIOLOGY, clinical=CLINICAL, evalset=EVALSET)
    assert [r.key for r in s.rows] == ["test", "heldout_site", "test_ed_reference"]
    assert s.rows[1].macro_f1 == {"lightgbm": 0.774, "logreg": 0.750, "rules": 0.660}
    assert s.rows[2].share_of_studies == 0.91
    assert s.rows[0].share_of_studies is None
    assert (s.ece_test, s.ece_heldout_site) == (0.04, 0.064)
    assert s.evalset is not None
    assert (s.evalset.macro_f1, s.evalset.heldout) == (0.810583, 0.755073)


def test_numbers_for_dvc_are_few_and_lightgbm_only():
    s = build_summary(METRICS, physiology=PHYSIOLOGY, clinical=CLINICAL, evalset=EVALSET)
    numbers = summary_metrics(s)
    assert numbers["macro_f1"] == {"test": 0.811, "heldout_site": 0.774, "test_ed": 0.922}
    assert numbers["physiology_heldout"] == 0.815
    assert numbers["vignettes_passed"] == 47
    assert numbers["evalset"] == {"macro_f1": 0.8106, "heldout": 0.7551}
    # nothing of the local registry (version number, champion): it differs between machines
    assert not {"registry_version", "champion"} & set(numbers)
    # what `dvc metrics show` makes columns of: a dozen, not a hundred
    assert len(columns(numbers)) <= 12


def test_page_holds_the_table_and_the_evaluation_set_scores():
    page = render_markdown(
        build_summary(METRICS, physiology=PHYSIOLOGY, clinical=CLINICAL, evalset=EVALSET)
    )
    assert "| held-out lab, against the true disease | 0.774 | 0.750 | 0.660 |" in page
    assert "against the electrodiagnostic conclusion (91 %) | 0.922 | 0.923 | 0.791 |" in page
    assert "| clinical vignettes met | 47 of 48 |" in page
    assert "0.815 (0.823)" in page
    assert (
        "Model 3f2a9c1d0b7e on the fixed evaluation set `v1@abc` (the numbers the champion "
        "rule compares): macro-F1 0.811, held-out lab 0.755." in page
    )
    assert "`reports/register.json` (not in git)" in page


def test_missing_optional_reports_are_dashes_not_errors():
    s = build_summary(METRICS)
    page = render_markdown(s)
    assert "| clinical vignettes met | – |" in page
    assert "Fixed evaluation set: not scored in this run." in page
    assert set(summary_metrics(s)) == {"macro_f1", "ece"}


def test_a_missing_field_names_the_file_and_the_key():
    broken = {"test": {"lightgbm": {"macro_f1": 0.8}, "logreg": {}, "rules": {}}}
    with pytest.raises(SummaryError, match=r"metrics.json: no 'test.logreg.macro_f1'"):
        build_summary(broken)
    with pytest.raises(SummaryError, match=r"physiology.json: no 'macro_f1_in_range'"):
        build_summary(METRICS, physiology={})
    with pytest.raises(SummaryError, match="expected a number"):
        build_summary(METRICS, clinical={"vignettes_passed": "many", "vignettes": 48})


def test_version_label_puts_the_registry_number_first():
    assert version_label("3", "3f2a9c1d0b7e") == "v3 (model 3f2a9c1d0b7e)"
    assert version_label("3", None) == "v3"
    assert version_label(None, "3f2a9c1d0b7e") == "unregistered (model 3f2a9c1d0b7e)"


def test_localisation_and_prediction_set_gap_reach_summary_json_when_scored():
    metrics = {
        **METRICS,
        "localisation": {"root_set_accuracy_abnormal": 0.8567, "side_accuracy_abnormal": 0.9904},
        "conformal": {"nominal_coverage": 0.9, "heldout_site": {"max_class_gap": 0.0156}},
    }
    s = build_summary(metrics, physiology=PHYSIOLOGY, clinical=CLINICAL, evalset=EVALSET)
    numbers = summary_metrics(s)
    assert numbers["localisation"] == {
        "root_in_set_abnormal_emg": 0.8567,
        "side_abnormal_emg": 0.9904,
    }
    assert numbers["conformal_heldout_max_class_gap"] == 0.0156
    # still a dozen-odd columns for `dvc metrics show`
    assert len(columns(numbers)) <= 13
    page = render_markdown(s)
    assert "| 0.857 / 0.990 |" in page
    assert "held-out lab | 0.016 |" in page
    # a run without them leaves them out (and the page shows a dash)
    plain = build_summary(METRICS, physiology=PHYSIOLOGY, clinical=CLINICAL, evalset=EVALSET)
    assert not {"localisation", "conformal_heldout_max_class_gap"} & set(summary_metrics(plain))
