"""lightgbm.dask training on a LocalCluster (127.0.0.1) matches the local model's quality."""

from __future__ import annotations

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from features.build import build_features
from models.distributed import close_client, dask_lgbm_params, fit_dask, get_client
from models.train import encode_labels, select_features
from simulator.cohort import simulate_cohort

PARAMS = {
    "n_estimators": 40,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "min_child_samples": 10,
    "random_state": 3,
    "n_jobs": 2,
    "early_stopping_rounds": 5,
}


@pytest.fixture(scope="module")
def client():
    dask_client = get_client({"engine": "dask", "n_workers": 2, "memory_limit": "2GiB"})
    yield dask_client
    close_client(dask_client)


@pytest.fixture(scope="module")
def data():
    bundle = simulate_cohort(2400, seed=21)
    X = build_features(bundle)
    X = X[select_features(list(X.columns), ["coverage"])]
    y = pd.Series(encode_labels(bundle.studies["diagnosis"].reset_index(drop=True)), index=X.index)
    cut = 1800
    return X.iloc[:cut], y.iloc[:cut], X.iloc[cut:], y.iloc[cut:]


def test_pandas_engine_needs_no_client():
    assert get_client({"engine": "pandas"}) is None
    with pytest.raises(ValueError, match="'engine'.*'spark'.*Allowed: pandas, dask"):
        get_client({"engine": "spark"})


def test_dask_params_pin_missing_handling_and_drop_thread_counts():
    p = dask_lgbm_params({**PARAMS, "zero_as_missing": True})
    assert p["zero_as_missing"] is False
    assert p["use_missing"] is True
    assert "n_jobs" not in p
    assert "early_stopping_rounds" not in p


def test_client_is_bound_to_loopback(client):
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(a.startswith("tcp://127.0.0.1:") for a in client.scheduler_info()["workers"])


def test_dask_model_quality_is_close_to_local(client, data):
    Xtr, ytr, Xte, yte = data
    X_ddf = dd.from_pandas(Xtr, npartitions=2)
    y_ddf = dd.from_pandas(ytr, npartitions=2)
    model = fit_dask(X_ddf, y_ddf, PARAMS, client)
    assert isinstance(model, lgb.LGBMClassifier)
    assert model.booster_.feature_name() == list(Xtr.columns)
    local = lgb.LGBMClassifier(**dask_lgbm_params(PARAMS), verbosity=-1).fit(Xtr, ytr)
    f1_dask = f1_score(yte, model.predict(Xte), average="macro")
    f1_local = f1_score(yte, local.predict(Xte), average="macro")
    assert f1_local > 0.4  # well above chance (1/6) on this simulated cohort
    assert abs(f1_dask - f1_local) < 0.06
    proba = model.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)


def test_dask_booster_fitter_is_a_drop_in_for_fit_lightgbm(client, data):
    from models.distributed import dask_booster_fitter
    from models.train import fit_lightgbm

    X_tr, y_tr, X_te, y_te = data
    params = {
        "objective": "multiclass",
        "num_class": 6,
        "num_leaves": 15,
        "learning_rate": 0.1,
        "min_data_in_leaf": 10,
        "seed": 3,
        "verbose": -1,
        "num_threads": 2,
    }
    kwargs = {"num_boost_round": 40, "early_stopping_rounds": 40}
    fit = dask_booster_fitter(client, npartitions=2)
    dask_booster = fit(X_tr, y_tr.to_numpy(), X_te, y_te.to_numpy(), params, **kwargs)
    local = fit_lightgbm(X_tr, y_tr.to_numpy(), X_te, y_te.to_numpy(), params, **kwargs)
    assert isinstance(dask_booster, lgb.Booster)
    assert dask_booster.feature_name() == list(X_tr.columns)
    raw = dask_booster.predict(X_te, raw_score=True)
    assert raw.shape == (len(X_te), 6)
    f1_dask = f1_score(y_te, raw.argmax(axis=1), average="macro")
    f1_local = f1_score(y_te, local.predict(X_te).argmax(axis=1), average="macro")
    assert f1_dask > 0.5
    assert abs(f1_dask - f1_local) < 0.08
