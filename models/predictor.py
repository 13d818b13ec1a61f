"""The predictor: a saved model directory in, :class:`~models.prediction.StudyPrediction` out.

One object built once (Booster, calibration, unlike-the-training-data profile) serves the CLI,
the MLflow pyfunc and the web app. Per study it returns the calibrated probabilities, the
pattern, the exact TreeSHAP explanation for the predicted class and against the runner-up,
per-group sums, the guideline check from :mod:`models.rules`, and the two flags (low confidence,
unlike the training data) with their reasons. See ``docs/confidence.md``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from bundle.tables import Bundle
from features.focal import focal_findings
from features.vocab import PATTERNS, PRIORS, check_option
from models.artifact import (
    BOOSTER_FILE,
    META_FILE,
    FeatureMismatchError,
    ModelArtifactError,
    ModelMeta,
    ModelNotFoundError,
    check_feature_columns,
    load_model_dir,
)
from models.calibration import Calibration
from models.conformal import prediction_sets
from models.evidence import (
    als_assessable,
    class_lacks_evidence,
    evidence_table,
    limitations,
)
from models.explain import (
    BATCH_ROWS,
    RowContext,
    explain_shown,
    group_sums,
    top_contributions,
)
from models.flags import flag_reasons, is_low_confidence, is_unlike_training_data
from models.guideline import als_sensory_abnormal, guideline_checks
from models.localisation import localise, wants_localisation
from models.mimics import mimic_checks, needs_mimic_check
from models.ood import OODProfile
from models.prediction import StudyPrediction
from models.probabilities import (
    PriorShift,
    pattern_probabilities,
    prior_shift,
    product_probabilities,
    ranking,
)
from models.scope import (
    SCOPE_DIR,
    ScopeAssessment,
    ScopeDetector,
    als_unestablished_assessments,
    assess,
    insufficient,
    mix_probabilities,
    mixed_capped,
    nmj_assessments,
)
from models.scope import headline as scope_headline
from models.summary import version_label

logger = logging.getLogger(__name__)

#: the pipeline's latest model (DVC out of the train stage)
DEFAULT_MODEL_DIR = Path("data/model")
#: the registered champion
CHAMPION_URI = "models:/emgdx@champion"
REGISTERED_NAME = "emgdx"
_TRAIN_HINT = (
    "Train one with `make run` (the whole pipeline: simulate -> ... -> train -> register), "
    "or `dvc repro train`, or point --model at a model directory or an MLflow model URI."
)


def _registry_uri() -> str | None:
    """The configured MLflow store: ``MLFLOW_TRACKING_URI``, else ``./mlflow.db`` if it exists.

    Checking a registry that does not exist would create an empty ``mlflow.db`` in the working
    directory (MLflow's default), so we only look when there is something to look at.
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    local = Path("mlflow.db")
    return f"sqlite:///{local.resolve()}" if local.is_file() else None


def _champion_available() -> bool:
    """Whether the registry has ``emgdx@champion``; False when no registry is configured.

    Raises
    ------
    RegistryError
        The registry is locked, corrupt or failing: an error, never "no champion" (which
        would silently serve ``data/model`` instead).
    """
    uri = _registry_uri()
    if uri is None:
        return False
    from mlflow import MlflowClient

    from models import tracking

    tracking.check_store(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return tracking.alias_version(client, REGISTERED_NAME, "champion") is not None


def _registry_version(uri: str) -> str | None:
    """The registry's version number behind ``models:/NAME@ALIAS`` or ``models:/NAME/N``."""
    m = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", uri)
    if m is None:
        return None
    if m.group(3):
        return m.group(3)
    from mlflow import MlflowClient

    return str(MlflowClient().get_model_version_by_alias(m.group(1), m.group(2)).version)


def _find_scope(model_dir: Path) -> ScopeDetector | None:
    """The out-of-scope detector saved in the model directory's ``scope`` folder (the train
    stage copies it there and counts it in the model's version), or None."""
    return ScopeDetector.load(model_dir / SCOPE_DIR)


def _find_model_dir(root: Path) -> Path | None:
    """The folder holding ``booster.txt`` + ``model.json`` inside a downloaded artifact tree."""
    if (root / BOOSTER_FILE).is_file() and (root / META_FILE).is_file():
        return root
    for booster in sorted(root.rglob(BOOSTER_FILE)):
        if (booster.parent / META_FILE).is_file():
            return booster.parent
    return None


@dataclass
class Predictor:
    """A loaded model, ready to predict and explain studies.

    Attributes
    ----------
    booster : lightgbm.Booster
        The multiclass booster (class order :data:`features.vocab.CLASSES`).
    meta : ModelMeta
        The typed ``model.json`` (:class:`models.artifact.ModelMeta`).
    ood : OODProfile or None
        The unlike-the-training-data profile (None only when the model was saved without one,
        as ``meta.ood_profile`` says; the flag then only reflects the checks needing none).
    source : str
        Where the model was loaded from (for logs and the web page).
    prior : str
        Class prevalence the probabilities are stated for: ``"training"`` (the simulated
        training mix, as calibrated) or ``"general_lab"`` (a general EMG lab's referral mix,
        clinical reference §7.5: about 80 % normal), applied by Bayes' rule
        (:func:`models.calibration.shift_prior`). Explanations stay in the model's raw log-odds;
        the prevalence change is one more, constant term per class.
    registry_version : str or None
        The MLflow registry's version number when the model was loaded from the registry
        (``models:/emgdx@champion`` -> ``"3"``); None for a model directory.
    num_threads : int
        LightGBM threads per call (0: LightGBM's default, all cores); see :meth:`with_threads`.
    """

    booster: lgb.Booster
    meta: ModelMeta
    ood: OODProfile | None = None
    source: str = ""
    prior: str = "training"
    registry_version: str | None = None
    num_threads: int = 0
    #: the out-of-scope detector (models.scope), None when the model has none
    scope_detector: ScopeDetector | None = None
    _feature_names: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_option("prior", self.prior, PRIORS)

    def with_prior(self, prior: str) -> Predictor:
        """The same model stating probabilities for another class prevalence (see ``prior``)."""
        return replace(self, prior=check_option("prior", prior, PRIORS))

    # --- identity -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Model name from model.json."""
        return self.meta.name

    @property
    def version(self) -> str:
        """The version as shown everywhere: the registry's number first when the model came from
        the registry, the content version of model.json beside it ("v3 (model 3f2a9c1d0b7e)")."""
        return version_label(self.registry_version, self.meta.version)

    @property
    def feature_names(self) -> list[str]:
        """Features in the booster's order (read from the booster once)."""
        return list(self._names())

    def _names(self) -> list[str]:
        if self._feature_names is None:
            self._feature_names = list(self.booster.feature_name())
        return self._feature_names

    @property
    def classes(self) -> list[str]:
        """Class names in the booster's class-index order."""
        return list(self.meta.classes)

    @property
    def temperature(self) -> float:
        """Calibration (softmax) temperature."""
        return self.calibration.temperature

    @property
    def calibration(self) -> Calibration:
        """The calibration of ``model.json``."""
        return self.meta.calibrator

    @property
    def low_confidence_margin(self) -> float:
        """Top-1 minus top-2 probability below which a prediction is flagged low-confidence."""
        return self.meta.low_confidence_margin

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def from_dir(cls, model_dir: str | Path, *, source: str | None = None) -> Predictor:
        """Load a saved-model directory through :func:`models.artifact.load_model_dir`.

        Raises
        ------
        ModelNotFoundError
            The directory holds no model.
        ModelArtifactError
            A file or a field of the model is missing or wrong (the message names it).
        FeatureMismatchError
            The model was trained on other feature columns than this emgdx's feature code
            computes (``features.catalog.FEATURES``): named, at load rather than at predict.
        """
        from features.catalog import FEATURES

        loaded = load_model_dir(model_dir)
        check_feature_columns(loaded.meta, FEATURES, what="this emgdx's feature code computes")
        return cls(
            booster=loaded.booster,
            meta=loaded.meta,
            ood=loaded.ood,
            source=source or str(model_dir),
            scope_detector=_find_scope(Path(model_dir)),
        )

    @classmethod
    def load(cls, source: str | Path | None = None) -> Predictor:
        """Load a model from a directory, an MLflow model URI, or the default.

        Parameters
        ----------
        source : str, Path or None
            A model directory; an MLflow URI (``models:/emgdx@champion``, ``models:/emgdx/3``,
            ``runs:/<run_id>/model``, ...); or None for the registered champion when the
            registry has one, else the pipeline's latest model ``data/model``.

        Raises
        ------
        ModelNotFoundError
            When nothing is found, with a message saying how to train a model.
        """
        if source is None:
            if _champion_available():
                source = CHAMPION_URI
            elif (DEFAULT_MODEL_DIR / BOOSTER_FILE).is_file():
                source = DEFAULT_MODEL_DIR
            else:
                raise ModelNotFoundError(
                    f"No model found: no registered champion {CHAMPION_URI} and no "
                    f"{DEFAULT_MODEL_DIR}/{BOOSTER_FILE}. {_TRAIN_HINT}"
                )
        text = str(source)
        if "://" not in text and ":/" not in text:
            return cls.from_dir(Path(text))
        if text.startswith("file://"):
            return cls.from_dir(Path(text[len("file://") :]), source=text)
        return cls._from_mlflow(text)

    @classmethod
    def _from_mlflow(cls, uri: str) -> Predictor:
        import mlflow
        from mlflow.exceptions import MlflowException

        from models import tracking

        store = _registry_uri()
        if store is not None:
            tracking.check_store(store)
        tmp = Path(tempfile.mkdtemp(prefix="emgdx-model-"))
        try:
            try:
                with tracking.store_errors(store):
                    local = Path(
                        mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp))
                    )
            except (MlflowException, OSError) as exc:
                raise ModelNotFoundError(
                    f"Could not load {uri} from MLflow ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). {_TRAIN_HINT}"
                ) from exc
            model_dir = _find_model_dir(local)
            if model_dir is None:
                raise ModelNotFoundError(
                    f"{uri}: downloaded, but it holds no {BOOSTER_FILE} + {META_FILE}. "
                    f"{_TRAIN_HINT}"
                )
            return replace(
                cls.from_dir(model_dir, source=uri), registry_version=_registry_version(uri)
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- features -----------------------------------------------------------------------------
    def feature_frame(self, bundle: Bundle) -> pd.DataFrame:
        """The full feature table of a bundle (index ``study_id``), as the model sees it."""
        from features.build import build_features

        return build_features(bundle)

    def model_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` restricted to the booster's features in its order.

        Raises
        ------
        FeatureMismatchError
            When the columns of ``X`` are not exactly the feature table the model was fitted
            on (a feature absent, or one it never saw), naming them: an absent column is never
            read as "not measured" (NaN values are; columns are the feature code's contract).
        """
        check_feature_columns(self.meta, X.columns, what="the feature table")
        names = self.feature_names
        idx = X.columns.get_indexer(pd.Index(names))
        values = X.to_numpy(dtype=np.float64)
        return pd.DataFrame(values[:, idx], index=X.index, columns=names)

    # --- prediction ---------------------------------------------------------------------------
    def with_threads(self, num_threads: int) -> Predictor:
        """The same model predicting with ``num_threads`` LightGBM threads (0: all cores).

        A server with several worker processes gives each one thread, so workers × threads
        never exceeds the cores (no OpenMP oversubscription).
        """
        if num_threads < 0:
            raise ValueError(f"num_threads must be 0 (all cores) or positive, got {num_threads}")
        return replace(self, num_threads=num_threads)

    def predict_bundle(self, bundle: Bundle, *, top_k: int = 8) -> list[StudyPrediction]:
        """Featurize a (validated) bundle and predict every study in it.

        Adds the root localisation where it applies (:func:`with_localisation`), the focal
        findings (:func:`features.focal.focal_findings`, from the NCS/EMG rows) and the headline
        that respects them and the scope assessment.
        """
        preds = with_localisation(
            self.predict_features(self.feature_frame(bundle), top_k=top_k), bundle
        )
        focal = focal_findings(bundle)
        out = []
        for p in preds:
            found = focal.get(p.study_id, [])
            texts = [f.text for f in found]
            out.append(
                replace(
                    p,
                    focal_findings=found,
                    headline=scope_headline(p.diagnosis, p.scope, texts),
                    limitations=[*p.limitations, *(f.left_out_text for f in found if f.left_out)],
                )
            )
        return out

    def predict_features(self, X: pd.DataFrame, *, top_k: int = 8) -> list[StudyPrediction]:
        """Predict and explain every row of a feature table.

        The steps are pure functions on arrays: raw scores, probabilities
        (:func:`models.probabilities.product_probabilities`), ranking, TreeSHAP of the two
        classes shown (:func:`models.explain.explain_shown`), flags
        (:func:`models.flags.flag_reasons`), the guideline check
        (:func:`models.guideline.guideline_checks`) and the explanation
        (:func:`models.explain.top_contributions`). The feature values are copied once, into
        the model's feature order.

        Parameters
        ----------
        X : DataFrame
            Feature table, index ``study_id``; extra columns (coverage, ...) are used by the
            guideline check and the unlike-the-training-data profile, not by the booster.
            NaN = not measured. Not modified.
        top_k : int
            Contributions kept per explanation.

        Returns
        -------
        list of StudyPrediction
            In the row order of ``X``.
        """
        if len(X) == 0:
            return []
        values = self.model_values(X)
        ev = evidence_table(X)  # once per batch: the cap, the limitations and the flag
        assessable = als_assessable(X, ev)
        proba, capped = self.probabilities_from_raw(self.raw_scores(values), X, ev)
        scopes: list[ScopeAssessment | None] = [None] * len(X)
        if self.scope_detector is not None:  # soft-target mixture + assessment (models.scope)
            q = self.scope_detector.proba(X)
            # the mixture can lift P(ALS) again (Kennedy's soft target is 0.6 ALS): the Gold
            # Coast cap is a rule about the headline, so it holds after the mixture too
            mixed = mix_probabilities(proba, q)
            proba = mixed_capped(proba, q, assessable)
            capped = capped | (np.abs(proba - mixed).max(axis=1) > 0)
            scopes = list(assess(q, self.scope_detector.threshold, insufficient(X)))
        scopes = nmj_assessments(scopes, X)  # an RNS decrement > 10 % is outside by rule
        top, second = ranking(proba)
        # ALS leading where it cannot be established: the headline says so instead
        scopes = als_unestablished_assessments(scopes, top == self.classes.index("als"), assessable)
        classes = self.classes
        conformal = self.meta.conformal
        # the sets use the headline's probabilities, with the thresholds fitted at this prior
        sets = (
            prediction_sets(proba, conformal, self.prior, classes)
            if conformal is not None
            else [[] for _ in range(len(proba))]
        )
        set_coverage = conformal.coverage if conformal is not None else None
        predicted = [classes[k] for k in top]
        limits = limitations(X, ev)
        ood = self.ood.score(X) if self.ood is not None else None
        reasons = flag_reasons(
            classes,
            proba,
            top,
            second,
            margin=self.low_confidence_margin,
            unsupported=class_lacks_evidence(X, np.asarray(predicted, dtype=object), ev) | capped,
            limitations=limits,
            als_sensory_abnormal=als_sensory_abnormal(X),
            unlike=None if ood is None else ood["unlike_training_data"].to_numpy(dtype=bool),
            unlike_reasons=None if ood is None else ood["ood_reasons"].astype(str).tolist(),
        )
        shown = explain_shown(
            self.booster, values, top, second, num_threads=self.threads_for(len(values))
        )
        guideline = guideline_checks(X, predicted)
        patterns = pattern_probabilities(proba, classes)
        pattern_of = [PATTERNS[int(k)] for k in np.argmax(patterns, axis=1)]
        mimic = mimic_checks(
            X, [needs_mimic_check(d, p) for d, p in zip(predicted, pattern_of, strict=True)]
        )
        names = self._names()
        context_columns = {str(c): j for j, c in enumerate(X.columns)}
        context_values = X.to_numpy()  # a view when X is one float block (build_features)
        out: list[StudyPrediction] = []
        for i, study_id in enumerate(X.index.astype(str)):
            c1, c2 = predicted[i], classes[second[i]]
            context = RowContext(context_columns, context_values, i)
            pat = int(np.argmax(patterns[i]))
            explain = partial(
                top_contributions, names, values[i], top_k=top_k, class_name=c1, context=context
            )
            out.append(
                StudyPrediction(
                    study_id=study_id,
                    diagnosis=c1,
                    probabilities=dict(zip(classes, proba[i].tolist(), strict=True)),
                    pattern=PATTERNS[pat],
                    pattern_probability=float(patterns[i, pat]),
                    explanation=explain(shown.top[i]),
                    model_name=self.name,
                    model_version=self.version,
                    low_confidence=is_low_confidence(reasons[i]),
                    unlike_training_data=is_unlike_training_data(reasons[i]),
                    flag_reasons=reasons[i],
                    runner_up=c2,
                    runner_up_explanation=explain(shown.versus[i], versus=c2),
                    base_value=float(shown.base_top[i]),
                    group_contributions=group_sums(shown.top[i], names),
                    guideline=guideline[i],
                    limitations=list(limits[i]),
                    mimic_check=mimic[i],
                    prediction_set=sets[i],
                    prediction_set_coverage=set_coverage,
                    scope=scopes[i],
                    headline=scope_headline(c1, scopes[i], []),
                )
            )
        return out

    def model_values(self, X: pd.DataFrame) -> np.ndarray:
        """``X``'s values in the booster's feature order, float64 (n, F): the one copy made.

        Raises
        ------
        FeatureMismatchError
            As :meth:`model_frame`: the columns of ``X`` must be the model's feature table.
        """
        check_feature_columns(self.meta, X.columns, what="the feature table")
        idx = X.columns.get_indexer(pd.Index(self._names()))
        # a view when X is one float64 block (build_features' output), so this take is the copy
        return np.ascontiguousarray(X.to_numpy(dtype=np.float64)[:, idx])

    def raw_scores(self, values: np.ndarray) -> np.ndarray:
        """The booster's raw scores (log-odds), (n, K), for :meth:`model_values` output."""
        threads = self.threads_for(len(values))
        kw: dict[str, Any] = {"num_threads": threads} if threads else {}
        return np.asarray(self.booster.predict(values, raw_score=True, **kw), dtype=float)

    def threads_for(self, n_rows: int) -> int:
        """LightGBM threads for ``n_rows`` studies: one below :data:`models.explain.BATCH_ROWS`
        (starting threads costs more than a few rows), else ``num_threads``."""
        return 1 if n_rows < BATCH_ROWS else self.num_threads

    def _prior_shift(self) -> PriorShift | None:
        return prior_shift(self.prior, self.meta.train_prior, self.classes)

    def probabilities_from_raw(
        self, raw: np.ndarray, X: pd.DataFrame, ev: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The product's probabilities from raw scores: calibration, prior, ALS evidence cap.

        Returns the probabilities (n, K) and, per row, whether the ALS cap changed them (ALS is
        not established without LMN signs in 2 regions, Gold Coast: never an even chance).
        ``ev``: the rows' :func:`models.evidence.evidence_table`, when already computed.
        """
        return product_probabilities(
            raw,
            self.calibration,
            prior=self._prior_shift(),
            als_index=self.classes.index("als"),
            als_assessable=als_assessable(X, ev),
        )


def with_localisation(predictions: list[StudyPrediction], bundle: Bundle) -> list[StudyPrediction]:
    """``predictions`` with the radiculopathy localisation of the studies that want one.

    Radiculopathy first or second, or a neurogenic pattern
    (:func:`models.localisation.wants_localisation`); read from the bundle's own rows.
    """
    wanted = [
        p.study_id for p in predictions if wants_localisation(p.diagnosis, p.runner_up, p.pattern)
    ]
    if not wanted:
        return predictions
    found = localise(bundle.subset(wanted))
    return [
        replace(p, localisation=found[p.study_id]) if p.study_id in found else p
        for p in predictions
    ]


def predict_proba_frame(predictor: Predictor, X: pd.DataFrame) -> pd.DataFrame:
    """The product's probabilities only (no explanation), one column per class, index of ``X``.

    The same numbers as :meth:`Predictor.predict_features` (calibration, prior, ALS cap).
    """
    raw = predictor.raw_scores(predictor.model_values(X))
    proba, _ = predictor.probabilities_from_raw(raw, X)
    return pd.DataFrame(proba, index=X.index, columns=predictor.classes)


__all__: Sequence[str] = (
    "CHAMPION_URI",
    "DEFAULT_MODEL_DIR",
    "FeatureMismatchError",
    "ModelArtifactError",
    "ModelNotFoundError",
    "Predictor",
    "predict_proba_frame",
    "with_localisation",
)
