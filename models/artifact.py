"""The saved model: a typed :class:`ModelMeta`, one writer, one reader that raises.

A model directory holds ``booster.txt`` (LightGBM's text form, one multiclass booster or the
one-vs-rest heads of :mod:`models.ovr`), ``model.json`` (:class:`ModelMeta`, with a
``schema_version``) and, when the meta says so, ``ood_profile.json``
(:class:`models.ood.OODProfile`). :func:`save_model` is the only writer (the train stage and the
test helpers use it) and :func:`load_model_dir` the only reader: a missing file, a missing or
mistyped field, or a booster that disagrees with its meta is a :class:`ModelArtifactError`
naming the file and the field. There are no defaults on reading.

The directory is a function of the training data and parameters alone: ``version`` is a digest
of the saved trees and calibration, and nothing per run (MLflow run id, git commit, clock) is
inside it, so a re-run on another machine writes the same bytes and ``dvc.lock`` does not move.
Which run trained it is a :class:`RunRecord`, written beside the directory
(``data/model.run.json``, :func:`save_run_record`) and in MLflow.

The feature table's column set is stored at fit (``input_columns``); a table with other
columns at predict is a :class:`FeatureMismatchError` naming the features (scikit-learn's rule:
a model trained with another feature code must not see "missing" where a feature is absent).

Privacy: LightGBM writes the exact training minimum and maximum of every feature on its
``feature_infos`` line (a single patient's extreme value); :func:`save_model` writes ``none``
there. LightGBM uses the line for nothing at prediction (the tests check predictions and
contributions are identical).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features.vocab import CLASSES
from models.calibration import Calibration
from models.conformal import ConformalSets
from models.errors import ReportedError, validation_lines
from models.ood import PROFILE_FILE, OODProfile

#: version of the ``model.json`` layout; a reader of another version refuses the file
SCHEMA_VERSION = 3
#: fields of schema 1 that held per-run provenance (now in :class:`RunRecord`); a schema-1
#: file is read with them dropped, so models registered before the change still load
_SCHEMA1_RUN_FIELDS = ("mlflow_run_id", "git_commit", "created_utc")
#: schemas before the conformal thresholds (3): read with ``conformal`` null (no prediction sets)
_SCHEMAS_WITHOUT_CONFORMAL = (1, 2)
_DIGEST_CHARS = 12
BOOSTER_FILE = "booster.txt"
META_FILE = "model.json"
_FEATURE_INFOS = re.compile(r"(?m)^feature_infos=(.*)$")
_SHOWN = 6  # features named in a mismatch message
_TRAIN_HINT = (
    "Train one with `make run` (the whole pipeline: simulate -> ... -> train -> register), "
    "or `dvc repro train`, or point --model at a model directory or an MLflow model URI."
)


class ModelNotFoundError(ReportedError, FileNotFoundError):
    """No trained model where one was asked for (the message says how to train one)."""


class ModelArtifactError(ReportedError, ValueError):
    """A model directory that cannot be read: names the file and the missing or wrong field."""


class FeatureMismatchError(ReportedError, ValueError):
    """The feature table's columns differ from those the model was trained with."""


