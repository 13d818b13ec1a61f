"""Exact TreeSHAP explanations: additivity, agreement with shap, clinical rendering."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features import catalog
from models.explain import explain_raw, group_sums, study_contributions
from models.predictor import Predictor


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path, fresh_cohort) -> tuple[lgb.Booster, pd.DataFrame]:
    predictor = Predictor.load(tiny_model_dir)
    _, X = fresh_cohort
    return predictor.booster, predictor.model_frame(X.iloc[:25])


def test_contributions_plus_base_equal_raw_score_for_every_class(loaded) -> None:
    booster, X = loaded
    contrib, base = explain_raw(booster, X)
    raw = booster.predict(X, raw_score=True)
    assert contrib.shape == (len(X), 6, X.shape[1])
    assert base.shape == (len(X), 6)
    np.testing.assert_allclose(contrib.sum(axis=2) + base, raw, atol=1e-9)
    # the explained class and the runner-up of each study
    order = np.argsort(-raw, axis=1)
    rows = np.arange(len(X))
    for k in (0, 1):
        cls = order[:, k]
        np.testing.assert_allclose(
            contrib[rows, cls].sum(axis=1) + base[rows, cls], raw[rows, cls], atol=1e-9
        )


def test_native_contributions_equal_shap_tree_explainer(loaded) -> None:
    import shap

    booster, X = loaded
    contrib, base = explain_raw(booster, X)
    explainer = shap.TreeExplainer(booster)
    values = np.asarray(explainer.shap_values(X))  # (n, F, K) in shap 0.51
    if values.shape != (len(X), X.shape[1], 6):  # older shap: list of K (n, F)
        values = np.moveaxis(values, 0, -1)
    np.testing.assert_allclose(np.moveaxis(values, -1, 1), contrib, atol=1e-6)
    np.testing.assert_allclose(
        np.broadcast_to(explainer.expected_value, base.shape), base, atol=1e-6
    )


def test_explain_raw_rejects_wrong_columns(loaded) -> None:
    booster, X = loaded
    with pytest.raises(ValueError, match="booster expects"):
        explain_raw(booster, X.iloc[:, :-1])


def test_study_contributions_are_the_largest_sorted_and_rendered(loaded) -> None:
    booster, X = loaded
    contrib, _ = explain_raw(booster, X)
    row, c = X.iloc[0], contrib[0, 2]
    out = study_contributions(row, c, top_k=5, class_name="axonal_pn")
    assert 0 < len(out) <= 5
    shaps = [x.shap for x in out]
    assert shaps == sorted(shaps, key=abs, reverse=True)
    assert abs(shaps[0]) == pytest.approx(np.abs(c).max())
    for x in out:
        info = catalog.FEATURES[x.feature]
        assert x.label == info.label
        assert x.group == info.group
        assert x.label in x.sentence
        assert "axonal polyneuropathy" in x.sentence
        assert ("pushes towards" in x.sentence) == (x.shap > 0)
        assert x.feature in X.columns
        value = row[x.feature]
        assert (x.value is None) == bool(np.isnan(value))


def test_runner_up_sentence_says_rather_than(loaded) -> None:
    booster, X = loaded
    contrib, _ = explain_raw(booster, X)
    out = study_contributions(
        X.iloc[1], contrib[1, 1] - contrib[1, 5], top_k=3, class_name="als", versus="radiculopathy"
    )
    assert out
    assert all("rather than radiculopathy" in x.sentence for x in out)


def test_not_measured_value_is_said_so(loaded) -> None:
    booster, X = loaded
    contrib, _ = explain_raw(booster, X)
    row = X.iloc[0].copy()
    row[:] = np.nan
    out = study_contributions(row, contrib[0, 0], top_k=2, class_name="normal")
    assert out
    assert all(x.value is None for x in out)


def test_group_sums_add_up_and_use_clinical_groups(loaded) -> None:
    booster, X = loaded
    contrib, _ = explain_raw(booster, X)
    sums = group_sums(contrib[3, 0], list(X.columns))
    assert sum(sums.values()) == pytest.approx(contrib[3, 0].sum(), abs=1e-9)
    groups = {catalog.FEATURES[f].group for f in X.columns}
    assert set(sums) <= groups
    values = list(sums.values())
    assert [abs(v) for v in values] == sorted((abs(v) for v in values), reverse=True)
