"""Training LightGBM on a Dask cluster (``engine: dask``), and getting that cluster.

:func:`get_client` starts a local two-worker cluster bound to 127.0.0.1 or connects to an
existing scheduler; :func:`fit_dask` trains ``lightgbm.DaskLGBMClassifier`` on Dask frames
and hands back an ordinary local ``LGBMClassifier`` (``.to_local()``), so saving, calibration,
explanation and serving are the same as for the pandas engine.

Network note: during ``fit`` LightGBM opens its own collective-communication sockets on
``0.0.0.0`` (random ports); LightGBM has no setting for the listen address. Use it on a
trusted network or behind a host firewall (see ``docs/scale.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

logger = logging.getLogger(__name__)

#: keys of ``engine_params`` understood by :func:`get_client`
ENGINE_KEYS = ("engine", "scheduler_address", "n_workers", "threads_per_worker", "memory_limit")


def get_client(engine_params: Mapping[str, Any]) -> Client | None:
    """A Dask client for ``engine: dask``, or ``None`` for ``engine: pandas``.

    Parameters
    ----------
    engine_params : mapping
        ``engine`` (``"pandas"`` or ``"dask"``); ``scheduler_address`` (e.g.
        ``"tcp://10.0.0.5:8786"``) to connect to an existing cluster, otherwise a LocalCluster
        is started with ``n_workers`` (default 2), ``threads_per_worker`` (default 1) and
        ``memory_limit`` per worker (default ``"4GiB"``), every port bound to 127.0.0.1.

    Returns
    -------
    distributed.Client or None
        The caller closes it (``client.close()``; for a LocalCluster also ``client.cluster.close()``,
        or use :func:`close_client`).
    """
    engine = str(engine_params.get("engine", "pandas"))
    if engine == "pandas":
        return None
    if engine != "dask":
        raise ValueError(
            f"Invalid value for the 'engine' parameter: {engine!r}. Allowed: pandas, dask."
        )
    address = engine_params.get("scheduler_address")
    if address:
        logger.info("connecting to the Dask scheduler at %s", address)
        return Client(str(address))
    cluster = LocalCluster(
        n_workers=int(engine_params.get("n_workers", 2)),
        threads_per_worker=int(engine_params.get("threads_per_worker", 1)),
        memory_limit=str(engine_params.get("memory_limit", "4GiB")),
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        processes=True,
    )
    logger.info("started a local Dask cluster with %d workers", len(cluster.workers))
    return Client(cluster)


def close_client(client: Client | None) -> None:
    """Close a client from :func:`get_client` and, if it owns a LocalCluster, the cluster too."""
    if client is None:
        return
    cluster = client.cluster if isinstance(client.cluster, LocalCluster) else None
    client.close()
    if cluster is not None:
        cluster.close()


def dask_lgbm_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """LightGBM keyword arguments for ``DaskLGBMClassifier`` from the train parameters.

    Thread counts are dropped (lightgbm.dask takes them from each worker's ``nthreads``),
    ``early_stopping_rounds`` is dropped (lightgbm.dask has no validation-set early stopping),
    and missing-value handling is pinned as in the saved-model contract
    (``use_missing=True``, ``zero_as_missing=False``: 0 is "no response", not missing).
    """
    dropped = {"n_jobs", "num_threads", "early_stopping_rounds", "engine", "scheduler_address"}
    out = {k: v for k, v in params.items() if k not in dropped}
    out.setdefault("objective", "multiclass")
    out.setdefault("verbose", -1)
    out["use_missing"] = True
    out["zero_as_missing"] = False
    return out


def fit_dask(
    X_ddf: dd.DataFrame,
    y_ddf: dd.Series,
    params: Mapping[str, Any],
    client: Client,
    sample_weight: dd.Series | None = None,
) -> lgb.LGBMClassifier:
    """Train a multiclass LightGBM on Dask data and return the local model.

    Parameters
    ----------
    X_ddf : dask.dataframe.DataFrame
        Feature table (float64, NaN = not measured), partitioned like ``y_ddf``.
    y_ddf : dask.dataframe.Series
        Class labels (strings or integer codes) with the same divisions as ``X_ddf``.
    params : mapping
        LightGBM parameters (``n_estimators``, ``num_leaves``, ``learning_rate``, ``seed``, ...);
        see :func:`dask_lgbm_params` for what is dropped or pinned.
    client : distributed.Client
        The cluster to train on.
    sample_weight : dask.dataframe.Series, optional
        Per-study weights, partitioned like ``X_ddf``.

    Returns
    -------
    lightgbm.LGBMClassifier
        ``DaskLGBMClassifier.to_local()``: predicts on pandas frames, ``booster_`` holds the
        feature names; class order is ``classes_`` (sorted labels).
    """
    kwargs = dask_lgbm_params(params)
    logger.info("lightgbm.dask fit on %d partitions", X_ddf.npartitions)
    model = lgb.DaskLGBMClassifier(client=client, **kwargs)
    model.fit(X_ddf, y_ddf, sample_weight=sample_weight)
    return model.to_local()


def dask_booster_fitter(client: Client, npartitions: int) -> Callable[..., lgb.Booster]:
    """A drop-in for :func:`models.train.fit_lightgbm` that trains with lightgbm.dask.

    lightgbm.dask has no validation-set early stopping, so all ``num_boost_round`` rounds are
    trained (the validation arguments are accepted and unused); the fitted Booster is returned
    so calibration, explanations and the saved-model contract are the same as the local path.
    """

    def fit(
        X_train: pd.DataFrame,
        y_train: np.ndarray,
        X_valid: pd.DataFrame,
        y_valid: np.ndarray,
        params: Mapping[str, Any],
        *,
        num_boost_round: int,
        early_stopping_rounds: int,
        sample_weight: np.ndarray | None = None,
        progress: bool | None = None,
    ) -> lgb.Booster:
        del X_valid, y_valid, early_stopping_rounds, progress
        X_ddf = dd.from_pandas(X_train.reset_index(drop=True), npartitions=npartitions)
        y_ddf = dd.from_pandas(pd.Series(y_train), npartitions=npartitions)
        w_ddf = (
            None
            if sample_weight is None
            else dd.from_pandas(pd.Series(sample_weight), npartitions=npartitions)
        )
        model = fit_dask(
            X_ddf, y_ddf, {**params, "n_estimators": num_boost_round}, client, sample_weight=w_ddf
        )
        return model.booster_

    return fit