class ModelMeta(BaseModel):
    """``model.json``: everything about a saved model beside its trees.

    Attributes
    ----------
    schema_version : int
        Layout of this file (:data:`SCHEMA_VERSION`).
    name, version : str
        Model name and version (:func:`content_version`, a digest of the trees and the
        calibration: the same model has the same version on every machine; the registry has
        its own number).
    model_kind : {"Booster", "OvRBooster"}
        One multiclass LightGBM booster or one binary head per class (:mod:`models.ovr`).
    classes : tuple of str
        Class order of the raw scores (:data:`features.vocab.CLASSES`).
    feature_names : tuple of str
        The booster's inputs, in its order.
    input_columns : tuple of str
        Every column of the feature table the model was fitted on (the booster's inputs plus
        the coverage and criteria columns the flags read): the feature code's column set.
    excluded_groups : tuple of str
        Feature groups kept from voting (``train.exclude_groups``).
    calibration : dict
        :meth:`models.calibration.Calibration.to_meta` (read with :attr:`calibrator`).
    train_prior : dict of str to float
        Class shares of the training studies (for ``--prior general_lab``).
    low_confidence_margin : float
        Top-1 minus top-2 probability below which a prediction is flagged.
    ood_profile : bool
        Whether ``ood_profile.json`` belongs to the model (then it must be there).
    conformal : ConformalSets or None
        The class-conditional prediction-set thresholds (:mod:`models.conformal`); required
        in schema 3 (null: no prediction sets), null when a schema 1 or 2 file is read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[3]
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    model_kind: Literal["Booster", "OvRBooster"]
    classes: tuple[str, ...]
    feature_names: tuple[str, ...] = Field(min_length=1)
    input_columns: tuple[str, ...]
    excluded_groups: tuple[str, ...]
    calibration: dict[str, float | int | str]
    train_prior: dict[str, float]
    low_confidence_margin: float = Field(ge=0, le=1)
    ood_profile: bool
    conformal: ConformalSets | None

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value != CLASSES:
            raise ValueError(f"expected the classes of features.vocab.CLASSES {list(CLASSES)}")
        return value

    @field_validator("calibration")
    @classmethod
    def _known_calibration(
        cls, value: dict[str, float | int | str]
    ) -> dict[str, float | int | str]:
        try:
            Calibration.from_meta(value)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"expected a calibration with the field {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelMeta:
        missing = [c for c in self.feature_names if c not in set(self.input_columns)]
        if missing:
            raise ValueError(f"feature_names not among input_columns: {_names(missing)}")
        if set(self.train_prior) != set(self.classes):
            raise ValueError("train_prior must have one share per class")
        return self

    @property
    def calibrator(self) -> Calibration:
        """The calibration as an object (:class:`models.calibration.Calibration`)."""
        return Calibration.from_meta(self.calibration)


def new_meta(
    booster: Any,
    *,
    input_columns: Sequence[str],
    excluded_groups: Sequence[str],
    calibration: Calibration,
    train_prior: dict[str, float],
    low_confidence_margin: float,
    ood_profile: bool,
    conformal: ConformalSets | None = None,
    version: str | None = None,
    name: str = "emgdx",
) -> ModelMeta:
    """The :class:`ModelMeta` of a freshly fitted booster (feature names read from it).

    ``version`` defaults to :func:`content_version` of the booster, calibration and
    prediction-set thresholds.
    """
    return ModelMeta(
        schema_version=SCHEMA_VERSION,
        name=name,
        version=version or content_version(booster, calibration, conformal),
        model_kind=type(booster).__name__,
        classes=CLASSES,
        feature_names=tuple(booster.feature_name()),
        input_columns=tuple(input_columns),
        excluded_groups=tuple(excluded_groups),
        calibration=calibration.to_meta(),
        train_prior=train_prior,
        low_confidence_margin=low_confidence_margin,
        ood_profile=ood_profile,
        conformal=conformal,
    )


def booster_text(booster: Any) -> str:
    """The text :func:`save_model` writes for ``booster`` (best iteration, redacted)."""
    if isinstance(booster, lgb.Booster):
        text = booster.model_to_string(num_iteration=booster.best_iteration or None)
    else:
        text = booster.model_to_string()
    return redact_feature_infos(text)


def content_version(
    booster: Any,
    calibration: Calibration,
    conformal: ConformalSets | None = None,
    *,
    parts_digest: str | None = None,
) -> str:
    """A model's version from its content: the first 12 hex digits of a SHA-256 over the saved
    trees, the calibration, the prediction-set thresholds (when there are) and the digest of
    any further saved part (``parts_digest``: the out-of-scope detector in ``scope/``). Equal
    models get equal versions on every machine and run."""
    digest = hashlib.sha256(booster_text(booster).encode("utf-8"))
    digest.update(json.dumps(calibration.to_meta(), sort_keys=True).encode("utf-8"))
    if conformal is not None:
        digest.update(conformal.model_dump_json().encode("utf-8"))
    if parts_digest is not None:
        digest.update(parts_digest.encode("utf-8"))
    return digest.hexdigest()[:_DIGEST_CHARS]


@dataclass(frozen=True)
class LoadedModel:
    """What :func:`load_model_dir` returns: the booster, its meta and its OOD profile."""

    booster: Any
    meta: ModelMeta
    ood: OODProfile | None


# --- writing ----------------------------------------------------------------------------------
def redact_feature_infos(text: str) -> str:
    """LightGBM model text with every ``feature_infos`` entry replaced by ``none``.

    The line holds each feature's exact training ``[min:max]``; LightGBM does not read it to
    predict, so the saved model keeps no single training patient's extreme value there.
    """
    return _FEATURE_INFOS.sub(
        lambda m: "feature_infos=" + " ".join("none" for _ in m.group(1).split()), text
    )


def save_model(
    out_dir: str | Path, booster: Any, meta: ModelMeta, *, ood_profile: OODProfile | None = None
) -> Path:
    """Write a model directory: ``booster.txt``, ``model.json`` and ``ood_profile.json``.

    Parameters
    ----------
    out_dir : str or Path
        Directory to write (created).
    booster : lightgbm.Booster or models.ovr.OvRBooster
        The fitted booster (saved at its best iteration, ``feature_infos`` redacted).
    meta : ModelMeta
        Its meta (:func:`new_meta`); must agree with ``booster`` and ``ood_profile``.
    ood_profile : OODProfile, optional
        Written when given; ``meta.ood_profile`` must say whether it is.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    _check_booster(booster, meta, out / BOOSTER_FILE)
    if meta.ood_profile != (ood_profile is not None):
        raise ModelArtifactError(
            f"{out / META_FILE}: ood_profile is {meta.ood_profile} but a profile was "
            f"{'not ' if ood_profile is None else ''}given"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / BOOSTER_FILE).write_text(booster_text(booster), encoding="utf-8")
    (out / META_FILE).write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if ood_profile is not None:
        ood_profile.save(out)
    return out


