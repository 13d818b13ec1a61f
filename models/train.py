"""Fit the emgdx classifier: augmented training set, LightGBM multiclass, temperature, margin.

The pieces are pure functions; :func:`train_model` chains them and returns a :class:`TrainedModel`
that :func:`save_model_dir` writes through :func:`models.artifact.save_model` (``booster.txt``,
``model.json``, ``ood_profile.json``). MLflow logging is the caller's job (``pipelines/train.py``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_sample_weight
from tqdm.auto import tqdm

from bundle.tables import Bundle
from features.catalog import FEATURES
from features.vocab import CLASSES
from models.calibration import Calibration, fit_calibration
from models.conformal import ConformalSets
from models.ood import OODProfile
from models.params import TrainParams

logger = logging.getLogger(__name__)

COVERAGE_PREFIX = "cov_"
AUG_SEPARATOR = "~aug"


# --- features and labels ---------------------------------------------------------------------
def feature_group(name: str) -> str:
    """Clinical group of a feature from ``features.catalog.FEATURES`` (``coverage`` for ``cov_*``)."""
    if name.startswith(COVERAGE_PREFIX):
        return "coverage"
    info = FEATURES.get(name)
    return info.group if info is not None else "other"


def select_features(columns: Sequence[str], exclude_groups: Sequence[str]) -> list[str]:
    """Feature columns that may vote: every column whose group is not in ``exclude_groups``."""
    excluded = set(exclude_groups)
    return [c for c in columns if feature_group(c) not in excluded]


def encode_labels(diagnosis: pd.Series) -> np.ndarray:
    """Integer class index in ``CLASSES`` order; an unknown or missing label is an error."""
    index = {c: i for i, c in enumerate(CLASSES)}
    codes = diagnosis.map(index)
    if codes.isna().any():
        bad = diagnosis[codes.isna()]
        raise ValueError(
            f"studies.diagnosis: study_id {bad.index[0]!r} has {bad.iloc[0]!r}; expected one of {', '.join(CLASSES)}"
        )
    return codes.to_numpy(dtype=int)


def class_weights(y: np.ndarray, mode: str) -> np.ndarray:
    """Per-row weights: ``balanced`` (n / (K · n_class)) or ``none`` (all 1)."""
    if mode == "none":
        return np.ones(len(y))
    return compute_sample_weight("balanced", y)


# --- augmentation ----------------------------------------------------------------------------
def rename_studies(bundle: Bundle, suffix: str) -> Bundle:
    """Same bundle with ``suffix`` appended to every ``study_id`` (all three tables)."""
    return Bundle(
        studies=bundle.studies.assign(study_id=bundle.studies["study_id"].astype(str) + suffix),
        ncs=bundle.ncs.assign(study_id=bundle.ncs["study_id"].astype(str) + suffix),
        emg=bundle.emg.assign(study_id=bundle.emg["study_id"].astype(str) + suffix),
    )


def augmented_features(
    bundle: Bundle,
    study_ids: Sequence[str],
    *,
    n_copies: int,
    drop_kwargs: Mapping[str, float],
    seed: int,
    p_protocol_transplant: float = 0.0,
) -> pd.DataFrame:
    """Feature rows of ``n_copies`` randomly thinned copies of the given (training) studies.

    Each copy first gives a share ``p_protocol_transplant`` of studies the protocol of another
    study (:func:`features.augment.transplant_protocols`, so what was tested says less about the
    diagnosis), then drops whole nerves, muscles, regions and single values at random
    (:func:`features.augment.drop_tests`), and is featurized like any study, so every feature is
    missing in a realistic share of training rows (transfer lessons 1 and 3). Index:
    ``<study_id>~aug<k>``.
    """
    if n_copies == 0 or len(study_ids) == 0:
        return pd.DataFrame()
    from features.augment import drop_tests, transplant_protocols
    from features.build import build_features

    base = bundle.subset(list(study_ids))
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_copies):
        moved = transplant_protocols(base, rng, p=p_protocol_transplant)
        thinned = drop_tests(moved, rng, **drop_kwargs)
        frames.append(build_features(rename_studies(thinned, f"{AUG_SEPARATOR}{k}")))
    out = pd.concat(frames)
    logger.info("augment: %d thinned copies of %d training studies", n_copies, len(study_ids))
    return out


def original_study_id(index: pd.Index) -> pd.Index:
    """Strip the augmentation suffix (``S1~aug0`` → ``S1``)."""
    return pd.Index(index.astype(str).str.split(AUG_SEPARATOR, regex=False).str[0])


# --- LightGBM --------------------------------------------------------------------------------
def lightgbm_params(p: TrainParams) -> dict[str, Any]:
    """LightGBM parameter dict from the ``train`` section ``p``."""
    return {
        "objective": "multiclass",
        "num_class": len(CLASSES),
        "metric": "multi_logloss",
        "num_leaves": p.num_leaves,
        "learning_rate": p.learning_rate,
        "min_data_in_leaf": p.min_data_in_leaf,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "num_threads": p.num_threads,
        "seed": p.seed,
        "deterministic": True,
        "use_missing": True,
        "zero_as_missing": False,
        "verbosity": -1,
    }


def fit_lightgbm(
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
    """Train a multiclass Booster with early stopping on the validation split.

    ``X_*`` are pandas frames so the feature names are stored inside the Booster; NaN is
    "not measured" (LightGBM's missing-value branch). ``progress`` shows a tqdm bar over
    boosting rounds on stderr (default: when stderr is a terminal).
    """
    train_set = lgb.Dataset(X_train, label=y_train, weight=sample_weight, free_raw_data=False)
    valid_set = lgb.Dataset(X_valid, label=y_valid, reference=train_set, free_raw_data=False)
    with tqdm(
        total=num_boost_round, desc="lightgbm", unit="round", disable=_quiet(progress)
    ) as bar:
        booster = lgb.train(
            dict(params),
            train_set,
            num_boost_round=num_boost_round,
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[
                lgb.early_stopping(early_stopping_rounds, verbose=False),
                _progress_callback(bar),
            ],
        )
    logger.info("lightgbm: best iteration %d of %d", booster.best_iteration, num_boost_round)
    return booster


def _progress_callback(bar: tqdm) -> Callable[[Any], None]:
    """A LightGBM callback advancing ``bar`` by one boosting round."""

    def _callback(env: Any) -> None:
        bar.update(1)

    return _callback


def _quiet(progress: bool | None) -> bool:
    return not (sys.stderr.isatty() if progress is None else progress)


def raw_scores(booster: lgb.Booster, X: pd.DataFrame) -> np.ndarray:
    """Raw multiclass scores (n, 6) at the best iteration, columns in the Booster's order."""
    return np.asarray(booster.predict(X[booster.feature_name()], raw_score=True), dtype=float)


def choose_margin(
    proba: np.ndarray, y: np.ndarray, *, target_accuracy: float, max_flagged_share: float
) -> float:
    """Smallest top1−top2 margin whose confident studies reach ``target_accuracy``.

    Studies with margin below the threshold are flagged low confidence. The threshold is capped
    at the ``max_flagged_share`` quantile of the margins so the flag stays informative.
    """
    top2 = np.sort(proba, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    correct = proba.argmax(axis=1) == np.asarray(y)
    order = np.argsort(margin)
    m_sorted, c_sorted = margin[order], correct[order]
    # accuracy of studies with margin >= m_sorted[i] = mean of c_sorted[i:]
    tail_acc = np.cumsum(c_sorted[::-1])[::-1] / np.arange(len(c_sorted), 0, -1)
    cap = float(np.quantile(margin, max_flagged_share)) if len(margin) else 0.0
    first_of_tie = (
        np.r_[True, m_sorted[1:] != m_sorted[:-1]] if len(m_sorted) else np.zeros(0, bool)
    )
    ok = np.flatnonzero((tail_acc >= target_accuracy) & first_of_tie)
    chosen = float(m_sorted[ok[0]]) if len(ok) else cap
    return round(min(chosen, cap), 4)


# --- the whole fit ---------------------------------------------------------------------------
@dataclass
class TrainedModel:
    """Everything the train stage produces (before writing it)."""

    booster: lgb.Booster
    feature_names: list[str]
    #: every column of the feature table fitted on (the feature code's column set)
    input_columns: list[str]
    excluded_groups: list[str]
    calibration: Calibration
    low_confidence_margin: float
    train_prior: dict[str, float]
    #: the logistic-regression baseline (None when trained without it)
    logreg: Any
    metrics: dict[str, float] = field(default_factory=dict)
    ood_profile: OODProfile | None = None
    #: class-conditional prediction-set thresholds fitted on ``calib`` (models.conformal)
    conformal: ConformalSets | None = None

    @property
    def temperature(self) -> float:
        """The softmax temperature of the calibration."""
        return self.calibration.temperature


def train_model(
    X: pd.DataFrame,
    y: pd.Series,
    split: pd.Series,
    p: TrainParams,
    *,
    X_aug: pd.DataFrame | None = None,
    fit_booster: Callable[..., lgb.Booster] | None = None,
    baseline: bool = True,
    study_weight: pd.Series | None = None,
    X_calib_copies: pd.DataFrame | None = None,
) -> TrainedModel:
    """Fit LightGBM + logistic baseline on ``train`` (+ augmented rows), calibrate on ``calib``.

    ``calib`` also fits the prediction-set thresholds (:func:`conformal_sets`).

    Parameters
    ----------
    X : DataFrame
        Full feature table (index ``study_id``), all groups.
    y : Series
        Diagnosis per study (same index as ``X``).
    split : Series
        Split name per study (same index).
    p : models.params.TrainParams
        The ``train`` section of ``params.yaml``.
    X_aug : DataFrame, optional
        Feature rows of augmented training copies (index ``<study_id>~aug<k>``).
    fit_booster : callable, optional
        Replaces :func:`fit_lightgbm` (same arguments, returns a Booster); the Dask engine
        passes :func:`models.distributed.dask_booster_fitter` here.
    baseline : bool
        Fit the logistic-regression baseline too (the held-out-physiology evaluation, which
        scores LightGBM only, skips it).
    study_weight : Series, optional
        Training weight per ``study_id`` (``params.yaml: data.extra_bundles``), multiplied into
        the class weights of the study's rows and of its augmented copies; a study it does not
        list weighs 1. ``None``: every study weighs 1 (the weights are left untouched).
    X_calib_copies : DataFrame, optional
        Feature rows of thinned copies of the ``calib`` studies (index ``<study_id>~aug<k>``,
        :func:`augmented_features`): the prediction-set thresholds also cover partial reports
        (:func:`models.conformal.fit_conformal`). Not used for the calibration itself.
    """
    from sklearn.metrics import f1_score

    from models.baselines import fit_logreg, logreg_proba
    from models.evidence import expand_soft, soft_targets

    feats = select_features(list(X.columns), p.exclude_groups)
    codes = pd.Series(encode_labels(y), index=y.index)
    tr, va, ca = (split == "train"), (split == "valid"), (split == "calib")
    X_tr_all = X.loc[tr]
    y_names = y[tr].to_numpy(dtype=object)
    if X_aug is not None and len(X_aug):
        X_tr_all = pd.concat([X_tr_all, X_aug.reindex(columns=X.columns)])
        y_names = np.concatenate(
            [y_names, y.loc[original_study_id(X_aug.index)].to_numpy(dtype=object)]
        )
    y_tr = encode_labels(pd.Series(y_names))
    # evidence-aware targets: a study (or thinned copy) without the findings that define its
    # class is not taught that class as certain (models.evidence)
    t_tr = soft_targets(X_tr_all, y_names)
    w = class_weights(y_tr, p.class_weight)
    if study_weight is not None:
        w = w * study_weight.reindex(original_study_id(X_tr_all.index)).fillna(1.0).to_numpy()
    X_tr, y_fit, w_fit = expand_soft(X_tr_all[feats].astype("float64"), t_tr, w)
    if fit_booster is None and p.model == "ovr_monotone":
        from models.ovr import fit_ovr

        # the one-vs-rest heads stand in for a multiclass Booster (predict, raw scores, dump)
        fit_booster = cast(Callable[..., lgb.Booster], fit_ovr)
    booster = (fit_booster or fit_lightgbm)(
        X_tr,
        y_fit,
        X.loc[va, feats],
        codes[va].to_numpy(),
        lightgbm_params(p),
        num_boost_round=p.num_boost_round,
        early_stopping_rounds=p.early_stopping_rounds,
        sample_weight=w_fit,
    )
    t_ca = soft_targets(X.loc[ca], y[ca].to_numpy(dtype=object))
    # one-vs-rest heads: P(normal) from the normal head alone (models.calibration, MR7)
    from models.ovr import OvRBooster

    calibration = fit_calibration(
        raw_scores(booster, X.loc[ca]),
        t_ca,
        gated=isinstance(booster, OvRBooster),
        normal_index=CLASSES.index("normal"),
    )
    temperature = calibration.temperature
    prior = y[tr].value_counts(normalize=True).reindex(list(CLASSES), fill_value=0.0)
    train_prior = {str(c): round(float(v), 6) for c, v in prior.items()}
    copies = None
    if X_calib_copies is not None and len(X_calib_copies):
        X_cc = X_calib_copies.reindex(columns=X.columns)
        y_cc = codes.loc[original_study_id(X_cc.index)].to_numpy()
        copies = (raw_scores(booster, X_cc), X_cc, y_cc)
    conformal = conformal_sets(
        raw_scores(booster, X.loc[ca]),
        X.loc[ca],
        codes[ca].to_numpy(),
        calibration,
        train_prior,
        alpha=p.conformal.alpha,
        copies=copies,
    )
    proba_va = calibration.apply(raw_scores(booster, X.loc[va]))
    margin = choose_margin(
        proba_va,
        codes[va].to_numpy(),
        target_accuracy=p.low_confidence.target_accuracy,
        max_flagged_share=p.low_confidence.max_flagged_share,
    )
    logreg = None
    if baseline:
        logreg = fit_logreg(
            X_tr, y_fit, sample_weight=w_fit, C=p.logreg.C, max_iter=p.logreg.max_iter,
            seed=p.seed,
        )  # fmt: skip
    metrics = {
        "n_train_studies": float(tr.sum()),
        "n_train_rows": float(len(X_tr_all)),
        "n_train_soft_rows": float((t_tr.max(axis=1) < 1).sum()),
        "n_features": float(len(feats)),
        "best_iteration": float(booster.best_iteration),
        "temperature": temperature,
        "low_confidence_margin": margin,
        "valid_macro_f1_lightgbm": float(
            f1_score(
                codes[va], proba_va.argmax(axis=1), average="macro", labels=range(len(CLASSES))
            )
        ),
    }
    # the prediction-set thresholds at the training prior: the largest 1 - p_class admitted
    metrics.update(
        {
            f"conformal_threshold_{c}": round(q, 4)
            for c, q in conformal.thresholds["training"].items()
        }
    )
    if logreg is not None:
        metrics["valid_macro_f1_logreg"] = float(
            f1_score(
                codes[va],
                logreg_proba(logreg, X.loc[va, feats]).argmax(axis=1),
                average="macro",
                labels=range(len(CLASSES)),
            )
        )
    logger.info(
        "train: %d features, T=%.3f, margin=%.3f, valid macro-F1 lightgbm %.3f logreg %s",
        len(feats),
        temperature,
        margin,
        metrics["valid_macro_f1_lightgbm"],
        f"{metrics['valid_macro_f1_logreg']:.3f}" if logreg is not None else "not fitted",
    )
    return TrainedModel(
        booster=booster,
        feature_names=feats,
        input_columns=[str(c) for c in X.columns],
        excluded_groups=list(p.exclude_groups),
        calibration=calibration,
        low_confidence_margin=margin,
        train_prior=train_prior,
        logreg=logreg,
        metrics=metrics,
        conformal=conformal,
    )


def conformal_sets(
    raw: np.ndarray,
    X: pd.DataFrame,
    y: np.ndarray,
    calibration: Calibration,
    train_prior: Mapping[str, float],
    *,
    alpha: float,
    copies: tuple[np.ndarray, pd.DataFrame, np.ndarray] | None = None,
) -> ConformalSets:
    """Prediction-set thresholds from calibration studies, for every stated prior.

    The probabilities are the product's (:func:`models.probabilities.product_probabilities`:
    calibration, the prior, the ALS evidence cap), so a set uses what the headline shows;
    the labels ``y`` are the true diagnoses (class indices), not the evidence-aware soft
    targets.

    Parameters
    ----------
    raw : ndarray, shape (n, K)
        Raw scores of the calibration studies.
    X : DataFrame
        Their feature rows (the ALS evidence cap reads them).
    y : ndarray of int, shape (n,)
        Their true class indices.
    calibration : Calibration
        The fitted calibration.
    train_prior : mapping of str to float
        Training class shares, as stored in ``model.json``.
    alpha : float
        Miscoverage per class (``train.conformal.alpha``).
    copies : (ndarray, DataFrame, ndarray), optional
        Raw scores, feature rows and true class indices of thinned copies of the calibration
        studies (partial reports); per class the larger threshold is kept.
    """
    from features.vocab import PRIORS
    from models.conformal import fit_conformal
    from models.evidence import als_assessable
    from models.probabilities import prior_shift, product_probabilities

    def stated(raw_k: np.ndarray, X_k: pd.DataFrame) -> dict[str, np.ndarray]:
        assessable = als_assessable(X_k)
        return {
            prior: product_probabilities(
                raw_k,
                calibration,
                prior=prior_shift(prior, train_prior, CLASSES),
                als_index=CLASSES.index("als"),
                als_assessable=assessable,
            )[0]
            for prior in PRIORS
        }

    thinned = None if copies is None else (stated(copies[0], copies[1]), copies[2])
    return fit_conformal(stated(raw, X), y, alpha=alpha, copies=thinned)


def save_model_dir(
    model: TrainedModel,
    out_dir: Path,
    *,
    version: str | None = None,
) -> Path:
    """Write the model directory through the one writer, :func:`models.artifact.save_model`.

    Nothing per run goes in (:mod:`models.provenance` keeps the run beside it).
    """
    from models.artifact import new_meta, save_model

    meta = new_meta(
        model.booster,
        input_columns=model.input_columns,
        excluded_groups=model.excluded_groups,
        calibration=model.calibration,
        train_prior=model.train_prior,
        low_confidence_margin=model.low_confidence_margin,
        ood_profile=model.ood_profile is not None,
        conformal=model.conformal,
        version=version,
    )
    return save_model(out_dir, model.booster, meta, ood_profile=model.ood_profile)