# --- reading ----------------------------------------------------------------------------------
def read_meta(model_dir: str | Path) -> ModelMeta:
    """Read and validate ``model.json`` of a model directory.

    Raises
    ------
    ModelNotFoundError
        No ``model.json`` there.
    ModelArtifactError
        Not JSON, another ``schema_version``, or a missing, unknown or mistyped field (per
        field: file, field, value, expectation; one line, "; "-separated).
    """
    path = Path(model_dir) / META_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such file; not a trained model. {_TRAIN_HINT}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(f"{path}: not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise ModelArtifactError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("schema_version") == 1:
        doc = {k: v for k, v in doc.items() if k not in _SCHEMA1_RUN_FIELDS}
    if doc.get("schema_version") in _SCHEMAS_WITHOUT_CONFORMAL:
        # an older model: no prediction-set thresholds were fitted; it predicts without sets
        doc = {**doc, "schema_version": SCHEMA_VERSION, "conformal": None}
    if doc.get("schema_version") != SCHEMA_VERSION:
        found = doc.get("schema_version", "missing")
        raise ModelArtifactError(
            f"{path}: schema_version is {found!r}, this emgdx reads {SCHEMA_VERSION} (a model "
            "saved by another version of emgdx; retrain it with `dvc repro train`)"
        )
    try:
        return ModelMeta.model_validate(doc)
    except ValidationError as exc:
        raise ModelArtifactError("; ".join(validation_lines(path, exc))) from exc


def load_model_dir(model_dir: str | Path) -> LoadedModel:
    """Read a model directory written by :func:`save_model`; anything missing is an error.

    Raises
    ------
    ModelNotFoundError
        The directory has no ``booster.txt`` or ``model.json``.
    ModelArtifactError
        A file is unreadable, a field of ``model.json`` is missing or mistyped, the booster
        disagrees with the meta (classes, feature names, kind), or the OOD profile the meta
        lists is absent or broken. The message names the file and the field.
    """
    from models.ovr import load_any_booster

    model_dir = Path(model_dir)
    booster_path = model_dir / BOOSTER_FILE
    if not booster_path.is_file():
        raise ModelNotFoundError(
            f"{model_dir}: not a trained model directory (needs {BOOSTER_FILE} and "
            f"{META_FILE}). {_TRAIN_HINT}"
        )
    meta = read_meta(model_dir)
    try:
        booster = load_any_booster(booster_path.read_text(encoding="utf-8"))
    except (lgb.basic.LightGBMError, ValueError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(
            f"{booster_path}: not a LightGBM model text ({type(exc).__name__})"
        ) from exc
    _check_booster(booster, meta, booster_path)
    ood = None
    if meta.ood_profile:
        profile_path = model_dir / PROFILE_FILE
        if not profile_path.is_file():
            raise ModelArtifactError(
                f"{profile_path}: no such file, but {META_FILE} lists an OOD profile"
            )
        try:
            ood = OODProfile.load(model_dir)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelArtifactError(
                f"{profile_path}: unreadable OOD profile ({type(exc).__name__}: {exc})"
            ) from exc
    return LoadedModel(booster=booster, meta=meta, ood=ood)


def _check_booster(booster: Any, meta: ModelMeta, where: Path) -> None:
    kind = type(booster).__name__
    if kind != meta.model_kind:
        raise ModelArtifactError(f"{where}: a {kind}, but {META_FILE} says {meta.model_kind}")
    k = booster.num_model_per_iteration()
    if k != len(meta.classes):
        raise ModelArtifactError(
            f"{where}: {k} raw scores per study, {META_FILE} lists {len(meta.classes)} classes"
        )
    names = tuple(booster.feature_name())
    if names != meta.feature_names:
        raise ModelArtifactError(
            f"{where}: the booster's feature names differ from {META_FILE} feature_names "
            f"({_difference(meta.feature_names, names)})"
        )


# --- the feature contract at predict ----------------------------------------------------------
def check_feature_columns(meta: ModelMeta, columns: Iterable[str], *, what: str) -> None:
    """Raise unless ``columns`` are exactly the feature columns the model was fitted on.

    Parameters
    ----------
    meta : ModelMeta
        The model's meta (``input_columns``).
    columns : iterable of str
        The columns of the feature table about to be predicted (order does not matter).
    what : str
        What the columns are, for the message (``"the feature table"``, ``"this emgdx's
        feature code"``).

    Raises
    ------
    FeatureMismatchError
        Naming the features the model expects but ``columns`` lack, and those it never saw.
    """
    given = tuple(str(c) for c in columns)
    if set(given) == set(meta.input_columns):
        return
    raise FeatureMismatchError(
        f"model {meta.name} {meta.version} was trained on other features than {what} "
        f"({_difference(meta.input_columns, given)}): it was trained with another version "
        "of the feature code; retrain it (`dvc repro train`) or use a model trained with this "
        "emgdx"
    )


def _difference(expected: Sequence[str], given: Sequence[str]) -> str:
    missing = [c for c in expected if c not in set(given)]
    extra = [c for c in given if c not in set(expected)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} expected but absent: {_names(missing)}")
    if extra:
        parts.append(f"{len(extra)} not seen at fit: {_names(extra)}")
    return "; ".join(parts) or "same names in another order"


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")
